//! Affine-invariant Riemannian (Karcher) mean of SPD matrices: the matrix `M` at which
//! `J(M) = Σ wᵢ logm(M^{-1/2} Cᵢ M^{-1/2}) = 0`, the fixed point that
//! `pyriemann.geometry.mean.mean_riemann` (0.12) approaches by gradient steps.
//!
//! pyriemann takes ~10 gradient steps from the arithmetic mean, each costing one
//! eigendecomposition per matrix. Here Newton's method reaches the same point in about three
//! such rounds: at the estimate `M` (whitening `W = M^{-1/2}`), each `Bᵢ = W Cᵢ W = Vᵢ Λᵢ Vᵢᵀ`
//! is decomposed exactly; the Newton step `X` (the new estimate is `M^{1/2} exp(X) M^{1/2}`)
//! solves the linearised equation
//!
//! ```text
//! H(X) = Σ wᵢ Vᵢ (Kᵢ ⊙ (Vᵢᵀ X Vᵢ)) Vᵢᵀ = J,   Kᵢ[j,k] = (x/2) / tanh(x/2),  x = ln λⱼ − ln λₖ
//! ```
//!
//! (first-order perturbation of `logm` at `Bᵢ`, Daleckii–Krein, for `Bᵢ → e^{-X/2} Bᵢ e^{-X/2}`).
//! `H ≥ I` is symmetric positive definite and close to the identity, so conjugate gradients
//! solve it in a few applications, each a handful of 64³ products per matrix — a fraction of
//! an eigendecomposition. Convergence is quadratic: on the shared EEG runs `‖J‖` goes
//! 3.3 → 1.5e-2 → 2.5e-6 and the last step lands within ~1e-12 of the fixed point, closer
//! than pyriemann's own result (which stops at `‖J‖_F ≤ 1e-8`), so both agree to its
//! tolerance (~1e-10 relative). A round whose `‖J‖` did not decrease halves the previous
//! step instead (never seen on EEG data; a guard for extreme dispersion).
//!
//! The per-matrix work of a round runs in parallel across matrices (rayon); every sum over
//! matrices is taken afterwards in index order, so results are bit-identical whatever the
//! number of threads.

use ndarray::{Array2, ArrayView2, ArrayView3, ArrayViewMut2, Axis, ShapeBuilder};
use rayon::prelude::*;

use super::products::{Real, mirror_lower, product_into, symmetric_product_lower_into};
use super::spd::{self, SpdError, SymmetricEigen};
use crate::simd::widest_vectors;

/// Convergence settings. `tol` is pyriemann's tolerance on `‖J‖_F` (`tol=10e-9`): Newton
/// stops once its step `‖X‖_F` is below `√tol / 10`, which leaves a gradient of order
/// `‖X‖² ≤ tol / 100` at the returned mean. `max_iter` bounds the number of rounds (one
/// eigendecomposition per matrix each).
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
    /// Newton rounds taken (each one eigendecomposition per matrix).
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
    Ok(karcher_mean(matrices, options)?.mean)
}

/// The exact eigendecompositions of one round, `W Cᵢ W = Vᵢ Λᵢ Vᵢᵀ` with `W = M^{-1/2}` at the
/// estimate `M` the round was taken at. Kept so that the tangent vectors at the final mean,
/// one small Newton step away, can be had by the same first-order update instead of another
/// round of eigendecompositions (see `TangentSpace::fit_transform`).
#[derive(Debug, Clone)]
pub(crate) struct WhitenedRound {
    pub n_channels: usize,
    /// `M^{1/2}` (= `W^{-1}`).
    pub sqrt_estimate: Array2<f64>,
    /// `n × c` eigenvalues, ascending per matrix.
    pub values: Vec<f64>,
    /// `n × c × c`: for each matrix its eigenvectors, column-major (column `j` is the vector
    /// of `values[j]`).
    pub vectors: Vec<f64>,
}

impl WhitenedRound {
    pub fn len(&self) -> usize {
        self.values.len() / self.n_channels.max(1)
    }

    /// `(Λᵢ, Vᵢ)` of matrix `i`.
    pub fn matrix(&self, i: usize) -> (&[f64], ArrayView2<'_, f64>) {
        let c = self.n_channels;
        let v = ArrayView2::from_shape((c, c).f(), &self.vectors[i * c * c..(i + 1) * c * c])
            .expect("each matrix holds c × c eigenvector entries");
        (&self.values[i * c..(i + 1) * c], v)
    }
}

/// The Karcher mean and the last round it was computed from.
#[derive(Debug, Clone)]
pub(crate) struct KarcherFit {
    pub mean: RiemannianMean,
    pub last_round: WhitenedRound,
}

