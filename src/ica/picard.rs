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
use super::loss_screen::{LossScreen, Verdict, verdict};
use super::panels::SamplePanels;
use super::score_kernels::{LANES, MAX_BLOCK, RowOut, RowSums, RowTotals, loss_row, score_row};
use super::source_products::{ScoreProducts, unmix_block};
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
    /// Look at each line-search trial in single precision first and take the verdict when
    /// it is certain (tanh density only; see `loss_screen.rs`). Every iterate, and so every
    /// bit of the result, is the same either way: `false` only to measure or check that.
    pub screen_trials: bool,
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
            screen_trials: true,
        }
    }
}

/// Samples per block of the fused pass over the sources: the block's Y, ψ, ψ' and Y² rows
/// (4 × n × 1056 doubles, 660 KiB for n = 20) stay in the core's L2 cache between the
/// element-wise kernel and the products that consume them. Also the width of the data's
/// panels ([`SamplePanels`]), so a block is one contiguous read. Not a power of two: rows
/// 1024 samples apart all fall in the same L1 cache set, and the single-precision screen
/// (rows 4 KiB apart) ran at half speed. A multiple of 32, the kernels' sample tile. Fixed,
/// so the summation order (and every bit of the result) does not depend on anything else.
const BLOCK: usize = 1056;
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

/// [`picard`] on data it may overwrite (it is centred in place): the solver holds no other
/// n × samples buffer, the sources are recomputed from `z` block by block.
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
    let core = core_picard(SamplePanels::from_rows(x, BLOCK), params, w_init)?;
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

/// What an iteration needs to know about the sources Y at a point (all sums over samples).
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

/// One pass over the data: the sources of a point, Y = unmixing · X, are computed block by
/// block and never stored. While a block of Y is in cache it is evaluated: the loss sums
/// only ([`Sweep::loss`]) or everything the next iteration needs as well ([`Sweep::full`]:
/// ψ, ψ', Y² and the two n × n products).
///
/// Why recompute Y from the fixed data rather than update a stored Y: a line-search trial
/// then costs one read of the data (n × samples) and no write, an accepted trial evaluated
/// in full needs no further pass, and the solver holds no n × samples buffer besides the
/// data. python-picard updates Y ← (I + αD)·Y; the two agree to rounding.
struct Sweep {
    density: Density,
    y: Array2<f64>,
    psi: Array2<f64>,
    dpsi: Array2<f64>,
    sq: Array2<f64>,
    sums: Vec<RowSums>,
    products: ScoreProducts,
}

impl Sweep {
    fn new(n: usize, t: usize, params: &PicardParams) -> Self {
        let w = BLOCK.min(t);
        // Picard (not Picard-O) needs Σ ψ'·y² for its Hessian approximation.
        let full_hessian = !params.ortho;
        Sweep {
            density: params.density,
            y: Array2::zeros((n, w)),
            psi: Array2::zeros((n, w)),
            dpsi: Array2::zeros((n, w)),
            sq: Array2::zeros((n, if full_hessian { w } else { 0 })),
            sums: vec![RowSums::default(); n],
            products: ScoreProducts::new(n, full_hessian),
        }
    }

    /// The loss sums of Y = `unmixing` · `x` into `totals` (bit-identical to those of
    /// [`Sweep::full`]).
    fn loss(&mut self, unmixing: &Array2<f64>, x: &SamplePanels, totals: &mut [RowTotals]) {
        self.sums.fill(RowSums::default());
        for p in 0..x.n_panels() {
            let (panel, w) = x.panel(p);
            unmix_block(unmixing, panel, &mut self.y, w);
            for (i, sums) in self.sums.iter_mut().enumerate() {
                loss_row(self.density, &contiguous(self.y.row(i))[..w], sums);
            }
        }
        for (total, sums) in totals.iter_mut().zip(&self.sums) {
            *total = sums.totals(self.density);
        }
    }

