//! Covariance estimators for epochs, replicating pyriemann 0.12 (`Covariances(estimator=...)`)
//! on NumPy input:
//!
//! * `scm`: `pyriemann.geometry.covariance.covariance_scm`: centre each channel by the mean
//!   over time, then `X Xᵀ / n_times` (the biased sample covariance).
//! * `lwf`: pyriemann calls scikit-learn's `ledoit_wolf(X.T)`: Ledoit-Wolf shrinkage towards
//!   `μ I`, `μ = trace(S)/p`, shrinkage from scikit-learn's `ledoit_wolf_shrinkage`.
//! * `oas`: pyriemann calls scikit-learn's `oas(X.T)` (scikit-learn ≥ 1.4 formula, without
//!   the `2/p` factor): `α = mean(S²)`, `s = min((α + μ²) / ((n+1)(α − μ²/p)), 1)`.
//!
//! Plus two ways to stack delayed copies of the channels before estimating (for spectral
//! information in the covariance):
//!
//! * [`augment`]: the augmented covariance of Carrara & Papadopoulo (2023), laid out as in
//!   their reference implementation (MOABB `AugmentedDataset(order, lag)`): block `p`
//!   (`p = 0..order`) of rows is `X[:, p·lag .. n − (order−p)·lag]`, so every block has
//!   `n − order·lag` samples and the output has `order·n_channels` rows (channel-major within
//!   each block). `order = 1` returns `X` unchanged.
//! * [`time_delay`]: pyriemann's `TimeDelayCovariances(delays)`: `X` followed by
//!   `np.roll(X, d, axis=-1)` for each delay (circular, no samples lost).

use ndarray::{Array2, Array3, ArrayView2, ArrayView3, ArrayViewMut2, Axis, s};
use rayon::prelude::*;

use super::products::{mirror_lower, symmetric_product_lower_into};
use crate::simd::widest_vectors;

/// Which covariance estimator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Estimator {
    /// Sample covariance (`scm`).
    Scm,
    /// Ledoit-Wolf shrinkage (`lwf`).
    LedoitWolf,
    /// Oracle approximating shrinkage (`oas`).
    Oas,
}

impl Estimator {
    /// The pyriemann name.
    pub fn as_str(self) -> &'static str {
        match self {
            Estimator::Scm => "scm",
            Estimator::LedoitWolf => "lwf",
            Estimator::Oas => "oas",
        }
    }
}

impl std::str::FromStr for Estimator {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "scm" => Ok(Estimator::Scm),
            "lwf" => Ok(Estimator::LedoitWolf),
            "oas" => Ok(Estimator::Oas),
            other => Err(format!(
                "unknown covariance estimator `{other}`; expected one of: scm, lwf, oas"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CovarianceError {
    #[error("epoch {epoch}: has no samples (0 time points); cannot estimate a covariance")]
    NoSamples { epoch: usize },
    #[error(
        "epoch {epoch}: contains NaN or infinite values (or values so large that their \
         covariance overflows); check the recording and the epochs' rejection thresholds"
    )]
    NotFinite { epoch: usize },
    #[error(
        "epoch {epoch}: {n_times} samples for {n_channels} channels, so the sample covariance \
         is singular; use longer epochs or a shrinkage estimator (`oas`, `lwf`)"
    )]
    FewerSamplesThanChannels {
        epoch: usize,
        n_times: usize,
        n_channels: usize,
    },
    #[error(
        "augmented covariance: order {order} × lag {lag} leaves no samples from epochs of \
         {n_times} samples; lower `order` or `lag`"
    )]
    AugmentationTooLong {
        order: usize,
        lag: usize,
        n_times: usize,
    },
    #[error(
        "augmented covariance: `order` and `lag` must be at least 1 (got order {order}, lag {lag})"
    )]
    AugmentationInvalid { order: usize, lag: usize },
}