/// Per-thread buffers for the work on one matrix (the mean here, the tangent space in
/// `tangent_space`).
pub(crate) struct MatrixWorkspace {
    pub eig: SymmetricEigen,
    pub a: Array2<f64>,
    pub b: Array2<f64>,
    pub c: Array2<f64>,
    pub d: Vec<f64>,
}

impl MatrixWorkspace {
    pub fn new(c: usize) -> Self {
        Self {
            eig: SymmetricEigen::new(c),
            a: Array2::zeros((c, c)),
            b: Array2::zeros((c, c)),
            c: Array2::zeros((c, c)),
            d: vec![0.0; c],
        }
    }
}

/// Newton's method for the Karcher mean (module docs), keeping the last round.
pub(crate) fn karcher_mean(
    matrices: ArrayView3<f64>,
    options: MeanOptions,
) -> Result<KarcherFit, RiemannError> {
    let (n_matrices, rows, cols) = matrices.dim();
    if n_matrices == 0 {
        return Err(RiemannError::Empty);
    }
    if rows != cols {
        return Err(RiemannError::Matrix {
            index: 0,
            source: SpdError::NotSquare { rows, cols },
        });
    }
    let c = rows;
    if c == 0 {
        return Ok(KarcherFit {
            mean: RiemannianMean {
                mean: Array2::zeros((0, 0)),
                iterations: 0,
                converged: true,
            },
            last_round: WhitenedRound {
                n_channels: 0,
                sqrt_estimate: Array2::zeros((0, 0)),
                values: Vec::new(),
                vectors: Vec::new(),
            },
        });
    }
    let weight = 1.0 / n_matrices as f64;
    // Start at the arithmetic mean, as pyriemann does.
    let mut m = Array2::<f64>::zeros((c, c));
    for cov in matrices.outer_iter() {
        m.scaled_add(weight, &cov);
    }
    let step_tol = options.tol.sqrt() / 10.0;
    // Below this ‖J‖ the estimate is the mean to rounding; no step is taken.
    let gradient_floor = options.tol * 1e-3;
    let mut eig = SymmetricEigen::new(c);
    let mut sqrt_m = Array2::<f64>::zeros((c, c));
    let mut inv_sqrt_m = Array2::<f64>::zeros((c, c));
    let mut round = WhitenedRound {
        n_channels: c,
        sqrt_estimate: Array2::zeros((c, c)),
        values: vec![0.0; n_matrices * c],
        vectors: vec![0.0; n_matrices * c * c],
    };
    let mut per_matrix = vec![0.0; n_matrices * c * c];
    let mut weights = RoundWeights::zeros(n_matrices * c * c);
    let mut previous: Option<(f64, Array2<f64>, Array2<f64>)> = None;
    let mut iterations = 0;
    let mut converged = false;
    for iteration in 0..options.max_iter {
        iterations = iteration + 1;
        spd::sqrtm_and_invsqrtm_with(&mut eig, m.view(), sqrt_m.view_mut(), inv_sqrt_m.view_mut())
            .map_err(|source| RiemannError::Iterate { iteration, source })?;
        let j = exact_round(
            matrices,
            inv_sqrt_m.view(),
            &mut round,
            &mut weights,
            &mut per_matrix,
        )?;
        round.sqrt_estimate.assign(&sqrt_m);
        let gradient = frobenius(&j);
        if gradient <= gradient_floor {
            converged = true;
            break;
        }
        // Newton is safeguarded: a round that did not reduce ‖J‖ halves the previous step.
        if let Some((previous_gradient, previous_sqrt, previous_step)) = &previous
            && gradient >= *previous_gradient
        {
            let half = previous_step * 0.5;
            m = step_from(&mut eig, previous_sqrt, &half)
                .map_err(|source| RiemannError::Iterate { iteration, source })?;
            // At rounding level ‖J‖ stops decreasing; once the halved step is below the
            // tolerance the estimate is as good as the data allow. (The tangent update
            // checks its own accuracy per matrix, so `round` need not be at `m`.)
            if frobenius(&half) <= step_tol {
                converged = true;
                break;
            }
            let (g, s) = (*previous_gradient, previous_sqrt.clone());
            previous = Some((g, s, half));
            continue;
        }
        // Forcing term: early steps need only a rough solve, the last ones a precise one —
        // but no more precise than `gradient_floor`, the accuracy at which a gradient counts
        // as zero (H ≥ I, so the step is then off by less than that).
        let target = (0.1 * gradient.min(0.1) * gradient).max(gradient_floor);
        let x = conjugate_gradients(&round, &weights, &j, target, &mut per_matrix);
        let step = frobenius(&x);
        m = step_from(&mut eig, &sqrt_m, &x)
            .map_err(|source| RiemannError::Iterate { iteration, source })?;
        if step <= step_tol {
            converged = true;
            break;
        }
        previous = Some((gradient, sqrt_m.clone(), x));
    }
    Ok(KarcherFit {
        mean: RiemannianMean {
            mean: m,
            iterations,
            converged,
        },
        last_round: round,
    })
}

