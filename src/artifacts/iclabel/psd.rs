//! ICLabel's spectral feature: EEGLAB `eeg_rpsd` as ported by mne-icalabel (`_eeg_rpsd`):
//! median over 50%-overlapping Hamming-windowed 1 s segments of the power spectrum, in
//! 20·log10 (sic, EEGLAB's choice), padded to 100 bins, with 50/60 Hz notches undone and the
//! result divided by its max |value|.
//!
//! mne-icalabel draws a random permutation of the segments, but it uses all of them, so the
//! median (and the feature) is deterministic.

use std::f64::consts::PI;

use ndarray::{Array2, ArrayView2};
use rustfft::FftPlanner;
use rustfft::num_complex::Complex;

use super::IcLabelError;

/// Number of frequency bins the network expects.
pub const N_BINS: usize = 100;

/// numpy.hamming (symmetric).
pub(crate) fn hamming(n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![1.0];
    }
    (0..n)
        .map(|i| 0.54 - 0.46 * (2.0 * PI * i as f64 / (n - 1) as f64).cos())
        .collect()
}

/// Segment starts of EEGLAB's 50%-overlap scheme: ceil(k·n/2) for every k with
/// k·n/2 < cutoff − n/2, where cutoff = ⌊n_times/n⌋·n (numpy `arange` upper bound).
pub(crate) fn segment_starts(n_times: usize, n_points: usize) -> Vec<usize> {
    let cutoff = (n_times / n_points * n_points) as f64;
    let half = n_points as f64 / 2.0;
    let stop = cutoff - n_points as f64 + half;
    (0..)
        .map(|k| k as f64 * half)
        .take_while(|&v| v < stop)
        .map(|v| v.ceil() as usize)
        .collect()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// [components, 100] normalised PSD feature (not yet scaled by 0.99) of the activations
/// `icaact` ([components, times]).
pub fn psd_feature(icaact: ArrayView2<f64>, sfreq: f64) -> Result<Array2<f32>, IcLabelError> {
    let (n_comp, n_times) = icaact.dim();
    let nyquist = (sfreq / 2.0).floor() as usize;
    let nfreqs = nyquist.min(N_BINS);
    let n_points = n_times.min(sfreq as usize);
    if nfreqs == 0 || n_points <= nfreqs {
        return Err(IcLabelError::Input(format!(
            "{n_times} samples at {sfreq} Hz are too few for the ICLabel PSD (need at least one second)"
        )));
    }
    let window = hamming(n_points);
    let denominator = sfreq * window.iter().map(|w| w * w).sum::<f64>();
    let starts = segment_starts(n_times, n_points);
    let fft = FftPlanner::<f64>::new().plan_fft_forward(n_points);
    let mut buf = vec![Complex::new(0.0, 0.0); n_points];
    let mut per_bin = vec![Vec::with_capacity(starts.len()); nfreqs];
    let mut out = Array2::<f32>::zeros((n_comp, N_BINS));
    for c in 0..n_comp {
        let act = icaact.row(c);
        for bin in per_bin.iter_mut() {
            bin.clear();
        }
        for &s in &starts {
            for (i, b) in buf.iter_mut().enumerate() {
                *b = Complex::new(act[s + i] * window[i], 0.0);
            }
            fft.process(&mut buf);
            for (f, bin) in per_bin.iter_mut().enumerate() {
                let mut p = buf[f + 1].norm_sqr() * 2.0 / denominator;
                if nfreqs == nyquist && f == nfreqs - 1 {
                    p /= 2.0;
                }
                bin.push(p);
            }
        }
        let mut psd = [0f64; N_BINS];
        for (f, bin) in per_bin.iter_mut().enumerate() {
            psd[f] = 20.0 * median(bin).log10();
        }
        // Fewer than 100 bins (sfreq < 200 Hz): repeat the last value.
        for f in nfreqs..N_BINS {
            psd[f] = psd[nfreqs - 1];
        }
        // Undo a notch filter at 50 or 60 Hz (0-based bins 49, 59): a bin more than 5 dB
        // below both neighbours becomes their mean.
        for line in [49, 59] {
            if psd[line - 1] - psd[line] > 5.0 && psd[line + 1] - psd[line] > 5.0 {
                psd[line] = (psd[line - 1] + psd[line + 1]) / 2.0;
            }
        }
        let max = psd.iter().fold(0f64, |m, v| m.max(v.abs()));
        if max == 0.0 || !max.is_finite() {
            return Err(IcLabelError::Input(format!(
                "component {c} has a zero or non-finite spectrum (flat activation?)"
            )));
        }
        for f in 0..N_BINS {
            out[[c, f]] = (psd[f] / max) as f32;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_follow_eeglab_scheme() {
        // 10 s at 160 Hz: 19 half-overlapping 1 s windows, the last one ending at the end.
        let s = segment_starts(1600, 160);
        assert_eq!(s.len(), 19);
        assert_eq!(s[1], 80);
        assert_eq!(*s.last().expect("non-empty"), 1440);
        // Odd window length: starts are ceil(k·n/2).
        assert_eq!(&segment_starts(1000, 255)[..3], &[0, 128, 255]);
    }
}