/// Covariance of every epoch (`epochs × channels × times` → `epochs × channels × channels`).
pub fn covariances(
    epochs: ArrayView3<f64>,
    estimator: Estimator,
) -> Result<Array3<f64>, CovarianceError> {
    let (n_epochs, n_channels, _) = epochs.dim();
    let mut out = Array3::zeros((n_epochs, n_channels, n_channels));
    let Some(slots) = out.as_slice_mut() else {
        unreachable!("a freshly allocated array is contiguous")
    };
    if slots.is_empty() {
        // No channels: nothing to write, but an epoch's errors are still reported.
        let mut scratch = Array2::zeros((0, 0));
        for i in 0..n_epochs {
            covariance_with(epochs.index_axis(Axis(0), i), estimator, &mut scratch)
                .map_err(|e| e.at_epoch(i))?;
        }
        return Ok(out);
    }
    // Epochs in parallel (each independent and sequential inside, so the same bits whatever
    // the thread count), each written into its slot by the worker that computed it (no
    // serial copy; the output's fresh pages are first touched in parallel); the first
    // failing epoch by index is reported, as a loop would.
    let results: Vec<Result<(), CovarianceError>> = slots
        .par_chunks_mut(n_channels * n_channels)
        .enumerate()
        .map_init(
            || Array2::zeros((0, 0)),
            |scratch, (i, slot)| {
                let c = covariance_with(epochs.index_axis(Axis(0), i), estimator, scratch)
                    .map_err(|e| e.at_epoch(i))?;
                ArrayViewMut2::from_shape((n_channels, n_channels), slot)
                    .expect("each slot holds one channels × channels matrix")
                    .assign(&c);
                Ok(())
            },
        )
        .collect();
    for result in results {
        result?;
    }
    Ok(out)
}

impl CovarianceError {
    fn at_epoch(self, epoch: usize) -> Self {
        match self {
            CovarianceError::NoSamples { .. } => CovarianceError::NoSamples { epoch },
            CovarianceError::NotFinite { .. } => CovarianceError::NotFinite { epoch },
            CovarianceError::FewerSamplesThanChannels {
                n_times,
                n_channels,
                ..
            } => CovarianceError::FewerSamplesThanChannels {
                epoch,
                n_times,
                n_channels,
            },
            other => other,
        }
    }
}

/// Covariance of one epoch (`channels × times`). Errors name epoch 0; [`covariances`]
/// renames them to the epoch's index.
pub fn covariance(
    x: ArrayView2<f64>,
    estimator: Estimator,
) -> Result<Array2<f64>, CovarianceError> {
    covariance_with(x, estimator, &mut Array2::zeros((0, 0)))
}

/// [`covariance`] with a reusable buffer for the centred epoch: a fresh ~300 kB buffer per
/// epoch is a fresh mapping from the system allocator, whose page faults serialise the
/// threads of [`covariances`].
fn covariance_with(
    x: ArrayView2<f64>,
    estimator: Estimator,
    scratch: &mut Array2<f64>,
) -> Result<Array2<f64>, CovarianceError> {
    let (n_channels, n_times) = x.dim();
    if n_times == 0 {
        return Err(CovarianceError::NoSamples { epoch: 0 });
    }
    let c = match estimator {
        Estimator::Scm => {
            if n_times < n_channels {
                return Err(CovarianceError::FewerSamplesThanChannels {
                    epoch: 0,
                    n_times,
                    n_channels,
                });
            }
            scm(x)
        }
        Estimator::LedoitWolf => ledoit_wolf(x),
        Estimator::Oas => oas(x, scratch),
    };
    // A NaN or infinite sample makes its channel's mean, so its centred values, so its
    // diagonal entry non-finite (whatever the shrinkage): checking the p × p result is the
    // same test as checking the p × n epoch, a tenth of the reading. It also catches finite
    // values too large to square.
    if !all_finite(c.view()) {
        return Err(CovarianceError::NotFinite { epoch: 0 });
    }
    Ok(c)
}

/// Each channel minus its mean over time (scikit-learn's `X - X.mean(0)`).
fn centred(x: ArrayView2<f64>) -> Array2<f64> {
    let n = x.ncols() as f64;
    let mut c = x.to_owned();
    for mut row in c.rows_mut() {
        let mean = row.sum() / n;
        row.mapv_inplace(|v| v - mean);
    }
    c
}

/// pyriemann `covariance_scm`: `X - sum(X·w)` with `w = 1/n`, then `(X·w) Xᵀ`.
fn scm(x: ArrayView2<f64>) -> Array2<f64> {
    let n = x.ncols();
    let w = 1.0 / n as f64;
    let mut c = x.to_owned();
    for mut row in c.rows_mut() {
        let mean: f64 = row.iter().map(|v| v * w).sum();
        row.mapv_inplace(|v| v - mean);
    }
    let weighted = &c * w;
    symmetric(weighted.dot(&c.t()))
}

/// `XᵀX / n` of centred data (scikit-learn `empirical_covariance(assume_centered=True)`).
#[inline(always)]
fn empirical(centred: &Array2<f64>) -> Array2<f64> {
    let n = centred.ncols() as f64;
    let mut g = gram(centred);
    g.mapv_inplace(|v| v / n);
    g
}

/// `X Xᵀ`, exactly symmetric: the lower triangle by faer's triangular product (half the
/// work of the full product, AVX-512), mirrored.
fn gram(x: &Array2<f64>) -> Array2<f64> {
    let p = x.nrows();
    let mut g = Array2::zeros((p, p));
    symmetric_product_lower_into(g.view_mut(), x.view(), x.t());
    mirror_lower(g.view_mut());
    g
}