/// One exact round at the estimate with `inv_sqrt = M^{-1/2}`: decomposes every `W Cᵢ W` into
/// `round`, fills the Newton weights of the round into `weights` (while each matrix's data are
/// in cache) and returns `J = Σ wᵢ logm(W Cᵢ W)` (full, symmetric). `scratch` holds
/// `n × c × c`.
fn exact_round(
    matrices: ArrayView3<f64>,
    inv_sqrt: ArrayView2<f64>,
    round: &mut WhitenedRound,
    weights: &mut RoundWeights,
    scratch: &mut [f64],
) -> Result<Array2<f64>, RiemannError> {
    let c = round.n_channels;
    let n = matrices.len_of(Axis(0));
    let results: Vec<Result<(), SpdError>> = round
        .vectors
        .par_chunks_mut(c * c)
        .zip(round.values.par_chunks_mut(c))
        .zip(scratch.par_chunks_mut(c * c))
        .zip(weights.weights.par_chunks_mut(c * c))
        .zip(weights.single.vectors.par_chunks_mut(c * c))
        .zip(weights.single.weights.par_chunks_mut(c * c))
        .enumerate()
        .map_init(
            || MatrixWorkspace::new(c),
            |ws, (i, (((((vectors, values), log_lower), k), vectors32), k32))| {
                let cov = matrices.index_axis(Axis(0), i);
                decompose_whitened(inv_sqrt, cov, ws, vectors, values, log_lower)?;
                fill_newton_weights(values, &mut ws.d, k);
                narrow_into(vectors, vectors32);
                narrow_into(k, k32);
                Ok(())
            },
        )
        .collect();
    for (index, result) in results.into_iter().enumerate() {
        result.map_err(|source| RiemannError::Matrix { index, source })?;
    }
    Ok(mean_of_lower_triangles(scratch, c, n))
}

widest_vectors! {
    /// `W C W = V Λ Vᵀ` into `vectors` (column-major) and `values`, and the lower triangle of
    /// `logm(W C W)` (row-major) into `log_lower`.
    fn decompose_whitened(
        inv_sqrt: ArrayView2<f64>,
        cov: ArrayView2<f64>,
        ws: &mut MatrixWorkspace,
        vectors: &mut [f64],
        values: &mut [f64],
        log_lower: &mut [f64],
    ) -> Result<(), SpdError> = decompose_whitened_portable;
}

#[inline(always)]
fn decompose_whitened_portable(
    inv_sqrt: ArrayView2<f64>,
    cov: ArrayView2<f64>,
    ws: &mut MatrixWorkspace,
    vectors: &mut [f64],
    values: &mut [f64],
    log_lower: &mut [f64],
) -> Result<(), SpdError> {
    let c = values.len();
    whiten_lower_into(inv_sqrt, cov, &mut ws.a, &mut ws.b);
    // Congruence keeps definiteness, so a non-SPD input fails here, by index.
    ws.eig.decompose(ws.b.view())?;
    spd::check_positive_definite(ws.eig.values())?;
    values.copy_from_slice(ws.eig.values());
    let v = ws.eig.vectors();
    let Some(v_columns) = v.as_slice_memory_order() else {
        unreachable!("the eigenvectors are stored contiguously")
    };
    vectors.copy_from_slice(v_columns);
    // lower(V diag(ln λ) Vᵀ), row-major, as the product (V diag(ln λ)) · Vᵀ, the left factor
    // built column by column (contiguous) in `ws.a`'s buffer, read as column-major.
    for (l, &x) in ws.d.iter_mut().zip(ws.eig.values()) {
        *l = x.ln();
    }
    let Some(scaled) = ws.a.as_slice_mut() else {
        unreachable!("workspace matrices are contiguous")
    };
    for ((column, v_column), &l) in scaled
        .chunks_exact_mut(c)
        .zip(v_columns.chunks_exact(c))
        .zip(&ws.d)
    {
        for (o, &x) in column.iter_mut().zip(v_column) {
            *o = x * l;
        }
    }
    let scaled = ArrayView2::from_shape((c, c).f(), &*scaled).expect("c × c values");
    let log = ArrayViewMut2::from_shape((c, c), log_lower).expect("each matrix holds c × c values");
    symmetric_product_lower_into(log, scaled, v.t());
    Ok(())
}

