//! The small matrix products of a Picard pass over one block of samples, hand-written for
//! Picard's shapes (n × n times n × block, n ≈ 20, and the n × n sums over a block).
//!
//! Why not faer: at these shapes a general GEMM packs its operands on every call and pads
//! the rows to its register tile (24 for 20 components), which cost about a third of the
//! product time. Here the operands are read in place and the row tiles fit any n.
//!
//! Determinism: every output element is summed in a fixed order whatever the CPU's vector
//! width. `unmix_block` sums over k in order for each element; the score products keep
//! `LANES` running sums per element (sample t goes to lane t mod `LANES`, block starts are
//! multiples of `LANES`) across the whole pass and add the lanes in a fixed order at the end.

use ndarray::Array2;

use super::score_kernels::{LANES, fmadd, lane_sum};
use crate::simd::fused_variants;

/// Sample vectors per tile of [`unmix_block`].
const UNMIX_VECTORS: usize = 4;
/// Rows per tile of both kernels.
const ROW_TILE: usize = 5;
/// Columns per tile of the score products: 5 × 5 sums, 5 column vectors and a row vector
/// fill 31 of the 32 AVX-512 registers, 10 loads per 25 multiply-adds.
const COL_TILE: usize = 5;

type Lanes = [f64; LANES];

#[inline(always)]
fn load(src: &[f64], at: usize) -> Lanes {
    src[at..at + LANES].try_into().expect("a full lane block")
}

/// One tile of [`unmix_block`]: `y[i][t..t + tile]` for rows `i0..i0 + R`. `x` and `y`
/// start at the block's first sample.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn unmix_tile<const R: usize, const FMA: bool>(
    a: &[f64],
    n: usize,
    i0: usize,
    x: &[f64],
    x_stride: usize,
    y: &mut [f64],
    y_stride: usize,
    t: usize,
) {
    let tile = UNMIX_VECTORS * LANES;
    let mut acc = [[[0.0f64; LANES]; UNMIX_VECTORS]; R];
    for k in 0..n {
        let row = lane_blocks(x, k * x_stride + t, UNMIX_VECTORS);
        let mut xv = [[0.0; LANES]; UNMIX_VECTORS];
        xv.copy_from_slice(row);
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let c = a[(i0 + r) * n + k];
            for (acc_v, xv) in acc_r.iter_mut().zip(&xv) {
                for l in 0..LANES {
                    acc_v[l] = fmadd::<FMA>(c, xv[l], acc_v[l]);
                }
            }
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        let out = &mut y[(i0 + r) * y_stride + t..][..tile];
        for (v, acc_v) in acc_r.iter().enumerate() {
            out[v * LANES..(v + 1) * LANES].copy_from_slice(acc_v);
        }
    }
}

/// Samples ahead of the current tile whose rows of `x` are prefetched: the n rows are
/// `samples` apart in memory, too many streams for the hardware prefetcher to follow.
const PREFETCH_DISTANCE: usize = 2 * UNMIX_VECTORS * LANES;

/// Ask for the cache lines of one tile of each row of `x` from sample `t` (those before
/// `w`).
#[inline(always)]
fn prefetch_ahead(x: &[f64], n: usize, x_stride: usize, t: usize, w: usize) {
    for v in 0..UNMIX_VECTORS {
        let t = t + v * LANES;
        if t >= w {
            return;
        }
        for k in 0..n {
            let _p = x[k * x_stride + t..].as_ptr();
            #[cfg(target_arch = "x86_64")]
            // SAFETY: a prefetch is only a hint; `_p` points into `x`.
            unsafe {
                use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
                _mm_prefetch::<_MM_HINT_T0>(_p.cast());
            }
        }
    }
}