/// Average the two triangles: the product is symmetric in exact arithmetic, and
/// downstream eigendecompositions must not depend on which triangle they read.
fn symmetric(mut c: Array2<f64>) -> Array2<f64> {
    let p = c.nrows();
    for i in 0..p {
        for j in 0..i {
            let v = 0.5 * (c[[i, j]] + c[[j, i]]);
            c[[i, j]] = v;
            c[[j, i]] = v;
        }
    }
    c
}

/// `(1 − s)·S + s·μ·I`.
#[inline(always)]
fn shrink(mut emp: Array2<f64>, shrinkage: f64, mu: f64) -> Array2<f64> {
    emp.mapv_inplace(|v| (1.0 - shrinkage) * v);
    for i in 0..emp.nrows() {
        emp[[i, i]] += shrinkage * mu;
    }
    emp
}

/// `x` with each channel minus its mean over time, into `out` (reused when the shape fits).
#[inline(always)]
fn centred_into(x: ArrayView2<f64>, out: &mut Array2<f64>) {
    if out.dim() != x.dim() {
        *out = Array2::zeros(x.dim());
    }
    let n = x.ncols() as f64;
    for (mut row, src) in out.rows_mut().into_iter().zip(x.rows()) {
        let mean = src.sum() / n;
        row.zip_mut_with(&src, |o, &v| *o = v - mean);
    }
}

widest_vectors! {
    /// scikit-learn `oas` (as `OAS().fit`: centre, then `_oas(assume_centered=True)`).
    fn oas(x: ArrayView2<f64>, scratch: &mut Array2<f64>) -> Array2<f64> = oas_portable;
}

#[inline(always)]
fn oas_portable(x: ArrayView2<f64>, scratch: &mut Array2<f64>) -> Array2<f64> {
    let (p, n) = x.dim();
    centred_into(x, scratch);
    let xc = &*scratch;
    if p == 1 {
        // One feature: the shrinkage is irrelevant; scikit-learn returns mean(x²).
        return Array2::from_elem((1, 1), xc.iter().map(|v| v * v).sum::<f64>() / n as f64);
    }
    let emp = empirical(xc);
    let alpha = sum_of_squares(&emp) / (p * p) as f64;
    let mu = emp.diag().sum() / p as f64;
    let mu_squared = mu * mu;
    let num = alpha + mu_squared;
    let den = (n as f64 + 1.0) * (alpha - mu_squared / p as f64);
    let shrinkage = if den == 0.0 {
        1.0
    } else {
        (num / den).min(1.0)
    };
    shrink(emp, shrinkage, mu)
}

/// `Σ x²` over all entries, in eight interleaved partial sums (a fixed order, vectorised).
#[inline(always)]
fn sum_of_squares(x: &Array2<f64>) -> f64 {
    let mut lanes = [0.0; 8];
    let mut tail = 0.0;
    match x.as_slice() {
        Some(values) => {
            let chunks = values.chunks_exact(8);
            for v in chunks.remainder() {
                tail += v * v;
            }
            for chunk in chunks {
                for (lane, v) in lanes.iter_mut().zip(chunk) {
                    *lane += v * v;
                }
            }
        }
        None => tail = x.iter().map(|v| v * v).sum(),
    }
    ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]))
        + tail
}

widest_vectors! {
    /// No NaN or infinite value in `x` (a full pass without early exit, so it vectorises).
    fn all_finite(x: ArrayView2<f64>) -> bool = all_finite_portable;
}

#[inline(always)]
fn all_finite_portable(x: ArrayView2<f64>) -> bool {
    match x.as_slice() {
        Some(values) => values.iter().fold(true, |ok, v| ok & v.is_finite()),
        None => x.iter().all(|v| v.is_finite()),
    }
}

/// scikit-learn `ledoit_wolf` (as `LedoitWolf().fit`: centre, then
/// `ledoit_wolf_shrinkage(assume_centered=True)`).
fn ledoit_wolf(x: ArrayView2<f64>) -> Array2<f64> {
    let (p, n) = x.dim();
    let xc = centred(x);
    if p == 1 {
        return Array2::from_elem((1, 1), xc.iter().map(|v| v * v).sum::<f64>() / n as f64);
    }
    let nf = n as f64;
    let pf = p as f64;
    let x2 = xc.mapv(|v| v * v);
    let emp_cov_trace: Vec<f64> = x2.rows().into_iter().map(|r| r.sum() / nf).collect();
    let trace_sum: f64 = emp_cov_trace.iter().sum();
    let mu = trace_sum / pf;
    // beta_ = sum(X2ᵀ X2) = Σ_t (Σ_i X2[i, t])²: no p×p intermediate needed.
    let beta_: f64 = x2.sum_axis(Axis(0)).iter().map(|v| v * v).sum();
    let gram = gram(&xc);
    let delta_ = gram.iter().map(|v| v * v).sum::<f64>() / (nf * nf);
    let beta = 1.0 / (pf * nf) * (beta_ / nf - delta_);
    let delta = (delta_ - 2.0 * mu * trace_sum + pf * mu * mu) / pf;
    let beta = beta.min(delta);
    let shrinkage = if beta == 0.0 { 0.0 } else { beta / delta };
    shrink(gram / nf, shrinkage, mu)
}

