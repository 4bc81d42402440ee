//! Functions of symmetric positive-definite (SPD) matrices through the symmetric
//! eigendecomposition `C = V diag(λ) Vᵀ`, as pyriemann computes them
//! (`pyriemann.geometry.base._matrix_operator`: `numpy.linalg.eigh`, lower triangle).
//!
//! The decomposition is [`SymmetricEigen`] (single-threaded, bit-reproducible); loops over
//! many matrices keep one workspace and call the `*_with` forms.

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2};

pub use super::symmetric_eigen::SymmetricEigen;

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
/// lower triangle only, like `numpy.linalg.eigh(..., UPLO="L")`. Loops over many matrices
/// should keep one [`SymmetricEigen`] workspace instead.
pub fn eigh(a: ArrayView2<f64>) -> Result<(Array1<f64>, Array2<f64>), SpdError> {
    let mut eig = SymmetricEigen::new(a.nrows());
    eig.decompose(a)?;
    Ok((
        Array1::from(eig.values().to_vec()),
        eig.vectors().to_owned(),
    ))
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
    let mut eig = SymmetricEigen::new(a.nrows());
    let mut out = Array2::zeros(a.raw_dim());
    spd_function_with(&mut eig, a, f, out.view_mut())?;
    Ok(out)
}

/// [`spd_function`] into `out`, reusing the workspace `eig`.
pub fn spd_function_with(
    eig: &mut SymmetricEigen,
    a: ArrayView2<f64>,
    f: impl Fn(f64) -> f64,
    out: ArrayViewMut2<f64>,
) -> Result<(), SpdError> {
    eig.decompose(a)?;
    check_positive_definite(eig.values())?;
    let d: Vec<f64> = eig.values().iter().map(|&x| f(x)).collect();
    eig.reconstruct_into(&d, out);
    Ok(())
}

/// Checks ascending eigenvalues for positive definiteness (see [`MAX_CONDITION`]).
pub fn check_positive_definite(values: &[f64]) -> Result<(), SpdError> {
    let (Some(&min), Some(&max)) = (values.first(), values.last()) else {
        return Ok(());
    };
    if min.is_nan() || min <= 0.0 || min * MAX_CONDITION < max {
        return Err(SpdError::NotPositiveDefinite {
            min_eigenvalue: min,
            max_eigenvalue: max,
        });
    }
    Ok(())
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
    let mut eig = SymmetricEigen::new(a.nrows());
    let mut sqrt = Array2::zeros(a.raw_dim());
    let mut inv = Array2::zeros(a.raw_dim());
    sqrtm_and_invsqrtm_with(&mut eig, a, sqrt.view_mut(), inv.view_mut())?;
    Ok((sqrt, inv))
}

/// [`sqrtm_and_invsqrtm`] into `sqrt` and `inv_sqrt`, reusing the workspace `eig`.
pub fn sqrtm_and_invsqrtm_with(
    eig: &mut SymmetricEigen,
    a: ArrayView2<f64>,
    sqrt: ArrayViewMut2<f64>,
    inv_sqrt: ArrayViewMut2<f64>,
) -> Result<(), SpdError> {
    eig.decompose(a)?;
    check_positive_definite(eig.values())?;
    let s: Vec<f64> = eig.values().iter().map(|x| x.sqrt()).collect();
    let inv: Vec<f64> = s.iter().map(|x| 1.0 / x).collect();
    eig.reconstruct_into(&s, sqrt);
    eig.reconstruct_into(&inv, inv_sqrt);
    Ok(())
}

/// Matrix exponential of a symmetric matrix (any sign of eigenvalues is fine).
pub fn expm_symmetric(a: ArrayView2<f64>) -> Result<Array2<f64>, SpdError> {
    let mut eig = SymmetricEigen::new(a.nrows());
    let mut out = Array2::zeros(a.raw_dim());
    expm_symmetric_with(&mut eig, a, out.view_mut())?;
    Ok(out)
}

/// [`expm_symmetric`] into `out`, reusing the workspace `eig`.
pub fn expm_symmetric_with(
    eig: &mut SymmetricEigen,
    a: ArrayView2<f64>,
    out: ArrayViewMut2<f64>,
) -> Result<(), SpdError> {
    eig.decompose(a)?;
    let d: Vec<f64> = eig.values().iter().map(|x| x.exp()).collect();
    eig.reconstruct_into(&d, out);
    Ok(())
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
