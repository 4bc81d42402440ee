//! Dense products of the small channel × channel matrices of the Riemannian code, through
//! faer (`Par::Seq`: the parallelism is across matrices, and a sequential product gives the
//! same bits whatever the thread count). For 64×64 operands faer's AVX-512 kernels take
//! ~4.5 µs per product, `ndarray`'s `matrixmultiply` (AVX2) ~11 µs; a Newton round of the
//! Riemannian mean does a few of these per matrix.

use faer::Accum;
use faer::Par;
use faer::linalg::matmul::triangular::{BlockStructure, matmul as triangular_matmul};
use faer_ext::IntoFaer;
use ndarray::{ArrayView2, ArrayViewMut2};

/// `dst = a · b`.
pub(crate) fn product_into(dst: ArrayViewMut2<f64>, a: ArrayView2<f64>, b: ArrayView2<f64>) {
    faer::linalg::matmul::matmul(
        dst.into_faer(),
        Accum::Replace,
        a.into_faer(),
        b.into_faer(),
        1.0,
        Par::Seq,
    );
}

/// The lower triangle (with the diagonal) of `dst = a · b`, for products known to be
/// symmetric (`W C W`, `Vᵀ X V`, `V Z Vᵀ`): half the work. The strict upper triangle of `dst`
/// is left untouched.
pub(crate) fn symmetric_product_lower_into(
    dst: ArrayViewMut2<f64>,
    a: ArrayView2<f64>,
    b: ArrayView2<f64>,
) {
    triangular_matmul(
        dst.into_faer(),
        BlockStructure::TriangularLower,
        Accum::Replace,
        a.into_faer(),
        BlockStructure::Rectangular,
        b.into_faer(),
        BlockStructure::Rectangular,
        1.0,
        Par::Seq,
    );
}

/// Copies the lower triangle of the square `x` onto its upper triangle.
pub(crate) fn mirror_lower(mut x: ArrayViewMut2<f64>) {
    let n = x.nrows();
    for row in 0..n {
        for col in 0..row {
            x[[col, row]] = x[[row, col]];
        }
    }
}
