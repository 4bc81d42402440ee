//! MNE's forward-backward FIR filtering: `filter_data(x, sfreq, l_freq, h_freq,
//! filter_length="<N>s", l_trans_bandwidth, h_trans_bandwidth, phase="zero-double",
//! fir_window=..., fir_design="firwin2")`, the filter MNE's ECG/EOG helpers and ICA
//! scoring (`find_bads_eog`, `find_bads_ecg`) apply.

use super::convolve::convolve_full;
use super::error::FilterError;
use super::fir_design::check_sfreq;
use super::firwin2::firwin2;
use super::overlap_add::OverlapAdd;
use super::window::Window;
use ndarray::{ArrayViewMut2, Axis};

/// A zero-double FIR band-pass (both edges), low-pass (`h_freq` only), high-pass
/// (`l_freq` only) or all-pass (neither), with fixed transition bands in Hz and a length
/// given in seconds (MNE rounds it up to a power of two in this mode).
#[derive(Debug, Clone, PartialEq)]
pub struct ZeroDoubleSpec {
    pub l_freq: Option<f64>,
    pub h_freq: Option<f64>,
    pub l_trans_hz: f64,
    pub h_trans_hz: f64,
    pub length_seconds: f64,
    pub window: Window,
}

impl ZeroDoubleSpec {
    /// The band-pass MNE's `_band_pass_filter` (ICA scoring) and `find_ecg_events` use:
    /// 0.5 Hz transitions, 10 s, Hann window.
    pub fn mne_band_pass(l_freq: f64, h_freq: f64) -> Self {
        ZeroDoubleSpec {
            l_freq: Some(l_freq),
            h_freq: Some(h_freq),
            l_trans_hz: 0.5,
            h_trans_hz: 0.5,
            length_seconds: 10.0,
            window: Window::Hann,
        }
    }
}

/// A designed single-pass filter; it is applied forward and backward.
#[derive(Debug, Clone, PartialEq)]
pub struct ZeroDoubleFir {
    /// The single-pass firwin2 taps (even or odd length).
    pub taps: Vec<f64>,
}

impl ZeroDoubleSpec {
    pub fn design(&self, sfreq: f64) -> Result<ZeroDoubleFir, FilterError> {
        let sfreq = check_sfreq(sfreq)?;
        let nyq = sfreq / 2.0;
        let finite = |param: &'static str, value: f64| {
            if value.is_finite() {
                Ok(value)
            } else {
                Err(FilterError::NotFinite { param, value })
            }
        };
        let l = match self.l_freq {
            Some(l) if finite("l_freq", l)? <= 0.0 => {
                return Err(FilterError::HighPassNotPositive { l_freq: l });
            }
            other => other,
        };
        let h = match self.h_freq {
            Some(h) if finite("h_freq", h)? >= nyq => {
                return Err(FilterError::LowPassAtOrAboveNyquist {
                    h_freq: h,
                    nyquist: nyq,
                });
            }
            other => other,
        };
        if let (Some(l), Some(h)) = (l, h)
            && l >= h
        {
            return Err(FilterError::EmptyPassband {
                l_freq: l,
                h_freq: h,
            });
        }
        for (param, value) in [
            ("l_trans_bandwidth", self.l_trans_hz),
            ("h_trans_bandwidth", self.h_trans_hz),
        ] {
            if finite(param, value)? <= 0.0 {
                return Err(FilterError::TransitionNotPositive { param, value });
            }
        }
        let secs = finite("filter_length", self.length_seconds)?;
        if secs <= 0.0 {
            return Err(FilterError::LengthNotPositive { length: secs });
        }
        // create_filter's control points (Hz).
        let (mut freq, gain): (Vec<f64>, Vec<f64>) = match (l, h) {
            (None, None) => (vec![0.0, nyq], vec![1.0, 1.0]),
            (None, Some(h)) => {
                let stop = h + self.h_trans_hz;
                check_upper(stop, self.h_trans_hz, nyq)?;
                let (mut f, mut g) = (vec![0.0, h, stop], vec![1.0, 1.0, 0.0]);
                if stop != nyq {
                    f.push(nyq);
                    g.push(0.0);
                }
                (f, g)
            }
            (Some(l), None) => {
                let stop = check_lower(l, self.l_trans_hz)?;
                let (mut f, mut g) = (vec![stop, l, nyq], vec![0.0, 1.0, 1.0]);
                if stop != 0.0 {
                    f.insert(0, 0.0);
                    g.insert(0, 0.0);
                }
                (f, g)
            }
            (Some(l), Some(h)) => {
                let l_stop = check_lower(l, self.l_trans_hz)?;
                let h_stop = h + self.h_trans_hz;
                check_upper(h_stop, self.h_trans_hz, nyq)?;
                let mut f = vec![l_stop, l, h, h_stop];
                let mut g = vec![0.0, 1.0, 1.0, 0.0];
                if h_stop != nyq {
                    f.push(nyq);
                    g.push(0.0);
                }
                if l_stop != 0.0 {
                    f.insert(0, 0.0);
                    g.insert(0, 0.0);
                }
                (f, g)
            }
        };
        // A length in seconds becomes ceil(secs * sfreq) samples, then the next power of
        // two (MNE's zero-double rule); odd only if the gain at Nyquist is 1.
        let n = ((secs * sfreq).ceil() as usize).max(1);
        let mut n = n.next_power_of_two();
        if n.is_multiple_of(2) && gain[gain.len() - 1] == 1.0 {
            n += 1;
        }
        for f in freq.iter_mut() {
            *f /= nyq;
        }
        let taps = firwin2(n, &freq, &gain, self.window)?;
        Ok(ZeroDoubleFir { taps })
    }
}

fn check_lower(l: f64, trans: f64) -> Result<f64, FilterError> {
    let stop = l - trans;
    if stop < 0.0 {
        return Err(FilterError::LowerStopNegative {
            l_trans: trans,
            stop,
        });
    }
    Ok(stop)
}

fn check_upper(stop: f64, trans: f64, nyq: f64) -> Result<(), FilterError> {
    if stop > nyq {
        return Err(FilterError::UpperStopAboveNyquist {
            h_trans: trans,
            stop,
            nyquist: nyq,
        });
    }
    Ok(())
}

impl ZeroDoubleFir {
    /// Filter each row in place as MNE's `_overlap_add_filter(phase="zero-double")`: the
    /// rows are reflect-padded by len(h) - 1 (capped by the signal length) and convolved
    /// with h ⋆ reverse(h) in one zero-phase pass.
    pub fn apply(&self, mut data: ArrayViewMut2<f64>) {
        let n_h = self.taps.len();
        if n_h == 1 {
            let g = self.taps[0] * self.taps[0];
            data.mapv_inplace(|v| v * g);
            return;
        }
        let n_times = data.len_of(Axis(1));
        if n_times == 0 || data.nrows() == 0 {
            return;
        }
        let n_edge = n_h.min(n_times) - 1;
        // numpy.convolve(h, h[::-1]).
        let reversed: Vec<f64> = self.taps.iter().rev().copied().collect();
        let doubled = convolve_full(&self.taps, &reversed);
        OverlapAdd::with_edge(&doubled, n_times, n_edge).apply_rows(data);
    }
}
