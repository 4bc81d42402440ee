//! Picard fits (20 components, ortho=False, extended=True, seed 97), MNE's reference case
//! and a long recording. `benches/ica_mne.py` times MNE + python-picard on the same data
//! (one thread), for the ratio. Run: `cargo bench --bench ica` (EEGCLEAN_SHARED=../shared).
//!
//! - `picard_fit_s001r04_20c`: S001R04 after MNE's reference preprocessing (64 × 20000,
//!   `ref/mne-S001R04/filtered_uV.npy`), the data of the harness's stage d.
//! - `picard_fit_s001_r01_r08_20c`: the 8 shared runs S001R01..R08 (64 × 8 × ~19680 at
//!   160 Hz), each read with our EDF reader, average-referenced and band-passed 1–40 Hz
//!   (our MNE-equivalent FIR, per run as MNE filters concatenated runs), then concatenated.
//!   `ica_mne.py` prepares them the same way with MNE.
//! - `pca_whiten_*`: the PCA stage alone (`fit_pca_whitened`, 20 components) on the same
//!   two arrays: pre-whitener, Gram, eigendecomposition, svd_flip signs, whitened scores.

use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use eegclean::dsp::FirSpec;
use eegclean::ica::{ComponentCount, Method, PicardParams, fit, fit_pca_whitened};
use eegclean::io::edf::EdfReader;
use ndarray::{Array2, Axis, Ix2};

fn shared() -> PathBuf {
    std::env::var_os("EEGCLEAN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

/// One run: data signals in volts, average reference, band-pass 1–40 Hz.
fn preprocessed_run(path: &Path) -> Array2<f64> {
    let reader = EdfReader::open(path).expect("readable EDF");
    let header = reader.header();
    let signals: Vec<usize> = header.data_signals();
    let rows: Vec<Vec<f64>> = signals
        .iter()
        .map(|&s| {
            let scale = match header.signals[s].physical_dimension.trim() {
                "uV" | "µV" => 1e-6,
                "mV" => 1e-3,
                _ => 1.0,
            };
            let mut v = reader.read_physical(s).expect("signal");
            v.iter_mut().for_each(|x| *x *= scale);
            v
        })
        .collect();
    let n_t = rows[0].len();
    let mut x = Array2::from_shape_fn((rows.len(), n_t), |(c, t)| rows[c][t]);
    let mean = x.mean_axis(Axis(0)).expect("channels");
    x -= &mean;
    let sfreq = header.signals[signals[0]].sample_rate(header.record_duration);
    FirSpec {
        l_freq: Some(1.0),
        h_freq: Some(40.0),
        ..FirSpec::default()
    }
    .design(sfreq)
    .expect("valid band-pass")
    .apply_zero_phase(x.view_mut());
    x
}

fn concatenated_runs() -> Array2<f64> {
    let runs: Vec<Array2<f64>> = (1..=8)
        .map(|r| preprocessed_run(&shared().join(format!("data/eegmmidb/S001/S001R{r:02}.edf"))))
        .collect();
    let views: Vec<_> = runs.iter().map(|r| r.view()).collect();
    ndarray::concatenate(Axis(1), &views).expect("runs with the same channels")
}

fn s001r04() -> Array2<f64> {
    eegclean::io::npy::read_f64(shared().join("ref/mne-S001R04/filtered_uV.npy"))
        .expect("filtered_uV.npy from ../shared/ref")
        .into_dimensionality::<Ix2>()
        .expect("2-D")
        * 1e-6
}

fn bench_pca(c: &mut Criterion) {
    let s001r04 = s001r04();
    let long = concatenated_runs();
    let mut g = c.benchmark_group("ica");
    g.sample_size(20);
    for (name, x) in [
        ("pca_whiten_s001r04_20c", &s001r04),
        ("pca_whiten_s001_r01_r08_20c", &long),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| fit_pca_whitened(x.view(), ComponentCount::Count(20)).expect("PCA"))
        });
    }
    g.finish();
}

fn bench_picard(c: &mut Criterion) {
    let s001r04 = s001r04();
    let long = concatenated_runs();
    let method = Method::Picard(PicardParams::default());
    let mut g = c.benchmark_group("ica");
    g.sample_size(10);
    for (name, x) in [
        ("picard_fit_s001r04_20c", &s001r04),
        ("picard_fit_s001_r01_r08_20c", &long),
    ] {
        let d = fit(x.view(), ComponentCount::Count(20), &method, 97).expect("fit");
        eprintln!(
            "{name}: {} × {}, {} iterations, converged {}",
            x.nrows(),
            x.ncols(),
            d.n_iter,
            d.converged
        );
        g.bench_function(name, |b| {
            b.iter(|| fit(x.view(), ComponentCount::Count(20), &method, 97).expect("fit"))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_pca, bench_picard);
criterion_main!(benches);
