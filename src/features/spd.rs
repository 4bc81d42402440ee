//! Functions of symmetric positive-definite (SPD) matrices through the symmetric
//! eigendecomposition `C = V diag(λ) Vᵀ`, as pyriemann computes them
//! (`pyriemann.geometry.base._matrix_operator`: `numpy.linalg.eigh`, lower triangle).
//!
//! The decomposition is faer's, forced single-threaded (`Par::Seq`): faer's global default
//! is rayon, which would oversubscribe when the scheduler already runs one recording per core
//! and would make results depend on the thread count.

use faer::linalg::evd::{self, ComputeEigenvectors};
use faer::{Mat, Par};
use ndarray::{Array1, Array2, ArrayView2};

/// Why a matrix could not be treated as SPD.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpdError {
    #[error("matrix is {rows}×{cols}, not square")]
    NotSquare { rows: usize, cols: usize },
    #[error("matrix contains NaN or infinite values")]
    NotFinite,
    #[error("the symmetric eigendecomposition did not converge")]
    NoConvergence,
    #[error(
        "matrix is not positive definite (eigenvalues from {min_eigenvalue:e} to \
         {max_eigenvalue:e}): it is singular or nearly so, typically because an epoch has fewer \
         samples than channels or the channels are linearly dependent (e.g. after an average \
         reference); use a shrinkage estimator (`oas`, `lwf`) or longer epochs"
    )]
    NotPositiveDefinite {
        min_eigenvalue: f64,
        max_eigenvalue: f64,
    },
}

/// Eigenvalues (ascending) and eigenvectors (columns) of a symmetric matrix, reading its
/// lower triangle only, like `numpy.linalg.eigh(..., UPLO="L")`.
pub fn eigh(a: ArrayView2<f64>) -> Result<(Array1<f64>, Array2<f64>), SpdError> {
    let (rows, cols) = a.dim();
    if rows != cols {
        return Err(SpdError::NotSquare { rows, cols });
    }
    if a.iter().any(|v| !v.is_finite()) {
        return Err(SpdError::NotFinite);
    }
    let n = rows;
    // Mirror the lower triangle so the result cannot depend on rounding noise in the upper one.
    let m = Mat::<f64>::from_fn(n, n, |i, j| if i >= j { a[[i, j]] } else { a[[j, i]] });
    let mut s = faer::diag::Diag::<f64>::zeros(n);
    let mut u = Mat::<f64>::zeros(n, n);
    let par = Par::Seq;
    let scratch =
        evd::self_adjoint_evd_scratch::<f64>(n, ComputeEigenvectors::Yes, par, Default::default());
    let mut buf = faer::dyn_stack::MemBuffer::new(scratch);
    evd::self_adjoint_evd(
        m.as_ref(),
        s.as_mut(),
        Some(u.as_mut()),
        par,
        faer::dyn_stack::MemStack::new(&mut buf),
        Default::default(),
    )
    .map_err(|_| SpdError::NoConvergence)?;
    let diag = s.column_vector();
    let values = Array1::from_shape_fn(n, |i| diag[i]);
    let vectors = Array2::from_shape_fn((n, n), |(i, j)| u[(i, j)]);
    Ok((values, vectors))
}

/// Largest condition number (λ_max/λ_min) accepted as SPD. Beyond it the smallest
/// eigenvalues are rounding noise (their relative error is about n·ε·κ ≈ 1e-2 at κ = 1e12 for
/// 64 channels), so their logarithms, and every tangent vector, would be meaningless; such a
/// matrix is reported as singular instead. pyriemann has no such check and returns NaN or
/// noise for these matrices.
pub const MAX_CONDITION: f64 = 1e12;

/// `V diag(f(λ)) Vᵀ` for an SPD matrix; refuses matrices that are not numerically positive
/// definite (see [`MAX_CONDITION`]).
pub fn spd_function(a: ArrayView2<f64>, f: impl Fn(f64) -> f64) -> Result<Array2<f64>, SpdError> {
    let (values, vectors) = eigh(a)?;
    check_positive_definite(&values)?;
    Ok(reconstruct(&values.mapv(f), &vectors))
}

