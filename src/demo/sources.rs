//! Brain activity: a few named cortical sources with the rhythms EEG users recognise,
//! plus weak distributed background dipoles so the clean signal has full rank (as real
//! EEG does; ICA on rank-deficient data would behave unlike it does on recordings).

use ndarray::Array2;

use super::head_model::{
    Dipole, HEAD_CENTRE, add, normalise_peak, radial_dipole_under, scale, topography, unit,
};
use super::layout::DemoChannel;
use super::signals::{blink_shape, pink_noise, resonator_noise, scale_to_rms, smooth_step};
use super::{Cue, DemoError, TaskPeriod};
use crate::data::standard_1005_position;
use crate::rng::Rng;

/// How an oscillation's amplitude varies over time.
#[derive(Debug, Clone, Copy)]
enum Envelope {
    /// Always on (waxing and waning by itself).
    Steady,
    /// Short bursts (0.2–0.6 s) at about this many per minute (beta, frontal theta).
    Bursts(f64),
    /// Suppressed by 60 % while the contralateral hand moves (mu/beta desynchronisation).
    DesynchronisedBy(Cue),
}

#[derive(Debug, Clone, Copy)]
struct Rhythm {
    freq: f64,
    bandwidth: f64,
    /// RMS in µV at the source's largest EEG channel (before any envelope).
    rms_uv: f64,
    envelope: Envelope,
}

/// A cortical source under a standard_1005 electrode.
struct NamedSource {
    landmark: &'static str,
    /// Fraction of the way from the head centre to the electrode (depth).
    depth_fraction: f64,
    /// 1/f background RMS in µV at the largest EEG channel.
    background_uv: f64,
    rhythms: &'static [Rhythm],
}

const fn rhythm(freq: f64, bandwidth: f64, rms_uv: f64, envelope: Envelope) -> Rhythm {
    Rhythm {
        freq,
        bandwidth,
        rms_uv,
        envelope,
    }
}

/// Ten sources: posterior alpha (strongest at O1/O2/Pz), sensorimotor mu + beta that
/// desynchronise during the contralateral motor task, frontal-midline theta bursts, and
/// frontal and temporal 1/f activity.
const NAMED_SOURCES: [NamedSource; 10] = [
    NamedSource {
        landmark: "O1",
        depth_fraction: 0.4,
        background_uv: 5.0,
        rhythms: &[rhythm(10.0, 1.5, 14.0, Envelope::Steady)],
    },
    NamedSource {
        landmark: "O2",
        depth_fraction: 0.4,
        background_uv: 5.0,
        rhythms: &[rhythm(10.3, 1.5, 14.0, Envelope::Steady)],
    },
    NamedSource {
        landmark: "Pz",
        depth_fraction: 0.4,
        background_uv: 5.0,
        rhythms: &[rhythm(9.6, 1.5, 9.0, Envelope::Steady)],
    },
    NamedSource {
        landmark: "C3",
        depth_fraction: 0.4,
        background_uv: 4.0,
        rhythms: &[
            rhythm(11.0, 1.5, 7.0, Envelope::DesynchronisedBy(Cue::RightHand)),
            rhythm(21.0, 3.0, 4.0, Envelope::Bursts(20.0)),
        ],
    },
    NamedSource {
        landmark: "C4",
        depth_fraction: 0.4,
        background_uv: 4.0,
        rhythms: &[
            rhythm(11.5, 1.5, 7.0, Envelope::DesynchronisedBy(Cue::LeftHand)),
            rhythm(20.0, 3.0, 4.0, Envelope::Bursts(20.0)),
        ],
    },
    NamedSource {
        landmark: "Fz",
        depth_fraction: 0.4,
        background_uv: 4.0,
        rhythms: &[rhythm(6.0, 1.5, 6.0, Envelope::Bursts(10.0))],
    },
    NamedSource {
        landmark: "F3",
        depth_fraction: 0.4,
        background_uv: 8.0,
        rhythms: &[],
    },
    NamedSource {
        landmark: "F4",
        depth_fraction: 0.4,
        background_uv: 8.0,
        rhythms: &[],
    },
    NamedSource {
        landmark: "T7",
        depth_fraction: 0.4,
        background_uv: 6.0,
        rhythms: &[],
    },
    NamedSource {
        landmark: "T8",
        depth_fraction: 0.4,
        background_uv: 6.0,
        rhythms: &[],
    },
];

/// Number of weak random background dipoles and their 1/f RMS (µV at peak channel).
const BACKGROUND_DIPOLES: usize = 24;
const BACKGROUND_UV: f64 = 1.5;

pub struct BrainInputs<'a> {
    pub sfreq: f64,
    pub n_samples: usize,
    pub channels: &'a [DemoChannel],
    pub reference: &'a [[f64; 3]],
    pub tasks: &'a [TaskPeriod],
}

