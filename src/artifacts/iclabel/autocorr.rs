//! ICLabel's autocorrelation feature, as mne-icalabel computes it for a Raw:
//! `eeg_autocorr_welch` (recordings longer than 5 s: mean power spectrum of 50%-overlapping
//! 3 s segments → inverse FFT) or `eeg_autocorr` (shorter: one full-length FFT), then
//! normalised by lag 0 and resampled to 100 lags per second with scipy's `resample_poly`.

use std::f64::consts::PI;

use ndarray::{Array2, ArrayView2};
use rustfft::FftPlanner;
use rustfft::num_complex::Complex;

use super::IcLabelError;
use super::psd::segment_starts;

/// Number of lags the network expects (10 ms … 1 s).
pub const N_LAGS: usize = 100;

/// 2^nextpow2(x) as MATLAB computes it.
fn next_power_of_two(x: usize) -> usize {
    x.max(1).next_power_of_two()
}

/// [components, 100] autocorrelation feature (not yet scaled by 0.99) of `icaact`.
pub fn autocorr_feature(icaact: ArrayView2<f64>, sfreq: f64) -> Result<Array2<f32>, IcLabelError> {
    let (n_comp, n_times) = icaact.dim();
    let srate = sfreq as usize;
    if srate == 0 || n_times < 2 {
        return Err(IcLabelError::Input(format!(
            "{n_times} samples at {sfreq} Hz are too few for the ICLabel autocorrelation"
        )));
    }
    let welch = n_times as f64 / sfreq > 5.0;
    let mut planner = FftPlanner::<f64>::new();
    let resampler = Resampler::new(srate + 1, sfreq)?;
    let mut out = Array2::<f32>::zeros((n_comp, N_LAGS));
    for c in 0..n_comp {
        let act: Vec<f64> = icaact.row(c).to_vec();
        let ac = if welch {
            welch_autocorr(&act, srate, &mut planner)
        } else {
            full_autocorr(&act, srate, &mut planner)
        };
        if !(ac[0].is_finite() && ac[0] != 0.0) {
            return Err(IcLabelError::Input(format!(
                "component {c} has zero power (flat activation)"
            )));
        }
        let resampled = resampler.apply(&ac);
        for (k, v) in resampled.iter().skip(1).enumerate() {
            out[[c, k]] = *v as f32;
        }
    }
    Ok(out)
}

/// `eeg_autocorr_welch`: lags 0..=srate, lag k divided by ac[0]·(n − k)/n (the last lag by
/// ac[0]·max(1, n − srate)/n), n the segment length.
fn welch_autocorr(act: &[f64], srate: usize, planner: &mut FftPlanner<f64>) -> Vec<f64> {
    let n_points = act.len().min(3 * srate);
    let nfft = next_power_of_two(2 * n_points - 1);
    let starts = segment_starts(act.len(), n_points);
    let fft = planner.plan_fft_forward(nfft);
    let ifft = planner.plan_fft_inverse(nfft);
    let mut power = vec![0f64; nfft];
    let mut buf = vec![Complex::new(0.0, 0.0); nfft];
    for &s in &starts {
        buf.iter_mut().for_each(|b| *b = Complex::new(0.0, 0.0));
        for (b, &v) in buf.iter_mut().zip(&act[s..s + n_points]) {
            b.re = v;
        }
        fft.process(&mut buf);
        for (p, b) in power.iter_mut().zip(&buf) {
            *p += b.norm_sqr();
        }
    }
    let nseg = starts.len() as f64;
    for (b, p) in buf.iter_mut().zip(&power) {
        *b = Complex::new(p / nseg, 0.0);
    }
    ifft.process(&mut buf);
    // numpy's ifft divides by nfft; the common factor cancels in the normalisation except for
    // lag 0 itself, so divide explicitly to keep every step as in mne-icalabel.
    let lag: Vec<f64> = buf[..=srate].iter().map(|b| b.re / nfft as f64).collect();
    let ac0 = lag[0];
    let n = n_points as f64;
    (0..=srate)
        .map(|k| {
            let count = if k < srate {
                n_points as f64 - k as f64
            } else {
                (n_points as f64 - srate as f64).max(1.0)
            };
            lag[k] / (ac0 * count / n)
        })
        .collect()
}

