//! Covariance estimators, Riemannian mean and tangent space against pyriemann 0.12 (and
//! scikit-learn underneath it): the S001R04 reference run, random epochs and random SPD
//! matrices generated and processed by the oracle, and singular input.

mod common;

use eegclean::features::covariance::{
    CovarianceError, Estimator, augment, augmented_covariances, covariances, time_delay,
};
use eegclean::features::riemann::{MeanOptions, RiemannError, mean_riemann};
use eegclean::features::spd::SpdError;
use eegclean::features::tangent_space::TangentSpace;
use eegclean::io::npy::read_f64;
use ndarray::{Array, Array3, Dimension, Ix2, Ix3};

fn load<D: Dimension>(path: impl AsRef<std::path::Path>) -> Array<f64, D> {
    read_f64(path).unwrap().into_dimensionality::<D>().unwrap()
}

/// max |a − b| / max |b|.
fn rel_err<D: Dimension>(a: &Array<f64, D>, b: &Array<f64, D>) -> f64 {
    assert_eq!(a.shape(), b.shape());
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let err = a
        .iter()
        .zip(b.iter())
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    err / scale
}

#[test]
fn s001r04_oas_covariances_and_tangent_space_match_reference() {
    let dir = "ref/mne-S001R04";
    let epochs: Array3<f64> = load(common::shared_file(&format!("{dir}/epochs_uV.npy")));
    let want_cov: Array3<f64> = load(common::shared_file(&format!("{dir}/covariances_oas.npy")));
    let want_ref = load::<Ix2>(common::shared_file(&format!("{dir}/tangent_reference.npy")));
    let want_ts = load::<Ix2>(common::shared_file(&format!("{dir}/tangent_vectors.npy")));

    let cov = covariances(epochs.view(), Estimator::Oas).unwrap();
    let e = rel_err(&cov, &want_cov);
    assert!(e <= 1e-8, "OAS covariances: relative error {e:e}");
    // Per-matrix too: small matrices must not hide behind large ones.
    for (i, (a, b)) in cov.outer_iter().zip(want_cov.outer_iter()).enumerate() {
        let e = rel_err(&a.to_owned(), &b.to_owned());
        assert!(e <= 1e-8, "OAS covariance {i}: relative error {e:e}");
    }
    let (ts, vectors) = TangentSpace::fit_transform(cov.view()).unwrap();
    let e_ref = rel_err(&ts.reference().to_owned(), &want_ref);
    let e_ts = rel_err(&vectors, &want_ts);
    println!("S001R04: covariance {e:e}, reference {e_ref:e}, tangent vectors {e_ts:e}");
    assert!(e_ref <= 1e-8, "tangent reference: relative error {e_ref:e}");
    assert!(e_ts <= 1e-8, "tangent vectors: relative error {e_ts:e}");
    // The stored reference maps the same data to the same vectors.
    let again = TangentSpace::from_reference(ts.reference().to_owned())
        .unwrap()
        .transform(cov.view())
        .unwrap();
    assert!(rel_err(&again, &vectors) <= 1e-12);
}

const RANDOM_ORACLE: &str = r#"
import sys, os, warnings, numpy as np
warnings.simplefilter("ignore")
from pyriemann.estimation import Covariances, TimeDelayCovariances
from pyriemann.tangentspace import TangentSpace
from pyriemann.utils.mean import mean_riemann
out = sys.argv[1]
rng = np.random.default_rng(2024)
# Correlated, non-zero-mean epochs of different scales: 12 epochs, 8 channels, 200 samples.
mix = rng.standard_normal((8, 8))
X = np.einsum("ij,ejt->eit", mix, rng.standard_normal((12, 8, 200)))
X = X * rng.uniform(0.5, 20, (12, 1, 1)) + rng.standard_normal((12, 8, 1))
X_new = np.einsum("ij,ejt->eit", mix, rng.standard_normal((5, 8, 200))) * 3
np.save(os.path.join(out, "X.npy"), X)
np.save(os.path.join(out, "X_new.npy"), X_new)
for est in ["scm", "lwf", "oas"]:
    np.save(os.path.join(out, f"cov_{est}.npy"), Covariances(estimator=est).fit_transform(X))