/// `Σ wᵢ Aᵢ` (`wᵢ = 1/n`) of the symmetric matrices whose lower triangles are stored row-major
/// in `parts` (`n × c × c`; upper triangles ignored), summed in index order, as a full matrix.
fn mean_of_lower_triangles(parts: &[f64], c: usize, n: usize) -> Array2<f64> {
    let weight = 1.0 / n as f64;
    let mut sum = vec![0.0; c * c];
    // Blocks of rows in parallel, each summed over the matrices in index order: the same
    // bits as one serial pass, whatever the number of threads.
    const ROWS_PER_TASK: usize = 8;
    sum.par_chunks_mut(ROWS_PER_TASK * c)
        .enumerate()
        .for_each(|(block, acc_rows)| {
            accumulate_lower_rows(acc_rows, block * ROWS_PER_TASK, parts, c, n, weight)
        });
    let mut sum = Array2::from_shape_vec((c, c), sum).expect("the buffer holds c × c values");
    mirror_lower(sum.view_mut());
    sum
}

widest_vectors! {
    /// Rows `first_row ..` (as many as `acc_rows` holds) of `Σ weight · Aᵢ` over the lower
    /// triangles in `parts`, in index order.
    fn accumulate_lower_rows(
        acc_rows: &mut [f64],
        first_row: usize,
        parts: &[f64],
        c: usize,
        n: usize,
        weight: f64,
    ) = accumulate_lower_rows_portable;
}

#[inline(always)]
fn accumulate_lower_rows_portable(
    acc_rows: &mut [f64],
    first_row: usize,
    parts: &[f64],
    c: usize,
    n: usize,
    weight: f64,
) {
    for part in parts.chunks_exact(c * c).take(n) {
        for (offset, acc) in acc_rows.chunks_exact_mut(c).enumerate() {
            let row = first_row + offset;
            let values = &part[row * c..=row * c + row];
            for (a, &v) in acc.iter_mut().zip(values) {
                *a += weight * v;
            }
        }
    }
}

/// `Kᵢ[j,k] = (x/2) / tanh(x/2)` with `x = ln λⱼ − ln λₖ` for every matrix of the round
/// (column-major per matrix, like the eigenvectors): the factor by which the Newton operator
/// weighs component `(j,k)` of `Vᵢᵀ X Vᵢ`. `≥ 1`, and `1 + x²/12` for close eigenvalues.
/// These weights only steer the Newton steps (the fixed point is set by `J` alone), so the
/// cheap form `(λⱼ + λₖ)/2 · x/(λⱼ − λₖ)` is plenty accurate; no transcendental per entry.
#[cfg(test)]
fn newton_weights(round: &WhitenedRound, out: &mut [f64]) {
    let c = round.n_channels;
    out.par_chunks_mut(c * c)
        .zip(round.values.par_chunks(c))
        .for_each_init(
            || vec![0.0; c],
            |logs, (k, values)| fill_newton_weights(values, logs, k),
        );
}

widest_vectors! {
    /// The weights `K` of one matrix (full, column-major) from its eigenvalues; `logs` is
    /// scratch for their logarithms.
    fn fill_newton_weights(values: &[f64], logs: &mut [f64], k: &mut [f64]) =
        fill_newton_weights_portable;
}

#[inline(always)]
fn fill_newton_weights_portable(values: &[f64], logs: &mut [f64], k: &mut [f64]) {
    let c = values.len();
    for (l, &v) in logs.iter_mut().zip(values) {
        *l = v.ln();
    }
    // Both triangles, each column in one contiguous branch-free pass (vectorised; the
    // formula is symmetric to the bit, and 1 on the diagonal).
    for ((column, &log_col), &value_col) in k.chunks_exact_mut(c).zip(logs.iter()).zip(values) {
        for ((w, &log_row), &value_row) in column.iter_mut().zip(logs.iter()).zip(values) {
            let x = log_row - log_col;
            let close = 1.0 + x * x * (1.0 / 12.0);
            let apart = 0.5 * (value_row + value_col) * x / (value_row - value_col);
            *w = if x.abs() < 1e-3 { close } else { apart };
        }
    }
}

/// Solves `H(X) = rhs` by conjugate gradients in the Frobenius inner product until the
/// residual is below `target` (or no longer decreases meaningfully).
///
/// `H` is applied in single precision, whose products take half the time: its rounding
/// errors (~1e-7 relative) are below what even the last Newton solves ask for (a relative
/// residual of ~4e-6 on EEG data), and they only steer the Newton steps, not the fixed point,
/// which is set by the exact `J` of every round. A solve asking for more than four digits
/// (`target < 1e-4 ‖rhs‖`: the last rounds, which set the accuracy of the mean) then checks
/// its true residual with `H` in double precision and, should it be above `target`,
/// continues in double precision from there.
fn conjugate_gradients(
    round: &WhitenedRound,
    weights: &RoundWeights,
    rhs: &Array2<f64>,
    target: f64,
    scratch: &mut [f64],
) -> Array2<f64> {
    let c = round.n_channels;
    let (weights_k, single) = (&weights.weights[..], &weights.single);
    let mut x = Array2::<f64>::zeros((c, c));
    cg_iterations(&mut x, rhs.clone(), target, |p| {
        apply_newton_operator_single(round, single, p, scratch)
    });
    if target < SINGLE_PRECISION_MIN_RELATIVE_TARGET * frobenius(rhs) {
        let residual = rhs - &apply_newton_operator(round, weights_k, &x, scratch);
        cg_iterations(&mut x, residual, target, |p| {
            apply_newton_operator(round, weights_k, p, scratch)
        });
    }
    x
}

