//! A cheap, certified first look at a Picard line-search trial: the loss of the trial point
//! in single precision, with a rigorous bound on how far it can be from the double-precision
//! loss the solver would compute. When the bound settles the comparison with the current
//! loss, the solver takes the verdict without the double-precision pass; otherwise it runs
//! that pass as before.
//!
//! Why: in the first few dozen iterations about half of the trials are rejected, and each
//! rejected trial cost a full double-precision pass (the unmixing product and one exponential
//! per sample), about a third of a fit. In single precision the same pass runs on twice the
//! lanes with half the polynomial, and since only the verdicts are taken from it, every
//! iterate, and so every bit of the result, is what the double-precision solver computes
//! (`tests/ica.rs` checks this on real and synthetic data).
//!
//! Only the tanh density (python-picard's default) is screened: its −log p has a derivative
//! bounded by 1, which turns the error of the sources into an error of the loss.
//!
//! The bound, per source row i (ε = 2⁻²⁴, all sums over the samples t of the pass):
//! - sources: ŷ is a dot product of the rounded unmixing row and rounded data, summed over
//!   k in order, one rounding per partial sum (two without FMA). A partial sum from k on
//!   holds term k, and |partial sum| ≤ Σ of its terms' magnitudes, so term k's magnitude
//!   enters the error n − k times: |ŷ − y| ≤ ε·Σ_k (n − k + 3)·|u_ik|·|x_kt| (+2 for the
//!   rounding of u and x, +1 for the products without FMA; the (1 + ε)ⁿ growth of the
//!   partial sums is in the 1.001 of slack). Against the a-priori (n + 4)·ε·Σ_k it is about
//!   half as wide. f is 1-Lipschitz, so Σ_t |f(ŷ) − f(y)| ≤ ε·Σ_k (n − k + 3)·|u_ik|·S_k,
//!   S_k = Σ_t |x_kt|.
//! - f(ŷ) = |ŷ| + log(1 + e)/α with e = exp(−2α|ŷ|). Σ|ŷ| is summed [`GROUP`] terms at a
//!   time in single precision (≤ 3·ε·Σ|ŷ|). ê has a relative error ≤ [`EXP_ULPS`]·ε plus
//!   the rounding of its argument, whose effect ε·|arg|·e^{−|arg|} is ≤ 0.37·ε (0.75·ε with
//!   α rounded); log(1 + ·) is 1-Lipschitz on e ≥ 0; rounding 1 + ê and the single-precision
//!   partial products cost ≤ 2·ε per sample in the logarithm:
//!   Σ_t ≤ (EXP_ULPS·ε·Σ ê + 3·ε·T)/α.
//! - the double-precision products and sums: 2⁻⁵² per sample, and a relative 1e-9 of the
//!   magnitudes covers the double-precision sums of both sides.

use ndarray::Array2;

use super::panels::SamplePanels;
// f64 accumulators per row: the double-precision kernels' lanes (one AVX-512 register).
use super::score_kernels::{LANES as SUM_LANES, LaneProduct, lane_sum};
use crate::simd::{Isa, fused_variants, isa, widest_vectors};

/// f32 lanes per vector (one AVX-512 register, two AVX2 ones).
const LANES: usize = 16;
/// Rows per tile of the unmixing product.
const ROW_TILE: usize = 5;
/// Sample vectors per tile of the unmixing product.
const VECTORS: usize = 2;
/// Vectors whose |ŷ|, 1 + ê and ê are summed or multiplied in single precision before they
/// join the double-precision sums (so a partial result carries ≤ 3 roundings).
const GROUP: usize = 4;
/// Proven relative error of [`exp_f32`] in units of 2⁻²⁴ (measured ≤ 2 in the unit test,
/// which asserts ≤ 4); the bound assumes twice that.
const EXP_ULPS: f64 = 8.0;
const EPS: f64 = 1.0 / (1u64 << 24) as f64;

type F32s = [f32; LANES];
// A vector of single-precision values widens into two of the double-precision sums.
const _: () = assert!(LANES == 2 * SUM_LANES);

