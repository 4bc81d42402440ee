//! eegclean: clean EEG and iEEG recordings.
//!
//! Layers (each calls only those below it): `cli` (face) → `spec`, `dag` (plan) →
//! `stages` → science (`dsp`) → `data`, `io`. See DESIGN.md.

pub mod artifacts;
pub mod cli;
pub mod dag;
pub mod data;
pub mod demo;
pub mod dsp;
pub mod features;
pub mod ica;
pub mod io;
pub mod rng;
pub(crate) mod simd;
pub mod spec;
pub mod stages;
