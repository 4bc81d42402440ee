//! `epoch`: cut a continuous recording into epochs around annotation events (or fixed-length
//! windows), as `mne.Epochs` does, and write the epochs table (one row per candidate epoch,
//! kept or dropped, with why).

use std::collections::BTreeMap;
use std::sync::Arc;

use polars::prelude::*;

use super::registry::KindInfo;
use super::{
    Fingerprint, Inputs, ParamError, RunContext, Stage, StageError, StageParams, channel_types,
};
use crate::data::{Artifact, ArtifactKind, ChannelType, EpochsArtifact, Recording};
use crate::features::epochs::{
    Baseline, Decimation, DropReason, EpochParams, EpochRecord, cut_epochs,
};
use crate::features::events::{
    DescriptionPattern, Event, events_from_annotations, fixed_length_events, fixed_length_tmax,
    regex_event_mapping,
};
use crate::io::tables;
use crate::stage_params;

pub const INFO: KindInfo = KindInfo {
    kind: "epoch",
    summary: "Epochs as mne.Epochs cuts them: around annotations (`events: [T1, T2]`, ids \
              1, 2, … or `event_id: {T1: 2, T2: 3}`; or `events_regex: \"^T[12]$\"`, the \
              descriptions matching from their start as MNE's `regexp=`, numbered 1, 2, … in \
              sorted order, or only those in `event_id`) or fixed-length windows \
              (`fixed_length: {duration, overlap}`). `tmin`/`tmax` in seconds, both ends \
              inclusive (`tmax: 3.99375` = 4 s at 160 Hz); optional `baseline: [a, b]` (null = \
              epoch edge), `decim` (refused below 3× the low-pass edge unless \
              `allow_aliasing`). Drops epochs past the recording, overlapping BAD* \
              annotations (`reject_by_annotation`), or whose peak-to-peak is above `reject` / \
              below `flat` (per channel type, in volts; bad channels not checked). Keeps \
              channels of `types` (default eeg), data in volts. Writes \
              `<base>_desc-<stage id>_epochs.parquet`: one row per candidate epoch (index, \
              event, event_id, onset_s, first_sample, last_sample inclusive, kept, reason).",
    inputs: &[ArtifactKind::Continuous],
    output: ArtifactKind::Epochs,
    example: "raw: { kind: load }\n\
              filtered: { kind: filter, after: [raw], l_freq: 1.0, h_freq: 40.0 }\n\
              imagery: { kind: epoch, after: [filtered], events: [T1, T2], event_id: { T1: 2, T2: 3 }, tmin: 0.0, tmax: 3.99375 }\n\
              lowpassed: { kind: filter, after: [raw], l_freq: 1.0, h_freq: 25.0 }\n\
              checked: { kind: epoch, after: [lowpassed], events: [T1, T2], tmin: -0.5, tmax: 2.0, baseline: [null, 0], decim: 2, reject: { eeg: 500e-6 }, flat: { eeg: 1e-7 } }\n\
              windows: { kind: epoch, after: [filtered], fixed_length: { duration: 2.0, overlap: 0.5 } }\n\
              by_pattern: { kind: epoch, after: [filtered], events_regex: \"^T[12]$\", tmin: -0.5, tmax: 3.99375 }\n",
};

#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct FixedLength {
    pub duration: f64,
    #[serde(default)]
    pub overlap: f64,
}

fn default_decim() -> usize {
    1
}

fn default_true() -> bool {
    true
}

fn default_types() -> Vec<String> {
    vec!["eeg".into()]
}

stage_params! {
    pub struct EpochStageParams {
        #[serde(default)]
        pub events: Vec<String>,
        #[serde(default)]
        pub events_regex: Option<String>,
        #[serde(default)]
        pub event_id: BTreeMap<String, i64>,
        #[serde(default)]
        pub fixed_length: Option<FixedLength>,
        #[serde(default)]
        pub tmin: Option<f64>,
        #[serde(default)]
        pub tmax: Option<f64>,
        #[serde(default)]
        pub baseline: Option<Vec<Option<f64>>>,
        #[serde(default = "default_decim")]
        pub decim: usize,
        #[serde(default)]
        pub allow_aliasing: bool,
        #[serde(default)]
        pub reject: BTreeMap<String, f64>,
        #[serde(default)]
        pub flat: BTreeMap<String, f64>,
        #[serde(default = "default_true")]
        pub reject_by_annotation: bool,
        #[serde(default = "default_types")]
        pub types: Vec<String>,
    }
}

