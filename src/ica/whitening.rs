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
//!
//! Two passes over the data, block by block (nothing of the data's size is copied):
//! 1. channel sums and the Gram matrix of the centred data (each block centred on its own
//!    means, the blocks combined with their means' spread: exact algebra, no cancellation);
//!    the pre-whitener follows from the Gram's trace and the channel means, and the
//!    eigendecomposition of the Gram gives the axes and variances;
//! 2. the whitened scores of the requested components, straight into the output, and the
//!    position of every axis's largest score for its sign (screened in single precision
//!    for the axes that are not whitened, see `axis_signs`).

use ndarray::{Array1, Array2, ArrayView2, s};

use super::IcaError;
use super::axis_signs::AxisSigns;
use super::block_kernels::{centre, max_abs, sum_and_centre};
use super::linalg::{eigh, gemm_into, gram_lower_into, matmul};

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
    fit_pca_impl(data, None).map(|fitted| fitted.pca)
}

/// [`fit_pca`], the number of components for `request` ([`Pca::choose_n_components`]) and
/// the whitened scores of that many components ([`Pca::whitened`]), with no pass of its own
/// over the data: the scores come out of the pass that orients the axes.
pub fn fit_pca_whitened(
    data: ArrayView2<f64>,
    request: ComponentCount,
) -> Result<(Pca, Array2<f64>), IcaError> {
    let fitted = fit_pca_impl(data, Some(request))?;
    Ok((fitted.pca, fitted.whitened))
}

/// What [`fit_pca_impl`] returns: the PCA, the whitened scores of the requested components
/// (none without a request) and their Gram matrix `whitened · whitenedᵀ`.
pub(crate) struct FittedPca {
    pub pca: Pca,
    pub whitened: Array2<f64>,
    /// `whitened · whitenedᵀ`, from the channel Gram matrix (`Z Zᵀ = W G Wᵀ` for
    /// `Z = W X_c`) instead of a product over every sample.
    pub whitened_gram: Array2<f64>,
}

/// [`fit_pca_whitened`] and the whitened scores' Gram matrix (for the components' energies
/// in [`super::fit`]).
pub(crate) fn fit_pca_whitened_with_gram(
    data: ArrayView2<f64>,
    request: ComponentCount,
) -> Result<FittedPca, IcaError> {
    fit_pca_impl(data, Some(request))
}

/// Samples per block: the centred block and its scores (each n_channels × BLOCK) stay in
/// the core's L2 cache between the copy, the product and the scan. Fixed, so the summation
/// order (and every bit of the result) depends on nothing else.
const BLOCK: usize = 1024;

/// Row `c` of `data` over `start..stop` as a slice, copied into `tmp` only if the view's
/// rows are not contiguous.
fn row_segment<'a>(
    data: &'a ArrayView2<'a, f64>,
    c: usize,
    start: usize,
    stop: usize,
    tmp: &'a mut Vec<f64>,
) -> &'a [f64] {
    let row = data.row(c);
    match row.to_slice() {
        Some(s) => &s[start..stop],
        None => {
            tmp.clear();
            tmp.extend(row.slice(s![start..stop]).iter());
            tmp
        }
    }
}

