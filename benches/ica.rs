//! Picard fit on S001R04 (64 channels × 20000 samples, after MNE's reference preprocessing),
//! 20 components, ortho=False, extended=True — the case MNE + python-picard fit in 0.66 s
//! (64 iterations) on this machine. Run: `cargo bench --bench ica`.

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use eegclean::ica::{ComponentCount, Method, PicardParams, fit};
use ndarray::Ix2;

fn bench_picard(c: &mut Criterion) {
    let shared = std::env::var_os("EEGCLEAN_SHARED")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let path = shared.join("ref/mne-S001R04/filtered_uV.npy");
    let x = eegclean::io::npy::read_f64(&path)
        .expect("filtered_uV.npy from ../shared/ref")
        .into_dimensionality::<Ix2>()
        .expect("2-D")
        * 1e-6;
    let method = Method::Picard(PicardParams::default());
    let d = fit(x.view(), ComponentCount::Count(20), &method, 97).expect("fit");
    eprintln!(
        "picard S001R04: {} iterations, converged {}",
        d.n_iter, d.converged
    );
    let mut g = c.benchmark_group("ica");
    g.sample_size(10);
    g.bench_function("picard_fit_s001r04_20c", |b| {
        b.iter(|| fit(x.view(), ComponentCount::Count(20), &method, 97).expect("fit"))
    });
    g.finish();
}

criterion_group!(benches, bench_picard);
criterion_main!(benches);
