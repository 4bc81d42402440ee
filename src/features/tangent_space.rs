//! Tangent-space features at the Riemannian mean, as
//! `pyriemann.TangentSpace(metric="riemann")`: `fit` takes the Riemannian mean of the training
//! covariances as the reference `C_ref`; `transform` maps each `C` to
//! `upper(logm(C_ref^{-1/2} C C_ref^{-1/2}))`, where `upper` takes the upper triangle row by
//! row (`numpy.triu_indices` order: (0,0), (0,1), …, (0,c−1), (1,1), …) with off-diagonal
//! entries multiplied by √2, giving `c(c+1)/2` features per matrix.
//!
//! The reference is kept (and can be saved and restored with [`TangentSpace::from_reference`])
//! so new recordings are mapped with the training reference, as pyriemann's `transform` does.

use ndarray::{Array2, ArrayView2, ArrayView3, Axis};
use rayon::prelude::*;

use super::products::{product_into, symmetric_product_lower_into};
use super::riemann::{
    MatrixWorkspace, MeanOptions, RiemannError, WhitenedRound, karcher_mean, mean_riemann,
    whiten_lower_into,
};
use super::spd::{self, SpdError};
use crate::simd::widest_vectors;

/// A fitted tangent-space map.
#[derive(Debug, Clone, PartialEq)]
pub struct TangentSpace {
    reference: Array2<f64>,
    /// `reference^{-1/2}`, cached for `transform`.
    inv_sqrt_reference: Array2<f64>,
}

impl TangentSpace {
    /// Fit the reference as the Riemannian mean of `covariances` (`n × c × c`).
    pub fn fit(covariances: ArrayView3<f64>) -> Result<Self, RiemannError> {
        let mean = mean_riemann(covariances, MeanOptions::default())?;
        Self::from_reference(mean.mean)
    }

    /// Use a given reference (e.g. one stored from a training set).
    pub fn from_reference(reference: Array2<f64>) -> Result<Self, RiemannError> {
        let inv_sqrt_reference =
            spd::invsqrtm(reference.view()).map_err(RiemannError::Reference)?;
        Ok(Self {
            reference,
            inv_sqrt_reference,
        })
    }

