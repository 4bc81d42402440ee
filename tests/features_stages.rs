//! The `epoch` and `covariance` stages end to end on S001R04 (load → average reference →
//! FIR 1–40 Hz + 60 Hz notch → epochs T1/T2 → OAS covariance + tangent space), checked
//! against independent oracles:
//! * the kept events and sample windows against the MNE reference harness
//!   (`ref/mne-S001R04/epochs_events.npy`, cut by MNE from the same recording);
//! * the written covariances, tangent vectors and tangent reference against MNE + pyriemann
//!   run here on the same filtered recording.

mod common;

use std::path::Path;

use eegclean::dag::{RunOptions, Selection, Status, discover, run};
use eegclean::io::npy::read_f64;
use eegclean::spec::{Pipeline, Source};
use ndarray::{Array2, ArrayD, Ix2};
use polars::prelude::*;

/// max |a − b| / max |b|.
fn relative_error(a: &ArrayD<f64>, b: &ArrayD<f64>) -> f64 {
    assert_eq!(a.shape(), b.shape());
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let diff = a
        .iter()
        .zip(b.iter())
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    diff / scale
}

const ORACLE: &str = r#"
import sys, numpy as np, mne
from pyriemann.estimation import Covariances
from pyriemann.tangentspace import TangentSpace
src, ref_events, out = sys.argv[1:4]
np.save(out + "/ref_events.npy", np.load(ref_events).astype(np.float64))
raw = mne.io.read_raw_edf(src, preload=True, verbose=False)
mne.datasets.eegbci.standardize(raw)
raw.set_eeg_reference("average", projection=False, verbose=False)
raw.filter(1.0, 40.0, method="fir", phase="zero", fir_window="hamming",
           fir_design="firwin", n_jobs=1, verbose=False)
raw.notch_filter(60.0, n_jobs=1, verbose=False)
ev, evid = mne.events_from_annotations(raw, event_id=dict(T1=2, T2=3), verbose=False)
tmax = 4.0 - 1.0 / raw.info["sfreq"]
epochs = mne.Epochs(raw, ev, evid, tmin=0.0, tmax=tmax, baseline=None, preload=True,
                    picks="eeg", reject_by_annotation=True, verbose=False)
X = epochs.get_data(copy=True) * 1e6
covs = Covariances(estimator="oas").fit_transform(X)
ts = TangentSpace(metric="riemann")
vec = ts.fit_transform(covs)
np.save(out + "/mne_events.npy", epochs.events.astype(np.float64))
np.save(out + "/covs.npy", covs)
np.save(out + "/ts.npy", vec)
np.save(out + "/reference.npy", ts.reference_)
print("n_epochs", len(epochs), "n_times", X.shape[-1])
"#;

