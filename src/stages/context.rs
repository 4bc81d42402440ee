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

/// The artifacts of the stages named in `after`, in that order. The scheduler hands over
/// its own copy of an artifact when this stage is its last consumer, so a stage that
/// changes a recording can take it ([`Inputs::take_recording`]) and work in place instead
/// of copying the whole signal.
pub struct Inputs {
    artifacts: Vec<Option<Artifact>>,
}

impl Inputs {
    pub fn new(artifacts: Vec<Artifact>) -> Self {
        Self {
            artifacts: artifacts.into_iter().map(Some).collect(),
        }
    }

    fn get(&self, slot: usize) -> Result<&Artifact, StageError> {
        self.artifacts
            .get(slot)
            .and_then(Option::as_ref)
            .ok_or_else(|| StageError::mismatch(format!("input {slot} is missing")))
    }

    pub fn recording(&self, slot: usize) -> Result<&Arc<Recording>, StageError> {
        match self.get(slot)? {
            Artifact::Continuous(r) => Ok(r),
            other => Err(StageError::mismatch(format!(
                "input {slot} is {}, expected a continuous recording",
                other.kind()
            ))),
        }
    }

    /// The recording in `slot`, to be changed and passed on: moved out without a copy when
    /// nothing else holds it, cloned otherwise. The slot is empty afterwards.
    pub fn take_recording(&mut self, slot: usize) -> Result<Recording, StageError> {
        self.recording(slot)?;
        match self.artifacts[slot].take() {
            Some(Artifact::Continuous(r)) => {
                Ok(Arc::try_unwrap(r).unwrap_or_else(|shared| (*shared).clone()))
            }
            _ => Err(StageError::mismatch(format!("input {slot} is missing"))),
        }
    }

    pub fn epochs(&self, slot: usize) -> Result<&Arc<crate::data::EpochsArtifact>, StageError> {
        match self.get(slot)? {
            Artifact::Epochs(e) => Ok(e),
            other => Err(StageError::mismatch(format!(
                "input {slot} is {}, expected epochs",
                other.kind()
            ))),
        }
    }

    pub fn ica(&self, slot: usize) -> Result<&Arc<crate::data::IcaArtifact>, StageError> {
        match self.get(slot)? {
            Artifact::Ica(i) => Ok(i),
            other => Err(StageError::mismatch(format!(
                "input {slot} is {}, expected an ICA decomposition",
                other.kind()
            ))),
        }
    }
}
