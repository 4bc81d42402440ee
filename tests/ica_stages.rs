//! The `ica`, `classify_components` and `reconstruct` stages end to end on S001R04
//! (load → average reference → FIR 1–40 Hz + 60 Hz notch, as `mne_pipeline.py`), checked
//! against the MNE + mne-icalabel reference harness (`ref/mne-S001R04/`):
//! * given MNE's own picard decomposition (`ica: { from: … }`), our ICLabel probabilities
//!   equal `iclabel_probs.npy`, our exclusions equal the harness rule applied to MNE's
//!   labels, and the reconstruction equals `cleaned_uV.npy` to ≤ 1e-6 of its RMS;
//! * fitting our own decomposition finds MNE's blink component and excludes it;
//! * bad configurations fail the recording with a message that says what to change.

mod common;

use std::path::Path;

use eegclean::dag::{Status, run_recording};
use eegclean::data::Artifact;
use eegclean::ica::{Decomposition, Method, PicardParams};
use eegclean::io::{ica_file, npy};
use eegclean::spec::{Pipeline, Source};
use eegclean::stages::RecordingJob;
use ndarray::{Array1, Array2, Ix2};

const PREPROCESS: &str = "  raw: { kind: load }\n  reref: { kind: rereference, after: [raw], ref: average }\n  filtered: { kind: filter, after: [reref], l_freq: 1.0, h_freq: 40.0, notch: [60] }\n";

fn reference(name: &str) -> Array2<f64> {
    npy::read_f64(common::shared_file(&format!("ref/mne-S001R04/{name}")))
        .expect("reference npy")
        .into_dimensionality::<Ix2>()
        .expect("2-D")
}

fn job() -> RecordingJob {
    RecordingJob {
        path: common::shared_file("data/eegmmidb/S001/S001R04.edf"),
        subject: "S001".into(),
        base: "S001R04".into(),
    }
}

fn pipeline(dir: &Path, stages: &str) -> Pipeline {
    let yaml =
        format!("name: ica-test\ninput: {{ root: . }}\noutput: out\nstages:\n{PREPROCESS}{stages}");
    let path = dir.join("pipeline.yaml");
    std::fs::write(&path, &yaml).unwrap();
    Pipeline::from_source(Source::new(&path, yaml)).unwrap_or_else(|e| panic!("{e}"))
}

/// Our channel names of S001R04 (equal to MNE's after eegbci.standardize, see
/// tests/filter_parity.rs), in file order.
fn channel_names(dir: &Path) -> Vec<String> {
    let p = pipeline(dir, "");
    let (outcome, leaves) = run_recording(&p, &job());
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.error);
    let Artifact::Continuous(rec) = &leaves[0].1 else {
        panic!("not a recording")
    };
    rec.channels.iter().map(|c| c.name.clone()).collect()
}

/// MNE's picard decomposition of S001R04 written in our `_ica.json` format.
fn write_mne_decomposition(path: &Path, names: &[String]) {
    let d = Decomposition {
        method: Method::Picard(PicardParams::default()),
        n_components: 20,
        pre_whitener: Array1::from(reference("ica_picard_pre_whitener.npy").column(0).to_vec()),
        pca_mean: npy::read_f64(common::shared_file(
            "ref/mne-S001R04/ica_picard_pca_mean.npy",
        ))
        .unwrap()
        .into_dimensionality()
        .unwrap(),
        pca_components: reference("ica_picard_pca_components.npy"),
        pca_explained_variance: npy::read_f64(common::shared_file(
            "ref/mne-S001R04/ica_picard_pca_explained_variance.npy",
        ))
        .unwrap()
        .into_dimensionality()
        .unwrap(),
        rank: 63,
        unmixing_matrix: reference("ica_picard_unmixing_matrix_pca.npy"),
        mixing_matrix: reference("ica_picard_mixing_matrix_pca.npy"),
        n_iter: 0,
        converged: true,
        n_samples_fit: 19680,
    };
    std::fs::write(path, ica_file::to_json(&d, names, 160.0)).unwrap();
}

