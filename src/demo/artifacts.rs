//! Non-brain signals with known time courses and topographies.

use std::f64::consts::PI;

use ndarray::Array2;

use super::head_model::{Dipole, add, normalise_peak, topography, unit};
use super::layout::{DemoChannel, LEFT_EYE, RIGHT_EYE};
use super::signals::{band_noise, blink_shape, ecg_beat, scale_to_rms, smooth_step, tukey};
use super::{DemoArtifact, DemoArtifactKind, DemoSpec};
use crate::data::{ChannelType, standard_1005_position};
use crate::rng::Rng;

pub struct ArtifactInputs<'a> {
    pub spec: &'a DemoSpec,
    pub n_samples: usize,
    pub channels: &'a [DemoChannel],
    pub reference: &'a [[f64; 3]],
}

/// Every artifact of one recording, in a fixed order (each kind from its own stream).
pub fn generate(inputs: &ArtifactInputs<'_>, seed: u64) -> Vec<DemoArtifact> {
    let mut out = Vec::new();
    out.push(sensor_noise(inputs, &mut Rng::derive(seed, 300)));
    if inputs.spec.drift {
        out.push(drift(inputs, &mut Rng::derive(seed, 301)));
    }
    if let Some(freq) = inputs.spec.line_freq {
        out.push(line_noise(inputs, freq, &mut Rng::derive(seed, 302)));
    }
    out.extend(heartbeats(inputs, &mut Rng::derive(seed, 303)));
    out.extend(blinks(inputs, &mut Rng::derive(seed, 304)));
    out.extend(saccades(inputs, &mut Rng::derive(seed, 305)));
    out.extend(muscle_bursts(inputs, &mut Rng::derive(seed, 306)));
    out
}

fn indices_of(inputs: &ArtifactInputs<'_>, kind: ChannelType) -> Vec<usize> {
    inputs
        .channels
        .iter()
        .enumerate()
        .filter(|(_, c)| c.kind == kind)
        .map(|(i, _)| i)
        .collect()
}

/// An artifact whose contribution is `gains[ch] × course[t]` (µV → V), clipped to the
/// recording.
fn rank_one(
    kind: DemoArtifactKind,
    inputs: &ArtifactInputs<'_>,
    first_sample: usize,
    gains_uv: &[f64],
    course: &[f64],
) -> DemoArtifact {
    let len = course
        .len()
        .min(inputs.n_samples.saturating_sub(first_sample));
    let contribution = Array2::from_shape_fn((gains_uv.len(), len), |(c, t)| {
        gains_uv[c] * 1e-6 * course[t]
    });
    whole(kind, inputs, first_sample, contribution)
}

fn whole(
    kind: DemoArtifactKind,
    inputs: &ArtifactInputs<'_>,
    first_sample: usize,
    contribution: Array2<f64>,
) -> DemoArtifact {
    let sfreq = inputs.spec.sfreq;
    DemoArtifact {
        kind,
        onset: first_sample as f64 / sfreq,
        duration: contribution.ncols() as f64 / sfreq,
        first_sample,
        contribution,
    }
}

/// `count` onsets (seconds), sorted, uniformly placed so an event of `max_length` fits.
fn onsets(rng: &mut Rng, per_minute: f64, duration: f64, max_length: f64) -> Vec<f64> {
    let count = (per_minute * duration / 60.0).round() as usize;
    let latest = (duration - max_length - 0.5).max(0.5);
    let mut times: Vec<f64> = (0..count).map(|_| rng.range(0.5, latest)).collect();
    times.sort_by(f64::total_cmp);
    times
}

/// White amplifier noise: 1 µV RMS on EEG/EOG, 5 µV on ECG.
fn sensor_noise(inputs: &ArtifactInputs<'_>, rng: &mut Rng) -> DemoArtifact {
    let n = inputs.n_samples;
    let mut contribution = Array2::zeros((inputs.channels.len(), n));
    for (mut row, channel) in contribution.rows_mut().into_iter().zip(inputs.channels) {
        let rms_uv = if channel.kind == ChannelType::Ecg {
            5.0
        } else {
            1.0
        };
        row.iter_mut()
            .for_each(|v| *v = rms_uv * 1e-6 * rng.normal());
    }
    whole(DemoArtifactKind::SensorNoise, inputs, 0, contribution)
}

