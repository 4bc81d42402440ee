//! Pre-whitening and PCA exactly as `mne.preprocessing.ICA._fit` does them (MNE 1.13), so
//! that our matrices can be compared with MNE's one for one:
//!
//! 1. `pre_whitener`: one scalar, the population standard deviation of *all* values of the
//!    (single channel type) data — MNE's `_compute_pre_whitener` without a noise covariance.
//! 2. `mean`: per-channel mean of the pre-whitened data (`pca_mean_`).
//! 3. `components` (`pca_components_`, rows = principal axes in channel space, all
//!    `min(n_channels, n_samples)` of them as MNE keeps them) and `explained_variance`
//!    (`pca_explained_variance_` = singular value² / (n_samples − 1)), in decreasing order.
//!    MNE gets them from an SVD of the centred data; we take the eigendecomposition of the
//!    channel Gram matrix (same subspace, the data are never copied whole). Signs follow
//!    sklearn's `svd_flip(u_based_decision=True)`: each axis is oriented so that the score
//!    with the largest magnitude over samples is positive.
//! 4. `rank`: the number of axes whose variance is above `RANK_RTOL × largest variance`.
//!    Average-referenced or interpolated EEG has exact linear dependencies; the axes beyond
//!    the rank carry only rounding noise and must never become ICA components.

use ndarray::{Array1, Array2, ArrayView2, s};

use super::IcaError;
use super::linalg::{eigh, gemm_into, gram_lower_into, matmul};

/// Samples processed per block, so no full-size copy of the data is ever made. Fixed, so the
/// summation order (and every bit of the result) does not depend on anything else.
const CHUNK: usize = 4096;

/// Relative variance below which a principal axis is rounding noise. The Gram matrix's
/// eigenvalues carry an absolute error of about `n_channels · eps · λ_max`; a margin of
/// 1e3 above that keeps genuine low-variance EEG axes (≥ 1e-10 relative in practice) and drops
/// the exact dependencies (≈ 1e-16 relative).
pub fn rank_rtol(n_channels: usize) -> f64 {
    1e3 * n_channels.max(1) as f64 * f64::EPSILON
}

/// How many components to unmix: a count, or the smallest number of principal axes whose
/// cumulative explained-variance ratio exceeds a fraction in (0, 1] (MNE's rule).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ComponentCount {
    Count(usize),
    VarianceFraction(f64),
}

/// The PCA stage of an ICA fit. See the module documentation for each field's meaning.
#[derive(Debug, Clone)]
pub struct Pca {
    /// Scalar pre-whitener (volts if the data are in volts).
    pub pre_whitener: f64,
    /// Per-channel mean of the pre-whitened data, length n_channels.
    pub mean: Array1<f64>,
    /// Principal axes as rows, shape (min(n_channels, n_samples), n_channels).
    pub components: Array2<f64>,
    /// Variance of the pre-whitened data along each axis, decreasing.
    pub explained_variance: Array1<f64>,
    /// Numerical rank of the centred data.
    pub rank: usize,
    pub n_samples: usize,
}

/// Fit the pre-whitener and the PCA to `data` (n_channels × n_samples).
pub fn fit_pca(data: ArrayView2<f64>) -> Result<Pca, IcaError> {
    fit_pca_impl(data, None).map(|(pca, _)| pca)
}

/// [`fit_pca`], the number of components for `request` ([`Pca::choose_n_components`]) and
/// the whitened scores of that many components ([`Pca::whitened`]), from one pass less over
/// the data: the scores come out of the pass that orients the axes.
pub fn fit_pca_whitened(
    data: ArrayView2<f64>,
    request: ComponentCount,
) -> Result<(Pca, Array2<f64>), IcaError> {
    let (pca, whitened) = fit_pca_impl(data, Some(request))?;
    let whitened = whitened.ok_or(IcaError::Decomposition("PCA whitening"))?;
    Ok((pca, whitened))
}

