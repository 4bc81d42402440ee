//! ICLabel on S001R04 (64 channels, 125 s at 160 Hz, 20 picard components): feature
//! extraction and the network forward pass. mne-icalabel takes 0.80 s for both
//! (reference README, 1 BLAS thread). Needs ../shared (or EEGCLEAN_SHARED) and a Python with
//! MNE (EEGCLEAN_PYTHON) once, to get the standard_1005 electrode positions.

use std::path::PathBuf;
use std::process::Command;

use criterion::{Criterion, criterion_group, criterion_main};
use eegclean::artifacts::iclabel::{IcLabelNet, compute_features, eeglab_weights};
use eegclean::io::npy;
use ndarray::{Array2, Ix2};

fn shared() -> PathBuf {
    std::env::var_os("EEGCLEAN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

fn matrix(path: PathBuf) -> Array2<f64> {
    npy::read_f64(&path)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_dimensionality::<Ix2>()
        .expect("2-D array")
}

fn positions(edf: &PathBuf) -> Array2<f64> {
    let out = std::env::temp_dir().join(format!(
        "eegclean-iclabel-bench-pos-{}.npy",
        std::process::id()
    ));
    let python = std::env::var_os("EEGCLEAN_PYTHON").unwrap_or_else(|| "python3".into());
    let status = Command::new(python)
        .args([
            "-c",
            "import sys, numpy as np, mne\nraw = mne.io.read_raw_edf(sys.argv[1], verbose='error')\nmne.datasets.eegbci.standardize(raw)\nraw.set_montage('standard_1005')\nnp.save(sys.argv[2], np.array([c['loc'][:3] for c in raw.info['chs']]))",
        ])
        .arg(edf)
        .arg(&out)
        .status()
        .expect("python runs");
    assert!(
        status.success(),
        "python with MNE is needed for the electrode positions"
    );
    let p = matrix(out.clone());
    let _ = std::fs::remove_file(out);
    p
}

fn bench(c: &mut Criterion) {
    let root = shared();
    let refdir = root.join("ref/mne-S001R04");
    let data = matrix(refdir.join("filtered_uV.npy"));
    let weights = eeglab_weights(
        matrix(refdir.join("ica_picard_unmixing_matrix_pca.npy")).view(),
        matrix(refdir.join("ica_picard_pca_components.npy")).view(),
    )
    .expect("weights");
    let pos = positions(&root.join("data/eegmmidb/S001/S001R04.edf"));
    let model = root.join("models/ICLabelNet.onnx");
    let net = IcLabelNet::load(&model).expect("model");
    let mut g = c.benchmark_group("iclabel_S001R04_20ic");
    g.sample_size(10);
    g.bench_function("features", |b| {
        b.iter(|| {
            compute_features(data.view(), weights.view(), pos.view(), 160.0).expect("features")
        })
    });
    let f = compute_features(data.view(), weights.view(), pos.view(), 160.0).expect("features");
    g.bench_function("network", |b| b.iter(|| net.classify(&f).expect("forward")));
    g.bench_function("load_model", |b| {
        b.iter(|| IcLabelNet::load(&model).expect("model"))
    });
    g.bench_function("features+network (model loaded)", |b| {
        b.iter(|| {
            let f =
                compute_features(data.view(), weights.view(), pos.view(), 160.0).expect("features");
            net.classify(&f).expect("forward")
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
