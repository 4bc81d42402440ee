use std::fmt;
use std::sync::Arc;

use super::Recording;

/// What flows along an edge of the pipeline DAG. A closed set, so the planner can check
/// every edge before any data is read. Later stages (ICA, epochs, features) add variants.
#[derive(Debug, Clone)]
pub enum Artifact {
    /// A continuous recording. `Arc` so that fan-out to several consumers never copies.
    Continuous(Arc<Recording>),
    /// A stage that only writes files (e.g. `write_edf`) passes this on: the paths written.
    Written(Vec<std::path::PathBuf>),
}

impl Artifact {
    pub fn kind(&self) -> ArtifactKind {
        match self {
            Artifact::Continuous(_) => ArtifactKind::Continuous,
            Artifact::Written(_) => ArtifactKind::Written,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArtifactKind {
    Continuous,
    Written,
}

impl fmt::Display for ArtifactKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ArtifactKind::Continuous => "continuous recording",
            ArtifactKind::Written => "written files",
        })
    }
}