/// Carrara & Papadopoulo's augmented (delay-embedded) signal; see the module docs for the
/// layout. Returns `(order·channels) × (times − order·lag)` (or `x` itself for order 1).
pub fn augment(
    x: ArrayView2<f64>,
    order: usize,
    lag: usize,
) -> Result<Array2<f64>, CovarianceError> {
    if order == 0 || lag == 0 {
        return Err(CovarianceError::AugmentationInvalid { order, lag });
    }
    if order == 1 {
        return Ok(x.to_owned());
    }
    let (n_channels, n_times) = x.dim();
    let span = order * lag;
    if span >= n_times {
        return Err(CovarianceError::AugmentationTooLong {
            order,
            lag,
            n_times,
        });
    }
    let len = n_times - span;
    let mut out = Array2::zeros((order * n_channels, len));
    for p in 0..order {
        let start = p * lag;
        out.slice_mut(s![p * n_channels..(p + 1) * n_channels, ..])
            .assign(&x.slice(s![.., start..start + len]));
    }
    Ok(out)
}

/// Augmented covariance of every epoch: [`augment`] then the estimator.
pub fn augmented_covariances(
    epochs: ArrayView3<f64>,
    order: usize,
    lag: usize,
    estimator: Estimator,
) -> Result<Array3<f64>, CovarianceError> {
    let (n_epochs, n_channels, _) = epochs.dim();
    let dim = order.max(1) * n_channels;
    let mut out = Array3::zeros((n_epochs, dim, dim));
    for (i, epoch) in epochs.outer_iter().enumerate() {
        let a = augment(epoch, order, lag)?;
        let c = covariance(a.view(), estimator).map_err(|e| e.at_epoch(i))?;
        out.index_axis_mut(Axis(0), i).assign(&c);
    }
    Ok(out)
}

/// pyriemann `TimeDelayCovariances` signal: `x` stacked over `np.roll(x, d, axis=-1)` for
/// each `d` in `delays` (circular shift: sample `t` of the delayed copy is `x[t − d mod n]`).
pub fn time_delay(x: ArrayView2<f64>, delays: &[usize]) -> Array2<f64> {
    let (n_channels, n_times) = x.dim();
    let mut out = Array2::zeros(((1 + delays.len()) * n_channels, n_times));
    out.slice_mut(s![0..n_channels, ..]).assign(&x);
    for (k, &d) in delays.iter().enumerate() {
        let rows = (k + 1) * n_channels..(k + 2) * n_channels;
        let mut block = out.slice_mut(s![rows, ..]);
        if n_times == 0 {
            continue;
        }
        let d = d % n_times;
        block
            .slice_mut(s![.., d..])
            .assign(&x.slice(s![.., ..n_times - d]));
        block
            .slice_mut(s![.., ..d])
            .assign(&x.slice(s![.., n_times - d..]));
    }
    out
}

/// pyriemann `TimeDelayCovariances(delays=k)` for an integer `k`: delays `1..k`.
pub fn delays_up_to(k: usize) -> Vec<usize> {
    (1..k.max(1)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// The dispatched OAS and finiteness check give the same results as the portable builds.
    #[test]
    fn dispatched_kernels_match_portable_builds_bit_for_bit() {
        let mut rng = Rng::new(3);
        for (c, n) in [(3, 50), (17, 200), (64, 640)] {
            let x = Array2::from_shape_fn((c, n), |_| rng.normal());
            let mut scratch = Array2::zeros((0, 0));
            let dispatched = oas(x.view(), &mut scratch);
            let portable = oas_portable(x.view(), &mut scratch);
            let bits = |a: &Array2<f64>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&dispatched), bits(&portable));
            assert!(all_finite(x.view()) && all_finite_portable(x.view()));
            let mut bad = x.clone();
            bad[[c - 1, n - 1]] = f64::INFINITY;
            assert!(!all_finite(bad.view()) && !all_finite_portable(bad.view()));
            bad[[c - 1, n - 1]] = f64::NAN;
            assert!(!all_finite(bad.view()));
        }
    }
}