/// Where the events come from, after checking.
#[derive(Debug, Clone)]
enum EventSource {
    /// (description, id) in the order given.
    Annotations(Vec<(String, i64)>),
    /// Descriptions matching a pattern, resolved per recording (MNE `regexp=`).
    Regex {
        pattern: DescriptionPattern,
        event_id: Option<BTreeMap<String, i64>>,
    },
    Fixed(FixedLength),
}

/// Per-type thresholds: positive finite volts, for types that are kept.
fn check_thresholds(
    field: &'static str,
    map: &BTreeMap<String, f64>,
    types: &[ChannelType],
) -> Result<Vec<(ChannelType, f64)>, ParamError> {
    map.iter()
        .map(|(name, &v)| {
            let t = name
                .parse::<ChannelType>()
                .map_err(|e| ParamError::new(field, e))?;
            if !types.contains(&t) {
                return Err(ParamError::new(
                    field,
                    format!("channel type `{name}` is not among the epoched `types`"),
                ));
            }
            if !(v.is_finite() && v > 0.0) {
                return Err(ParamError::new(
                    field,
                    format!("`{name}` must be a positive peak-to-peak in volts, got {v}"),
                ));
            }
            Ok((t, v))
        })
        .collect()
}

impl StageParams for EpochStageParams {
    fn check(self: Box<Self>) -> Result<Box<dyn Stage>, ParamError> {
        let p = &*self;
        let source = if let Some(pattern) = &p.events_regex {
            if !p.events.is_empty() {
                return Err(ParamError::new(
                    "events_regex",
                    "give either `events` (a list of descriptions) or `events_regex`, not both",
                ));
            }
            if p.fixed_length.is_some() {
                return Err(ParamError::new(
                    "events_regex",
                    "give either `events_regex` or `fixed_length`, not both",
                ));
            }
            let pattern = DescriptionPattern::new(pattern).map_err(|e| {
                ParamError::new(
                    "events_regex",
                    format!("not a valid regular expression (Rust `regex` syntax): {e}"),
                )
            })?;
            if p.tmax.is_none() {
                return Err(ParamError::new(
                    "tmax",
                    "required with `events_regex`: the end of each epoch in seconds after the event",
                ));
            }
            EventSource::Regex {
                pattern,
                event_id: (!p.event_id.is_empty()).then(|| p.event_id.clone()),
            }
        } else {
            match (p.events.is_empty(), p.fixed_length) {
                (false, Some(_)) => {
                    return Err(ParamError::new(
                        "fixed_length",
                        "give either `events` (annotation descriptions) or `fixed_length`, not both",
                    ));
                }
                (true, None) => {
                    return Err(ParamError::new(
                        "events",
                        "nothing to epoch around: give `events: [T1, T2]`, `events_regex: \"^T[12]$\"` or `fixed_length: { duration: 2.0 }`",
                    ));
                }
                (true, Some(f)) => {
                    if !(f.duration.is_finite()
                        && f.duration > 0.0
                        && f.overlap >= 0.0
                        && f.overlap < f.duration)
                    {
                        return Err(ParamError::new(
                            "fixed_length",
                            format!(
                                "need duration > 0 and 0 ≤ overlap < duration (got duration {}, overlap {})",
                                f.duration, f.overlap
                            ),
                        ));
                    }
                    if !p.event_id.is_empty() {
                        return Err(ParamError::new(
                            "event_id",
                            "only meaningful with `events`, not with `fixed_length`",
                        ));
                    }
                    if p.tmin.is_some() || p.tmax.is_some() {
                        return Err(ParamError::new(
                            "tmax",
                            "fixed-length epochs span [0, duration − 1/sfreq]; drop `tmin`/`tmax`",
                        ));
                    }
                    EventSource::Fixed(f)
                }
                (false, None) => {
                    let mut mapping = Vec::with_capacity(p.events.len());
                    for (i, name) in p.events.iter().enumerate() {
                        if p.events[..i].contains(name) {
                            return Err(ParamError::new(
                                "events",
                                format!("`{name}` is listed twice"),
                            ));
                        }
                        let id = if p.event_id.is_empty() {
                            i as i64 + 1
                        } else {
                            *p.event_id.get(name).ok_or_else(|| {
                            ParamError::new(
                                "event_id",
                                format!("has no id for event `{name}`; give one for every entry of `events`"),
                            )
                        })?
                        };
                        mapping.push((name.clone(), id));
                    }
                    if let Some(extra) = p.event_id.keys().find(|k| !p.events.contains(k)) {
                        return Err(ParamError::new(
                            "event_id",
                            format!("`{extra}` is not in `events`"),
                        ));
                    }
                    if p.tmax.is_none() {
                        return Err(ParamError::new(
                            "tmax",
                            "required with `events`: the end of each epoch in seconds after the event",
                        ));
                    }
                    EventSource::Annotations(mapping)
                }
            }
        };
        for (name, v) in [("tmin", p.tmin), ("tmax", p.tmax)] {
            if let Some(t) = v
                && !t.is_finite()
            {
                return Err(ParamError::new(name, format!("must be finite, got {t}")));
            }
        }
        if let (Some(tmax), tmin) = (p.tmax, p.tmin.unwrap_or(0.0))
            && tmin >= tmax
        {
            return Err(ParamError::new(
                "tmin",
                format!("must be below tmax (got tmin {tmin} s, tmax {tmax} s)"),
            ));
        }
        let baseline = match &p.baseline {
            None => None,
            Some(b) if b.len() == 2 => {
                if let (Some(a), Some(z)) = (b[0], b[1])
                    && a > z
                {
                    return Err(ParamError::new(
                        "baseline",
                        format!("start {a} s is after end {z} s"),
                    ));
                }
                Some(Baseline {
                    start: b[0],
                    end: b[1],
                })
            }
            Some(b) => {
                return Err(ParamError::new(
                    "baseline",
                    format!(
                        "must be [start, end] in seconds (null = epoch edge), got {} values",
                        b.len()
                    ),
                ));
            }
        };
        if p.decim == 0 {
            return Err(ParamError::new("decim", "must be at least 1"));
        }
        let types = channel_types(&p.types)?;
        let reject = check_thresholds("reject", &p.reject, &types)?;
        let flat = check_thresholds("flat", &p.flat, &types)?;
        Ok(Box::new(Epoch {
            source,
            types,
            baseline,
            reject,
            flat,
            params: *self,
        }))
    }
}

