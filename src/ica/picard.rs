//! Picard: preconditioned ICA (Ablin, Cardoso & Gramfort 2018, "Faster independent
//! component analysis by preconditioning with Hessian approximations"), a line-by-line port
//! of python-picard 0.8.2 (`solver.picard` with `whiten=False` as MNE calls it, and
//! `_core_picard.core_picard`).
//!
//! L-BFGS on the relative gradient, preconditioned by the H̃2 Hessian approximation
//! (regularised so its eigenvalues are ≥ `lambda_min`), backtracking line search with
//! `ls_tries` halvings (falling back to the plain gradient when it fails).
//! `ortho = true` constrains the unmixing matrix to rotations (Picard-O, FastICA's fixed
//! points); `extended = true` adapts each component's density sign to sub/super-Gaussianity
//! (`ortho = false, extended = true` has extended Infomax's fixed points).

use std::collections::VecDeque;

use ndarray::{Array1, Array2, ArrayView2, Axis, Zip};

use super::linalg::{expm, gemm_into, log_abs_det, matmul, matmul_bt, sym_decorrelation};
use super::{IcaError, SolverOutput};
use crate::rng::Rng;

/// The score (non-linearity) model: python-picard's `densities`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Density {
    /// −log p(y) = |y| + log(1 + e^{−2α|y|})/α, score tanh(αy). python-picard's default.
    Tanh { alpha: f64 },
    /// −log p(y) = −e^{−αy²/2}/α (python-picard's 'exp' uses α = 0.1).
    Exp { alpha: f64 },
    /// −log p(y) = y⁴/4.
    Cube,
}

/// Picard's parameters, python-picard's defaults except `ortho`/`extended`, which default to
/// the reference pipeline's `ortho=False, extended=True` (python-picard's own default is
/// `ortho=True`, `extended=ortho`).
#[derive(Debug, Clone, PartialEq)]
pub struct PicardParams {
    pub density: Density,
    pub ortho: bool,
    pub extended: bool,
    /// L-BFGS memory.
    pub m: usize,
    pub max_iter: usize,
    /// Stop when max |relative gradient| < tol.
    pub tol: f64,
    pub lambda_min: f64,
    pub ls_tries: usize,
}

impl Default for PicardParams {
    fn default() -> Self {
        PicardParams {
            density: Density::Tanh { alpha: 1.0 },
            ortho: false,
            extended: true,
            m: 7,
            max_iter: 500,
            tol: 1e-7,
            lambda_min: 0.01,
            ls_tries: 10,
        }
    }
}

impl Density {
    /// Σ over the row of −log p(y), divided by the row length.
    fn mean_log_lik(&self, row: ndarray::ArrayView1<f64>) -> f64 {
        let t = row.len() as f64;
        let s: f64 = match *self {
            Density::Tanh { alpha } => row
                .iter()
                .map(|&y| {
                    let a = y.abs();
                    a + (-2.0 * alpha * a).exp().ln_1p() / alpha
                })
                .sum(),
            Density::Exp { alpha } => row
                .iter()
                .map(|&y| -(-alpha * y * y / 2.0).exp() / alpha)
                .sum(),
            Density::Cube => row.iter().map(|&y| y.powi(4) / 4.0).sum(),
        };
        s / t
    }

    /// Score ψ(y) and its derivative ψ'(y), written into `psi` and `dpsi`.
    fn score_and_der(&self, y: &Array2<f64>, psi: &mut Array2<f64>, dpsi: &mut Array2<f64>) {
        match *self {
            Density::Tanh { alpha } => Zip::from(psi).and(dpsi).and(y).for_each(|p, d, &v| {
                let s = (alpha * v).tanh();
                *p = s;
                *d = alpha - alpha * s * s;
            }),
            Density::Exp { alpha } => Zip::from(psi).and(dpsi).and(y).for_each(|p, d, &v| {
                let sq = v * v;
                let k = (-alpha / 2.0 * sq).exp();
                *p = v * k;
                *d = (1.0 - alpha * sq) * k;
            }),
            Density::Cube => Zip::from(psi).and(dpsi).and(y).for_each(|p, d, &v| {
                *p = v * v * v;
                *d = 3.0 * v * v;
            }),
        }
    }
}

