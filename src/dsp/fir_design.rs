//! MNE's FIR parameter triage (`create_filter` + `_triage_filter_params` for
//! method='fir', phase='zero', fir_design='firwin'): automatic transition bands and
//! filter length, the frequency/gain control points, and the windowed design.

use super::error::FilterError;
use super::firwin::firwin_design;
use super::window::Window;

/// Width of a transition band.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Transition {
    /// MNE's 'auto': low side min(max(0.25 f, 2), f); high side min(max(0.25 f, 2), nyq - f).
    #[default]
    Auto,
    Hz(f64),
}

/// Number of taps.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum FilterLength {
    /// MNE's 'auto': length_factor(window) / narrowest transition seconds.
    #[default]
    Auto,
    Samples(usize),
    Seconds(f64),
}

/// A zero-phase FIR high-pass (only `l_freq`), low-pass (only `h_freq`), band-pass (both)
/// or all-pass (neither) specification, as `mne.filter.create_filter(method='fir')`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FirSpec {
    pub l_freq: Option<f64>,
    pub h_freq: Option<f64>,
    pub l_trans: Transition,
    pub h_trans: Transition,
    pub length: FilterLength,
    pub window: Window,
}

/// A designed linear-phase FIR filter (odd length, symmetric).
#[derive(Debug, Clone, PartialEq)]
pub struct FirFilter {
    pub taps: Vec<f64>,
    /// Human-readable summary like MNE's log (edges, transition bands, -6 dB cutoffs, length).
    pub description: String,
}

fn finite(param: &'static str, value: f64) -> Result<f64, FilterError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(FilterError::NotFinite { param, value })
    }
}

pub(crate) fn check_sfreq(sfreq: f64) -> Result<f64, FilterError> {
    if sfreq.is_finite() && sfreq > 0.0 {
        Ok(sfreq)
    } else {
        Err(FilterError::InvalidSampleRate { sfreq })
    }
}

/// MNE `_to_samples` + the odd-length rule for firwin; `narrowest` is the narrowest
/// transition band in Hz (infinite for an all-pass).
pub(crate) fn resolve_length(
    length: FilterLength,
    window: Window,
    narrowest: f64,
    sfreq: f64,
) -> Result<usize, FilterError> {
    let from_seconds = |secs: f64| -> Result<usize, FilterError> {
        if secs.is_nan() || secs < 0.0 || !secs.is_finite() {
            return Err(FilterError::LengthNotPositive { length: secs });
        }
        Ok(((secs * sfreq).ceil() as usize).max(1))
    };
    let n = match length {
        FilterLength::Auto => from_seconds(window.length_factor() / narrowest)?,
        FilterLength::Seconds(s) => {
            if s <= 0.0 {
                return Err(FilterError::LengthNotPositive { length: s });
            }
            from_seconds(s)?
        }
        FilterLength::Samples(0) => return Err(FilterError::LengthNotPositive { length: 0.0 }),
        FilterLength::Samples(n) => n,
    };
    // firwin and zero phase need an odd length: round even lengths up.
    Ok(n + (n - 1) % 2)
}

/// Design from control points in Hz (first 0, last Nyquist) and 0/1 gains.
pub(crate) fn design_from_points(
    freq_hz: &[f64],
    gain: &[f64],
    n: usize,
    window: Window,
    sfreq: f64,
) -> Result<Vec<f64>, FilterError> {
    let nyq = sfreq / 2.0;
    let freq: Vec<f64> = freq_hz.iter().map(|f| f / nyq).collect();
    firwin_design(n, &freq, gain, window, sfreq)
}

