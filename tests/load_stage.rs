//! The `load` stage on EDF+D files: gaps are never papered over. The file is built byte by
//! byte (tests/common), independent of our writer: records at 0, 1 and 5 s.

mod common;

use eegclean::dag::{Status, run_recording};
use eegclean::data::Artifact;
use eegclean::spec::{Pipeline, Source};
use eegclean::stages::RecordingJob;

fn gapped_file(dir: &std::path::Path) -> std::path::PathBuf {
    let mut b = common::tiny_edf_plus();
    b[192..197].copy_from_slice(b"EDF+D");
    let record = 6 * 2 + 32;
    let third = 256 * 4 + 2 * record + 12;
    b[third..third + 2].copy_from_slice(b"+5");
    let path = dir.join("gap.edf");
    std::fs::write(&path, b).unwrap();
    path
}

fn load(path: &std::path::Path, params: &str) -> (eegclean::dag::Outcome, Vec<(String, Artifact)>) {
    let yaml = format!("name: t\ninput: {{ root: . }}\nstages:\n  raw: {{ kind: load{params} }}\n");
    let p = Pipeline::from_source(Source::new("t.yaml", yaml)).unwrap();
    let job = RecordingJob {
        path: path.to_path_buf(),
        subject: "x".into(),
        base: "x".into(),
    };
    run_recording(&p, &job)
}

#[test]
fn a_gap_is_refused_by_default_with_what_to_change() {
    let dir = common::scratch();
    let (o, _) = load(&gapped_file(dir.path()), "");
    assert_eq!(o.status, Status::Failed);
    let e = o.error.unwrap();
    assert!(
        e.contains("gap.edf") && e.contains("EDF+D") && e.contains("discontinuous: longest"),
        "{e}"
    );
    // The gap runs from the end of record 1 (2 s) to record 2's onset (5 s).
    assert!(e.contains("3.000 s gap at 2.000 s"), "{e}");
}

#[test]
fn longest_keeps_the_longest_segment_and_its_annotations() {
    let dir = common::scratch();
    let (o, leaves) = load(&gapped_file(dir.path()), ", discontinuous: longest");
    assert_eq!(o.status, Status::Ok, "{:?}", o.error);
    let Artifact::Continuous(rec) = &leaves[0].1 else {
        panic!()
    };
    // Fp1 at 4 Hz is EEG; ECG at 2 Hz is left out (one rate per recording).
    assert_eq!(rec.sfreq, 4.0);
    assert_eq!(rec.channels.len(), 1);
    // Records 0 and 1: 2 s × 4 Hz. Each record stores Fp1's 4 samples first, with digital
    // values r*1000 + k*7 - 20 (k = 0..3), on a ±500 µV / -32768..32767 scale.
    assert_eq!(rec.n_samples(), 8);
    let lsb = 1000.0 / 65535.0;
    let expect = |d: f64| ((d + 32768.0) * lsb - 500.0) * 1e-6;
    for (i, &want) in [-20.0, -13.0, -6.0, 1.0, 980.0, 987.0, 994.0, 1001.0]
        .iter()
        .enumerate()
    {
        assert!(
            (rec.data[[0, i]] - expect(want)).abs() < 1e-12,
            "sample {i}"
        );
    }
    assert_eq!(rec.annotations.len(), 1);
    assert_eq!(rec.annotations[0].description, "T1");
    assert!((rec.annotations[0].onset - 1.5).abs() < 1e-12);
    assert!(rec.is_contiguous());
}

#[test]
fn eeg_channels_at_different_rates_are_refused_with_the_rates_named() {
    // The tiny file's `ECG` (2 Hz) declared EEG next to Fp1 (4 Hz): one stage cannot take both.
    let dir = common::scratch();
    let path = dir.path().join("mixed.edf");
    std::fs::write(&path, common::tiny_edf_plus()).unwrap();
    let yaml =
        "name: t\ninput: { root: . }\nchannels: { eeg: [ECG] }\nstages:\n  raw: { kind: load }\n";
    let p = Pipeline::from_source(Source::new("t.yaml", yaml)).unwrap();
    let job = RecordingJob {
        path: path.clone(),
        subject: "x".into(),
        base: "x".into(),
    };
    let (o, _) = run_recording(&p, &job);
    assert_eq!(o.status, Status::Failed);
    let e = o.error.unwrap();
    assert!(
        e.contains("mixed.edf") && e.contains("Fp1 4 Hz") && e.contains("ECG 2 Hz"),
        "{e}"
    );
    assert!(
        e.contains("channels:"),
        "the message says what to change: {e}"
    );
}