/// Run Picard on whitened, unit-variance data `z` (n × samples), MNE-style: centre, start
/// from a random decorrelated matrix drawn from `rng`, iterate. Returns the unmixing matrix
/// in the whitened space and MNE's iteration count (python-picard's `n_iter + 1`).
pub fn picard(
    z: ArrayView2<f64>,
    params: &PicardParams,
    rng: &mut Rng,
) -> Result<SolverOutput, IcaError> {
    let n = z.nrows();
    let w0 = Array2::from_shape_simple_fn((n, n), || rng.normal());
    let w_init =
        sym_decorrelation(w0.view()).ok_or(IcaError::Decomposition("Picard initialisation"))?;
    picard_from(z, params, w_init.view())
}

/// Picard from a given initial unmixing matrix (python-picard's `w_init`), which is used
/// as given (not decorrelated). Used by [`picard`] and to compare with python-picard from the
/// same start.
pub fn picard_from(
    z: ArrayView2<f64>,
    params: &PicardParams,
    w_init: ArrayView2<f64>,
) -> Result<SolverOutput, IcaError> {
    let n = z.nrows();
    if w_init.dim() != (n, n) {
        return Err(IcaError::Shape {
            what: "w_init",
            got: w_init.nrows(),
            expected: n,
        });
    }
    let mut x1 = z.to_owned();
    for mut row in x1.outer_iter_mut() {
        let m = row.mean().unwrap_or(0.0);
        row -= m;
    }
    let x = matmul(w_init, x1.view());
    drop(x1);
    let core = core_picard(x, params)?;
    Ok(SolverOutput {
        unmixing: matmul(core.w.view(), w_init),
        n_iter: core.n_iterations + 1,
        converged: core.converged,
    })
}

struct CoreResult {
    w: Array2<f64>,
    n_iterations: usize,
    converged: bool,
}

struct Problem<'a> {
    params: &'a PicardParams,
}

impl Problem<'_> {
    fn loss(&self, y: &Array2<f64>, w: &Array2<f64>, signs: &Array1<f64>) -> f64 {
        let p = self.params;
        let mut loss = if p.ortho { 0.0 } else { -log_abs_det(w.view()) };
        for (row, &s) in y.outer_iter().zip(signs.iter()) {
            loss += s * p.density.mean_log_lik(row);
            if p.extended && !p.ortho {
                loss += 0.5 * row.dot(&row) / row.len() as f64;
            }
        }
        loss
    }

    /// Backtracking line search from (Y, W) along `direction`. Returns
    /// (success, Y_new, W_new, new_loss, accepted step).
    #[allow(clippy::too_many_arguments)]
    fn line_search(
        &self,
        y: &Array2<f64>,
        w: &Array2<f64>,
        direction: &Array2<f64>,
        signs: &Array1<f64>,
        current_loss: Option<f64>,
        ls_tries: usize,
        y_new: &mut Array2<f64>,
    ) -> (bool, Array2<f64>, f64, Array2<f64>) {
        let n = w.nrows();
        let mut alpha = 1.0;
        let current_loss = current_loss.unwrap_or_else(|| self.loss(y, w, signs));
        let mut last = (Array2::eye(n), f64::NAN);
        for _ in 0..ls_tries {
            let step = direction * alpha;
            let transform = if self.params.ortho {
                expm(step.view())
            } else {
                Array2::eye(n) + &step
            };
            gemm_into(y_new.view_mut(), transform.view(), y.view(), 1.0, false);
            let w_new = matmul(transform.view(), w.view());
            let new_loss = self.loss(y_new, &w_new, signs);
            if new_loss.is_finite() && new_loss < current_loss {
                return (true, w_new, new_loss, step);
            }
            last = (w_new, new_loss);
            alpha /= 2.0;
        }
        // python-picard returns the last (shortest) trial, whatever its loss, and the step
        // scaled by the already-halved alpha.
        let step = direction * alpha;
        (false, last.0, last.1, step)
    }
}

