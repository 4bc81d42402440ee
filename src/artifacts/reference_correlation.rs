//! Components that follow a reference channel: MNE's `ICA.find_bads_eog`,
//! `find_bads_ecg(method="correlation")` and `find_bads_ref` (`ICA._find_bads_ch`). Sources
//! and reference are band-passed alike (zero-double FIR, firwin2, Hann, 10 s, 0.5 Hz
//! transitions), each source is Pearson-correlated with the reference, and components are
//! chosen by iterated z-scoring of the correlations or by an absolute |r| threshold.

use ndarray::{Array2, ArrayView1, ArrayView2, Axis};

use super::detector::{
    DetectorError, DetectorScores, check_finite_1d, check_finite_2d, check_sfreq,
    check_sources_and_reference, order_by_abs_score,
};
use super::outliers::find_outliers;
use crate::dsp::ZeroDoubleSpec;

/// How correlations become flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// |z-score| of the correlations above `threshold`, iterated twice (MNE `_find_outliers`).
    ZScore,
    /// |r| above `threshold`.
    Correlation,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationParams {
    /// Band-pass applied to sources and reference before correlating: both or neither.
    pub l_freq: Option<f64>,
    pub h_freq: Option<f64>,
    pub threshold: f64,
    pub measure: Measure,
}

impl CorrelationParams {
    /// `find_bads_eog` defaults: 1–10 Hz, z-score threshold 3.0.
    pub fn eog() -> Self {
        CorrelationParams {
            l_freq: Some(1.0),
            h_freq: Some(10.0),
            threshold: 3.0,
            measure: Measure::ZScore,
        }
    }

    /// `find_bads_ecg(method="correlation")` defaults: 8–16 Hz, threshold 'auto' = 3.0
    /// with the z-score measure.
    pub fn ecg() -> Self {
        CorrelationParams {
            l_freq: Some(8.0),
            h_freq: Some(16.0),
            threshold: 3.0,
            measure: Measure::ZScore,
        }
    }

    /// `find_bads_ecg(method="correlation", measure="correlation")`: threshold 'auto' = 0.9.
    pub fn ecg_absolute() -> Self {
        CorrelationParams {
            threshold: 0.9,
            measure: Measure::Correlation,
            ..Self::ecg()
        }
    }
}

/// `scipy.stats.pearsonr(x, y).statistic`: centred, scaled by the largest magnitude, then
/// the dot product of unit vectors, clipped to [-1, 1]. NaN when `x` is constant.
pub fn pearson_r(x: ArrayView1<f64>, y: ArrayView1<f64>) -> f64 {
    let n = x.len() as f64;
    let centre_scale = |v: ArrayView1<f64>| -> Vec<f64> {
        let mean = v.sum() / n;
        let mut c: Vec<f64> = v.iter().map(|a| a - mean).collect();
        let max = c.iter().fold(0.0f64, |m, a| m.max(a.abs()));
        c.iter_mut().for_each(|a| *a /= max);
        let norm = c.iter().map(|a| a * a).sum::<f64>().sqrt();
        c.iter_mut().for_each(|a| *a /= norm);
        c
    };
    let (xs, ys) = (centre_scale(x), centre_scale(y));
    let r: f64 = xs.iter().zip(&ys).map(|(a, b)| a * b).sum();
    r.clamp(-1.0, 1.0)
}