np.save(os.path.join(out, "cov_td.npy"),
        TimeDelayCovariances(delays=3, estimator="scm").fit_transform(X))
np.save(os.path.join(out, "cov_td_list.npy"),
        TimeDelayCovariances(delays=[2, 5], estimator="oas").fit_transform(X))
# Augmented covariance, written from Carrara & Papadopoulo's formula (MOABB AugmentedDataset).
def augment(x, order, lag):
    n = x.shape[-1]
    return np.concatenate([x[:, p * lag: n - (order - p) * lag] for p in range(order)], axis=0)
A = np.array([augment(x, 4, 3) for x in X])
np.save(os.path.join(out, "aug.npy"), A)
np.save(os.path.join(out, "cov_aug_lwf.npy"), Covariances(estimator="lwf").fit_transform(A))
C = Covariances(estimator="oas").fit_transform(X)
ts = TangentSpace(metric="riemann")
np.save(os.path.join(out, "ts.npy"), ts.fit_transform(C))
np.save(os.path.join(out, "ts_ref.npy"), ts.reference_)
np.save(os.path.join(out, "ts_new.npy"),
        ts.transform(Covariances(estimator="oas").fit_transform(X_new)))
# Random SPD matrices with condition numbers up to 1e6, and their Riemannian mean.
n, c = 20, 6
Q = np.linalg.qr(rng.standard_normal((n, c, c)))[0]
ev = 10 ** rng.uniform(-3, 3, (n, c))
S = Q @ (ev[..., None] * np.swapaxes(Q, -1, -2))
S = (S + np.swapaxes(S, -1, -2)) / 2
np.save(os.path.join(out, "spd.npy"), S)
np.save(os.path.join(out, "spd_mean.npy"), mean_riemann(S))
np.save(os.path.join(out, "spd_ts.npy"), TangentSpace(metric="riemann").fit_transform(S))
"#;

