//! OAS covariance + Riemannian tangent space on the S001R04 reference epochs
//! (15 epochs × 64 channels × 640 samples), the same work as the reference harness's
//! `h_covariances_oas` + `h_tangent_space` stages (pyriemann 0.12).
//!
//!     cargo bench --bench covariance

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use eegclean::features::covariance::{Estimator, covariances};
use eegclean::features::tangent_space::TangentSpace;
use ndarray::{Array3, Axis, Ix3};

fn shared() -> PathBuf {
    std::env::var_os("EEGCLEAN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

fn epochs() -> Array3<f64> {
    let path = shared().join("ref/mne-S001R04/epochs_uV.npy");
    eegclean::io::npy::read_f64(&path)
        .unwrap_or_else(|e| panic!("{e} (set EEGCLEAN_SHARED to the shared folder)"))
        .into_dimensionality::<Ix3>()
        .expect("epochs_uV.npy is epochs × channels × times")
}

fn bench(c: &mut Criterion) {
    let x = epochs();
    c.bench_function("oas_covariance_s001r04", |b| {
        b.iter(|| covariances(black_box(x.view()), Estimator::Oas).unwrap())
    });
    let cov = covariances(x.view(), Estimator::Oas).unwrap();
    let one = cov.index_axis(Axis(0), 0).to_owned();
    c.bench_function("eigh_64x64", |b| {
        b.iter(|| eegclean::features::spd::eigh(black_box(one.view())).unwrap())
    });
    c.bench_function("matmul_64x64x64_twice", |b| {
        b.iter(|| black_box(&one).dot(&one).dot(&one))
    });
    c.bench_function("tangent_space_fit_transform_s001r04", |b| {
        b.iter(|| TangentSpace::fit_transform(black_box(cov.view())).unwrap())
    });
    c.bench_function("oas_plus_tangent_space_s001r04", |b| {
        b.iter(|| {
            let cov = covariances(black_box(x.view()), Estimator::Oas).unwrap();
            TangentSpace::fit_transform(cov.view()).unwrap()
        })
    });
    // Six times the epochs (the reference epochs repeated with a per-copy scale so the
    // matrices differ): closer to the concatenated-runs case of the reference table.
    let many = ndarray::concatenate(
        Axis(0),
        &(1..=6)
            .map(|k| x.mapv(|v| v * (1.0 + 0.1 * k as f64)))
            .collect::<Vec<_>>()
            .iter()
            .map(|a| a.view())
            .collect::<Vec<_>>(),
    )
    .expect("same shapes");
    c.bench_function("oas_plus_tangent_space_90_epochs", |b| {
        b.iter(|| {
            let cov = covariances(black_box(many.view()), Estimator::Oas).unwrap();
            TangentSpace::fit_transform(cov.view()).unwrap()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
