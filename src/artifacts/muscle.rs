//! Muscle components, MNE's `ICA.find_bads_muscle` (Dharmaprani et al. 2016): the product
//! of three logistic scores — a positive log-log spectral slope between `l_freq` and
//! `h_freq` (Welch PSD as `Raw.compute_psd`), a topography weighted towards the periphery, and a spatially rough
//! (single-focus) topography — compared with `threshold³`. Without sensor positions only the
//! slope is used, compared with `threshold`.

use ndarray::{Array2, ArrayView2, Axis};

use super::detector::{DetectorError, DetectorScores, check_finite_2d, check_sfreq};
use super::sensor_projection::{DEFAULT_SPHERE_ORIGIN, topomap_coords};
use super::welch::{psd_welch, raw_n_fft};

#[derive(Debug, Clone, PartialEq)]
pub struct MuscleParams {
    /// Relative to a typical muscle component (MNE default 0.5).
    pub threshold: f64,
    /// Band of the spectral slope, Hz (MNE: 7–45).
    pub l_freq: f64,
    pub h_freq: f64,
    /// Head-sphere origin for the 2-D sensor layout (MNE's `sphere=None`: the origin).
    pub sphere_origin: [f64; 3],
}

impl Default for MuscleParams {
    fn default() -> Self {
        MuscleParams {
            threshold: 0.5,
            l_freq: 7.0,
            h_freq: 45.0,
            sphere_origin: DEFAULT_SPHERE_ORIGIN,
        }
    }
}