#[test]
fn s001r04_epochs_and_features_match_mne_and_pyriemann() {
    let dir = common::scratch();
    let input = dir.path().join("in/S001");
    std::fs::create_dir_all(&input).unwrap();
    let src = common::shared_file("data/eegmmidb/S001/S001R04.edf");
    std::os::unix::fs::symlink(&src, input.join("S001R04.edf")).unwrap();
    let yaml = "name: t\ninput: { root: in }\noutput: out\nstages:\n  \
        raw: { kind: load }\n  \
        reref: { kind: rereference, after: [raw] }\n  \
        filtered: { kind: filter, after: [reref], l_freq: 1.0, h_freq: 40.0, notch: [60] }\n  \
        epochs: { kind: epoch, after: [filtered], events: [T1, T2], event_id: { T1: 2, T2: 3 }, tmin: 0.0, tmax: 3.99375 }\n  \
        features: { kind: covariance, after: [epochs], estimator: oas, tangent_space: true }\n";
    let path = dir.path().join("p.yaml");
    std::fs::write(&path, yaml).unwrap();
    let p = Pipeline::from_source(Source::new(&path, yaml)).unwrap();
    let jobs = discover(&p.input, &Selection::default()).unwrap();
    let o = run(&p, &jobs, &RunOptions { jobs: 1 }, &|_| {});
    assert_eq!(o[0].status, Status::Ok, "{:?}", o[0].error);

    let oracle_dir = dir.path().join("oracle");
    std::fs::create_dir_all(&oracle_dir).unwrap();
    let ref_events = common::shared_file("ref/mne-S001R04/epochs_events.npy");
    let report = common::run_python(
        ORACLE,
        &[
            src.to_str().unwrap(),
            ref_events.to_str().unwrap(),
            oracle_dir.to_str().unwrap(),
        ],
    );
    eprintln!("{report}");

    let out = dir.path().join("out/sub-S001");
    let base = "sub-S001_rec-S001R04";
    let epochs = common::read_table(&out.join(format!("{base}_desc-epochs_epochs.parquet")));
    let n_rows = epochs.height();
    let kept_column = epochs.column("kept").unwrap().bool().unwrap();
    let kept: Vec<bool> = (0..n_rows)
        .map(|i| kept_column.get(i).expect("kept is never null"))
        .collect();
    let first: Vec<i64> = epochs
        .column("first_sample")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    let last: Vec<i64> = epochs
        .column("last_sample")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    let ids: Vec<i64> = epochs
        .column("event_id")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    let label_column = epochs.column("event").unwrap().str().unwrap();
    let labels: Vec<String> = (0..n_rows)
        .map(|i| {
            label_column
                .get(i)
                .expect("event is never null")
                .to_string()
        })
        .collect();

    // (a) Kept events = MNE's (sample, id), windows of exactly 4 s = 640 samples.
    for file in ["ref_events.npy", "mne_events.npy"] {
        let reference = read_f64(oracle_dir.join(file))
            .unwrap()
            .into_dimensionality::<Ix2>()
            .unwrap();
        let ours: Vec<(i64, i64)> = (0..kept.len())
            .filter(|&i| kept[i])
            .map(|i| (first[i], ids[i]))
            .collect();
        let theirs: Vec<(i64, i64)> = reference
            .rows()
            .into_iter()
            .map(|r| (r[0] as i64, r[2] as i64))
            .collect();
        assert_eq!(ours, theirs, "kept events differ from {file}");
    }
    for i in 0..kept.len() {
        assert_eq!(last[i] - first[i] + 1, 640, "epoch {i} window");
        assert_eq!(ids[i], if labels[i] == "T1" { 2 } else { 3 }, "epoch {i}");
    }

    // (b) Covariances, tangent vectors and reference = pyriemann on MNE's own epochs.
    let load = |p: &Path| read_f64(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let cov_err = relative_error(
        &load(&out.join(format!("{base}_desc-features_covariances.npy"))),
        &load(&oracle_dir.join("covs.npy")),
    );
    let ref_err = relative_error(
        &load(&out.join(format!("{base}_desc-features_tangent_reference.npy"))),
        &load(&oracle_dir.join("reference.npy")),
    );
    let features = common::read_table(&out.join(format!("{base}_desc-features_features.parquet")));
    let ts_oracle = load(&oracle_dir.join("ts.npy"))
        .into_dimensionality::<Ix2>()
        .unwrap();
    let (n_epochs, n_features) = ts_oracle.dim();
    assert_eq!(features.height(), n_epochs);
    assert_eq!(
        features.width(),
        4 + n_features,
        "subject, recording, event, epoch + ts"
    );
    let mut ours = Array2::<f64>::zeros((n_epochs, n_features));
    for (k, col) in features.columns()[4..].iter().enumerate() {
        assert!(col.name().starts_with("ts_"), "{}", col.name());
        for (e, v) in col.f64().unwrap().into_no_null_iter().enumerate() {
            ours[[e, k]] = v;
        }
    }
    let ts_err = relative_error(&ours.into_dyn(), &ts_oracle.into_dyn());
    eprintln!(
        "relative errors: covariances {cov_err:.3e}, tangent vectors {ts_err:.3e}, reference {ref_err:.3e}"
    );
    assert!(cov_err <= 1e-8, "covariances: {cov_err:e}");
    assert!(ts_err <= 1e-8, "tangent vectors: {ts_err:e}");
    assert!(ref_err <= 1e-8, "tangent reference: {ref_err:e}");

    // The features rows are the kept epochs, labelled from the epochs table.
    let epoch_index: Vec<u32> = features
        .column("epoch")
        .unwrap()
        .u32()
        .unwrap()
        .into_no_null_iter()
        .collect();
    let expected: Vec<u32> = (0..kept.len() as u32)
        .filter(|&i| kept[i as usize])
        .collect();
    assert_eq!(epoch_index, expected);
}

/// Run `stages` (YAML lines under `stages:`) on S001R04; the outcome and the output folder.
fn run_on_s001r04(
    stages: &str,
) -> (
    eegclean::dag::Outcome,
    tempfile::TempDir,
    std::path::PathBuf,
) {
    let dir = common::scratch();
    let input = dir.path().join("in/S001");
    std::fs::create_dir_all(&input).unwrap();
    let src = common::shared_file("data/eegmmidb/S001/S001R04.edf");
    std::os::unix::fs::symlink(&src, input.join("S001R04.edf")).unwrap();
    let yaml = format!("name: t\ninput: {{ root: in }}\noutput: out\nstages:\n{stages}");
    let path = dir.path().join("p.yaml");
    std::fs::write(&path, &yaml).unwrap();
    let p = Pipeline::from_source(Source::new(&path, yaml)).unwrap();
    let jobs = discover(&p.input, &Selection::default()).unwrap();
    let o = run(&p, &jobs, &RunOptions { jobs: 1 }, &|_| {})
        .into_iter()
        .next()
        .unwrap();
    let out = dir.path().join("out/sub-S001");
    (o, dir, out)
}

fn failure(stages: &str) -> String {
    let (o, _dir, out) = run_on_s001r04(stages);
    assert_eq!(o.status, Status::Failed, "must fail: {stages}");
    // A failed recording leaves no table behind that looks like a result.
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".parquet") || n.ends_with(".npy"))
                .collect()
        })
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
    o.error.unwrap_or_default()
}