/// Σ f(x) over `values` with eight running sums (a fixed order, so the same bits every
/// time), which the compiler can vectorise where a single running sum could not be.
fn sum_in_lanes(values: &[f64], f: impl Fn(f64) -> f64) -> f64 {
    let mut lanes = [0.0f64; 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..8 {
            lanes[l] += f(c[l]);
        }
    }
    for (l, &x) in rest.iter().enumerate() {
        lanes[l] += f(x);
    }
    ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]))
        + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]))
}

/// Largest |x| over `values` (exact in any order).
fn max_abs(values: &[f64]) -> f64 {
    let mut lanes = [0.0f64; 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..8 {
            lanes[l] = lanes[l].max(c[l].abs());
        }
    }
    for (l, &x) in rest.iter().enumerate() {
        lanes[l] = lanes[l].max(x.abs());
    }
    lanes.iter().fold(0.0f64, |a, &b| a.max(b))
}

/// Σ over every value of `data` of `f(value)`, row by row.
fn sum_all(data: ArrayView2<f64>, f: impl Fn(f64) -> f64 + Copy) -> f64 {
    data.rows()
        .into_iter()
        .map(|row| match row.as_slice() {
            Some(s) => sum_in_lanes(s, f),
            None => sum_in_lanes(&row.to_vec(), f),
        })
        .sum()
}

