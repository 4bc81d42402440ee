//! R-peak detection as MNE's `find_ecg_events` does it: band-pass the ECG (zero-double FIR,
//! firwin2, Hann, 10 s, 0.5 Hz transitions), then `qrs_detector` with
//! `thresh_value='auto'`: for each threshold 0.30, 0.35, … 1.05 × the mean of the first three
//! one-second maxima, scan |ecg| in half-second windows starting above the threshold, keep
//! the windows whose RMS is below mean + 2.5 std, and finally choose the threshold whose
//! heart rate is closest to the median of the plausible (40–160 bpm) rates.

use ndarray::{Array1, ArrayView1, Axis};

use super::detector::{DetectorError, check_finite_1d, check_sfreq};
use crate::dsp::ZeroDoubleSpec;

/// `find_ecg_events` parameters (MNE defaults via `create_ecg_epochs` /
/// `find_bads_ecg`: 8–16 Hz).
#[derive(Debug, Clone, PartialEq)]
pub struct HeartbeatParams {
    pub l_freq: f64,
    pub h_freq: f64,
}

impl Default for HeartbeatParams {
    fn default() -> Self {
        HeartbeatParams {
            l_freq: 8.0,
            h_freq: 16.0,
        }
    }
}

/// Sample indices of the detected R peaks (increasing). Empty if none were found.
pub fn find_heartbeats(
    ecg: ArrayView1<f64>,
    sfreq: f64,
    params: &HeartbeatParams,
) -> Result<Vec<usize>, DetectorError> {
    let sfreq = check_sfreq(sfreq)?;
    check_finite_1d("the ECG channel", ecg)?;
    let init = sfreq as usize; // int(sfreq)
    // qrs_detector takes the maxima of the first three seconds; the third slice must not
    // be empty.
    if ecg.len() <= 2 * init {
        return Err(DetectorError::TooShort {
            what: "the ECG channel",
            n_samples: ecg.len(),
            needed: 2 * init + 1,
            why: "R-peak detection reads the first three seconds",
        });
    }
    // A flat channel filters to rounding noise, in which MNE would find "beats".
    if super::reference_correlation::is_constant(ecg) {
        return Err(DetectorError::ConstantReference);
    }
    let fir = ZeroDoubleSpec::mne_band_pass(params.l_freq, params.h_freq).design(sfreq)?;
    let mut filtered: Array1<f64> = ecg.to_owned();
    fir.apply(filtered.view_mut().insert_axis(Axis(0)));
    // qrs_detector filters again with l_freq = h_freq = None: an all-pass whose firwin2
    // taps are a unit impulse, so that step is the identity (up to rounding) and is skipped.
    Ok(qrs_detector(filtered.view(), sfreq))
}

/// `numpy.arange(0.3, 1.1, 0.05)` as numpy computes it (start + i·delta with
/// delta = (start + step) − start).
fn threshold_runs() -> Vec<f64> {
    let (start, stop, step) = (0.3f64, 1.1f64, 0.05f64);
    let n = ((stop - start) / step).ceil() as usize;
    let delta = (start + step) - start;
    (0..n).map(|i| start + i as f64 * delta).collect()
}

/// MNE `qrs_detector(sfreq, ecg, thresh_value='auto', levels=2.5, n_thresh=3, tstart=0)`
/// on an already filtered ECG.
fn qrs_detector(ecg: ArrayView1<f64>, sfreq: f64) -> Vec<usize> {
    let levels = 2.5;
    let n_thresh = 3i64;
    // Python round(): halves to even.
    let win_size = ((60.0 * sfreq) / 120.0).round_ties_even() as usize;
    let ecg_abs: Vec<f64> = ecg.iter().map(|v| v.abs()).collect();
    let init = sfreq as usize;
    let n_points = ecg_abs.len();
    let max_of = |a: usize, b: usize| {
        ecg_abs[a..b.min(n_points)]
            .iter()
            .fold(f64::NEG_INFINITY, |m, &v| m.max(v))
    };
    let init_max = (max_of(0, init) + max_of(init, 2 * init) + max_of(2 * init, 3 * init)) / 3.0;

    let mut clean_events: Vec<Vec<usize>> = Vec::new();
    for thresh_value in threshold_runs() {
        let thresh1 = init_max * thresh_value;
        let mut numcross: Vec<i64> = Vec::new();
        let mut time: Vec<usize> = Vec::new();
        let mut rms: Vec<f64> = Vec::new();
        let mut ii = 0usize;
        while ii + win_size < n_points {
            let window = &ecg_abs[ii..ii + win_size];
            if window[0] > thresh1 {
                // np.argmax: first maximum.
                let mut max_time = 0;
                for (k, &v) in window.iter().enumerate() {
                    if v > window[max_time] {
                        max_time = k;
                    }
                }
                time.push(ii + max_time);
                // sum(diff(window > thresh1)) telescopes to last − first.
                let above = |v: f64| i64::from(v > thresh1);
                numcross.push(above(window[win_size - 1]) - above(window[0]));
                let ss: f64 = window.iter().map(|v| v * v).sum();
                rms.push((ss / win_size as f64).sqrt());
                ii += win_size;
            } else {
                ii += 1;
            }
        }
        if rms.is_empty() {
            // MNE pads with one zero-RMS entry, which can never pass `rms < thresh`.
            continue;
        }
        let n = rms.len() as f64;
        let mean = rms.iter().sum::<f64>() / n;
        let std = (rms.iter().map(|r| (r - mean) * (r - mean)).sum::<f64>() / n).sqrt();
        let rms_thresh = mean + std * levels;
        let ce: Vec<usize> = (0..rms.len())
            .filter(|&k| rms[k] < rms_thresh && numcross[k] < n_thresh)
            .map(|k| time[k])
            .collect();
        if !ce.is_empty() {
            clean_events.push(ce);
        }
    }
    if clean_events.is_empty() {
        return Vec::new();
    }
    let seconds = n_points as f64 / sfreq;
    let rates: Vec<f64> = clean_events
        .iter()
        .map(|c| 60.0 * c.len() as f64 / seconds)
        .collect();
    let mut plausible: Vec<f64> = rates
        .iter()
        .copied()
        .filter(|r| (40.0..=160.0).contains(r))
        .collect();
    let ideal_rate = if plausible.is_empty() {
        80.0
    } else {
        median(&mut plausible)
    };
    let mut best = 0;
    for (k, r) in rates.iter().enumerate() {
        if (r - ideal_rate).abs() < (rates[best] - ideal_rate).abs() {
            best = k;
        }
    }
    clean_events.swap_remove(best)
}

/// `numpy.median`.
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_runs_match_numpy_arange() {
        let t = threshold_runs();
        assert_eq!(t.len(), 16);
        assert!((t[0] - 0.3).abs() < 1e-15 && (t[15] - 1.05).abs() < 1e-12);
    }
}
