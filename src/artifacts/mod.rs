//! Artifact detection on ICA decompositions.

pub mod iclabel;
