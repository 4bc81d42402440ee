//! Fit Picard (20 components, ortho=False, extended=True, seed 97) once on an .npy array
//! (channels × samples, µV) and print the time, iterations, sizes and a digest of the unmixing matrix. Used to measure peak
//! memory from outside (`/usr/bin/time -v`) and to profile (`perf record`):
//!
//!     cargo run --release --example ica_fit -- ../shared/ref/mne-S001R04/filtered_uV.npy [repeats]

use std::time::Instant;

use eegclean::ica::{ComponentCount, Method, PicardParams, fit};
use ndarray::Ix2;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: ica_fit DATA.npy [repeats] (channels × samples, µV)")?;
    let repeats: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1);
    let x = eegclean::io::npy::read_f64(&path)?.into_dimensionality::<Ix2>()? * 1e-6;
    let method = Method::Picard(PicardParams::default());
    for _ in 0..repeats {
        let t0 = Instant::now();
        let d = fit(x.view(), ComponentCount::Count(20), &method, 97)?;
        let elapsed = t0.elapsed().as_secs_f64();
        // A digest of the unmixing matrix's bits, to check that a change to the solver's
        // arithmetic (or the thread count) leaves the result bit-identical.
        let mut hasher = blake3::Hasher::new();
        for v in d.unmixing_matrix.iter() {
            hasher.update(&v.to_le_bytes());
        }
        println!(
            "{} x {}: {elapsed:.3} s, {} iterations, converged {}, unmixing blake3 {}",
            x.nrows(),
            x.ncols(),
            d.n_iter,
            d.converged,
            &hasher.finalize().to_hex()[..16]
        );
    }
    Ok(())
}
