//! The pipeline file: YAML → raw spec (`raw.rs`, what the user wrote, with locations) →
//! validated `Pipeline` (`pipeline.rs`, checked types, resolved DAG, built stages).
//! Nothing here touches recordings: `eegclean validate` and `plan` stop after this layer.

mod error;
pub mod params;
mod pipeline;
mod raw;
mod source;
mod suggest;

pub use error::{SpecError, SpecErrors};
pub use params::{AutoOr, Ignored};
pub use pipeline::{ChannelSpec, InputSpec, LabelNormalisation, Pipeline, StageNode};
pub use source::Source;
pub use suggest::nearest;