/// The harness's labels: (label, probability of the label) per component.
fn mne_labels() -> Vec<(String, f64)> {
    let text =
        std::fs::read_to_string(common::shared_file("ref/mne-S001R04/iclabel.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let labels = v["labels"].as_array().unwrap();
    let p = v["y_pred_proba"].as_array().unwrap();
    labels
        .iter()
        .zip(p)
        .map(|(l, p)| (l.as_str().unwrap().to_string(), p.as_f64().unwrap()))
        .collect()
}

#[test]
fn mne_decomposition_gives_mne_labels_and_mne_cleaned_data() {
    let dir = common::scratch();
    let names = channel_names(dir.path());
    write_mne_decomposition(&dir.path().join("mne_ica.json"), &names);
    let model = common::shared_file("models/ICLabelNet.onnx");
    let p = pipeline(
        dir.path(),
        &format!(
            "  ica: {{ kind: ica, after: [filtered], from: mne_ica.json }}\n  labels: {{ kind: classify_components, after: [ica, filtered], iclabel: {{ model: {} }} }}\n  clean: {{ kind: reconstruct, after: [filtered, labels] }}\n",
            model.display()
        ),
    );
    let (outcome, leaves) = run_recording(&p, &job());
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.error);

    // Probabilities against mne-icalabel's.
    let table = common::read_table(
        &dir.path()
            .join("out/sub-S001/S001R04_desc-labels_components.parquet"),
    );
    assert_eq!(table.height(), 20);
    let want = reference("iclabel_probs.npy");
    let columns = [
        "p_brain",
        "p_muscle",
        "p_eye",
        "p_heart",
        "p_line_noise",
        "p_channel_noise",
        "p_other",
    ];
    let mut worst = 0f64;
    for (k, name) in columns.iter().enumerate() {
        let col = table.column(name).unwrap().f64().unwrap();
        for c in 0..20 {
            worst = worst.max((col.get(c).unwrap() - want[[c, k]]).abs());
        }
    }
    eprintln!("ICLabel probabilities: max |ours − mne-icalabel| = {worst:.2e}");
    assert!(worst < 1e-3, "probabilities differ by {worst}");

    // Exclusions: the harness rule (artifact label with p > 0.5) on MNE's labels.
    let artifact_classes = [
        "eye blink",
        "heart beat",
        "muscle artifact",
        "line noise",
        "channel noise",
    ];
    let want_excluded: Vec<u32> = mne_labels()
        .iter()
        .enumerate()
        .filter(|(_, (l, p))| artifact_classes.contains(&l.as_str()) && *p > 0.5)
        .map(|(i, _)| i as u32)
        .collect();
    let excluded = table.column("excluded").unwrap().bool().unwrap();
    let ours: Vec<u32> = (0..20u32)
        .filter(|&c| excluded.get(c as usize).unwrap())
        .collect();
    assert_eq!(ours, want_excluded);
    let labels = table.column("iclabel_label").unwrap().str().unwrap();
    for (c, (l, _)) in mne_labels().iter().enumerate() {
        assert_eq!(labels.get(c).unwrap(), l, "label of component {c}");
    }
    let reasons = table.column("reason").unwrap().str().unwrap();
    for &c in &want_excluded {
        let r = reasons.get(c as usize).unwrap();
        assert!(r.starts_with("iclabel: ") && r.contains("> 0.5"), "{r}");
    }

    // Reconstruction against MNE's ica.apply.
    let Artifact::Continuous(rec) = &leaves[0].1 else {
        panic!("not a recording")
    };
    let cleaned = reference("cleaned_uV.npy");
    let rms = (cleaned.iter().map(|v| v * v).sum::<f64>() / cleaned.len() as f64).sqrt();
    let err = rec
        .data
        .iter()
        .zip(cleaned.iter())
        .map(|(o, m)| (o * 1e6 - m).abs())
        .fold(0.0, f64::max);
    eprintln!("reconstruct vs cleaned_uV: max |err| = {err:.2e} µV, RMS {rms:.2} µV");
    assert!(
        err <= 1e-6 * rms,
        "max error {err} µV > 1e-6 × RMS {rms} µV"
    );
    assert!(
        rec.channels[0]
            .prefilter
            .ends_with(&format!("ICA-{}", want_excluded.len()))
    );
}

#[test]
fn own_fit_finds_and_removes_the_blink_component_mne_found() {
    let dir = common::scratch();
    let model = common::shared_file("models/ICLabelNet.onnx");
    let p = pipeline(
        dir.path(),
        &format!(
            "  ica: {{ kind: ica, after: [filtered], n_components: 20 }}\n  labels: {{ kind: classify_components, after: [ica, filtered], iclabel: {{ model: {} }} }}\n",
            model.display()
        ),
    );
    let (outcome, _) = run_recording(&p, &job());
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.error);
    let ours = ica_file::read(&dir.path().join("out/sub-S001/S001R04_desc-ica_ica.json")).unwrap();
    let d = &ours.decomposition;
    assert_eq!((d.n_components, d.rank), (20, 63));
    assert!(d.converged);

    // MNE's blink component (0, labelled eye blink with p 0.994) as a time course.
    let x = reference("filtered_uV.npy").mapv(|v| v * 1e-6);
    let mne_w = reference("ica_picard_unmixing_channel_space.npy");
    let pre = reference("ica_picard_pre_whitener.npy");
    let mean = npy::read_f64(common::shared_file(
        "ref/mne-S001R04/ica_picard_pca_mean.npy",
    ))
    .unwrap()
    .into_dimensionality::<ndarray::Ix1>()
    .unwrap();
    let centred = Array2::from_shape_fn(x.dim(), |(c, t)| x[[c, t]] - pre[[c, 0]] * mean[c]);
    let mne_blink = mne_w.row(0).dot(&centred);
    let our_sources = d.sources(x.view()).unwrap();
    let (best, r) = (0..20)
        .map(|k| {
            (
                k,
                common::correlation(our_sources.row(k), mne_blink.view()).abs(),
            )
        })
        .fold((0, 0.0), |a, b| if b.1 > a.1 { b } else { a });
    eprintln!("our component {best} matches MNE's blink component: |r| = {r:.5}");
    assert!(
        r > 0.99,
        "no component of ours matches MNE's blink (best |r| {r})"
    );

    let table = common::read_table(
        &dir.path()
            .join("out/sub-S001/S001R04_desc-labels_components.parquet"),
    );
    let excluded = table.column("excluded").unwrap().bool().unwrap();
    assert!(excluded.get(best).unwrap(), "blink component {best} kept");
    let label = table.column("iclabel_label").unwrap().str().unwrap();
    assert_eq!(label.get(best).unwrap(), "eye blink");
}