    pub fn reference(&self) -> ArrayView2<'_, f64> {
        self.reference.view()
    }

    /// Number of features: `c(c+1)/2`.
    pub fn n_features(&self) -> usize {
        let c = self.reference.nrows();
        c * (c + 1) / 2
    }

    /// Tangent vectors of `covariances` (`n × c × c`) → `n × c(c+1)/2`. Every output value is
    /// finite: a non-SPD input is an error naming its index, never a NaN row. The matrices are
    /// mapped in parallel (rayon), each independently, so the result does not depend on the
    /// number of threads.
    pub fn transform(&self, covariances: ArrayView3<f64>) -> Result<Array2<f64>, RiemannError> {
        let (n, rows, cols) = covariances.dim();
        let c = self.reference.nrows();
        if rows != c || cols != c {
            return Err(RiemannError::DimensionMismatch { got: rows, want: c });
        }
        let n_features = self.n_features();
        let mut out = Array2::zeros((n, n_features));
        let Some(rows_out) = out.as_slice_mut() else {
            unreachable!("a freshly allocated array is contiguous")
        };
        if n_features == 0 {
            return Ok(out);
        }
        let w = self.inv_sqrt_reference.view();
        let results: Vec<Result<(), SpdError>> = rows_out
            .par_chunks_mut(n_features)
            .enumerate()
            .map_init(
                || MatrixWorkspace::new(c),
                |ws, (index, row)| {
                    exact_log_upper(w, covariances.index_axis(Axis(0), index), ws, row)
                },
            )
            .collect();
        for (index, result) in results.into_iter().enumerate() {
            result.map_err(|source| RiemannError::Matrix { index, source })?;
        }
        Ok(out)
    }

    /// `fit` then `transform` on the same matrices (pyriemann `fit_transform`).
    ///
    /// The mean's last Newton round already decomposed every `W Cᵢ W` at an estimate one tiny
    /// step from the reference, so each tangent vector comes from that decomposition by the
    /// first-order (Daleckii–Krein) update of `logm` instead of another eigendecomposition —
    /// when the update is accurate (`MAX_PERTURBATION_FOR_UPDATE`, 1e-6); any other matrix
    /// (and all of them if the mean did not converge) is mapped exactly.
    pub fn fit_transform(
        covariances: ArrayView3<f64>,
    ) -> Result<(Self, Array2<f64>), RiemannError> {
        let fit = karcher_mean(covariances, MeanOptions::default())?;
        let converged = fit.mean.converged;
        let ts = Self::from_reference(fit.mean.mean)?;
        let vectors = if converged && fit.last_round.len() == covariances.len_of(Axis(0)) {
            ts.transform_near(covariances, &fit.last_round)?
        } else {
            ts.transform(covariances)?
        };
        Ok((ts, vectors))
    }

    /// Tangent vectors at this reference of `covariances`, whose whitened eigendecompositions
    /// at a nearby estimate `M` are in `round`: with `E = C_ref^{-1/2} M^{1/2}`,
    /// `C_ref^{-1/2} Cᵢ C_ref^{-1/2} = E Bᵢ Eᵀ` where `Bᵢ = Vᵢ Λᵢ Vᵢᵀ`, and
    /// `logm(E Bᵢ Eᵀ) ≈ Vᵢ (ln Λᵢ + Dᵢ ⊙ Δᵢ) Vᵢᵀ` with `Δᵢ = Fᵢ Λᵢ Fᵢᵀ − Λᵢ`, `Fᵢ = Vᵢᵀ E Vᵢ` and `Dᵢ`
    /// the divided differences of `ln` at `Λᵢ`. A matrix whose perturbation is too large for
    /// that is mapped exactly instead.
    fn transform_near(
        &self,
        covariances: ArrayView3<f64>,
        round: &WhitenedRound,
    ) -> Result<Array2<f64>, RiemannError> {
        let c = round.n_channels;
        let n = round.len();
        let n_features = self.n_features();
        let mut out = Array2::zeros((n, n_features));
        let Some(rows_out) = out.as_slice_mut() else {
            unreachable!("a freshly allocated array is contiguous")
        };
        if n_features == 0 {
            return Ok(out);
        }
        let mut e = Array2::<f64>::zeros((c, c));
        product_into(
            e.view_mut(),
            self.inv_sqrt_reference.view(),
            round.sqrt_estimate.view(),
        );
        let w = self.inv_sqrt_reference.view();
        let results: Vec<Result<(), SpdError>> = rows_out
            .par_chunks_mut(n_features)
            .enumerate()
            .map_init(
                || MatrixWorkspace::new(c),
                |ws, (index, row)| {
                    let (values, v) = round.matrix(index);
                    if update_log_upper(e.view(), values, v, ws, row) {
                        Ok(())
                    } else {
                        let cov = covariances.index_axis(Axis(0), index);
                        exact_log_upper(w, cov, ws, row)
                    }
                },
            )
            .collect();
        for (index, result) in results.into_iter().enumerate() {
            result.map_err(|source| RiemannError::Matrix { index, source })?;
        }
        Ok(out)
    }
}

widest_vectors! {
    /// The first-order update of [`TangentSpace::transform_near`] for one matrix into `row`,
    /// or false (and `row` untouched) when its perturbation is too large for it.
    fn update_log_upper(
        e: ArrayView2<f64>,
        values: &[f64],
        v: ArrayView2<f64>,
        ws: &mut MatrixWorkspace,
        row: &mut [f64],
    ) -> bool = update_log_upper_portable;
}

