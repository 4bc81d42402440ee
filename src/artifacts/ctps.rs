//! Heartbeat components by cross-trial phase statistics (Dammers et al. 2008), MNE's
//! `ICA.find_bads_ecg(method="ctps")` on a Raw: R peaks are found in the ECG channel
//! ([`find_heartbeats`]), the (unfiltered — MNE filters only the ECG for peak finding)
//! sources are cut into epochs from −0.5 to 0.5 s around each beat, and for every
//! component and epoch sample the Hilbert phases across beats are tested for uniformity
//! with Kuiper's statistic. A component's score is its largest normalised Kuiper index
//! over the epoch; threshold 'auto' is 0.3.

use ndarray::{ArrayView1, ArrayView2, s};
use rustfft::FftPlanner;
use rustfft::num_complex::Complex;
use std::f64::consts::PI;

use super::detector::{
    DetectorError, DetectorScores, check_finite_2d, check_sfreq, check_sources_and_reference,
    order_by_abs_score,
};
use super::heartbeats::{HeartbeatParams, find_heartbeats};

#[derive(Debug, Clone, PartialEq)]
pub struct CtpsParams {
    /// Band-pass for R-peak detection (`find_bads_ecg` l_freq/h_freq: 8–16 Hz).
    pub l_freq: f64,
    pub h_freq: f64,
    /// Epoch window around each beat in seconds (`create_ecg_epochs`: −0.5, 0.5).
    pub tmin: f64,
    pub tmax: f64,
    /// Minimum normalised Kuiper index ('auto' = 0.3).
    pub threshold: f64,
}

impl Default for CtpsParams {
    fn default() -> Self {
        CtpsParams {
            l_freq: 8.0,
            h_freq: 16.0,
            tmin: -0.5,
            tmax: 0.5,
            threshold: 0.3,
        }
    }
}

/// Score components (components × samples, as `ica.get_sources`) against the ECG channel
/// (same samples). Flags scores ≥ threshold, listed by score descending, as MNE does.
pub fn ctps_scores(
    sources: ArrayView2<f64>,
    ecg: ArrayView1<f64>,
    sfreq: f64,
    params: &CtpsParams,
) -> Result<DetectorScores, DetectorError> {
    let sfreq = check_sfreq(sfreq)?;
    check_sources_and_reference("the ECG channel", sources, ecg)?;
    if !(params.tmin.is_finite() && params.tmax.is_finite() && params.tmin <= params.tmax) {
        return Err(DetectorError::InvalidParams {
            reason: format!(
                "the epoch window must satisfy tmin <= tmax, got {}..{} s; MNE uses -0.5..0.5",
                params.tmin, params.tmax
            ),
        });
    }
    if !params.threshold.is_finite() {
        return Err(DetectorError::InvalidParams {
            reason: format!(
                "threshold must be finite, got {}; MNE's 'auto' is 0.3",
                params.threshold
            ),
        });
    }
    check_finite_2d("sources", sources)?;
    let beats = find_heartbeats(
        ecg,
        sfreq,
        &HeartbeatParams {
            l_freq: params.l_freq,
            h_freq: params.h_freq,
        },
    )?;
    // mne.Epochs: samples round(tmin·sfreq) ..= round(tmax·sfreq) around each event;
    // epochs reaching outside the recording are dropped.
    let first = (params.tmin * sfreq).round_ties_even() as i64;
    let last = (params.tmax * sfreq).round_ties_even() as i64;
    let n_times = (last - first + 1) as usize;
    let n_total = sources.ncols() as i64;
    let starts: Vec<usize> = beats
        .iter()
        .map(|&b| b as i64 + first)
        .filter(|&st| st >= 0 && st + n_times as i64 <= n_total)
        .map(|st| st as usize)
        .collect();
    if starts.is_empty() {
        return Err(DetectorError::NoHeartbeats);
    }
    let mut hilbert = AnalyticSignal::new(n_times);
    let n_epochs = starts.len();
    let scores: Vec<f64> = sources
        .outer_iter()
        .map(|source| {
            // phases[t * n_epochs + epoch]: one contiguous run of trials per time slice.
            let mut phases = vec![0.0; n_times * n_epochs];
            for (e, &st) in starts.iter().enumerate() {
                let seg = source.slice(s![st..st + n_times]);
                for (t, ph) in hilbert.normalized_phase(seg).into_iter().enumerate() {
                    phases[t * n_epochs + e] = ph;
                }
            }
            let mut best = f64::NEG_INFINITY;
            for slice in phases.chunks_mut(n_epochs) {
                let pk = kuiper_index(slice);
                if pk.is_nan() || best.is_nan() {
                    best = f64::NAN; // numpy's max propagates NaN
                } else {
                    best = best.max(pk);
                }
            }
            best
        })
        .collect();
    let indices: Vec<usize> = (0..scores.len())
        .filter(|&i| scores[i] >= params.threshold)
        .collect();
    let indices = order_by_abs_score(indices, &scores);
    Ok(DetectorScores::new(scores, indices, params.threshold))
}

