//! The data that flows between stages: recordings, their channels and annotations.
//!
//! Signals live in `ndarray` (channels × samples, SI units); channel and annotation
//! metadata are typed structs here and become polars tables at the I/O boundary
//! (`tables.rs`), so stages get compile-time checked fields and users get Parquet.

mod annotation;
mod artifact;
mod channel;
mod montage;
mod names;
mod recording;
mod time;

pub use annotation::Annotation;
pub use artifact::{Artifact, ArtifactKind, ComponentLabels, EpochsArtifact, IcaArtifact};
pub use channel::{Channel, ChannelType, Unit};
pub use montage::{Montage, MontageError, standard_1005, standard_1005_position};
pub use names::{eegbci_standardize, normalize_label, strip_reference_decorations};
pub use recording::{Recording, Segment};
pub use time::StartTime;
