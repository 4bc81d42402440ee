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

use ndarray::{Array1, Array2, ArrayView2, s};

use super::linalg::{expm, gemm_into, log_abs_det, matmul, matmul_bt, sym_decorrelation};
use super::score_kernels::{
    LANES, MAX_BLOCK, RowOut, RowSums, RowTotals, Update, loss_row, score_row,
};
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

/// Samples per block of the fused pass over the sources: the block's Y, ψ, ψ' and Y² rows
/// (4 × n × 1024 doubles, 640 KiB for n = 20) stay in the core's L2 cache between the
/// element-wise kernel and the products that consume them. Fixed, so the summation order
/// (and every bit of the result) does not depend on anything else.
const BLOCK: usize = 1024;
const _: () = assert!(BLOCK <= MAX_BLOCK && BLOCK.is_multiple_of(LANES));

/// Run Picard on whitened, unit-variance data `z` (n × samples), MNE-style: centre, start
/// from a random decorrelated matrix drawn from `rng`, iterate. Returns the unmixing matrix
/// in the whitened space and MNE's iteration count (python-picard's `n_iter + 1`).
/// Copies `z` once; [`picard_owned`] works in the caller's buffer instead.
pub fn picard(
    z: ArrayView2<f64>,
    params: &PicardParams,
    rng: &mut Rng,
) -> Result<SolverOutput, IcaError> {
    picard_owned(z.to_owned(), params, rng)
}

/// [`picard`] on data it may overwrite: the sources are computed in `z`'s own memory, so
/// the solver holds only one more n × samples buffer (the line search's trial sources).
pub fn picard_owned(
    z: Array2<f64>,
    params: &PicardParams,
    rng: &mut Rng,
) -> Result<SolverOutput, IcaError> {
    let n = z.nrows();
    let w0 = Array2::from_shape_simple_fn((n, n), || rng.normal());
    picard_owned_from_normals(z, params, w0.view())
}

/// [`picard_owned`] from a given matrix of normal draws, decorrelated into the start as
/// python-picard does (`w_init = _sym_decorrelation(random_state.normal(size=(n, n)))`).
/// With [`super::mne_random::mne_picard_initial_normals`] this is MNE's start.
pub fn picard_owned_from_normals(
    z: Array2<f64>,
    params: &PicardParams,
    normals: ArrayView2<f64>,
) -> Result<SolverOutput, IcaError> {
    let n = z.nrows();
    if normals.dim() != (n, n) {
        return Err(IcaError::Shape {
            what: "initial normals",
            got: normals.nrows(),
            expected: n,
        });
    }
    let w_init =
        sym_decorrelation(normals).ok_or(IcaError::Decomposition("Picard initialisation"))?;
    picard_from_owned(z, params, w_init.view())
}

/// Picard from a given initial unmixing matrix (python-picard's `w_init`), which is used
/// as given (not decorrelated). Used by [`picard`] and to compare with python-picard from the
/// same start.
pub fn picard_from(
    z: ArrayView2<f64>,
    params: &PicardParams,
    w_init: ArrayView2<f64>,
) -> Result<SolverOutput, IcaError> {
    picard_from_owned(z.to_owned(), params, w_init)
}

fn picard_from_owned(
    z: Array2<f64>,
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
    // The kernels read rows as contiguous slices.
    let mut x = if z.is_standard_layout() {
        z
    } else {
        z.as_standard_layout().into_owned()
    };
    for mut row in x.outer_iter_mut() {
        let m = row.mean().unwrap_or(0.0);
        row -= m;
    }
    transform_in_place(&mut x, w_init);
    let core = core_picard(x, params)?;
    Ok(SolverOutput {
        unmixing: matmul(core.w.view(), w_init),
        n_iter: core.n_iterations + 1,
        converged: core.converged,
    })
}