/// Electrode drift: two very slow sinusoids (0.01–0.08 Hz, 5–20 µV) and a linear trend
/// (up to ±10 µV over the recording), independent per channel.
fn drift(inputs: &ArtifactInputs<'_>, rng: &mut Rng) -> DemoArtifact {
    let n = inputs.n_samples;
    let sfreq = inputs.spec.sfreq;
    let mut contribution = Array2::zeros((inputs.channels.len(), n));
    for mut row in contribution.rows_mut() {
        let waves: Vec<(f64, f64, f64)> = (0..2)
            .map(|_| {
                (
                    rng.range(0.01, 0.08),
                    rng.range(5.0, 20.0),
                    rng.range(0.0, 2.0 * PI),
                )
            })
            .collect();
        let slope = rng.range(-10.0, 10.0) / n as f64;
        for (i, v) in row.iter_mut().enumerate() {
            let t = i as f64 / sfreq;
            let uv: f64 = waves
                .iter()
                .map(|&(f, a, ph)| a * (2.0 * PI * f * t + ph).sin())
                .sum::<f64>()
                + slope * i as f64;
            *v = uv * 1e-6;
        }
    }
    whole(DemoArtifactKind::Drift, inputs, 0, contribution)
}

/// Mains interference: the fundamental and its harmonics below Nyquist (relative
/// amplitudes 1, 0.3, 0.1), 2–8 µV on EEG/EOG and 10–20 µV on ECG, nearly in phase on all
/// channels (it is mostly common-mode pick-up).
fn line_noise(inputs: &ArtifactInputs<'_>, freq: f64, rng: &mut Rng) -> DemoArtifact {
    const HARMONIC_GAINS: [f64; 3] = [1.0, 0.3, 0.1];
    let n = inputs.n_samples;
    let sfreq = inputs.spec.sfreq;
    let common_phase = rng.range(0.0, 2.0 * PI);
    let mut contribution = Array2::zeros((inputs.channels.len(), n));
    for (mut row, channel) in contribution.rows_mut().into_iter().zip(inputs.channels) {
        let amp_uv = if channel.kind == ChannelType::Ecg {
            rng.range(10.0, 20.0)
        } else {
            rng.range(2.0, 8.0)
        };
        let phase = common_phase + 0.2 * rng.normal();
        let harmonics: Vec<(f64, f64)> = HARMONIC_GAINS
            .iter()
            .enumerate()
            .map(|(h, &g)| ((h + 1) as f64 * freq, g * amp_uv))
            .filter(|&(f, _)| f < sfreq / 2.0)
            .collect();
        for (i, v) in row.iter_mut().enumerate() {
            let t = i as f64 / sfreq;
            let uv: f64 = harmonics
                .iter()
                .map(|&(f, a)| a * (2.0 * PI * f * t + phase).sin())
                .sum();
            *v = uv * 1e-6;
        }
    }
    whole(DemoArtifactKind::LineNoise, inputs, 0, contribution)
}

/// Heartbeats: a PQRST wave of 0.8–1.2 mV on ECG at 60–80 beats/min with beat-to-beat
/// variability, leaking 2–4 µV (peak) into EEG through a distant cardiac dipole.
fn heartbeats(inputs: &ArtifactInputs<'_>, rng: &mut Rng) -> Vec<DemoArtifact> {
    let sfreq = inputs.spec.sfreq;
    let duration = inputs.n_samples as f64 / sfreq;
    let mean_rr = 60.0 / rng.range(60.0, 80.0);
    let r_uv = rng.range(800.0, 1200.0);
    let leak_uv = rng.range(2.0, 4.0);
    let heart = Dipole {
        position: [0.0, 0.0, -0.40],
        moment: unit([0.2, -0.3, -1.0]),
    };
    let sensors: Vec<_> = inputs.channels.iter().map(|c| c.sensor).collect();
    let mut gains = topography(&[heart], &sensors, inputs.reference);
    normalise_peak(&mut gains, &indices_of(inputs, ChannelType::Eeg));
    for (g, c) in gains.iter_mut().zip(inputs.channels) {
        *g = if c.kind == ChannelType::Ecg {
            r_uv
        } else {
            *g * leak_uv
        };
    }
    let (before, after) = (0.3, 0.5);
    let mut out = Vec::new();
    let mut r_peak = before + rng.range(0.0, mean_rr);
    while r_peak + after < duration {
        let first = ((r_peak - before) * sfreq).ceil() as usize;
        let len = ((before + after) * sfreq) as usize;
        let course: Vec<f64> = (0..len)
            .map(|i| ecg_beat((first + i) as f64 / sfreq - r_peak))
            .collect();
        out.push(rank_one(
            DemoArtifactKind::Heartbeat,
            inputs,
            first,
            &gains,
            &course,
        ));
        r_peak += mean_rr + 0.03 * rng.normal();
    }
    out
}

