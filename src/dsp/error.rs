//! Typed errors for filter design and application: each names the offending parameter
//! and says what to change.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum FilterError {
    #[error("sfreq must be a positive finite sampling rate in Hz, got {sfreq}")]
    InvalidSampleRate { sfreq: f64 },
    #[error("{param} must be a finite number, got {value}")]
    NotFinite { param: &'static str, value: f64 },
    #[error(
        "l_freq (high-pass edge) must be greater than zero, got {l_freq} Hz; use None for no high-pass"
    )]
    HighPassNotPositive { l_freq: f64 },
    #[error(
        "h_freq (low-pass edge) {h_freq} Hz must be less than the Nyquist frequency {nyquist} Hz; lower h_freq or use None for no low-pass"
    )]
    LowPassAtOrAboveNyquist { h_freq: f64, nyquist: f64 },
    #[error(
        "l_freq ({l_freq} Hz) must be below h_freq ({h_freq} Hz) for a band-pass; swap them or use a band-stop (notch) filter"
    )]
    EmptyPassband { l_freq: f64, h_freq: f64 },
    #[error("{param} must be positive, got {value} Hz")]
    TransitionNotPositive { param: &'static str, value: f64 },
    #[error(
        "l_trans_bandwidth {l_trans} Hz puts the lower stop frequency at {stop} Hz (negative); increase l_freq or reduce l_trans_bandwidth"
    )]
    LowerStopNegative { l_trans: f64, stop: f64 },
    #[error(
        "h_trans_bandwidth {h_trans} Hz puts the upper stop frequency at {stop} Hz, above Nyquist {nyquist} Hz; lower h_freq or reduce h_trans_bandwidth"
    )]
    UpperStopAboveNyquist {
        h_trans: f64,
        stop: f64,
        nyquist: f64,
    },
    #[error("filter length must be at least one sample, got {length}; give a positive length")]
    LengthNotPositive { length: f64 },
    #[error(
        "filter length {length} samples is too short for the {transition_hz:.2} Hz transition band, which needs {required} samples; increase the filter length or widen the transition band"
    )]
    LengthTooShortForTransition {
        length: usize,
        transition_hz: f64,
        required: usize,
    },
    #[error("notch freqs must not be empty; give at least one frequency to remove")]
    NoNotchFrequencies,
    #[error("notch widths: {reason}")]
    NotchWidths { reason: String },
    #[error(
        "notch stop bands are not sufficiently separated; reduce the notch widths or trans_bandwidth"
    )]
    NotchBandsOverlap,
    #[error("IIR order must be at least 1, got {order}")]
    IirOrder { order: usize },
    #[error("IIR filter needs l_freq or h_freq (or both)")]
    IirNoCutoff,
    #[error(
        "IIR filter is unstable (a pole lies outside the unit circle); lower the order or widen the band"
    )]
    IirUnstable,
    #[error("firwin2 design: {reason}")]
    Firwin2 { reason: String },
    #[error("resample: {reason}")]
    Resample { reason: String },
}
