//! OAS covariance + Riemannian tangent space on the S001R04 reference epochs
//! (15 epochs × 64 channels × 640 samples), the same work as the reference harness's
//! `h_covariances_oas` + `h_tangent_space` stages (pyriemann 0.12).
//!
//! Plus the same on the shared runs concatenated (see `concat_dir`), side by side with
//! pyriemann (its eigh loop is single-threaded; ours runs per-matrix work on the rayon pool,
//! so time both thread counts):
//!
//!     OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
//!         python benches/covariance_mne.py $EEGCLEAN_BENCH_CACHE/riemann-concat --reps 7
//!     RAYON_NUM_THREADS=1 cargo bench --bench covariance -- concat
//!     RAYON_NUM_THREADS=2 cargo bench --bench covariance -- concat
//!
//! Measured 2026-11-23 on the 2-core AMD EPYC (Zen 5) dev box shared with two other agents
//! (load average 1.4–2.9 during the runs, other processes compiling or running Python part of
//! the time, so these are upper bounds), 90 epochs of S001R03–R08, OAS +
//! TangentSpace(metric='riemann'); ranges are separate criterion runs:
//!
//! | | ours, 1 thread | ours, 2 threads | pyriemann, 1 BLAS thread |
//! |---|---|---|---|
//! | OAS covariances | 5.9–6.4 ms | 3.0 ms | 56 ms |
//! | tangent space fit+transform | 47.6–53.7 ms | 27.4–28.6 ms | 299 ms |
//! | both | 55.6–59.5 ms (6.0–6.4×) | 30.4–32.6 ms (11.0–11.7×) | 357 ms |
//!
//! pyriemann with 2 BLAS threads (all three `…_NUM_THREADS=2`) is slower, not faster: 1.2 s
//! best for both, OAS alone 0.74 s (at load average 2.3; its eigh loop stays serial, and
//! OpenBLAS's threading costs more than it gains on these small operands), so its 1-thread
//! time is the comparison for both columns (it measured 380 ms in an earlier session, at load
//! 1.4). Ours: criterion point estimates; pyriemann: best of 7, run in the same session
//! (load 1.6). The code before this round of work (633fe8d) and after it, built as
//! `examples/tangent_concat.rs` and run alternately: CPU time (`perf stat -e task-clock`,
//! 1 thread, 21 fits) 1446–1474 ms against 1216–1241 ms (−16%, load 2.2–2.9); wall time per
//! fit 67.6–68.5 ms against 57.1–57.7 ms on 1 thread and 37.7–37.9 ms against 33.3–33.6 ms on
//! 2 (load 1.5–1.7). Before the round before: 90 ms / 50 ms.
//!
//! Where the time goes (1 thread, perf): pyriemann's `mean_riemann` takes 10 gradient steps of
//! 90 64×64 eigendecompositions each (numpy 200 µs each here), then 90 more for the transform.
//! Ours (src/features/riemann.rs) reaches the same fixed point by Newton's method in 3 rounds
//! of eigendecompositions (~100 µs each, src/features/symmetric_eigen.rs: half of the
//! profile, QL ~29% — bound by the latency of its serial square-root-and-division chain, not by
//! the rotations of the eigenvectors, which it hides — and the Householder tridiagonalisation
//! ~20%) plus 10 applications of the linearised operator (2 full and 2 half 64³ products per
//! matrix, in single precision, with one double-precision check of the last solve's residual;
//! all products together ~25%), and takes the tangent vectors from the last round by a
//! first-order update instead of a 4th round. Tried and dropped: decomposing two matrices at
//! once with their QL sweeps interleaved (73 against 89 µs per matrix without the eigenvector
//! rotations, 111 against 102 µs with them: probably because two 32 KB eigenvector matrices do
//! not fit the 48 KB L1 together; there are no hardware counters here to check), and the
//! transformation accumulation of the tridiagonalisation as row axpys on a transposed copy
//! (no faster). The parity line printed before the timings compares with pyriemann's stored
//! outputs.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use eegclean::features::covariance::{Estimator, covariances};
use eegclean::features::riemann::{MeanOptions, mean_riemann};
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

/// Where benches/covariance_mne.py wrote the concatenated-runs epochs and pyriemann's outputs
/// (`EEGCLEAN_BENCH_CACHE`, default `target/bench-cache`, then `riemann-concat`).
fn concat_dir() -> PathBuf {
    std::env::var_os("EEGCLEAN_BENCH_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-cache"))
        .join("riemann-concat")
}

