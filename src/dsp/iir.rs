//! Butterworth IIR filters as second-order sections, equal to
//! `scipy.signal.butter(order, Wn, btype, output='sos')`, applied zero-phase the way MNE's
//! `filter_data(method='iir', iir_params=dict(order=N, ftype='butter'))` does:
//! `reflect_limited` padding by MNE's ringing estimate, then `sosfiltfilt(padlen=0)`.

use super::error::FilterError;
use super::fir_design::check_sfreq;
use super::pad::reflect_limited;
use ndarray::{ArrayViewMut1, ArrayViewMut2, Axis};
use rustfft::num_complex::Complex;
use std::f64::consts::PI;

type C = Complex<f64>;

/// Butterworth design request (MNE method='iir', ftype='butter', phase='zero').
#[derive(Debug, Clone, PartialEq)]
pub struct IirSpec {
    pub order: usize,
    pub l_freq: Option<f64>,
    pub h_freq: Option<f64>,
}

/// Second-order sections `[b0, b1, b2, a0, a1, a2]` plus MNE's edge padding length.
#[derive(Debug, Clone, PartialEq)]
pub struct Sos {
    pub sections: Vec<[f64; 6]>,
    /// Samples of `reflect_limited` padding per side (MNE's `estimate_ringing_samples`).
    pub padlen: usize,
    pub description: String,
}

#[derive(Clone, Copy, PartialEq)]
enum Band {
    Low,
    High,
    Pass,
}

impl IirSpec {
    pub fn design(&self, sfreq: f64) -> Result<Sos, FilterError> {
        let sfreq = check_sfreq(sfreq)?;
        let nyq = sfreq / 2.0;
        if self.order == 0 {
            return Err(FilterError::IirOrder { order: 0 });
        }
        let l = match self.l_freq {
            Some(0.0) => None,
            Some(l) if l.is_nan() || l <= 0.0 || !l.is_finite() => {
                return Err(FilterError::HighPassNotPositive { l_freq: l });
            }
            other => other,
        };
        let h = match self.h_freq {
            Some(h) if h.is_nan() || h >= nyq || !h.is_finite() => {
                return Err(FilterError::LowPassAtOrAboveNyquist {
                    h_freq: h,
                    nyquist: nyq,
                });
            }
            other => other,
        };
        let (band, wn): (Band, Vec<f64>) = match (l, h) {
            (Some(l), Some(h)) if l >= h => {
                return Err(FilterError::EmptyPassband {
                    l_freq: l,
                    h_freq: h,
                });
            }
            (Some(l), Some(h)) => (Band::Pass, vec![l / nyq, h / nyq]),
            (Some(l), None) => (Band::High, vec![l / nyq]),
            (None, Some(h)) => (Band::Low, vec![h / nyq]),
            (None, None) => return Err(FilterError::IirNoCutoff),
        };
        let (z, p, k) = butter_zpk(self.order, &wn, band);
        let sections = zpk2sos(z, p, k);
        if sections
            .iter()
            .any(|s| section_poles(s).iter().any(|p| p.norm() > 1.0))
        {
            return Err(FilterError::IirUnstable);
        }
        let padlen = estimate_ringing_samples(&sections);
        let kind = match band {
            Band::Low => "low-pass",
            Band::High => "high-pass",
            Band::Pass => "band-pass",
        };
        let edges: Vec<String> = [l, h].iter().flatten().map(|f| format!("{f:.2}")).collect();
        let description = format!(
            "IIR Butterworth {kind} zero-phase (two-pass forward and reverse) non-causal filter\n\
             - Filter order {} (effective, after forward-backward)\n- Edges: {} Hz\n\
             - Padding: {padlen} samples each side",
            2 * self.order * wn.len(),
            edges.join(", ")
        );
        Ok(Sos {
            sections,
            padlen,
            description,
        })
    }
}

fn section_poles(s: &[f64; 6]) -> Vec<C> {
    let (a0, a1, a2) = (s[3], s[4], s[5]);
    if a2 == 0.0 {
        if a1 == 0.0 {
            return vec![];
        }
        return vec![C::new(-a1 / a0, 0.0)];
    }
    let disc = C::new(a1 * a1 - 4.0 * a0 * a2, 0.0).sqrt();
    vec![(-a1 + disc) / (2.0 * a0), (-a1 - disc) / (2.0 * a0)]
}

