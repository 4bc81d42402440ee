//! ICLabel features and end-to-end probabilities against mne-icalabel on S001R04: MNE's
//! picard decomposition and the filtered data mne-icalabel was given (average reference,
//! 1–40 Hz band-pass, 60 Hz notch; `mne_pipeline.py` stage e), channel positions from MNE's
//! standard_1005 montage.

mod common;

use eegclean::artifacts::iclabel::{IcLabelNet, compute_features, eeglab_weights};
use eegclean::io::npy;
use ndarray::{Array2, ArrayD, Ix2};

fn reference(name: &str) -> ArrayD<f64> {
    npy::read_f64(common::shared_file(&format!("ref/mne-S001R04/{name}"))).expect("reference npy")
}

fn matrix(name: &str) -> Array2<f64> {
    reference(name).into_dimensionality::<Ix2>().expect("2-D")
}

/// The 64 head-frame electrode positions exactly as mne_pipeline.py set them.
fn channel_positions() -> Array2<f64> {
    let dir = common::scratch();
    let out = dir.path().join("pos.npy");
    let edf = common::shared_file("data/eegmmidb/S001/S001R04.edf");
    common::run_python(
        r#"
import sys, numpy as np, mne
raw = mne.io.read_raw_edf(sys.argv[1], preload=False, verbose="error")
mne.datasets.eegbci.standardize(raw)
raw.set_montage("standard_1005")
np.save(sys.argv[2], np.array([ch["loc"][:3] for ch in raw.info["chs"]]))
"#,
        &[edf.to_str().expect("utf8"), out.to_str().expect("utf8")],
    );
    npy::read_f64(&out)
        .expect("positions")
        .into_dimensionality::<Ix2>()
        .expect("2-D")
}

#[test]
fn features_and_probabilities_match_mne_icalabel() {
    let data = matrix("filtered_uV.npy");
    let weights = eeglab_weights(
        matrix("ica_picard_unmixing_matrix_pca.npy").view(),
        matrix("ica_picard_pca_components.npy").view(),
    )
    .expect("weights");
    let positions = channel_positions();
    assert_eq!(positions.dim(), (64, 3));
    let f =
        compute_features(data.view(), weights.view(), positions.view(), 160.0).expect("features");

    let topo = reference("iclabel_feature_topo.npy");
    let psd = reference("iclabel_feature_psd.npy");
    let ac = reference("iclabel_feature_autocorr.npy");
    let n = 20;
    assert_eq!(f.n_components(), n);
    let mut err_topo = 0f64;
    for c in 0..n {
        for r in 0..32 {
            for k in 0..32 {
                err_topo = err_topo.max((f.topo[[c, r, k]] as f64 - topo[[r, k, 0, c]]).abs());
            }
        }
    }
    let mut err_psd = 0f64;
    let mut err_ac = 0f64;
    for c in 0..n {
        for i in 0..100 {
            err_psd = err_psd.max((f.psd[[c, i]] as f64 - psd[[0, i, 0, c]]).abs());
            err_ac = err_ac.max((f.autocorr[[c, i]] as f64 - ac[[0, i, 0, c]]).abs());
        }
    }
    eprintln!("max |Δ| topo {err_topo:.3e}, psd {err_psd:.3e}, autocorr {err_ac:.3e}");
    assert!(err_topo < 1e-3, "topo max |Δ| = {err_topo}");
    assert!(err_psd < 1e-3, "psd max |Δ| = {err_psd}");
    assert!(err_ac < 1e-3, "autocorr max |Δ| = {err_ac}");

    let net = IcLabelNet::load(&common::shared_file("models/ICLabelNet.onnx")).expect("model");
    let probs = net.classify(&f).expect("forward pass");
    let want = matrix("iclabel_probs.npy");
    let err_p = probs
        .iter()
        .zip(want.iter())
        .map(|(a, b)| (*a as f64 - b).abs())
        .fold(0.0, f64::max);
    eprintln!("end-to-end max |Δp| = {err_p:.3e}");
    assert!(err_p < 1e-3, "probabilities max |Δ| = {err_p}");
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let w = Array2::<f64>::eye(3);
    let pos = Array2::<f64>::zeros((3, 3));
    let short = Array2::<f64>::zeros((3, 10));
    assert!(compute_features(short.view(), w.view(), pos.view(), 160.0).is_err());
    let mismatch = Array2::<f64>::zeros((4, 1000));
    assert!(compute_features(mismatch.view(), w.view(), pos.view(), 160.0).is_err());
    let mut nan = Array2::<f64>::zeros((3, 1000));
    nan[[0, 0]] = f64::NAN;
    assert!(compute_features(nan.view(), w.view(), pos.view(), 160.0).is_err());
}
