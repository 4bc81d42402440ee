//! Running a checked pipeline: find the recordings, run each through the stages (in
//! parallel across recordings), and summarise. Seams for later work: `Stage::fingerprint`
//! chained over inputs keys a per-stage cache; `Selection::subject` is what a SLURM array
//! task passes.

mod discover;
mod scheduler;
mod summary;

pub use discover::{DiscoverError, Selection, discover};
pub use scheduler::{
    Event, Outcome, RunOptions, Status, run, run_recording, run_recording_keeping,
};
pub use summary::{summary_table, write_summary};
