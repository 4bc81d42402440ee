//! Zero-phase FIR application by FFT overlap-add, as MNE's `_overlap_add_filter` with
//! phase='zero' and pad='reflect_limited': each row is padded by `len(h) - 1` reflected
//! samples, filtered in blocks of MNE's FFT length, and shifted by the group delay.

use super::fft_len::overlap_add_n_fft;
use super::fir_design::FirFilter;
use super::pad::reflect_limited;
use ndarray::{ArrayViewMut1, ArrayViewMut2, Axis};
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

/// A filter prepared for signals of one length: FFT plans and the filter spectrum are
/// made once and reused for every row.
pub struct OverlapAdd {
    n_h: usize,
    n_times: usize,
    n_edge: usize,
    n_fft: usize,
    h_fft: Vec<Complex<f64>>,
    forward: Arc<dyn Fft<f64>>,
    inverse: Arc<dyn Fft<f64>>,
    scratch: Vec<Complex<f64>>,
    block: Vec<Complex<f64>>,
}

impl OverlapAdd {
    pub fn new(taps: &[f64], n_times: usize) -> Self {
        let n_edge = taps.len().min(n_times).saturating_sub(1);
        Self::with_edge(taps, n_times, n_edge)
    }

    /// As [`OverlapAdd::new`] but with an explicit reflect-padding length: MNE's
    /// 'zero-double' phase pads by the length of the single-pass filter while applying
    /// the (twice as long) forward-backward filter.
    pub fn with_edge(taps: &[f64], n_times: usize, n_edge: usize) -> Self {
        let n_h = taps.len();
        let n_x = n_times + 2 * n_edge;
        let n_fft = overlap_add_n_fft(n_h, n_x);
        let mut planner = FftPlanner::<f64>::new();
        let forward = planner.plan_fft_forward(n_fft);
        let inverse = planner.plan_fft_inverse(n_fft);
        let mut h_fft: Vec<Complex<f64>> = (0..n_fft)
            .map(|i| Complex::new(if i < n_h { taps[i] } else { 0.0 }, 0.0))
            .collect();
        let scratch_len = forward
            .get_inplace_scratch_len()
            .max(inverse.get_inplace_scratch_len());
        let mut scratch = vec![Complex::new(0.0, 0.0); scratch_len];
        forward.process_with_scratch(&mut h_fft, &mut scratch);
        // Fold the inverse FFT's 1/n (scipy's irfft normalisation) into the spectrum.
        let inv_n = 1.0 / n_fft as f64;
        for c in h_fft.iter_mut() {
            *c *= inv_n;
        }
        OverlapAdd {
            n_h,
            n_times,
            n_edge,
            n_fft,
            h_fft,
            forward,
            inverse,
            scratch,
            block: vec![Complex::new(0.0, 0.0); n_fft],
        }
    }

    /// The FFT block length MNE would use for this filter and signal length.
    pub fn n_fft(&self) -> usize {
        self.n_fft
    }

    /// Filter one or two rows at once: a real filter acts independently on the real and
    /// imaginary parts of a complex signal, so two rows share one complex FFT.
    fn filter_pair(&mut self, a: &mut [f64], b: Option<&mut [f64]>) {
        let n_times = self.n_times;
        let ext_a = reflect_limited(a, self.n_edge, self.n_edge);
        let ext_b = b
            .as_ref()
            .map(|b| reflect_limited(b, self.n_edge, self.n_edge));
        let n_x = ext_a.len();
        let n_seg = self.n_fft - self.n_h + 1;
        let n_segments = n_x.div_ceil(n_seg);
        let shift = (self.n_h - 1) / 2 + self.n_edge;
        let mut out = vec![Complex::new(0.0, 0.0); n_times];
        for seg_idx in 0..n_segments {
            let start = seg_idx * n_seg;
            // Blocks whose output lands wholly past the kept samples are skipped.
            if start >= shift + n_times {
                break;
            }
            let stop = (start + n_seg).min(n_x);
            for (i, c) in self.block.iter_mut().enumerate() {
                let j = start + i;
                *c = if j < stop {
                    Complex::new(ext_a[j], ext_b.as_ref().map_or(0.0, |e| e[j]))
                } else {
                    Complex::new(0.0, 0.0)
                };
            }
            self.forward
                .process_with_scratch(&mut self.block, &mut self.scratch);
            for (c, h) in self.block.iter_mut().zip(&self.h_fft) {
                *c *= h;
            }
            self.inverse
                .process_with_scratch(&mut self.block, &mut self.scratch);
            let start_filt = start.saturating_sub(shift);
            let stop_filt = (start + self.n_fft).saturating_sub(shift).min(n_times);
            let start_prod = shift.saturating_sub(start);
            for (o, p) in out[start_filt..stop_filt.max(start_filt)]
                .iter_mut()
                .zip(&self.block[start_prod..])
            {
                *o += p;
            }
        }
        for (x, o) in a.iter_mut().zip(&out) {
            *x = o.re;
        }
        if let Some(b) = b {
            for (x, o) in b.iter_mut().zip(&out) {
                *x = o.im;
            }
        }
    }

    /// Filter every row of `data` (rows = channels, length `n_times`) in place.
    pub fn apply_rows(&mut self, mut data: ArrayViewMut2<f64>) {
        if self.n_times == 0 || data.nrows() == 0 {
            return;
        }
        let mut row_a = vec![0.0; self.n_times];
        let mut row_b = vec![0.0; self.n_times];
        let n_rows = data.nrows();
        let mut r = 0;
        while r < n_rows {
            row_a.iter_mut().zip(data.row(r)).for_each(|(d, s)| *d = *s);
            if r + 1 < n_rows {
                row_b
                    .iter_mut()
                    .zip(data.row(r + 1))
                    .for_each(|(d, s)| *d = *s);
                self.filter_pair(&mut row_a, Some(&mut row_b));
                data.row_mut(r + 1).assign(&ndarray::aview1(&row_b));
            } else {
                self.filter_pair(&mut row_a, None);
            }
            data.row_mut(r).assign(&ndarray::aview1(&row_a));
            r += 2;
        }
    }
}

impl FirFilter {
    /// Zero-phase filtering of each row (channel) in place, as MNE's `filter_data`
    /// (method='fir', phase='zero', pad='reflect_limited').
    pub fn apply_zero_phase(&self, mut data: ArrayViewMut2<f64>) {
        if self.taps.len() == 1 {
            let g = self.taps[0];
            data.mapv_inplace(|v| v * g);
            return;
        }
        let n_times = data.len_of(Axis(1));
        OverlapAdd::new(&self.taps, n_times).apply_rows(data);
    }

    /// Zero-phase filtering of one signal in place.
    pub fn apply_zero_phase_1d(&self, data: ArrayViewMut1<f64>) {
        self.apply_zero_phase(data.insert_axis(Axis(0)));
    }
}