impl FirSpec {
    pub fn design(&self, sfreq: f64) -> Result<FirFilter, FilterError> {
        let sfreq = check_sfreq(sfreq)?;
        let nyq = sfreq / 2.0;
        let h_freq = match self.h_freq {
            Some(h) => {
                let h = finite("h_freq", h)?;
                if h >= nyq {
                    return Err(FilterError::LowPassAtOrAboveNyquist {
                        h_freq: h,
                        nyquist: nyq,
                    });
                }
                Some(h)
            }
            None => None,
        };
        // MNE treats l_freq == 0 as "no high-pass".
        let l_freq = match self.l_freq {
            Some(0.0) => None,
            Some(l) => {
                let l = finite("l_freq", l)?;
                if l <= 0.0 {
                    return Err(FilterError::HighPassNotPositive { l_freq: l });
                }
                Some(l)
            }
            None => None,
        };
        if let (Some(l), Some(h)) = (l_freq, h_freq)
            && l >= h
        {
            return Err(FilterError::EmptyPassband {
                l_freq: l,
                h_freq: h,
            });
        }
        let mut lines = Vec::new();
        let kind = match (l_freq, h_freq) {
            (Some(_), Some(_)) => "band-pass",
            (Some(_), None) => "high-pass",
            (None, Some(_)) => "low-pass",
            (None, None) => "all-pass",
        };
        lines.push(format!(
            "FIR {kind} filter: one-pass, zero-phase, non-causal; windowed time-domain design (firwin), {} window",
            self.window.name()
        ));
        let mut low = None;
        if let Some(l) = l_freq {
            let tr = match self.l_trans {
                Transition::Auto => (0.25 * l).max(2.0).min(l),
                Transition::Hz(t) => finite("l_trans_bandwidth", t)?,
            };
            if tr <= 0.0 {
                return Err(FilterError::TransitionNotPositive {
                    param: "l_trans_bandwidth",
                    value: tr,
                });
            }
            let stop = l - tr;
            if stop < 0.0 {
                return Err(FilterError::LowerStopNegative { l_trans: tr, stop });
            }
            lines.push(format!("- Lower passband edge: {l:.2} Hz"));
            lines.push(format!(
                "- Lower transition bandwidth: {tr:.2} Hz (-6 dB cutoff frequency: {:.2} Hz)",
                l - tr / 2.0
            ));
            low = Some((l, tr, stop));
        }
        let mut high = None;
        if let Some(h) = h_freq {
            let tr = match self.h_trans {
                Transition::Auto => (0.25 * h).max(2.0).min(nyq - h),
                Transition::Hz(t) => finite("h_trans_bandwidth", t)?,
            };
            if tr <= 0.0 {
                return Err(FilterError::TransitionNotPositive {
                    param: "h_trans_bandwidth",
                    value: tr,
                });
            }
            let stop = h + tr;
            if stop > nyq {
                return Err(FilterError::UpperStopAboveNyquist {
                    h_trans: tr,
                    stop,
                    nyquist: nyq,
                });
            }
            lines.push(format!("- Upper passband edge: {h:.2} Hz"));
            lines.push(format!(
                "- Upper transition bandwidth: {tr:.2} Hz (-6 dB cutoff frequency: {:.2} Hz)",
                h + tr / 2.0
            ));
            high = Some((h, tr, stop));
        }
        let narrowest = low
            .map(|x| x.1)
            .unwrap_or(f64::INFINITY)
            .min(high.map(|x| x.1).unwrap_or(f64::INFINITY));
        let n = resolve_length(self.length, self.window, narrowest, sfreq)?;
        lines.push(format!(
            "- Filter length: {n} samples ({:.3} s)",
            n as f64 / sfreq
        ));

        let (mut freq, mut gain): (Vec<f64>, Vec<f64>) = match (low, high) {
            (Some((l, _, ls)), Some((h, _, hs))) => (vec![ls, l, h, hs], vec![0.0, 1.0, 1.0, 0.0]),
            (Some((l, _, ls)), None) => (vec![ls, l, nyq], vec![0.0, 1.0, 1.0]),
            (None, Some((h, _, hs))) => (vec![0.0, h, hs], vec![1.0, 1.0, 0.0]),
            (None, None) => (vec![0.0, nyq], vec![1.0, 1.0]),
        };
        if high.is_some() && freq[freq.len() - 1] != nyq {
            freq.push(nyq);
            gain.push(0.0);
        }
        if low.is_some() && freq[0] != 0.0 {
            freq.insert(0, 0.0);
            gain.insert(0, 0.0);
        }
        let taps = design_from_points(&freq, &gain, n, self.window, sfreq)?;
        Ok(FirFilter {
            taps,
            description: lines.join("\n"),
        })
    }
}