fn core_picard(x: Array2<f64>, params: &PicardParams) -> Result<CoreResult, IcaError> {
    let (n, t) = x.dim();
    let tf = t as f64;
    let prob = Problem { params };
    let ortho = params.ortho;
    let extended = params.extended;
    let mut w = Array2::<f64>::eye(n);
    let mut y = x;
    let mut y_new = Array2::<f64>::zeros((n, t));
    let mut psi = Array2::<f64>::zeros((n, t));
    let mut dpsi = Array2::<f64>::zeros((n, t));
    let mut y_sq = Array2::<f64>::zeros((n, t));
    let mut s_list: VecDeque<Array2<f64>> = VecDeque::new();
    let mut y_list: VecDeque<Array2<f64>> = VecDeque::new();
    let mut r_list: VecDeque<f64> = VecDeque::new();
    let mut signs = Array1::<f64>::ones(n);
    let mut current_loss = Some(prob.loss(&y, &w, &signs));
    let mut requested_tolerance = false;
    let mut sign_change = false;
    let mut old_signs = signs.clone();
    // python-picard computes the covariance of the (already rotated) input for extended.
    let covariance = if extended {
        Some(matmul_bt(y.view(), y.view()) / tf)
    } else {
        None
    };
    let mut c = covariance.clone().unwrap_or_else(|| Array2::eye(n));
    let mut g_old: Option<Array2<f64>> = None;
    let mut direction = Array2::<f64>::zeros((n, n));
    let mut n_iterations = 0;
    for it in 0..params.max_iter {
        n_iterations = it;
        params.density.score_and_der(&y, &mut psi, &mut dpsi);
        let mut g = matmul_bt(psi.view(), y.view()) / tf;
        if extended {
            let dpsi_mean = dpsi.mean_axis(Axis(1)).unwrap_or_else(|| Array1::zeros(n));
            let k = Array1::from_shape_fn(n, |i| dpsi_mean[i] * c[(i, i)] - g[(i, i)]);
            signs = k.mapv(sign);
            if it > 0 {
                sign_change = signs.iter().zip(old_signs.iter()).any(|(a, b)| a != b);
            }
            old_signs = signs.clone();
            for (i, mut row) in g.outer_iter_mut().enumerate() {
                row *= signs[i];
            }
            for (i, mut row) in dpsi.outer_iter_mut().enumerate() {
                row *= signs[i];
            }
            if !ortho {
                g += &c;
                dpsi.mapv_inplace(|v| v + 1.0);
            }
        }
        let h_off: Array1<f64> = if ortho {
            g.diag().to_owned()
        } else {
            Array1::ones(n)
        };
        let h = if ortho {
            let pm = dpsi.mean_axis(Axis(1)).unwrap_or_else(|| Array1::zeros(n));
            Array2::from_shape_fn((n, n), |(i, j)| {
                let v = 0.5 * (pm[i] + pm[j] - h_off[i] - h_off[j]);
                if v < params.lambda_min {
                    params.lambda_min
                } else {
                    v
                }
            })
        } else {
            Zip::from(&mut y_sq).and(&y).for_each(|q, &v| *q = v * v);
            let mut h = matmul_bt(dpsi.view(), y_sq.view()) / tf;
            regularize_hessian(&mut h, &h_off, params.lambda_min);
            h
        };
        if ortho {
            g = (&g - &g.t()) / 2.0;
        } else {
            g -= &Array2::<f64>::eye(n);
        }
        let gradient_norm = g.iter().fold(0.0f64, |a, &v| a.max(v.abs()));
        if gradient_norm < params.tol {
            requested_tolerance = true;
            break;
        }
        if let Some(g_prev) = &g_old {
            let yv = &g - g_prev;
            let r = 1.0 / (&direction * &yv).sum();
            s_list.push_back(direction.clone());
            y_list.push_back(yv);
            r_list.push_back(r);
            if s_list.len() > params.m {
                s_list.pop_front();
                y_list.pop_front();
                r_list.pop_front();
            }
        }
        if extended && sign_change {
            current_loss = None;
            s_list.clear();
            y_list.clear();
            r_list.clear();
        }
        let dir = l_bfgs_direction(&g, &h, &h_off, &s_list, &y_list, &r_list, ortho);
        g_old = Some(g.clone());
        let (ok, w_new, new_loss, step) = prob.line_search(
            &y,
            &w,
            &dir,
            &signs,
            current_loss,
            params.ls_tries,
            &mut y_new,
        );
        let (w_new, new_loss, step) = if ok {
            (w_new, new_loss, step)
        } else {
            let grad_dir = -&g;
            s_list.clear();
            y_list.clear();
            r_list.clear();
            let (_, w2, l2, s2) =
                prob.line_search(&y, &w, &grad_dir, &signs, current_loss, 10, &mut y_new);
            (w2, l2, s2)
        };
        direction = step;
        std::mem::swap(&mut y, &mut y_new);
        w = w_new;
        if let Some(cov) = &covariance {
            c = matmul_bt(matmul(w.view(), cov.view()).view(), w.view());
        }
        current_loss = Some(new_loss);
        if !w.iter().all(|v| v.is_finite()) {
            return Err(IcaError::Decomposition(
                "Picard iteration (weights diverged)",
            ));
        }
    }
    Ok(CoreResult {
        w,
        n_iterations,
        converged: requested_tolerance,
    })
}

