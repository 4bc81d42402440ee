//! Welch power spectral density as MNE's `psd_array_welch` with its defaults, as
//! `Raw.compute_psd()` calls it: segments of `n_fft` samples without overlap (for a Raw,
//! n_fft = min(n_times, 2048)), periodic Hamming window, each segment's mean removed,
//! one-sided density scaling (`scipy.signal.spectrogram`), mean over segments, frequencies
//! kept in [fmin, fmax] inclusive.

use ndarray::{Array2, ArrayView2};
use rustfft::FftPlanner;
use rustfft::num_complex::Complex;

use super::detector::DetectorError;
use crate::dsp::Window;

/// `Raw.compute_psd`'s segment length: min(n_times, 2048) (MNE's legacy default, which
/// overrides `psd_array_welch`'s own 256).
pub fn raw_n_fft(n_times: usize) -> usize {
    n_times.min(2048)
}

/// PSD of each row (rows × frequencies) and the frequencies, for `n_fft`-sample segments.
pub fn psd_welch(
    x: ArrayView2<f64>,
    sfreq: f64,
    fmin: f64,
    fmax: f64,
    n_fft: usize,
) -> Result<(Array2<f64>, Vec<f64>), DetectorError> {
    let n_times = x.ncols();
    if n_fft == 0 || n_fft > n_times {
        return Err(DetectorError::TooShort {
            what: "the recording",
            n_samples: n_times,
            needed: n_fft.max(1),
            why: "Welch's method uses segments of n_fft samples",
        });
    }
    if fmax > sfreq / 2.0 {
        return Err(DetectorError::InvalidParams {
            reason: format!(
                "fmax {fmax} Hz exceeds half the sampling rate ({} Hz); lower it",
                sfreq / 2.0
            ),
        });
    }
    let all_freqs: Vec<f64> = (0..=n_fft / 2)
        .map(|k| k as f64 * (sfreq / n_fft as f64))
        .collect();
    let keep: Vec<usize> = (0..all_freqs.len())
        .filter(|&k| all_freqs[k] >= fmin && all_freqs[k] <= fmax)
        .collect();
    if keep.is_empty() {
        return Err(DetectorError::InvalidParams {
            reason: format!(
                "no frequencies between fmin={fmin} and fmax={fmax} Hz at {n_fft}-point resolution; widen the band"
            ),
        });
    }
    let (k0, k1) = (keep[0], keep[keep.len() - 1] + 1);
    let freqs = all_freqs[k0..k1].to_vec();

    // scipy get_window('hamming', n) is periodic: the symmetric window of n + 1, truncated.
    let mut win = Window::Hamming.symmetric(n_fft + 1);
    win.truncate(n_fft);
    let win_sq: f64 = win.iter().map(|w| w * w).sum();
    let scale = 1.0 / (sfreq * win_sq);
    let n_segments = 1 + (n_times - n_fft) / n_fft;
    let fft = FftPlanner::new().plan_fft_forward(n_fft);
    let mut buf = vec![Complex::new(0.0, 0.0); n_fft];
    let mut psd = Array2::<f64>::zeros((x.nrows(), k1 - k0));
    for (row, mut out) in x.outer_iter().zip(psd.outer_iter_mut()) {
        for seg in 0..n_segments {
            let part = row.slice(ndarray::s![seg * n_fft..(seg + 1) * n_fft]);
            let mean = part.sum() / n_fft as f64;
            for ((b, &v), w) in buf.iter_mut().zip(part.iter()).zip(&win) {
                *b = Complex::new((v - mean) * w, 0.0);
            }
            fft.process(&mut buf);
            for (o, k) in out.iter_mut().zip(k0..k1) {
                let mut p = buf[k].norm_sqr() * scale;
                // One-sided: double all but DC and (for even n_fft) Nyquist.
                let nyquist = n_fft.is_multiple_of(2) && k == n_fft / 2;
                if k != 0 && !nyquist {
                    p *= 2.0;
                }
                *o += p;
            }
        }
        out.mapv_inplace(|v| v / n_segments as f64);
    }
    Ok((psd, freqs))
}
