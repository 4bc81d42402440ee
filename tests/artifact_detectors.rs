//! MNE's rule-based ICA component detectors (`find_bads_eog`, `find_bads_ecg` with CTPS and
//! correlation, `find_bads_muscle`) against MNE 1.13 itself: the S001R04 reference run
//! (MNE's picard decomposition and `find_bads.json`), and ICAs fitted by MNE inside the test
//! on a real recording with ECG/EOG channels and on a synthetic one with known heartbeat and
//! blink sources. The zero-double firwin2 filter they rely on is checked against MNE's
//! `filter_data` and scipy's `firwin2`.

mod common;

use eegclean::artifacts::ctps::{CtpsParams, ctps_scores};
use eegclean::artifacts::heartbeats::{HeartbeatParams, find_heartbeats};
use eegclean::artifacts::muscle::{MuscleParams, muscle_scores};
use eegclean::artifacts::reference_correlation::{
    CorrelationParams, Measure, correlate_with_reference, merged_indices,
};
use eegclean::artifacts::{DetectorError, DetectorScores};
use eegclean::dsp::{Window, ZeroDoubleSpec, firwin2};
use eegclean::io::npy::read_f64;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Ix1, Ix2};
use serde_json::Value;
use std::path::Path;

fn load2(path: impl AsRef<Path>) -> Array2<f64> {
    read_f64(path)
        .unwrap()
        .into_dimensionality::<Ix2>()
        .unwrap()
}

