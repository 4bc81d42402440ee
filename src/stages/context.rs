use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::StageError;
use crate::data::{Artifact, Recording};
use crate::spec::ChannelSpec;

/// One recording to process, and the names its outputs get.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RecordingJob {
    pub path: PathBuf,
    /// Subject label without the `sub-` prefix (from a BIDS `sub-*` folder, else the first
    /// folder under the input root, else the file stem).
    pub subject: String,
    /// Output base name, e.g. `sub-001_task-mi_run-04` (BIDS entities kept, suffix dropped).
    pub base: String,
}

/// Everything a stage may know besides its inputs.
pub struct RunContext<'a> {
    pub job: &'a RecordingJob,
    pub stage_id: &'a str,
    pub channels: &'a ChannelSpec,
    pub seed: u64,
    pub output_root: &'a Path,
    /// The pipeline file's folder: relative paths in stage parameters (a model, a saved
    /// decomposition) are taken from there, so a pipeline folder can be moved as a whole.
    pub base_dir: &'a Path,
    /// Files written for this recording so far: removed if the recording fails, so a
    /// failed recording leaves nothing behind that looks like a result.
    pub written: &'a Mutex<Vec<PathBuf>>,
}

impl RunContext<'_> {
    /// `<output>/sub-<subject>/<base>_<suffix>`, e.g. suffix `desc-clean_eeg.edf`.
    pub fn output_path(&self, suffix: &str) -> PathBuf {
        self.output_root
            .join(format!("sub-{}", self.job.subject))
            .join(format!("{}_{suffix}", self.job.base))
    }

    /// A path from a stage parameter: absolute as given, relative to the pipeline's folder.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        self.base_dir.join(path)
    }

    pub fn record_written(&self, path: PathBuf) {
        if let Ok(mut w) = self.written.lock() {
            w.push(path);
        }
    }
}

/// The artifacts of the stages named in `after`, in that order.
pub struct Inputs<'a> {
    pub artifacts: Vec<&'a Artifact>,
}

impl Inputs<'_> {
    pub fn recording(&self, slot: usize) -> Result<&Arc<Recording>, StageError> {
        match self.artifacts.get(slot) {
            Some(Artifact::Continuous(r)) => Ok(r),
            Some(other) => Err(StageError::mismatch(format!(
                "input {slot} is {}, expected a continuous recording",
                other.kind()
            ))),
            None => Err(StageError::mismatch(format!("input {slot} is missing"))),
        }
    }
}

impl Inputs<'_> {
    pub fn epochs(&self, slot: usize) -> Result<&Arc<crate::data::EpochsArtifact>, StageError> {
        match self.artifacts.get(slot) {
            Some(Artifact::Epochs(e)) => Ok(e),
            Some(other) => Err(StageError::mismatch(format!(
                "input {slot} is {}, expected epochs",
                other.kind()
            ))),
            None => Err(StageError::mismatch(format!("input {slot} is missing"))),
        }
    }
}

impl Inputs<'_> {
    pub fn ica(&self, slot: usize) -> Result<&Arc<crate::data::IcaArtifact>, StageError> {
        match self.artifacts.get(slot) {
            Some(Artifact::Ica(i)) => Ok(i),
            Some(other) => Err(StageError::mismatch(format!(
                "input {slot} is {}, expected an ICA decomposition",
                other.kind()
            ))),
            None => Err(StageError::mismatch(format!("input {slot} is missing"))),
        }
    }
}
