//! Symmetric ("parallel") FastICA, a port of scikit-learn's `_ica_par` as MNE calls it
//! (`FastICA(whiten=False, algorithm='parallel', fun='logcosh', max_iter=1000, tol=1e-4)`
//! on the unit-variance principal scores).
//!
//! Fixed-point iteration `W ← sym_decorrelation(E[g(WX) Xᵀ] − diag(E[g'(WX)]) W)`, stopping
//! when `max_i | |⟨w_i^new, w_i⟩| − 1 | < tol`.

use ndarray::{Array1, Array2, ArrayView2, Axis, Zip};

use super::linalg::{matmul, matmul_bt, sym_decorrelation};
use super::{IcaError, SolverOutput};
use crate::rng::Rng;

/// The contrast function G (its derivative g is the non-linearity).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FastIcaFun {
    /// g(u) = tanh(αu), α in [1, 2] (sklearn's default α = 1).
    Logcosh { alpha: f64 },
    /// g(u) = u·exp(−u²/2).
    Exp,
    /// g(u) = u³.
    Cube,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FastIcaParams {
    pub fun: FastIcaFun,
    pub max_iter: usize,
    pub tol: f64,
}

impl Default for FastIcaParams {
    /// MNE's `method='fastica'` with `max_iter='auto'`.
    fn default() -> Self {
        FastIcaParams {
            fun: FastIcaFun::Logcosh { alpha: 1.0 },
            max_iter: 1000,
            tol: 1e-4,
        }
    }
}

/// g(WX) in place, and the row means of g'(WX).
fn apply_g(fun: FastIcaFun, wx: &mut Array2<f64>) -> Array1<f64> {
    let t = wx.ncols() as f64;
    let mut mean_der = Array1::<f64>::zeros(wx.nrows());
    for (mut row, md) in wx.outer_iter_mut().zip(mean_der.iter_mut()) {
        let mut acc = 0.0;
        match fun {
            FastIcaFun::Logcosh { alpha } => row.iter_mut().for_each(|v| {
                let g = (alpha * *v).tanh();
                acc += alpha * (1.0 - g * g);
                *v = g;
            }),
            FastIcaFun::Exp => row.iter_mut().for_each(|v| {
                let e = (-*v * *v / 2.0).exp();
                acc += (1.0 - *v * *v) * e;
                *v *= e;
            }),
            FastIcaFun::Cube => row.iter_mut().for_each(|v| {
                acc += 3.0 * *v * *v;
                *v = *v * *v * *v;
            }),
        }
        *md = acc / t;
    }
    mean_der
}

/// Run symmetric FastICA on whitened data `z` (n × samples); the initial matrix is standard
/// normal from `rng` (sklearn's `w_init`).
pub fn fastica(
    z: ArrayView2<f64>,
    params: &FastIcaParams,
    rng: &mut Rng,
) -> Result<SolverOutput, IcaError> {
    let n = z.nrows();
    let t = z.ncols() as f64;
    let w0 = Array2::from_shape_simple_fn((n, n), || rng.normal());
    let mut w = sym_decorrelation(w0.view()).ok_or(IcaError::Decomposition("FastICA init"))?;
    let mut n_iter = params.max_iter;
    let mut converged = false;
    for ii in 0..params.max_iter {
        let mut gwx = matmul(w.view(), z);
        let mean_der = apply_g(params.fun, &mut gwx);
        let mut target = matmul_bt(gwx.view(), z) / t;
        drop(gwx);
        Zip::from(target.rows_mut())
            .and(w.rows())
            .and(&mean_der)
            .for_each(|mut tr, wr, &md| tr.scaled_add(-md, &wr));
        let w1 = sym_decorrelation(target.view())
            .ok_or(IcaError::Decomposition("FastICA decorrelation"))?;
        let lim = (&w1 * &w)
            .sum_axis(Axis(1))
            .iter()
            .fold(0.0f64, |a, &d| a.max((d.abs() - 1.0).abs()));
        w = w1;
        if lim < params.tol {
            n_iter = ii + 1;
            converged = true;
            break;
        }
    }
    Ok(SolverOutput {
        unmixing: w,
        n_iter,
        converged,
    })
}