#[test]
fn random_epochs_and_spd_matrices_match_pyriemann() {
    let dir = common::scratch();
    let d = dir.path();
    common::run_python(RANDOM_ORACLE, &[d.to_str().unwrap()]);
    let x: Array3<f64> = load(d.join("X.npy"));

    for (est, name) in [
        (Estimator::Scm, "scm"),
        (Estimator::LedoitWolf, "lwf"),
        (Estimator::Oas, "oas"),
    ] {
        let got = covariances(x.view(), est).unwrap();
        let want: Array3<f64> = load(d.join(format!("cov_{name}.npy")));
        for (i, (a, b)) in got.outer_iter().zip(want.outer_iter()).enumerate() {
            let e = rel_err(&a.to_owned(), &b.to_owned());
            assert!(e <= 1e-10, "{name} epoch {i}: relative error {e:e}");
        }
    }

    // pyriemann TimeDelayCovariances: delays=3 means rolls by 1 and 2.
    let want: Array3<f64> = load(d.join("cov_td.npy"));
    for (i, epoch) in x.outer_iter().enumerate() {
        let td = time_delay(epoch, &[1, 2]);
        let c = eegclean::features::covariance::covariance(td.view(), Estimator::Scm).unwrap();
        let e = rel_err(&c, &want.index_axis(ndarray::Axis(0), i).to_owned());
        assert!(e <= 1e-10, "time-delay epoch {i}: {e:e}");
    }
    let want: Array3<f64> = load(d.join("cov_td_list.npy"));
    for (i, epoch) in x.outer_iter().enumerate() {
        let td = time_delay(epoch, &[2, 5]);
        let c = eegclean::features::covariance::covariance(td.view(), Estimator::Oas).unwrap();
        let e = rel_err(&c, &want.index_axis(ndarray::Axis(0), i).to_owned());
        assert!(e <= 1e-10, "time-delay list epoch {i}: {e:e}");
    }

    // Augmented signal: exact copy of the reference layout; then its LW covariance.
    let want_aug: Array3<f64> = load(d.join("aug.npy"));
    for (i, epoch) in x.outer_iter().enumerate() {
        let a = augment(epoch, 4, 3).unwrap();
        assert!(
            a == want_aug.index_axis(ndarray::Axis(0), i),
            "augment epoch {i}"
        );
    }
    let got = augmented_covariances(x.view(), 4, 3, Estimator::LedoitWolf).unwrap();
    let e = rel_err(&got, &load::<Ix3>(d.join("cov_aug_lwf.npy")));
    assert!(e <= 1e-10, "augmented lwf: {e:e}");

    // Tangent space on OAS covariances, and mapping new data with the fitted reference.
    let cov = covariances(x.view(), Estimator::Oas).unwrap();
    let (ts, vectors) = TangentSpace::fit_transform(cov.view()).unwrap();
    let e_ref = rel_err(
        &ts.reference().to_owned(),
        &load::<Ix2>(d.join("ts_ref.npy")),
    );
    let e_ts = rel_err(&vectors, &load::<Ix2>(d.join("ts.npy")));
    assert!(
        e_ref <= 1e-8 && e_ts <= 1e-8,
        "reference {e_ref:e}, vectors {e_ts:e}"
    );
    let x_new: Array3<f64> = load(d.join("X_new.npy"));
    let new_vectors = ts
        .transform(covariances(x_new.view(), Estimator::Oas).unwrap().view())
        .unwrap();
    let e_new = rel_err(&new_vectors, &load::<Ix2>(d.join("ts_new.npy")));
    assert!(e_new <= 1e-8, "new data with stored reference: {e_new:e}");

    // Badly conditioned random SPD matrices.
    let spd: Array3<f64> = load(d.join("spd.npy"));
    let mean = mean_riemann(spd.view(), MeanOptions::default()).unwrap();
    let e_mean = rel_err(&mean.mean, &load::<Ix2>(d.join("spd_mean.npy")));
    assert!(e_mean <= 1e-8, "mean_riemann of random SPD: {e_mean:e}");
    let (_, v) = TangentSpace::fit_transform(spd.view()).unwrap();
    let e_v = rel_err(&v, &load::<Ix2>(d.join("spd_ts.npy")));
    assert!(e_v <= 1e-8, "tangent space of random SPD: {e_v:e}");
    println!(
        "random: reference {e_ref:e}, vectors {e_ts:e}, new {e_new:e}, spd mean {e_mean:e} ({} it), spd ts {e_v:e}",
        mean.iterations
    );
}

