//! Affine-invariant Riemannian mean of SPD matrices, step for step as
//! `pyriemann.geometry.mean.mean_riemann` (0.12): start from the arithmetic mean, then
//! gradient descent `M ← M^{1/2} expm(ν·J) M^{1/2}` with `J = Σ wᵢ logm(M^{-1/2} Cᵢ M^{-1/2})`,
//! step `ν` starting at 1, multiplied by 0.95 while `ν‖J‖_F` decreases and halved otherwise;
//! stop when `‖J‖_F ≤ tol` or `ν ≤ tol` (`tol = 1e-8`), at most 50 iterations.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayView3, Axis};

use super::spd::{self, SpdError, SymmetricEigen};

/// pyriemann's defaults (`tol=10e-9`, `maxiter=50`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanOptions {
    pub tol: f64,
    pub max_iter: usize,
}

impl Default for MeanOptions {
    fn default() -> Self {
        Self {
            tol: 10e-9,
            max_iter: 50,
        }
    }
}

/// The mean and how the iteration ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RiemannianMean {
    pub mean: Array2<f64>,
    pub iterations: usize,
    /// False when `max_iter` was reached first (pyriemann warns "Convergence not reached").
    pub converged: bool,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RiemannError {
    #[error("no matrices to average")]
    Empty,
    #[error("matrix {index}: {source}")]
    Matrix {
        index: usize,
        #[source]
        source: SpdError,
    },
    #[error("the mean estimate became non-SPD at iteration {iteration}: {source}")]
    Iterate {
        iteration: usize,
        #[source]
        source: SpdError,
    },
    #[error("reference matrix: {0}")]
    Reference(#[source] SpdError),
    #[error("matrices are {got}×{got} but the reference is {want}×{want}")]
    DimensionMismatch { got: usize, want: usize },
}

/// Riemannian mean of `matrices` (`n × c × c`, each SPD) with equal weights.
pub fn mean_riemann(
    matrices: ArrayView3<f64>,
    options: MeanOptions,
) -> Result<RiemannianMean, RiemannError> {
    let n_matrices = matrices.len_of(Axis(0));
    if n_matrices == 0 {
        return Err(RiemannError::Empty);
    }
    let weight = 1.0 / n_matrices as f64;
    // mean_euclid: tensordot(weights, X) = Σ wᵢ Cᵢ.
    let mut m = {
        let (_, r, c) = matrices.dim();
        Array2::<f64>::zeros((r, c))
    };
    for c in matrices.outer_iter() {
        m.scaled_add(weight, &c);
    }
    let c = m.nrows();
    // One eigendecomposition workspace and fixed buffers for the whole iteration: ~1000
    // decompositions per recording, none of them allocating.
    let mut eig = SymmetricEigen::new(c);
    let mut m12 = Array2::<f64>::zeros((c, c));
    let mut mm12 = Array2::<f64>::zeros((c, c));
    let mut half = Array2::<f64>::zeros((c, c));
    let mut whitened = Array2::<f64>::zeros((c, c));
    let mut logs = vec![0.0; c];
    // Σ wᵢ logm(·), lower triangle, column-major (SymmetricEigen::accumulate_lower).
    let mut j_lower = vec![0.0; c * c];
    let mut j = Array2::<f64>::zeros((c, c));
    let mut step = Array2::<f64>::zeros((c, c));
    let mut nu = 1.0;
    let mut tau = f64::MAX;
    let mut iterations = 0;
    let mut converged = false;
    for iteration in 0..options.max_iter {
        iterations = iteration + 1;
        spd::sqrtm_and_invsqrtm_with(&mut eig, m.view(), m12.view_mut(), mm12.view_mut())
            .map_err(|source| RiemannError::Iterate { iteration, source })?;
        j_lower.fill(0.0);
        for (index, cov) in matrices.outer_iter().enumerate() {
            whiten_into(mm12.view(), cov, &mut half, &mut whitened);
            // Congruence keeps definiteness, so a non-SPD input fails here, by index.
            let source = match eig.decompose(whitened.view()) {
                Ok(()) => spd::check_positive_definite(eig.values()),
                Err(e) => Err(e),
            };
            source.map_err(|source| RiemannError::Matrix { index, source })?;
            for (l, &x) in logs.iter_mut().zip(eig.values()) {
                *l = x.ln();
            }
            eig.accumulate_lower(&logs, weight, &mut j_lower);
        }
        for col in 0..c {
            for row in col..c {
                let v = j_lower[col * c + row];
                j[[row, col]] = v;
                j[[col, row]] = v;
            }
        }
        spd::expm_symmetric_with(&mut eig, (&j * nu).view(), step.view_mut())
            .map_err(|source| RiemannError::Iterate { iteration, source })?;
        general_mat_mul(1.0, &m12, &step, 0.0, &mut half);
        general_mat_mul(1.0, &half, &m12, 0.0, &mut m);
        let crit = j.iter().map(|v| v * v).sum::<f64>().sqrt();
        let h = nu * crit;
        if h < tau {
            nu *= 0.95;
            tau = h;
        } else {
            nu *= 0.5;
        }
        if crit <= options.tol || nu <= options.tol {
            converged = true;
            break;
        }
    }
    Ok(RiemannianMean {
        mean: m,
        iterations,
        converged,
    })
}

/// `out = w · x · w` (`w` symmetric), through the buffer `half = w · x`.
pub(crate) fn whiten_into(
    w: ArrayView2<f64>,
    x: ArrayView2<f64>,
    half: &mut Array2<f64>,
    out: &mut Array2<f64>,
) {
    general_mat_mul(1.0, &w, &x, 0.0, half);
    general_mat_mul(1.0, half, &w, 0.0, out);
}