fn failure(stages: &str) -> String {
    let dir = common::scratch();
    let p = pipeline(dir.path(), stages);
    let (outcome, _) = run_recording(&p, &job());
    assert_eq!(
        outcome.status,
        Status::Failed,
        "expected a failure for {stages}"
    );
    let leftovers = common::files_under(&dir.path().join("out"));
    assert!(leftovers.is_empty(), "failed recording left {leftovers:?}");
    outcome.error.unwrap_or_default()
}

#[test]
fn bad_configurations_fail_the_recording_and_say_what_to_change() {
    // 64 channels with an average reference have rank 63.
    let e = failure("  ica: { kind: ica, after: [filtered], n_components: 64 }\n");
    assert!(e.contains("rank") && e.contains("63"), "{e}");

    let e = failure("  ica: { kind: ica, after: [filtered], from: missing.json }\n");
    assert!(e.contains("missing.json"), "{e}");

    let e = failure(
        "  ica: { kind: ica, after: [filtered], n_components: 5 }\n  labels: { kind: classify_components, after: [ica, filtered], iclabel: { model: nowhere/ICLabelNet.onnx } }\n",
    );
    assert!(
        e.contains("nowhere/ICLabelNet.onnx") && e.contains("pip install mne-icalabel"),
        "{e}"
    );

    let e = failure(
        "  ica: { kind: ica, after: [filtered], n_components: 5 }\n  labels: { kind: classify_components, after: [ica, filtered], iclabel: false, exclude: [7] }\n",
    );
    assert!(
        e.contains("component 7") && e.contains("5 components"),
        "{e}"
    );

    // The ICA's channels must be in the recording it is applied to.
    let e = failure(
        "  ica: { kind: ica, after: [filtered], n_components: 5 }\n  fewer: { kind: rereference, after: [filtered], ref: bipolar, pairs: [[Fp1, Fp2]] }\n  clean: { kind: reconstruct, after: [fewer, ica], exclude: [0] }\n",
    );
    assert!(e.contains("no channel `Fp1`"), "{e}");
}

