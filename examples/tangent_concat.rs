//! Runs OAS + tangent space `fit_transform` on the concatenated-runs epochs of
//! benches/covariance_mne.py `reps` times, for profiling and CPU-time A/B comparisons
//! (`/usr/bin/time -f %U`, `perf record`) outside criterion:
//!
//!     RAYON_NUM_THREADS=1 cargo run --release --example tangent_concat -- \
//!         $EEGCLEAN_BENCH_CACHE/riemann-concat/epochs_uV.npy 50

use eegclean::features::covariance::{Estimator, covariances};
use eegclean::features::tangent_space::TangentSpace;
use ndarray::Ix3;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: tangent_concat <epochs_uV.npy> [reps]");
    let reps: usize = args
        .next()
        .map_or(20, |r| r.parse().expect("reps is a number"));
    let epochs = eegclean::io::npy::read_f64(&path)
        .expect("readable .npy")
        .into_dimensionality::<Ix3>()
        .expect("epochs × channels × times");
    // A digest of every output bit, to check that a refactoring changed nothing.
    let cov = covariances(epochs.view(), Estimator::Oas).expect("covariances");
    let (ts, vectors) = TangentSpace::fit_transform(cov.view()).expect("tangent space");
    let digest = vectors
        .iter()
        .chain(ts.reference().iter())
        .fold(0xcbf29ce484222325u64, |h, x| {
            (h ^ x.to_bits()).wrapping_mul(0x100000001b3)
        });
    println!("output digest {digest:016x}");
    let mut checksum = 0.0;
    let start = std::time::Instant::now();
    for _ in 0..reps {
        let cov = covariances(epochs.view(), Estimator::Oas).expect("covariances");
        let (_, vectors) = TangentSpace::fit_transform(cov.view()).expect("tangent space");
        checksum += vectors[[0, 0]];
    }
    let per_rep = start.elapsed().as_secs_f64() / reps as f64;
    println!(
        "{:.2} ms per fit_transform (wall), checksum {checksum:e}",
        per_rep * 1e3
    );
}
