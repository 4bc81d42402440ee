//! Windowed-sinc FIR design: `scipy.signal.firwin` (low-pass case) and MNE's
//! `_firwin_design`, which builds a multi-band filter by adding and subtracting one
//! low-pass per transition, each only as long as that transition needs.

use super::error::FilterError;
use super::pairwise_sum::pairwise_sum;
use super::window::Window;
use std::f64::consts::PI;

/// `numpy.sinc`: sin(pi x)/(pi x), with x = 0 replaced by 1e-20 as numpy does.
fn numpy_sinc(x: f64) -> f64 {
    let y = PI * if x == 0.0 { 1.0e-20 } else { x };
    y.sin() / y
}

/// `scipy.signal.firwin(numtaps, cutoff, window=window, pass_zero=True, fs=2)`:
/// low-pass with `cutoff` relative to Nyquist (0 < cutoff < 1), scaled to unit DC gain.
pub fn firwin_lowpass(numtaps: usize, cutoff: f64, window: Window) -> Vec<f64> {
    firwin_lowpass_with_window(numtaps, cutoff, &window.symmetric(numtaps))
}

/// `firwin` low-pass with an explicit window of `numtaps` points.
pub fn firwin_lowpass_with_window(numtaps: usize, cutoff: f64, win: &[f64]) -> Vec<f64> {
    let alpha = 0.5 * (numtaps as f64 - 1.0);
    let mut h: Vec<f64> = (0..numtaps)
        .map(|i| {
            let m = i as f64 - alpha;
            // scipy: h = 0 + right*sinc(right*m) - left*sinc(left*m), left = 0
            (0.0 + cutoff * numpy_sinc(cutoff * m)) - 0.0 * numpy_sinc(0.0 * m)
        })
        .collect();
    for (hi, w) in h.iter_mut().zip(win) {
        *hi *= w;
    }
    // Scale at DC: cos(pi*m*0) == 1, so the sum is of h itself.
    let s = pairwise_sum(&h);
    for hi in h.iter_mut() {
        *hi /= s;
    }
    h
}

/// MNE's `_firwin_design(N, freq, gain, window, sfreq)`. `freq` is normalised to Nyquist
/// (starts at 0, ends at 1) and `gain` holds 0/1 values; `n` must be odd.
pub fn firwin_design(
    n: usize,
    freq: &[f64],
    gain: &[f64],
    window: Window,
    sfreq: f64,
) -> Result<Vec<f64>, FilterError> {
    debug_assert!(n % 2 == 1 && freq.len() == gain.len() && freq.len() > 1);
    let mut h = vec![0.0; n];
    let last = freq.len() - 1;
    let mut prev_freq = freq[last];
    let mut prev_gain = gain[last];
    if prev_gain == 1.0 {
        h[n / 2] = 1.0; // start "all pass" and carve stop bands out of it
    }
    for idx in (0..last).rev() {
        let (this_freq, this_gain) = (freq[idx], gain[idx]);
        if this_gain != prev_gain {
            let transition = (prev_freq - this_freq) / 2.0;
            // Python's round() rounds half to even.
            let mut this_n = (window.length_factor() / transition).round_ties_even() as usize;
            this_n += 1 - this_n % 2;
            if this_n > n {
                return Err(FilterError::LengthTooShortForTransition {
                    length: n,
                    transition_hz: transition * sfreq,
                    required: this_n,
                });
            }
            let this_h = firwin_lowpass(this_n, (prev_freq + this_freq) / 2.0, window);
            let offset = (n - this_n) / 2;
            for (hi, t) in h[offset..n - offset].iter_mut().zip(&this_h) {
                if this_gain == 0.0 {
                    *hi -= t;
                } else {
                    *hi += t;
                }
            }
        }
        prev_gain = this_gain;
        prev_freq = this_freq;
    }
    Ok(h)
}
