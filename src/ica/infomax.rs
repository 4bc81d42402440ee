//! Extended Infomax (Bell & Sejnowski 1995; Lee, Girolami & Sejnowski 1999), a port of
//! MNE's `mne.preprocessing.infomax` (itself EEGLAB's `runica`): stochastic natural-gradient
//! updates over shuffled blocks, per-component sub/super-Gaussian switching from a running
//! kurtosis estimate, learning-rate annealing when successive updates turn by more than
//! `anneal_deg`, and a restart with a lower rate when the weights blow up.

use ndarray::{Array1, Array2, ArrayView2, Axis};

use super::linalg::gemm_into;
use super::{IcaError, SolverOutput};
use crate::rng::Rng;

/// MNE's `infomax` parameters (`None` ↔ the MNE default computed from the data).
#[derive(Debug, Clone, PartialEq)]
pub struct InfomaxParams {
    pub extended: bool,
    /// Default 0.01 / ln(n²).
    pub l_rate: Option<f64>,
    /// Default floor(sqrt(n_samples / 3)).
    pub block: Option<usize>,
    pub w_change: f64,
    pub anneal_deg: f64,
    pub anneal_step: f64,
    pub n_subgauss: usize,
    pub kurt_size: usize,
    pub ext_blocks: usize,
    pub max_iter: usize,
    pub blowup: f64,
    pub blowup_fac: f64,
    /// Stop after this many consecutive small-angle steps (`None`: never).
    pub n_small_angle: Option<usize>,
    pub use_bias: bool,
}

impl Default for InfomaxParams {
    /// MNE's defaults with `extended=True` and ICA's `max_iter='auto'` (500).
    fn default() -> Self {
        InfomaxParams {
            extended: true,
            l_rate: None,
            block: None,
            w_change: 1e-12,
            anneal_deg: 60.0,
            anneal_step: 0.9,
            n_subgauss: 1,
            kurt_size: 6000,
            ext_blocks: 1,
            max_iter: 500,
            blowup: 1e4,
            blowup_fac: 0.5,
            n_small_angle: Some(20),
            use_bias: true,
        }
    }
}

/// Fisher (excess) kurtosis of each row, biased moments (scipy's default).
fn kurtosis_rows(a: &Array2<f64>) -> Array1<f64> {
    a.map_axis(Axis(1), |r| {
        let n = r.len() as f64;
        let m = r.sum() / n;
        let (mut m2, mut m4) = (0.0, 0.0);
        for &v in r.iter() {
            let d = (v - m) * (v - m);
            m2 += d;
            m4 += d * d;
        }
        m2 /= n;
        m4 /= n;
        if m2 == 0.0 {
            -3.0
        } else {
            m4 / (m2 * m2) - 3.0
        }
    })
}

fn sign_array(n: usize, n_subgauss: usize) -> Array1<f64> {
    Array1::from_shape_fn(n, |k| if k < n_subgauss { -1.0 } else { 1.0 })
}

