//! sklearn's `svd_flip(u_based_decision=True)` for the principal axes that are not whitened
//! (MNE stores every axis, so every sign counts): each axis is oriented so that its score
//! of largest magnitude over the samples is positive.
//!
//! Only *where* that score is matters, so the scores are screened in single precision (a
//! product twice as fast as in double) with a rigorous bound on their error, and only the
//! samples the bound cannot rule out are scored again in double precision. The result is
//! the double-precision argmax (first sample on ties, as numpy's argmax), as if every score
//! had been computed in double precision.

use faer::{Accum, Par};
use faer_ext::IntoFaer;
use ndarray::{Array2, ArrayView2, s};

use super::block_kernels::{max_abs32, round_scaled};
use super::linalg::gemm_into;

/// Unit roundoff of f32.
const U32: f64 = f32::EPSILON as f64 / 2.0;

/// The running search over blocks of centred data.
pub(crate) struct AxisSigns {
    /// The axes (unit rows) in double precision, for the rescoring.
    axes: Array2<f64>,
    /// The same axes rounded to single precision.
    axes32: Array2<f32>,
    /// Applied to the data before rounding to single precision (1 / pre-whitener), so that
    /// the values are O(1), far from f32's underflow and overflow.
    scale: f64,
    block32: Array2<f32>,
    scores32: Array2<f32>,
    norms2: Vec<f64>,
    /// Per axis: the largest |score| so far (scaled units, double precision) and its sign.
    best: Vec<(f64, f64)>,
    candidates: Vec<usize>,
    /// One axis's double-precision scores over a block, when too many samples are
    /// candidates (an axis of rounding noise, whose scores are all within the bound).
    exact_row: Array2<f64>,
}

impl AxisSigns {
    /// `axes`: rows of unit norm in channel space; blocks of at most `block_len` samples.
    pub fn new(axes: ArrayView2<f64>, scale: f64, block_len: usize) -> Self {
        let (n_axes, n_ch) = axes.dim();
        AxisSigns {
            axes: axes.to_owned(),
            axes32: axes.mapv(|v| v as f32),
            scale,
            block32: Array2::zeros((n_ch, block_len)),
            scores32: Array2::zeros((n_axes, block_len)),
            norms2: vec![0.0; block_len],
            best: vec![(0.0, 1.0); n_axes],
            candidates: Vec::new(),
            exact_row: Array2::zeros((1, block_len)),
        }
    }

    /// Take the next block (n_channels × len, centred data, blocks in sample order).
    pub fn observe(&mut self, block: ArrayView2<f64>) {
        let (n_ch, len) = block.dim();
        if self.axes.nrows() == 0 {
            return;
        }
        let norms2 = &mut self.norms2[..len];
        norms2.iter_mut().for_each(|v| *v = 0.0);
        let mut b32 = self.block32.slice_mut(s![.., ..len]);
        for (src, mut dst) in block.outer_iter().zip(b32.outer_iter_mut()) {
            let (Some(src), Some(dst)) = (src.to_slice(), dst.as_slice_mut()) else {
                unreachable!("rows of blocks of standard-layout arrays are contiguous")
            };
            round_scaled(src, self.scale, dst, norms2);
        }
        // |fl32(w̃·x̃) − w·x| ≤ (2u + u²)·Σ|w_c x_c| (rounding w and x) + γ_n·Σ|w̃_c x̃_c|
        // (the sum, in any order, fused or not), and Σ|w_c x_c| ≤ ‖w‖‖x‖ = ‖x‖ for a unit
        // axis: (n + 4)·u·max‖x_t‖ covers both with room for the norm's own rounding (and
        // the double-precision rescoring's). Values or products below f32's normal range
        // lose relative precision: their absolute errors are below (n + 1) · MIN_POSITIVE.
        let max_norm = norms2.iter().fold(0.0f64, |a, &b| a.max(b)).sqrt();
        let bound = (n_ch as f64 + 4.0) * U32 * max_norm * (1.0 + 1e-6)
            + (n_ch as f64 + 1.0) * f32::MIN_POSITIVE as f64;
        let mut sc = self.scores32.slice_mut(s![.., ..len]);
        faer::linalg::matmul::matmul(
            sc.view_mut().into_faer(),
            Accum::Replace,
            self.axes32.view().into_faer(),
            b32.view().into_faer(),
            1.0f32,
            Par::Seq,
        );
        for (k, row) in sc.outer_iter().enumerate() {
            let row = row
                .to_slice()
                .expect("rows of a block of a standard-layout array are contiguous");
            let block_max = max_abs32(row) as f64;
            let (best, _) = self.best[k];
            // No sample of this block can exceed the best so far.
            if block_max + bound <= best {
                continue;
            }
            // Whatever sample wins has |score32| ≥ (its exact |score|) − bound ≥
            // max(best, block_max − bound) − bound.
            let threshold = best.max(block_max - bound) - bound;
            self.candidates.clear();
            self.candidates.extend(
                row.iter()
                    .enumerate()
                    .filter(|(_, v)| v.abs() as f64 >= threshold)
                    .map(|(t, _)| t),
            );
            if self.candidates.len() > len / 16 {
                // Rescoring sample by sample would cost more than the whole row's product.
                let mut exact = self.exact_row.slice_mut(s![.., ..len]);
                gemm_into(
                    exact.view_mut(),
                    self.axes.slice(s![k..k + 1, ..]),
                    block,
                    1.0,
                    false,
                );
                for &v in exact.iter() {
                    self.best[k] = larger(self.best[k], v * self.scale);
                }
            } else {
                let axis = self.axes.row(k);
                for &t in &self.candidates {
                    let v = axis.dot(&block.column(t)) * self.scale;
                    self.best[k] = larger(self.best[k], v);
                }
            }
        }
    }

