//! What the user wrote, with locations: the first pass over a pipeline file.
//! Stage bodies are read here only for `kind` and `after`; each kind's own parameters are
//! read in a second pass by that kind's parameter struct (see `pipeline.rs`).

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_saphyr::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPipeline {
    pub name: Spanned<String>,
    pub input: Spanned<RawInput>,
    #[serde(default)]
    pub output: Option<Spanned<String>>,
    #[serde(default)]
    pub channels: Option<Spanned<RawChannels>>,
    #[serde(default)]
    pub seed: Option<Spanned<u64>>,
    pub stages: Spanned<HashMap<Spanned<String>, Spanned<RawStageHead>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInput {
    pub root: Spanned<String>,
    #[serde(default)]
    pub pattern: Option<Spanned<String>>,
    #[serde(default)]
    pub layout: Option<Spanned<String>>,
}

/// `channels:` — types by name, label aliases, label normalisation, channels to drop.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawChannels {
    #[serde(default)]
    pub eeg: Vec<String>,
    #[serde(default)]
    pub eog: Vec<String>,
    #[serde(default)]
    pub ecg: Vec<String>,
    #[serde(default)]
    pub emg: Vec<String>,
    #[serde(default)]
    pub misc: Vec<String>,
    #[serde(default)]
    pub stim: Vec<String>,
    #[serde(default)]
    pub seeg: Vec<String>,
    #[serde(default)]
    pub ecog: Vec<String>,
    #[serde(default)]
    pub resp: Vec<String>,
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    #[serde(default)]
    pub normalize: Option<Spanned<String>>,
    #[serde(default)]
    pub drop: Vec<String>,
    #[serde(default)]
    pub bads: Vec<String>,
}

/// The two keys every stage body shares; the rest belongs to the kind.
#[derive(Debug, Deserialize)]
pub(super) struct RawStageHead {
    pub kind: Spanned<String>,
    #[serde(default)]
    pub after: Vec<Spanned<String>>,
}
