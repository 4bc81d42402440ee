//! Dense linear-algebra helpers shared by the ICA solvers: products of ndarray views through
//! faer (always `Par::Seq`, so results do not depend on the thread count), a sequential
//! symmetric eigendecomposition, and the few small-matrix operations (log|det|, inverse,
//! symmetric decorrelation, matrix exponential) that act on n_components × n_components
//! matrices.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::{Accum, Par};
use faer_ext::IntoFaer;
use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, Axis};

/// `dst = beta_dst + alpha * a @ b` where `beta_dst` is `dst` if `accumulate` else 0.
pub fn gemm_into(
    dst: ArrayViewMut2<f64>,
    a: ArrayView2<f64>,
    b: ArrayView2<f64>,
    alpha: f64,
    accumulate: bool,
) {
    let accum = if accumulate {
        Accum::Add
    } else {
        Accum::Replace
    };
    faer::linalg::matmul::matmul(
        dst.into_faer(),
        accum,
        a.into_faer(),
        b.into_faer(),
        alpha,
        Par::Seq,
    );
}

/// Lower triangle (with the diagonal) of `dst (+)= a @ a.T`; the upper triangle is left
/// untouched. Half the work of the full product, for Gram matrices.
pub fn gram_lower_into(dst: ArrayViewMut2<f64>, a: ArrayView2<f64>, accumulate: bool) {
    use faer::linalg::matmul::triangular::{BlockStructure, matmul as tri_matmul};
    let accum = if accumulate {
        Accum::Add
    } else {
        Accum::Replace
    };
    tri_matmul(
        dst.into_faer(),
        BlockStructure::TriangularLower,
        accum,
        a.into_faer(),
        BlockStructure::Rectangular,
        a.t().into_faer(),
        BlockStructure::Rectangular,
        1.0,
        Par::Seq,
    );
}

/// `a @ b`.
pub fn matmul(a: ArrayView2<f64>, b: ArrayView2<f64>) -> Array2<f64> {
    let mut out = Array2::zeros((a.nrows(), b.ncols()));
    gemm_into(out.view_mut(), a, b, 1.0, false);
    out
}

/// `a @ b.T`.
pub fn matmul_bt(a: ArrayView2<f64>, b: ArrayView2<f64>) -> Array2<f64> {
    matmul(a, b.t())
}

/// Eigendecomposition of a symmetric matrix (lower triangle read): eigenvalues in
/// nondecreasing order and eigenvectors as columns.
pub fn eigh(a: ArrayView2<f64>) -> Option<(Array1<f64>, Array2<f64>)> {
    let n = a.nrows();
    let a = a.into_faer();
    let mut u = faer::Mat::<f64>::zeros(n, n);
    let mut s = faer::diag::Diag::<f64>::zeros(n);
    let par = Par::Seq;
    let scratch = faer::linalg::evd::self_adjoint_evd_scratch::<f64>(
        n,
        faer::linalg::evd::ComputeEigenvectors::Yes,
        par,
        Default::default(),
    );
    let mut buf = MemBuffer::new(scratch);
    faer::linalg::evd::self_adjoint_evd(
        a,
        s.as_mut(),
        Some(u.as_mut()),
        par,
        MemStack::new(&mut buf),
        Default::default(),
    )
    .ok()?;
    let vals = Array1::from_iter((0..n).map(|i| s[i]));
    let vecs = Array2::from_shape_fn((n, n), |(i, j)| u[(i, j)]);
    Some((vals, vecs))
}

/// LU factorisation with partial pivoting of a small square matrix, in place.
/// Returns the row swaps' parity sign, or `None` if a pivot is exactly zero.
fn lu_in_place(a: &mut Array2<f64>) -> Option<f64> {
    let n = a.nrows();
    let mut sign = 1.0;
    for k in 0..n {
        let mut p = k;
        for i in k + 1..n {
            if a[(i, k)].abs() > a[(p, k)].abs() {
                p = i;
            }
        }
        if a[(p, k)] == 0.0 || !a[(p, k)].is_finite() {
            return None;
        }
        if p != k {
            for j in 0..n {
                a.swap((p, j), (k, j));
            }
            sign = -sign;
        }
        let pivot = a[(k, k)];
        for i in k + 1..n {
            let f = a[(i, k)] / pivot;
            a[(i, k)] = f;
            for j in k + 1..n {
                a[(i, j)] -= f * a[(k, j)];
            }
        }
    }
    Some(sign)
}