/// The screen's verdict on a trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The double-precision loss is certainly not below the current loss.
    Rejected,
    /// The double-precision loss is certainly below the current loss.
    Accepted,
    /// Too close to call (or not finite): compute it in double precision.
    Unsure,
}

/// A screened row: Σ_t f(ŷ_t) and the bound on its distance from the double-precision sum.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ScreenedRow {
    pub log_lik: f64,
    pub bound: f64,
}

/// Single-precision copies of the data are kept whole up to this size; beyond it (long
/// recordings, where the memory limit matters more) each panel is converted when it is read.
const KEEP_COPY_BYTES: usize = 64 << 20;

/// Scratch and per-data constants of the screen.
pub(crate) struct LossScreen {
    alpha: f64,
    /// S_k = Σ_t |x_kt| per data row.
    abs_sums: Vec<f64>,
    /// The data in single precision, panel by panel as the double-precision data, when
    /// small enough ([`KEEP_COPY_BYTES`]); otherwise empty.
    copy32: Vec<f32>,
    /// One panel converted (when there is no copy).
    x32: Vec<f32>,
    y32: Vec<f32>,
    unmixing32: Vec<f32>,
    sums: Vec<RowSums>,
}

/// One row's running sums (double precision, `SUM_LANES` lanes each, combined in a fixed
/// order).
#[derive(Debug, Clone, Default)]
struct RowSums {
    abs: [f64; SUM_LANES],
    product: LaneProduct,
    e: [f64; SUM_LANES],
}

impl LossScreen {
    /// For the data `x` (fixed for the fit) and the tanh density's `alpha`.
    pub(crate) fn new(x: &SamplePanels, alpha: f64) -> Self {
        Self::with_copy_limit(x, alpha, KEEP_COPY_BYTES)
    }

    /// [`LossScreen::new`] keeping a single-precision copy only up to `copy_limit` bytes.
    fn with_copy_limit(x: &SamplePanels, alpha: f64, copy_limit: usize) -> Self {
        let n = x.n_rows();
        let keep = n * x.n_samples() * std::mem::size_of::<f32>() <= copy_limit;
        let mut copy32 = vec![0.0; if keep { n * x.n_samples() } else { 0 }];
        let mut abs_sums = vec![0.0; n];
        let mut width = 0;
        for p in 0..x.n_panels() {
            let (range, w) = x.panel_range(p);
            let (panel, _) = x.panel(p);
            width = width.max(w);
            for (i, s) in abs_sums.iter_mut().enumerate() {
                *s += panel[i * w..(i + 1) * w]
                    .iter()
                    .map(|v| v.abs())
                    .sum::<f64>();
            }
            if keep {
                narrow(panel, &mut copy32[range]);
            }
        }
        let scratch = if keep { 0 } else { n * width };
        LossScreen {
            alpha,
            abs_sums,
            copy32,
            x32: vec![0.0; scratch],
            y32: vec![0.0; n * width],
            unmixing32: vec![0.0; n * n],
            sums: vec![RowSums::default(); n],
        }
    }

