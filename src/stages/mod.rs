//! Stages: one file per `kind`. Each turns its checked parameters into a `Stage` that the
//! scheduler runs once per recording. No stage knows another; they meet only through
//! `Artifact`s. To add a kind: write its file, then add it to `registry.rs`.

mod context;
mod error;
mod fingerprint;
pub mod registry;

mod classify_components;
mod covariance;
mod epoch;
mod filter;
mod ica;
mod load;
mod reconstruct;
mod rereference;
mod resample;
mod write_edf;

pub use context::{Inputs, RecordingJob, RunContext};
pub use error::{ParamError, StageError};
pub use fingerprint::Fingerprint;
pub use registry::{KINDS, KindInfo, kind_info};

use crate::data::Artifact;

/// A configured pipeline step. Built only from checked parameters (see `StageParams`),
/// so `run` never has to re-validate its configuration.
pub trait Stage: Send + Sync + std::fmt::Debug {
    fn kind(&self) -> &'static str;
    /// Hash of the checked parameters; with the inputs' hashes it keys the cache.
    fn fingerprint(&self) -> Fingerprint;
    fn run(&self, inputs: &mut Inputs, ctx: &RunContext<'_>) -> Result<Artifact, StageError>;
}

/// The `types:` key shared by stages that act on some channel types: at least one name,
/// each a known type.
pub(crate) fn channel_types(names: &[String]) -> Result<Vec<crate::data::ChannelType>, ParamError> {
    if names.is_empty() {
        return Err(ParamError::new(
            "types",
            "list at least one channel type, e.g. [eeg]",
        ));
    }
    names
        .iter()
        .map(|t| t.parse().map_err(|e| ParamError::new("types", e)))
        .collect()
}

/// Parameters as read from YAML, before checking (linfa's `Params` → `ValidParams`).
pub trait StageParams: Send {
    fn check(self: Box<Self>) -> Result<Box<dyn Stage>, ParamError>;
}
