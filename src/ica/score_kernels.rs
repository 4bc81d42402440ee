//! Picard's element-wise work in one pass: for every sample y of a block of source rows, the
//! log-likelihood term −log p(y), the score ψ(y) and its derivative ψ'(y), and y², with the
//! per-row sums the loss and the Hessian approximation need.
//!
//! Why a hand-written exponential: the tanh density needs exp, log1p and tanh per sample, and
//! libm's scalar calls made them 85 % of a Picard fit. Here one exponential per sample gives
//! all three: with e = exp(−2α|y|), tanh(α|y|) = −expm1(−2α|y|) / (1 + e) and
//! log1p(e) is summed as the logarithm of a product (one multiply per sample, a few `ln`
//! per row). The exponential is a branch-free Cody–Waite reduction and a degree-12
//! polynomial interpolated at Chebyshev nodes (error ≲ 2 ulp), written lane by lane so the
//! compiler vectorises it. Every vector width gives the same bits: multiply-adds are fused
//! in the AVX-512 and AVX2 variants alike ([`fmadd`]; the baseline rounds them separately),
//! each lane's sums run in a fixed element order, and the lanes are combined in a fixed
//! order. Runtime dispatch only picks how wide the registers are.

use super::picard::Density;
use crate::simd::fused_variants;

/// Number of independent accumulators per row (the sums' lane structure, fixed whatever the
/// hardware so that the bits are too).
pub(crate) const LANES: usize = 8;

/// At most this many samples per row per call: each lane multiplies ≤ 512 factors in (1, 2],
/// far from overflowing before the product is renormalised at the end of the call.
pub(crate) const MAX_BLOCK: usize = 4096;

/// A running product of factors ≥ 1, lane by lane, kept from overflowing by moving each
/// lane's binary exponent into an integer sum now and then: the logarithm of a long product
/// for one `ln` per lane instead of one per factor.
#[derive(Debug, Clone)]
pub(crate) struct LaneProduct {
    /// The products, in [1, 2) after [`LaneProduct::renormalise`].
    pub mantissa: [f64; LANES],
    /// Power-of-two exponents taken out of `mantissa`.
    pub exponent: [i64; LANES],
}

impl Default for LaneProduct {
    fn default() -> Self {
        LaneProduct {
            mantissa: [1.0; LANES],
            exponent: [0; LANES],
        }
    }
}

impl LaneProduct {
    /// Move each lane's binary exponent into the integer sum (exact), leaving the mantissa
    /// in [1, 2).
    pub fn renormalise(&mut self) {
        const MANTISSA: u64 = (1 << 52) - 1;
        for (p, k) in self.mantissa.iter_mut().zip(self.exponent.iter_mut()) {
            let bits = p.to_bits();
            *k += ((bits >> 52) & 0x7ff) as i64 - 1023;
            *p = f64::from_bits((bits & MANTISSA) | (1023 << 52));
        }
    }

    /// ln of the product of all lanes.
    pub fn ln(&self) -> f64 {
        let exponent: i64 = self.exponent.iter().sum();
        exponent as f64 * std::f64::consts::LN_2 + lane_sum(&self.mantissa.map(f64::ln))
    }
}

/// Per-row running sums of one pass, lane by lane.
#[derive(Debug, Clone, Default)]
pub(crate) struct RowSums {
    /// Σ of the directly summed part of −log p(y) (|y| for tanh, the whole term otherwise).
    log_lik: [f64; LANES],
    /// Π (1 + e^{−2α|y|}) (tanh only).
    log1p: LaneProduct,
    sq: [f64; LANES],
    dpsi: [f64; LANES],
}

/// The totals of a row's sums.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RowTotals {
    /// Σ_t −log p(y_t).
    pub log_lik: f64,
    /// Σ_t y_t².
    pub sq: f64,
    /// Σ_t ψ'(y_t).
    pub dpsi: f64,
}