/// numpy's sign: −1, 0 or 1.
fn sign(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

fn l_bfgs_direction(
    g: &Array2<f64>,
    h: &Array2<f64>,
    h_off: &Array1<f64>,
    s_list: &VecDeque<Array2<f64>>,
    y_list: &VecDeque<Array2<f64>>,
    r_list: &VecDeque<f64>,
    ortho: bool,
) -> Array2<f64> {
    let mut q = g.clone();
    let mut a_list = Vec::with_capacity(s_list.len());
    for ((s, y), &r) in s_list.iter().zip(y_list).zip(r_list).rev() {
        let alpha = r * (s * &q).sum();
        a_list.push(alpha);
        q.scaled_add(-alpha, y);
    }
    let mut z = if ortho {
        let zq = &q / h;
        (&zq - &zq.t()) / 2.0
    } else {
        solve_hessian(h, h_off, &q)
    };
    for (((s, y), &r), &alpha) in s_list
        .iter()
        .zip(y_list)
        .zip(r_list)
        .zip(a_list.iter().rev())
    {
        let beta = r * (y * &z).sum();
        z.scaled_add(alpha - beta, s);
    }
    -z
}

/// Shift the 2×2 blocks of the H̃2 approximation so their smallest eigenvalue is ≥ λ_min.
fn regularize_hessian(h: &mut Array2<f64>, h_off: &Array1<f64>, lambda_min: f64) {
    let n = h.nrows();
    let orig = h.clone();
    for i in 0..n {
        for j in 0..n {
            if i == j {
                continue;
            }
            let (a, b) = (orig[(i, j)], orig[(j, i)]);
            let discr = ((a - b).powi(2) + 4.0 * h_off[i] * h_off[j]).sqrt();
            let eig = 0.5 * (a + b - discr);
            if eig < lambda_min {
                h[(i, j)] += lambda_min - eig;
            }
        }
    }
}

/// Solve the block-diagonal H̃2 system for the direction.
fn solve_hessian(h: &Array2<f64>, h_off: &Array1<f64>, g: &Array2<f64>) -> Array2<f64> {
    let n = h.nrows();
    Array2::from_shape_fn((n, n), |(i, j)| {
        let det = h[(i, j)] * h[(j, i)] - h_off[i] * h_off[j];
        (h[(j, i)] * g[(i, j)] - h_off[i] * g[(j, i)]) / det
    })
}
