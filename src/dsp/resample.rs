//! Resampling as `mne.filter.resample`: FFT method (MNE's padded, boxcar-windowed
//! adaptation of `scipy.signal.resample`). Ratio = to / from, output length
//! max(round(ratio * n), 1).

use super::error::FilterError;
use super::firwin::firwin_lowpass_with_window;
use super::pad::reflect_limited;
use super::window::kaiser;
use ndarray::{Array2, ArrayView2, Axis};
use rustfft::FftPlanner;
use rustfft::num_complex::Complex;

/// Edge padding before the FFT (MNE's `npad`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Npad {
    /// Pad to the next power of two with at least min(n/8, 100) samples per side
    /// (MNE's 'auto', what `Raw.resample` uses).
    #[default]
    Auto,
    /// Fixed padding per side (`mne.filter.resample`'s default is 100).
    Samples(usize),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ResampleMethod {
    Fft {
        npad: Npad,
    },
    /// `scipy.signal.resample_poly` with MNE's default window (firwin, Kaiser beta 5)
    /// and padtype 'reflect'.
    Polyphase,
}

impl Default for ResampleMethod {
    fn default() -> Self {
        ResampleMethod::Fft { npad: Npad::Auto }
    }
}

fn rate(param: &str, v: f64) -> Result<f64, FilterError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(FilterError::Resample {
            reason: format!("{param} must be a positive finite sampling rate, got {v}"),
        })
    }
}

/// Resample every row of `data` from `from` Hz to `to` Hz.
pub fn resample(
    data: ArrayView2<f64>,
    from: f64,
    to: f64,
    method: ResampleMethod,
) -> Result<Array2<f64>, FilterError> {
    let from = rate("from", from)?;
    let to = rate("to", to)?;
    let ratio = to / from;
    let n = data.len_of(Axis(1));
    if n == 0 {
        return Ok(data.to_owned());
    }
    let final_len = ((ratio * n as f64).round_ties_even() as usize).max(1);
    match method {
        ResampleMethod::Fft { npad } => resample_fft(data, ratio, final_len, npad),
        ResampleMethod::Polyphase => Ok(resample_polyphase(data, final_len)),
    }
}

