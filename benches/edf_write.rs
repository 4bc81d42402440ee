//! Write S001R04 (64 EEG channels × 19680 samples + 30 annotations) as EDF+C, what the
//! `write_edf` stage does: once to a file on the output disk (atomic: temporary file,
//! fsync, rename) and once without the fsync cost (to /dev/shm when it exists), so the
//! encoder and the disk can be told apart. MNE's `export_raw(fmt="edf")` (edfio) is the
//! reference (`benches/compare_mne.sh`, stage "write EDF").
//!
//!     cargo bench --bench edf_write

use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use eegclean::dag::{Status, run_recording};
use eegclean::data::{Artifact, Recording};
use eegclean::io::edf::EdfKind;
use eegclean::io::recording_edf::write_recording;
use eegclean::spec::{Pipeline, Source};
use eegclean::stages::RecordingJob;

fn shared() -> PathBuf {
    std::env::var_os("EEGCLEAN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

/// S001R04 as the load stage gives it (volts, normalised names, annotations).
fn recording() -> std::sync::Arc<Recording> {
    let yaml = "name: b\ninput: { root: . }\nstages:\n  raw: { kind: load }\n";
    let p = Pipeline::from_source(Source::new("bench.yaml", yaml)).expect("pipeline");
    let job = RecordingJob {
        path: shared().join("data/eegmmidb/S001/S001R04.edf"),
        subject: "S001".into(),
        base: "S001R04".into(),
    };
    let (outcome, leaves) = run_recording(&p, &job);
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.error);
    match leaves.into_iter().next() {
        Some((_, Artifact::Continuous(r))) => r,
        _ => panic!("load gives a recording"),
    }
}

fn bench(c: &mut Criterion) {
    let rec = recording();
    let disk = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let mut targets = vec![("disk", disk.path().to_path_buf())];
    let shm = Path::new("/dev/shm");
    let shm_dir = shm
        .is_dir()
        .then(|| tempfile::tempdir_in(shm).expect("shm dir"));
    if let Some(d) = &shm_dir {
        targets.push(("shm", d.path().to_path_buf()));
    }
    let mut g = c.benchmark_group("edf_write");
    for (name, dir) in targets {
        let path = dir.join("S001R04_clean_eeg.edf");
        g.bench_function(format!("S001R04 EDF+C 64×19680 to {name}"), |b| {
            b.iter(|| write_recording(&path, &rec, EdfKind::EdfPlusC).expect("writes"))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