/// Lanes added pairwise in a fixed order.
pub(crate) fn lane_sum(v: &[f64; LANES]) -> f64 {
    ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]))
}

impl RowSums {
    pub fn totals(&self, density: Density) -> RowTotals {
        let mut log_lik = lane_sum(&self.log_lik);
        if let Density::Tanh { alpha } = density {
            log_lik += self.log1p.ln() / alpha;
        }
        RowTotals {
            log_lik,
            sq: lane_sum(&self.sq),
            dpsi: lane_sum(&self.dpsi),
        }
    }
}

const LOG2_E: f64 = std::f64::consts::LOG2_E;
/// ln 2 split so that k · LN2_HI is exact for |k| < 2¹¹ (fdlibm's constants).
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
/// 1.5 · 2⁵²: adding it rounds to an integer held in the low mantissa bits.
const ROUND_SHIFT: f64 = 6_755_399_441_055_744.0;
/// Below this the result would be subnormal; the clamped value (≈ 3e-308) is as good as 0
/// for every use here.
const MIN_ARG: f64 = -708.0;

/// expm1(r) = r + r²·p(r) for |r| ≤ ln2/2, p of degree 10 (highest coefficient first):
/// p interpolates (expm1(r) − r)/r² at the Chebyshev nodes of [−ln2/2, ln2/2] (0.1 % wider),
/// computed in exact rational arithmetic and rounded to double. Its error, coefficients
/// rounded included, is ≤ 8.2e-19 of expm1 (0.007 ulp), like the degree-13 Taylor
/// polynomial's with one multiply-add less per value.
const EXPM1_COEFFS: [f64; 11] = [
    2.091_475_532_589_32e-9,
    2.510_531_272_962_210_3e-8,
    2.755_727_347_871_858e-7,
    2.755_725_517_000_089e-6,
    2.480_158_732_567_746e-5,
    1.984_126_987_500_228e-4,
    1.388_888_888_888_371_1e-3,
    8.333_333_333_326_084e-3,
    4.166_666_666_666_667e-2,
    1.666_666_666_666_667e-1,
    0.5,
];

/// What the full evaluation writes besides the sums.
pub(crate) struct RowOut<'a> {
    pub psi: &'a mut [f64],
    pub dpsi: &'a mut [f64],
    /// y², written only when present (the full Hessian approximation needs it).
    pub sq: Option<&'a mut [f64]>,
}

/// `a·b + c`, fused where the CPU has FMA (the dispatching wrappers decide; within one
/// run every sample goes through the same path, so the bits do not depend on anything
/// but the CPU type).
///
/// Every helper below the dispatching wrappers must be `#[inline(always)]` (closures
/// included: pass them only to inlined functions): code that is not inlined into a
/// `#[target_feature]` wrapper is compiled for the baseline CPU, where `mul_add` is a
/// software call — still correct, but 20× slower (measured).
#[inline(always)]
pub(crate) fn fmadd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// `f` applied lane by lane: tiny fixed-length loops the compiler turns into vector code.
#[inline(always)]
fn lanes(f: impl Fn(usize) -> f64) -> [f64; LANES] {
    let mut out = [0.0; LANES];
    for (l, o) in out.iter_mut().enumerate() {
        *o = f(l);
    }
    out
}

