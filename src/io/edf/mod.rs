//! EDF, EDF+ (C and D), BDF and BDF+ reading and writing.
//!
//! - `header`: the header fields and their validation;
//! - `tal`: EDF+ time-stamped annotation lists;
//! - `reader`: memory-mapped reading of samples, annotations, record onsets, segments;
//! - `writer`: EDF+C / BDF+C writing with annotations;
//! - `inspect`: a serialisable summary of a file for `eegclean inspect`.

mod error;
mod header;
pub mod inspect;
mod reader;
pub mod tal;
mod writer;

pub use error::EdfError;
pub use header::{EdfHeader, EdfKind, SignalHeader};
pub use inspect::Inspection;
pub use reader::{ADJACENCY_TOLERANCE, EdfReader, EdfSegment};
pub use writer::{WriteReport, WriteSignal, WriteSpec, write_edf};
