//! linfa-ica's FastICA as a second, independent Rust oracle for the separation quality of
//! our ICA methods (besides python-picard / sklearn through MNE in tests/ica.rs).
//!
//! linfa-ica does not expose its unmixing matrix, so both sides are scored the same way
//! from their estimated sources: the gain G from the true sources to the estimates (least
//! squares, G = Ŝ Sᵀ (S Sᵀ)⁻¹, which is W·A for a noiseless mixture) and its Amari distance.
//!
//! The sources are i.i.d. Laplacian (super-Gaussian) and uniform (sub-Gaussian). The
//! sinusoidal sources of `ica_support::synthetic_mixture` are left out here: with them every
//! implementation (ours, python-picard, sklearn and linfa-ica alike) lands in a local
//! optimum for some starts, so one mixture compares the luck of two random starts rather
//! than the algorithms.

mod common;
mod ica_support;

use eegclean::ica::{ComponentCount, FastIcaParams, InfomaxParams, Method, PicardParams, fit};
use eegclean::rng::Rng;
use linfa::prelude::*;
use linfa_ica::fast_ica::{FastIca, GFunc};
use ndarray::{Array2, Axis};

/// 10 Laplacian + 10 uniform unit-variance sources mixed into 64 sensors with 1 % noise.
/// Returns (X, S).
fn mixture(n_samples: usize, seed: u64) -> (Array2<f64>, Array2<f64>) {
    let mut rng = Rng::new(seed);
    let s = Array2::from_shape_fn((20, n_samples), |(k, _)| {
        let u = rng.uniform() - 0.5;
        if k % 2 == 0 {
            -u.signum() * (1.0 - 2.0 * u.abs()).max(1e-300).ln() / 2f64.sqrt()
        } else {
            u * 12f64.sqrt()
        }
    });
    let a = Array2::from_shape_simple_fn((64, 20), || rng.normal());
    let mut x = a.dot(&s);
    let scale = x.std(0.0);
    x.mapv_inplace(|v| v + 0.01 * scale * rng.normal());
    (x, s)
}

/// Solve M Z = B for a square, well-conditioned M (Gauss-Jordan, partial pivoting).
fn solve(m: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
    let n = m.nrows();
    let (mut a, mut z) = (m.clone(), b.clone());
    for col in 0..n {
        let piv = (col..n)
            .max_by(|&i, &j| a[[i, col]].abs().total_cmp(&a[[j, col]].abs()))
            .expect("non-empty");
        for k in 0..n {
            a.swap([col, k], [piv, k]);
        }
        for k in 0..z.ncols() {
            z.swap([col, k], [piv, k]);
        }
        for r in (0..n).filter(|&r| r != col) {
            let f = a[[r, col]] / a[[col, col]];
            for k in 0..n {
                a[[r, k]] -= f * a[[col, k]];
            }
            for k in 0..z.ncols() {
                z[[r, k]] -= f * z[[col, k]];
            }
        }
    }
    for r in 0..n {
        let d = a[[r, r]];
        z.row_mut(r).mapv_inplace(|v| v / d);
    }
    z
}

/// Amari distance of the least-squares gain from true sources `s` to estimates `est`.
fn amari_of_estimates(est: &Array2<f64>, s: &Array2<f64>) -> f64 {
    let centre = |m: &Array2<f64>| m - &m.mean_axis(Axis(1)).expect("samples").insert_axis(Axis(1));
    let (est, s) = (centre(est), centre(s));
    // G = Ŝ Sᵀ (S Sᵀ)⁻¹  ⇔  (S Sᵀ) Gᵀ = S Ŝᵀ.
    let g = solve(&s.dot(&s.t()), &s.dot(&est.t())).reversed_axes();
    let eye = Array2::<f64>::eye(g.ncols());
    ica_support::amari_distance(g.view(), eye.view())
}

/// linfa-ica's FastICA (logcosh, as sklearn's default) sources for `x` (channels × samples).
fn linfa_sources(x: &Array2<f64>, k: usize, seed: usize) -> Array2<f64> {
    // linfa takes records as rows (samples × features), in ndarray 0.16.
    let t = x.t().as_standard_layout().to_owned();
    let records =
        ndarray016::Array2::from_shape_vec(t.dim(), t.into_raw_vec_and_offset().0).expect("shape");
    let model = FastIca::params()
        .ncomponents(k)
        .gfunc(GFunc::Logcosh(1.0))
        .random_state(seed)
        .fit(&DatasetBase::from(records.clone()))
        .expect("linfa FastICA fits");
    let est: ndarray016::Array2<f64> = model.predict(&records);
    let dim = est.dim();
    Array2::from_shape_vec(dim, est.into_raw_vec_and_offset().0)
        .expect("shape")
        .reversed_axes()
}

#[test]
fn separation_no_worse_than_linfa_fastica() {
    let n_samples = 20_000;
    for seed in [3u64, 8] {
        let (x, s) = mixture(n_samples, seed);
        let theirs = amari_of_estimates(&linfa_sources(&x, 20, 97), &s);
        // The oracle separates these mixtures, so "no worse" means something.
        assert!(
            theirs < 0.05,
            "linfa-ica did not separate mixture {seed}: {theirs}"
        );
        for (name, method) in [
            ("picard", Method::Picard(PicardParams::default())),
            ("fastica", Method::FastIca(FastIcaParams::default())),
            ("infomax", Method::Infomax(InfomaxParams::default())),
        ] {
            let d = fit(x.view(), ComponentCount::Count(20), &method, 97).expect("fit");
            let ours = amari_of_estimates(&d.unmixing_channel_space().dot(&x), &s);
            eprintln!(
                "mixture {seed}, {n_samples} samples: {name} Amari {ours:.4} ({} it) vs \
                 linfa-ica FastICA {theirs:.4}",
                d.n_iter
            );
            assert!(
                ours <= (theirs + 5e-4).max(theirs * 1.3),
                "mixture {seed}: {name} Amari distance {ours} worse than linfa-ica's {theirs}"
            );
        }
    }
}
