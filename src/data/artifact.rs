use std::fmt;
use std::sync::Arc;

use super::Recording;
use crate::features::epochs::Epochs;
use crate::ica::Decomposition;

/// Epochs cut from one recording, with what is needed to label them.
#[derive(Debug, Clone)]
pub struct EpochsArtifact {
    /// The epoched data in the recording's units (volts for EEG) and the log of every
    /// candidate epoch (kept or dropped, with why).
    pub epochs: Epochs,
    /// Names of the channels in `epochs.data`, in order.
    pub channel_names: Vec<String>,
}

/// A fitted ICA decomposition and the channels it was fitted on; after
/// `classify_components`, also which components are to be removed and why.
///
/// Labels travel with their decomposition (rather than as a separate artifact) so that a
/// pipeline can never pair component indices with the wrong unmixing matrix.
#[derive(Debug, Clone)]
pub struct IcaArtifact {
    pub decomposition: Arc<Decomposition>,
    /// Names of the fitted channels, in the decomposition's channel order.
    pub channel_names: Vec<String>,
    /// Sampling rate of the recording the decomposition was fitted on.
    pub sfreq: f64,
    /// Set by `classify_components`.
    pub labels: Option<ComponentLabels>,
}

impl IcaArtifact {
    /// The rows of `rec` holding the decomposition's channels, in the decomposition's
    /// order; or the name of the first channel `rec` lacks.
    pub fn rows_in<'a>(&'a self, rec: &Recording) -> Result<Vec<usize>, &'a str> {
        self.channel_names
            .iter()
            .map(|name| rec.channel_index(name).ok_or(name.as_str()))
            .collect()
    }
}

/// The classification of each component of an [`IcaArtifact`].
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentLabels {
    /// Component indices to remove, ascending.
    pub excluded: Vec<usize>,
    /// Per component: why it is excluded (empty when kept).
    pub reasons: Vec<String>,
}

/// What flows along an edge of the pipeline DAG. A closed set, so the planner can check
/// every edge before any data is read. Later stages (ICA, epochs, features) add variants.
#[derive(Debug, Clone)]
pub enum Artifact {
    /// A continuous recording. `Arc` so that fan-out to several consumers never copies.
    Continuous(Arc<Recording>),
    /// A stage that only writes files (e.g. `write_edf`) passes this on: the paths written.
    Written(Vec<std::path::PathBuf>),
    /// Epochs around events (from the `epoch` stage).
    Epochs(Arc<EpochsArtifact>),
    /// An ICA decomposition (from `ica`), possibly labelled (by `classify_components`).
    Ica(Arc<IcaArtifact>),
}

impl Artifact {
    pub fn kind(&self) -> ArtifactKind {
        match self {
            Artifact::Continuous(_) => ArtifactKind::Continuous,
            Artifact::Written(_) => ArtifactKind::Written,
            Artifact::Epochs(_) => ArtifactKind::Epochs,
            Artifact::Ica(_) => ArtifactKind::Ica,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArtifactKind {
    Continuous,
    Written,
    Epochs,
    Ica,
}

impl fmt::Display for ArtifactKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ArtifactKind::Continuous => "continuous recording",
            ArtifactKind::Written => "written files",
            ArtifactKind::Epochs => "epochs",
            ArtifactKind::Ica => "ICA decomposition",
        })
    }
}
