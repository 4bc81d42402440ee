//! Every stage kind: its documentation, its input and output types, and how its
//! parameters are read. The planner checks edges against `inputs`/`output` before any
//! data is read; `eegclean stages` prints this table; a test runs every `example`.

use serde::{Deserialize, Deserializer};

use super::StageParams;
use crate::data::ArtifactKind;

pub struct KindInfo {
    pub kind: &'static str,
    pub summary: &'static str,
    /// What each entry of `after` must produce, in order.
    pub inputs: &'static [ArtifactKind],
    pub output: ArtifactKind,
    /// A `stages:` block that uses this kind (with the stages it needs upstream). It is
    /// documentation and a test: `tests/stage_examples.rs` runs each one.
    pub example: &'static str,
}

pub const KINDS: &[KindInfo] = &[
    super::load::INFO,
    super::rereference::INFO,
    super::filter::INFO,
    super::resample::INFO,
    super::write_edf::INFO,
    super::ica::INFO,
    super::classify_components::INFO,
    super::reconstruct::INFO,
    super::epoch::INFO,
    super::covariance::INFO,
];

pub fn kind_info(kind: &str) -> Option<&'static KindInfo> {
    KINDS.iter().find(|k| k.kind == kind)
}

/// Read the parameters of a stage whose kind is known. Called by the planner's second
/// pass with the YAML deserializer positioned on the stage body, so type errors and
/// unknown keys are reported at their exact line and column.
pub(crate) fn parse_params<'de, D: Deserializer<'de>>(
    kind: &str,
    d: D,
) -> Result<Box<dyn StageParams>, D::Error> {
    Ok(match kind {
        "load" => Box::new(super::load::LoadParams::deserialize(d)?),
        "rereference" => Box::new(super::rereference::RereferenceParams::deserialize(d)?),
        "filter" => Box::new(super::filter::FilterParams::deserialize(d)?),
        "resample" => Box::new(super::resample::ResampleParams::deserialize(d)?),
        "write_edf" => Box::new(super::write_edf::WriteEdfParams::deserialize(d)?),
        "ica" => Box::new(super::ica::IcaParams::deserialize(d)?),
        "classify_components" => {
            Box::new(super::classify_components::ClassifyParams::deserialize(d)?)
        }
        "reconstruct" => Box::new(super::reconstruct::ReconstructParams::deserialize(d)?),
        "epoch" => Box::new(super::epoch::EpochStageParams::deserialize(d)?),
        "covariance" => Box::new(super::covariance::CovarianceParams::deserialize(d)?),
        other => {
            return Err(serde::de::Error::custom(format!(
                "unknown stage kind `{other}`"
            )));
        }
    })
}