#[test]
fn bad_input_fails_with_a_clear_message_and_writes_nothing() {
    // S001R04 has 30 annotations: 15 T0 (rest), 8 T1 and 7 T2 (per the reference harness).
    let err = failure(
        "  raw: { kind: load }\n  e: { kind: epoch, after: [raw], events: [T9], tmax: 1.0 }\n",
    );
    assert!(err.contains("T9") && err.contains("T0, T1, T2"), "{err}");

    let err = failure(
        "  raw: { kind: load }\n  e: { kind: epoch, after: [raw], events: [T1, T2], tmax: 1.0, reject: { eeg: 1.0e-9 } }\n",
    );
    assert!(
        err.contains("all 15 epochs were rejected") && err.contains("15 peak-to-peak"),
        "{err}"
    );

    // 0.1 s at 160 Hz = 17 samples for 64 channels: the sample covariance is singular. The
    // first cue of S001R04 is a T2 (epochs_events.npy starts [672, 0, 3]).
    let err = failure(
        "  raw: { kind: load }\n  e: { kind: epoch, after: [raw], events: [T1, T2], tmax: 0.1 }\n  c: { kind: covariance, after: [e], estimator: scm }\n",
    );
    assert!(
        err.contains("covariance of epoch 0 (T2): 17 samples for 64 channels"),
        "{err}"
    );
}