/// exp(x) for x ≤ 0 lane by lane, as (2^k, expm1(r)) with exp(x) = 2^k·(1 + expm1(r)):
/// the caller forms exp and expm1 from them. Written stage by stage so that each stage is
/// one vector instruction. NaN gives a tiny positive value (the caller's other terms carry
/// the NaN).
#[inline(always)]
fn exp_parts<const FMA: bool>(x: [f64; LANES]) -> ([f64; LANES], [f64; LANES]) {
    let x = lanes(|l| x[l].max(MIN_ARG));
    let shifted = lanes(|l| fmadd::<FMA>(x[l], LOG2_E, ROUND_SHIFT));
    let k = lanes(|l| shifted[l] - ROUND_SHIFT);
    let r = lanes(|l| fmadd::<FMA>(-k[l], LN2_LO, fmadd::<FMA>(-k[l], LN2_HI, x[l])));
    // expm1(r) for |r| ≤ ln2/2 (see EXPM1_COEFFS).
    let mut p = [EXPM1_COEFFS[0]; LANES];
    for c in &EXPM1_COEFFS[1..] {
        p = lanes(|l| fmadd::<FMA>(p[l], r[l], *c));
    }
    let q = lanes(|l| fmadd::<FMA>(r[l] * r[l], p[l], r[l]));
    // 2^k from the integer in the low bits of `shifted` (k + 1023 ∈ [1, 1023] here).
    let scale = lanes(|l| f64::from_bits(shifted[l].to_bits().wrapping_add(1023) << 52));
    (scale, q)
}

/// `LANES` samples from `start`. With `used < LANES` (the end of a row) the missing lanes
/// are 0 and the caller ignores them.
#[inline(always)]
fn load(y: &[f64], start: usize, used: usize) -> [f64; LANES] {
    if used == LANES {
        y[start..start + LANES]
            .try_into()
            .expect("a full lane block")
    } else {
        let mut v = [0.0; LANES];
        v[..used].copy_from_slice(&y[start..start + used]);
        v
    }
}

/// Store the first `used` lanes of `v` at `start`.
#[inline(always)]
fn store(dst: &mut [f64], start: usize, used: usize, v: &[f64; LANES]) {
    if used == LANES {
        let d: &mut [f64; LANES] = (&mut dst[start..start + LANES])
            .try_into()
            .expect("a full lane block");
        *d = *v;
    } else {
        dst[start..start + used].copy_from_slice(&v[..used]);
    }
}

/// Add `x` to the first `used` lanes of `acc` (all of them in the loop body, so that it
/// stays one vector instruction there).
#[inline(always)]
fn accumulate(acc: &mut [f64; LANES], x: &[f64; LANES], used: usize) {
    if used == LANES {
        *acc = lanes(|l| acc[l] + x[l]);
    } else {
        for l in 0..used {
            acc[l] += x[l];
        }
    }
}

/// As [`accumulate`] for products.
#[inline(always)]
fn multiply(acc: &mut [f64; LANES], x: &[f64; LANES], used: usize) {
    if used == LANES {
        *acc = lanes(|l| acc[l] * x[l]);
    } else {
        for l in 0..used {
            acc[l] *= x[l];
        }
    }
}

/// As [`accumulate`] for sums of squares (fused where the CPU has FMA).
#[inline(always)]
fn accumulate_sq<const FMA: bool>(acc: &mut [f64; LANES], v: &[f64; LANES], used: usize) {
    if used == LANES {
        *acc = lanes(|l| fmadd::<FMA>(v[l], v[l], acc[l]));
    } else {
        for l in 0..used {
            acc[l] = fmadd::<FMA>(v[l], v[l], acc[l]);
        }
    }
}

/// Runs `$body` with `$start`/`$used` bound for every full lane block, then once for the
/// partial block at the end. A macro, not a function taking a closure: the body must be
/// compiled inside the `#[target_feature]` wrapper (see [`fmadd`]), and in the loop
/// `$used` is the constant `LANES`, so its loads, stores and sums are single vector
/// instructions rather than variable-length copies.
macro_rules! for_lane_blocks {
    ($len:expr, |$start:ident, $used:ident| $body:block) => {{
        let len: usize = $len;
        let full = len - len % LANES;
        for $start in (0..full).step_by(LANES) {
            let $used = LANES;
            $body
        }
        if full < len {
            let $start = full;
            let $used = len - full;
            $body
        }
    }};
}