/// `x ← transform · x`, block by block through a small scratch buffer.
fn transform_in_place(x: &mut Array2<f64>, transform: ArrayView2<f64>) {
    let (n, t) = x.dim();
    let mut scratch = Array2::<f64>::zeros((n, BLOCK.min(t)));
    for start in (0..t).step_by(BLOCK) {
        let stop = (start + BLOCK).min(t);
        let mut s = scratch.slice_mut(s![.., ..stop - start]);
        s.assign(&x.slice(s![.., start..stop]));
        gemm_into(
            x.slice_mut(s![.., start..stop]),
            transform,
            s.view(),
            1.0,
            false,
        );
    }
}

struct CoreResult {
    w: Array2<f64>,
    n_iterations: usize,
    converged: bool,
}

/// What an iteration needs to know about the current sources Y (all sums over samples).
struct SourceStats {
    rows: Vec<RowTotals>,
    /// Σ_t ψ(y_it) y_jt (python-picard's `G` before scaling).
    g: Array2<f64>,
    /// Σ_t ψ'(y_it) y_jt² (the H̃2 Hessian approximation before signs and scaling); only
    /// filled when it is used (not Picard-O).
    m: Array2<f64>,
}

impl SourceStats {
    fn new(n: usize) -> Self {
        SourceStats {
            rows: vec![
                RowTotals {
                    log_lik: 0.0,
                    sq: 0.0,
                    dpsi: 0.0
                };
                n
            ],
            g: Array2::zeros((n, n)),
            m: Array2::zeros((n, n)),
        }
    }
}

/// The passes over the sources, block by block so that each block's rows stay in cache
/// between the element-wise kernel and the products that consume them.
///
/// A line search trial only needs the loss, so [`Sweep::trial_loss_sums`] evaluates it
/// without storing anything; the accepted point is then written once by
/// [`Sweep::commit`], which also computes ψ, ψ', Y² and the two n × n products the next
/// iteration needs. The loss sums of both passes are bit-identical.
struct Sweep {
    density: Density,
    /// Picard (not Picard-O) needs Σ ψ'·y² for its Hessian approximation.
    full_hessian: bool,
    psi: Array2<f64>,
    dpsi: Array2<f64>,
    sq: Array2<f64>,
    sums: Vec<RowSums>,
}

impl Sweep {
    fn new(n: usize, t: usize, params: &PicardParams) -> Self {
        let w = BLOCK.min(t);
        let full_hessian = !params.ortho;
        Sweep {
            density: params.density,
            full_hessian,
            psi: Array2::zeros((n, w)),
            dpsi: Array2::zeros((n, w)),
            sq: Array2::zeros((n, if full_hessian { w } else { 0 })),
            sums: vec![RowSums::default(); n],
        }
    }

    /// `b ← matrix · y` and the loss sums of `y + beta·b`, block by block so that each
    /// block of `b` is evaluated while it is still in cache (one pass over the data less
    /// than the product followed by [`Sweep::trial_loss_sums`], with the same sums).
    fn product_and_trial_loss_sums(
        &mut self,
        matrix: ArrayView2<f64>,
        y: &Array2<f64>,
        b: &mut Array2<f64>,
        beta: f64,
        totals: &mut [RowTotals],
    ) {
        self.sums.fill(RowSums::default());
        let t = y.ncols();
        for start in (0..t).step_by(BLOCK) {
            let stop = (start + BLOCK).min(t);
            gemm_into(
                b.slice_mut(s![.., start..stop]),
                matrix,
                y.slice(s![.., start..stop]),
                1.0,
                false,
            );
            for (i, sums) in self.sums.iter_mut().enumerate() {
                let u = Update {
                    b: &contiguous(b.row(i))[start..stop],
                    beta,
                };
                loss_row(
                    self.density,
                    &contiguous(y.row(i))[start..stop],
                    Some(u),
                    sums,
                );
            }
        }
        for (total, sums) in totals.iter_mut().zip(&self.sums) {
            *total = sums.totals(self.density);
        }
    }