#[test]
fn singular_input_is_a_typed_error_never_nan() {
    // 8 channels, 5 samples: the sample covariance has rank ≤ 4.
    let short = Array3::from_shape_fn((3, 8, 5), |(e, c, t)| {
        ((e * 31 + c * 7 + t * 3) % 11) as f64
    });
    match covariances(short.view(), Estimator::Scm) {
        Err(CovarianceError::FewerSamplesThanChannels {
            epoch: 0,
            n_times: 5,
            n_channels: 8,
        }) => {}
        other => panic!("expected FewerSamplesThanChannels for epoch 0, got {other:?}"),
    }

    // A rank-deficient covariance (duplicated channel) in position 2 of an otherwise good set.
    let mut x = Array3::from_shape_fn((4, 3, 50), |(e, c, t)| {
        ((e as f64 + 1.0) * (t as f64 * (0.3 + c as f64)).sin()) + 0.1 * c as f64 * (t as f64).cos()
    });
    let dup = x.slice(ndarray::s![2, 0, ..]).to_owned();
    x.slice_mut(ndarray::s![2, 1, ..]).assign(&dup);
    let cov = covariances(x.view(), Estimator::Scm).unwrap();
    match TangentSpace::fit(cov.view()) {
        Err(RiemannError::Matrix {
            index: 2,
            source: SpdError::NotPositiveDefinite { .. },
        }) => {}
        other => panic!("expected a non-SPD error naming matrix 2, got {other:?}"),
    }
    // Fit on the good matrices, then map the singular one: an error, not a NaN row.
    let good = ndarray::stack(
        ndarray::Axis(0),
        &[
            cov.index_axis(ndarray::Axis(0), 0),
            cov.index_axis(ndarray::Axis(0), 1),
        ],
    )
    .unwrap();
    let ts = TangentSpace::fit(good.view()).unwrap();
    assert!(matches!(
        ts.transform(cov.view()),
        Err(RiemannError::Matrix { index: 2, .. })
    ));
    // Shrinkage makes the same data usable, and every value is finite.
    let oas = covariances(x.view(), Estimator::Oas).unwrap();
    let (_, v) = TangentSpace::fit_transform(oas.view()).unwrap();
    assert!(v.iter().all(|x| x.is_finite()));
    // NaN or ±infinity anywhere in an epoch, or values whose squares overflow, are refused
    // for every estimator, never passed on.
    for value in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e200] {
        for (channel, time) in [(0, 7), (x.shape()[1] - 1, x.shape()[2] - 1)] {
            let mut bad = x.clone();
            bad[[3, channel, time]] = value;
            for estimator in [Estimator::Oas, Estimator::LedoitWolf, Estimator::Scm] {
                let got = covariances(bad.view(), estimator);
                assert!(
                    matches!(got, Err(CovarianceError::NotFinite { epoch: 3 })),
                    "{value} at ({channel}, {time}), {estimator:?}: {got:?}"
                );
            }
        }
    }
}

/// pyriemann's `mean_riemann` run to rounding level (`tol=1e-15`, up to 1000 gradient steps)
/// and its `tangent_space` at that mean: our Newton solution must be the same fixed point to
/// far better than pyriemann's default tolerance, on the reference run's covariances and on
/// widely dispersed random SPD matrices (condition numbers up to 1e8, where Newton's first
/// steps are far from the mean and the last round's logarithms are partly recomputed).
/// Independently of pyriemann, `‖J‖_F` at our mean, from exact logarithms, must be tiny.
const TIGHT_ORACLE: &str = r#"
import sys, os, warnings, numpy as np
warnings.simplefilter("ignore")
from pyriemann.geometry.mean import mean_riemann
from pyriemann.utils.tangentspace import tangent_space
cov_path, out = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(7)
n, c = 30, 8
Q = np.linalg.qr(rng.standard_normal((n, c, c)))[0]
ev = 10 ** rng.uniform(-4, 4, (n, c))
S = Q @ (ev[..., None] * np.swapaxes(Q, -1, -2))
S = (S + np.swapaxes(S, -1, -2)) / 2
for name, C in [("s001r04", np.load(cov_path)), ("wide", S)]:
    M = mean_riemann(C, tol=1e-15, maxiter=1000)
    np.save(os.path.join(out, f"{name}_input.npy"), C)
    np.save(os.path.join(out, f"{name}_mean.npy"), M)
    np.save(os.path.join(out, f"{name}_ts.npy"), tangent_space(C, M, metric="riemann"))
"#;