#[test]
fn missing_model_with_skip_classifies_without_iclabel_and_says_so() {
    let dir = common::scratch();
    let p = pipeline(
        dir.path(),
        "  ica: { kind: ica, after: [filtered], n_components: 5 }\n  labels: { kind: classify_components, after: [ica, filtered], iclabel: { model: nowhere.onnx, if_unavailable: skip }, exclude: [1] }\n",
    );
    let (outcome, _) = run_recording(&p, &job());
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.error);
    let table = common::read_table(
        &dir.path()
            .join("out/sub-S001/S001R04_desc-labels_components.parquet"),
    );
    assert_eq!(table.height(), 5);
    let notes = table.column("notes").unwrap().str().unwrap();
    assert!(
        notes.get(0).unwrap().contains("iclabel skipped"),
        "{:?}",
        notes.get(0)
    );
    assert_eq!(table.column("p_eye").unwrap().null_count(), 5);
    let excluded = table.column("excluded").unwrap().bool().unwrap();
    let ours: Vec<bool> = (0..5).map(|c| excluded.get(c).unwrap()).collect();
    assert_eq!(ours, [false, true, false, false, false]);
}

#[test]
fn iclabel_refuses_intracranial_channels_and_the_rules_still_work() {
    let dir = common::scratch();
    let seeg = "[Fp1, Fp2, F7, F3, Fz, F4, F8, C3, Cz, C4, P3, Pz, P4, O1, O2]";
    let yaml = |classify: &str| {
        format!(
            "name: ieeg\ninput: {{ root: . }}\noutput: out\nchannels: {{ seeg: {seeg} }}\nstages:\n  raw: {{ kind: load }}\n  filtered: {{ kind: filter, after: [raw], l_freq: 1.0, h_freq: 40.0 }}\n  ica: {{ kind: ica, after: [filtered], types: [seeg], n_components: 8 }}\n  labels: {{ kind: classify_components, after: [ica, filtered], {classify} }}\n"
        )
    };
    let model = common::shared_file("models/ICLabelNet.onnx");
    let path = dir.path().join("ieeg.yaml");
    let refused = yaml(&format!("iclabel: {{ model: {} }}", model.display()));
    let p = Pipeline::from_source(Source::new(&path, refused)).unwrap();
    let (outcome, _) = run_recording(&p, &job());
    assert_eq!(outcome.status, Status::Failed);
    let e = outcome.error.unwrap_or_default();
    assert!(
        e.contains("scalp EEG") && e.contains("seeg") && e.contains("iclabel: false"),
        "{e}"
    );

    let rules = yaml("iclabel: false, eog: { channels: [Fp1, Fp2] }, muscle: true");
    let p = Pipeline::from_source(Source::new(&path, rules)).unwrap();
    let (outcome, _) = run_recording(&p, &job());
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.error);
    let table = common::read_table(
        &dir.path()
            .join("out/sub-S001/S001R04_desc-labels_components.parquet"),
    );
    for column in ["eog_Fp1_r", "eog_Fp2_r", "muscle_score"] {
        let c = table.column(column).unwrap().f64().unwrap();
        assert_eq!(c.null_count(), 0, "{column}");
        assert!(
            (0..c.len()).all(|i| c.get(i).is_some_and(f64::is_finite)),
            "{column}"
        );
    }
}

#[test]
fn a_named_reference_channel_that_is_missing_fails_with_its_name() {
    let e = failure(
        "  ica: { kind: ica, after: [filtered], n_components: 5 }\n  labels: { kind: classify_components, after: [ica, filtered], iclabel: false, eog: { channels: [VEOG] } }\n",
    );
    assert!(e.contains("eog") && e.contains("`VEOG`"), "{e}");
    let e = failure(
        "  ica: { kind: ica, after: [filtered], n_components: 5 }\n  labels: { kind: classify_components, after: [ica, filtered], iclabel: false, ecg: { channel: ECG1 } }\n",
    );
    assert!(e.contains("ecg") && e.contains("`ECG1`"), "{e}");
}