/// Checks ascending eigenvalues for positive definiteness (see [`MAX_CONDITION`]).
pub fn check_positive_definite(values: &Array1<f64>) -> Result<(), SpdError> {
    let n = values.len();
    if n == 0 {
        return Ok(());
    }
    let min = values[0];
    let max = values[n - 1];
    if min.is_nan() || min <= 0.0 || min * MAX_CONDITION < max {
        return Err(SpdError::NotPositiveDefinite {
            min_eigenvalue: min,
            max_eigenvalue: max,
        });
    }
    Ok(())
}

/// `V diag(d) Vᵀ`.
fn reconstruct(d: &Array1<f64>, v: &Array2<f64>) -> Array2<f64> {
    let scaled = v * &d.view().insert_axis(ndarray::Axis(0));
    scaled.dot(&v.t())
}

/// Matrix square root of an SPD matrix.
pub fn sqrtm(a: ArrayView2<f64>) -> Result<Array2<f64>, SpdError> {
    spd_function(a, f64::sqrt)
}

/// Inverse matrix square root of an SPD matrix.
pub fn invsqrtm(a: ArrayView2<f64>) -> Result<Array2<f64>, SpdError> {
    spd_function(a, |x| 1.0 / x.sqrt())
}

/// Matrix logarithm of an SPD matrix.
pub fn logm(a: ArrayView2<f64>) -> Result<Array2<f64>, SpdError> {
    spd_function(a, f64::ln)
}

/// Both `C^{1/2}` and `C^{-1/2}` from one decomposition.
pub fn sqrtm_and_invsqrtm(a: ArrayView2<f64>) -> Result<(Array2<f64>, Array2<f64>), SpdError> {
    let (values, vectors) = eigh(a)?;
    check_positive_definite(&values)?;
    let sqrt = values.mapv(f64::sqrt);
    let inv = sqrt.mapv(|x| 1.0 / x);
    Ok((reconstruct(&sqrt, &vectors), reconstruct(&inv, &vectors)))
}

/// Matrix exponential of a symmetric matrix (any sign of eigenvalues is fine).
pub fn expm_symmetric(a: ArrayView2<f64>) -> Result<Array2<f64>, SpdError> {
    let (values, vectors) = eigh(a)?;
    Ok(reconstruct(&values.mapv(f64::exp), &vectors))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn sqrtm_squares_back_and_logm_of_diagonal_is_elementwise() {
        let a = array![[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]];
        let s = sqrtm(a.view()).unwrap();
        let back = s.dot(&s);
        for (x, y) in back.iter().zip(a.iter()) {
            assert!((x - y).abs() < 1e-13, "{x} vs {y}");
        }
        let (s2, is2) = sqrtm_and_invsqrtm(a.view()).unwrap();
        let eye = s2.dot(&is2);
        for ((i, j), v) in eye.indexed_iter() {
            let want = if i == j { 1.0 } else { 0.0 };
            assert!((v - want).abs() < 1e-13);
        }
        let d = array![[2.0, 0.0], [0.0, 5.0]];
        let l = logm(d.view()).unwrap();
        assert!((l[[0, 0]] - 2f64.ln()).abs() < 1e-15);
        assert!((l[[1, 1]] - 5f64.ln()).abs() < 1e-15);
        assert!(l[[0, 1]].abs() < 1e-15);
    }

    #[test]
    fn singular_and_indefinite_matrices_are_refused() {
        let singular = array![[1.0, 1.0], [1.0, 1.0]];
        assert!(matches!(
            logm(singular.view()),
            Err(SpdError::NotPositiveDefinite { .. })
        ));
        let indefinite = array![[1.0, 2.0], [2.0, 1.0]];
        assert!(matches!(
            sqrtm(indefinite.view()),
            Err(SpdError::NotPositiveDefinite { .. })
        ));
        let nan = array![[1.0, f64::NAN], [f64::NAN, 1.0]];
        assert_eq!(logm(nan.view()), Err(SpdError::NotFinite));
    }
}