    /// Σ_t f(ŷ_it) and its bound for every row of Y = `unmixing` · `x`.
    pub(crate) fn screen(&mut self, unmixing: &Array2<f64>, x: &SamplePanels) -> Vec<ScreenedRow> {
        let n = x.n_rows();
        assert!(unmixing.dim() == (n, n) && self.abs_sums.len() == n);
        for (dst, &v) in self.unmixing32.iter_mut().zip(unmixing.iter()) {
            *dst = v as f32;
        }
        self.sums.fill(RowSums::default());
        let isa = isa();
        for p in 0..x.n_panels() {
            let (range, w) = x.panel_range(p);
            let y32 = &mut self.y32[..n * w];
            let x32: &[f32] = if self.copy32.is_empty() {
                let (panel, _) = x.panel(p);
                narrow(panel, &mut self.x32[..n * w]);
                &self.x32[..n * w]
            } else {
                &self.copy32[range]
            };
            unmix(&self.unmixing32, n, x32, y32, w);
            for (i, sums) in self.sums.iter_mut().enumerate() {
                loss_row(isa, self.alpha as f32, &y32[i * w..(i + 1) * w], sums);
            }
        }
        let t = x.n_samples() as f64;
        let alpha = self.alpha;
        (0..n)
            .map(|i| {
                let s = &self.sums[i];
                let abs = lane_sum(&s.abs);
                let e = lane_sum(&s.e);
                let log_sum = s.product.ln();
                let log_lik = abs + log_sum / alpha;
                // Term k of the dot product is in the n − k partial sums from k on, each
                // rounded once (twice without FMA), besides the rounding of u and x.
                let spread: f64 = (0..n)
                    .map(|k| (n - k + 3) as f64 * unmixing[(i, k)].abs() * self.abs_sums[k])
                    .sum();
                let bound = EPS * 1.001 * spread
                    + 3.0 * EPS * 1.001 * abs
                    + (EXP_ULPS * EPS * 1.001 * e + 3.0 * EPS * t) / alpha
                    + t * f64::EPSILON
                    + 1e-9 * (abs + log_sum.abs() / alpha);
                ScreenedRow { log_lik, bound }
            })
            .collect()
    }
}

/// The verdict on a trial whose screened loss is `loss ± bound` against `current`.
pub(crate) fn verdict(loss: f64, bound: f64, current: f64) -> Verdict {
    if !(loss.is_finite() && bound.is_finite() && current.is_finite()) {
        Verdict::Unsure
    } else if loss - bound > current {
        Verdict::Rejected
    } else if loss + bound < current {
        Verdict::Accepted
    } else {
        Verdict::Unsure
    }
}

const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split so that k · LN2_HI is exact for |k| < 2¹⁵ (9 significant bits).
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5 · 2²³: adding it rounds to an integer held in the low mantissa bits.
const ROUND_SHIFT: f32 = 12_582_912.0;
/// exp(−87) ≈ 1.6e-38 is still a normal f32; below, e counts as that (its log(1 + e) is 0
/// to every digit that matters).
const MIN_ARG: f32 = -87.0;
/// 1/k! for k = 7 down to 2: expm1(r) = r + r²·(1/2 + r·(1/6 + …)) for |r| ≤ ln2/2
/// (truncation 5e-9 relative, a tenth of an f32 ulp).
const EXPM1_COEFFS: [f32; 6] = [
    1.0 / 5040.0,
    1.0 / 720.0,
    1.0 / 120.0,
    1.0 / 24.0,
    1.0 / 6.0,
    1.0 / 2.0,
];

#[inline(always)]
fn lanes(f: impl Fn(usize) -> f32) -> F32s {
    let mut out = [0.0; LANES];
    for (l, o) in out.iter_mut().enumerate() {
        *o = f(l);
    }
    out
}

#[inline(always)]
fn fmadd32<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// exp(x) for x ≤ 0, lane by lane (Cody–Waite reduction, degree-7 Taylor polynomial).
#[inline(always)]
fn exp_f32<const FMA: bool>(x: F32s) -> F32s {
    let x = lanes(|l| x[l].max(MIN_ARG));
    let shifted = lanes(|l| fmadd32::<FMA>(x[l], LOG2_E, ROUND_SHIFT));
    let k = lanes(|l| shifted[l] - ROUND_SHIFT);
    let r = lanes(|l| fmadd32::<FMA>(-k[l], LN2_LO, fmadd32::<FMA>(-k[l], LN2_HI, x[l])));
    let mut p = [EXPM1_COEFFS[0]; LANES];
    for c in &EXPM1_COEFFS[1..] {
        p = lanes(|l| fmadd32::<FMA>(p[l], r[l], *c));
    }
    let q = lanes(|l| fmadd32::<FMA>(r[l] * r[l], p[l], r[l]));
    // 2^k from the integer in the low bits of `shifted` (k + 127 ∈ [1, 127] here).
    let scale = lanes(|l| f32::from_bits(shifted[l].to_bits().wrapping_add(127) << 23));
    lanes(|l| fmadd32::<FMA>(scale[l], q[l], scale[l]))
}