/// scipy `buttap` + frequency transform + `bilinear_zpk` (fs = 2, i.e. Wn relative to Nyquist).
fn butter_zpk(n: usize, wn: &[f64], band: Band) -> (Vec<C>, Vec<C>, f64) {
    let nf = n as f64;
    let proto: Vec<C> = (0..n)
        .map(|i| {
            let m = -(nf) + 1.0 + 2.0 * i as f64;
            let t = PI * m / (2.0 * nf);
            -C::new(0.0, t).exp()
        })
        .collect();
    let warped: Vec<f64> = wn.iter().map(|w| 4.0 * (PI * w / 2.0).tan()).collect();
    let (z, p, k): (Vec<C>, Vec<C>, f64) = match band {
        Band::Low => {
            let wo = warped[0];
            (vec![], proto.iter().map(|p| p * wo).collect(), wo.powf(nf))
        }
        Band::High => {
            let wo = warped[0];
            let p: Vec<C> = proto.iter().map(|p| C::new(wo, 0.0) / p).collect();
            let prod_neg_p = proto.iter().fold(C::new(1.0, 0.0), |acc, p| acc * -p);
            let k = (C::new(1.0, 0.0) / prod_neg_p).re;
            (vec![C::new(0.0, 0.0); n], p, k)
        }
        Band::Pass => {
            let bw = warped[1] - warped[0];
            let wo = (warped[0] * warped[1]).sqrt();
            let p_lp: Vec<C> = proto.iter().map(|p| p * bw / 2.0).collect();
            let mut p: Vec<C> = p_lp.iter().map(|q| q + (q * q - wo * wo).sqrt()).collect();
            p.extend(p_lp.iter().map(|q| q - (q * q - wo * wo).sqrt()));
            (vec![C::new(0.0, 0.0); n], p, bw.powf(nf))
        }
    };
    // Bilinear transform with fs = 2.
    let fs2 = 4.0;
    let degree = p.len() - z.len();
    let mut z_z: Vec<C> = z.iter().map(|z| (fs2 + z) / (fs2 - z)).collect();
    let p_z: Vec<C> = p.iter().map(|p| (fs2 + p) / (fs2 - p)).collect();
    z_z.extend(std::iter::repeat_n(C::new(-1.0, 0.0), degree));
    let num = z.iter().fold(C::new(1.0, 0.0), |acc, z| acc * (fs2 - z));
    let den = p.iter().fold(C::new(1.0, 0.0), |acc, p| acc * (fs2 - p));
    let k_z = k * (num / den).re;
    (z_z, p_z, k_z)
}

/// scipy `_cplxreal`: real roots, and one representative (positive imaginary part) per
/// conjugate pair, ordered by real part then |imag|.
fn cplxreal(mut z: Vec<C>) -> (Vec<C>, Vec<f64>) {
    let tol = 100.0 * f64::EPSILON;
    z.sort_by(|a, b| {
        a.re.total_cmp(&b.re)
            .then(a.im.abs().total_cmp(&b.im.abs()))
    });
    let is_real = |c: &C| c.im.abs() <= tol * c.norm();
    let zr: Vec<f64> = z.iter().filter(|c| is_real(c)).map(|c| c.re).collect();
    let rest: Vec<C> = z.into_iter().filter(|c| !is_real(c)).collect();
    let zp: Vec<C> = rest.iter().copied().filter(|c| c.im > 0.0).collect();
    let zn: Vec<C> = rest.iter().copied().filter(|c| c.im < 0.0).collect();
    // Butterworth roots come in exact conjugate pairs with distinct real parts, so the
    // equal-real-part reordering in scipy never applies; pair them in order.
    let zc = zp
        .iter()
        .zip(&zn)
        .map(|(a, b)| (a + b.conj()) / 2.0)
        .collect();
    (zc, zr)
}

fn is_real(c: &C) -> bool {
    c.im == 0.0
}