fn expit(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Score components. `sources`: components × samples (`ica.get_sources`);
/// `mixing_channel_space`: channels × components (`ica.get_components()`); `positions_m`:
/// channels × 3 in metres, head frame, or `None` for the slope criterion alone (MNE's
/// behaviour when the recording has no sensor positions).
pub fn muscle_scores(
    sources: ArrayView2<f64>,
    mixing_channel_space: ArrayView2<f64>,
    positions_m: Option<ArrayView2<f64>>,
    sfreq: f64,
    params: &MuscleParams,
) -> Result<DetectorScores, DetectorError> {
    let sfreq = check_sfreq(sfreq)?;
    let n_comp = sources.nrows();
    if n_comp == 0 {
        return Err(DetectorError::Shape {
            what: "sources",
            got: "0 components".into(),
            expected: "at least one component".into(),
        });
    }
    if mixing_channel_space.ncols() != n_comp {
        return Err(DetectorError::Shape {
            what: "the mixing matrix (channels × components)",
            got: format!("{} columns", mixing_channel_space.ncols()),
            expected: format!("{n_comp} columns, one per source"),
        });
    }
    let n_ch = mixing_channel_space.nrows();
    if n_ch < 2 {
        return Err(DetectorError::Shape {
            what: "the mixing matrix (channels × components)",
            got: format!("{n_ch} rows"),
            expected: "at least 2 channels".into(),
        });
    }
    if !(params.l_freq > 0.0 && params.l_freq < params.h_freq && params.h_freq.is_finite()) {
        return Err(DetectorError::InvalidParams {
            reason: format!(
                "the slope band must satisfy 0 < l_freq < h_freq, got {}..{} Hz; MNE uses 7..45",
                params.l_freq, params.h_freq
            ),
        });
    }
    if !params.threshold.is_finite() {
        return Err(DetectorError::InvalidParams {
            reason: format!(
                "threshold must be finite, got {}; MNE's default is 0.5",
                params.threshold
            ),
        });
    }
    check_finite_2d("sources", sources)?;
    check_finite_2d("the mixing matrix", mixing_channel_space)?;

    // 1. slope of the log-log PSD (np.polyfit degree 1 = least squares).
    let n_fft = raw_n_fft(sources.ncols());
    let (psd, freqs) = psd_welch(sources, sfreq, params.l_freq, params.h_freq, n_fft)?;
    if freqs.len() < 2 {
        return Err(DetectorError::InvalidParams {
            reason: format!(
                "only {} frequency bin between {} and {} Hz; widen the band to fit a slope",
                freqs.len(),
                params.l_freq,
                params.h_freq
            ),
        });
    }
    let log_f: Vec<f64> = freqs.iter().map(|f| f.log10()).collect();
    let slope_score: Vec<f64> = psd
        .outer_iter()
        .map(|p| {
            let log_p: Vec<f64> = p.iter().map(|v| v.log10()).collect();
            expit((ls_slope(&log_f, &log_p) + 0.5) / 0.25)
        })
        .collect();

    let Some(positions) = positions_m else {
        let indices = (0..n_comp)
            .filter(|&i| slope_score[i] > params.threshold)
            .collect();
        return Ok(DetectorScores::new(slope_score, indices, params.threshold));
    };
    check_positions(positions, n_ch)?;

    // 2. distance of the topography's weight from the centre of the layout.
    let mut norm = mixing_channel_space.mapv(f64::abs);
    for mut col in norm.axis_iter_mut(Axis(1)) {
        let max = col.fold(0.0f64, |m, v| m.max(*v));
        col.mapv_inplace(|v| v / max);
    }
    let mut pos = topomap_coords(positions, params.sphere_origin);
    let centre = pos.mean_axis(Axis(0)).expect("at least two channels");
    pos -= &centre;
    let mut dists: Vec<f64> = pos
        .outer_iter()
        .map(|p| (p[0] * p[0] + p[1] * p[1]).sqrt())
        .collect();
    let dmax = dists.iter().fold(0.0f64, |m, v| m.max(*v));
    dists.iter_mut().for_each(|d| *d /= dmax);
    let focus_score: Vec<f64> = norm
        .axis_iter(Axis(1))
        .map(|col| {
            let focus: f64 = dists.iter().zip(col.iter()).map(|(d, c)| d * c).sum();
            expit((focus - 0.65) / 0.1)
        })
        .collect();

    // 3. smoothness: sum over channel pairs of (1 − normalised sensor distance) ×
    // normalised difference of the topography values.
    let mut closeness = pairwise_distances(&pos);
    let cmax = closeness.iter().fold(0.0f64, |m, v| m.max(*v));
    closeness.mapv_inplace(|d| 1.0 - d / cmax);
    let smooth_score: Vec<f64> = mixing_channel_space
        .axis_iter(Axis(1))
        .map(|comp| {
            let mut diff_max = 0.0f64;
            for i in 0..n_ch {
                for j in 0..n_ch {
                    diff_max = diff_max.max((comp[i] - comp[j]).abs());
                }
            }
            let mut s = 0.0;
            for i in 0..n_ch {
                for j in 0..n_ch {
                    s += closeness[[i, j]] * ((comp[i] - comp[j]).abs() / diff_max);
                }
            }
            1.0 - expit((s - 300.0) / 100.0)
        })
        .collect();

    let scores: Vec<f64> = (0..n_comp)
        .map(|i| slope_score[i] * focus_score[i] * smooth_score[i])
        .collect();
    let threshold = params.threshold.powi(3);
    let indices = (0..n_comp).filter(|&i| scores[i] > threshold).collect();
    Ok(DetectorScores::new(scores, indices, threshold))
}

/// Least-squares slope of y on x.
fn ls_slope(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    sxy / sxx
}

fn pairwise_distances(pos: &Array2<f64>) -> Array2<f64> {
    let n = pos.nrows();
    Array2::from_shape_fn((n, n), |(i, j)| {
        let dx = pos[[i, 0]] - pos[[j, 0]];
        let dy = pos[[i, 1]] - pos[[j, 1]];
        (dx * dx + dy * dy).sqrt()
    })
}

/// MNE falls back to the slope criterion when no channel has a position; we make the
/// caller choose that explicitly (`None`), and refuse a partial montage, which MNE would
/// silently place at the head origin.
fn check_positions(positions: ArrayView2<f64>, n_ch: usize) -> Result<(), DetectorError> {
    if positions.nrows() != n_ch || positions.ncols() != 3 {
        return Err(DetectorError::Shape {
            what: "sensor positions",
            got: format!("{} × {}", positions.nrows(), positions.ncols()),
            expected: format!("{n_ch} × 3 (one x, y, z row per channel of the mixing matrix)"),
        });
    }
    let missing = |r: ndarray::ArrayView1<f64>| {
        r.iter().any(|v| !v.is_finite()) || r.iter().all(|v| *v == 0.0)
    };
    let n_missing = positions.outer_iter().filter(|r| missing(*r)).count();
    if n_missing == n_ch {
        return Err(DetectorError::NoPositions {
            reason: "every channel position is zero or NaN".into(),
        });
    }
    if let Some(ch) = positions.outer_iter().position(missing) {
        return Err(DetectorError::NoPositions {
            reason: format!("channel {ch} (of {n_ch}) has no position (zero or NaN)"),
        });
    }
    Ok(())
}
