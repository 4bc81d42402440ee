//! The solver's data stored panel by panel: an n × t matrix kept as consecutive n × `width`
//! blocks of samples (the last one narrower when `width` does not divide t), each block
//! row-major.
//!
//! Why: every Picard pass reads the data block by block. In row-major order a block's n rows
//! are t samples apart, n separate streams; on a long recording (20 rows of 1.8 M samples,
//! 295 MB, far beyond the caches) the unmixing product read them at 8 GB/s, where one
//! contiguous stream reads at 15 GB/s on the same machine. Panels make each block one
//! contiguous stream.
//!
//! The conversion is in place (a cycle-following transposition of width-sized chunks), so a
//! fit holds no second copy of the data.

use ndarray::Array2;

#[derive(Debug, Clone)]
pub(crate) struct SamplePanels {
    n: usize,
    t: usize,
    width: usize,
    data: Vec<f64>,
}

impl SamplePanels {
    /// Rearrange `x` (n × t) into panels of `width` samples, reusing its buffer when it is
    /// in standard layout.
    pub(crate) fn from_rows(x: Array2<f64>, width: usize) -> Self {
        assert!(width > 0, "panel width must be positive");
        let (n, t) = x.dim();
        let standard = x.is_standard_layout();
        let (mut data, offset) = if standard {
            x.into_raw_vec_and_offset()
        } else {
            x.as_standard_layout()
                .into_owned()
                .into_raw_vec_and_offset()
        };
        if offset.unwrap_or(0) != 0 || data.len() != n * t {
            // A view into a larger buffer: copy out the elements (rare, never in a fit).
            let start = offset.unwrap_or(0);
            data = data[start..start + n * t].to_vec();
        }
        let full = t / width;
        let tail = t - full * width;
        if n > 1 && full > 0 && !(full == 1 && tail == 0) {
            // 1. The tails (the last `tail` samples of every row) out of the way.
            let mut tails = Vec::with_capacity(n * tail);
            for i in 0..n {
                tails.extend_from_slice(&data[i * t + full * width..(i + 1) * t]);
            }
            // 2. Close the gaps they leave: rows become n × (full · width), moved towards
            //    the front in order, so no row overwrites one not yet moved.
            for i in 1..n {
                data.copy_within(i * t..i * t + full * width, i * full * width);
            }
            // 3. Chunk (row i, panel p) at i·full + p goes to p·n + i.
            transpose_chunks(&mut data[..n * full * width], n, full, width);
            // 4. The tails as the last panel, row-major.
            data[n * full * width..].copy_from_slice(&tails);
        }
        SamplePanels { n, t, width, data }
    }

    pub(crate) fn n_rows(&self) -> usize {
        self.n
    }

    pub(crate) fn n_samples(&self) -> usize {
        self.t
    }

    pub(crate) fn n_panels(&self) -> usize {
        self.t.div_ceil(self.width)
    }

    /// Panel `p`: its n rows of `w` samples, contiguous (row stride `w`), and `w`. The panel
    /// holds samples `p · width ..`.
    pub(crate) fn panel(&self, p: usize) -> (&[f64], usize) {
        let (range, w) = self.panel_range(p);
        (&self.data[range], w)
    }

    /// Where panel `p` lies in the panel-ordered buffer, and its width (for copies of the
    /// data laid out the same way).
    pub(crate) fn panel_range(&self, p: usize) -> (std::ops::Range<usize>, usize) {
        let start = p * self.width;
        assert!(start < self.t, "panel {p} out of range");
        let w = self.width.min(self.t - start);
        let at = self.n * start;
        (at..at + self.n * w, w)
    }

    /// Row `i` at sample `s` (for tests: the solver reads whole panels).
    #[cfg(test)]
    pub(crate) fn value(&self, i: usize, s: usize) -> f64 {
        let p = s / self.width;
        let (panel, w) = self.panel(p);
        panel[i * w + (s - p * self.width)]
    }
}

/// Transpose, in place, an r × c matrix whose elements are `chunk`-long runs of `data`
/// (row-major) into c × r. Cycle following: the chunk at k = i·c + j belongs at j·r + i,
/// which is k·r mod (r·c − 1) for 0 < k < r·c − 1; each cycle is walked once, carrying one
/// chunk in a buffer.
fn transpose_chunks(data: &mut [f64], r: usize, c: usize, chunk: usize) {
    let count = r * c;
    debug_assert_eq!(data.len(), count * chunk);
    if count < 3 {
        return; // 1 × 2 or 2 × 1: the same order
    }
    let modulus = count - 1;
    let mut done = vec![false; count];
    let mut carried = vec![0.0; chunk];
    for start in 1..modulus {
        if done[start] {
            continue;
        }
        carried.copy_from_slice(&data[start * chunk..(start + 1) * chunk]);
        let mut k = start;
        loop {
            let dest = (k * r) % modulus;
            carried.swap_with_slice(&mut data[dest * chunk..(dest + 1) * chunk]);
            done[dest] = true;
            k = dest;
            if k == start {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_hold_every_value_where_the_rows_had_it() {
        for (n, t, width) in [
            (1, 10, 4),
            (3, 5, 8), // one narrow panel
            (3, 8, 8), // exactly one panel
            (2, 16, 8),
            (3, 17, 4),
            (5, 4096, 1024),
            (20, 5000, 1024),
            (7, 3 * 64 + 63, 64),
            (4, 100, 1),
        ] {
            let x = Array2::from_shape_fn((n, t), |(i, s)| (i * 100_000 + s) as f64);
            let panels = SamplePanels::from_rows(x.clone(), width);
            assert_eq!(panels.n_panels(), t.div_ceil(width));
            for i in 0..n {
                for s in 0..t {
                    assert_eq!(panels.value(i, s), x[(i, s)], "{n} × {t} / {width}");
                }
            }
            // and each panel is its rows back to back
            for p in 0..panels.n_panels() {
                let (panel, w) = panels.panel(p);
                assert_eq!(w, width.min(t - p * width));
                for i in 0..n {
                    for s in 0..w {
                        assert_eq!(panel[i * w + s], x[(i, p * width + s)]);
                    }
                }
            }
        }
    }

    #[test]
    fn non_standard_layout_input_is_copied_in_order() {
        let x = Array2::from_shape_fn((6, 5), |(i, s)| (i * 10 + s) as f64);
        let t = x.t().to_owned(); // 5 × 6
        // an owned array in Fortran order
        let fortran = SamplePanels::from_rows(x.reversed_axes(), 4);
        for i in 0..5 {
            for s in 0..6 {
                assert_eq!(fortran.value(i, s), t[(i, s)]);
            }
        }
    }
}