/// log |det a|; `-inf` for a singular matrix (as numpy's slogdet).
pub fn log_abs_det(a: ArrayView2<f64>) -> f64 {
    let mut lu = a.to_owned();
    match lu_in_place(&mut lu) {
        Some(_) => lu.diag().iter().map(|d| d.abs().ln()).sum(),
        None => f64::NEG_INFINITY,
    }
}

/// Inverse of a small square matrix by Gauss–Jordan with partial pivoting.
pub fn inverse(a: ArrayView2<f64>) -> Option<Array2<f64>> {
    let n = a.nrows();
    let mut m = a.to_owned();
    let mut inv = Array2::<f64>::eye(n);
    for k in 0..n {
        let mut p = k;
        for i in k + 1..n {
            if m[(i, k)].abs() > m[(p, k)].abs() {
                p = i;
            }
        }
        if m[(p, k)] == 0.0 || !m[(p, k)].is_finite() {
            return None;
        }
        if p != k {
            for j in 0..n {
                m.swap((p, j), (k, j));
                inv.swap((p, j), (k, j));
            }
        }
        let pivot = m[(k, k)];
        for j in 0..n {
            m[(k, j)] /= pivot;
            inv[(k, j)] /= pivot;
        }
        for i in 0..n {
            if i != k {
                let f = m[(i, k)];
                if f != 0.0 {
                    for j in 0..n {
                        m[(i, j)] -= f * m[(k, j)];
                        inv[(i, j)] -= f * inv[(k, j)];
                    }
                }
            }
        }
    }
    Some(inv)
}

/// Symmetric decorrelation `W <- (W W^T)^{-1/2} W` (python-picard's and sklearn's
/// `_sym_decorrelation`).
pub fn sym_decorrelation(w: ArrayView2<f64>) -> Option<Array2<f64>> {
    let wwt = matmul_bt(w, w);
    let (s, u) = eigh(wwt.view())?;
    if s.iter().any(|&x| x <= 0.0 || !x.is_finite()) {
        return None;
    }
    let mut us = u.clone();
    for (j, mut col) in us.axis_iter_mut(Axis(1)).enumerate() {
        col /= s[j].sqrt();
    }
    let inv_sqrt = matmul_bt(us.view(), u.view());
    Some(matmul(inv_sqrt.view(), w))
}

/// Matrix exponential by scaling and squaring with a Taylor series; used by Picard-O on
/// skew-symmetric directions, where it is well conditioned.
pub fn expm(a: ArrayView2<f64>) -> Array2<f64> {
    let n = a.nrows();
    let norm1 = a
        .axis_iter(Axis(1))
        .map(|c| c.iter().map(|x| x.abs()).sum::<f64>())
        .fold(0.0, f64::max);
    let mut squarings = 0u32;
    let mut scale = 1.0;
    while norm1 * scale > 0.5 {
        scale *= 0.5;
        squarings += 1;
        if squarings > 60 {
            break;
        }
    }
    let scaled = a.mapv(|x| x * scale);
    let mut result = Array2::<f64>::eye(n);
    let mut term = Array2::<f64>::eye(n);
    // ||A|| <= 1/2: 20 terms bring the remainder below 1e-22.
    for k in 1..=20 {
        term = matmul(term.view(), scaled.view()) / k as f64;
        result += &term;
    }
    for _ in 0..squarings {
        result = matmul(result.view(), result.view());
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn small_dense_helpers_agree_with_hand_values() {
        let a = array![[4.0, 1.0, 0.5], [2.0, 3.0, 1.0], [0.0, 1.0, 5.0]];
        // det by cofactor expansion
        let det = 4.0 * (3.0 * 5.0 - 1.0) - 1.0 * (2.0 * 5.0 - 0.0) + 0.5 * (2.0 - 0.0);
        assert!((log_abs_det(a.view()) - f64::ln(det)).abs() < 1e-12);
        let inv = inverse(a.view()).unwrap();
        let id = matmul(a.view(), inv.view());
        assert!((id - Array2::<f64>::eye(3)).iter().all(|x| x.abs() < 1e-12));
        let d = sym_decorrelation(a.view()).unwrap();
        let ddt = matmul_bt(d.view(), d.view());
        assert!(
            (ddt - Array2::<f64>::eye(3))
                .iter()
                .all(|x| x.abs() < 1e-12)
        );
        // exp of a rotation generator is the rotation
        let t = 1.3f64;
        let skew = array![[0.0, -t], [t, 0.0]];
        let r = expm(skew.view());
        assert!((r[(0, 0)] - t.cos()).abs() < 1e-14 && (r[(1, 0)] - t.sin()).abs() < 1e-14);
    }
}
