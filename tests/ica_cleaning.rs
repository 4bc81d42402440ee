//! Evidence that ICA cleaning removes artifacts and keeps brain signal.
//!
//! * A real recording with an EOG channel (`eog/multiple_annotation_chans.bdf`, 12 EEG
//!   channels, 247 s): after `ica → classify_components → reconstruct`, frontal EEG
//!   correlates much less with the EOG, while 8–30 Hz power over posterior channels stays
//!   within 10% (band power from a plain FFT periodogram, not our filters).
//! * Synthetic `demo` subjects, whose brain-only signal is known: the default pipeline's
//!   output is closer to the (identically preprocessed) truth than its input was.

mod common;

use std::path::Path;

use eegclean::dag::{Status, run_recording_keeping};
use eegclean::data::{Artifact, Recording};
use eegclean::demo::{DemoSpec, generate};
use eegclean::io::edf::EdfKind;
use eegclean::io::recording_edf::write_recording;
use eegclean::spec::{Pipeline, Source};
use eegclean::stages::RecordingJob;
use rustfft::FftPlanner;
use rustfft::num_complex::Complex;

fn pipeline(dir: &Path, yaml: &str) -> Pipeline {
    let path = dir.join("pipeline.yaml");
    std::fs::write(&path, yaml).unwrap();
    Pipeline::from_source(Source::new(&path, yaml.to_string())).unwrap_or_else(|e| panic!("{e}"))
}

/// Run one file; the leaf recordings by stage id.
fn leaves(p: &Pipeline, path: &Path, keep: &[&str]) -> Vec<(String, std::sync::Arc<Recording>)> {
    let job = RecordingJob {
        path: path.to_path_buf(),
        subject: "x".into(),
        base: "x".into(),
    };
    let (outcome, leaves) = run_recording_keeping(p, &job, keep);
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.error);
    leaves
        .into_iter()
        .filter_map(|(id, a)| match a {
            Artifact::Continuous(r) => Some((id, r)),
            _ => None,
        })
        .collect()
}

fn leaf<'a>(all: &'a [(String, std::sync::Arc<Recording>)], id: &str) -> &'a Recording {
    &all.iter()
        .find(|(i, _)| i == id)
        .unwrap_or_else(|| panic!("no leaf {id}"))
        .1
}

fn row<'a>(rec: &'a Recording, name: &str) -> ndarray::ArrayView1<'a, f64> {
    rec.data.row(
        rec.channel_index(name)
            .unwrap_or_else(|| panic!("no {name}")),
    )
}

/// `x` with every frequency outside `lo`..`hi` Hz removed (FFT, zero the bins, inverse):
/// eye movements live below 10 Hz, where MNE's EOG rule also looks.
fn band_limited(x: ndarray::ArrayView1<f64>, sfreq: f64, lo: f64, hi: f64) -> ndarray::Array1<f64> {
    let n = x.len();
    let mut buf: Vec<Complex<f64>> = x.iter().map(|&v| Complex::new(v, 0.0)).collect();
    let mut planner = FftPlanner::new();
    planner.plan_fft_forward(n).process(&mut buf);
    for (k, b) in buf.iter_mut().enumerate() {
        let f = k.min(n - k) as f64 * sfreq / n as f64;
        if f < lo || f > hi {
            *b = Complex::new(0.0, 0.0);
        }
    }
    planner.plan_fft_inverse(n).process(&mut buf);
    buf.iter().map(|c| c.re / n as f64).collect()
}

/// Power between `lo` and `hi` Hz: sum of |FFT|² over those bins (one-sided periodogram).
fn band_power(x: ndarray::ArrayView1<f64>, sfreq: f64, lo: f64, hi: f64) -> f64 {
    let n = x.len();
    let mut buf: Vec<Complex<f64>> = x.iter().map(|&v| Complex::new(v, 0.0)).collect();
    FftPlanner::new().plan_fft_forward(n).process(&mut buf);
    (0..=n / 2)
        .filter(|&k| {
            let f = k as f64 * sfreq / n as f64;
            f >= lo && f <= hi
        })
        .map(|k| buf[k].norm_sqr())
        .sum()
}

