//! Time-series building blocks for the demo generator. All are plain recursions or
//! closed forms (no FFT), so the output is the same bit for bit on every machine.

use std::f64::consts::PI;

use crate::rng::Rng;

/// Seconds of filter warm-up discarded so recursive generators start in steady state.
const WARM_UP_SECONDS: f64 = 4.0;

/// Scale `x` in place to the given root-mean-square value (no-op for an all-zero signal).
pub fn scale_to_rms(x: &mut [f64], target_rms: f64) {
    let rms = (x.iter().map(|v| v * v).sum::<f64>() / x.len().max(1) as f64).sqrt();
    if rms > 0.0 {
        let gain = target_rms / rms;
        x.iter_mut().for_each(|v| *v *= gain);
    }
}

/// Pink (1/f power) noise by Paul Kellet's "refined" 7-pole filter of white noise. Its
/// poles scale with the sample rate; at 256 Hz the 1/f slope holds from about 0.05 Hz to
/// Nyquist, which covers the EEG band.
pub fn pink_noise(rng: &mut Rng, n: usize, sfreq: f64) -> Vec<f64> {
    let warm = (WARM_UP_SECONDS * sfreq) as usize;
    let mut b = [0.0f64; 7];
    let mut out = Vec::with_capacity(n);
    for i in 0..warm + n {
        let w = rng.normal();
        b[0] = 0.99886 * b[0] + w * 0.055_517_9;
        b[1] = 0.99332 * b[1] + w * 0.075_075_9;
        b[2] = 0.96900 * b[2] + w * 0.153_852_0;
        b[3] = 0.86650 * b[3] + w * 0.310_485_6;
        b[4] = 0.55000 * b[4] + w * 0.532_952_2;
        b[5] = -0.7616 * b[5] - w * 0.016_898_0;
        let pink = b[0] + b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + w * 0.5362;
        b[6] = w * 0.115_926;
        if i >= warm {
            out.push(pink);
        }
    }
    out
}

/// A narrow-band oscillation: white noise through a two-pole resonator at `freq` Hz with
/// -3 dB bandwidth about `bandwidth` Hz. Its amplitude waxes and wanes by itself, like
/// alpha or mu rhythm does, which a pure sinusoid would not.
pub fn resonator_noise(rng: &mut Rng, n: usize, sfreq: f64, freq: f64, bandwidth: f64) -> Vec<f64> {
    let r = (-PI * bandwidth / sfreq).exp();
    let a1 = 2.0 * r * (2.0 * PI * freq / sfreq).cos();
    let a2 = -r * r;
    let warm = (WARM_UP_SECONDS * sfreq) as usize;
    let (mut y1, mut y2) = (0.0, 0.0);
    let mut out = Vec::with_capacity(n);
    for i in 0..warm + n {
        let y = a1 * y1 + a2 * y2 + rng.normal();
        y2 = y1;
        y1 = y;
        if i >= warm {
            out.push(y);
        }
    }
    out
}

/// Second-order section (RBJ audio-EQ cookbook), applied forward only.
#[derive(Debug, Clone, Copy)]
struct Biquad {
    b: [f64; 3],
    a: [f64; 2],
}

impl Biquad {
    fn butterworth(kind: PassKind, cutoff: f64, sfreq: f64) -> Self {
        let w0 = 2.0 * PI * cutoff / sfreq;
        // Butterworth: Q = 1/sqrt(2), alpha = sin(w0) / (2 Q).
        let alpha = w0.sin() * std::f64::consts::FRAC_1_SQRT_2;
        let cos = w0.cos();
        let a0 = 1.0 + alpha;
        let b = match kind {
            PassKind::Low => [(1.0 - cos) / 2.0, 1.0 - cos, (1.0 - cos) / 2.0],
            PassKind::High => [(1.0 + cos) / 2.0, -(1.0 + cos), (1.0 + cos) / 2.0],
        };
        Self {
            b: [b[0] / a0, b[1] / a0, b[2] / a0],
            a: [-2.0 * cos / a0, (1.0 - alpha) / a0],
        }
    }