    /// All the statistics of Y = `unmixing` · `x` into `stats`, and Y·Yᵀ into `gram` if
    /// given.
    fn full(
        &mut self,
        unmixing: &Array2<f64>,
        x: &SamplePanels,
        stats: &mut SourceStats,
        mut gram: Option<&mut Array2<f64>>,
    ) {
        self.sums.fill(RowSums::default());
        self.products.reset();
        let full_hessian = self.sq.ncols() > 0;
        for p in 0..x.n_panels() {
            let (panel, w) = x.panel(p);
            unmix_block(unmixing, panel, &mut self.y, w);
            for (i, sums) in self.sums.iter_mut().enumerate() {
                let mut psi = self.psi.row_mut(i);
                let mut dpsi = self.dpsi.row_mut(i);
                let mut sq = full_hessian.then(|| self.sq.row_mut(i));
                let out = RowOut {
                    psi: &mut psi.as_slice_mut().expect("owned standard layout")[..w],
                    dpsi: &mut dpsi.as_slice_mut().expect("owned standard layout")[..w],
                    sq: sq
                        .as_mut()
                        .map(|r| &mut r.as_slice_mut().expect("owned standard layout")[..w]),
                };
                score_row(self.density, &contiguous(self.y.row(i))[..w], out, sums);
            }
            self.products
                .accumulate(&self.psi, &self.dpsi, &self.y, &self.sq, w);
            if let Some(gram) = gram.as_deref_mut() {
                let yb = self.y.slice(s![.., ..w]);
                gemm_into(gram.view_mut(), yb, yb.t(), 1.0, true);
            }
        }
        for (total, sums) in stats.rows.iter_mut().zip(&self.sums) {
            *total = sums.totals(self.density);
        }
        self.products.totals(&mut stats.g, &mut stats.m);
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

/// The solver's state: the fixed centred data `x` (python-picard's X before its rotation by
/// `w_init`, which is folded into every unmixing matrix instead), the statistics of the
/// current point and of the line search's accepted trial.
struct Solver<'a> {
    params: &'a PicardParams,
    tf: f64,
    sweep: Sweep,
    x: SamplePanels,
    w_init: Array2<f64>,
    stats: SourceStats,
    trial: SourceStats,
    /// Covariance of the (rotated) data, python-picard's `C` (extended only).
    covariance: Option<Array2<f64>>,
    /// The single-precision first look at trials (tanh density only).
    screen: Option<LossScreen>,
    /// How many line searches in a row took their first trial. From [`SPECULATE_AFTER`]
    /// on, the next first trial is evaluated in full at once (speculatively: late
    /// iterations nearly always take it); otherwise trials are screened or evaluated for
    /// the loss only, and the taken one again in full. Either way the statistics have the
    /// same bits: this only decides how much work a trial costs.
    first_trials_taken: usize,
}

/// Line searches in a row that must take their first trial before the next first trial is
/// evaluated in full without a screen. A wasted full pass costs about five screens, so one
/// lucky first trial is too little evidence: on S001R04 (64 iterations) speculating after
/// one wasted 6 full passes to save 32 screens, after two 2 to save 30.
const SPECULATE_AFTER: usize = 2;

/// A line search's outcome: python-picard's (converged, W_new, new_loss, step). The
/// statistics of the point it moves to (W_new, whether or not the search succeeded) are in
/// `Solver::trial`.
struct LineSearch {
    success: bool,
    w: Array2<f64>,
    loss: f64,
    step: Array2<f64>,
}

impl Solver<'_> {
    /// The unmixing matrix of python-picard's (rotated) X for `w`, as applied to `x`.
    fn unmixing(&self, w: &Array2<f64>) -> Array2<f64> {
        matmul(w.view(), self.w_init.view())
    }

    /// The screen's verdict on the trial point `w_new` (unmixing `unmixing`) against
    /// `current`; [`Verdict::Unsure`] without a screen.
    fn screen(
        &mut self,
        w_new: &Array2<f64>,
        unmixing: &Array2<f64>,
        signs: &Array1<f64>,
        current: f64,
    ) -> Verdict {
        let Some(screen) = self.screen.as_mut() else {
            return Verdict::Unsure;
        };
        let rows = screen.screen(unmixing, &self.x);
        let ortho = self.params.ortho;
        let mut loss = if ortho {
            0.0
        } else {
            -log_abs_det(w_new.view())
        };
        let mut bound = 0.0;
        for (row, &s) in rows.iter().zip(signs.iter()) {
            loss += s * (row.log_lik / self.tf);
            bound += s.abs() * (row.bound / self.tf);
        }
        if self.params.extended && !ortho {
            // ½·Σ_i Σ_t y_it² / T = ½·trace(W C Wᵀ): the same quantity the passes sum,
            // to double rounding.
            let Some(cov) = &self.covariance else {
                return Verdict::Unsure;
            };
            let half_trace = 0.5 * (&matmul(w_new.view(), cov.view()) * w_new).sum();
            loss += half_trace;
            bound += 1e-9 * half_trace.abs();
        }
        bound += 1e-9 * (1.0 + loss.abs());
        verdict(loss, bound, current)
    }