fn fit_pca_impl(
    data: ArrayView2<f64>,
    request: Option<ComponentCount>,
) -> Result<(Pca, Option<Array2<f64>>), IcaError> {
    let (n_ch, n_t) = data.dim();
    if n_ch == 0 {
        return Err(IcaError::NoChannels);
    }
    if n_t < 2 {
        return Err(IcaError::TooFewSamples {
            n_samples: n_t,
            needed: 2,
            n_components: 0,
        });
    }
    // Per-channel sums, in one pass that also checks the values: a sum is finite only if
    // every term is (NaN and ±inf propagate), so only a non-finite sum needs the search for
    // the culprit (which finds none if finite values merely overflowed the sum).
    let row_sums: Vec<f64> = data
        .rows()
        .into_iter()
        .map(|row| match row.as_slice() {
            Some(s) => sum_in_lanes(s, |x| x),
            None => sum_in_lanes(&row.to_vec(), |x| x),
        })
        .collect();
    let grand_sum: f64 = row_sums.iter().sum();
    if !grand_sum.is_finite()
        && let Some(((ch, t), v)) = data.indexed_iter().find(|(_, v)| !v.is_finite())
    {
        return Err(IcaError::NonFinite {
            channel: ch,
            sample: t,
            value: *v,
        });
    }
    // Population std over every value, two passes for accuracy.
    let total = (n_ch * n_t) as f64;
    let grand_mean = grand_sum / total;
    let var = sum_all(data, |x| (x - grand_mean) * (x - grand_mean)) / total;
    let pre_whitener = var.sqrt();
    if pre_whitener == 0.0 || !pre_whitener.is_finite() {
        return Err(IcaError::ConstantData);
    }
    let mean: Array1<f64> = row_sums
        .iter()
        .map(|&s| s / n_t as f64 / pre_whitener)
        .collect();

    // Gram matrix of the centred, pre-whitened data, accumulated block by block (lower
    // triangle only, then mirrored: it is symmetric by construction).
    let mut gram = Array2::<f64>::zeros((n_ch, n_ch));
    let mut block = Array2::<f64>::zeros((n_ch, CHUNK.min(n_t)));
    for start in (0..n_t).step_by(CHUNK) {
        let stop = (start + CHUNK).min(n_t);
        let mut b = block.slice_mut(s![.., ..stop - start]);
        centred_block(data, pre_whitener, &mean, start, stop, &mut b);
        gram_lower_into(gram.view_mut(), b.view(), true);
    }
    for i in 0..n_ch {
        for j in 0..i {
            gram[(j, i)] = gram[(i, j)];
        }
    }
    let (vals, vecs) =
        eigh(gram.view()).ok_or(IcaError::Decomposition("PCA eigendecomposition"))?;

    let n_keep = n_ch.min(n_t);
    let mut components = Array2::<f64>::zeros((n_keep, n_ch));
    let mut explained_variance = Array1::<f64>::zeros(n_keep);
    for k in 0..n_keep {
        let src = n_ch - 1 - k; // eigh is ascending
        components.row_mut(k).assign(&vecs.column(src));
        explained_variance[k] = vals[src].max(0.0) / (n_t as f64 - 1.0);
    }
    let tol = explained_variance[0] * rank_rtol(n_ch);
    let rank = explained_variance.iter().filter(|&&v| v > tol).count();
    let mut pca = Pca {
        pre_whitener,
        mean,
        components,
        explained_variance,
        rank,
        n_samples: n_t,
    };
    // The axes' signs do not change which components are asked for.
    let n_whiten = request
        .map(|r| pca.choose_n_components(r))
        .transpose()?
        .unwrap_or(0);
    let mut whitened = request.map(|_| Array2::<f64>::zeros((n_whiten, n_t)));
    let inv_sd: Vec<f64> = (0..n_whiten)
        .map(|k| 1.0 / pca.explained_variance[k].sqrt())
        .collect();

    // svd_flip: orient each axis so that its largest-magnitude score is positive. The same
    // pass writes the whitened scores of the first `n_whiten` axes (flipped afterwards).
    let mut best = vec![(0.0f64, 1.0f64); n_keep];
    let mut scores = Array2::<f64>::zeros((n_keep, CHUNK.min(n_t)));
    for start in (0..n_t).step_by(CHUNK) {
        let stop = (start + CHUNK).min(n_t);
        let mut b = block.slice_mut(s![.., ..stop - start]);
        centred_block(data, pre_whitener, &pca.mean, start, stop, &mut b);
        let mut sc = scores.slice_mut(s![.., ..stop - start]);
        gemm_into(sc.view_mut(), pca.components.view(), b.view(), 1.0, false);
        for (k, row) in sc.outer_iter().enumerate() {
            let row = row
                .to_slice()
                .expect("rows of a block of a standard-layout array are contiguous");
            // The block's largest magnitude (exact whatever the order, so eight lanes), then
            // the first sample reaching it: numpy's argmax keeps the first maximum, and a
            // later block only wins with a strictly larger one.
            let block_max = max_abs(row);
            if block_max > best[k].0
                && let Some(&v) = row.iter().find(|v| v.abs() == block_max)
            {
                best[k] = (block_max, if v < 0.0 { -1.0 } else { 1.0 });
            }
        }
        if let Some(z) = whitened.as_mut() {
            for (k, mut out) in z
                .slice_mut(s![.., start..stop])
                .outer_iter_mut()
                .enumerate()
            {
                let f = inv_sd[k];
                for (o, &v) in out.iter_mut().zip(sc.row(k)) {
                    *o = v * f;
                }
            }
        }
    }
    for (k, (_, sign)) in best.iter().enumerate() {
        if *sign < 0.0 {
            pca.components.row_mut(k).mapv_inplace(|x| -x);
            if let Some(z) = whitened.as_mut()
                && k < n_whiten
            {
                z.row_mut(k).mapv_inplace(|x| -x);
            }
        }
    }
    Ok((pca, whitened))
}

/// Fill `out` with `data[:, start..stop] / pre_whitener - mean` (multiplying by the
/// reciprocal: a division per value made this copy a third of the PCA's time).
fn centred_block(
    data: ArrayView2<f64>,
    pre_whitener: f64,
    mean: &Array1<f64>,
    start: usize,
    stop: usize,
    out: &mut ndarray::ArrayViewMut2<f64>,
) {
    let inv = 1.0 / pre_whitener;
    for (c, mut row) in out.outer_iter_mut().enumerate() {
        let src = data.slice(s![c, start..stop]);
        let m = mean[c];
        match (row.as_slice_mut(), src.as_slice()) {
            // the common case, as slices so that the loop is vectorised
            (Some(o), Some(x)) => {
                for (o, &x) in o.iter_mut().zip(x) {
                    *o = x * inv - m;
                }
            }
            _ => {
                for (o, &x) in row.iter_mut().zip(src.iter()) {
                    *o = x * inv - m;
                }
            }
        }
    }
}

