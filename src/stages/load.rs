//! `load`: read one EDF/EDF+/BDF file into a `Recording` — names normalised, types and
//! 10-05 positions assigned, voltages in volts.

use std::collections::HashMap;
use std::sync::Arc;

use ndarray::Array2;
use serde::Serialize;

use super::registry::KindInfo;
use super::{Fingerprint, Inputs, ParamError, RunContext, Stage, StageError, StageParams};
use crate::data::{
    Annotation, Artifact, ArtifactKind, Channel, ChannelType, Recording, Segment, Unit,
};
use crate::data::{standard_1005, standard_1005_position, strip_reference_decorations};
use crate::io::edf::EdfReader;
use crate::spec::{ChannelSpec, LabelNormalisation};
use crate::stage_params;

pub const INFO: KindInfo = KindInfo {
    kind: "load",
    summary: "Read the recording (EDF, EDF+, BDF, BDF+): channel names normalised to 10-05 \
              spelling, types from `channels:` or the label, standard positions, volts. \
              Channels whose sample rate differs from the EEG channels' are left out with a \
              warning. EDF+D files with gaps are refused unless `discontinuous: longest`.",
    inputs: &[],
    output: ArtifactKind::Continuous,
    example: "raw: { kind: load }\nlongest: { kind: load, discontinuous: longest }\n",
};

/// What to do with an EDF+D file whose records are not contiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Discontinuous {
    /// Fail the recording with a message naming the gaps (never pretend it is continuous).
    #[default]
    Refuse,
    /// Keep only the longest contiguous segment (annotations outside it are dropped).
    Longest,
}

stage_params! {
    pub struct LoadParams {
        #[serde(default)]
        pub discontinuous: Discontinuous,
    }
}

impl StageParams for LoadParams {
    fn check(self: Box<Self>) -> Result<Box<dyn Stage>, ParamError> {
        Ok(Box::new(Load { params: *self }))
    }
}

#[derive(Debug)]
pub struct Load {
    params: LoadParams,
}

impl Stage for Load {
    fn kind(&self) -> &'static str {
        INFO.kind
    }

    fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(INFO.kind, &self.params)
    }

    fn run(&self, _inputs: &mut Inputs, ctx: &RunContext<'_>) -> Result<Artifact, StageError> {
        let rec = load_recording(&ctx.job.path, ctx.channels, self.params.discontinuous)?;
        Ok(Artifact::Continuous(Arc::new(rec)))
    }
}

/// The name a raw label gets in the pipeline: an alias if the pipeline gives one; else,
/// with `normalize: standard`, the 10-05 spelling of a standard electrode hidden in the
/// label (`Fc5.` → `FC5`, `EEG Fp1-Ref` → `Fp1`, `FPZ` → `Fpz`); anything else is kept as
/// the file has it (`EOG horizontal` stays as is, so users can name it in `channels:`).
fn channel_name(label: &str, spec: &ChannelSpec) -> String {
    if let Some(a) = spec
        .aliases
        .get(label)
        .or_else(|| spec.aliases.get(label.trim()))
    {
        return a.clone();
    }
    match spec.normalisation() {
        LabelNormalisation::None => label.trim().to_string(),
        LabelNormalisation::Standard => {
            let stripped = strip_reference_decorations(label);
            standard_1005()
                .canonical_name(stripped.trim().trim_matches('.'))
                .map(str::to_string)
                .unwrap_or_else(|| label.trim().to_string())
        }
    }
}

