use std::path::PathBuf;

use crate::io::edf::EdfError;

/// A parameter that is wrong whatever the recording (found before any data is read).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ParamError {
    /// The YAML key at fault.
    pub field: &'static str,
    pub message: String,
}

impl ParamError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// Why a stage failed on one recording. The scheduler prefixes the recording and stage.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error(transparent)]
    Edf(#[from] EdfError),
    #[error(transparent)]
    Filter(#[from] crate::dsp::FilterError),
    /// The configuration does not fit this recording (a missing channel, a frequency above
    /// this file's Nyquist, …). The message names the parameter and what to change.
    #[error("{0}")]
    Mismatch(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Output { path: PathBuf, message: String },
}

impl StageError {
    pub fn mismatch(message: impl Into<String>) -> Self {
        StageError::Mismatch(message.into())
    }
}