/// Conjugate-gradient iterations for `H(X) = rhs` from `x`, whose residual `rhs − H(x)` is
/// `r`, until the (recursively updated) residual is below `target`.
fn cg_iterations(
    x: &mut Array2<f64>,
    mut r: Array2<f64>,
    target: f64,
    mut apply: impl FnMut(&Array2<f64>) -> Array2<f64>,
) {
    let mut p = r.clone();
    let mut rr = dot(&r, &r);
    // H ≥ I with eigenvalues close to 1: a few iterations suffice; the cap only guards
    // against a stagnating residual at rounding level.
    const MAX_CG: usize = 50;
    for _ in 0..MAX_CG {
        if rr.sqrt() <= target {
            break;
        }
        let hp = apply(&p);
        let php = dot(&p, &hp);
        if php <= 0.0 || !php.is_finite() {
            break;
        }
        let alpha = rr / php;
        x.scaled_add(alpha, &p);
        r.scaled_add(-alpha, &hp);
        let rr_new = dot(&r, &r);
        let beta = rr_new / rr;
        rr = rr_new;
        p.zip_mut_with(&r, |pv, &rv| *pv = rv + beta * *pv);
    }
}

/// Solves asking for a relative residual below this check it with the double-precision
/// operator (see `conjugate_gradients`).
const SINGLE_PRECISION_MIN_RELATIVE_TARGET: f64 = 1e-4;

/// `H(X) = Σ wᵢ Vᵢ (Kᵢ ⊙ (Vᵢᵀ X Vᵢ)) Vᵢᵀ` (symmetric: lower triangles only, mirrored at the
/// end). Per matrix in parallel into `scratch`, then summed in index order.
fn apply_newton_operator(
    round: &WhitenedRound,
    weights_k: &[f64],
    x: &Array2<f64>,
    scratch: &mut [f64],
) -> Array2<f64> {
    let c = round.n_channels;
    let n = round.len();
    scratch
        .par_chunks_mut(c * c)
        .zip(weights_k.par_chunks(c * c))
        .enumerate()
        .for_each_init(
            || MatrixWorkspace::new(c),
            |ws, (i, (out, k))| newton_operator_term(x.view(), round.matrix(i).1, k, ws, out),
        );
    mean_of_lower_triangles(scratch, c, n)
}

/// The Newton weights `K` of a round, and the round's eigenvectors and weights in single
/// precision (all `n × c × c`, column-major per matrix).
struct RoundWeights {
    weights: Vec<f64>,
    single: SingleRound,
}

impl RoundWeights {
    fn zeros(len: usize) -> Self {
        Self {
            weights: vec![0.0; len],
            single: SingleRound {
                vectors: vec![0.0; len],
                weights: vec![0.0; len],
            },
        }
    }
}

/// `narrow[i] = wide[i]` rounded to single precision.
#[inline(always)]
fn narrow_into(wide: &[f64], narrow: &mut [f32]) {
    for (n, &w) in narrow.iter_mut().zip(wide) {
        *n = w as f32;
    }
}

/// The eigenvectors and Newton weights of a round in single precision.
struct SingleRound {
    vectors: Vec<f32>,
    weights: Vec<f32>,
}

impl SingleRound {
    #[cfg(test)]
    fn new(round: &WhitenedRound, weights_k: &[f64]) -> Self {
        let narrow = |wide: &[f64]| -> Vec<f32> {
            let mut out = vec![0.0f32; wide.len()];
            out.par_chunks_mut(4096)
                .zip(wide.par_chunks(4096))
                .for_each(|(o, w)| {
                    for (o, &w) in o.iter_mut().zip(w) {
                        *o = w as f32;
                    }
                });
            out
        };
        Self {
            vectors: narrow(&round.vectors),
            weights: narrow(weights_k),
        }
    }
}

/// Buffers for one single-precision term of `H`.
struct SingleWorkspace {
    a: Array2<f32>,
    b: Array2<f32>,
    out: Array2<f32>,
}