/// The loss sums (Σ −log p, Σ y²) of one row block under the tanh density.
#[inline(always)]
fn tanh_loss_row<const FMA: bool>(alpha: f64, y: &[f64], acc: &mut RowSums) {
    // (−2α)·|y| is −2·(α·|y|) exactly (scaling by 2 is exact), in one instruction.
    let minus_two_alpha = -2.0 * alpha;
    let mut sum_abs = acc.log_lik;
    let mut product = acc.log1p.mantissa;
    let mut sum_sq = acc.sq;
    for_lane_blocks!(y.len(), |start, used| {
        let v = load(y, start, used);
        let a = lanes(|l| v[l].abs());
        let (scale, q) = exp_parts::<FMA>(lanes(|l| minus_two_alpha * a[l]));
        let one_plus_e = lanes(|l| 1.0 + fmadd::<FMA>(scale[l], q[l], scale[l]));
        accumulate(&mut sum_abs, &a, used);
        multiply(&mut product, &one_plus_e, used);
        accumulate_sq::<FMA>(&mut sum_sq, &v, used);
    });
    acc.log_lik = sum_abs;
    acc.log1p.mantissa = product;
    acc.sq = sum_sq;
    acc.log1p.renormalise();
}

/// Everything for one row block under the tanh density: writes ψ, ψ' (and y²), adds to the
/// sums. The loss sums are bit-identical to [`tanh_loss_row`]'s for the same samples.
#[inline(always)]
fn tanh_score_row<const FMA: bool>(alpha: f64, y: &[f64], out: RowOut<'_>, acc: &mut RowSums) {
    let RowOut { psi, dpsi, mut sq } = out;
    let minus_two_alpha = -2.0 * alpha;
    let mut sum_abs = acc.log_lik;
    let mut product = acc.log1p.mantissa;
    let mut sum_sq = acc.sq;
    let mut sum_dpsi = acc.dpsi;
    for_lane_blocks!(y.len(), |start, used| {
        let v = load(y, start, used);
        let a = lanes(|l| v[l].abs());
        let (scale, q) = exp_parts::<FMA>(lanes(|l| minus_two_alpha * a[l]));
        let e = lanes(|l| fmadd::<FMA>(scale[l], q[l], scale[l]));
        // −expm1 = −(scale·q + (scale − 1)) rounded, formed directly as −scale·q + (1 − scale)
        // (the same bits: rounding commutes with negation) to save the negation.
        let minus_em1 = lanes(|l| fmadd::<FMA>(-scale[l], q[l], 1.0 - scale[l]));
        let one_plus_e = lanes(|l| 1.0 + e[l]);
        // tanh(α|y|) = −expm1(−2α|y|) / (1 + e^{−2α|y|})
        let th = lanes(|l| minus_em1[l] / one_plus_e[l]);
        // python-picard: score tanh(αy), derivative α − α·score² (one multiply-add here).
        let d = lanes(|l| fmadd::<FMA>(-alpha, th[l] * th[l], alpha));
        let p = lanes(|l| th[l].copysign(v[l]));
        store(psi, start, used, &p);
        store(dpsi, start, used, &d);
        if let Some(s) = sq.as_mut() {
            store(s, start, used, &lanes(|l| v[l] * v[l]));
        }
        accumulate(&mut sum_abs, &a, used);
        multiply(&mut product, &one_plus_e, used);
        accumulate_sq::<FMA>(&mut sum_sq, &v, used);
        accumulate(&mut sum_dpsi, &d, used);
    });
    acc.log_lik = sum_abs;
    acc.log1p.mantissa = product;
    acc.sq = sum_sq;
    acc.dpsi = sum_dpsi;
    acc.log1p.renormalise();
}

/// Per-sample terms of the densities without a logarithm: (−log p, ψ, ψ').
#[inline(always)]
fn simple_terms<const FMA: bool>(density: Density, v: f64) -> (f64, f64, f64) {
    match density {
        Density::Exp { alpha } => {
            let sq = v * v;
            let (scale, q) = exp_parts::<FMA>([-alpha / 2.0 * sq; LANES]);
            let k = fmadd::<FMA>(scale[0], q[0], scale[0]);
            (-k / alpha, v * k, (1.0 - alpha * sq) * k)
        }
        Density::Cube => {
            let sq = v * v;
            (sq * sq / 4.0, sq * v, 3.0 * sq)
        }
        Density::Tanh { .. } => unreachable!("tanh has its own kernels"),
    }
}