    /// Loss sums of `y + beta·b` (or of `y`), into `totals`.
    fn trial_loss_sums(
        &mut self,
        y: &Array2<f64>,
        update: Option<(&Array2<f64>, f64)>,
        totals: &mut [RowTotals],
    ) {
        self.sums.fill(RowSums::default());
        for (i, sums) in self.sums.iter_mut().enumerate() {
            let row = contiguous(y.row(i));
            let b_row = update.map(|(b, beta)| (contiguous(b.row(i)), beta));
            for start in (0..row.len()).step_by(BLOCK) {
                let stop = (start + BLOCK).min(row.len());
                let u = b_row.map(|(b, beta)| Update {
                    b: &b[start..stop],
                    beta,
                });
                loss_row(self.density, &row[start..stop], u, sums);
            }
        }
        for (total, sums) in totals.iter_mut().zip(&self.sums) {
            *total = sums.totals(self.density);
        }
    }

    /// `y ← y + beta·b` (if an update is given) and the full statistics of the new `y`.
    fn commit(
        &mut self,
        y: &mut Array2<f64>,
        update: Option<(&Array2<f64>, f64)>,
        stats: &mut SourceStats,
    ) {
        self.sums.fill(RowSums::default());
        stats.g.fill(0.0);
        stats.m.fill(0.0);
        let t = y.ncols();
        for start in (0..t).step_by(BLOCK) {
            let stop = (start + BLOCK).min(t);
            let w = stop - start;
            for (i, sums) in self.sums.iter_mut().enumerate() {
                let mut row = y.row_mut(i);
                let row = &mut row
                    .as_slice_mut()
                    .expect("rows of a standard-layout array are contiguous")[start..stop];
                let u = update.map(|(b, beta)| Update {
                    b: &contiguous(b.row(i))[start..stop],
                    beta,
                });
                let mut psi = self.psi.row_mut(i);
                let mut dpsi = self.dpsi.row_mut(i);
                let mut sq = self.full_hessian.then(|| self.sq.row_mut(i));
                let out = RowOut {
                    psi: &mut psi.as_slice_mut().expect("owned standard layout")[..w],
                    dpsi: &mut dpsi.as_slice_mut().expect("owned standard layout")[..w],
                    sq: sq
                        .as_mut()
                        .map(|r| &mut r.as_slice_mut().expect("owned standard layout")[..w]),
                };
                score_row(self.density, row, u, out, sums);
            }
            let yb = y.slice(s![.., start..stop]);
            gemm_into(
                stats.g.view_mut(),
                self.psi.slice(s![.., ..w]),
                yb.t(),
                1.0,
                true,
            );
            if self.full_hessian {
                gemm_into(
                    stats.m.view_mut(),
                    self.dpsi.slice(s![.., ..w]),
                    self.sq.slice(s![.., ..w]).t(),
                    1.0,
                    true,
                );
            }
        }
        for (total, sums) in stats.rows.iter_mut().zip(&self.sums) {
            *total = sums.totals(self.density);
        }
    }
}

fn contiguous(row: ndarray::ArrayView1<'_, f64>) -> &[f64] {
    row.to_slice()
        .expect("rows of a standard-layout array are contiguous")
}

/// python-picard's `_loss`, from the sums of a pass (so changing the signs costs nothing).
fn loss_from_totals(
    params: &PicardParams,
    rows: &[RowTotals],
    w: &Array2<f64>,
    signs: &Array1<f64>,
    tf: f64,
) -> f64 {
    let mut loss = if params.ortho {
        0.0
    } else {
        -log_abs_det(w.view())
    };
    for (row, &s) in rows.iter().zip(signs.iter()) {
        loss += s * (row.log_lik / tf);
        if params.extended && !params.ortho {
            loss += 0.5 * (row.sq / tf);
        }
    }
    loss
}

