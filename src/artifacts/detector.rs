//! What every rule-based component detector returns, and how it fails.

use crate::dsp::FilterError;
use thiserror::Error;

/// Per-component result shared by all detectors.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorScores {
    /// One value per component: the score MNE reports (Pearson r, normalised Kuiper index,
    /// or the product of the muscle criteria).
    pub scores: Vec<f64>,
    /// The components MNE chooses.
    pub flagged: Vec<bool>,
    /// The threshold as applied to `scores` (for zscore detection: on the z-scores of
    /// `scores`; for the muscle detector: `threshold ^ n_criteria`).
    pub threshold: f64,
    /// The flagged components in the order MNE lists them (by |score| descending for the
    /// correlation and CTPS detectors, by index for the muscle detector).
    pub indices: Vec<usize>,
}

impl DetectorScores {
    /// Flags from an ordered index list.
    pub(crate) fn new(scores: Vec<f64>, indices: Vec<usize>, threshold: f64) -> Self {
        let mut flagged = vec![false; scores.len()];
        for &i in &indices {
            flagged[i] = true;
        }
        DetectorScores {
            scores,
            flagged,
            threshold,
            indices,
        }
    }
}

/// MNE's ordering of flagged components: by |score| descending (numpy's
/// `argsort()[::-1]`, so ties end up in reverse index order).
pub(crate) fn order_by_abs_score(mut idx: Vec<usize>, scores: &[f64]) -> Vec<usize> {
    idx.sort_by(|&a, &b| scores[a].abs().total_cmp(&scores[b].abs()).then(a.cmp(&b)));
    idx.reverse();
    idx
}

#[derive(Debug, Error, Clone, PartialEq)]
pub enum DetectorError {
    #[error(
        "{what} must be {expected}, got {got}; pass arrays from the same decomposition and recording"
    )]
    Shape {
        what: &'static str,
        got: String,
        expected: String,
    },
    #[error(
        "{what} has {n_samples} samples but the detector needs at least {needed} ({why}); use a longer recording"
    )]
    TooShort {
        what: &'static str,
        n_samples: usize,
        needed: usize,
        why: &'static str,
    },
    #[error(
        "{what} contains a non-finite value (NaN or infinity) at row {row}, sample {sample}; remove or interpolate the bad samples first"
    )]
    NotFinite {
        what: &'static str,
        row: usize,
        sample: usize,
    },
    #[error(
        "the reference channel (EOG/ECG) is flat, so it carries no artifact to match the components against; pick a channel that records the artifact"
    )]
    ConstantReference,
    #[error(
        "no sensor positions: {reason}; set a montage on the recording (e.g. standard_1005), or call muscle_scores with positions None to use only the spectral-slope criterion as MNE does"
    )]
    NoPositions { reason: String },
    #[error(
        "no heartbeats were found in the ECG channel; check that the channel carries the ECG (and its polarity/scale), or use the correlation method"
    )]
    NoHeartbeats,
    #[error("invalid detector parameter: {reason}")]
    InvalidParams { reason: String },
    #[error("sfreq must be a positive finite sampling rate in Hz, got {sfreq}")]
    InvalidSampleRate { sfreq: f64 },
    #[error(transparent)]
    Filter(#[from] FilterError),
}

/// Sources (components × samples) and one reference channel on the same samples: at
/// least one component, equal lengths. `what` names the reference in the message.
pub(crate) fn check_sources_and_reference(
    what: &'static str,
    sources: ndarray::ArrayView2<f64>,
    reference: ndarray::ArrayView1<f64>,
) -> Result<(), DetectorError> {
    if sources.ncols() != reference.len() {
        return Err(DetectorError::Shape {
            what,
            got: format!("{} samples", reference.len()),
            expected: format!("{} samples like the sources", sources.ncols()),
        });
    }
    if sources.nrows() == 0 {
        return Err(DetectorError::Shape {
            what: "sources",
            got: "0 components".into(),
            expected: "at least one component".into(),
        });
    }
    Ok(())
}

pub(crate) fn check_sfreq(sfreq: f64) -> Result<f64, DetectorError> {
    if sfreq.is_finite() && sfreq > 0.0 {
        Ok(sfreq)
    } else {
        Err(DetectorError::InvalidSampleRate { sfreq })
    }
}

/// First non-finite value of a 2-D array, as an error naming `what`.
pub(crate) fn check_finite_2d(
    what: &'static str,
    a: ndarray::ArrayView2<f64>,
) -> Result<(), DetectorError> {
    for (row, r) in a.outer_iter().enumerate() {
        if let Some(sample) = r.iter().position(|v| !v.is_finite()) {
            return Err(DetectorError::NotFinite { what, row, sample });
        }
    }
    Ok(())
}

pub(crate) fn check_finite_1d(
    what: &'static str,
    a: ndarray::ArrayView1<f64>,
) -> Result<(), DetectorError> {
    match a.iter().position(|v| !v.is_finite()) {
        Some(sample) => Err(DetectorError::NotFinite {
            what,
            row: 0,
            sample,
        }),
        None => Ok(()),
    }
}