/// One row's loss sums Σ|ŷ|, Π(1 + ê) and Σ ê: `GROUP` vectors at a time in single
/// precision (a few roundings, which the bound counts), each group's partial results then
/// folded into the double-precision sums.
#[inline(always)]
fn loss_row_generic<const FMA: bool>(alpha: f32, y: &[f32], acc: &mut RowSums) {
    let minus_two_alpha = -2.0 * alpha;
    let mut abs = acc.abs;
    let mut product = acc.product.mantissa;
    let mut sum_e = acc.e;
    let (vectors, tail) = y.as_chunks::<LANES>();
    for group in vectors.chunks(GROUP) {
        let mut abs32 = [0.0f32; LANES];
        let mut product32 = [1.0f32; LANES];
        let mut e32 = [0.0f32; LANES];
        for v in group {
            let a = lanes(|l| v[l].abs());
            let e = exp_f32::<FMA>(lanes(|l| minus_two_alpha * a[l]));
            abs32 = lanes(|l| abs32[l] + a[l]);
            product32 = lanes(|l| product32[l] * (1.0 + e[l]));
            e32 = lanes(|l| e32[l] + e[l]);
        }
        for half in 0..LANES / SUM_LANES {
            for l in 0..SUM_LANES {
                let j = half * SUM_LANES + l;
                abs[l] += abs32[j] as f64;
                product[l] *= product32[j] as f64;
                sum_e[l] += e32[j] as f64;
            }
        }
    }
    for (j, &v) in tail.iter().enumerate() {
        let a = v.abs();
        let e = exp_f32::<FMA>([minus_two_alpha * a; LANES])[0];
        let l = j % SUM_LANES;
        abs[l] += a as f64;
        product[l] *= (1.0 + e) as f64;
        sum_e[l] += e as f64;
    }
    acc.abs = abs;
    acc.product.mantissa = product;
    acc.e = sum_e;
    acc.product.renormalise();
}

/// `y = a · x` in single precision for a panel (n rows of `w` samples), summing over k in
/// order for every element.
#[inline(always)]
fn unmix_generic<const FMA: bool>(a: &[f32], n: usize, x: &[f32], y: &mut [f32], w: usize) {
    let tile = VECTORS * LANES;
    let full = w - w % tile;
    for t in (0..full).step_by(tile) {
        let mut i0 = 0;
        while i0 < n {
            let rows = (n - i0).min(ROW_TILE);
            match rows {
                5 => unmix_tile::<5, FMA>(a, n, i0, x, y, w, t),
                4 => unmix_tile::<4, FMA>(a, n, i0, x, y, w, t),
                3 => unmix_tile::<3, FMA>(a, n, i0, x, y, w, t),
                2 => unmix_tile::<2, FMA>(a, n, i0, x, y, w, t),
                _ => unmix_tile::<1, FMA>(a, n, i0, x, y, w, t),
            }
            i0 += rows;
        }
    }
    for t in full..w {
        for i in 0..n {
            let mut s = 0.0;
            for k in 0..n {
                s = fmadd32::<FMA>(a[i * n + k], x[k * w + t], s);
            }
            y[i * w + t] = s;
        }
    }
}