/// The solver's state and buffers: the current sources `y` with their statistics, and one
/// more n × samples buffer `b` for the line search (D·Y for Picard, the trial sources for
/// Picard-O, whose steps are not linear in the step size).
struct Solver<'a> {
    params: &'a PicardParams,
    tf: f64,
    sweep: Sweep,
    y: Array2<f64>,
    stats: SourceStats,
    b: Array2<f64>,
    trial: Vec<RowTotals>,
}

/// A line search's outcome: python-picard's (converged, W_new, new_loss, step), and the
/// step size of the trial to move to.
struct LineSearch {
    success: bool,
    w: Array2<f64>,
    loss: f64,
    step: Array2<f64>,
    tried_alpha: f64,
}

impl Solver<'_> {
    /// Backtracking line search from (Y, W) along `direction` (python-picard's
    /// `_line_search`). Picard's trial sources (I + αD)·Y are Y + α·(D·Y), with D·Y computed
    /// once, during the first trial, and never stored as trial sources; Picard-O's
    /// expm(αD)·Y are computed per trial.
    fn line_search(
        &mut self,
        w: &Array2<f64>,
        direction: &Array2<f64>,
        signs: &Array1<f64>,
        current_loss: f64,
        ls_tries: usize,
    ) -> LineSearch {
        let n = w.nrows();
        let ortho = self.params.ortho;
        let mut alpha = 1.0;
        let mut last = (Array2::eye(n), f64::NAN, alpha);
        for _ in 0..ls_tries {
            let step = direction * alpha;
            let transform = if ortho {
                let transform = expm(step.view());
                self.product_into_b(transform.view());
                self.sweep.trial_loss_sums(&self.b, None, &mut self.trial);
                transform
            } else {
                if alpha == 1.0 {
                    // first trial: D·Y, evaluated block by block as it is computed
                    self.sweep.product_and_trial_loss_sums(
                        direction.view(),
                        &self.y,
                        &mut self.b,
                        alpha,
                        &mut self.trial,
                    );
                } else {
                    self.sweep
                        .trial_loss_sums(&self.y, Some((&self.b, alpha)), &mut self.trial);
                }
                Array2::eye(n) + &step
            };
            let w_new = matmul(transform.view(), w.view());
            let new_loss = loss_from_totals(self.params, &self.trial, &w_new, signs, self.tf);
            if new_loss.is_finite() && new_loss < current_loss {
                return LineSearch {
                    success: true,
                    w: w_new,
                    loss: new_loss,
                    step,
                    tried_alpha: alpha,
                };
            }
            last = (w_new, new_loss, alpha);
            alpha /= 2.0;
        }
        // python-picard returns the last (shortest) trial, whatever its loss, and the step
        // scaled by the already-halved alpha.
        LineSearch {
            success: false,
            w: last.0,
            loss: last.1,
            step: direction * alpha,
            tried_alpha: last.2,
        }
    }

    /// `b ← matrix · y`, block by block.
    fn product_into_b(&mut self, matrix: ArrayView2<f64>) {
        let t = self.y.ncols();
        for start in (0..t).step_by(BLOCK) {
            let stop = (start + BLOCK).min(t);
            gemm_into(
                self.b.slice_mut(s![.., start..stop]),
                matrix,
                self.y.slice(s![.., start..stop]),
                1.0,
                false,
            );
        }
    }

    /// Move to the line search's trial point and compute its statistics.
    fn move_to(&mut self, alpha: f64) {
        if self.params.ortho {
            std::mem::swap(&mut self.y, &mut self.b);
            self.sweep.commit(&mut self.y, None, &mut self.stats);
        } else {
            self.sweep
                .commit(&mut self.y, Some((&self.b, alpha)), &mut self.stats);
        }
    }
}

