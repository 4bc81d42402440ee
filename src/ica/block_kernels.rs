//! Per-block kernels of the PCA (sums, centring, maxima, rounding), compiled for
//! AVX-512, AVX2 and the baseline CPU and picked at run time. They use no fused
//! multiply-add and fixed lane counts, so every variant gives the same bits; the wide ones
//! are only faster (the baseline build is SSE2).

use crate::simd::widest_vectors;

/// Running sums per lane: 32 lanes are four AVX-512 (eight AVX2) independent additions in
/// flight, enough to hide the adder's latency.
const LANES: usize = 32;

/// Σ `values` over 32 lanes, the lanes then added pairwise: a fixed order, so the same bits
/// on every CPU.
#[inline(always)]
fn sum_lanes(values: &[f64]) -> f64 {
    let mut lanes = [0.0f64; LANES];
    let chunks = values.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            lanes[l] += c[l];
        }
    }
    for (l, &x) in rest.iter().enumerate() {
        lanes[l] += x;
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for l in 0..width {
            lanes[l] += lanes[l + width];
        }
    }
    lanes[0]
}

/// `out = src - mean(src)`; returns `(Σ src, mean)`.
#[inline(always)]
fn sum_and_centre_body(src: &[f64], out: &mut [f64]) -> (f64, f64) {
    let sum = sum_lanes(src);
    let mean = sum / src.len() as f64;
    for (o, &x) in out.iter_mut().zip(src) {
        *o = x - mean;
    }
    (sum, mean)
}

/// `out = src - m`.
#[inline(always)]
fn centre_body(src: &[f64], m: f64, out: &mut [f64]) {
    for (o, &x) in out.iter_mut().zip(src) {
        *o = x - m;
    }
}

/// Largest |x| over `values` (exact in any order). The values are finite (checked in the
/// first pass), so a plain comparison is the maximum (no NaN handling needed).
#[inline(always)]
fn max_abs_body(values: &[f64]) -> f64 {
    // |x| for finite x orders as its bit pattern (sign bit cleared) does as an unsigned
    // integer, and an integer maximum is a reduction the compiler vectorises as it is.
    const MAGNITUDE: u64 = !(1 << 63);
    let bits = values
        .iter()
        .fold(0u64, |m, &x| m.max(x.to_bits() & MAGNITUDE));
    f64::from_bits(bits)
}

widest_vectors! {
    /// `out = src - mean(src)`; returns `(Σ src, mean)`.
    pub(crate) fn sum_and_centre(src: &[f64], out: &mut [f64]) -> (f64, f64) = sum_and_centre_body;
}
widest_vectors! {
    /// `out = src - m`.
    pub(crate) fn centre(src: &[f64], m: f64, out: &mut [f64]) = centre_body;
}
widest_vectors! {
    /// Largest |x| over `values`.
    pub(crate) fn max_abs(values: &[f64]) -> f64 = max_abs_body;
}

/// Largest |x| over finite `values`, as [`max_abs_body`].
#[inline(always)]
fn max_abs32_body(values: &[f32]) -> f32 {
    const MAGNITUDE: u32 = !(1 << 31);
    let bits = values
        .iter()
        .fold(0u32, |m, &x| m.max(x.to_bits() & MAGNITUDE));
    f32::from_bits(bits)
}

/// `dst = f32(src · scale)` and `norms2 += (src · scale)²`, element by element.
#[inline(always)]
fn round_scaled_body(src: &[f64], scale: f64, dst: &mut [f32], norms2: &mut [f64]) {
    for ((d, &x), n2) in dst.iter_mut().zip(src).zip(norms2.iter_mut()) {
        let v = x * scale;
        *d = v as f32;
        *n2 += v * v;
    }
}

widest_vectors! {
    /// Largest |x| over finite `values`.
    pub(crate) fn max_abs32(values: &[f32]) -> f32 = max_abs32_body;
}
widest_vectors! {
    /// `dst = f32(src · scale)` and `norms2 += (src · scale)²`.
    pub(crate) fn round_scaled(src: &[f64], scale: f64, dst: &mut [f32], norms2: &mut [f64]) = round_scaled_body;
}