#[inline(always)]
fn unmix_tile<const R: usize, const FMA: bool>(
    a: &[f32],
    n: usize,
    i0: usize,
    x: &[f32],
    y: &mut [f32],
    w: usize,
    t: usize,
) {
    let mut acc = [[[0.0f32; LANES]; VECTORS]; R];
    for k in 0..n {
        let row: &[F32s] = &x[k * w + t..][..VECTORS * LANES].as_chunks::<LANES>().0[..VECTORS];
        let mut xv = [[0.0; LANES]; VECTORS];
        xv.copy_from_slice(row);
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let c = a[(i0 + r) * n + k];
            for (acc_v, xv) in acc_r.iter_mut().zip(&xv) {
                for l in 0..LANES {
                    acc_v[l] = fmadd32::<FMA>(c, xv[l], acc_v[l]);
                }
            }
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        let out = &mut y[(i0 + r) * w + t..][..VECTORS * LANES];
        for (v, acc_v) in acc_r.iter().enumerate() {
            out[v * LANES..(v + 1) * LANES].copy_from_slice(acc_v);
        }
    }
}

fused_variants! {
    fn unmix_variants(a: &[f32], n: usize, x: &[f32], y: &mut [f32], w: usize) = unmix_generic;
}

/// [`loss_row_generic`] in AVX-512 intrinsics: left to itself the compiler splits the
/// 16-lane code into 256-bit halves and spills (measured 2× slower). Its bits may differ from
/// the generic code's in the last place; that is harmless, only the verdict is used and the
/// bound covers both.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn loss_row_avx512(alpha: f32, y: &[f32], acc: &mut RowSums) {
    use std::arch::x86_64::*;
    let (vectors, tail) = y.as_chunks::<LANES>();
    let minus_two_alpha = _mm512_set1_ps(-2.0 * alpha);
    let magnitude = _mm512_set1_epi32(0x7fff_ffff);
    let min_arg = _mm512_set1_ps(MIN_ARG);
    let log2_e = _mm512_set1_ps(LOG2_E);
    let shift = _mm512_set1_ps(ROUND_SHIFT);
    let ln2_hi = _mm512_set1_ps(LN2_HI);
    let ln2_lo = _mm512_set1_ps(LN2_LO);
    let one = _mm512_set1_ps(1.0);
    let coeffs = EXPM1_COEFFS.map(|c| _mm512_set1_ps(c));
    let bias = _mm512_set1_epi32(127);
    // SAFETY (all loads and stores): each pointer is to 8 f64 or 16 f32 owned by the
    // arrays named, and the unaligned forms are used.
    let (mut abs, mut product, mut sum_e) = unsafe {
        (
            _mm512_loadu_pd(acc.abs.as_ptr()),
            _mm512_loadu_pd(acc.product.mantissa.as_ptr()),
            _mm512_loadu_pd(acc.e.as_ptr()),
        )
    };
    for group in vectors.chunks(GROUP) {
        let (mut abs32, mut product32, mut e32) = (_mm512_setzero_ps(), one, _mm512_setzero_ps());
        for v in group {
            // SAFETY: as above.
            let y = unsafe { _mm512_loadu_ps(v.as_ptr()) };
            let a = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(y), magnitude));
            let x = _mm512_max_ps(_mm512_mul_ps(minus_two_alpha, a), min_arg);
            let shifted = _mm512_fmadd_ps(x, log2_e, shift);
            let k = _mm512_sub_ps(shifted, shift);
            let r = _mm512_fnmadd_ps(k, ln2_lo, _mm512_fnmadd_ps(k, ln2_hi, x));
            let mut p = coeffs[0];
            for &c in &coeffs[1..] {
                p = _mm512_fmadd_ps(p, r, c);
            }
            let q = _mm512_fmadd_ps(_mm512_mul_ps(r, r), p, r);
            let scale = _mm512_castsi512_ps(_mm512_slli_epi32::<23>(_mm512_add_epi32(
                _mm512_castps_si512(shifted),
                bias,
            )));
            let e = _mm512_fmadd_ps(scale, q, scale);
            abs32 = _mm512_add_ps(abs32, a);
            product32 = _mm512_mul_ps(product32, _mm512_add_ps(one, e));
            e32 = _mm512_add_ps(e32, e);
        }
        let halves = |v: __m512| {
            let lo = _mm512_castps512_ps256(v);
            let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
            (_mm512_cvtps_pd(lo), _mm512_cvtps_pd(hi))
        };
        let (lo, hi) = halves(abs32);
        abs = _mm512_add_pd(_mm512_add_pd(abs, lo), hi);
        let (lo, hi) = halves(product32);
        product = _mm512_mul_pd(_mm512_mul_pd(product, lo), hi);
        let (lo, hi) = halves(e32);
        sum_e = _mm512_add_pd(_mm512_add_pd(sum_e, lo), hi);
    }
    // SAFETY: as above.
    unsafe {
        _mm512_storeu_pd(acc.abs.as_mut_ptr(), abs);
        _mm512_storeu_pd(acc.product.mantissa.as_mut_ptr(), product);
        _mm512_storeu_pd(acc.e.as_mut_ptr(), sum_e);
    }
    loss_row_generic::<true>(alpha, tail, acc)
}

