//! ICLabelNet forward pass against mne-icalabel: the reference features of S001R04 must give
//! the probabilities mne-icalabel saved, and random inputs must give what onnxruntime gives.

mod common;

use eegclean::artifacts::iclabel::{IcLabelError, IcLabelFeatures, IcLabelNet, find_model};
use eegclean::io::npy;
use ndarray::{Array2, Array3, ArrayD, Ix2};

fn model_path() -> std::path::PathBuf {
    common::shared_file("models/ICLabelNet.onnx")
}

fn reference(name: &str) -> ArrayD<f64> {
    npy::read_f64(common::shared_file(&format!("ref/mne-S001R04/{name}"))).expect("reference npy")
}

/// mne-icalabel's (32,32,1,n) and (1,100,1,n) float32 arrays → our [n,…] layout.
fn reference_features() -> IcLabelFeatures {
    let topo = reference("iclabel_feature_topo.npy");
    let psd = reference("iclabel_feature_psd.npy");
    let ac = reference("iclabel_feature_autocorr.npy");
    assert_eq!(topo.shape(), &[32, 32, 1, 20]);
    assert_eq!(psd.shape(), &[1, 100, 1, 20]);
    assert_eq!(ac.shape(), &[1, 100, 1, 20]);
    let n = 20;
    IcLabelFeatures {
        topo: Array3::from_shape_fn((n, 32, 32), |(c, r, k)| topo[[r, k, 0, c]] as f32),
        psd: Array2::from_shape_fn((n, 100), |(c, f)| psd[[0, f, 0, c]] as f32),
        autocorr: Array2::from_shape_fn((n, 100), |(c, f)| ac[[0, f, 0, c]] as f32),
    }
}

fn max_abs_diff(a: &Array2<f32>, b: &Array2<f64>) -> f64 {
    assert_eq!(a.shape(), b.shape());
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (*x as f64 - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn reference_features_give_mne_icalabel_probabilities() {
    let net = IcLabelNet::load(&model_path()).expect("model loads");
    let probs = net.classify(&reference_features()).expect("forward pass");
    // iclabel_probs_direct: run_iclabel on the saved features; iclabel_probs: the full
    // label_components call (features recomputed). Both must match.
    for name in ["iclabel_probs_direct.npy", "iclabel_probs.npy"] {
        let want = reference(name).into_dimensionality::<Ix2>().expect("2-D");
        let err = max_abs_diff(&probs, &want);
        eprintln!("{name}: max |Δp| = {err:.3e}");
        assert!(err < 1e-5, "{name}: max |Δp| = {err}");
    }
    for row in probs.rows() {
        let s: f32 = row.sum();
        assert!((s - 1.0).abs() < 1e-5, "probabilities sum to {s}");
    }
}

/// Deterministic pseudo-random floats in [-1, 1) (SplitMix64).
fn random_f32(n: usize, mut state: u64) -> Vec<f32> {
    (0..n)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            ((z >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

#[test]
fn random_inputs_match_onnxruntime() {
    let batch = 12;
    let topo = random_f32(batch * 1024, 1);
    let psds = random_f32(batch * 100, 2);
    let autocorr = random_f32(batch * 100, 3);
    let dir = common::scratch();
    let save = |name: &str, v: &[f32], shape: &[usize]| {
        let a = ArrayD::from_shape_vec(shape.to_vec(), v.iter().map(|&x| x as f64).collect())
            .expect("shape");
        let mut f = std::fs::File::create(dir.path().join(name)).expect("create");
        npy::write_f64(&mut f, &a).expect("write");
    };
    save("topo.npy", &topo, &[batch, 1, 32, 32]);
    save("psds.npy", &psds, &[batch, 1, 1, 100]);
    save("autocorr.npy", &autocorr, &[batch, 1, 1, 100]);
    let model = model_path();
    let out_path = dir.path().join("labels.npy");
    common::run_python(
        r#"
import sys, numpy as np, onnxruntime as ort
model, d, out = sys.argv[1:4]
so = ort.SessionOptions(); so.intra_op_num_threads = 1
s = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
feed = {k: np.load(f"{d}/{k}.npy").astype(np.float32) for k in ("topo", "psds", "autocorr")}
np.save(out, s.run(None, feed)[0].astype(np.float64))
"#,
        &[
            model.to_str().expect("utf8 path"),
            dir.path().to_str().expect("utf8 path"),
            out_path.to_str().expect("utf8 path"),
        ],
    );
    let want = npy::read_f64(&out_path)
        .expect("onnxruntime output")
        .into_dimensionality::<Ix2>()
        .expect("2-D");
    let net = IcLabelNet::load(&model).expect("model loads");
    let got = net.run(batch, topo, psds, autocorr).expect("forward pass");
    let err = max_abs_diff(&got, &want);
    eprintln!("random inputs vs onnxruntime: max |Δp| = {err:.3e}");
    assert!(err < 1e-5, "max |Δp| = {err}");
}

#[test]
fn truncated_or_foreign_model_is_refused() {
    let bytes = std::fs::read(model_path()).expect("model bytes");
    for cut in [0, 1, 7, 100, 5_000, bytes.len() / 2, bytes.len() - 1] {
        let r = IcLabelNet::from_bytes(&bytes[..cut]);
        assert!(
            matches!(r, Err(IcLabelError::Model { .. })),
            "truncated at {cut} bytes must be refused"
        );
    }
    // A flipped byte in the middle of the graph must not panic (it may or may not decode).
    let mut flipped = bytes.clone();
    flipped[200] ^= 0xff;
    let _ = IcLabelNet::from_bytes(&flipped);
    // Any other file: refused with an error naming it.
    let dir = common::scratch();
    let other = dir.path().join("not_a_model.onnx");
    std::fs::write(&other, b"%PDF-1.4 definitely not protobuf").expect("write");
    let e = IcLabelNet::load(&other).expect_err("a text file is not a model");
    assert!(e.to_string().contains("not_a_model.onnx"), "{e}");
}

#[test]
fn wrong_input_shapes_are_errors() {
    let net = IcLabelNet::load(&model_path()).expect("model loads");
    let r = net.run(4, vec![0.0; 4 * 1024], vec![0.0; 4 * 99], vec![0.0; 400]);
    assert!(matches!(r, Err(IcLabelError::Input(_))));
    let r = net.run(3, vec![0.0; 3 * 1024], vec![0.0; 300], vec![0.0; 300]);
    assert!(matches!(r, Err(IcLabelError::Input(_))));
}

#[test]
fn missing_model_error_says_how_to_get_it() {
    let e = find_model(Some(std::path::Path::new("/nonexistent/ICLabelNet.onnx")))
        .expect_err("missing explicit path");
    let msg = e.to_string();
    assert!(
        msg.contains("pip install mne-icalabel") && msg.contains("/nonexistent/ICLabelNet.onnx"),
        "{msg}"
    );
    let found = find_model(Some(&model_path())).expect("explicit path exists");
    assert_eq!(found, model_path());
}