#[test]
fn parameter_mistakes_name_the_key() {
    let cases = [
        (
            "events: [T1], fixed_length: { duration: 2.0 }",
            "fixed_length",
        ),
        ("events: [T1], tmin: 1.0, tmax: 0.5", "tmin"),
        ("events: [T1]", "tmax"),
        (
            "events: [T1, T2], event_id: { T1: 2 }, tmax: 1.0",
            "event_id",
        ),
        ("events: [T1], tmax: 1.0, reject: { eog: 1.0e-4 }", "reject"),
        ("events: [T1], tmax: 1.0, baseline: [0.5]", "baseline"),
        (
            "fixed_length: { duration: 2.0, overlap: 2.0 }",
            "fixed_length",
        ),
        ("tmax: 1.0", "events"),
    ];
    for (body, key) in cases {
        let yaml = format!(
            "name: t\ninput: {{ root: data }}\nstages:\n  raw: {{ kind: load }}\n  e: {{ kind: epoch, after: [raw], {body} }}\n"
        );
        let err = Pipeline::from_source(Source::new("t.yaml", yaml))
            .expect_err(body)
            .to_string();
        assert!(err.contains(&format!("{key}:")), "`{body}` → {err}");
    }
    let yaml = "name: t\ninput: { root: data }\nstages:\n  raw: { kind: load }\n  e: { kind: epoch, after: [raw], events: [T1], tmax: 1.0 }\n  c: { kind: covariance, after: [e], estimator: mcd }\n";
    let err = Pipeline::from_source(Source::new("t.yaml", yaml))
        .expect_err("mcd")
        .to_string();
    assert!(
        err.contains("estimator:") && err.contains("scm, lwf, oas"),
        "{err}"
    );
    let yaml = "name: t\ninput: { root: data }\nstages:\n  raw: { kind: load }\n  c: { kind: covariance, after: [raw] }\n";
    let err = Pipeline::from_source(Source::new("t.yaml", yaml))
        .expect_err("covariance after a recording")
        .to_string();
    assert!(err.contains("epochs"), "{err}");
}

/// Fixed-length windows and a baseline-corrected, decimated, amplitude-checked epoching,
/// against `mne.make_fixed_length_epochs` and `mne.Epochs` on the same raw data.
#[test]
fn fixed_length_windows_match_mne() {
    let (o, dir, out) = run_on_s001r04(
        "  raw: { kind: load }\n  w: { kind: epoch, after: [raw], fixed_length: { duration: 2.0, overlap: 0.5 } }\n",
    );
    assert_eq!(o.status, Status::Ok, "{:?}", o.error);
    let src = common::shared_file("data/eegmmidb/S001/S001R04.edf");
    let report = common::run_python(
        r#"
import sys, mne
raw = mne.io.read_raw_edf(sys.argv[1], preload=True, verbose=False)
ev = mne.make_fixed_length_events(raw, id=1, duration=2.0, overlap=0.5)
print(" ".join(str(s) for s in ev[:, 0]))
"#,
        &[src.to_str().unwrap()],
    );
    let theirs: Vec<i64> = report
        .split_whitespace()
        .map(|s| s.parse().unwrap())
        .collect();
    let table = common::read_table(&out.join("sub-S001_rec-S001R04_desc-w_epochs.parquet"));
    let first: Vec<i64> = table
        .column("first_sample")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    let last: Vec<i64> = table
        .column("last_sample")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert!(theirs.len() > 10);
    assert_eq!(first, theirs);
    for (a, b) in first.iter().zip(&last) {
        assert_eq!(b - a + 1, 320, "2 s at 160 Hz");
    }
    drop(dir);
}