/// `y[i][t] = Σ_k a[i][k]·x[k][t]` for t < w, `x` a panel (n rows of `w` samples).
/// Tiles of samples outside, rows inside, so that a tile's n rows of `x` are read from L1.
#[inline(always)]
fn unmix_generic<const FMA: bool>(
    a: &[f64],
    n: usize,
    x: &[f64],
    y: &mut [f64],
    y_stride: usize,
    w: usize,
) {
    let x_stride = w;
    let tile = UNMIX_VECTORS * LANES;
    let full = w - w % tile;
    for t in (0..full).step_by(tile) {
        prefetch_ahead(x, n, x_stride, t + PREFETCH_DISTANCE, w);
        let mut i0 = 0;
        while i0 < n {
            let rows = (n - i0).min(ROW_TILE);
            match rows {
                5 => unmix_tile::<5, FMA>(a, n, i0, x, x_stride, y, y_stride, t),
                4 => unmix_tile::<4, FMA>(a, n, i0, x, x_stride, y, y_stride, t),
                3 => unmix_tile::<3, FMA>(a, n, i0, x, x_stride, y, y_stride, t),
                2 => unmix_tile::<2, FMA>(a, n, i0, x, x_stride, y, y_stride, t),
                _ => unmix_tile::<1, FMA>(a, n, i0, x, x_stride, y, y_stride, t),
            }
            i0 += rows;
        }
    }
    // The last few samples one at a time, with the same operations per element.
    for t in full..w {
        for i in 0..n {
            let mut s = 0.0;
            for k in 0..n {
                s = fmadd::<FMA>(a[i * n + k], x[k * x_stride + t], s);
            }
            y[i * y_stride + t] = s;
        }
    }
}

fused_variants! {
    fn unmix_variants(a: &[f64], n: usize, x: &[f64], y: &mut [f64], y_stride: usize, w: usize) =
        unmix_generic;
}

/// `y[.., ..w] = a · x` for a square `a` (n × n, standard layout), a panel `x` (n rows of
/// `w` samples, row stride `w`) and `y` (n × ≥ w, standard layout).
pub(crate) fn unmix_block(a: &Array2<f64>, x: &[f64], y: &mut Array2<f64>, w: usize) {
    let n = a.nrows();
    assert!(
        a.ncols() == n && x.len() == n * w && y.nrows() == n && w <= y.ncols(),
        "unmix_block: shapes do not match"
    );
    let y_stride = y.ncols();
    let a = a.as_slice().expect("a standard-layout unmixing matrix");
    let y = y.as_slice_mut().expect("a standard-layout block");
    unmix_variants(a, n, x, y, y_stride, w)
}

/// Running lane sums of G = Σ_t ψ(y_i)·y_j and (if `with_m`) M = Σ_t ψ'(y_i)·y_j² over a
/// pass, one `LANES`-wide sum per matrix element.
pub(crate) struct ScoreProducts {
    n: usize,
    with_m: bool,
    g: Vec<Lanes>,
    m: Vec<Lanes>,
}

/// The operands of one block's products `acc[i][j] += Σ_t a[i][t]·b[j][t]`: rows of
/// stride `stride`, `w` samples each.
struct Operands<'a> {
    a: &'a [f64],
    b: &'a [f64],
    stride: usize,
    w: usize,
}

#[inline(always)]
fn load_padded(src: &[f64], at: usize, used: usize) -> Lanes {
    if used == LANES {
        load(src, at)
    } else {
        let mut v = [0.0; LANES];
        v[..used].copy_from_slice(&src[at..at + used]);
        v
    }
}

fn rows(a: &Array2<f64>) -> &[f64] {
    a.as_slice().expect("standard layout")
}

/// `vectors` lane blocks of `src` from `start`.
#[inline(always)]
fn lane_blocks(src: &[f64], start: usize, vectors: usize) -> &[Lanes] {
    &src[start..][..vectors * LANES].as_chunks::<LANES>().0[..vectors]
}

/// One vector of samples added to a tile's sums.
#[inline(always)]
fn products_step<const RI: usize, const RJ: usize, const FMA: bool>(
    acc: &mut [[Lanes; RJ]; RI],
    a: [&Lanes; RI],
    b: &[Lanes; RJ],
) {
    for r in 0..RI {
        let av = *a[r];
        for c in 0..RJ {
            for l in 0..LANES {
                acc[r][c][l] = fmadd::<FMA>(av[l], b[c][l], acc[r][c][l]);
            }
        }
    }
}