/// `scipy.signal.hilbert` along one epoch, reusing the FFT plans.
struct AnalyticSignal {
    n: usize,
    forward: std::sync::Arc<dyn rustfft::Fft<f64>>,
    inverse: std::sync::Arc<dyn rustfft::Fft<f64>>,
    buf: Vec<Complex<f64>>,
}

impl AnalyticSignal {
    fn new(n: usize) -> Self {
        let mut planner = FftPlanner::new();
        AnalyticSignal {
            n,
            forward: planner.plan_fft_forward(n),
            inverse: planner.plan_fft_inverse(n),
            buf: vec![Complex::new(0.0, 0.0); n],
        }
    }

    /// MNE `_compute_normalized_phase`: (angle(hilbert(x)) + π) / 2π, in [0, 1].
    fn normalized_phase(&mut self, x: ArrayView1<f64>) -> Vec<f64> {
        let n = self.n;
        for (b, &v) in self.buf.iter_mut().zip(x.iter()) {
            *b = Complex::new(v, 0.0);
        }
        self.forward.process(&mut self.buf);
        // h = 1 at DC (and at Nyquist for even n), 2 for positive, 0 for negative freqs.
        let half = n.div_ceil(2);
        for (k, b) in self.buf.iter_mut().enumerate() {
            let h = if k == 0 || (n.is_multiple_of(2) && k == n / 2) {
                1.0
            } else if k < half {
                2.0
            } else {
                0.0
            };
            *b *= h / n as f64;
        }
        self.inverse.process(&mut self.buf);
        self.buf
            .iter()
            .map(|c| (c.im.atan2(c.re) + PI) / (2.0 * PI))
            .collect()
    }
}

/// MNE `kuiper` + `_prob_kuiper` on the phases of one time slice across trials (sorted in
/// place): Kuiper's statistic D = max(i/n − x_(i)) + max(x_(i) − (i−1)/n) and the
/// normalised index −log(Q_KP(λ)) / 2n with λ = (√n + 0.155 + 0.24/√n)·D, 0 below λ = 0.4,
/// capped at 1.
pub fn kuiper_index(phases: &mut [f64]) -> f64 {
    phases.sort_by(f64::total_cmp);
    let n = phases.len();
    let nf = n as f64;
    let mut d1 = f64::NEG_INFINITY;
    let mut d2 = f64::NEG_INFINITY;
    for (i, &x) in phases.iter().enumerate() {
        d1 = d1.max((i as f64 + 1.0) / nf - x);
        d2 = d2.max(x - i as f64 / nf);
    }
    prob_kuiper(d1 + d2, n)
}

fn prob_kuiper(d: f64, n_eff: usize) -> f64 {
    let en = (n_eff as f64).sqrt();
    let k_lambda = (en + 0.155 + 0.24 / en) * d;
    if k_lambda < 0.4 {
        return 0.0;
    }
    let l2 = k_lambda * k_lambda;
    // logsumexp(a, b) with a_j = −2 j² λ², b_j = 2 (4 j² λ² − 1), j = 1..100; the largest
    // a is a_1.
    let a_max = -2.0 * l2;
    let mut sum = 0.0;
    for j in 1..=100 {
        let j2 = (j * j) as f64;
        let a = -2.0 * j2 * l2;
        let b = 2.0 * (4.0 * j2 * l2 - 1.0);
        sum += b * (a - a_max).exp();
    }
    let pk = -(sum.ln() + a_max) / (2.0 * n_eff as f64);
    if pk > 1.0 { 1.0 } else { pk }
}