#[test]
fn real_eog_recording_loses_eye_signal_and_keeps_posterior_rhythms() {
    let dir = common::scratch();
    let model = common::shared_file("models/ICLabelNet.onnx");
    let p = pipeline(
        dir.path(),
        &format!(
            "name: eog\ninput: {{ root: . }}\noutput: out\nstages:\n  raw: {{ kind: load }}\n  filtered: {{ kind: filter, after: [raw], l_freq: 1.0, h_freq: 40.0, types: [eeg, eog] }}\n  ica: {{ kind: ica, after: [filtered], n_components: 11 }}\n  labels: {{ kind: classify_components, after: [ica, filtered], iclabel: {{ model: {} }} }}\n  clean: {{ kind: reconstruct, after: [filtered, labels] }}\n",
            model.display()
        ),
    );
    let all = leaves(
        &p,
        &common::shared_file("data/eog/multiple_annotation_chans.bdf"),
        &["filtered"],
    );
    let (before, after) = (leaf(&all, "filtered"), leaf(&all, "clean"));
    assert_eq!(before.data.dim(), after.data.dim());

    let sf = before.sfreq;
    let low = |x| band_limited(x, sf, 1.0, 10.0);
    let eog = low(row(before, "EOG"));
    // The montage of this OpenBCI recording puts the eyes mostly in C3/C4 (recorded
    // reference), so rather than trusting labels, take the EEG channels that see the
    // eyes most before cleaning.
    let mut seen: Vec<(f64, String)> = before
        .channels
        .iter()
        .filter(|c| c.kind == eegclean::data::ChannelType::Eeg)
        .map(|c| {
            let r = common::correlation(low(row(before, &c.name)).view(), eog.view()).abs();
            (r, c.name.clone())
        })
        .collect();
    seen.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut worst_before = 0f64;
    let mut worst_after = 0f64;
    for (rb, ch) in &seen[..3] {
        let ra = common::correlation(low(row(after, ch)).view(), eog.view()).abs();
        eprintln!("{ch}: |r| with EOG (1–10 Hz) {rb:.3} → {ra:.3}");
        worst_before = worst_before.max(*rb);
        worst_after = worst_after.max(ra);
    }
    for ch in ["F3", "Fz", "F4"] {
        let rb = common::correlation(low(row(before, ch)).view(), eog.view()).abs();
        let ra = common::correlation(low(row(after, ch)).view(), eog.view()).abs();
        eprintln!("frontal {ch}: |r| with EOG (1–10 Hz) {rb:.3} → {ra:.3}");
    }
    assert!(
        worst_before > 0.5,
        "some EEG channel should see the eyes ({worst_before})"
    );
    assert!(
        worst_after < 0.5 * worst_before,
        "EEG–EOG correlation only fell from {worst_before:.3} to {worst_after:.3}"
    );
    for ch in ["P3", "Pz", "P4", "O1", "O2"] {
        let pb = band_power(row(before, ch), before.sfreq, 8.0, 30.0);
        let pa = band_power(row(after, ch), after.sfreq, 8.0, 30.0);
        eprintln!("{ch}: 8–30 Hz power ratio after/before {:.4}", pa / pb);
        assert!(
            (0.9..=1.1).contains(&(pa / pb)),
            "{ch}: 8–30 Hz power changed by {:.3}",
            pa / pb
        );
    }
}

/// RMS of (a − b) over the EEG rows named, relative to the RMS of b.
fn relative_error(a: &Recording, b: &Recording, names: &[String]) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for n in names {
        for (x, y) in row(a, n).iter().zip(row(b, n)) {
            num += (x - y) * (x - y);
            den += y * y;
        }
    }
    (num / den).sqrt()
}

#[test]
fn demo_reconstruction_gets_closer_to_the_known_brain_signal() {
    let dir = common::scratch();
    let spec = DemoSpec {
        n_subjects: 1,
        line_freq: Some(60.0),
        ..DemoSpec::default()
    };
    let subject = generate(&spec, 97).unwrap().remove(0);
    let observed = dir.path().join("observed.edf");
    write_recording(&observed, &subject.recording, EdfKind::EdfPlusC).unwrap();
    // The truth goes through the same reader and preprocessing as the data.
    let mut truth = subject.recording.clone();
    truth.data = subject.truth.clean.clone();
    let truth_path = dir.path().join("truth.edf");
    write_recording(&truth_path, &truth, EdfKind::EdfPlusC).unwrap();
    let eeg: Vec<String> = subject
        .recording
        .channels
        .iter()
        .filter(|c| c.kind == eegclean::data::ChannelType::Eeg)
        .map(|c| c.name.clone())
        .collect();

    // The same preprocessing as pipeline/default.yaml.
    let preprocess = "  raw: { kind: load }\n  reref: { kind: rereference, after: [raw], ref: average }\n  filtered: { kind: filter, after: [reref], l_freq: 1.0, h_freq: 40.0, notch: [60] }\n";
    let truth_p = pipeline(
        dir.path(),
        &format!("name: truth\ninput: {{ root: . }}\nstages:\n{preprocess}"),
    );
    let truth_all = leaves(&truth_p, &truth_path, &[]);
    let truth_f = leaf(&truth_all, "filtered");

    // The shipped default pipeline, as `eegclean demo` runs it, with ICLabel off (what a
    // fresh machine without the model does) and on.
    let default = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("pipeline/default.yaml"),
    )
    .unwrap();
    let skip = "iclabel: { if_unavailable: skip }";
    assert!(
        default.contains(skip),
        "default.yaml changed; update this test"
    );
    let model = common::shared_file("models/ICLabelNet.onnx");
    for (what, iclabel) in [
        (
            "EOG/ECG rules only (no ICLabel model, as on a fresh machine)",
            "iclabel: false".to_string(),
        ),
        (
            "ICLabel + EOG/ECG rules",
            format!("iclabel: {{ model: {} }}", model.display()),
        ),
    ] {
        let yaml = default.replace(skip, &iclabel);
        let p = pipeline(dir.path(), &yaml);
        let all = leaves(&p, &observed, &["filtered", "clean"]);
        let before = relative_error(leaf(&all, "filtered"), truth_f, &eeg);
        let after = relative_error(leaf(&all, "clean"), truth_f, &eeg);
        eprintln!("demo, {what}: relative RMS error vs clean truth {before:.3} → {after:.3}");
        assert!(
            after < 0.4 * before,
            "{what}: error vs truth only went from {before:.3} to {after:.3}"
        );
    }
}
