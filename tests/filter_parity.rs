//! End to end on S001R04 through our own stages (load → average reference → FIR 1–40 Hz →
//! 60 Hz notch), compared with what MNE-Python produced for the same steps
//! (../shared/ref/mne-S001R04/filtered_uV.npy, made by ../shared/ref/mne_pipeline.py).

mod common;

use eegclean::dag::{Status, run_recording};
use eegclean::data::Artifact;
use eegclean::io::npy;
use eegclean::spec::{Pipeline, Source};
use eegclean::stages::RecordingJob;

#[test]
fn s001r04_matches_mne_filtered_to_1e_6_of_rms() {
    let yaml = "name: parity\ninput: { root: . }\nstages:\n  raw: { kind: load }\n  reref: { kind: rereference, after: [raw], ref: average }\n  filtered: { kind: filter, after: [reref], l_freq: 1.0, h_freq: 40.0, notch: [60] }\n";
    let p = Pipeline::from_source(Source::new("parity.yaml", yaml)).unwrap();
    let job = RecordingJob {
        path: common::shared_file("data/eegmmidb/S001/S001R04.edf"),
        subject: "S001".into(),
        base: "x".into(),
    };
    let (outcome, leaves) = run_recording(&p, &job);
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.error);
    let Artifact::Continuous(rec) = &leaves[0].1 else {
        panic!("not a recording")
    };
    let reference = npy::read_f64(common::shared_file("ref/mne-S001R04/filtered_uV.npy")).unwrap();
    let reference = reference.into_dimensionality::<ndarray::Ix2>().unwrap();
    assert_eq!(rec.data.dim(), reference.dim());
    // Channel names as MNE has them after eegbci.standardize (same order as the file).
    let mne_names = common::run_python(
        "import sys, mne\nr = mne.io.read_raw_edf(sys.argv[1])\nmne.datasets.eegbci.standardize(r)\nprint('\\n'.join(r.ch_names))",
        &[job.path.to_str().unwrap()],
    );
    let ours: Vec<&str> = rec.channels.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(ours, mne_names.lines().collect::<Vec<_>>());
    let rms = (reference.iter().map(|v| v * v).sum::<f64>() / reference.len() as f64).sqrt();
    let max_err = rec
        .data
        .iter()
        .zip(reference.iter())
        .map(|(ours, mne)| (ours * 1e6 - mne).abs())
        .fold(0.0, f64::max);
    eprintln!(
        "max |ours - MNE| = {max_err:.3e} µV, RMS = {rms:.3} µV, ratio {:.3e}",
        max_err / rms
    );
    assert!(
        max_err <= 1e-6 * rms,
        "max error {max_err} µV exceeds 1e-6 × RMS ({rms} µV)"
    );
}