#[inline(always)]
fn narrow_body(src: &[f64], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len());
    for (d, &v) in dst.iter_mut().zip(src) {
        *d = v as f32;
    }
}

widest_vectors! {
    /// Convert a panel to single precision (one vector instruction per 8 or 4 values rather
    /// than baseline SSE2's 2).
    pub(crate) fn narrow(src: &[f64], dst: &mut [f32]) = narrow_body;
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn loss_row_avx2(alpha: f32, y: &[f32], acc: &mut RowSums) {
    loss_row_generic::<true>(alpha, y, acc)
}

fn unmix(a: &[f32], n: usize, x: &[f32], y: &mut [f32], w: usize) {
    assert!(a.len() == n * n && x.len() == n * w && y.len() == n * w);
    unmix_variants(a, n, x, y, w)
}

fn loss_row(isa: Isa, alpha: f32, y: &[f32], acc: &mut RowSums) {
    match isa {
        // SAFETY: `isa` checked that the CPU has the features these variants enable.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { loss_row_avx512(alpha, y, acc) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { loss_row_avx2(alpha, y, acc) },
        _ => loss_row_generic::<false>(alpha, y, acc),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn single_precision_exponential_is_within_a_few_ulp() {
        let mut worst: f64 = 0.0;
        let mut x = 1e-6f64;
        while x < 87.0 {
            for v in [x, x * 1.000_37, x * 1.3, x * 1.7] {
                if v > -MIN_ARG as f64 {
                    continue; // clamped: checked below
                }
                let arg = -(v as f32);
                for fma in [false, true] {
                    let got = if fma {
                        exp_f32::<true>([arg; LANES])[0]
                    } else {
                        exp_f32::<false>([arg; LANES])[0]
                    } as f64;
                    let exact = (arg as f64).exp();
                    worst = worst.max(((got - exact) / exact).abs() / EPS);
                }
            }
            x *= 1.011;
        }
        assert!(worst <= EXP_ULPS / 2.0, "exp_f32 error {worst} × 2⁻²⁴");
        assert_eq!(exp_f32::<true>([0.0; LANES])[0], 1.0);
        // Below the clamp the result is exp(−87) ≈ 1.6e-38: an absolute error the bound's
        // slack absorbs many times over.
        for arg in [-87.5f32, -200.0, -1e30, f32::NEG_INFINITY] {
            let e = exp_f32::<true>([arg; LANES])[0];
            assert!(e > 0.0 && e < 2e-38, "{arg}: {e}");
        }
    }

    /// The plain double-precision Σ_t f(y_it) for y = u · x (libm throughout).
    fn reference(u: &Array2<f64>, x: &Array2<f64>, alpha: f64) -> Vec<f64> {
        let y = u.dot(x);
        y.outer_iter()
            .map(|row| {
                row.iter()
                    .map(|&v| v.abs() + (-2.0 * alpha * v.abs()).exp().ln_1p() / alpha)
                    .sum()
            })
            .collect()
    }

    #[test]
    fn screened_sums_are_within_their_bound_of_double_precision() {
        let mut rng = Rng::new(5);
        for (n, t, alpha, scale) in [
            (20, 5000, 1.0, 1.0),
            (7, 1023, 1.0, 30.0), // large sources: e underflows
            (3, 2100, 1.7, 0.01), // tiny sources: e ≈ 1
            (20, 4096 + 17, 0.5, 3.0),
        ] {
            let x = Array2::from_shape_simple_fn((n, t), || rng.normal());
            let u = Array2::from_shape_simple_fn((n, n), || scale * rng.normal());
            let exact = reference(&u, &x, alpha);
            let panels = SamplePanels::from_rows(x.clone(), 1024);
            let mut screen = LossScreen::new(&panels, alpha);
            let rows = screen.screen(&u, &panels);
            // Without the copy (long recordings) each panel is converted as it is read:
            // the same values, so the same sums.
            let mut converting = LossScreen::with_copy_limit(&panels, alpha, 0);
            assert!(converting.copy32.is_empty() && !screen.copy32.is_empty());
            assert_eq!(converting.screen(&u, &panels), rows);
            for (i, (row, &e)) in rows.iter().zip(&exact).enumerate() {
                let err = (row.log_lik - e).abs();
                assert!(
                    err <= row.bound,
                    "row {i} (n {n}, t {t}): error {err:e} > bound {:e}",
                    row.bound
                );
                // and the bound is tight enough to be useful: a relative 1e-4 at most
                assert!(row.bound <= 1e-4 * e.abs().max(t as f64), "{:e}", row.bound);
            }
        }
    }

    /// Every compiled variant of the row kernel (baseline, FMA, AVX-512 where the CPU has
    /// it) against the plain double-precision sums of the same single-precision sources,
    /// within the per-sample terms of the bound.
    #[test]
    fn every_loss_row_variant_agrees_with_double_precision() {
        let alpha = 1.3f32;
        let y: Vec<f32> = (0..1024 + 13)
            .map(|i| ((i as f32) * 0.37).sin() * (1 + i % 7) as f32)
            .collect();
        let abs: f64 = y.iter().map(|&v| (v as f64).abs()).sum();
        let log_sum: f64 = y
            .iter()
            .map(|&v| (-2.0 * alpha as f64 * (v as f64).abs()).exp().ln_1p())
            .sum();
        type Kernel = fn(f32, &[f32], &mut RowSums);
        let mut variants: Vec<(&str, Kernel)> = vec![
            ("baseline", loss_row_generic::<false>),
            ("fma", loss_row_generic::<true>),
        ];
        #[cfg(target_arch = "x86_64")]
        if isa() == Isa::Avx512 {
            // SAFETY: the CPU has AVX-512F and FMA.
            variants.push(("avx512", |a, y, acc| unsafe { loss_row_avx512(a, y, acc) }));
        }
        for (name, kernel) in variants {
            let mut acc = RowSums::default();
            kernel(alpha, &y[..600], &mut acc);
            kernel(alpha, &y[600..], &mut acc);
            let got_abs = lane_sum(&acc.abs);
            let got_log = acc.product.ln();
            let t = y.len() as f64;
            assert!(
                (got_abs - abs).abs() <= 3.0 * EPS * abs + t * f64::EPSILON,
                "{name}"
            );
            let log_bound = EXP_ULPS * EPS * lane_sum(&acc.e) + 3.0 * EPS * t;
            assert!(
                (got_log - log_sum).abs() <= log_bound,
                "{name}: {got_log} vs {log_sum}"
            );
        }
    }

    #[test]
    fn verdicts_follow_the_interval() {
        assert_eq!(verdict(10.0, 1.0, 8.9), Verdict::Rejected);
        assert_eq!(verdict(10.0, 1.0, 11.1), Verdict::Accepted);
        assert_eq!(verdict(10.0, 1.0, 10.5), Verdict::Unsure);
        assert_eq!(verdict(10.0, 1.0, 9.5), Verdict::Unsure);
        assert_eq!(verdict(f64::NAN, 1.0, 9.5), Verdict::Unsure);
        assert_eq!(verdict(10.0, f64::INFINITY, 9.5), Verdict::Unsure);
    }
}