/// Run Infomax on whitened data `z` (n × samples). Returns the unmixing matrix (MNE's
/// `weights.T`) and MNE's step count. `converged` is true when the weight change fell below
/// `w_change` or the small-angle rule stopped it before `max_iter`.
pub fn infomax(
    z: ArrayView2<f64>,
    params: &InfomaxParams,
    rng: &mut Rng,
) -> Result<SolverOutput, IcaError> {
    const MAX_WEIGHT: f64 = 1e8;
    const RESTART_FAC: f64 = 0.9;
    const MIN_L_RATE: f64 = 1e-10;
    const DEGCONST: f64 = 180.0 / std::f64::consts::PI;
    const EXTMOMENTUM: f64 = 0.5;
    const SIGNSBIAS: f64 = 0.02;
    const SIGNCOUNT_THRESHOLD: usize = 25;
    const SIGNCOUNT_STEP: usize = 2;

    // MNE works on (n_samples, n_features); keep that layout so a block is contiguous rows.
    let data = z.t().as_standard_layout().into_owned();
    let (n_samples, n_features) = data.dim();
    let nf = n_features as f64;
    let mut l_rate = params.l_rate.unwrap_or(0.01 / (nf * nf).ln());
    let block = params
        .block
        .unwrap_or(((n_samples as f64 / 3.0).sqrt()).floor() as usize)
        .max(1);
    let nblock = n_samples / block;
    if nblock == 0 {
        return Err(IcaError::TooFewSamples {
            n_samples,
            needed: block,
            n_components: n_features,
        });
    }
    let lastt = (nblock - 1) * block + 1;
    let mut max_iter = params.max_iter;

    let startweights = Array2::<f64>::eye(n_features);
    let mut weights = startweights.clone();
    let bf = block as f64;
    let mut bias = Array1::<f64>::zeros(n_features);
    let mut oldweights = startweights.clone();
    let mut step = 0usize;
    let mut count_small_angle = 0usize;
    let mut wts_blowup = false;
    let mut blockno: usize = 0;
    let mut signcount = 0usize;
    let mut ext_blocks = params.ext_blocks;
    let kurt_size = params.kurt_size.min(n_samples);
    let mut signs = sign_array(n_features, params.n_subgauss);
    let mut old_kurt = Array1::<f64>::zeros(n_features);
    let mut oldsigns = Array1::<f64>::zeros(n_features);
    let mut olddelta = Array2::<f64>::zeros((n_features, n_features));
    let mut oldchange = 0.0f64;
    let mut first_olddelta_scalar = true; // MNE starts with olddelta = 1.0 (a scalar)
    let mut stopped_early = false;

    let mut xb = Array2::<f64>::zeros((block, n_features));
    let mut u = Array2::<f64>::zeros((block, n_features));
    let mut inner = Array2::<f64>::zeros((n_features, n_features));
    let mut update = Array2::<f64>::zeros((n_features, n_features));
    let mut kurt_rows = Array2::<f64>::zeros((kurt_size, n_features));
    let mut tpart = Array2::<f64>::zeros((kurt_size, n_features));

    while step < max_iter {
        let permute = rng.permutation(n_samples);
        let mut t = 0;
        while t < lastt {
            for (r, &idx) in permute[t..t + block].iter().enumerate() {
                xb.row_mut(r).assign(&data.row(idx));
            }
            gemm_into(u.view_mut(), xb.view(), weights.view(), 1.0, false);
            for mut row in u.outer_iter_mut() {
                row += &bias;
            }
            if params.extended {
                let y = u.mapv(f64::tanh);
                // inner = block·I − signs[None, :] * (uᵀ y) − uᵀ u
                gemm_into(inner.view_mut(), u.t(), y.view(), -1.0, false);
                for mut row in inner.outer_iter_mut() {
                    row *= &signs;
                }
                gemm_into(inner.view_mut(), u.t(), u.view(), -1.0, true);
                for k in 0..n_features {
                    inner[(k, k)] += bf;
                }
                gemm_into(update.view_mut(), weights.view(), inner.view(), 1.0, false);
                weights.scaled_add(l_rate, &update);
                if params.use_bias {
                    let ysum = y.sum_axis(Axis(0));
                    bias.scaled_add(-2.0 * l_rate, &ysum);
                }
            } else {
                // y = expit(u); inner = block·I + uᵀ (1 − 2y)
                let one_m2y = u.mapv(|v| 1.0 - 2.0 / (1.0 + (-v).exp()));
                gemm_into(inner.view_mut(), u.t(), one_m2y.view(), 1.0, false);
                for k in 0..n_features {
                    inner[(k, k)] += bf;
                }
                gemm_into(update.view_mut(), weights.view(), inner.view(), 1.0, false);
                weights.scaled_add(l_rate, &update);
                if params.use_bias {
                    bias.scaled_add(l_rate, &one_m2y.sum_axis(Axis(0)));
                }
            }
            let max_weight_val = weights.iter().fold(0.0f64, |a, &v| a.max(v.abs()));
            // NaN weights count as a blow-up too (MNE would carry NaN on; we restart).
            if max_weight_val > MAX_WEIGHT || !max_weight_val.is_finite() {
                wts_blowup = true;
            }
            blockno += 1;
            if wts_blowup {
                break;
            }
            if params.extended && ext_blocks > 0 && blockno.is_multiple_of(ext_blocks) {
                let kurt = if kurt_size < n_samples {
                    for r in 0..kurt_size {
                        let idx = (rng.uniform() * (n_samples - 1) as f64).floor() as usize;
                        kurt_rows.row_mut(r).assign(&data.row(idx));
                    }
                    gemm_into(
                        tpart.view_mut(),
                        kurt_rows.view(),
                        weights.view(),
                        1.0,
                        false,
                    );
                    kurtosis_rows(&tpart.t().to_owned())
                } else {
                    let full = super::linalg::matmul(data.view(), weights.view());
                    kurtosis_rows(&full.t().to_owned())
                };
                let kurt = &old_kurt * EXTMOMENTUM + &kurt * (1.0 - EXTMOMENTUM);
                old_kurt = kurt.clone();
                signs = kurt.mapv(|k| {
                    let v = k + SIGNSBIAS;
                    if v > 0.0 {
                        1.0
                    } else if v < 0.0 {
                        -1.0
                    } else {
                        0.0
                    }
                });
                let ndiff = signs
                    .iter()
                    .zip(oldsigns.iter())
                    .filter(|(a, b)| a != b)
                    .count();
                if ndiff == 0 {
                    signcount += 1;
                } else {
                    signcount = 0;
                }
                oldsigns = signs.clone();
                if signcount >= SIGNCOUNT_THRESHOLD {
                    ext_blocks *= SIGNCOUNT_STEP;
                    signcount = 0;
                }
            }
            t += block;
        }

        if !wts_blowup {
            let delta = &weights - &oldweights;
            step += 1;
            let mut angledelta = 0.0;
            let change = delta.iter().map(|v| v * v).sum::<f64>();
            if step > 2 {
                let dot = if first_olddelta_scalar {
                    delta.sum()
                } else {
                    (&delta * &olddelta).sum()
                };
                let cosine = (dot / (change * oldchange).sqrt()).clamp(-1.0, 1.0);
                angledelta = cosine.acos() * DEGCONST;
            }
            oldweights = weights.clone();
            if angledelta > params.anneal_deg {
                l_rate *= params.anneal_step;
                olddelta = delta;
                first_olddelta_scalar = false;
                oldchange = change;
                count_small_angle = 0;
            } else {
                if step == 1 {
                    olddelta = delta;
                    first_olddelta_scalar = false;
                    oldchange = change;
                }
                if let Some(limit) = params.n_small_angle {
                    count_small_angle += 1;
                    if count_small_angle > limit {
                        max_iter = step;
                        stopped_early = true;
                    }
                }
            }
            if step > 2 && change < params.w_change {
                step = max_iter;
                stopped_early = true;
            } else if change > params.blowup {
                l_rate *= params.blowup_fac;
            }
        } else {
            step = 0;
            wts_blowup = false;
            blockno = 1;
            l_rate *= RESTART_FAC;
            weights = startweights.clone();
            oldweights = startweights.clone();
            olddelta = Array2::zeros((n_features, n_features));
            first_olddelta_scalar = false;
            bias = Array1::zeros(n_features);
            ext_blocks = params.ext_blocks;
            if params.extended {
                signs = sign_array(n_features, params.n_subgauss);
                oldsigns = Array1::zeros(n_features);
            }
            if l_rate > MIN_L_RATE {
                tracing::debug!("Infomax: lowering learning rate to {l_rate} and restarting");
            } else {
                return Err(IcaError::InfomaxBlowup);
            }
        }
    }
    Ok(SolverOutput {
        unmixing: weights.t().to_owned(),
        n_iter: step,
        converged: stopped_early,
    })
}
