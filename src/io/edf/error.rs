//! Everything that can go wrong reading or writing EDF/BDF, with where (file, field,
//! signal, byte offset) and what to do, so a user can act on the message alone.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EdfError {
    #[error("{path}: cannot read or write the file: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(
        "{path}: only {actual} bytes, too short for {what} ({needed} bytes needed); \
         the file is truncated or not EDF/BDF"
    )]
    TooShort {
        path: PathBuf,
        what: &'static str,
        needed: u64,
        actual: u64,
    },

    #[error(
        "{path}: header field `{field}`{} at byte {offset} is {value:?}, which {problem}",
        signal_suffix(*signal)
    )]
    BadField {
        path: PathBuf,
        field: &'static str,
        /// Index of the signal whose field it is; `None` for the fixed part of the header.
        signal: Option<usize>,
        /// Byte offset of the field in the file.
        offset: u64,
        /// The field's text, trimmed.
        value: String,
        problem: String,
    },

    #[error(
        "{path}: size mismatch: the header says {header_bytes} header bytes + {n_records} records \
         × {record_bytes} bytes = {expected} bytes, but the file has {actual} bytes ({}); the \
         file is truncated or damaged (e.g. a text-mode transfer that turned LF into CR LF): \
         copy it again in binary mode. Field `number of data records` at byte 236.",
        describe_difference(*expected, *actual)
    )]
    SizeMismatch {
        path: PathBuf,
        header_bytes: u64,
        /// The header's record count (-1 when it was "unknown" and derived from the size).
        n_records: i64,
        record_bytes: u64,
        expected: u64,
        actual: u64,
    },

    #[error("{path}: annotation signal {signal}, data record {record} (byte {offset}): {problem}")]
    Annotation {
        path: PathBuf,
        signal: usize,
        record: usize,
        offset: u64,
        problem: String,
    },

    #[error("{path}: {problem}")]
    Request { path: PathBuf, problem: String },

    #[error("cannot write {path}: {problem}")]
    Write { path: PathBuf, problem: String },
}

fn signal_suffix(signal: Option<usize>) -> String {
    signal
        .map(|s| format!(" of signal {s}"))
        .unwrap_or_default()
}

fn describe_difference(expected: u64, actual: u64) -> String {
    if actual > expected {
        format!("{} bytes too many", actual - expected)
    } else {
        format!("{} bytes missing", expected - actual)
    }
}

impl From<std::io::Error> for EdfError {
    fn from(source: std::io::Error) -> Self {
        EdfError::Io {
            path: PathBuf::new(),
            source,
        }
    }
}