/// [`apply_newton_operator`] with the products in single precision (the sum over matrices
/// in double precision, in index order).
fn apply_newton_operator_single(
    round: &WhitenedRound,
    single: &SingleRound,
    x: &Array2<f64>,
    scratch: &mut [f64],
) -> Array2<f64> {
    let c = round.n_channels;
    let n = round.len();
    let x = x.mapv(|v| v as f32);
    scratch
        .par_chunks_mut(c * c)
        .zip(single.vectors.par_chunks(c * c))
        .zip(single.weights.par_chunks(c * c))
        .for_each_init(
            || SingleWorkspace {
                a: Array2::zeros((c, c)),
                b: Array2::zeros((c, c)),
                out: Array2::zeros((c, c)),
            },
            |ws, ((out, v), k)| {
                let v = ArrayView2::from_shape((c, c).f(), v)
                    .expect("each matrix holds c × c eigenvector entries");
                newton_operator_term_single(x.view(), v, k, ws, out)
            },
        );
    mean_of_lower_triangles(scratch, c, n)
}

widest_vectors! {
    /// The lower triangle (row-major, into `out`) of one term `V (K ⊙ (Vᵀ X V)) Vᵀ` of `H(X)`.
    fn newton_operator_term(
        x: ArrayView2<f64>,
        v: ArrayView2<f64>,
        k: &[f64],
        ws: &mut MatrixWorkspace,
        out: &mut [f64],
    ) = newton_operator_term_portable;
}

#[inline(always)]
fn newton_operator_term_portable(
    x: ArrayView2<f64>,
    v: ArrayView2<f64>,
    k: &[f64],
    ws: &mut MatrixWorkspace,
    out: &mut [f64],
) {
    let c = v.nrows();
    let out = ArrayViewMut2::from_shape((c, c), out).expect("each matrix holds c × c values");
    newton_operator_lower(x, v, k, &mut ws.a, &mut ws.b, out);
}

widest_vectors! {
    /// [`newton_operator_term`] in single precision, widened into `out`.
    fn newton_operator_term_single(
        x: ArrayView2<f32>,
        v: ArrayView2<f32>,
        k: &[f32],
        ws: &mut SingleWorkspace,
        out: &mut [f64],
    ) = newton_operator_term_single_portable;
}

#[inline(always)]
fn newton_operator_term_single_portable(
    x: ArrayView2<f32>,
    v: ArrayView2<f32>,
    k: &[f32],
    ws: &mut SingleWorkspace,
    out: &mut [f64],
) {
    let c = v.nrows();
    newton_operator_lower(x, v, k, &mut ws.a, &mut ws.b, ws.out.view_mut());
    let Some(narrow) = ws.out.as_slice() else {
        unreachable!("workspace matrices are contiguous")
    };
    for (row, (wide, narrow)) in out
        .chunks_exact_mut(c)
        .zip(narrow.chunks_exact(c))
        .enumerate()
    {
        for (w, &n) in wide[..=row].iter_mut().zip(&narrow[..=row]) {
            *w = f64::from(n);
        }
    }
}

/// The lower triangle (into `out`) of `V (K ⊙ (Vᵀ X V)) Vᵀ`; `a` and `b` are scratch.
#[inline(always)]
fn newton_operator_lower<T: Real + std::ops::Mul<Output = T>>(
    x: ArrayView2<T>,
    v: ArrayView2<T>,
    k: &[T],
    a: &mut Array2<T>,
    b: &mut Array2<T>,
    out: ArrayViewMut2<T>,
) {
    let c = v.nrows();
    // lower(Y) = lower(Vᵀ (X V)), then Z = K ⊙ Y in full (both triangles from the lower
    // one; k is symmetric, so its column-major layout reads the same row-major).
    product_into(a.view_mut(), x, v);
    symmetric_product_lower_into(b.view_mut(), v.t(), a.view());
    let Some(y) = b.as_slice_mut() else {
        unreachable!("workspace matrices are contiguous")
    };
    hadamard_symmetric_from_lower(y, k, c);
    product_into(a.view_mut(), v, b.view());
    symmetric_product_lower_into(out, a.view(), v.t());
}

/// `y ← k ⊙ y` on the row-major `c × c` buffer `y` whose lower triangle holds a symmetric
/// matrix (upper triangle ignored), written in full: the lower triangle row by row
/// (contiguous, vectorised), then copied onto the upper one.
#[inline(always)]
fn hadamard_symmetric_from_lower<T: Copy + std::ops::Mul<Output = T>>(
    y: &mut [T],
    k: &[T],
    c: usize,
) {
    for (row, (yr, kr)) in y.chunks_exact_mut(c).zip(k.chunks_exact(c)).enumerate() {
        for (a, &b) in yr[..=row].iter_mut().zip(&kr[..=row]) {
            *a = *a * b;
        }
    }
    for row in 1..c {
        let (above, from_row) = y.split_at_mut(row * c);
        for (column, &value) in above.chunks_exact_mut(c).zip(&from_row[..row]) {
            column[row] = value;
        }
    }
}