/// Brain-only signal, channels × samples, in volts.
pub fn brain_signal(inputs: &BrainInputs<'_>, seed: u64) -> Result<Array2<f64>, DemoError> {
    let sensors: Vec<_> = inputs.channels.iter().map(|c| c.sensor).collect();
    let eeg: Vec<usize> = inputs
        .channels
        .iter()
        .enumerate()
        .filter(|(_, c)| c.kind == crate::data::ChannelType::Eeg)
        .map(|(i, _)| i)
        .collect();
    let n = inputs.n_samples;
    let mut out = Array2::<f64>::zeros((inputs.channels.len(), n));

    for (k, source) in NAMED_SOURCES.iter().enumerate() {
        let landmark =
            standard_1005_position(source.landmark).ok_or(DemoError::MissingPosition {
                name: source.landmark,
            })?;
        let dipole = radial_dipole_under(landmark, source.depth_fraction);
        let mut rng = Rng::derive(seed, 100 + k as u64);
        let mut course = pink_noise(&mut rng, n, inputs.sfreq);
        scale_to_rms(&mut course, source.background_uv);
        for rhythm in source.rhythms {
            let oscillation = rhythm_course(&mut rng, rhythm, inputs);
            course
                .iter_mut()
                .zip(&oscillation)
                .for_each(|(c, o)| *c += o);
        }
        add_projection(
            &mut out,
            &[dipole],
            &sensors,
            inputs.reference,
            &eeg,
            &course,
        );
    }

    let mut rng = Rng::derive(seed, 200);
    for _ in 0..BACKGROUND_DIPOLES {
        // A random direction in the upper part of the head, 30–60 % of the way out.
        let direction = unit([rng.normal(), rng.normal(), rng.normal().abs() * 0.8 + 0.2]);
        let position = add(HEAD_CENTRE, scale(direction, 0.085 * rng.range(0.3, 0.6)));
        let moment = unit([rng.normal(), rng.normal(), rng.normal()]);
        let mut course = pink_noise(&mut rng, n, inputs.sfreq);
        scale_to_rms(&mut course, BACKGROUND_UV);
        add_projection(
            &mut out,
            &[Dipole { position, moment }],
            &sensors,
            inputs.reference,
            &eeg,
            &course,
        );
    }
    Ok(out)
}

/// Add `topography(dipoles) ⊗ course_uv` (µV → V) to `out`, the topography scaled to
/// peak 1 over the EEG channels.
fn add_projection(
    out: &mut Array2<f64>,
    dipoles: &[Dipole],
    sensors: &[super::layout::Sensor],
    reference: &[[f64; 3]],
    eeg: &[usize],
    course_uv: &[f64],
) {
    let mut topo = topography(dipoles, sensors, reference);
    normalise_peak(&mut topo, eeg);
    for (mut row, &gain) in out.rows_mut().into_iter().zip(&topo) {
        if gain == 0.0 {
            continue;
        }
        let g = gain * 1e-6;
        row.iter_mut().zip(course_uv).for_each(|(v, c)| *v += g * c);
    }
}

fn rhythm_course(rng: &mut Rng, rhythm: &Rhythm, inputs: &BrainInputs<'_>) -> Vec<f64> {
    let n = inputs.n_samples;
    let sfreq = inputs.sfreq;
    let mut x = resonator_noise(rng, n, sfreq, rhythm.freq, rhythm.bandwidth);
    scale_to_rms(&mut x, rhythm.rms_uv);
    match rhythm.envelope {
        Envelope::Steady => {}
        Envelope::Bursts(per_minute) => {
            let duration = n as f64 / sfreq;
            let count = (per_minute * duration / 60.0).round() as usize;
            let mut envelope = vec![0.0; n];
            for _ in 0..count {
                let onset = rng.range(0.0, duration);
                let length = rng.range(0.2, 0.6);
                let first = (onset * sfreq) as usize;
                let last = (((onset + length) * sfreq).ceil() as usize).min(n);
                for (i, e) in envelope.iter_mut().enumerate().take(last).skip(first) {
                    // Bursts may overlap: keep the larger envelope.
                    *e = f64::max(*e, blink_shape(i as f64 / sfreq - onset, length));
                }
            }
            // Bursts carry the rhythm's amplitude while on (RMS of the steady rhythm × 2).
            x.iter_mut().zip(&envelope).for_each(|(v, e)| *v *= 2.0 * e);
        }
        Envelope::DesynchronisedBy(cue) => {
            for (i, v) in x.iter_mut().enumerate() {
                let t = i as f64 / sfreq;
                let active = inputs
                    .tasks
                    .iter()
                    .filter(|p| p.cue == cue)
                    .map(|p| {
                        smooth_step(t - p.onset - 0.3, 0.5)
                            * (1.0 - smooth_step(t - p.onset - p.duration, 0.5))
                    })
                    .fold(0.0, f64::max);
                *v *= 1.0 - 0.6 * active;
            }
        }
    }
    x
}