fn core_picard(x: Array2<f64>, params: &PicardParams) -> Result<CoreResult, IcaError> {
    let (n, t) = x.dim();
    let tf = t as f64;
    let ortho = params.ortho;
    let extended = params.extended;
    // python-picard computes the covariance of the (already rotated) input for extended.
    let covariance = if extended {
        Some(matmul_bt(x.view(), x.view()) / tf)
    } else {
        None
    };
    let mut solver = Solver {
        params,
        tf,
        sweep: Sweep::new(n, t, params),
        b: Array2::zeros((n, t)),
        y: x,
        stats: SourceStats::new(n),
        trial: vec![
            RowTotals {
                log_lik: 0.0,
                sq: 0.0,
                dpsi: 0.0
            };
            n
        ],
    };
    solver.sweep.commit(&mut solver.y, None, &mut solver.stats);
    let mut w = Array2::<f64>::eye(n);
    let mut s_list: VecDeque<Array2<f64>> = VecDeque::new();
    let mut y_list: VecDeque<Array2<f64>> = VecDeque::new();
    let mut r_list: VecDeque<f64> = VecDeque::new();
    let mut signs = Array1::<f64>::ones(n);
    let mut current_loss = Some(loss_from_totals(params, &solver.stats.rows, &w, &signs, tf));
    let mut requested_tolerance = false;
    let mut sign_change = false;
    let mut old_signs = signs.clone();
    let mut c = covariance.clone().unwrap_or_else(|| Array2::eye(n));
    let mut g_old: Option<Array2<f64>> = None;
    let mut direction = Array2::<f64>::zeros((n, n));
    let mut n_iterations = 0;
    for it in 0..params.max_iter {
        n_iterations = it;
        let stats = &solver.stats;
        let mut g = &stats.g / tf;
        let dpsi_mean = Array1::from_iter(stats.rows.iter().map(|r| r.dpsi / tf));
        if extended {
            let k = Array1::from_shape_fn(n, |i| dpsi_mean[i] * c[(i, i)] - g[(i, i)]);
            signs = k.mapv(sign);
            if it > 0 {
                sign_change = signs.iter().zip(old_signs.iter()).any(|(a, b)| a != b);
            }
            old_signs = signs.clone();
            for (i, mut row) in g.outer_iter_mut().enumerate() {
                row *= signs[i];
            }
            if !ortho {
                g += &c;
            }
        }
        let h_off: Array1<f64> = if ortho {
            g.diag().to_owned()
        } else {
            Array1::ones(n)
        };
        let h = if ortho {
            // mean of ψ'(Y) after python-picard's `psidY *= signs` (extended only)
            let pm = Array1::from_shape_fn(n, |i| {
                if extended {
                    signs[i] * dpsi_mean[i]
                } else {
                    dpsi_mean[i]
                }
            });
            Array2::from_shape_fn((n, n), |(i, j)| {
                let v = 0.5 * (pm[i] + pm[j] - h_off[i] - h_off[j]);
                if v < params.lambda_min {
                    params.lambda_min
                } else {
                    v
                }
            })
        } else {
            // inner(ψ'(Y)·sign + 1, Y²) / T, from Σ ψ'·y² and Σ y².
            let mut h = Array2::from_shape_fn((n, n), |(i, j)| {
                if extended {
                    (signs[i] * stats.m[(i, j)] + stats.rows[j].sq) / tf
                } else {
                    stats.m[(i, j)] / tf
                }
            });
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
        // The loss at the current point under the (possibly new) signs, from its sums.
        let current = current_loss
            .unwrap_or_else(|| loss_from_totals(params, &solver.stats.rows, &w, &signs, tf));
        let mut found = solver.line_search(&w, &dir, &signs, current, params.ls_tries);
        if !found.success {
            let grad_dir = -&g;
            s_list.clear();
            y_list.clear();
            r_list.clear();
            found = solver.line_search(&w, &grad_dir, &signs, current, 10);
        }
        g_old = Some(g);
        solver.move_to(found.tried_alpha);
        direction = found.step;
        w = found.w;
        if let Some(cov) = &covariance {
            c = matmul_bt(matmul(w.view(), cov.view()).view(), w.view());
        }
        current_loss = Some(found.loss);
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
