//! eegclean: clean EEG and iEEG recordings.
//!
//! Layers (each calls only those below it): `cli` (face) → `spec`, `dag` (plan) →
//! `stages` → science (`dsp`) → `data`, `io`. See DESIGN.md.

pub mod data;
pub mod features;
pub mod io;