/// Correlate each source (components × samples, as `ica.get_sources`) with the reference
/// (the EOG/ECG/proxy channel) and flag components as MNE's `_find_bads_ch` does for one
/// reference channel. Scores are Pearson r (NaN for a constant component, never flagged).
pub fn correlate_with_reference(
    sources: ArrayView2<f64>,
    reference: ArrayView1<f64>,
    sfreq: f64,
    params: &CorrelationParams,
) -> Result<DetectorScores, DetectorError> {
    let sfreq = check_sfreq(sfreq)?;
    check_sources_and_reference("the reference channel", sources, reference)?;
    if reference.len() < 2 {
        return Err(DetectorError::TooShort {
            what: "the recording",
            n_samples: reference.len(),
            needed: 2,
            why: "a correlation needs two samples",
        });
    }
    if !params.threshold.is_finite() {
        return Err(DetectorError::InvalidParams {
            reason: format!(
                "threshold must be finite, got {}; MNE's default is 3.0 (z-score)",
                params.threshold
            ),
        });
    }
    check_finite_2d("sources", sources)?;
    check_finite_1d("the reference channel", reference)?;
    // Checked before filtering: a flat channel filters to rounding noise, which MNE would
    // happily correlate.
    if is_constant(reference) {
        return Err(DetectorError::ConstantReference);
    }

    let mut sources = sources.to_owned();
    let mut target = reference.to_owned().insert_axis(Axis(0));
    match (params.l_freq, params.h_freq) {
        (Some(l), Some(h)) => {
            let fir = ZeroDoubleSpec::mne_band_pass(l, h).design(sfreq)?;
            fir.apply(sources.view_mut());
            fir.apply(target.view_mut());
        }
        (None, None) => {}
        _ => {
            return Err(DetectorError::InvalidParams {
                reason: "give both l_freq and h_freq (a band-pass) or neither, as MNE requires"
                    .into(),
            });
        }
    }
    let target = target.row(0);
    if is_constant(target) {
        return Err(DetectorError::ConstantReference);
    }
    let scores = correlations(&sources, target);
    let indices = match params.measure {
        Measure::ZScore => find_outliers(&scores, params.threshold, 2),
        Measure::Correlation => (0..scores.len())
            .filter(|&i| scores[i].abs() > params.threshold)
            .collect(),
    };
    let indices = order_by_abs_score(indices, &scores);
    Ok(DetectorScores::new(scores, indices, params.threshold))
}

pub(crate) fn is_constant(x: ArrayView1<f64>) -> bool {
    x.iter().all(|&v| v == x[0])
}

fn correlations(sources: &Array2<f64>, target: ArrayView1<f64>) -> Vec<f64> {
    sources
        .outer_iter()
        .map(|row| pearson_r(row, target))
        .collect()
}

/// MNE's combination of several reference channels (e.g. `find_bads_eog` with two EOG
/// channels): all flagged components ordered by |score| descending across channels,
/// each listed once at its best position.
pub fn merged_indices(results: &[DetectorScores]) -> Vec<usize> {
    // Concatenated per channel in index order, as MNE concatenates its per-channel lists.
    let all: Vec<(usize, f64)> = results
        .iter()
        .flat_map(|r| {
            (0..r.flagged.len())
                .filter(|&i| r.flagged[i])
                .map(move |i| (i, r.scores[i]))
        })
        .collect();
    // numpy argsort()[::-1] on |score|: descending, later entries first among ties.
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by(|&a, &b| all[a].1.abs().total_cmp(&all[b].1.abs()).then(a.cmp(&b)));
    order.reverse();
    let mut out: Vec<usize> = Vec::new();
    for k in order {
        if !out.contains(&all[k].0) {
            out.push(all[k].0);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_indices_rank_across_channels_and_drop_repeats() {
        // Channel A flags 0 (r = -0.9) and 3 (0.5); channel B flags 3 (0.95) and 1 (0.6).
        // MNE: concatenated [0, 3, 1, 3] with |r| [0.9, 0.5, 0.6, 0.95] → argsort desc
        // [3, 0, 1, 3] → unique in order [3, 0, 1].
        let a = DetectorScores::new(vec![-0.9, 0.1, 0.0, 0.5], vec![0, 3], 3.0);
        let b = DetectorScores::new(vec![0.2, 0.6, 0.0, 0.95], vec![3, 1], 3.0);
        assert_eq!(merged_indices(&[a, b]), vec![3, 0, 1]);
    }

    #[test]
    fn pearson_matches_the_definition() {
        let x = ndarray::array![1.0, 2.0, 4.0, 7.0, 11.0];
        let y = ndarray::array![2.0, 1.0, 5.0, 6.0, 13.0];
        let (mx, my) = (5.0, 5.4);
        let sxy: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
        let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
        let syy: f64 = y.iter().map(|b| (b - my) * (b - my)).sum();
        let r = pearson_r(x.view(), y.view());
        assert!((r - sxy / (sxx * syy).sqrt()).abs() < 1e-15);
        assert!(
            pearson_r(
                ndarray::array![1.0, 1.0, 1.0].view(),
                y.slice(ndarray::s![..3])
            )
            .is_nan()
        );
    }
}