/// Index of the root nearest to `to` among `fro` (stable on ties), restricted by kind.
fn nearest_idx(fro: &[C], to: C, which: Option<bool>) -> Option<usize> {
    let mut order: Vec<usize> = (0..fro.len()).collect();
    order.sort_by(|&a, &b| (fro[a] - to).norm().total_cmp(&(fro[b] - to).norm()));
    order
        .into_iter()
        .find(|&i| which.is_none_or(|want_real| is_real(&fro[i]) == want_real))
}

/// `numpy.poly` of up to two roots, real part.
fn poly(roots: &[C]) -> Vec<f64> {
    let mut a = vec![C::new(1.0, 0.0)];
    for r in roots {
        let mut next = vec![C::new(0.0, 0.0); a.len() + 1];
        for (i, ai) in a.iter().enumerate() {
            next[i] += ai;
            next[i + 1] += ai * -r;
        }
        a = next;
    }
    a.iter().map(|c| c.re).collect()
}

fn single_section(z: &[C], p: &[C]) -> [f64; 6] {
    let b = poly(z);
    let a = poly(p);
    let mut s = [0.0; 6];
    s[3 - b.len()..3].copy_from_slice(&b);
    s[6 - a.len()..6].copy_from_slice(&a);
    s
}

/// scipy `zpk2sos(z, p, k, pairing='nearest')` for digital filters.
fn zpk2sos(mut z: Vec<C>, mut p: Vec<C>, k: f64) -> Vec<[f64; 6]> {
    let zero = C::new(0.0, 0.0);
    while p.len() < z.len() {
        p.push(zero);
    }
    while z.len() < p.len() {
        z.push(zero);
    }
    let n_sections = p.len().div_ceil(2);
    if p.len() % 2 == 1 {
        p.push(zero);
        z.push(zero);
    }
    let (zc, zr) = cplxreal(z);
    let mut z: Vec<C> = zc
        .into_iter()
        .chain(zr.into_iter().map(|r| C::new(r, 0.0)))
        .collect();
    let (pc, pr) = cplxreal(p);
    let mut p: Vec<C> = pc
        .into_iter()
        .chain(pr.into_iter().map(|r| C::new(r, 0.0)))
        .collect();
    let idx_worst = |p: &[C]| -> usize {
        let mut best = 0;
        for i in 1..p.len() {
            if (1.0 - p[i].norm()).abs() < (1.0 - p[best].norm()).abs() {
                best = i;
            }
        }
        best
    };
    let mut sos = vec![[0.0; 6]; n_sections];
    for si in (0..n_sections).rev() {
        let p1 = p.remove(idx_worst(&p));
        let n_real_p = p.iter().filter(|c| is_real(c)).count();
        if is_real(&p1) && n_real_p == 0 {
            let i = nearest_idx(&z, p1, Some(true)).unwrap_or(0);
            let z1 = z.remove(i);
            sos[si] = single_section(&[z1, zero], &[p1, zero]);
        } else if p.len() + 1 == z.len()
            && !is_real(&p1)
            && n_real_p == 1
            && z.iter().filter(|c| is_real(c)).count() == 1
        {
            let i = nearest_idx(&z, p1, Some(false)).unwrap_or(0);
            let z1 = z.remove(i);
            sos[si] = single_section(&[z1, z1.conj()], &[p1, p1.conj()]);
        } else {
            let p2 = if is_real(&p1) {
                let reals: Vec<usize> = (0..p.len()).filter(|&i| is_real(&p[i])).collect();
                let real_vals: Vec<C> = reals.iter().map(|&i| p[i]).collect();
                p.remove(reals[idx_worst(&real_vals)])
            } else {
                p1.conj()
            };
            if z.is_empty() {
                sos[si] = single_section(&[], &[p1, p2]);
            } else {
                let i = nearest_idx(&z, p1, None).unwrap_or(0);
                let z1 = z.remove(i);
                if !is_real(&z1) {
                    sos[si] = single_section(&[z1, z1.conj()], &[p1, p2]);
                } else if let Some(j) = nearest_idx(&z, p1, Some(true)) {
                    let z2 = z.remove(j);
                    sos[si] = single_section(&[z1, z2], &[p1, p2]);
                } else {
                    sos[si] = single_section(&[z1], &[p1, p2]);
                }
            }
        }
    }
    for v in sos[0][..3].iter_mut() {
        *v *= k;
    }
    sos
}

