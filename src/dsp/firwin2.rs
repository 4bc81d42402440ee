//! Frequency-sampling FIR design, `scipy.signal.firwin2(numtaps, freq, gain, window=...)`
//! with `fs=2` (frequencies relative to Nyquist), as MNE calls it for `fir_design='firwin2'`
//! (used by the ECG/EOG helpers and ICA scoring).

use super::error::FilterError;
use super::window::{Window, linspace};
use rustfft::FftPlanner;
use rustfft::num_complex::Complex;
use std::f64::consts::PI;

/// `numpy.interp` for increasing `xp`.
fn interp(x: f64, xp: &[f64], fp: &[f64]) -> f64 {
    let last = xp.len() - 1;
    if x <= xp[0] {
        return fp[0];
    }
    if x >= xp[last] {
        return fp[last];
    }
    // First index j with xp[j] > x (numpy searches the same way, right side).
    let j = xp.partition_point(|&v| v <= x);
    let (x0, x1, y0, y1) = (xp[j - 1], xp[j], fp[j - 1], fp[j]);
    let slope = (y1 - y0) / (x1 - x0);
    slope * (x - x0) + y0
}

/// Symmetric (type I/II) linear-phase filter whose gain interpolates `gain` at `freq`
/// (0 = DC, 1 = Nyquist). `freq` must start at 0, end at 1 and be non-decreasing; an even
/// `numtaps` needs zero gain at Nyquist (type II), as scipy requires.
pub fn firwin2(
    numtaps: usize,
    freq: &[f64],
    gain: &[f64],
    window: Window,
) -> Result<Vec<f64>, FilterError> {
    let invalid = |reason: &str| FilterError::Firwin2 {
        reason: reason.to_string(),
    };
    if numtaps == 0 {
        return Err(FilterError::LengthNotPositive { length: 0.0 });
    }
    if freq.len() != gain.len() || freq.len() < 2 {
        return Err(invalid(
            "freq and gain must have the same length (at least 2)",
        ));
    }
    let last = freq.len() - 1;
    if freq[0] != 0.0 || freq[last] != 1.0 {
        return Err(invalid("freq must start at 0 and end at Nyquist"));
    }
    if freq.windows(2).any(|w| w[1] < w[0]) {
        return Err(invalid("freq must be non-decreasing"));
    }
    if freq.windows(3).any(|w| w[0] == w[2]) || freq[1] == 0.0 || freq[last - 1] == 1.0 {
        return Err(invalid(
            "a frequency must not occur more than twice, nor 0 or Nyquist twice",
        ));
    }
    if numtaps.is_multiple_of(2) && gain[last] != 0.0 {
        return Err(invalid(
            "an even-length (type II) filter must have zero gain at Nyquist; use an odd length",
        ));
    }
    // scipy nudges repeated frequencies apart by eps * nyq so that interpolation is defined.
    let mut freq = freq.to_vec();
    let eps = f64::EPSILON;
    for k in 0..last {
        if freq[k] == freq[k + 1] {
            freq[k] -= eps;
            freq[k + 1] += eps;
        }
    }
    if freq.windows(2).any(|w| w[1] <= w[0]) {
        return Err(invalid("freq values are too close to a repeated value"));
    }
    let nfreqs = 1 + numtaps.next_power_of_two();
    let x = linspace(0.0, 1.0, nfreqs);
    // Desired response with the linear phase of a (numtaps - 1) / 2 sample delay, so that
    // the first numtaps samples of its inverse FFT are the filter.
    let n_full = 2 * (nfreqs - 1);
    let mut spectrum = vec![Complex::new(0.0, 0.0); n_full];
    for (k, &xk) in x.iter().enumerate() {
        let fx = interp(xk, &freq, gain);
        let phase = -(numtaps as f64 - 1.0) / 2.0 * PI * xk;
        let c = Complex::new(0.0, phase).exp() * fx;
        spectrum[k] = c;
    }
    // irfft: Hermitian extension; the imaginary parts at DC and Nyquist are ignored.
    spectrum[0].im = 0.0;
    spectrum[nfreqs - 1].im = 0.0;
    for k in 1..nfreqs - 1 {
        spectrum[n_full - k] = spectrum[k].conj();
    }
    FftPlanner::<f64>::new()
        .plan_fft_inverse(n_full)
        .process(&mut spectrum);
    let wind = window.symmetric(numtaps);
    let scale = 1.0 / n_full as f64;
    Ok(spectrum[..numtaps]
        .iter()
        .zip(&wind)
        .map(|(c, w)| c.re * scale * w)
        .collect())
}