/// The rarely used densities, one sample at a time; `out` None evaluates the loss only.
#[inline(always)]
fn simple_row<const FMA: bool>(
    density: Density,
    y: &[f64],
    out: Option<RowOut<'_>>,
    acc: &mut RowSums,
) {
    let mut out = out;
    for t in 0..y.len() {
        let l = t % LANES;
        let v = y[t];
        let (ll, p, d) = simple_terms::<FMA>(density, v);
        acc.log_lik[l] += ll;
        acc.sq[l] = fmadd::<FMA>(v, v, acc.sq[l]);
        if let Some(o) = out.as_mut() {
            o.psi[t] = p;
            o.dpsi[t] = d;
            acc.dpsi[l] += d;
            if let Some(s) = o.sq.as_deref_mut() {
                s[t] = v * v;
            }
        }
    }
}

#[inline(always)]
fn loss_generic<const FMA: bool>(density: Density, y: &[f64], acc: &mut RowSums) {
    match density {
        Density::Tanh { alpha } => tanh_loss_row::<FMA>(alpha, y, acc),
        _ => simple_row::<FMA>(density, y, None, acc),
    }
}

#[inline(always)]
fn score_generic<const FMA: bool>(density: Density, y: &[f64], out: RowOut<'_>, acc: &mut RowSums) {
    match density {
        Density::Tanh { alpha } => tanh_score_row::<FMA>(alpha, y, out, acc),
        _ => simple_row::<FMA>(density, y, Some(out), acc),
    }
}

fused_variants! {
    fn loss_variants(density: Density, y: &[f64], acc: &mut RowSums) = loss_generic;
}

