//! `rereference`: average reference, reference to named channels, or bipolar pairs (iEEG).
//! Semantics follow MNE's `set_eeg_reference` / `set_bipolar_reference`.

use std::sync::Arc;

use ndarray::{Array1, Array2};

use super::registry::KindInfo;
use super::{
    Fingerprint, Inputs, ParamError, RunContext, Stage, StageError, StageParams, channel_types,
};
use crate::data::{Artifact, ArtifactKind, Channel, ChannelType, Recording};
use crate::stage_params;

pub const INFO: KindInfo = KindInfo {
    kind: "rereference",
    summary: "Re-reference channels of the given `types` (default [eeg]). `ref: average` \
              subtracts the mean of the good channels (bad ones are neither used nor \
              changed, as in MNE); `ref: [Cz]` or `ref: [M1, M2]` subtracts the mean of \
              those channels; `ref: bipolar` with `pairs: [[A, B], …]` replaces each pair \
              by the new channel `A-B` (anode minus cathode) and drops the originals, as \
              MNE's set_bipolar_reference does.",
    inputs: &[ArtifactKind::Continuous],
    output: ArtifactKind::Continuous,
    example: "raw: { kind: load }\n\
              avg: { kind: rereference, after: [raw] }\n\
              cz: { kind: rereference, after: [raw], ref: [Cz] }\n\
              bipolar: { kind: rereference, after: [raw], ref: bipolar, pairs: [[Fp1, F3], [F3, C3]] }\n",
};

/// `ref:` is either a word (`average`, `bipolar`) or a list of channel names.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(untagged)]
pub enum RefSpec {
    Word(String),
    Channels(Vec<String>),
}

impl Default for RefSpec {
    fn default() -> Self {
        RefSpec::Word("average".into())
    }
}

fn default_types() -> Vec<String> {
    vec!["eeg".into()]
}

stage_params! {
    pub struct RereferenceParams {
        #[serde(default, rename = "ref")]
        pub reference: RefSpec,
        #[serde(default)]
        pub pairs: Vec<[String; 2]>,
        #[serde(default = "default_types")]
        pub types: Vec<String>,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Method {
    Average,
    Channels(Vec<String>),
    Bipolar(Vec<[String; 2]>),
}

impl StageParams for RereferenceParams {
    fn check(self: Box<Self>) -> Result<Box<dyn Stage>, ParamError> {
        let types = channel_types(&self.types)?;
        let method = match &self.reference {
            RefSpec::Word(w) if w == "average" => Method::Average,
            RefSpec::Word(w) if w == "bipolar" => {
                if self.pairs.is_empty() {
                    return Err(ParamError::new(
                        "pairs",
                        "`ref: bipolar` needs `pairs: [[anode, cathode], …]`",
                    ));
                }
                Method::Bipolar(self.pairs.clone())
            }
            RefSpec::Word(w) => {
                return Err(ParamError::new(
                    "ref",
                    format!(
                        "`{w}` is not a reference; use `average`, `bipolar`, or a list of channels like [Cz]"
                    ),
                ));
            }
            RefSpec::Channels(c) if c.is_empty() => {
                return Err(ParamError::new(
                    "ref",
                    "the list of reference channels is empty",
                ));
            }
            RefSpec::Channels(c) => Method::Channels(c.clone()),
        };
        if !matches!(method, Method::Bipolar(_)) && !self.pairs.is_empty() {
            return Err(ParamError::new(
                "pairs",
                "`pairs` is only used with `ref: bipolar`",
            ));
        }
        Ok(Box::new(Rereference {
            method,
            types,
            params: *self,
        }))
    }
}

#[derive(Debug)]
pub struct Rereference {
    method: Method,
    types: Vec<ChannelType>,
    params: RereferenceParams,
}

impl Stage for Rereference {
    fn kind(&self) -> &'static str {
        INFO.kind
    }

    fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(INFO.kind, &self.params)
    }

    fn run(&self, inputs: &mut Inputs, _ctx: &RunContext<'_>) -> Result<Artifact, StageError> {
        let out = match &self.method {
            Method::Average => average(inputs.take_recording(0)?, &self.types)?,
            Method::Channels(names) => to_channels(inputs.take_recording(0)?, &self.types, names)?,
            Method::Bipolar(pairs) => bipolar(inputs.recording(0)?, pairs)?,
        };
        Ok(Artifact::Continuous(Arc::new(out)))
    }
}