fn fit_pca_impl(
    data: ArrayView2<f64>,
    request: Option<ComponentCount>,
) -> Result<FittedPca, IcaError> {
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
    let block_len = BLOCK.min(n_t);
    let n_blocks = n_t.div_ceil(block_len);
    let mut block = Array2::<f64>::zeros((n_ch, block_len));
    let mut tmp = Vec::new();

    // Pass 1: per-channel sums and the Gram matrix of the centred data, in one pass. Each
    // block is centred on its own channel means and its Gram accumulated (lower triangle);
    // the block means' spread around the overall means is added afterwards (Chan et al.'s
    // pairwise update: Σ_b [G_b + n_b (m_b − m)(m_b − m)ᵀ]). Exact algebra, and every term
    // is a sum of squares of centred values, so nothing cancels even for data far from
    // zero mean. A sum is finite only if every term is (NaN and ±inf propagate), so only a
    // non-finite sum needs the search for the culprit (which finds none if finite values
    // merely overflowed the sum).
    let mut row_sums = vec![0.0f64; n_ch];
    let mut block_means = Array2::<f64>::zeros((n_blocks, n_ch));
    let mut gram = Array2::<f64>::zeros((n_ch, n_ch));
    for (b, start) in (0..n_t).step_by(block_len).enumerate() {
        let stop = (start + block_len).min(n_t);
        let mut blk = block.slice_mut(s![.., ..stop - start]);
        for (c, mut out) in blk.outer_iter_mut().enumerate() {
            let src = row_segment(&data, c, start, stop, &mut tmp);
            let out = out
                .as_slice_mut()
                .expect("rows of a block of a standard-layout array are contiguous");
            let (sum, mean) = sum_and_centre(src, out);
            row_sums[c] += sum;
            block_means[(b, c)] = mean;
        }
        if row_sums.iter().any(|v| !v.is_finite())
            && let Some(((ch, t), v)) = data.indexed_iter().find(|(_, v)| !v.is_finite())
        {
            return Err(IcaError::NonFinite {
                channel: ch,
                sample: t,
                value: *v,
            });
        }
        gram_lower_into(gram.view_mut(), blk.view(), true);
    }
    let channel_mean: Vec<f64> = row_sums.iter().map(|&s| s / n_t as f64).collect();
    for (b, means) in block_means.outer_iter().enumerate() {
        let n_b = ((b + 1) * block_len).min(n_t) - b * block_len;
        let d: Vec<f64> = means
            .iter()
            .zip(&channel_mean)
            .map(|(&m_b, &m)| m_b - m)
            .collect();
        for i in 0..n_ch {
            let w = n_b as f64 * d[i];
            for j in 0..=i {
                gram[(i, j)] += w * d[j];
            }
        }
    }

    // The pre-whitener: population std over every value (MNE's `_compute_pre_whitener`).
    // Σ (x − grand mean)² = Σ_c Σ_t (x_ct − m_c)² + n_t Σ_c (m_c − grand mean)²: the Gram's
    // trace plus the channel means' spread, no separate pass and no cancellation.
    let total = (n_ch * n_t) as f64;
    let grand_mean = row_sums.iter().sum::<f64>() / total;
    let spread: f64 = channel_mean
        .iter()
        .map(|&m| (m - grand_mean) * (m - grand_mean))
        .sum();
    let trace: f64 = (0..n_ch).map(|c| gram[(c, c)]).sum();
    let var = (trace + n_t as f64 * spread) / total;
    let pre_whitener = var.sqrt();
    if pre_whitener == 0.0 || !pre_whitener.is_finite() {
        return Err(IcaError::ConstantData);
    }
    let mean: Array1<f64> = row_sums
        .iter()
        .map(|&s| s / n_t as f64 / pre_whitener)
        .collect();
    // Gram matrix of the pre-whitened data (symmetric: mirror the lower triangle).
    let inv_var = 1.0 / (pre_whitener * pre_whitener);
    for i in 0..n_ch {
        for j in 0..=i {
            let g = gram[(i, j)] * inv_var;
            gram[(i, j)] = g;
            gram[(j, i)] = g;
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

    // Pass 2, svd_flip: orient each axis so that its largest-magnitude score is positive.
    // The first `n_whiten` axes' scores are computed already whitened, straight into the
    // output (weights v_k / (pre_whitener · sd_k), on data centred on the raw channel
    // means; a positive scale does not move the maximum); the others are only searched for
    // the position of their largest score (`AxisSigns`).
    let mut weights = pca.components.slice(s![..n_whiten, ..]).to_owned();
    for (k, mut row) in weights.outer_iter_mut().enumerate() {
        let f = 1.0 / (pre_whitener * pca.explained_variance[k].sqrt());
        row.mapv_inplace(|v| v * f);
    }
    let mut whitened = Array2::<f64>::zeros((n_whiten, n_t));
    let mut best = vec![(0.0f64, 1.0f64); n_whiten];
    let mut other_signs = AxisSigns::new(
        pca.components.slice(s![n_whiten.., ..]),
        1.0 / pre_whitener,
        block_len,
    );
    for start in (0..n_t).step_by(block_len) {
        let stop = (start + block_len).min(n_t);
        let mut blk = block.slice_mut(s![.., ..stop - start]);
        for (c, mut out) in blk.outer_iter_mut().enumerate() {
            let src = row_segment(&data, c, start, stop, &mut tmp);
            let out = out
                .as_slice_mut()
                .expect("rows of a block of a standard-layout array are contiguous");
            centre(src, channel_mean[c], out);
        }
        let mut z = whitened.slice_mut(s![.., start..stop]);
        if n_whiten > 0 {
            gemm_into(z.view_mut(), weights.view(), blk.view(), 1.0, false);
        }
        for (k, row) in z.outer_iter().enumerate() {
            let row = row
                .to_slice()
                .expect("rows of a block of a standard-layout array are contiguous");
            // The block's largest magnitude (exact whatever the order, so many lanes), then
            // the first sample reaching it: numpy's argmax keeps the first maximum, and a
            // later block only wins with a strictly larger one.
            let block_max = max_abs(row);
            if block_max > best[k].0
                && let Some(&v) = row.iter().find(|v| v.abs() == block_max)
            {
                best[k] = (block_max, if v < 0.0 { -1.0 } else { 1.0 });
            }
        }
        other_signs.observe(blk.view());
    }
    let signs = best
        .iter()
        .map(|&(_, sign)| sign)
        .chain(other_signs.signs());
    for (k, sign) in signs.enumerate() {
        if sign < 0.0 {
            pca.components.row_mut(k).mapv_inplace(|x| -x);
            if k < n_whiten {
                weights.row_mut(k).mapv_inplace(|x| -x);
                whitened.row_mut(k).mapv_inplace(|x| -x);
            }
        }
    }
    // Z Zᵀ = W (X_c X_cᵀ) Wᵀ with X_c the data centred on the raw means: the pre-whitened
    // Gram is X_c X_cᵀ / pre_whitener², and the weights already carry 1 / pre_whitener.
    let wg = matmul(weights.view(), gram.view());
    let whitened_gram = matmul(wg.view(), weights.t()) * (pre_whitener * pre_whitener);
    Ok(FittedPca {
        pca,
        whitened,
        whitened_gram,
    })
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
        let mut block = Array2::<f64>::zeros((data.nrows(), BLOCK.min(n_t)));
        for start in (0..n_t).step_by(BLOCK) {
            let stop = (start + BLOCK).min(n_t);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use ndarray::ShapeBuilder;

    /// 10 correlated channels with DC offsets 10⁴ times their spread, over 2.5 blocks plus a
    /// few samples (a short last block).
    fn offset_data() -> Array2<f64> {
        let (n_ch, n_t) = (10, 5 * BLOCK / 2 + 7);
        let mut rng = Rng::new(5);
        let sources = Array2::from_shape_simple_fn((n_ch, n_t), || rng.normal());
        let mixing = Array2::from_shape_simple_fn((n_ch, n_ch), || rng.normal());
        let mut x = mixing.dot(&sources);
        for (c, mut row) in x.outer_iter_mut().enumerate() {
            row += 1e4 * (c as f64 - 4.5);
        }
        x
    }

    /// The one-pass statistics (block Gram matrices combined with their means' spread, the
    /// pre-whitener from the Gram's trace) against plain two-pass loops over every value.
    #[test]
    fn one_pass_statistics_match_two_pass_loops() {
        let x = offset_data();
        let (n_ch, n_t) = x.dim();
        let fitted = fit_pca_impl(x.view(), Some(ComponentCount::Count(4))).unwrap();
        let pca = &fitted.pca;

        let n_all = (n_ch * n_t) as f64;
        let grand_mean = x.iter().sum::<f64>() / n_all;
        let var = x.iter().map(|v| (v - grand_mean).powi(2)).sum::<f64>() / n_all;
        let pw = var.sqrt();
        assert!(((pca.pre_whitener - pw) / pw).abs() < 1e-13);
        let means: Vec<f64> = x.outer_iter().map(|r| r.sum() / n_t as f64).collect();
        for (&ours, &m) in pca.mean.iter().zip(&means) {
            assert!((ours - m / pw).abs() < 1e-12 * (m / pw).abs());
        }
        // Σ explained variance = trace of the centred, pre-whitened covariance.
        let trace: f64 = (0..n_ch)
            .map(|c| x.row(c).iter().map(|v| (v - means[c]).powi(2)).sum::<f64>())
            .sum::<f64>()
            / (pw * pw * (n_t as f64 - 1.0));
        let ev_sum = pca.explained_variance.sum();
        assert!(
            ((ev_sum - trace) / trace).abs() < 1e-12,
            "{ev_sum} vs {trace}"
        );
        // Each axis is an eigenvector of the covariance: C v = λ v, by plain loops.
        for k in 0..n_ch {
            let v = pca.components.row(k);
            for i in 0..n_ch {
                let cv: f64 = (0..n_ch)
                    .map(|j| {
                        let cij: f64 = (0..n_t)
                            .map(|t| (x[(i, t)] - means[i]) * (x[(j, t)] - means[j]))
                            .sum();
                        cij * v[j]
                    })
                    .sum::<f64>()
                    / (pw * pw * (n_t as f64 - 1.0));
                let lv = pca.explained_variance[k] * v[i];
                assert!(
                    (cv - lv).abs() < 1e-10 * pca.explained_variance[0],
                    "axis {k}"
                );
            }
        }
    }

    /// The whitened scores' Gram matrix taken from the channel Gram matrix equals the
    /// product of the scores themselves, and the scores have unit variance.
    #[test]
    fn whitened_gram_is_the_scores_product() {
        let x = offset_data();
        let n_t = x.ncols();
        let fitted = fit_pca_impl(x.view(), Some(ComponentCount::Count(4))).unwrap();
        let z = &fitted.whitened;
        assert_eq!(z.dim(), (4, n_t));
        for i in 0..4 {
            for j in 0..4 {
                let direct: f64 = (0..n_t).map(|t| z[(i, t)] * z[(j, t)]).sum();
                let expected = if i == j { n_t as f64 - 1.0 } else { 0.0 };
                assert!((fitted.whitened_gram[(i, j)] - direct).abs() < 1e-9 * n_t as f64);
                assert!((direct - expected).abs() < 1e-9 * n_t as f64);
            }
        }
    }

    /// Same bits whatever the memory layout of the input (rows copied or read in place).
    #[test]
    fn column_major_input_gives_the_same_bits() {
        let x = offset_data();
        let mut fortran = Array2::<f64>::zeros(x.dim().f());
        fortran.assign(&x);
        let a = fit_pca_impl(x.view(), Some(ComponentCount::Count(4))).unwrap();
        let b = fit_pca_impl(fortran.view(), Some(ComponentCount::Count(4))).unwrap();
        assert_eq!(a.pca.pre_whitener.to_bits(), b.pca.pre_whitener.to_bits());
        assert_eq!(a.pca.mean, b.pca.mean);
        assert_eq!(a.pca.components, b.pca.components);
        assert_eq!(a.pca.explained_variance, b.pca.explained_variance);
        assert_eq!(a.whitened, b.whitened);
    }
}
