//! Dense products of the small channel × channel matrices of the Riemannian code, through
//! faer (`Par::Seq`: the parallelism is across matrices, and a sequential product gives the
//! same bits whatever the thread count). For 64×64 operands faer's AVX-512 kernels take
//! ~4.5 µs per product, `ndarray`'s `matrixmultiply` (AVX2) ~11 µs; a Newton round of the
//! Riemannian mean does a few of these per matrix.

use faer::Accum;
use faer::Par;
use faer_ext::IntoFaer;
use ndarray::{ArrayView2, ArrayViewMut2};

/// The element types the products are used with (`f32` for the rough early Newton solves of
/// the Riemannian mean).
pub(crate) trait Real: faer::traits::ComplexField + Copy {
    const ONE: Self;
}

impl Real for f64 {
    const ONE: f64 = 1.0;
}

impl Real for f32 {
    const ONE: f32 = 1.0;
}

/// `dst = a · b`.
pub(crate) fn product_into<T: Real>(dst: ArrayViewMut2<T>, a: ArrayView2<T>, b: ArrayView2<T>) {
    faer::linalg::matmul::matmul(
        dst.into_faer(),
        Accum::Replace,
        a.into_faer(),
        b.into_faer(),
        T::ONE,
        Par::Seq,
    );
}

/// The lower triangle (with the diagonal) of `dst = a · b`, for products known to be
/// symmetric (`W C W`, `Vᵀ X V`, `V Z Vᵀ`). The strict upper triangle of `dst` is left
/// unspecified (partly written).
///
/// Computed as full products of blocks of `ROWS_PER_BLOCK` rows, each up to the end of its
/// diagonal block: for 64×64 operands 10/16 of the work of a full product, and 2.8 µs against
/// 4.4 µs for the full product and 3.7 µs for faer's triangular `matmul` (whose bookkeeping
/// costs most of what skipping the upper triangle saves at this size).
pub(crate) fn symmetric_product_lower_into<T: Real>(
    dst: ArrayViewMut2<T>,
    a: ArrayView2<T>,
    b: ArrayView2<T>,
) {
    const ROWS_PER_BLOCK: usize = 16;
    let n = dst.nrows();
    let (mut dst, a, b) = (dst.into_faer(), a.into_faer(), b.into_faer());
    for first in (0..n).step_by(ROWS_PER_BLOCK) {
        let rows = ROWS_PER_BLOCK.min(n - first);
        let columns = first + rows;
        faer::linalg::matmul::matmul(
            dst.as_mut().submatrix_mut(first, 0, rows, columns),
            Accum::Replace,
            a.subrows(first, rows),
            b.subcols(0, columns),
            T::ONE,
            Par::Seq,
        );
    }
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