#[test]
fn newton_mean_is_pyriemanns_fixed_point_to_rounding() {
    let dir = common::scratch();
    let d = dir.path();
    let cov_path = common::shared_file("ref/mne-S001R04/covariances_oas.npy");
    common::run_python(
        TIGHT_ORACLE,
        &[cov_path.to_str().unwrap(), d.to_str().unwrap()],
    );
    for name in ["s001r04", "wide"] {
        let input: Array3<f64> = load(d.join(format!("{name}_input.npy")));
        let want_mean = load::<Ix2>(d.join(format!("{name}_mean.npy")));
        let want_ts = load::<Ix2>(d.join(format!("{name}_ts.npy")));
        let mean = mean_riemann(input.view(), MeanOptions::default()).unwrap();
        assert!(mean.converged, "{name}: not converged");
        let e_mean = rel_err(&mean.mean, &want_mean);
        let (ts, vectors) = TangentSpace::fit_transform(input.view()).unwrap();
        let e_ref = rel_err(&ts.reference().to_owned(), &want_mean);
        let e_ts = rel_err(&vectors, &want_ts);
        // The exact logarithms at our reference, against the first-order update of the
        // last Newton round that fit_transform returns.
        let exact = ts.transform(input.view()).unwrap();
        let e_update = rel_err(&vectors, &exact);
        // `upper` keeps the Frobenius norm, so the mean exact tangent vector has norm ‖J‖_F.
        let gradient = exact
            .mean_axis(ndarray::Axis(0))
            .unwrap()
            .iter()
            .map(|v| v * v)
            .sum::<f64>()
            .sqrt();
        println!(
            "{name}: {} rounds, ‖J‖ {gradient:e}, mean {e_mean:e}, reference {e_ref:e}, \
             vectors {e_ts:e}, first-order update vs exact logs {e_update:e}",
            mean.iterations
        );
        // Logarithms of whitened matrices with eigenvalues spread over 1e8 carry rounding
        // errors of about ε·1e8 ≈ 1e-8 in their smallest components, which sets the floor
        // for `wide`; the EEG covariances are far better conditioned.
        let floor = if name == "wide" { 1e-9 } else { 1e-11 };
        assert!(gradient <= floor, "{name}: ‖J‖_F at our mean {gradient:e}");
        assert!(e_mean <= floor, "{name}: mean {e_mean:e}");
        assert!(e_ref <= floor, "{name}: reference {e_ref:e}");
        assert!(e_ts <= 1e-9, "{name}: tangent vectors {e_ts:e}");
        assert!(e_update <= floor, "{name}: update vs exact {e_update:e}");
    }
}

/// Same input ⇒ bit-identical output whatever the number of threads: the per-matrix work
/// runs in parallel, every sum over matrices is taken in index order.
#[test]
fn results_are_bit_identical_for_any_thread_count() {
    let epochs: Array3<f64> = load(common::shared_file("ref/mne-S001R04/epochs_uV.npy"));
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let cov = covariances(epochs.view(), Estimator::Oas).unwrap();
            let mean = mean_riemann(cov.view(), MeanOptions::default()).unwrap();
            let (ts, vectors) = TangentSpace::fit_transform(cov.view()).unwrap();
            let exact = ts.transform(cov.view()).unwrap();
            // Every result as bits, in a fixed order: covariances, mean, reference, vectors
            // from fit_transform, vectors from transform.
            [
                cov.iter().copied().collect::<Vec<f64>>(),
                mean.mean.iter().copied().collect(),
                ts.reference().iter().copied().collect(),
                vectors.iter().copied().collect(),
                exact.iter().copied().collect(),
            ]
            .map(|v| v.iter().map(|x| x.to_bits()).collect::<Vec<u64>>())
        })
    };
    let one = run(1);
    for threads in [2, 3] {
        let other = run(threads);
        for (what, (a, b)) in [
            "covariances",
            "mean",
            "reference",
            "fit_transform",
            "transform",
        ]
        .iter()
        .zip(one.iter().zip(&other))
        {
            assert_eq!(a, b, "{what} differ between 1 and {threads} threads");
        }
    }
}