#[derive(Debug)]
pub struct Epoch {
    source: EventSource,
    types: Vec<ChannelType>,
    baseline: Option<Baseline>,
    reject: Vec<(ChannelType, f64)>,
    flat: Vec<(ChannelType, f64)>,
    params: EpochStageParams,
}

/// The highest low-pass edge among `rows` (from the `LP:<f>Hz` prefilter notes), or `None`
/// when any of them was never low-pass filtered.
fn lowpass_edge(rec: &Recording, rows: &[usize]) -> Option<f64> {
    let mut edge: f64 = 0.0;
    for &r in rows {
        let note = &rec.channels[r].prefilter;
        let lp = note
            .split_whitespace()
            .filter_map(|w| w.strip_prefix("LP:"))
            .filter_map(|w| w.trim_end_matches("Hz").parse::<f64>().ok())
            .reduce(f64::min)?;
        edge = edge.max(lp);
    }
    (!rows.is_empty()).then_some(edge)
}

impl Epoch {
    fn thresholds(
        rec: &Recording,
        rows: &[usize],
        per_type: &[(ChannelType, f64)],
    ) -> Vec<Option<f64>> {
        if per_type.is_empty() {
            return Vec::new();
        }
        rows.iter()
            .map(|&r| {
                let ch = &rec.channels[r];
                if ch.is_bad() {
                    return None;
                }
                per_type
                    .iter()
                    .find(|(t, _)| *t == ch.kind)
                    .map(|(_, v)| *v)
            })
            .collect()
    }
}