fn resample_fft(
    data: ArrayView2<f64>,
    ratio: f64,
    final_len: usize,
    npad: Npad,
) -> Result<Array2<f64>, FilterError> {
    let x_len = data.len_of(Axis(1));
    let npads = match npad {
        Npad::Auto => {
            let min_add = (x_len / 8).min(100) * 2;
            let total = (x_len + min_add).next_power_of_two() - x_len;
            (total / 2, total / 2 + total % 2)
        }
        Npad::Samples(p) => (p, p),
    };
    let orig_len = x_len + npads.0 + npads.1;
    let new_len = ((ratio * orig_len as f64).round_ties_even() as usize).max(1);
    let remove0 = (ratio * npads.0 as f64).round_ties_even() as i64;
    let remove1 = new_len as i64 - final_len as i64 - remove0;
    // Python slice y[r0 : len - r1] semantics (only applied when a removal is positive).
    let (start, stop) = if remove0 > 0 || remove1 > 0 {
        let s = remove0.clamp(0, new_len as i64) as usize;
        let e = (new_len as i64 - remove1).clamp(s as i64, new_len as i64) as usize;
        (s, e)
    } else {
        (0, new_len)
    };
    if stop - start != final_len {
        return Err(FilterError::Resample {
            reason: format!(
                "padding arithmetic gives {} samples instead of {final_len}; use a different npad",
                stop - start
            ),
        });
    }
    // Boxcar window, scaled by new_len / orig_len (folding a constant window is a no-op).
    let w = new_len as f64 / orig_len as f64;
    let shorter = new_len < orig_len;
    let use_len = if shorter { new_len } else { orig_len };
    let mut planner = FftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(orig_len);
    let inv = planner.plan_fft_inverse(new_len);
    let mut out = Array2::<f64>::zeros((data.nrows(), final_len));
    let mut buf = vec![Complex::new(0.0, 0.0); orig_len];
    let mut spec = vec![Complex::new(0.0, 0.0); new_len];
    let n_bins_in = orig_len / 2 + 1;
    let n_bins_out = new_len / 2 + 1;
    for (row, mut out_row) in data.rows().into_iter().zip(out.rows_mut()) {
        let x: Vec<f64> = row.iter().copied().collect();
        let ext = reflect_limited(&x, npads.0, npads.1);
        for (b, v) in buf.iter_mut().zip(&ext) {
            *b = Complex::new(*v, 0.0);
        }
        fwd.process(&mut buf);
        let mut half: Vec<Complex<f64>> = buf[..n_bins_in].to_vec();
        if use_len.is_multiple_of(2) {
            half[use_len / 2] *= if shorter { 2.0 } else { 0.5 };
        }
        for h in half.iter_mut() {
            *h *= w;
        }
        // irfft(half, new_len): Hermitian spectrum of new_len bins, imaginary parts of
        // DC and (even) Nyquist ignored, normalised by 1/new_len.
        spec.iter_mut().for_each(|s| *s = Complex::new(0.0, 0.0));
        let n_copy = n_bins_out.min(n_bins_in);
        spec[..n_copy].copy_from_slice(&half[..n_copy]);
        spec[0].im = 0.0;
        if new_len.is_multiple_of(2) {
            spec[new_len / 2].im = 0.0;
        }
        for k in 1..n_bins_out {
            if new_len - k != k {
                spec[new_len - k] = spec[k].conj();
            }
        }
        inv.process(&mut spec);
        let scale = 1.0 / new_len as f64;
        for (o, s) in out_row.iter_mut().zip(&spec[start..stop]) {
            *o = s.re * scale;
        }
    }
    Ok(out)
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// numpy 'reflect' extension of index `j` into `0..n` (mirror without repeating the edge).
fn reflect_index(j: i64, n: usize) -> usize {
    let n = n as i64;
    if n == 1 {
        return 0;
    }
    let period = 2 * (n - 1);
    let mut m = j.rem_euclid(period);
    if m >= n {
        m = period - m;
    }
    m as usize
}

/// MNE `_prep_polyphase` + `scipy.signal.resample_poly(x, up, down, window=h,
/// padtype='reflect')`, evaluating `upfirdn` only at the kept output samples.
fn resample_polyphase(data: ArrayView2<f64>, final_len: usize) -> Array2<f64> {
    let n_in = data.len_of(Axis(1));
    let g = gcd(final_len, n_in);
    let (up, down) = (final_len / g, n_in / g);
    if up == 1 && down == 1 {
        return data.to_owned();
    }
    let max_rate = up.max(down);
    let half_len = 10 * max_rate;
    let n_taps = 2 * half_len + 1;
    let window = kaiser(n_taps, 5.0);
    let mut h = firwin_lowpass_with_window(n_taps, 1.0 / max_rate as f64, &window);
    for v in h.iter_mut() {
        *v *= up as f64;
    }
    let n_out = (n_in * up).div_ceil(down);
    let n_pre_pad = down - half_len % down;
    let n_pre_remove = (half_len + n_pre_pad) / down;
    let mut hp = vec![0.0; n_pre_pad];
    hp.extend_from_slice(&h);
    let mut out = Array2::<f64>::zeros((data.nrows(), n_out));
    for (row, mut out_row) in data.rows().into_iter().zip(out.rows_mut()) {
        let x: Vec<f64> = row.iter().copied().collect();
        for (i, o) in out_row.iter_mut().enumerate() {
            let n = ((n_pre_remove + i) * down) as i64;
            // taps k with (n - k) divisible by up
            let k0 = (n.rem_euclid(up as i64)) as usize;
            let mut acc = 0.0;
            let mut k = k0;
            while k < hp.len() {
                let j = (n - k as i64) / up as i64;
                acc += hp[k] * x[reflect_index(j, n_in)];
                k += up;
            }
            *o = acc;
        }
    }
    out
}