    fn apply(&self, x: &mut [f64]) {
        let (mut x1, mut x2, mut y1, mut y2) = (0.0, 0.0, 0.0, 0.0);
        for v in x.iter_mut() {
            let y =
                self.b[0] * *v + self.b[1] * x1 + self.b[2] * x2 - self.a[0] * y1 - self.a[1] * y2;
            x2 = x1;
            x1 = *v;
            y2 = y1;
            y1 = y;
            *v = y;
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum PassKind {
    Low,
    High,
}

/// White noise band-limited to [low, high] Hz by two cascaded 2nd-order Butterworth
/// sections on each side (4th order), the broadband look of surface EMG. `high` is
/// clamped below Nyquist.
pub fn band_noise(rng: &mut Rng, n: usize, sfreq: f64, low: f64, high: f64) -> Vec<f64> {
    let warm = (0.5 * sfreq) as usize;
    let mut x: Vec<f64> = (0..warm + n).map(|_| rng.normal()).collect();
    let high = high.min(0.45 * sfreq);
    for _ in 0..2 {
        Biquad::butterworth(PassKind::High, low, sfreq).apply(&mut x);
        Biquad::butterworth(PassKind::Low, high, sfreq).apply(&mut x);
    }
    x.split_off(warm)
}

/// Tukey (tapered cosine) window of `n` samples with `taper` seconds of cosine ramp at
/// each end: the on/off envelope of a muscle burst.
pub fn tukey(n: usize, taper_samples: usize) -> Vec<f64> {
    let t = taper_samples.min(n / 2).max(1);
    (0..n)
        .map(|i| {
            let edge = i.min(n - 1 - i);
            if edge >= t {
                1.0
            } else {
                0.5 * (1.0 - (PI * edge as f64 / t as f64).cos())
            }
        })
        .collect()
}

/// One heartbeat as a sum of Gaussian waves (P, Q, R, S, T; the shape used by
/// McSharry et al. 2003's ECG model), in units of the R-wave height, at time `t`
/// seconds from the R peak. Non-zero from about -0.3 s to +0.5 s.
pub fn ecg_beat(t: f64) -> f64 {
    // (centre s, width s, amplitude)
    const WAVES: [(f64, f64, f64); 5] = [
        (-0.20, 0.025, 0.12),
        (-0.03, 0.010, -0.15),
        (0.0, 0.012, 1.0),
        (0.03, 0.010, -0.25),
        (0.28, 0.050, 0.30),
    ];
    WAVES
        .iter()
        .map(|&(centre, width, amp)| amp * (-0.5 * ((t - centre) / width).powi(2)).exp())
        .sum()
}

/// Raised-cosine bump of unit height lasting `duration` seconds: the time course of a
/// blink (lid closing and reopening).
pub fn blink_shape(t: f64, duration: f64) -> f64 {
    if t <= 0.0 || t >= duration {
        0.0
    } else {
        0.5 * (1.0 - (2.0 * PI * t / duration).cos())
    }
}

/// Smooth step from 0 to 1 over `ramp` seconds starting at t = 0 (a saccade: the eye
/// moves in tens of milliseconds, then fixates).
pub fn smooth_step(t: f64, ramp: f64) -> f64 {
    if t <= 0.0 {
        0.0
    } else if t >= ramp {
        1.0
    } else {
        0.5 * (1.0 - (PI * t / ramp).cos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn power_at(x: &[f64], sfreq: f64, f: f64) -> f64 {
        let (mut re, mut im) = (0.0, 0.0);
        for (i, v) in x.iter().enumerate() {
            let ph = 2.0 * PI * f * i as f64 / sfreq;
            re += v * ph.cos();
            im -= v * ph.sin();
        }
        re * re + im * im
    }

    #[test]
    fn resonator_peaks_at_its_frequency() {
        let mut rng = Rng::new(1);
        let x = resonator_noise(&mut rng, 8192, 256.0, 10.0, 2.0);
        // Average 9 bins per band: single periodogram bins scatter exponentially.
        let band = |centre: f64| {
            (-4..=4)
                .map(|k| power_at(&x, 256.0, centre + 0.125 * k as f64))
                .sum::<f64>()
        };
        let at = band(10.0);
        assert!(at > 5.0 * band(25.0), "{at} vs {}", band(25.0));
        assert!(at > 5.0 * band(3.0), "{at} vs {}", band(3.0));
    }

    #[test]
    fn band_noise_is_band_limited() {
        let mut rng = Rng::new(2);
        let x = band_noise(&mut rng, 8192, 256.0, 20.0, 100.0);
        let avg =
            |fs: &[f64]| fs.iter().map(|&f| power_at(&x, 256.0, f)).sum::<f64>() / fs.len() as f64;
        let pass = avg(&[40.0, 50.5, 60.25, 70.75]);
        let stop = avg(&[2.0, 3.5, 4.25]);
        assert!(pass > 100.0 * stop, "pass {pass} stop {stop}");
    }
}