fn reason_text(reasons: &[DropReason], names: &[String]) -> Option<String> {
    if reasons.is_empty() {
        return None;
    }
    let list = |v: &[usize]| {
        v.iter()
            .map(|&c| names.get(c).map_or_else(|| c.to_string(), |n| n.clone()))
            .collect::<Vec<_>>()
            .join(",")
    };
    Some(
        reasons
            .iter()
            .map(|r| match r {
                DropReason::PeakToPeak(c) => format!("peak-to-peak above reject on {}", list(c)),
                DropReason::Flat(c) => format!("flat (peak-to-peak below flat) on {}", list(c)),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join("; "),
    )
}

/// One row per candidate epoch, in event order.
pub fn epochs_table(log: &[EpochRecord], sfreq: f64, names: &[String]) -> DataFrame {
    let n = log.len();
    DataFrame::new(
        n,
        vec![
            Column::new("index".into(), (0..n as u32).collect::<Vec<_>>()),
            Column::new(
                "event".into(),
                log.iter()
                    .map(|r| r.event.label.as_str())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "event_id".into(),
                log.iter().map(|r| r.event.id).collect::<Vec<_>>(),
            ),
            Column::new(
                "onset_s".into(),
                log.iter()
                    .map(|r| r.event.sample as f64 / sfreq)
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "first_sample".into(),
                log.iter().map(|r| r.start).collect::<Vec<_>>(),
            ),
            Column::new(
                "last_sample".into(),
                log.iter().map(|r| r.stop - 1).collect::<Vec<_>>(),
            ),
            Column::new(
                "kept".into(),
                log.iter().map(|r| !r.is_rejected()).collect::<Vec<_>>(),
            ),
            Column::new(
                "reason".into(),
                log.iter()
                    .map(|r| reason_text(&r.reasons, names))
                    .collect::<Vec<_>>(),
            ),
        ],
    )
    .expect("columns have equal lengths")
}

impl Stage for Epoch {
    fn kind(&self) -> &'static str {
        INFO.kind
    }

    fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(INFO.kind, &self.params)
    }

    fn run(&self, inputs: &mut Inputs, ctx: &RunContext<'_>) -> Result<Artifact, StageError> {
        let rec = inputs.recording(0)?;
        if !rec.is_contiguous() {
            return Err(StageError::mismatch(
                "epochs across gaps are undefined; use `discontinuous: longest` in the load stage",
            ));
        }
        let rows: Vec<usize> = rec
            .channels
            .iter()
            .enumerate()
            .filter(|(_, c)| self.types.contains(&c.kind))
            .map(|(i, _)| i)
            .collect();
        if rows.is_empty() {
            return Err(StageError::mismatch(format!(
                "no channels of type {} to epoch; set `types:` to the types this recording has",
                self.params.types.join("/")
            )));
        }
        let names: Vec<String> = rows.iter().map(|&r| rec.channels[r].name.clone()).collect();
        let sfreq = rec.sfreq;
        let (events, tmin, tmax): (Vec<Event>, f64, f64) = match &self.source {
            EventSource::Annotations(mapping) => {
                let events = events_from_annotations(&rec.annotations, sfreq, mapping)
                    .map_err(|e| StageError::mismatch(format!("events: {e}")))?;
                let tmax = self.params.tmax.unwrap_or(0.0);
                (events, self.params.tmin.unwrap_or(0.0), tmax)
            }
            EventSource::Regex { pattern, event_id } => {
                let mapping = regex_event_mapping(&rec.annotations, pattern, event_id.as_ref())
                    .map_err(|e| StageError::mismatch(format!("events_regex: {e}")))?;
                let events = events_from_annotations(&rec.annotations, sfreq, &mapping)
                    .map_err(|e| StageError::mismatch(format!("events_regex: {e}")))?;
                let tmax = self.params.tmax.unwrap_or(0.0);
                (events, self.params.tmin.unwrap_or(0.0), tmax)
            }
            EventSource::Fixed(f) => {
                let events =
                    fixed_length_events(rec.n_samples(), sfreq, f.duration, f.overlap, 1, "fixed")
                        .map_err(|e| StageError::mismatch(format!("fixed_length: {e}")))?;
                (events, 0.0, fixed_length_tmax(f.duration, sfreq))
            }
        };
        let data = rec.data.select(ndarray::Axis(0), &rows);
        let params = EpochParams {
            tmin,
            tmax,
            baseline: self.baseline,
            decimation: (self.params.decim > 1).then_some(Decimation {
                factor: self.params.decim,
                offset: 0,
            }),
            lowpass_hz: lowpass_edge(rec, &rows),
            allow_aliasing: self.params.allow_aliasing,
            reject: Self::thresholds(rec, &rows, &self.reject),
            flat: Self::thresholds(rec, &rows, &self.flat),
            reject_by_annotation: self.params.reject_by_annotation,
        };
        let epochs = cut_epochs(data.view(), sfreq, &events, &rec.annotations, &params)
            .map_err(|e| StageError::mismatch(format!("epoch: {e}")))?;

        let path = ctx.output_path(&format!("desc-{}_epochs.parquet", ctx.stage_id));
        let mut table = epochs_table(&epochs.log, sfreq, &names);
        tables::write_parquet(&path, &mut table).map_err(|e| StageError::Output {
            path: path.clone(),
            message: e.to_string(),
        })?;
        ctx.record_written(path);
        Ok(Artifact::Epochs(Arc::new(EpochsArtifact {
            epochs,
            channel_names: names,
        })))
    }
}
