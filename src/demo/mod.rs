//! `eegclean demo`: a synthetic EEG dataset with known ground truth, made offline.
//!
//! [`generate`] returns in-memory [`Recording`]s (volts, typed channels with
//! standard_1005 positions, EEGMMIDB-style `T0`/`T1`/`T2` annotations) and, for each, the
//! brain-only signal and every artifact's exact contribution, so
//! `recording.data == truth.clean + Σ artifact contributions` (to float rounding).
//! Writing files is left to the caller ([`write_subjects`] takes the EDF writer as a
//! callback). Everything is a deterministic function of the spec and the seed.
//!
//! Model (see `head_model.rs`, `sources.rs`, `artifacts.rs`): 8 cortical dipoles
//! (posterior alpha, sensorimotor mu/beta with task-related desynchronisation, frontal
//! theta bursts, temporal 1/f) plus 24 weak background dipoles, in an infinite
//! homogeneous medium, linked-mastoid reference; blinks and saccades as ocular dipoles;
//! muscle bursts, ECG with leakage, line noise with harmonics, slow drift, amplifier noise.

mod artifacts;
mod head_model;
mod layout;
mod signals;
mod sources;
mod write;

use std::path::PathBuf;

use ndarray::{Array2, s};
use thiserror::Error;

use crate::data::{Annotation, Channel, Recording, Segment, StartTime, Unit};

pub use layout::{DemoLayout, STANDARD_19, STANDARD_32};
pub use write::write_subjects;

/// What to generate. `Default` is the dataset `eegclean demo` makes.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoSpec {
    pub n_subjects: usize,
    /// Seconds per recording.
    pub duration: f64,
    /// Sample rate in Hz (at least 64, so the 20–100 Hz muscle band fits).
    pub sfreq: f64,
    pub layout: DemoLayout,
    /// Mains frequency (50 or 60 Hz) of the line noise and its harmonics; `None` for none.
    pub line_freq: Option<f64>,
    pub blinks_per_minute: f64,
    pub saccades_per_minute: f64,
    pub muscle_bursts_per_minute: f64,
    /// Add a `BAD_muscle` annotation over each muscle burst.
    pub annotate_muscle: bool,
    /// Seconds between task cues (EEGMMIDB: about 4.1–4.2 s).
    pub cue_interval: f64,
    /// Add slow electrode drift.
    pub drift: bool,
}

impl Default for DemoSpec {
    fn default() -> Self {
        Self {
            n_subjects: 3,
            duration: 60.0,
            sfreq: 256.0,
            layout: DemoLayout::Standard19,
            line_freq: Some(50.0),
            blinks_per_minute: 12.0,
            saccades_per_minute: 6.0,
            muscle_bursts_per_minute: 3.0,
            annotate_muscle: true,
            cue_interval: 4.0,
            drift: true,
        }
    }
}

/// Why a [`DemoSpec`] cannot be generated.
#[derive(Debug, Error, PartialEq)]
pub enum DemoError {
    #[error("demo spec field `{field}` is {value}; it must be {expected}")]
    InvalidSpec {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("electrode `{name}` is not in the standard_1005 montage table")]
    MissingPosition { name: &'static str },
}

/// One generated subject.
#[derive(Debug, Clone)]
pub struct DemoSubject {
    /// Zero-padded subject id, `"001"`, `"002"`, …
    pub id: String,
    pub recording: Recording,
    pub truth: DemoTruth,
}

/// What the recording is made of.
#[derive(Debug, Clone)]
pub struct DemoTruth {
    /// Brain-only signal, channels × samples, volts (zero on ECG: no brain signal).
    pub clean: Array2<f64>,
    /// Every non-brain contribution, in generation order.
    pub artifacts: Vec<DemoArtifact>,
}

/// Kinds of non-brain signal in demo data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DemoArtifactKind {
    Blink,
    Saccade,
    Muscle,
    Heartbeat,
    LineNoise,
    Drift,
    /// White amplifier/electrode noise on every channel (whole recording).
    SensorNoise,
}