/// MNE's `_exp_var_ncomp`: the number of leading axes whose cumulative explained-variance
/// ratio first exceeds `fraction` (a ratio exactly equal counts as not yet exceeded).
pub fn n_components_for_variance(explained_variance: &Array1<f64>, fraction: f64) -> usize {
    let total: f64 = explained_variance.sum();
    let mut cum = 0.0;
    let mut at_or_below = 0;
    for &v in explained_variance.iter() {
        cum += v;
        if cum / total <= fraction {
            at_or_below += 1;
        }
    }
    (at_or_below + 1).min(explained_variance.len())
}

impl Pca {
    /// Resolve the requested number of components, refusing any that would include an axis
    /// beyond the numerical rank (a degenerate component).
    pub fn choose_n_components(&self, request: ComponentCount) -> Result<usize, IcaError> {
        let n = match request {
            ComponentCount::Count(n) => {
                if n == 0 {
                    return Err(IcaError::BadComponentCount(
                        "n_components must be at least 1".into(),
                    ));
                }
                if n > self.components.nrows() {
                    return Err(IcaError::BadComponentCount(format!(
                        "n_components = {n} but the data have only {} channels",
                        self.components.nrows()
                    )));
                }
                n
            }
            ComponentCount::VarianceFraction(f) => {
                if !(f > 0.0 && f <= 1.0) {
                    return Err(IcaError::BadComponentCount(format!(
                        "a variance fraction must be in (0, 1], got {f}"
                    )));
                }
                let n = n_components_for_variance(&self.explained_variance, f);
                if n == 1 {
                    return Err(IcaError::BadComponentCount(format!(
                        "one principal component already explains more than {f} of the \
                         variance; ask for a higher fraction or a count"
                    )));
                }
                // A fraction so close to 1 that it reaches rounding-noise axes means "all
                // the real ones": clamp to the rank rather than fail.
                n.min(self.rank)
            }
        };
        if n > self.rank {
            return Err(IcaError::RankTooLow {
                n_components: n,
                rank: self.rank,
            });
        }
        let needed = n * n;
        if self.n_samples < needed.max(n + 1) {
            return Err(IcaError::TooFewSamples {
                n_samples: self.n_samples,
                needed: needed.max(n + 1),
                n_components: n,
            });
        }
        Ok(n)
    }

    /// The data fed to the ICA solver (MNE's `pca.fit_transform(...)[:, :n]`, transposed):
    /// the first `n` principal scores scaled to unit variance, shape (n, n_samples).
    pub fn whitened(&self, data: ArrayView2<f64>, n: usize) -> Array2<f64> {
        let n_t = data.ncols();
        let mut scaled = self.components.slice(s![..n, ..]).to_owned();
        for (k, mut row) in scaled.outer_iter_mut().enumerate() {
            row /= self.explained_variance[k].sqrt();
        }
        let mut out = Array2::<f64>::zeros((n, n_t));
        let mut block = Array2::<f64>::zeros((data.nrows(), CHUNK.min(n_t)));
        for start in (0..n_t).step_by(CHUNK) {
            let stop = (start + CHUNK).min(n_t);
            let mut b = block.slice_mut(s![.., ..stop - start]);
            centred_block(data, self.pre_whitener, &self.mean, start, stop, &mut b);
            gemm_into(
                out.slice_mut(s![.., start..stop]),
                scaled.view(),
                b.view(),
                1.0,
                false,
            );
        }
        out
    }

    /// Principal scores (not scaled) of the first `n` axes — used by tests and sorting.
    pub fn scores(&self, data: ArrayView2<f64>, n: usize) -> Array2<f64> {
        let mut centred = data.mapv(|x| x / self.pre_whitener);
        for (c, mut row) in centred.outer_iter_mut().enumerate() {
            row -= self.mean[c];
        }
        matmul(self.components.slice(s![..n, ..]), centred.view())
    }
}