/// `M^{1/2} expm(X) M^{1/2}`, exactly symmetric.
fn step_from(
    eig: &mut SymmetricEigen,
    sqrt_m: &Array2<f64>,
    x: &Array2<f64>,
) -> Result<Array2<f64>, SpdError> {
    let c = sqrt_m.nrows();
    let mut e = Array2::<f64>::zeros((c, c));
    spd::expm_symmetric_with(eig, x.view(), e.view_mut())?;
    let mut half = Array2::<f64>::zeros((c, c));
    let mut m = Array2::<f64>::zeros((c, c));
    whiten_lower_into(sqrt_m.view(), e.view(), &mut half, &mut m);
    mirror_lower(m.view_mut());
    Ok(m)
}

fn dot(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    a.iter().zip(b.iter()).map(|(x, y)| x * y).sum()
}

fn frobenius(a: &Array2<f64>) -> f64 {
    dot(a, a).sqrt()
}

/// The lower triangle of `out = w · x · w` (`w`, `x` symmetric), through the buffer
/// `half = w · x`; the strict upper triangle of `out` is not written.
pub(crate) fn whiten_lower_into(
    w: ArrayView2<f64>,
    x: ArrayView2<f64>,
    half: &mut Array2<f64>,
    out: &mut Array2<f64>,
) {
    product_into(half.view_mut(), w, x);
    symmetric_product_lower_into(out.view_mut(), half.view(), w);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn bits(x: &[f64]) -> Vec<u64> {
        x.iter().map(|v| v.to_bits()).collect()
    }

    /// `H` is the derivative of `−J` along the Newton parametrisation: with
    /// `Bᵢ → e^{−tX/2} Bᵢ e^{−tX/2}`, `H(X) = −d/dt Σ wᵢ logm(e^{−tX/2} Bᵢ e^{−tX/2})` at
    /// `t = 0`. Checked against central differences of `logm` and `expm` (eigendecompositions
    /// and plain `ndarray` products, none of the operator's code), in both precisions.
    #[test]
    fn newton_operator_is_the_derivative_of_the_gradient() {
        let mut rng = Rng::new(11);
        let (n, c) = (5, 12);
        let matrices: Vec<Array2<f64>> = (0..n)
            .map(|_| {
                let g = Array2::from_shape_fn((c, c + 2), |_| rng.normal());
                let mut b = g.dot(&g.t()) / c as f64;
                for j in 0..c {
                    b[[j, j]] += 0.1;
                }
                b
            })
            .collect();
        let mut round = WhitenedRound {
            n_channels: c,
            sqrt_estimate: Array2::eye(c),
            values: vec![0.0; n * c],
            vectors: vec![0.0; n * c * c],
        };
        let mut eig = SymmetricEigen::new(c);
        for (i, b) in matrices.iter().enumerate() {
            eig.decompose(b.view()).unwrap();
            round.values[i * c..(i + 1) * c].copy_from_slice(eig.values());
            let column_major = &mut round.vectors[i * c * c..(i + 1) * c * c];
            for (dst, src) in column_major.iter_mut().zip(eig.vectors().t().iter()) {
                *dst = *src;
            }
        }
        let mut k = vec![0.0; n * c * c];
        newton_weights(&round, &mut k);
        let x = Array2::from_shape_fn((c, c), |_| rng.normal());
        let x = (&x + &x.t()) * 0.5;
        let mut scratch = vec![0.0; n * c * c];
        let h = apply_newton_operator(&round, &k, &x, &mut scratch);
        let single = SingleRound::new(&round, &k);
        let h_single = apply_newton_operator_single(&round, &single, &x, &mut scratch);

        let gradient_at = |t: f64| {
            let e = spd::expm_symmetric((&x * (-t / 2.0)).view()).unwrap();
            let mut sum = Array2::<f64>::zeros((c, c));
            for b in &matrices {
                let moved = e.dot(b).dot(&e);
                let moved = (&moved + &moved.t()) * 0.5;
                sum += &spd::logm(moved.view()).unwrap();
            }
            sum / n as f64
        };
        let t = 1e-4;
        let finite_difference = (gradient_at(-t) - gradient_at(t)) / (2.0 * t);
        let rel = |a: &Array2<f64>, b: &Array2<f64>| {
            let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            a.iter()
                .zip(b.iter())
                .fold(0.0f64, |m, (p, q)| m.max((p - q).abs()))
                / scale
        };
        let exact_error = rel(&h, &finite_difference);
        assert!(
            exact_error < 1e-7,
            "H vs finite differences: {exact_error:e}"
        );
        let single_error = rel(&h_single, &h);
        assert!(
            single_error < 1e-6 && single_error > 0.0,
            "single-precision H vs double: {single_error:e}"
        );
        assert!(
            h.iter().zip(h.t().iter()).all(|(a, b)| a == b),
            "H(X) is symmetric"
        );

        // Solves beyond single precision's reach finish in double precision: the true
        // residual meets the target.
        for relative_target in [1e-2, 1e-6, 1e-12] {
            let target = relative_target * frobenius(&x);
            let weights = RoundWeights {
                weights: k.clone(),
                single: SingleRound::new(&round, &k),
            };
            let solution = conjugate_gradients(&round, &weights, &x, target, &mut scratch);
            let residual = &x - &apply_newton_operator(&round, &k, &solution, &mut scratch);
            let slack = if relative_target < SINGLE_PRECISION_MIN_RELATIVE_TARGET {
                1.0
            } else {
                1.01
            };
            assert!(
                frobenius(&residual) <= slack * target,
                "residual {:e} for target {target:e}",
                frobenius(&residual)
            );
        }
    }

    /// The kernels run through `widest_vectors!` give the same bits as their portable
    /// (baseline x86-64) builds, so results do not depend on the CPU's vector unit.
    #[test]
    fn dispatched_kernels_match_portable_builds_bit_for_bit() {
        let mut rng = Rng::new(7);
        for c in [5, 17, 64] {
            let b = Array2::from_shape_fn((c, c + 3), |_| rng.normal());
            let mut cov = b.dot(&b.t());
            for i in 0..c {
                cov[[i, i]] += 0.1;
            }
            let w = Array2::from_shape_fn((c, c), |(i, j)| {
                if i == j {
                    1.0
                } else {
                    0.01 * ((i * 7 + j * 3) % 5) as f64
                }
            });
            let w = &w + &w.t();
            let mut ws = [MatrixWorkspace::new(c), MatrixWorkspace::new(c)];
            let mut vectors = [vec![0.0; c * c], vec![0.0; c * c]];
            let mut values = [vec![0.0; c], vec![0.0; c]];
            let mut logs = [vec![0.0; c * c], vec![0.0; c * c]];
            let [ws0, ws1] = &mut ws;
            let [v0, v1] = &mut vectors;
            let [l0, l1] = &mut values;
            let [g0, g1] = &mut logs;
            decompose_whitened(w.view(), cov.view(), ws0, v0, l0, g0).unwrap();
            decompose_whitened_portable(w.view(), cov.view(), ws1, v1, l1, g1).unwrap();
            assert_eq!(bits(v0), bits(v1));
            assert_eq!(bits(l0), bits(l1));
            assert_eq!(bits(g0), bits(g1));

            let mut k = [vec![0.0; c * c], vec![0.0; c * c]];
            let mut scratch = vec![0.0; c];
            // Include equal and nearly equal eigenvalues (the series branch).
            let mut spectrum = l0.clone();
            spectrum[1] = spectrum[0];
            spectrum[2] = spectrum[3] * (1.0 + 1e-5);
            fill_newton_weights(&spectrum, &mut scratch, &mut k[0]);
            fill_newton_weights_portable(&spectrum, &mut scratch, &mut k[1]);
            assert_eq!(bits(&k[0]), bits(&k[1]));
            assert!(k[0].iter().all(|x| x.is_finite() && *x >= 1.0));

            let x = Array2::from_shape_fn((c, c), |(i, j)| ((i + j) as f64).sin());
            let v = ArrayView2::from_shape((c, c).f(), &v0[..]).unwrap();
            let mut out = [vec![0.0; c * c], vec![0.0; c * c]];
            newton_operator_term(x.view(), v, &k[0], ws0, &mut out[0]);
            newton_operator_term_portable(x.view(), v, &k[0], ws1, &mut out[1]);
            assert_eq!(bits(&out[0]), bits(&out[1]));
            let narrow = |a: &[f64]| a.iter().map(|&v| v as f32).collect::<Vec<f32>>();
            let (x32, v32, k32) = (x.mapv(|v| v as f32), narrow(&v0[..]), narrow(&k[0]));
            let v32 = ArrayView2::from_shape((c, c).f(), &v32[..]).unwrap();
            let mut single = [0, 1].map(|_| SingleWorkspace {
                a: Array2::zeros((c, c)),
                b: Array2::zeros((c, c)),
                out: Array2::zeros((c, c)),
            });
            let [s0, s1] = &mut single;
            newton_operator_term_single(x32.view(), v32, &k32, s0, &mut out[0]);
            newton_operator_term_single_portable(x32.view(), v32, &k32, s1, &mut out[1]);
            assert_eq!(bits(&out[0]), bits(&out[1]));

            let parts: Vec<f64> = (0..3 * c * c).map(|_| rng.normal()).collect();
            let mut acc = [vec![0.0; c * c], vec![0.0; c * c]];
            accumulate_lower_rows(&mut acc[0], 0, &parts, c, 3, 1.0 / 3.0);
            accumulate_lower_rows_portable(&mut acc[1], 0, &parts, c, 3, 1.0 / 3.0);
            assert_eq!(bits(&acc[0]), bits(&acc[1]));
        }
    }
}