#[inline(always)]
fn update_log_upper_portable(
    e: ArrayView2<f64>,
    values: &[f64],
    v: ArrayView2<f64>,
    ws: &mut MatrixWorkspace,
    row: &mut [f64],
) -> bool {
    let c = values.len();
    // ws.b = F = Vᵀ E V, ws.a = F Λ, lower(ws.c) = F Λ Fᵀ.
    product_into(ws.a.view_mut(), e, v);
    product_into(ws.b.view_mut(), v.t(), ws.a.view());
    ws.a.assign(&ws.b);
    for mut r in ws.a.rows_mut() {
        for (x, &l) in r.iter_mut().zip(values) {
            *x *= l;
        }
    }
    symmetric_product_lower_into(ws.c.view_mut(), ws.a.view(), ws.b.t());
    let Some(p) = ws.c.as_slice_mut() else {
        unreachable!("workspace matrices are contiguous")
    };
    for (j, &lj) in values.iter().enumerate() {
        p[j * c + j] -= lj;
    }
    // Δ relative to the eigenvalues it couples: the size of the perturbation seen by logm,
    // whose first-order update is off by about its square.
    for (s, &x) in ws.d.iter_mut().zip(values) {
        *s = 1.0 / x.sqrt();
    }
    let mut perturbation = 0.0f64;
    let mut finite = true;
    for (j, prow) in p.chunks_exact(c).enumerate() {
        let scale_j = ws.d[j];
        for (&x, &scale_k) in prow[..=j].iter().zip(&ws.d) {
            let relative = x.abs() * scale_j * scale_k;
            finite &= relative.is_finite();
            perturbation = perturbation.max(relative);
        }
    }
    if !finite || perturbation > MAX_PERTURBATION_FOR_UPDATE {
        return false;
    }
    for (l, &x) in ws.d.iter_mut().zip(values) {
        *l = x.ln();
    }
    for j in 0..c {
        for k in 0..j {
            let update =
                log_divided_difference(ws.d[j] - ws.d[k], values[j], values[k]) * p[j * c + k];
            p[j * c + k] = update;
            p[k * c + j] = update;
        }
        p[j * c + j] = ws.d[j] + p[j * c + j] / values[j];
    }
    product_into(ws.a.view_mut(), v, ws.c.view());
    symmetric_product_lower_into(ws.b.view_mut(), ws.a.view(), v.t());
    // Only the lower triangle is valid: its transpose's upper triangle.
    upper_into(ws.b.t(), row);
    true
}

/// `upper(logm(w · cov · w))` into `row`.
fn exact_log_upper(
    w: ArrayView2<f64>,
    cov: ArrayView2<f64>,
    ws: &mut MatrixWorkspace,
    row: &mut [f64],
) -> Result<(), SpdError> {
    whiten_lower_into(w, cov, &mut ws.a, &mut ws.b);
    ws.eig.decompose(ws.b.view())?;
    spd::check_positive_definite(ws.eig.values())?;
    for (l, &x) in ws.d.iter_mut().zip(ws.eig.values()) {
        *l = x.ln();
    }
    ws.eig.reconstruct_into(&ws.d, ws.c.view_mut());
    upper_into(ws.c.view(), row);
    Ok(())
}

/// Largest perturbation `max |Δⱼₖ| / √(λⱼ λₖ)` for which [`TangentSpace::fit_transform`]
/// updates a matrix's logarithm from the last Newton round instead of recomputing it: the
/// neglected second-order term is about its square (≤ 1e-12). Typically 1e-7–1e-8 for EEG
/// covariances (the last step is ~1e-6); it grows with the spread of the whitened
/// eigenvalues, and for widely dispersed matrices some are recomputed.
const MAX_PERTURBATION_FOR_UPDATE: f64 = 1e-6;

/// `(ln λⱼ − ln λₖ) / (λⱼ − λₖ)` given `x = ln λⱼ − ln λₖ`: the quotient itself when the
/// eigenvalues are apart, else `(1 − x/2 + x²/12) / λₖ` (the series of `x / (λₖ (eˣ − 1))`,
/// truncation error `x⁴/720 < 2e-15`), `1/λₖ` for equal ones.
fn log_divided_difference(x: f64, lambda_j: f64, lambda_k: f64) -> f64 {
    if x.abs() < 1e-3 {
        (1.0 - x / 2.0 + x * x / 12.0) / lambda_k
    } else {
        x / (lambda_j - lambda_k)
    }
}

/// pyriemann `upper`: upper triangle in row-major order, off-diagonal × √2.
pub fn upper(x: ArrayView2<f64>) -> ndarray::Array1<f64> {
    let c = x.nrows();
    let mut out = vec![0.0; c * (c + 1) / 2];
    upper_into(x, &mut out);
    ndarray::Array1::from(out)
}

fn upper_into(x: ArrayView2<f64>, out: &mut [f64]) {
    let c = x.nrows();
    let mut k = 0;
    for i in 0..c {
        out[k] = x[[i, i]];
        k += 1;
        for j in i + 1..c {
            out[k] = std::f64::consts::SQRT_2 * x[[i, j]];
            k += 1;
        }
    }
}

/// Names of the tangent-vector columns in `upper` order: `ts_i_j` (0-based channel indices).
pub fn feature_names(n_channels: usize) -> Vec<String> {
    let mut names = Vec::with_capacity(n_channels * (n_channels + 1) / 2);
    for i in 0..n_channels {
        for j in i..n_channels {
            names.push(format!("ts_{i}_{j}"));
        }
    }
    names
}