fused_variants! {
    fn score_variants(density: Density, y: &[f64], out: RowOut<'_>, acc: &mut RowSums) =
        score_generic;
}

/// Add the loss sums (Σ −log p(y), Σ y²) of one row block (≤ [`MAX_BLOCK`] samples) to
/// `acc`.
pub(crate) fn loss_row(density: Density, y: &[f64], acc: &mut RowSums) {
    debug_assert!(y.len() <= MAX_BLOCK);
    loss_variants(density, y, acc)
}

/// Evaluate one row block (≤ [`MAX_BLOCK`] samples): write ψ(y), ψ'(y) (and y² if asked)
/// and add all the sums to `acc`.
pub(crate) fn score_row(density: Density, y: &[f64], out: RowOut<'_>, acc: &mut RowSums) {
    debug_assert!(y.len() <= MAX_BLOCK);
    debug_assert!(out.psi.len() == y.len() && out.dpsi.len() == y.len());
    score_variants(density, y, out, acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f64, b: f64) -> f64 {
        ((a - b) / (b.abs() * f64::EPSILON).max(f64::MIN_POSITIVE)).abs()
    }

    /// (exp(x), expm1(x), tanh(−x/2)) through the lane code.
    fn exp_tanh<const FMA: bool>(x: f64) -> (f64, f64, f64) {
        let (scale, q) = exp_parts::<FMA>([x; LANES]);
        let e = fmadd::<FMA>(scale[0], q[0], scale[0]);
        let em1 = fmadd::<FMA>(scale[0], q[0], scale[0] - 1.0);
        (e, em1, -em1 / (1.0 + e))
    }

    #[test]
    fn exponential_and_tanh_agree_with_libm_to_a_few_ulp() {
        for fma in [false, true] {
            let f = if fma {
                exp_tanh::<true>
            } else {
                exp_tanh::<false>
            };
            let mut worst_exp: f64 = 0.0;
            let mut worst_tanh: f64 = 0.0;
            let mut worst_expm1_abs: f64 = 0.0;
            let mut x = 1e-12;
            while x < 700.0 {
                for v in [x, x * 1.000_123_7, x * 1.37, x * 1.71] {
                    let (e, em1, th) = f(-v);
                    worst_exp = worst_exp.max(ulps(e, (-v).exp()));
                    worst_expm1_abs = worst_expm1_abs.max((em1 - (-v).exp_m1()).abs());
                    if v < 300.0 {
                        worst_tanh = worst_tanh.max(ulps(th, (v / 2.0).tanh()));
                    }
                }
                x *= 1.013;
            }
            assert!(worst_exp <= 3.0, "exp error {worst_exp} ulp (fma {fma})");
            assert!(worst_tanh <= 4.0, "tanh error {worst_tanh} ulp (fma {fma})");
            assert!(worst_expm1_abs <= 2.0 * f64::EPSILON, "{worst_expm1_abs}");
            assert_eq!(f(0.0), (1.0, 0.0, 0.0));
        }
    }

    /// A slow, obviously correct libm evaluation of python-picard's formulas.
    fn reference(density: Density, v: f64) -> (f64, f64, f64) {
        match density {
            Density::Tanh { alpha } => {
                let a = v.abs();
                let th = (alpha * v).tanh();
                (
                    a + (-2.0 * alpha * a).exp().ln_1p() / alpha,
                    th,
                    alpha - alpha * th * th,
                )
            }
            Density::Exp { alpha } => {
                let k = (-alpha / 2.0 * (v * v)).exp();
                (-k / alpha, v * k, (1.0 - alpha * v * v) * k)
            }
            Density::Cube => (v.powi(4) / 4.0, v.powi(3), 3.0 * v * v),
        }
    }

    #[test]
    fn row_sums_and_scores_match_a_plain_libm_evaluation() {
        let n = 1003; // not a multiple of the lanes
        let y0: Vec<f64> = (0..n)
            .map(|i| ((i as f64) * 0.731).sin() * (1.0 + (i % 17) as f64))
            .collect();
        for density in [
            Density::Tanh { alpha: 1.0 },
            Density::Tanh { alpha: 1.7 },
            Density::Exp { alpha: 0.1 },
            Density::Cube,
        ] {
            {
                let y = y0.clone();
                let (mut psi, mut dpsi, mut sq) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
                let mut loss_acc = RowSums::default();
                let mut acc = RowSums::default();
                // two blocks, as the caller splits a row
                for (lo, hi) in [(0, 500), (500, n)] {
                    loss_row(density, &y[lo..hi], &mut loss_acc);
                    score_row(
                        density,
                        &y[lo..hi],
                        RowOut {
                            psi: &mut psi[lo..hi],
                            dpsi: &mut dpsi[lo..hi],
                            sq: Some(&mut sq[lo..hi]),
                        },
                        &mut acc,
                    );
                }
                let tot = acc.totals(density);
                // the trial's loss sums are exactly the accepted point's
                let lt = loss_acc.totals(density);
                assert_eq!((lt.log_lik, lt.sq), (tot.log_lik, tot.sq), "{density:?}");
                let (mut ll, mut s2, mut sd) = (0.0, 0.0, 0.0);
                for t in 0..n {
                    let v = y[t];
                    let (l, p, d) = reference(density, v);
                    ll += l;
                    s2 += v * v;
                    sd += d;
                    assert!(
                        (psi[t] - p).abs() <= 1e-15 * p.abs().max(1.0),
                        "{density:?}"
                    );
                    assert!(
                        (dpsi[t] - d).abs() <= 1e-15 * d.abs().max(1.0),
                        "{density:?}"
                    );
                    assert_eq!(sq[t], v * v);
                }
                assert!((tot.log_lik - ll).abs() <= 1e-13 * ll.abs(), "{density:?}");
                assert!((tot.sq - s2).abs() <= 1e-13 * s2);
                assert!((tot.dpsi - sd).abs() <= 1e-13 * sd.abs().max(1.0));
            }
        }
    }
}