    /// Backtracking line search from W along `direction` (python-picard's `_line_search`).
    fn line_search(
        &mut self,
        w: &Array2<f64>,
        direction: &Array2<f64>,
        signs: &Array1<f64>,
        current_loss: f64,
        ls_tries: usize,
    ) -> LineSearch {
        let n = w.nrows();
        let mut alpha = 1.0;
        let mut last = (Array2::eye(n), f64::NAN);
        let mut totals = self.trial.rows.clone();
        for k in 0..ls_tries {
            let step = direction * alpha;
            let transform = if self.params.ortho {
                expm(step.view())
            } else {
                Array2::eye(n) + &step
            };
            let w_new = matmul(transform.view(), w.view());
            let unmixing = self.unmixing(&w_new);
            let last_try = k + 1 == ls_tries;
            // Evaluate the trial in full at once (speculation, or the screen is sure it is
            // taken), for the loss only (the screen cannot tell), or not at all (the screen is
            // sure it is not, and a later trial follows). Whichever way, the loss and the
            // statistics of every trial that is evaluated have the same bits.
            let verdict = if k == 0 && self.first_trials_taken >= SPECULATE_AFTER {
                Verdict::Accepted
            } else {
                let verdict = self.screen(&w_new, &unmixing, signs, current_loss);
                if cfg!(debug_assertions) && verdict != Verdict::Unsure {
                    // Every test run checks each certain verdict against the exact loss.
                    self.sweep.loss(&unmixing, &self.x, &mut totals);
                    let exact = loss_from_totals(self.params, &totals, &w_new, signs, self.tf);
                    let taken = exact.is_finite() && exact < current_loss;
                    assert_eq!(
                        taken,
                        verdict == Verdict::Accepted,
                        "screen verdict {verdict:?} vs exact loss {exact} (current {current_loss})"
                    );
                }
                verdict
            };
            let full = match verdict {
                Verdict::Rejected if !last_try => {
                    alpha /= 2.0;
                    continue;
                }
                Verdict::Accepted | Verdict::Rejected => true,
                Verdict::Unsure => false,
            };
            if full {
                self.sweep.full(&unmixing, &self.x, &mut self.trial, None);
                totals.copy_from_slice(&self.trial.rows);
            } else {
                self.sweep.loss(&unmixing, &self.x, &mut totals);
            }
            let new_loss = loss_from_totals(self.params, &totals, &w_new, signs, self.tf);
            let accepted = new_loss.is_finite() && new_loss < current_loss;
            if accepted || last_try {
                if !full {
                    self.sweep.full(&unmixing, &self.x, &mut self.trial, None);
                }
                self.first_trials_taken = if accepted && k == 0 {
                    self.first_trials_taken + 1
                } else {
                    0
                };
            }
            if accepted {
                return LineSearch {
                    success: true,
                    w: w_new,
                    loss: new_loss,
                    step,
                };
            }
            last = (w_new, new_loss);
            alpha /= 2.0;
        }
        // python-picard returns the last (shortest) trial, whatever its loss, and the step
        // scaled by the already-halved alpha.
        LineSearch {
            success: false,
            w: last.0,
            loss: last.1,
            step: direction * alpha,
        }
    }
}

fn core_picard(
    x: SamplePanels,
    params: &PicardParams,
    w_init: ArrayView2<f64>,
) -> Result<CoreResult, IcaError> {
    let (n, t) = (x.n_rows(), x.n_samples());
    let tf = t as f64;
    let ortho = params.ortho;
    let extended = params.extended;
    let screen = match params.density {
        Density::Tanh { alpha } if params.screen_trials => Some(LossScreen::new(&x, alpha)),
        _ => None,
    };
    let mut solver = Solver {
        params,
        tf,
        sweep: Sweep::new(n, t, params),
        x,
        w_init: w_init.to_owned(),
        stats: SourceStats::new(n),
        trial: SourceStats::new(n),
        covariance: None,
        screen,
        // The first step is a plain (preconditioned) gradient step, usually taken.
        first_trials_taken: SPECULATE_AFTER,
    };
    // python-picard computes the covariance of its (already rotated) input for extended:
    // that is Y·Yᵀ/T at the start, W = I.
    let mut gram = extended.then(|| Array2::<f64>::zeros((n, n)));
    solver
        .sweep
        .full(&solver.w_init, &solver.x, &mut solver.stats, gram.as_mut());
    solver.covariance = gram.map(|g| g / tf);
    let mut w = Array2::<f64>::eye(n);
    let mut s_list: VecDeque<Array2<f64>> = VecDeque::new();
    let mut y_list: VecDeque<Array2<f64>> = VecDeque::new();
    let mut r_list: VecDeque<f64> = VecDeque::new();
    let mut signs = Array1::<f64>::ones(n);
    let mut current_loss = Some(loss_from_totals(params, &solver.stats.rows, &w, &signs, tf));
    let mut requested_tolerance = false;
    let mut sign_change = false;
    let mut old_signs = signs.clone();
    let mut c = solver.covariance.clone().unwrap_or_else(|| Array2::eye(n));
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
        std::mem::swap(&mut solver.stats, &mut solver.trial);
        direction = found.step;
        w = found.w;
        if let Some(cov) = &solver.covariance {
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