/// scipy `sosfilt` (direct form II transposed) with state `zi` updated in place.
fn sosfilt(sections: &[[f64; 6]], x: &mut [f64], zi: &mut [[f64; 2]]) {
    for v in x.iter_mut() {
        let mut cur = *v;
        for (s, z) in sections.iter().zip(zi.iter_mut()) {
            let new = s[0] * cur + z[0];
            z[0] = s[1] * cur - s[4] * new + z[1];
            z[1] = s[2] * cur - s[5] * new;
            cur = new;
        }
        *v = cur;
    }
}

/// scipy `sosfilt_zi`: steady-state initial conditions for a unit step.
fn sosfilt_zi(sections: &[[f64; 6]]) -> Vec<[f64; 2]> {
    let mut scale = 1.0;
    sections
        .iter()
        .map(|s| {
            let (b0, b1, b2) = (s[0] / s[3], s[1] / s[3], s[2] / s[3]);
            let (a1, a2) = (s[4] / s[3], s[5] / s[3]);
            // lfilter_zi: solve (I - A^T) zi = b[1:] - a[1:] b0 for a 2-state companion A.
            let (r0, r1) = (b1 - a1 * b0, b2 - a2 * b0);
            let z0 = (r0 + r1) / (1.0 + a1 + a2);
            let z1 = r1 - a2 * z0;
            let zi = [scale * z0, scale * z1];
            scale *= (s[0] + s[1] + s[2]) / (s[3] + s[4] + s[5]);
            zi
        })
        .collect()
}

/// MNE `estimate_ringing_samples`: impulse response length until it stays below 0.1 %
/// of its running peak, in chunks of 1000 samples (at most 100 000).
fn estimate_ringing_samples(sections: &[[f64; 6]]) -> usize {
    let n_per_chunk = 1000usize;
    let n_chunks_max = 100usize;
    let mut zi = vec![[0.0; 2]; sections.len()];
    let mut last_good = n_per_chunk;
    let mut thresh = 0.0f64;
    for ii in 0..n_chunks_max {
        let mut h = vec![0.0; n_per_chunk];
        if ii == 0 {
            h[0] = 1.0;
        }
        sosfilt(sections, &mut h, &mut zi);
        let peak = h.iter().map(|v| v.abs()).fold(0.0, f64::max);
        thresh = thresh.max(0.001 * peak);
        match h.iter().rposition(|v| v.abs() > thresh) {
            Some(i) => last_good = i,
            None => {
                // (ii - 1) * n_per_chunk + last_good, as MNE computes it
                return ((ii as i64 - 1) * n_per_chunk as i64 + last_good as i64).max(0) as usize;
            }
        }
    }
    n_per_chunk * n_chunks_max
}

impl Sos {
    /// Zero-phase forward-backward filtering of each row in place, as MNE's `_iir_filter`:
    /// pad by min(padlen, n_times - 1) with reflect_limited, sosfiltfilt(padlen=0), unpad.
    pub fn apply_zero_phase(&self, mut data: ArrayViewMut2<f64>) {
        let n_times = data.len_of(Axis(1));
        if n_times == 0 {
            return;
        }
        let pad = self.padlen.min(n_times - 1);
        let zi0 = sosfilt_zi(&self.sections);
        for mut row in data.rows_mut() {
            let x: Vec<f64> = row.iter().copied().collect();
            let mut ext = reflect_limited(&x, pad, pad);
            let x0 = ext[0];
            let mut zi: Vec<[f64; 2]> = zi0.iter().map(|z| [z[0] * x0, z[1] * x0]).collect();
            sosfilt(&self.sections, &mut ext, &mut zi);
            ext.reverse();
            let y0 = ext[0];
            let mut zi: Vec<[f64; 2]> = zi0.iter().map(|z| [z[0] * y0, z[1] * y0]).collect();
            sosfilt(&self.sections, &mut ext, &mut zi);
            ext.reverse();
            for (d, s) in row.iter_mut().zip(&ext[pad..pad + n_times]) {
                *d = *s;
            }
        }
    }

    pub fn apply_zero_phase_1d(&self, data: ArrayViewMut1<f64>) {
        self.apply_zero_phase(data.insert_axis(Axis(0)));
    }
}