/// Blinks: 150–400 ms raised-cosine bumps of 100–200 µV at the largest frontal channel
/// (Fp1/Fp2), from upward-pointing dipoles just above both eyes; large on VEOG.
fn blinks(inputs: &ArtifactInputs<'_>, rng: &mut Rng) -> Vec<DemoArtifact> {
    let sfreq = inputs.spec.sfreq;
    let duration = inputs.n_samples as f64 / sfreq;
    let moment = unit([0.0, 0.5, 1.0]);
    let dipoles = [LEFT_EYE, RIGHT_EYE].map(|eye| Dipole {
        position: add(eye, [0.0, 0.01, 0.01]),
        moment,
    });
    let sensors: Vec<_> = inputs.channels.iter().map(|c| c.sensor).collect();
    let mut topo = topography(&dipoles, &sensors, inputs.reference);
    normalise_peak(&mut topo, &indices_of(inputs, ChannelType::Eeg));
    onsets(rng, inputs.spec.blinks_per_minute, duration, 0.4)
        .into_iter()
        .map(|onset| {
            let length = rng.range(0.15, 0.4);
            let amp = rng.range(100.0, 200.0);
            let first = (onset * sfreq).round() as usize;
            let len = (length * sfreq).ceil() as usize;
            let gains: Vec<f64> = topo.iter().map(|g| g * amp).collect();
            let course: Vec<f64> = (0..len)
                .map(|i| blink_shape(i as f64 / sfreq, length))
                .collect();
            rank_one(DemoArtifactKind::Blink, inputs, first, &gains, &course)
        })
        .collect()
}

/// Horizontal saccades: the corneo-retinal dipoles of both eyes turn left or right for a
/// 0.3–1.5 s fixation and back; 40–120 µV on HEOG, opposite signs at F7 and F8.
fn saccades(inputs: &ArtifactInputs<'_>, rng: &mut Rng) -> Vec<DemoArtifact> {
    const RAMP: f64 = 0.04;
    let sfreq = inputs.spec.sfreq;
    let duration = inputs.n_samples as f64 / sfreq;
    let dipoles = [LEFT_EYE, RIGHT_EYE].map(|eye| Dipole {
        position: eye,
        moment: [1.0, 0.0, 0.0],
    });
    let sensors: Vec<_> = inputs.channels.iter().map(|c| c.sensor).collect();
    let mut topo = topography(&dipoles, &sensors, inputs.reference);
    let heog: Vec<usize> = inputs
        .channels
        .iter()
        .position(|c| c.name == "HEOG")
        .into_iter()
        .collect();
    normalise_peak(&mut topo, &heog);
    onsets(
        rng,
        inputs.spec.saccades_per_minute,
        duration,
        1.5 + 2.0 * RAMP,
    )
    .into_iter()
    .map(|onset| {
        let fixation = rng.range(0.3, 1.5);
        let amp = rng.range(40.0, 120.0) * if rng.uniform() < 0.5 { 1.0 } else { -1.0 };
        let first = (onset * sfreq).round() as usize;
        let len = ((fixation + RAMP) * sfreq).ceil() as usize + 1;
        let gains: Vec<f64> = topo.iter().map(|g| g * amp).collect();
        let course: Vec<f64> = (0..len)
            .map(|i| {
                let t = i as f64 / sfreq;
                smooth_step(t, RAMP) - smooth_step(t - fixation, RAMP)
            })
            .collect();
        rank_one(DemoArtifactKind::Saccade, inputs, first, &gains, &course)
    })
    .collect()
}

/// Muscle bursts: 20–100 Hz band-limited noise for 0.5–2 s, 20–60 µV RMS, centred on one
/// of T7, T8, F7, F8 and falling off as a Gaussian (σ 3.5 cm) over the EEG electrodes.
fn muscle_bursts(inputs: &ArtifactInputs<'_>, rng: &mut Rng) -> Vec<DemoArtifact> {
    const SITES: [&str; 4] = ["T7", "T8", "F7", "F8"];
    const SIGMA: f64 = 0.035;
    let sfreq = inputs.spec.sfreq;
    let duration = inputs.n_samples as f64 / sfreq;
    onsets(rng, inputs.spec.muscle_bursts_per_minute, duration, 2.0)
        .into_iter()
        .filter_map(|onset| {
            let site = SITES[(rng.uniform() * SITES.len() as f64) as usize % SITES.len()];
            let centre = standard_1005_position(site)?;
            let length = rng.range(0.5, 2.0);
            let amp = rng.range(20.0, 60.0);
            let first = (onset * sfreq).round() as usize;
            let len = (length * sfreq).ceil() as usize;
            let mut course = band_noise(rng, len, sfreq, 20.0, 100.0);
            scale_to_rms(&mut course, 1.0);
            let taper = tukey(len, (0.1 * sfreq) as usize);
            course.iter_mut().zip(&taper).for_each(|(c, w)| *c *= w);
            let gains: Vec<f64> = inputs
                .channels
                .iter()
                .map(|c| match c.position {
                    Some(p) if c.kind == ChannelType::Eeg => {
                        let d2: f64 = (0..3).map(|k| (p[k] - centre[k]).powi(2)).sum();
                        amp * (-0.5 * d2 / (SIGMA * SIGMA)).exp()
                    }
                    _ => 0.0,
                })
                .collect();
            Some(rank_one(
                DemoArtifactKind::Muscle,
                inputs,
                first,
                &gains,
                &course,
            ))
        })
        .collect()
}