/// `eeg_autocorr`: one FFT of the whole activation; lags 0..=srate (zero beyond the data),
/// divided by lag 0.
fn full_autocorr(act: &[f64], srate: usize, planner: &mut FftPlanner<f64>) -> Vec<f64> {
    let nfft = next_power_of_two(2 * act.len() - 1);
    let mut buf = vec![Complex::new(0.0, 0.0); nfft];
    for (b, &v) in buf.iter_mut().zip(act) {
        b.re = v;
    }
    planner.plan_fft_forward(nfft).process(&mut buf);
    for b in buf.iter_mut() {
        *b = Complex::new(b.norm_sqr(), 0.0);
    }
    planner.plan_fft_inverse(nfft).process(&mut buf);
    let mut ac = vec![0f64; srate + 1];
    for (k, a) in ac.iter_mut().enumerate().take(act.len().min(srate + 1)) {
        *a = buf[k].re / nfft as f64;
    }
    let ac0 = ac[0];
    ac.iter().map(|v| v / ac0).collect()
}

/// scipy.signal.resample_poly(x, 100, down) with its default Kaiser(β = 5) anti-aliasing
/// FIR and zero padding, for a fixed input length.
struct Resampler {
    up: usize,
    down: usize,
    /// Filter with scipy's leading zero padding, already multiplied by `up`.
    h: Vec<f64>,
    n_pre_remove: usize,
    n_out: usize,
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Modified Bessel function of the first kind, order 0 (power series; exact to rounding for
/// the small arguments of a Kaiser window).
fn bessel_i0(x: f64) -> f64 {
    let q = x * x / 4.0;
    let (mut term, mut sum) = (1.0f64, 1.0f64);
    for k in 1..200 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

impl Resampler {
    /// mne-icalabel's `_resample`: up 100, down int(sfreq) (+1 if it would give more than 101
    /// samples).
    fn new(n_in: usize, sfreq: f64) -> Result<Self, IcLabelError> {
        let mut down = sfreq as usize;
        if n_in as f64 * 100.0 / down as f64 > 101.0 {
            down += 1;
        }
        let g = gcd(100, down);
        let (up, down) = (100 / g, down / g);
        let n_out = (n_in * up).div_ceil(down);
        if n_out != N_LAGS + 1 {
            return Err(IcLabelError::Input(format!(
                "resampling {n_in} lags by {up}/{down} gives {n_out} samples, not {}",
                N_LAGS + 1
            )));
        }
        let max_rate = up.max(down);
        let half_len = 10 * max_rate;
        let numtaps = 2 * half_len + 1;
        let cutoff = 1.0 / max_rate as f64;
        // scipy.signal.firwin(numtaps, cutoff, window=('kaiser', 5.0)), scaled to unit DC gain.
        let alpha = (numtaps - 1) as f64 / 2.0;
        let beta = 5.0;
        let mut h: Vec<f64> = (0..numtaps)
            .map(|i| {
                let m = i as f64 - alpha;
                let sinc = if m == 0.0 {
                    1.0
                } else {
                    let a = PI * cutoff * m;
                    a.sin() / a
                };
                let r = (i as f64 - alpha) / alpha;
                let window = bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / bessel_i0(beta);
                cutoff * sinc * window
            })
            .collect();
        let sum: f64 = h.iter().sum();
        for v in h.iter_mut() {
            *v = *v / sum * up as f64;
        }
        let n_pre_pad = down - half_len % down;
        let n_pre_remove = (half_len + n_pre_pad) / down;
        let mut padded = vec![0.0; n_pre_pad];
        padded.extend(h);
        Ok(Resampler {
            up,
            down,
            h: padded,
            n_pre_remove,
            n_out,
        })
    }

    /// y[j] = Σ_i x[i]·h[(j + n_pre_remove)·down − i·up] (upfirdn on the zero-stuffed input).
    fn apply(&self, x: &[f64]) -> Vec<f64> {
        (0..self.n_out)
            .map(|j| {
                let pos = (j + self.n_pre_remove) * self.down;
                x.iter()
                    .enumerate()
                    .filter_map(|(i, &v)| {
                        let t = pos.checked_sub(i * self.up)?;
                        self.h.get(t).map(|h| h * v)
                    })
                    .sum()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bessel_i0_known_values() {
        // Abramowitz & Stegun table 9.8: I0(1) = 1.2660658777520082, I0(5) = 27.239871823604442.
        assert!((bessel_i0(1.0) - 1.266_065_877_752_008_2).abs() < 1e-14);
        assert!((bessel_i0(5.0) - 27.239_871_823_604_442).abs() < 1e-11);
    }

    #[test]
    fn resampling_a_constant_keeps_it_away_from_the_edges() {
        // A unit-DC-gain polyphase filter maps a constant to the same constant except near
        // the zero-padded ends.
        let r = Resampler::new(161, 160.0).expect("160 Hz is supported");
        let y = r.apply(&vec![1.0; 161]);
        assert_eq!(y.len(), 101);
        for v in &y[20..80] {
            assert!((v - 1.0).abs() < 1e-3, "{v}");
        }
    }
}