fn max_rel(ours: ndarray::ArrayViewD<f64>, want: &ndarray::ArrayD<f64>) -> f64 {
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let err = ours
        .iter()
        .zip(want.iter())
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    err / scale
}

/// Relative differences from pyriemann's outputs on the same epochs, and the iteration count.
fn report_parity(dir: &Path, epochs: ndarray::ArrayView3<f64>) {
    let load = |name: &str| eegclean::io::npy::read_f64(dir.join(name));
    let (Ok(want_cov), Ok(want_ref), Ok(want_ts)) = (
        load("covariances_oas.npy"),
        load("tangent_reference.npy"),
        load("tangent_vectors.npy"),
    ) else {
        eprintln!(
            "no pyriemann outputs in {}: parity not reported",
            dir.display()
        );
        return;
    };
    let cov = covariances(epochs, Estimator::Oas).unwrap();
    let mean = mean_riemann(cov.view(), MeanOptions::default()).unwrap();
    let (ts, vectors) = TangentSpace::fit_transform(cov.view()).unwrap();
    eprintln!(
        "concatenated runs, {} epochs: parity with pyriemann (max |ours − theirs| / max |theirs|): \
         covariances {:.2e}, reference {:.2e}, tangent vectors {:.2e}; mean_riemann {} Newton rounds",
        epochs.len_of(Axis(0)),
        max_rel(cov.view().into_dyn(), &want_cov),
        max_rel(ts.reference().into_dyn(), &want_ref),
        max_rel(vectors.view().into_dyn(), &want_ts),
        mean.iterations,
    );
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
    // faer's own solver with a pre-allocated workspace, for comparison (see symmetric_eigen.rs).
    {
        use faer::linalg::evd::{self, ComputeEigenvectors};
        use faer::{Mat, Par};
        let n = one.nrows();
        let m = Mat::<f64>::from_fn(n, n, |i, j| one[[i, j]]);
        let scratch = evd::self_adjoint_evd_scratch::<f64>(
            n,
            ComputeEigenvectors::Yes,
            Par::Seq,
            Default::default(),
        );
        let mut buf = faer::dyn_stack::MemBuffer::new(scratch);
        let mut s = faer::diag::Diag::<f64>::zeros(n);
        let mut u = Mat::<f64>::zeros(n, n);
        c.bench_function("eigh_64x64_faer_self_adjoint_evd", |b| {
            b.iter(|| {
                evd::self_adjoint_evd(
                    black_box(m.as_ref()),
                    s.as_mut(),
                    Some(u.as_mut()),
                    Par::Seq,
                    faer::dyn_stack::MemStack::new(&mut buf),
                    Default::default(),
                )
                .unwrap()
            })
        });
    }
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
    // The shared runs concatenated (S001R03..R14 that exist: 90 epochs from R03-R08), written
    // by benches/covariance_mne.py, which also times pyriemann on the same array and stores
    // its outputs; parity with them is printed before timing.
    let dir = concat_dir();
    match eegclean::io::npy::read_f64(dir.join("epochs_uV.npy")) {
        Ok(many) => {
            let many = many
                .into_dimensionality::<Ix3>()
                .expect("epochs_uV.npy is epochs × channels × times");
            report_parity(&dir, many.view());
            let name = format!(
                "oas_plus_tangent_space_concat_{}_epochs",
                many.len_of(Axis(0))
            );
            let cov = covariances(many.view(), Estimator::Oas).unwrap();
            c.bench_function("oas_covariance_concat", |b| {
                b.iter(|| covariances(black_box(many.view()), Estimator::Oas).unwrap())
            });
            c.bench_function("tangent_space_fit_transform_concat", |b| {
                b.iter(|| TangentSpace::fit_transform(black_box(cov.view())).unwrap())
            });
            c.bench_function(&name, |b| {
                b.iter(|| {
                    let cov = covariances(black_box(many.view()), Estimator::Oas).unwrap();
                    TangentSpace::fit_transform(cov.view()).unwrap()
                })
            });
        }
        Err(e) => eprintln!(
            "skipping the concatenated-runs case: {e}; run benches/covariance_mne.py {} first",
            dir.display()
        ),
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