/// The sums of rows `i0..i0 + RI` × `j0..j0 + RJ` over one block.
#[inline(always)]
fn products_tile<const RI: usize, const RJ: usize, const FMA: bool>(
    acc: &mut [Lanes],
    n: usize,
    ops: &Operands<'_>,
    i0: usize,
    j0: usize,
) {
    // (plain loops: `std::array::from_fn` is not inlined into the `#[target_feature]`
    // wrappers, which makes it a slow call per tile)
    let mut sums = [[[0.0; LANES]; RJ]; RI];
    for r in 0..RI {
        for c in 0..RJ {
            sums[r][c] = acc[(i0 + r) * n + j0 + c];
        }
    }
    // The whole vectors of the block through rows cut to exactly `vectors` lane blocks
    // (so the loop needs no bounds checks and keeps the sums in registers), then the
    // partial vector at the end padded with zeros (adding 0·0 leaves a sum unchanged).
    let vectors = ops.w / LANES;
    let full = vectors * LANES;
    let mut a_rows: [&[Lanes]; RI] = [&[]; RI];
    for (r, rows) in a_rows.iter_mut().enumerate() {
        *rows = lane_blocks(ops.a, (i0 + r) * ops.stride, vectors);
    }
    let mut b_rows: [&[Lanes]; RJ] = [&[]; RJ];
    for (c, rows) in b_rows.iter_mut().enumerate() {
        *rows = lane_blocks(ops.b, (j0 + c) * ops.stride, vectors);
    }
    for v in 0..vectors {
        let mut bv = [[0.0; LANES]; RJ];
        for c in 0..RJ {
            bv[c] = b_rows[c][v];
        }
        let mut av: [&Lanes; RI] = [&[0.0; LANES]; RI];
        for r in 0..RI {
            av[r] = &a_rows[r][v];
        }
        products_step::<RI, RJ, FMA>(&mut sums, av, &bv);
    }
    if full < ops.w {
        let used = ops.w - full;
        let mut bv = [[0.0; LANES]; RJ];
        for (c, bv) in bv.iter_mut().enumerate() {
            *bv = load_padded(ops.b, (j0 + c) * ops.stride + full, used);
        }
        let mut a_pad = [[0.0; LANES]; RI];
        for (r, a) in a_pad.iter_mut().enumerate() {
            *a = load_padded(ops.a, (i0 + r) * ops.stride + full, used);
        }
        let mut av: [&Lanes; RI] = [&[0.0; LANES]; RI];
        for r in 0..RI {
            av[r] = &a_pad[r];
        }
        products_step::<RI, RJ, FMA>(&mut sums, av, &bv);
    }
    for r in 0..RI {
        for c in 0..RJ {
            acc[(i0 + r) * n + j0 + c] = sums[r][c];
        }
    }
}

#[inline(always)]
fn products_rows<const RI: usize, const FMA: bool>(
    acc: &mut [Lanes],
    n: usize,
    ops: &Operands<'_>,
    i0: usize,
) {
    let mut j0 = 0;
    while j0 < n {
        if n - j0 >= COL_TILE {
            products_tile::<RI, COL_TILE, FMA>(acc, n, ops, i0, j0);
            j0 += COL_TILE;
        } else {
            products_tile::<RI, 1, FMA>(acc, n, ops, i0, j0);
            j0 += 1;
        }
    }
}

#[inline(always)]
fn products_generic<const FMA: bool>(acc: &mut [Lanes], n: usize, ops: &Operands<'_>) {
    let mut i0 = 0;
    while i0 < n {
        let rows = (n - i0).min(ROW_TILE);
        match rows {
            5 => products_rows::<5, FMA>(acc, n, ops, i0),
            4 => products_rows::<4, FMA>(acc, n, ops, i0),
            3 => products_rows::<3, FMA>(acc, n, ops, i0),
            2 => products_rows::<2, FMA>(acc, n, ops, i0),
            _ => products_rows::<1, FMA>(acc, n, ops, i0),
        }
        i0 += rows;
    }
}

