//! Helpers shared by the integration tests: where the shared recordings are, and the
//! Python interpreter that runs the independent oracles (MNE, pyedflib, edfio, scipy).
#![allow(dead_code)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// `../shared` beside the repository (override with `EEGCLEAN_SHARED`).
pub fn shared() -> PathBuf {
    std::env::var_os("EEGCLEAN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

pub fn shared_file(rel: &str) -> PathBuf {
    let p = shared().join(rel);
    assert!(
        p.exists(),
        "{} is missing: the tests read the shared recordings from ../shared (set EEGCLEAN_SHARED)",
        p.display()
    );
    p
}

/// The oracle interpreter: `EEGCLEAN_PYTHON` if set, else a venv under `target/` that
/// `scripts/oracle-venv.sh` creates on first use (needs PyPI once). Never silently skipped:
/// a test that needs an oracle fails if none can be had.
pub fn python() -> PathBuf {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        if let Some(p) = std::env::var_os("EEGCLEAN_PYTHON") {
            return PathBuf::from(p);
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = root.join("target/oracle-venv");
        std::fs::create_dir_all(root.join("target")).unwrap();
        // Test binaries may run concurrently (nextest): one creates the venv, others wait.
        let lock = File::create(root.join("target/oracle-venv.lock")).unwrap();
        lock.lock().unwrap();
        let out = Command::new("bash")
            .arg(root.join("scripts/oracle-venv.sh"))
            .arg(&dir)
            .output()
            .expect("bash runs");
        assert!(
            out.status.success(),
            "could not create the oracle venv (set EEGCLEAN_PYTHON to a Python with mne, pyedflib, edfio, scipy):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
    .clone()
}

/// Run a Python snippet with the oracle interpreter; `args` become `sys.argv[1:]`.
/// Panics with Python's stderr if it fails. Returns stdout.
pub fn run_python(code: &str, args: &[&str]) -> String {
    let out = Command::new(python())
        .arg("-c")
        .arg(code)
        .args(args)
        .env("OPENBLAS_NUM_THREADS", "1")
        .env("OMP_NUM_THREADS", "1")
        .env("MNE_LOGGING_LEVEL", "ERROR")
        .output()
        .expect("oracle python runs");
    assert!(
        out.status.success(),
        "oracle python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A scratch directory that is removed when dropped.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}