#[test]
fn mean_of_one_matrix_is_itself_and_empty_sizes_do_not_panic() {
    let a = ndarray::array![[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]];
    let one = a.clone().insert_axis(ndarray::Axis(0));
    let mean = mean_riemann(one.view(), MeanOptions::default()).unwrap();
    assert!(mean.converged);
    assert!(rel_err(&mean.mean, &a) <= 1e-14, "{:?}", mean.mean);
    let (_, v) = TangentSpace::fit_transform(one.view()).unwrap();
    assert!(
        v.iter().all(|x| x.abs() <= 1e-14),
        "log of the identity: {v:?}"
    );
    let empty = Array3::<f64>::zeros((2, 0, 0));
    let (ts, v) = TangentSpace::fit_transform(empty.view()).unwrap();
    assert_eq!((ts.n_features(), v.dim()), (0, (2, 0)));
    assert!(matches!(
        mean_riemann(
            Array3::<f64>::zeros((0, 3, 3)).view(),
            MeanOptions::default()
        ),
        Err(RiemannError::Empty)
    ));
}

/// Hard spectra for the eigensolver, built and decomposed by numpy (LAPACK `syevd`):
/// `Q diag(λ) Qᵀ` with random orthogonal `Q`, for sizes 17 and 64.
const EIGH_ORACLE: &str = r#"
import os, sys
import numpy as np
out = sys.argv[1]
rng = np.random.default_rng(11)
spectra = {
    "condition_1e8": lambda n: 10 ** np.linspace(-4, 4, n),
    "repeated": lambda n: np.repeat([1.0, 2.0, 3.0], [n // 3, n // 3, n - 2 * (n // 3)]),
    "clustered": lambda n: np.concatenate([1 + 1e-12 * np.arange(n // 2),
                                           5 + 1e-9 * np.arange(n - n // 2)]),
    "near_identity": lambda n: 1 + 1e-2 * rng.standard_normal(n),
    "gap_and_tiny": lambda n: np.concatenate([[1e-8], 1 + 0.1 * rng.random(n - 1)]),
}
names = []
for n in (17, 64):
    for name, spectrum in spectra.items():
        q = np.linalg.qr(rng.standard_normal((n, n)))[0]
        a = (q * spectrum(n)) @ q.T
        a = (a + a.T) / 2
        w, v = np.linalg.eigh(a)
        tag = f"{name}_{n}"
        np.save(os.path.join(out, f"{tag}_a.npy"), a)
        np.save(os.path.join(out, f"{tag}_w.npy"), w)
        np.save(os.path.join(out, f"{tag}_v.npy"), v)
        names.append(tag)
print(" ".join(names))
"#;

/// Eigenvalues of a symmetric matrix by cyclic Jacobi rotations (Rutishauser's formulas),
/// swept until the off-diagonal part is below rounding: slow and obviously correct.
fn jacobi_eigenvalues(a: &ndarray::Array2<f64>) -> Vec<f64> {
    let n = a.nrows();
    let mut a = a.clone();
    for _ in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[[i, j]] * a[[i, j]])
            .sum();
        let total: f64 = a.iter().map(|x| x * x).sum();
        if off <= 1e-32 * total {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[[p, q]] == 0.0 {
                    continue;
                }
                let theta = (a[[q, q]] - a[[p, p]]) / (2.0 * a[[p, q]]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                // The pair's diagonal entries by the exact update (Numerical Recipes
                // `jacobi`), the off-diagonal one set to zero, the other rows rotated.
                let apq = a[[p, q]];
                a[[p, p]] -= t * apq;
                a[[q, q]] += t * apq;
                a[[p, q]] = 0.0;
                a[[q, p]] = 0.0;
                for k in (0..n).filter(|&k| k != p && k != q) {
                    let (akp, akq) = (a[[k, p]], a[[k, q]]);
                    let new_p = c * akp - s * akq;
                    let new_q = s * akp + c * akq;
                    a[[k, p]] = new_p;
                    a[[p, k]] = new_p;
                    a[[k, q]] = new_q;
                    a[[q, k]] = new_q;
                }
            }
        }
    }
    let mut w: Vec<f64> = (0..n).map(|i| a[[i, i]]).collect();
    w.sort_by(f64::total_cmp);
    w
}

#[test]
fn eigh_matches_numpy_and_jacobi_on_clustered_repeated_and_ill_conditioned_spectra() {
    let dir = common::scratch();
    let d = dir.path();
    let names = common::run_python(EIGH_ORACLE, &[d.to_str().unwrap()]);
    let names: Vec<&str> = names.split_whitespace().collect();
    assert_eq!(names.len(), 10, "{names:?}");
    let mut eig = eegclean::features::spd::SymmetricEigen::new(1);
    for name in names {
        let a: ndarray::Array2<f64> = load(d.join(format!("{name}_a.npy")));
        let want_w: ndarray::Array1<f64> = load(d.join(format!("{name}_w.npy")));
        let want_v: ndarray::Array2<f64> = load(d.join(format!("{name}_v.npy")));
        let n = a.nrows();
        eig.decompose(a.view()).unwrap();
        let w = eig.values().to_vec();
        let v = eig.vectors().to_owned();
        let norm = want_w.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        // Backward stability: every eigenvalue within a small multiple of ε‖A‖ of LAPACK's
        // and of Jacobi's.
        let tol = 64.0 * f64::EPSILON * norm;
        let jacobi = jacobi_eigenvalues(&a);
        for k in 0..n {
            assert!(
                (w[k] - want_w[k]).abs() <= tol,
                "{name}: λ{k} {} vs numpy {}",
                w[k],
                want_w[k]
            );
            assert!(
                (w[k] - jacobi[k]).abs() <= tol,
                "{name}: λ{k} {} vs Jacobi {}",
                w[k],
                jacobi[k]
            );
        }
        // Orthonormal vectors reconstructing A.
        let vtv = v.t().dot(&v);
        let back = v
            .dot(&ndarray::Array2::from_diag(&ndarray::Array1::from(
                w.clone(),
            )))
            .dot(&v.t());
        for i in 0..n {
            for j in 0..n {
                let eye = if i == j { 1.0 } else { 0.0 };
                assert!((vtv[[i, j]] - eye).abs() <= 1e-13, "{name}: VᵀV[{i},{j}]");
                assert!(
                    (back[[i, j]] - a[[i, j]]).abs() <= tol,
                    "{name}: VΛVᵀ[{i},{j}]"
                );
            }
        }
        // Invariant subspaces equal numpy's: for each group of eigenvalues closer than
        // 1e-6‖A‖ (a cluster or a repeated value), the same projector V_g V_gᵀ (vectors of a
        // group are determined only up to a rotation within it, and signs).
        let mut start = 0;
        while start < n {
            let mut end = start + 1;
            while end < n && want_w[end] - want_w[end - 1] < 1e-6 * norm {
                end += 1;
            }
            let ours = v.slice(ndarray::s![.., start..end]);
            let theirs = want_v.slice(ndarray::s![.., start..end]);
            let p_ours = ours.dot(&ours.t());
            let p_theirs = theirs.dot(&theirs.t());
            // Perturbation of an invariant subspace: ε‖A‖ / gap to the rest of the spectrum.
            let below = if start > 0 {
                want_w[start] - want_w[start - 1]
            } else {
                f64::INFINITY
            };
            let above = if end < n {
                want_w[end] - want_w[end - 1]
            } else {
                f64::INFINITY
            };
            let bound = 1e3 * f64::EPSILON * norm / below.min(above);
            let diff = (&p_ours - &p_theirs)
                .iter()
                .fold(0.0f64, |m, x| m.max(x.abs()));
            assert!(
                diff <= bound.max(1e-12),
                "{name}: eigenvalues {start}..{end}: projector differs by {diff:e} (bound {bound:e})"
            );
            start = end;
        }
    }
}