/// Baseline, decimation and peak-to-peak rejection against `mne.Epochs(reject=...,
/// baseline=(None, 0), decim=2)`: the same epochs are dropped, on the same number of
/// channels. The threshold (350 µV) lies between MNE's 8th and 9th largest per-epoch maxima
/// (306 and 364 µV), far from both, so filter rounding cannot flip a decision.
#[test]
fn rejection_with_baseline_and_decimation_matches_mne() {
    let (o, _dir, out) = run_on_s001r04(
        "  raw: { kind: load }\n  lp: { kind: filter, after: [raw], l_freq: 1.0, h_freq: 25.0 }\n  e: { kind: epoch, after: [lp], events: [T1, T2], tmin: -0.5, tmax: 2.0, baseline: [null, 0], decim: 2, reject: { eeg: 350.0e-6 } }\n",
    );
    assert_eq!(o.status, Status::Ok, "{:?}", o.error);
    let src = common::shared_file("data/eegmmidb/S001/S001R04.edf");
    let report = common::run_python(
        r#"
import sys, mne
raw = mne.io.read_raw_edf(sys.argv[1], preload=True, verbose=False)
raw.filter(1.0, 25.0, verbose=False)
ev, evid = mne.events_from_annotations(raw, event_id=dict(T1=1, T2=2), verbose=False)
ep = mne.Epochs(raw, ev, evid, tmin=-0.5, tmax=2.0, baseline=(None, 0), decim=2,
                reject=dict(eeg=350e-6), preload=True, verbose=False)
for log in ep.drop_log:
    print(len(log))
"#,
        &[src.to_str().unwrap()],
    );
    let theirs: Vec<usize> = report
        .split_whitespace()
        .map(|s| s.parse().unwrap())
        .collect();
    let table = common::read_table(&out.join("sub-S001_rec-S001R04_desc-e_epochs.parquet"));
    let reasons = table.column("reason").unwrap().str().unwrap();
    let ours: Vec<usize> = (0..table.height())
        .map(|i| {
            reasons.get(i).map_or(0, |r| {
                let channels = r
                    .strip_prefix("peak-to-peak above reject on ")
                    .unwrap_or_else(|| panic!("unexpected reason {r}"));
                channels.split(',').count()
            })
        })
        .collect();
    assert_eq!(ours, theirs, "channels over threshold per epoch (0 = kept)");
    let dropped = ours.iter().filter(|&&n| n > 0).count();
    assert!(dropped > 0 && dropped < ours.len(), "{ours:?}");
}

/// `events_regex` numbers the matching descriptions 1, 2, … in sorted order, as
/// `mne.events_from_annotations(raw, regexp=...)` does; the stage's epochs table carries
/// MNE's events and ids.
#[test]
fn epoch_stage_events_regex_matches_mne_regexp() {
    let (o, _dir, out) = run_on_s001r04(
        "  raw: { kind: load }\n  e: { kind: epoch, after: [raw], events_regex: \"^T[12]$\", tmin: 0.0, tmax: 3.99375 }\n",
    );
    assert_eq!(o.status, Status::Ok, "{:?}", o.error);
    let src = common::shared_file("data/eegmmidb/S001/S001R04.edf");
    let report = common::run_python(
        r#"
import sys, mne
raw = mne.io.read_raw_edf(sys.argv[1], preload=False, verbose=False)
ev, evid = mne.events_from_annotations(raw, regexp="^T[12]$", verbose=False)
names = {v: k for k, v in evid.items()}
for s, _, i in ev:
    print(s, i, names[i])
"#,
        &[src.to_str().unwrap()],
    );
    let theirs: Vec<(i64, i64, String)> = report
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (
                f[0].parse().unwrap(),
                f[1].parse().unwrap(),
                f[2].to_string(),
            )
        })
        .collect();
    let table = common::read_table(&out.join("sub-S001_rec-S001R04_desc-e_epochs.parquet"));
    let first = table
        .column("first_sample")
        .unwrap()
        .cast(&DataType::Int64)
        .unwrap();
    let first = first.i64().unwrap();
    let ids = table
        .column("event_id")
        .unwrap()
        .cast(&DataType::Int64)
        .unwrap();
    let ids = ids.i64().unwrap();
    let names = table.column("event").unwrap().str().unwrap();
    let ours: Vec<(i64, i64, String)> = (0..table.height())
        .map(|i| {
            (
                first.get(i).unwrap(),
                ids.get(i).unwrap(),
                names.get(i).unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(theirs.len(), 15);
    assert_eq!(ours, theirs);
}
