//! MNE's `notch_filter(method='fir')`: one band-stop FIR removing every frequency at once,
//! built as `create_filter` builds band-stops (`_triage_filter_params(..., reverse=True)`).

use super::error::FilterError;
use super::fir_design::{FilterLength, FirFilter, check_sfreq, design_from_points, resolve_length};
use super::window::Window;

/// Notch specification. Defaults as MNE: widths = freq / 200, trans_bandwidth = 1 Hz.
#[derive(Debug, Clone, PartialEq)]
pub struct NotchSpec {
    /// Centre frequencies to remove (pass harmonics explicitly).
    pub freqs: Vec<f64>,
    /// Stop-band widths in Hz: None = freq / 200; one value = same for all; else one per freq.
    pub widths: Option<Vec<f64>>,
    pub trans_bandwidth: f64,
    pub length: FilterLength,
    pub window: Window,
}

impl NotchSpec {
    pub fn new(freqs: Vec<f64>) -> Self {
        NotchSpec {
            freqs,
            widths: None,
            trans_bandwidth: 1.0,
            length: FilterLength::Auto,
            window: Window::Hamming,
        }
    }

    pub fn design(&self, sfreq: f64) -> Result<FirFilter, FilterError> {
        let sfreq = check_sfreq(sfreq)?;
        let nyq = sfreq / 2.0;
        if self.freqs.is_empty() {
            return Err(FilterError::NoNotchFrequencies);
        }
        if let Some(f) = self.freqs.iter().find(|f| !f.is_finite()) {
            return Err(FilterError::NotFinite {
                param: "freqs",
                value: *f,
            });
        }
        let widths: Vec<f64> = match &self.widths {
            None => self.freqs.iter().map(|f| f / 200.0).collect(),
            Some(w) if w.iter().any(|w| w.is_nan() || *w < 0.0) => {
                return Err(FilterError::NotchWidths {
                    reason: format!("notch_widths must be >= 0, got {w:?}"),
                });
            }
            Some(w) if w.len() == 1 => vec![w[0]; self.freqs.len()],
            Some(w) if w.len() == self.freqs.len() => w.clone(),
            Some(w) => {
                return Err(FilterError::NotchWidths {
                    reason: format!(
                        "notch_widths must be None, one value, or one per frequency ({}), got {}",
                        self.freqs.len(),
                        w.len()
                    ),
                });
            }
        };
        let tb_2 = self.trans_bandwidth / 2.0;
        if tb_2.is_nan() || tb_2 <= 0.0 || !tb_2.is_finite() {
            return Err(FilterError::TransitionNotPositive {
                param: "trans_bandwidth",
                value: self.trans_bandwidth,
            });
        }
        // Pass-band edges around each notch, with MNE's exact arithmetic.
        let lows: Vec<f64> = self
            .freqs
            .iter()
            .zip(&widths)
            .map(|(f, w)| f - w / 2.0 - tb_2)
            .collect();
        let highs: Vec<f64> = self
            .freqs
            .iter()
            .zip(&widths)
            .map(|(f, w)| f + w / 2.0 + tb_2)
            .collect();
        if let Some(&l) = lows.iter().find(|&&l| l <= 0.0) {
            return Err(FilterError::HighPassNotPositive { l_freq: l });
        }
        if let Some(&h) = highs.iter().find(|&&h| h >= nyq) {
            return Err(FilterError::LowPassAtOrAboveNyquist {
                h_freq: h,
                nyquist: nyq,
            });
        }
        // _triage_filter_params(reverse=True): stop = pass -/+ tb, then shifted back.
        let f_p1: Vec<f64> = lows.iter().map(|l| (l - tb_2) + tb_2).collect();
        let f_s1: Vec<f64> = lows.iter().map(|l| l + tb_2).collect();
        let f_p2: Vec<f64> = highs.iter().map(|h| (h + tb_2) - tb_2).collect();
        let f_s2: Vec<f64> = highs.iter().map(|h| h - tb_2).collect();
        if let Some(&stop) = f_p1.iter().find(|&&s| s < 0.0) {
            return Err(FilterError::LowerStopNegative {
                l_trans: tb_2,
                stop,
            });
        }
        if let Some(&stop) = f_p2.iter().find(|&&s| s > nyq) {
            return Err(FilterError::UpperStopAboveNyquist {
                h_trans: tb_2,
                stop,
                nyquist: nyq,
            });
        }
        let n = resolve_length(self.length, self.window, tb_2, sfreq)?;
        let mut points: Vec<(f64, f64)> = f_p1
            .iter()
            .map(|&f| (f, 1.0))
            .chain(f_s1.iter().map(|&f| (f, 0.0)))
            .chain(f_s2.iter().map(|&f| (f, 0.0)))
            .chain(f_p2.iter().map(|&f| (f, 1.0)))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        if points[0].0 != 0.0 {
            points.insert(0, (0.0, 1.0));
        }
        if points[points.len() - 1].0 != nyq {
            points.push((nyq, 1.0));
        }
        let (freq, gain): (Vec<f64>, Vec<f64>) = points.into_iter().unzip();
        if gain
            .windows(3)
            .any(|g| (g[2] - 2.0 * g[1] + g[0]).abs() > 1.0)
        {
            return Err(FilterError::NotchBandsOverlap);
        }
        let taps = design_from_points(&freq, &gain, n, self.window, sfreq)?;
        let bands: Vec<String> = self
            .freqs
            .iter()
            .zip(&widths)
            .map(|(f, w)| format!("{f:.2} Hz (width {w:.2} Hz)"))
            .collect();
        let description = format!(
            "FIR band-stop (notch) filter: one-pass, zero-phase, non-causal; firwin design, {} window\n\
             - Notches: {}\n- Transition bandwidth: {tb_2:.2} Hz each side\n\
             - Filter length: {n} samples ({:.3} s)",
            self.window.name(),
            bands.join(", "),
            n as f64 / sfreq
        );
        Ok(FirFilter { taps, description })
    }
}