impl DemoArtifactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DemoArtifactKind::Blink => "blink",
            DemoArtifactKind::Saccade => "saccade",
            DemoArtifactKind::Muscle => "muscle",
            DemoArtifactKind::Heartbeat => "heartbeat",
            DemoArtifactKind::LineNoise => "line_noise",
            DemoArtifactKind::Drift => "drift",
            DemoArtifactKind::SensorNoise => "sensor_noise",
        }
    }
}

/// One artifact occurrence and its exact contribution to the data.
#[derive(Debug, Clone)]
pub struct DemoArtifact {
    pub kind: DemoArtifactKind,
    /// Seconds from the recording start (`first_sample / sfreq`).
    pub onset: f64,
    /// Seconds (`contribution.ncols() / sfreq`).
    pub duration: f64,
    pub first_sample: usize,
    /// channels × window samples, volts, added to `data[.., first_sample..]`.
    pub contribution: Array2<f64>,
}

/// Task cue, as in EEGMMIDB runs 3–14: `T0` rest, `T1` left hand, `T2` right hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cue {
    Rest,
    LeftHand,
    RightHand,
}

impl Cue {
    pub fn label(self) -> &'static str {
        match self {
            Cue::Rest => "T0",
            Cue::LeftHand => "T1",
            Cue::RightHand => "T2",
        }
    }
}

/// One cued period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaskPeriod {
    pub onset: f64,
    pub duration: f64,
    pub cue: Cue,
}

/// Generate `spec.n_subjects` subjects from `seed`. Subject `k` depends only on `seed`,
/// `k` and the spec, so adding subjects never changes the earlier ones.
pub fn generate(spec: &DemoSpec, seed: u64) -> Result<Vec<DemoSubject>, DemoError> {
    validate(spec)?;
    (0..spec.n_subjects)
        .map(|k| {
            generate_subject(
                spec,
                crate::rng::Rng::derive(seed, 1_000 + k as u64).next_u64(),
                k,
            )
        })
        .collect()
}

fn generate_subject(spec: &DemoSpec, seed: u64, index: usize) -> Result<DemoSubject, DemoError> {
    let channels = layout::channels(spec.layout)?;
    let reference = layout::reference_positions()?;
    let n = (spec.duration * spec.sfreq).round() as usize;
    let tasks = task_periods(spec, &mut crate::rng::Rng::derive(seed, 1));

    let clean = sources::brain_signal(
        &sources::BrainInputs {
            sfreq: spec.sfreq,
            n_samples: n,
            channels: &channels,
            reference: &reference,
            tasks: &tasks,
        },
        seed,
    )?;
    let artifact_list = artifacts::generate(
        &artifacts::ArtifactInputs {
            spec,
            n_samples: n,
            channels: &channels,
            reference: &reference,
        },
        seed,
    );

    let mut data = clean.clone();
    for a in &artifact_list {
        let end = a.first_sample + a.contribution.ncols();
        let mut window = data.slice_mut(s![.., a.first_sample..end]);
        window += &a.contribution;
    }

    let mut annotations: Vec<Annotation> = tasks
        .iter()
        .map(|p| Annotation::new(p.onset, Some(p.duration), p.cue.label()))
        .collect();
    if spec.annotate_muscle {
        annotations.extend(
            artifact_list
                .iter()
                .filter(|a| a.kind == DemoArtifactKind::Muscle)
                .map(|a| Annotation::new(a.onset, Some(a.duration), "BAD_muscle")),
        );
    }
    annotations.sort_by(|a, b| a.onset.total_cmp(&b.onset));

    let id = format!("{:03}", index + 1);
    let recording_channels = channels
        .iter()
        .map(|c| {
            let mut channel = Channel::new(c.name, c.kind, Unit::Volt);
            channel.position = c.position;
            channel.transducer = match c.kind {
                crate::data::ChannelType::Ecg => "ECG electrode".to_string(),
                _ => "AgAgCl electrode".to_string(),
            };
            channel
        })
        .collect();
    let recording = Recording {
        source: PathBuf::from(format!("demo/sub-{id}/sub-{id}_task-motor_run-01_eeg.edf")),
        sfreq: spec.sfreq,
        data,
        channels: recording_channels,
        annotations,
        start: StartTime {
            year: 2020,
            month: 1,
            day: 1,
            hour: 10,
            minute: 0,
            second: 0,
            subsecond: 0.0,
        },
        patient: format!("sub-{id} X X X"),
        recording_id: "Startdate 01-JAN-2020 X eegclean-demo X".to_string(),
        segments: vec![Segment {
            first_sample: 0,
            n_samples: n,
            onset: 0.0,
        }],
    };
    Ok(DemoSubject {
        id,
        recording,
        truth: DemoTruth {
            clean,
            artifacts: artifact_list,
        },
    })
}

