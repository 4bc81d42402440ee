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

/// Largest absolute difference relative to the largest magnitude of `reference`.
pub fn max_rel(ours: &[f64], reference: &[f64]) -> f64 {
    assert_eq!(ours.len(), reference.len());
    let scale = reference.iter().map(|v| v.abs()).fold(0.0, f64::max);
    ours.iter()
        .zip(reference)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
        / scale
}

/// Link each `(path under dir, file under ../shared)` into `dir`, creating folders: an
/// input tree for a pipeline without copying the recordings.
pub fn link_inputs(dir: &Path, files: &[(&str, &str)]) {
    for (rel, shared) in files {
        let to = dir.join(rel);
        std::fs::create_dir_all(to.parent().expect("a file path")).unwrap();
        std::os::unix::fs::symlink(shared_file(shared), to).unwrap();
    }
}

/// A scratch directory that is removed when dropped.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// A small valid EDF+C file built byte by byte (independent of our writer): two data
/// signals (4 and 2 samples per record) and one annotation signal, 3 records of 1 s.
pub fn tiny_edf_plus() -> Vec<u8> {
    let labels = ["Fp1", "ECG", "EDF Annotations"];
    let spr = [4usize, 2, 16];
    let ns = labels.len();
    let mut h = Vec::new();
    let put = |h: &mut Vec<u8>, s: &str, w: usize| {
        h.extend_from_slice(s.as_bytes());
        h.extend(std::iter::repeat_n(b' ', w - s.len()));
    };
    put(&mut h, "0", 8);
    put(&mut h, "X X X X", 80);
    put(&mut h, "Startdate 01-JAN-2020 X X X", 80);
    put(&mut h, "01.01.20", 8);
    put(&mut h, "10.00.00", 8);
    put(&mut h, &(256 * (ns + 1)).to_string(), 8);
    put(&mut h, "EDF+C", 44);
    put(&mut h, "3", 8);
    put(&mut h, "1", 8);
    put(&mut h, &ns.to_string(), 4);
    for l in labels {
        put(&mut h, l, 16);
    }
    for _ in 0..ns {
        put(&mut h, "", 80);
    }
    for d in ["uV", "mV", ""] {
        put(&mut h, d, 8);
    }
    for v in ["-500", "-5", "-1"] {
        put(&mut h, v, 8);
    }
    for v in ["500", "5", "1"] {
        put(&mut h, v, 8);
    }
    for _ in 0..ns {
        put(&mut h, "-32768", 8);
    }
    for _ in 0..ns {
        put(&mut h, "32767", 8);
    }
    for _ in 0..ns {
        put(&mut h, "", 80);
    }
    for s in spr {
        put(&mut h, &s.to_string(), 8);
    }
    for _ in 0..ns {
        put(&mut h, "", 32);
    }
    for r in 0..3i16 {
        for k in 0..6i16 {
            h.extend_from_slice(&(r * 1000 + k * 7 - 20).to_le_bytes());
        }
        let mut tal = format!("+{r}\u{14}\u{14}\u{0}").into_bytes();
        if r == 1 {
            tal.extend_from_slice("+1.5\u{15}0.25\u{14}T1\u{14}\u{0}".as_bytes());
        }
        tal.resize(32, 0);
        h.extend_from_slice(&tal);
    }
    h
}

/// A Parquet file we wrote, read back with polars.
pub fn read_table(path: &Path) -> polars::prelude::DataFrame {
    use polars::prelude::SerReader;
    polars::prelude::ParquetReader::new(
        File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .finish()
    .unwrap()
}

/// Pearson correlation of two time courses, written out (the textbook formula).
pub fn correlation(a: ndarray::ArrayView1<f64>, b: ndarray::ArrayView1<f64>) -> f64 {
    let (ma, mb) = (a.mean().unwrap(), b.mean().unwrap());
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        ab += (x - ma) * (y - mb);
        aa += (x - ma) * (x - ma);
        bb += (y - mb) * (y - mb);
    }
    ab / (aa * bb).sqrt()
}

/// Every file under `dir` (none if it does not exist).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect()
}