    /// +1 or −1 per axis.
    pub fn signs(&self) -> impl Iterator<Item = f64> + '_ {
        self.best.iter().map(|&(_, sign)| sign)
    }
}

/// The running (largest |score|, its sign) after the next score `v`: only a strictly larger
/// magnitude wins, so the first of equal maxima stays (numpy's argmax).
fn larger(best: (f64, f64), v: f64) -> (f64, f64) {
    if v.abs() > best.0 {
        (v.abs(), if v < 0.0 { -1.0 } else { 1.0 })
    } else {
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Against plain double-precision scores of every sample, with the cases single
    /// precision cannot decide: a near-tie of opposite signs (1e-12 apart, far below f32's
    /// resolution) and an axis along which the data are 1e-9 of their spread (every sample
    /// is within the single-precision bound: the whole row is rescored).
    #[test]
    fn signs_match_a_double_precision_argmax() {
        let (n_ch, n_t, block_len) = (8, 3000, 256);
        let mut rng = Rng::new(11);
        let mut x = Array2::from_shape_simple_fn((n_ch, n_t), || rng.normal());
        // the last channel nearly copies the first: (e_0 − e_last)/√2 is a nearly null axis
        for t in 0..n_t {
            x[(n_ch - 1, t)] = x[(0, t)] + 1e-9 * rng.normal();
        }
        let mut axes = Array2::from_shape_simple_fn((4, n_ch), || rng.normal());
        // axis 0 is orthogonal to the nearly null axis, so the near-tie built along it
        // below leaves that axis's scores alone
        axes[(0, n_ch - 1)] = axes[(0, 0)];
        axes.row_mut(3).fill(0.0);
        axes[(3, 0)] = std::f64::consts::FRAC_1_SQRT_2;
        axes[(3, n_ch - 1)] = -std::f64::consts::FRAC_1_SQRT_2;
        for mut row in axes.outer_iter_mut().take(3) {
            let norm = row.dot(&row).sqrt();
            row /= norm;
        }
        // axis 0: sample 100 scores +10, sample 2900 scores −10·(1 + 1e-12)
        let score = |x: &Array2<f64>, k: usize, t: usize| axes.row(k).dot(&x.column(t));
        for (t, target) in [(100, 10.0), (2900, -10.0 * (1.0 + 1e-12))] {
            let shift = target - score(&x, 0, t);
            for c in 0..n_ch {
                x[(c, t)] += shift * axes[(0, c)];
            }
        }
        assert!(score(&x, 0, 2900).abs() > score(&x, 0, 100).abs());
        assert_eq!(score(&x, 0, 2900) as f32, -(score(&x, 0, 100) as f32));

        let scale = 0.5;
        let mut search = AxisSigns::new(axes.view(), scale, block_len);
        for start in (0..n_t).step_by(block_len) {
            let stop = (start + block_len).min(n_t);
            search.observe(x.slice(s![.., start..stop]));
        }
        let signs: Vec<f64> = search.signs().collect();
        for (k, &sign) in signs.iter().enumerate() {
            let scores: Vec<f64> = (0..n_t).map(|t| score(&x, k, t) * scale).collect();
            let mut best = 0;
            for t in 1..n_t {
                if scores[t].abs() > scores[best].abs() {
                    best = t;
                }
            }
            let expected = if scores[best] < 0.0 { -1.0 } else { 1.0 };
            assert_eq!(sign, expected, "axis {k}: argmax at sample {best}");
        }
        assert_eq!(
            signs[0], -1.0,
            "the near-tie goes to the larger, negative score"
        );
    }
}
