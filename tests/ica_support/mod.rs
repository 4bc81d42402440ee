//! Synthetic ICA mixtures with known mixing matrices, the Amari distance, and the
//! comparison with MNE's fits of the same data; shared by tests/ica.rs and
//! tests/ica_long.rs.
#![allow(dead_code)]

use std::fs::File;

use eegclean::ica::{ComponentCount, Method, fit};
use eegclean::io::npy;
use eegclean::rng::Rng;
use ndarray::{Array2, ArrayView2};

use crate::common;

pub fn write_npy(path: &std::path::Path, a: &Array2<f64>) {
    let mut f = File::create(path).unwrap();
    npy::write_f64(&mut f, &a.clone().into_dyn()).unwrap();
}

/// python-picard's `amari_distance(W, A)`: 0 for a perfect separation up to scale and
/// permutation.
pub fn amari_distance(w: ArrayView2<f64>, a: ArrayView2<f64>) -> f64 {
    let p = w.dot(&a).mapv(f64::abs);
    let s = |r: &Array2<f64>| -> f64 {
        r.outer_iter()
            .map(|row| {
                let sq = row.mapv(|v| v * v);
                sq.sum() / sq.iter().cloned().fold(0.0, f64::max) - 1.0
            })
            .sum()
    };
    (s(&p) + s(&p.t().to_owned())) / (2.0 * p.nrows() as f64)
}

/// 20 sources (10 Laplacian super-Gaussian, 10 uniform/sinusoidal sub-Gaussian) mixed into
/// 64 sensors by a random matrix, plus 1 % white sensor noise. Returns (X, A).
pub fn synthetic_mixture(n_samples: usize, seed: u64) -> (Array2<f64>, Array2<f64>) {
    let (n_src, n_sens) = (20, 64);
    let mut rng = Rng::new(seed);
    let mut s = Array2::<f64>::zeros((n_src, n_samples));
    for (k, mut row) in s.outer_iter_mut().enumerate() {
        let freq = 0.013 * (k as f64 + 1.0);
        for (t, v) in row.iter_mut().enumerate() {
            *v = match k % 4 {
                0 | 1 => {
                    let u = rng.uniform() - 0.5;
                    -u.signum() * (1.0 - 2.0 * u.abs()).max(1e-300).ln()
                }
                2 => rng.uniform() * 2.0 - 1.0,
                _ => (freq * t as f64 + k as f64).sin(),
            };
        }
        let m = row.mean().unwrap();
        row -= m;
        let sd = row.std(0.0);
        row /= sd;
    }
    let a = Array2::from_shape_simple_fn((n_sens, n_src), || rng.normal());
    let mut x = a.dot(&s);
    let scale = x.std(0.0);
    x.mapv_inplace(|v| v + 0.01 * scale * rng.normal());
    x *= 1e-5; // EEG-like magnitude; ICA is scale-free
    (x, a)
}

const ORACLE_SYNTH: &str = r#"
import sys, json, numpy as np, mne
from picard import amari_distance
X = np.load(sys.argv[1]); A = np.load(sys.argv[2])
info = mne.create_info([f"E{i}" for i in range(X.shape[0])], 160.0, "eeg")
raw = mne.io.RawArray(X, info, verbose="error")
out = {}
fit_params = {"picard": dict(ortho=False, extended=True), "fastica": None,
              "infomax": dict(extended=True)}
for m in sys.argv[3].split(","):
    fp = fit_params[m]
    ica = mne.preprocessing.ICA(n_components=20, method=m, fit_params=fp, random_state=97,
                                max_iter="auto", verbose="error")
    ica.fit(raw, verbose="error")
    W = ica.unmixing_matrix_ @ ica.pca_components_[:20] / ica.pre_whitener_.T
    out[m] = dict(amari=float(amari_distance(W, A)), n_iter=int(ica.n_iter_))
print(json.dumps(out))
"#;

/// Amari distance of our fits to the true mixing matrix, against MNE's fits (python-picard,
/// sklearn's FastICA, MNE's Infomax) of the same data.
pub fn compare_amari_with_mne(n_samples: usize, seed: u64, methods: &[(&str, Method)]) {
    let (x, a) = synthetic_mixture(n_samples, seed);
    let dir = common::scratch();
    let (xp, ap) = (dir.path().join("x.npy"), dir.path().join("a.npy"));
    write_npy(&xp, &x);
    write_npy(&ap, &a);
    let names: Vec<&str> = methods.iter().map(|(n, _)| *n).collect();
    let (xs, as_, list) = (xp.to_str().unwrap(), ap.to_str().unwrap(), names.join(","));
    // MNE fits in another process while we fit here: the test takes the longer of the
    // two, not their sum.
    std::thread::scope(|scope| {
        let oracle = scope.spawn(|| common::run_python(ORACLE_SYNTH, &[xs, as_, &list]));
        let ours: Vec<_> = methods
            .iter()
            .map(|(_, method)| fit(x.view(), ComponentCount::Count(20), method, 97).unwrap())
            .collect();
        let oracle: serde_json::Value =
            serde_json::from_str(&oracle.join().expect("oracle thread")).unwrap();
        check_against_oracle(n_samples, methods, &ours, &oracle, &a);
    });
}

fn check_against_oracle(
    n_samples: usize,
    methods: &[(&str, Method)],
    ours: &[eegclean::ica::Decomposition],
    oracle: &serde_json::Value,
    a: &Array2<f64>,
) {
    for ((name, _), d) in methods.iter().zip(ours) {
        let ours = amari_distance(d.unmixing_channel_space().view(), a.view());
        let theirs = oracle[name]["amari"].as_f64().unwrap();
        eprintln!(
            "{n_samples} samples, {name}: amari ours {ours:.4} ({} it, converged {}) vs \
             reference {theirs:.4} ({} it)",
            d.n_iter, d.converged, oracle[name]["n_iter"]
        );
        assert!(
            ours <= (theirs + 0.02).max(theirs * 1.2),
            "{name}: Amari distance {ours} worse than the reference {theirs}"
        );
        if *name != "infomax" {
            assert!(d.converged, "{name} did not converge on an easy mixture");
        }
    }
}