fused_variants! {
    /// `acc[i][j] += Σ_t a[i][t]·b[j][t]` over one block, lane by lane.
    fn add_products(acc: &mut [Lanes], n: usize, ops: &Operands<'_>) = products_generic;
}

impl ScoreProducts {
    pub(crate) fn new(n: usize, with_m: bool) -> Self {
        ScoreProducts {
            n,
            with_m,
            g: vec![[0.0; LANES]; n * n],
            m: vec![[0.0; LANES]; if with_m { n * n } else { 0 }],
        }
    }

    /// Start a new pass.
    pub(crate) fn reset(&mut self) {
        self.g.fill([0.0; LANES]);
        self.m.fill([0.0; LANES]);
    }

    /// Add one block's products: the first `w` samples of the rows of `psi`, `dpsi`, `y` and
    /// `sq` (= y², read only with `with_m`), all n × (same stride) in standard layout. The
    /// block must start at a sample index that is a multiple of `LANES`.
    pub(crate) fn accumulate(
        &mut self,
        psi: &Array2<f64>,
        dpsi: &Array2<f64>,
        y: &Array2<f64>,
        sq: &Array2<f64>,
        w: usize,
    ) {
        let stride = y.ncols();
        let n = self.n;
        assert!(
            psi.dim() == (n, stride)
                && dpsi.dim() == (n, stride)
                && y.nrows() == n
                && w <= stride
                && (!self.with_m || sq.dim() == (n, stride)),
            "ScoreProducts::accumulate: shapes do not match"
        );
        add_products(
            &mut self.g,
            n,
            &Operands {
                a: rows(psi),
                b: rows(y),
                stride,
                w,
            },
        );
        if self.with_m {
            add_products(
                &mut self.m,
                n,
                &Operands {
                    a: rows(dpsi),
                    b: rows(sq),
                    stride,
                    w,
                },
            );
        }
    }

    /// The pass's G and (if `with_m`) M.
    pub(crate) fn totals(&self, g: &mut Array2<f64>, m: &mut Array2<f64>) {
        let n = self.n;
        for (dst, lanes) in g.iter_mut().zip(&self.g) {
            *dst = lane_sum(lanes);
        }
        if self.with_m {
            for (dst, lanes) in m.iter_mut().zip(&self.m) {
                *dst = lane_sum(lanes);
            }
        }
        debug_assert!(g.dim() == (n, n) && g.is_standard_layout());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo(n: usize, t: usize, seed: f64) -> Array2<f64> {
        Array2::from_shape_fn((n, t), |(i, j)| ((i * 131 + j * 17) as f64 * seed).sin())
    }

    #[test]
    fn unmix_and_score_products_match_plain_sums() {
        for n in [1, 3, 5, 20, 23] {
            let t = 1000 + 37; // a tail that is not a multiple of the tiles
            let x = pseudo(n, t, 0.013);
            let a = pseudo(n, n, 0.71);
            let w = t;
            let mut y = Array2::zeros((n, w + 5));
            unmix_block(&a, x.as_slice().expect("standard layout"), &mut y, w);
            for i in 0..n {
                for tt in 0..w {
                    let s: f64 = (0..n).map(|k| a[(i, k)] * x[(k, tt)]).sum();
                    assert!((y[(i, tt)] - s).abs() <= 1e-13 * (1.0 + s.abs()), "n {n}");
                }
            }
            let psi = y.mapv(f64::tanh);
            let dpsi = psi.mapv(|p| 1.0 - p * p);
            let sq = y.mapv(|v| v * v);
            for with_m in [true, false] {
                let mut p = ScoreProducts::new(n, with_m);
                // two blocks, as a pass adds them
                let split = 512;
                let cut = |a: &Array2<f64>, lo: usize, hi: usize| {
                    let mut c = Array2::zeros((n, w + 5));
                    c.slice_mut(ndarray::s![.., ..hi - lo])
                        .assign(&a.slice(ndarray::s![.., lo..hi]));
                    c
                };
                for (lo, hi) in [(0, split), (split, w)] {
                    p.accumulate(
                        &cut(&psi, lo, hi),
                        &cut(&dpsi, lo, hi),
                        &cut(&y, lo, hi),
                        &cut(&sq, lo, hi),
                        hi - lo,
                    );
                }
                let (mut g, mut m) = (Array2::zeros((n, n)), Array2::zeros((n, n)));
                p.totals(&mut g, &mut m);
                for i in 0..n {
                    for j in 0..n {
                        let gs: f64 = (0..w).map(|tt| psi[(i, tt)] * y[(j, tt)]).sum();
                        assert!((g[(i, j)] - gs).abs() <= 1e-12 * (1.0 + gs.abs()));
                        if with_m {
                            let ms: f64 = (0..w).map(|tt| dpsi[(i, tt)] * sq[(j, tt)]).sum();
                            assert!((m[(i, j)] - ms).abs() <= 1e-12 * (1.0 + ms.abs()));
                        } else {
                            assert_eq!(m[(i, j)], 0.0);
                        }
                    }
                }
            }
        }
    }
}