/// EEGMMIDB-like cue sequence: rest, then left or right hand, alternating, each period
/// `cue_interval` plus up to 0.2 s, until the end of the recording.
fn task_periods(spec: &DemoSpec, rng: &mut crate::rng::Rng) -> Vec<TaskPeriod> {
    let mut periods = Vec::new();
    let mut t = 0.0;
    let mut rest = true;
    while t + 1.0 < spec.duration {
        let duration = (spec.cue_interval + rng.range(0.0, 0.2)).min(spec.duration - t);
        let cue = if rest {
            Cue::Rest
        } else if rng.uniform() < 0.5 {
            Cue::LeftHand
        } else {
            Cue::RightHand
        };
        periods.push(TaskPeriod {
            onset: t,
            duration,
            cue,
        });
        t += duration;
        rest = !rest;
    }
    periods
}

fn validate(spec: &DemoSpec) -> Result<(), DemoError> {
    fn invalid(
        field: &'static str,
        value: impl std::fmt::Debug,
        expected: &'static str,
    ) -> DemoError {
        DemoError::InvalidSpec {
            field,
            value: format!("{value:?}"),
            expected,
        }
    }
    if spec.n_subjects == 0 || spec.n_subjects > 999 {
        return Err(invalid(
            "n_subjects",
            spec.n_subjects,
            "between 1 and 999 (ids are three digits)",
        ));
    }
    if !(spec.sfreq.is_finite() && spec.sfreq >= 64.0 && spec.sfreq <= 16384.0) {
        return Err(invalid(
            "sfreq",
            spec.sfreq,
            "a sample rate in Hz between 64 and 16384",
        ));
    }
    if !(spec.duration.is_finite() && spec.duration >= 2.0 && spec.duration * spec.sfreq <= 1e8) {
        return Err(invalid(
            "duration",
            spec.duration,
            "at least 2 s and at most 1e8 samples",
        ));
    }
    if let Some(f) = spec.line_freq
        && !(f.is_finite() && f > 0.0 && f < spec.sfreq / 2.0)
    {
        return Err(invalid(
            "line_freq",
            f,
            "a frequency in Hz below Nyquist (sfreq / 2), e.g. 50 or 60",
        ));
    }
    for (field, rate) in [
        ("blinks_per_minute", spec.blinks_per_minute),
        ("saccades_per_minute", spec.saccades_per_minute),
        ("muscle_bursts_per_minute", spec.muscle_bursts_per_minute),
    ] {
        if !(rate.is_finite() && (0.0..=60.0).contains(&rate)) {
            return Err(invalid(field, rate, "a rate between 0 and 60 per minute"));
        }
    }
    if !(spec.cue_interval.is_finite() && spec.cue_interval >= 1.0) {
        return Err(invalid("cue_interval", spec.cue_interval, "at least 1 s"));
    }
    Ok(())
}