fn load1(path: impl AsRef<Path>) -> Array1<f64> {
    read_f64(path)
        .unwrap()
        .into_dimensionality::<Ix1>()
        .unwrap()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

const S001R04_POSITIONS: &str = r#"
import sys, json, mne
mne.set_log_level("ERROR")
raw = mne.io.read_raw_edf(sys.argv[1], preload=False)
if any(c.endswith(".") for c in raw.ch_names):
    mne.datasets.eegbci.standardize(raw)
raw.set_montage("standard_1005")
print(json.dumps(dict(names=raw.ch_names,
                      pos=[ch["loc"][:3].tolist() for ch in raw.info["chs"]])))
"#;

/// Test 1: MNE's own picard decomposition of S001R04 and MNE's find_bads results.
#[test]
fn s001r04_eog_and_muscle_match_mne_find_bads() {
    let dir = "ref/mne-S001R04";
    let file = |n: &str| common::shared_file(&format!("{dir}/{n}"));
    let x = load2(file("filtered_uV.npy")) * 1e-6;
    let w = load2(file("ica_picard_unmixing_channel_space.npy"));
    let mixing = load2(file("ica_picard_mixing_channel_space.npy"));
    let pre_whitener = load2(file("ica_picard_pre_whitener.npy"))
        .column(0)
        .to_owned();
    let pca_mean = load1(file("ica_picard_pca_mean.npy"));
    let mut centred = x.clone();
    for (c, mut row) in centred.outer_iter_mut().enumerate() {
        row -= pre_whitener[c] * pca_mean[c];
    }
    let sources = w.dot(&centred);
    let want: Value =
        serde_json::from_str(&std::fs::read_to_string(file("find_bads.json")).unwrap()).unwrap();

    let edf = common::shared_file("data/eegmmidb/S001/S001R04.edf");
    let montage: Value = serde_json::from_str(&common::run_python(
        S001R04_POSITIONS,
        &[edf.to_str().unwrap()],
    ))
    .unwrap();
    let names: Vec<&str> = montage["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(names.len(), x.nrows());
    let positions = Array2::from_shape_vec(
        (names.len(), 3),
        montage["pos"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(f64s)
            .collect(),
    )
    .unwrap();

    // find_bads_eog(ch_name=["Fp1", "Fp2"]): one correlation per proxy channel.
    let sfreq = 160.0;
    let mut per_channel = Vec::new();
    for (k, proxy) in ["Fp1", "Fp2"].iter().enumerate() {
        let ch = names.iter().position(|n| n == proxy).unwrap();
        let got =
            correlate_with_reference(sources.view(), x.row(ch), sfreq, &CorrelationParams::eog())
                .unwrap();
        let want_scores = f64s(&want["eog_scores"][k]);
        let err = max_abs_diff(&got.scores, &want_scores);
        println!("S001R04 eog scores ({proxy}): max |diff| {err:e}");
        // find_bads.json holds 6 decimals.
        assert!(err <= 1e-5, "{proxy}: eog scores differ by {err:e}");
        per_channel.push(got);
    }
    assert_eq!(merged_indices(&per_channel), usizes(&want["eog_inds"]));

    let got = muscle_scores(
        sources.view(),
        mixing.view(),
        Some(positions.view()),
        sfreq,
        &MuscleParams::default(),
    )
    .unwrap();
    let want_scores = f64s(&want["muscle_scores"]);
    let err = max_abs_diff(&got.scores, &want_scores);
    println!("S001R04 muscle scores: max |diff| {err:e}");
    assert!(err <= 1e-4, "muscle scores differ by {err:e}");
    assert_eq!(got.indices, usizes(&want["muscle_inds"]));
    assert!((got.threshold - 0.125).abs() < 1e-15);
    assert_eq!(
        got.flagged.iter().filter(|f| **f).count(),
        got.indices.len()
    );
}

/// MNE fits an ICA, exports its sources and the reference channels, and runs its
/// detectors; results in `<out>/<case>/`.
const MNE_ORACLE: &str = r#"
import sys, os, json
import numpy as np, mne
mne.set_log_level("ERROR")
out = sys.argv[1]

def run(case, raw, n_components, ecg="ECG", eog="EOG", eog_abs=0.5, ecg_abs=0.5):
    d = os.path.join(out, case)
    os.makedirs(d)
    ica = mne.preprocessing.ICA(n_components=n_components, method="picard",
                                random_state=0, max_iter=500)
    ica.fit(raw, picks="eeg")
    np.save(os.path.join(d, "sources.npy"), ica.get_sources(raw).get_data())
    np.save(os.path.join(d, "ecg.npy"), raw.get_data(picks=[ecg])[0])
    np.save(os.path.join(d, "eog.npy"), raw.get_data(picks=[eog])[0])
    res = dict(sfreq=raw.info["sfreq"], eog_abs_threshold=eog_abs, ecg_abs_threshold=ecg_abs)
    ev, _, _ = mne.preprocessing.find_ecg_events(raw, ch_name=ecg, l_freq=8, h_freq=16)
    res["ecg_events"] = ev[:, 0].tolist()
    def put(key, inds, scores):
        res[key] = dict(inds=[int(i) for i in inds],
                        scores=np.asarray(scores, float).ravel().tolist())
    res["ecg_is_flat"] = bool(np.ptp(raw.get_data(picks=[ecg])) == 0)
    put("ctps", *ica.find_bads_ecg(raw, ch_name=ecg, method="ctps"))
    put("ecg_z", *ica.find_bads_ecg(raw, ch_name=ecg, method="correlation"))
    put("ecg_abs", *ica.find_bads_ecg(raw, ch_name=ecg, method="correlation",
                                      measure="correlation", threshold=ecg_abs))
    put("eog_z", *ica.find_bads_eog(raw, ch_name=eog))
    put("eog_abs", *ica.find_bads_eog(raw, ch_name=eog, measure="correlation",
                                      threshold=eog_abs))
    np.save(os.path.join(d, "components.npy"), ica.get_components())
    picks = [raw.ch_names.index(c) for c in ica.ch_names]
    np.save(os.path.join(d, "positions.npy"),
            np.array([raw.info["chs"][i]["loc"][:3] for i in picks]))
    res["has_positions"] = bool(mne.utils.check._check_ch_locs(raw.info, picks=picks))
    put("muscle", *ica.find_bads_muscle(raw))
    with open(os.path.join(d, "results.json"), "w") as f:
        json.dump(res, f)

# A real recording with EOG (2 min at 125 Hz, 12 EEG channels); its ECG channel is flat,
# so MNE's ECG detectors run on filter rounding noise there.
raw = mne.io.read_raw_bdf(sys.argv[2], preload=True)
raw.set_channel_types({"ECG": "ecg", "EOG": "eog", "EMG": "emg", "acc1": "misc",
                       "acc2": "misc", "acc3": "misc", "Trigger": "stim"})
raw.crop(0, 120)
raw.filter(1.0, 40.0, picks="eeg")
raw.set_montage("standard_1005")
run("bdf", raw, 8)

# A real 9.6 s EDF at 128 Hz with ECG and EOG channels: shorter than MNE's 10 s filters.
raw = mne.io.read_raw_edf(sys.argv[3], preload=True)
raw.set_channel_types({"ECG ECG1": "ecg", "ECG ECG2": "ecg", "EOG VEOG_I": "eog",
                       "EOG VEOG_II": "eog", "DIG DTRIG": "stim", "REF_EEG REF_EEG": "misc"})
run("edf", raw, 10, ecg="ECG ECG1", eog="EOG VEOG_II", ecg_abs=0.3, eog_abs=0.3)

# Synthetic: 16 EEG channels at 125 Hz (so epoch edges and QRS windows fall on half
# samples), 60 s, mixing a heartbeat (QRS-like spikes at
# ~72 bpm with jitter), blinks and 10 coloured-noise sources.
rng = np.random.default_rng(7)
sf, n = 125.0, 7500
t = np.arange(n) / sf
beats = np.cumsum(rng.uniform(0.75, 0.9, 90))
beats = beats[beats < t[-1] - 0.1]
qrs = np.zeros(n)
for b in beats:
    qrs += np.exp(-0.5 * ((t - b) / 0.012) ** 2) - 0.3 * np.exp(-0.5 * ((t - b - 0.05) / 0.03) ** 2)
blinks = np.zeros(n)
for b in rng.uniform(1, 59, 20):
    blinks += np.exp(-0.5 * ((t - b) / 0.1) ** 2)
noise = np.cumsum(rng.standard_normal((10, n)), axis=1)
noise -= noise.mean(axis=1, keepdims=True)
noise = mne.filter.filter_data(noise, sf, 1.0, 40.0) / noise.std()
srcs = np.vstack([qrs * 3, blinks * 4, noise * rng.uniform(0.5, 2, (10, 1))])
A = rng.standard_normal((16, srcs.shape[0]))
eeg = (A @ srcs + 0.05 * rng.standard_normal((16, n))) * 1e-5
ecg = (qrs + 0.05 * rng.standard_normal(n)) * 1e-3
eog = (blinks + 0.1 * rng.standard_normal(n)) * 1e-4
info = mne.create_info([f"E{i}" for i in range(16)] + ["ECG", "EOG"], sf,
                       ["eeg"] * 16 + ["ecg", "eog"])
raw = mne.io.RawArray(np.vstack([eeg, ecg, eog]), info)
run("synthetic", raw, 12, eog_abs=0.9, ecg_abs=0.5)
"#;

/// Our scores within `tol` of MNE's and the same flagged components in the same order.
fn compare(res: &Value, case: &str, key: &str, got: &DetectorScores, tol: f64) {
    let want = &res[key];
    let err = max_abs_diff(&got.scores, &f64s(&want["scores"]));
    println!(
        "{case} {key}: max |diff| {err:e}, flagged {:?} (MNE {})",
        got.indices, want["inds"]
    );
    assert!(err <= tol, "{case} {key}: scores differ by {err:e}");
    assert_eq!(got.indices, usizes(&want["inds"]), "{case} {key}: flags");
}

fn check_eog(res: &Value, case: &str, sources: ArrayView2<f64>, eog: ArrayView1<f64>, sfreq: f64) {
    let eog_z = correlate_with_reference(sources, eog, sfreq, &CorrelationParams::eog()).unwrap();
    compare(res, case, "eog_z", &eog_z, 1e-9);
    let params = CorrelationParams {
        threshold: res["eog_abs_threshold"].as_f64().unwrap(),
        measure: Measure::Correlation,
        ..CorrelationParams::eog()
    };
    let eog_abs = correlate_with_reference(sources, eog, sfreq, &params).unwrap();
    compare(res, case, "eog_abs", &eog_abs, 1e-9);
}

fn check_case(dir: &Path, case: &str) {
    let d = dir.join(case);
    let res: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("results.json")).unwrap()).unwrap();
    let sources = load2(d.join("sources.npy"));
    let ecg = load1(d.join("ecg.npy"));
    let eog = load1(d.join("eog.npy"));
    let sfreq = res["sfreq"].as_f64().unwrap();
    check_eog(&res, case, sources.view(), eog.view(), sfreq);
    let components = load2(d.join("components.npy"));
    let positions = load2(d.join("positions.npy"));
    let positions = res["has_positions"]
        .as_bool()
        .unwrap()
        .then_some(positions.view());
    let muscle = muscle_scores(
        sources.view(),
        components.view(),
        positions,
        sfreq,
        &MuscleParams::default(),
    )
    .unwrap();
    compare(&res, case, "muscle", &muscle, 1e-9);

    if res["ecg_is_flat"].as_bool().unwrap() {
        // MNE detects "heartbeats" in the rounding noise of the filtered flat channel; we
        // refuse it.
        let err = ctps_scores(sources.view(), ecg.view(), sfreq, &CtpsParams::default());
        assert_eq!(err.unwrap_err(), DetectorError::ConstantReference);
        let err =
            correlate_with_reference(sources.view(), ecg.view(), sfreq, &CorrelationParams::ecg());
        assert_eq!(err.unwrap_err(), DetectorError::ConstantReference);
        return;
    }
    let beats = find_heartbeats(ecg.view(), sfreq, &HeartbeatParams::default()).unwrap();
    assert_eq!(
        beats,
        usizes(&res["ecg_events"]),
        "{case}: R peaks differ from find_ecg_events"
    );
    let ctps = ctps_scores(sources.view(), ecg.view(), sfreq, &CtpsParams::default()).unwrap();
    compare(&res, case, "ctps", &ctps, 1e-9);
    let ecg_z =
        correlate_with_reference(sources.view(), ecg.view(), sfreq, &CorrelationParams::ecg())
            .unwrap();
    compare(&res, case, "ecg_z", &ecg_z, 1e-9);
    let params = CorrelationParams {
        threshold: res["ecg_abs_threshold"].as_f64().unwrap(),
        measure: Measure::Correlation,
        ..CorrelationParams::ecg()
    };
    let ecg_abs = correlate_with_reference(sources.view(), ecg.view(), sfreq, &params).unwrap();
    compare(&res, case, "ecg_abs", &ecg_abs, 1e-9);
}

#[test]
fn mne_fitted_icas_ctps_ecg_and_eog_scores_match() {
    let dir = common::scratch();
    let bdf = common::shared_file("data/eog/multiple_annotation_chans.bdf");
    let edf = common::shared_file("data/eog/test_edf_stim_channel.edf");
    common::run_python(
        MNE_ORACLE,
        &[
            dir.path().to_str().unwrap(),
            bdf.to_str().unwrap(),
            edf.to_str().unwrap(),
        ],
    );
    check_case(dir.path(), "bdf");
    check_case(dir.path(), "edf");
    check_case(dir.path(), "synthetic");
}

const ZERO_DOUBLE_ORACLE: &str = r#"
import sys, os, numpy as np, mne
from scipy.signal import firwin2
mne.set_log_level("ERROR")
out = sys.argv[1]
rng = np.random.default_rng(3)
np.save(os.path.join(out, "firwin2_2048.npy"),
        firwin2(2048, [0, 7.5 / 80, 8 / 80, 16 / 80, 16.5 / 80, 1], [0, 0, 1, 1, 0, 0], window="hann"))
np.save(os.path.join(out, "firwin2_33.npy"),
        firwin2(33, [0, 0.2, 0.2, 0.5, 1], [1, 1, 0.5, 0, 0], window="hamming"))
for name, sf, n, l, h in [("long", 160.0, 5000, 8.0, 16.0), ("short", 128.0, 900, 1.0, 10.0)]:
    x = rng.standard_normal((3, n))
    np.save(os.path.join(out, f"x_{name}.npy"), x)
    y = mne.filter.filter_data(x, sf, l, h, filter_length="10s", l_trans_bandwidth=0.5,
                               h_trans_bandwidth=0.5, phase="zero-double", fir_window="hann",
                               fir_design="firwin2")
    np.save(os.path.join(out, f"y_{name}.npy"), y)
"#;

#[test]
fn zero_double_firwin2_filter_matches_mne_filter_data() {
    let dir = common::scratch();
    common::run_python(ZERO_DOUBLE_ORACLE, &[dir.path().to_str().unwrap()]);
    let p = |n: &str| dir.path().join(n);
    let taps = firwin2(
        2048,
        &[0.0, 7.5 / 80.0, 8.0 / 80.0, 16.0 / 80.0, 16.5 / 80.0, 1.0],
        &[0.0, 0.0, 1.0, 1.0, 0.0, 0.0],
        Window::Hann,
    )
    .unwrap();
    let e = common::max_rel(&taps, load1(p("firwin2_2048.npy")).as_slice().unwrap());
    println!("firwin2 2048 taps: rel err {e:e}");
    assert!(e <= 1e-12);
    let taps = firwin2(
        33,
        &[0.0, 0.2, 0.2, 0.5, 1.0],
        &[1.0, 1.0, 0.5, 0.0, 0.0],
        Window::Hamming,
    )
    .unwrap();
    let e = common::max_rel(&taps, load1(p("firwin2_33.npy")).as_slice().unwrap());
    assert!(e <= 1e-12, "firwin2 33 taps: rel err {e:e}");
    for (name, sf, l, h) in [("long", 160.0, 8.0, 16.0), ("short", 128.0, 1.0, 10.0)] {
        let mut x = load2(p(&format!("x_{name}.npy")));
        let want = load2(p(&format!("y_{name}.npy")));
        let fir = ZeroDoubleSpec::mne_band_pass(l, h).design(sf).unwrap();
        fir.apply(x.view_mut());
        let e = common::max_rel(x.as_slice().unwrap(), want.as_slice().unwrap());
        println!("zero-double {name}: rel err {e:e}");
        assert!(e <= 1e-10, "zero-double {name}: rel err {e:e}");
    }
}

/// Small deterministic inputs for the error paths: 3 components × 20 s at 100 Hz.
fn toy() -> (Array2<f64>, Array1<f64>, f64) {
    let sfreq = 100.0;
    let n = 2000;
    let sources = Array2::from_shape_fn((3, n), |(c, t)| {
        let t = t as f64 / sfreq;
        (2.0 * std::f64::consts::PI * (3.0 + c as f64 * 4.0) * t).sin() + 0.1 * (7.3 * t).cos()
    });
    let reference = Array1::from_shape_fn(n, |t| (t as f64 * 0.37).sin() * 1e-4);
    (sources, reference, sfreq)
}

fn assert_hint(err: &DetectorError, hint: &str) {
    let msg = err.to_string();
    assert!(msg.contains(hint), "message {msg:?} should say {hint:?}");
}

#[test]
fn shape_mismatches_are_refused() {
    let (sources, reference, sfreq) = toy();
    let short = reference.slice(ndarray::s![..100]);
    let err = correlate_with_reference(sources.view(), short, sfreq, &CorrelationParams::eog())
        .unwrap_err();
    assert!(matches!(err, DetectorError::Shape { .. }));
    assert_hint(&err, "same decomposition and recording");
    let err = ctps_scores(sources.view(), short, sfreq, &CtpsParams::default()).unwrap_err();
    assert!(matches!(err, DetectorError::Shape { .. }));
    // mixing with the wrong number of components, positions with the wrong number of rows
    let mixing = Array2::<f64>::ones((4, 2));
    let err = muscle_scores(
        sources.view(),
        mixing.view(),
        None,
        sfreq,
        &MuscleParams::default(),
    )
    .unwrap_err();
    assert!(matches!(err, DetectorError::Shape { .. }));
    let mixing = Array2::from_shape_fn((4, 3), |(i, j)| (i * 3 + j) as f64 + 1.0);
    let positions = Array2::from_shape_fn((5, 3), |(i, j)| 0.01 * (i + j + 1) as f64);
    let err = muscle_scores(
        sources.view(),
        mixing.view(),
        Some(positions.view()),
        sfreq,
        &MuscleParams::default(),
    )
    .unwrap_err();
    assert!(matches!(err, DetectorError::Shape { .. }));
}

#[test]
fn too_short_recordings_are_refused() {
    let (sources, reference, sfreq) = toy();
    // R-peak detection reads the first three seconds (MNE fails on ≤ 2 s).
    let two_s = ndarray::s![.., ..200];
    let err = ctps_scores(
        sources.slice(two_s),
        reference.slice(ndarray::s![..200]),
        sfreq,
        &CtpsParams::default(),
    )
    .unwrap_err();
    assert!(matches!(err, DetectorError::TooShort { needed: 201, .. }));
    assert_hint(&err, "use a longer recording");
    let err = correlate_with_reference(
        sources.slice(ndarray::s![.., ..1]),
        reference.slice(ndarray::s![..1]),
        sfreq,
        &CorrelationParams::eog(),
    )
    .unwrap_err();
    assert!(matches!(err, DetectorError::TooShort { .. }));
}

#[test]
fn non_finite_values_are_refused() {
    let (mut sources, mut reference, sfreq) = toy();
    reference[17] = f64::NAN;
    let err = correlate_with_reference(
        sources.view(),
        reference.view(),
        sfreq,
        &CorrelationParams::eog(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        DetectorError::NotFinite {
            what: "the reference channel",
            row: 0,
            sample: 17
        }
    );
    assert_hint(&err, "interpolate");
    let err = ctps_scores(
        sources.view(),
        reference.view(),
        sfreq,
        &CtpsParams::default(),
    )
    .unwrap_err();
    assert!(matches!(err, DetectorError::NotFinite { sample: 17, .. }));
    reference[17] = 0.0;
    sources[[2, 5]] = f64::INFINITY;
    let err = correlate_with_reference(
        sources.view(),
        reference.view(),
        sfreq,
        &CorrelationParams::eog(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        DetectorError::NotFinite {
            what: "sources",
            row: 2,
            sample: 5
        }
    );
    let mixing = Array2::from_shape_fn((4, 3), |(i, j)| (i * 3 + j) as f64 + 1.0);
    let err = muscle_scores(
        sources.view(),
        mixing.view(),
        None,
        sfreq,
        &MuscleParams::default(),
    )
    .unwrap_err();
    assert!(matches!(err, DetectorError::NotFinite { row: 2, .. }));
}

#[test]
fn flat_reference_channels_are_refused() {
    let (sources, reference, sfreq) = toy();
    let flat = Array1::from_elem(reference.len(), 3e-6);
    for params in [CorrelationParams::eog(), CorrelationParams::ecg()] {
        let err =
            correlate_with_reference(sources.view(), flat.view(), sfreq, &params).unwrap_err();
        assert_eq!(err, DetectorError::ConstantReference);
        assert_hint(&err, "pick a channel that records the artifact");
    }
    let err = ctps_scores(sources.view(), flat.view(), sfreq, &CtpsParams::default()).unwrap_err();
    assert_eq!(err, DetectorError::ConstantReference);
}

#[test]
fn missing_sensor_positions_are_refused() {
    let (sources, _, sfreq) = toy();
    let mixing = Array2::from_shape_fn((4, 3), |(i, j)| ((i * 3 + j) as f64).sin());
    let mut positions = Array2::from_shape_fn((4, 3), |(i, j)| {
        [
            [0.07, 0.0, 0.05],
            [0.0, 0.07, 0.05],
            [-0.07, 0.0, 0.05],
            [0.0, -0.07, 0.05],
        ][i][j]
    });
    // Sanity: complete positions work.
    muscle_scores(
        sources.view(),
        mixing.view(),
        Some(positions.view()),
        sfreq,
        &MuscleParams::default(),
    )
    .unwrap();
    let zeros = Array2::<f64>::zeros((4, 3));
    let err = muscle_scores(
        sources.view(),
        mixing.view(),
        Some(zeros.view()),
        sfreq,
        &MuscleParams::default(),
    )
    .unwrap_err();
    assert!(matches!(err, DetectorError::NoPositions { .. }));
    assert_hint(&err, "set a montage");
    positions[[1, 2]] = f64::NAN;
    let err = muscle_scores(
        sources.view(),
        mixing.view(),
        Some(positions.view()),
        sfreq,
        &MuscleParams::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("channel 1 (of 4)"), "{err}");
}

#[test]
fn invalid_parameters_are_refused() {
    let (sources, reference, sfreq) = toy();
    let half_band = CorrelationParams {
        h_freq: None,
        ..CorrelationParams::eog()
    };
    let err =
        correlate_with_reference(sources.view(), reference.view(), sfreq, &half_band).unwrap_err();
    assert!(matches!(err, DetectorError::InvalidParams { .. }));
    assert_hint(&err, "both l_freq and h_freq");
    let err = correlate_with_reference(
        sources.view(),
        reference.view(),
        0.0,
        &CorrelationParams::eog(),
    )
    .unwrap_err();
    assert_eq!(err, DetectorError::InvalidSampleRate { sfreq: 0.0 });
    // 10 Hz low-pass edge at 15 Hz sampling: the filter design error comes through.
    let err = correlate_with_reference(
        sources.view(),
        reference.view(),
        15.0,
        &CorrelationParams::eog(),
    )
    .unwrap_err();
    assert!(matches!(err, DetectorError::Filter(_)), "{err:?}");
    assert_hint(&err, "lower h_freq");
    let mixing = Array2::from_shape_fn((4, 3), |(i, j)| ((i * 3 + j) as f64).sin());
    let err = muscle_scores(
        sources.view(),
        mixing.view(),
        None,
        sfreq,
        &MuscleParams {
            l_freq: 45.0,
            h_freq: 7.0,
            ..MuscleParams::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, DetectorError::InvalidParams { .. }));
    let err = ctps_scores(
        sources.view(),
        reference.view(),
        sfreq,
        &CtpsParams {
            threshold: f64::NAN,
            ..CtpsParams::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, DetectorError::InvalidParams { .. }));
}

#[test]
fn beats_only_where_no_epoch_fits_is_no_heartbeats() {
    // One sharp beat 0.1 s into the recording: the only R peaks found (the beat and filter
    // ringing) lie within the first second, so no −1..0.5 s epoch fits.
    let (sources, _, sfreq) = toy();
    let n = sources.ncols();
    let ecg = Array1::from_shape_fn(n, |t| {
        let dt = (t as f64 - 10.0) / sfreq;
        (-0.5 * (dt / 0.01).powi(2)).exp() * 1e-3
    });
    let beats = find_heartbeats(ecg.view(), sfreq, &HeartbeatParams::default()).unwrap();
    assert!(
        !beats.is_empty() && beats.iter().all(|&b| b < 100),
        "beats {beats:?}"
    );
    let params = CtpsParams {
        tmin: -1.0,
        ..CtpsParams::default()
    };
    let err = ctps_scores(sources.view(), ecg.view(), sfreq, &params).unwrap_err();
    assert_eq!(err, DetectorError::NoHeartbeats);
    assert_hint(&err, "check that the channel carries the ECG");
}