/// Good channels of the referenced types.
fn targets(rec: &Recording, types: &[ChannelType]) -> Vec<usize> {
    rec.channels
        .iter()
        .enumerate()
        .filter(|(_, c)| types.contains(&c.kind) && !c.is_bad())
        .map(|(i, _)| i)
        .collect()
}

/// Subtract the mean of rows `from` from rows `to`, in place (the recording is the
/// scheduler's own copy when this stage is its last consumer, so no signal is copied).
fn subtract_mean_of(mut rec: Recording, from: &[usize], to: &[usize]) -> Recording {
    let mut reference = Array1::<f64>::zeros(rec.n_samples());
    for &i in from {
        reference += &rec.data.row(i);
    }
    reference /= from.len() as f64;
    for &i in to {
        let mut row = rec.data.row_mut(i);
        row -= &reference;
    }
    rec
}

fn average(rec: Recording, types: &[ChannelType]) -> Result<Recording, StageError> {
    let idx = targets(&rec, types);
    if idx.is_empty() {
        return Err(StageError::mismatch(format!(
            "no good channels of type {} to average-reference",
            types
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join("/")
        )));
    }
    let mut out = subtract_mean_of(rec, &idx, &idx);
    out.note_prefilter(&idx, "Ref:avg");
    Ok(out)
}

fn find(rec: &Recording, name: &str) -> Result<usize, StageError> {
    rec.channel_index(name).ok_or_else(|| {
        let hint = crate::spec::nearest(name, rec.channels.iter().map(|c| c.name.as_str()))
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        StageError::mismatch(format!(
            "reference channel `{name}` is not in this recording{hint}"
        ))
    })
}

fn to_channels(
    rec: Recording,
    types: &[ChannelType],
    names: &[String],
) -> Result<Recording, StageError> {
    let from = names
        .iter()
        .map(|n| find(&rec, n))
        .collect::<Result<Vec<_>, _>>()?;
    let to = targets(&rec, types);
    let mut out = subtract_mean_of(rec, &from, &to);
    out.note_prefilter(&to, &format!("Ref:{}", names.join("+")));
    Ok(out)
}

fn bipolar(rec: &Recording, pairs: &[[String; 2]]) -> Result<Recording, StageError> {
    let idx: Vec<(usize, usize)> = pairs
        .iter()
        .map(|[a, c]| Ok((find(rec, a)?, find(rec, c)?)))
        .collect::<Result<_, StageError>>()?;
    let used: std::collections::BTreeSet<usize> = idx.iter().flat_map(|&(a, c)| [a, c]).collect();
    let keep: Vec<usize> = (0..rec.n_channels())
        .filter(|i| !used.contains(i))
        .collect();
    let n = idx.len() + keep.len();
    let mut data = Array2::<f64>::zeros((n, rec.n_samples()));
    let mut channels: Vec<Channel> = Vec::with_capacity(n);
    // Kept channels first in their order, then the new pairs (MNE appends them too).
    for (row, &i) in keep.iter().enumerate() {
        data.row_mut(row).assign(&rec.data.row(i));
        channels.push(rec.channels[i].clone());
    }
    for (k, &(a, c)) in idx.iter().enumerate() {
        let row = keep.len() + k;
        let mut r = data.row_mut(row);
        r.assign(&rec.data.row(a));
        r -= &rec.data.row(c);
        let (ca, cc) = (&rec.channels[a], &rec.channels[c]);
        let mut ch = ca.clone();
        ch.name = format!("{}-{}", ca.name, cc.name);
        ch.original_label = ch.name.clone();
        // MNE gives the bipolar channel the anode's location.
        ch.bad = match (&ca.bad, &cc.bad) {
            (None, None) => None,
            _ => Some(format!(
                "bipolar pair of a bad channel ({} or {})",
                ca.name, cc.name
            )),
        };
        ch.prefilter = format!("{} Ref:{}", ca.prefilter, cc.name)
            .trim()
            .to_string();
        channels.push(ch);
    }
    let mut out = rec.clone();
    out.data = data;
    out.channels = channels;
    Ok(out)
}