pub fn load_recording(
    path: &std::path::Path,
    spec: &ChannelSpec,
    discontinuous: Discontinuous,
) -> Result<Recording, StageError> {
    let reader = EdfReader::open(path)?;
    let header = reader.header();
    let file = path.display();

    struct Candidate {
        signal: usize,
        channel: Channel,
        rate: f64,
        scale: f64,
    }
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, s) in header.signals.iter().enumerate() {
        if s.is_annotation {
            continue;
        }
        let mut name = channel_name(&s.label, spec);
        if spec.drop.iter().any(|d| d == &name || d == s.label.trim()) {
            continue;
        }
        // Two signals with one label: keep both, as MNE does, as `X-0`, `X-1`.
        let count = seen.entry(name.clone()).or_insert(0);
        *count += 1;
        if *count > 1 {
            name = format!("{name}-{}", *count - 1);
        }
        let kind = spec
            .types
            .get(&name)
            .copied()
            .unwrap_or_else(|| ChannelType::guess_from_label(&s.label));
        let (unit, scale) = Unit::from_edf_dimension(&s.physical_dimension);
        let mut channel = Channel::new(name, kind, unit);
        channel.original_label = s.label.clone();
        channel.transducer = s.transducer.trim().to_string();
        channel.prefilter = s.prefiltering.trim().to_string();
        if matches!(kind, ChannelType::Eeg | ChannelType::Eog) {
            channel.position = standard_1005_position(&channel.name);
        }
        if header.record_duration <= 0.0 {
            return Err(StageError::mismatch(format!(
                "{file}: record duration is {} s, so signals have no sample rate (an annotation-only file?)",
                header.record_duration
            )));
        }
        candidates.push(Candidate {
            signal: i,
            channel,
            rate: s.samples_per_record as f64 / header.record_duration,
            scale,
        });
    }
    if candidates.is_empty() {
        return Err(StageError::mismatch(format!(
            "{file}: no data signals to load (only annotations, or all dropped by `channels.drop`)"
        )));
    }
    // Channels named in `channels:` must exist: a typo there would otherwise go unnoticed.
    for name in spec.types.keys().chain(&spec.bads) {
        if !candidates.iter().any(|c| &c.channel.name == name) {
            let names: Vec<&str> = candidates.iter().map(|c| c.channel.name.as_str()).collect();
            let hint = crate::spec::nearest(name, names.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(StageError::mismatch(format!(
                "{file}: the pipeline's `channels:` section names `{name}`, which this recording lacks{hint}; \
                 channels here: {}",
                names.join(", ")
            )));
        }
    }

    // One sample rate per recording: that of the EEG channels (or of all data channels).
    let reference_type = if candidates
        .iter()
        .any(|c| c.channel.kind == ChannelType::Eeg)
    {
        Some(ChannelType::Eeg)
    } else {
        None
    };
    let mut eeg_rates: Vec<f64> = candidates
        .iter()
        .filter(|c| reference_type.is_none_or(|t| c.channel.kind == t))
        .map(|c| c.rate)
        .collect();
    eeg_rates.sort_by(f64::total_cmp);
    eeg_rates.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
    if eeg_rates.len() > 1 && reference_type.is_some() {
        let detail: Vec<String> = candidates
            .iter()
            .filter(|c| c.channel.kind == ChannelType::Eeg)
            .map(|c| format!("{} {} Hz", c.channel.name, c.rate))
            .collect();
        return Err(StageError::mismatch(format!(
            "{file}: EEG channels have different sample rates ({}); set the odd ones to another type \
             in `channels:` (e.g. `misc: [name]`) or drop them with `channels.drop`",
            detail.join(", ")
        )));
    }
    let sfreq = *eeg_rates
        .iter()
        .max_by(|a, b| a.total_cmp(b))
        .expect("at least one candidate");
    let (kept, skipped): (Vec<Candidate>, Vec<Candidate>) = candidates
        .into_iter()
        .partition(|c| (c.rate - sfreq).abs() < 1e-9);
    for c in &skipped {
        tracing::warn!(
            "{file}: channel `{}` ({} Hz) left out: the recording is loaded at {} Hz",
            c.channel.name,
            c.rate,
            sfreq
        );
    }

    let signals: Vec<usize> = kept.iter().map(|c| c.signal).collect();
    let n_samples = header.n_records * header.signals[signals[0]].samples_per_record;
    let mut data = Array2::<f64>::zeros((kept.len(), n_samples));
    reader.read_physical_into(&signals, data.view_mut())?;
    let mut channels = Vec::with_capacity(kept.len());
    for (row, c) in kept.into_iter().enumerate() {
        if c.scale != 1.0 {
            data.row_mut(row).mapv_inplace(|v| v * c.scale);
        }
        let mut ch = c.channel;
        if spec.bads.iter().any(|b| b == &ch.name) {
            ch.bad = Some("listed in channels.bads".to_string());
        }
        channels.push(ch);
    }

    let annotations: Vec<Annotation> = reader.annotations()?;
    let segments: Vec<Segment> = reader
        .segments()
        .iter()
        .map(|s| Segment {
            first_sample: (s.first_record as f64 * header.record_duration * sfreq).round() as usize,
            n_samples: (s.n_records as f64 * header.record_duration * sfreq).round() as usize,
            onset: s.onset,
        })
        .collect();

    let mut rec = Recording {
        source: path.to_path_buf(),
        sfreq,
        data,
        channels,
        annotations,
        start: header.start,
        patient: header.patient.clone(),
        recording_id: header.recording.clone(),
        segments,
    };
    if !rec.is_contiguous() {
        rec = match discontinuous {
            Discontinuous::Refuse => {
                let gaps: Vec<String> = rec
                    .segments
                    .windows(2)
                    .map(|w| {
                        let end = w[0].onset + w[0].n_samples as f64 / sfreq;
                        format!("{:.3} s gap at {:.3} s", w[1].onset - end, end)
                    })
                    .collect();
                return Err(StageError::mismatch(format!(
                    "{file}: EDF+D recording with {} discontinuous segments ({}); add \
                     `discontinuous: longest` to the load stage to keep the longest segment",
                    rec.segments.len(),
                    gaps.join(", ")
                )));
            }
            Discontinuous::Longest => keep_longest_segment(rec),
        };
    }
    Ok(rec)
}

fn keep_longest_segment(mut rec: Recording) -> Recording {
    let seg = *rec
        .segments
        .iter()
        .max_by_key(|s| s.n_samples)
        .expect("several segments");
    let cols = seg.first_sample..seg.first_sample + seg.n_samples;
    rec.data = rec.data.slice(ndarray::s![.., cols]).to_owned();
    let (t0, t1) = (seg.onset, seg.onset + seg.n_samples as f64 / rec.sfreq);
    rec.annotations = rec
        .annotations
        .into_iter()
        .filter(|a| a.onset >= t0 && a.onset < t1)
        .map(|mut a| {
            a.onset -= t0;
            a
        })
        .collect();
    rec.start = rec.start.plus_seconds(t0);
    rec.segments = vec![Segment {
        first_sample: 0,
        n_samples: seg.n_samples,
        onset: 0.0,
    }];
    rec
}
