//! Artifact detection on ICA decompositions: ICLabel, and MNE's rule-based component
//! detectors (`ICA.find_bads_eog`, `find_bads_ecg`, `find_bads_muscle`) as pure functions
//! on component time courses and topographies.

pub mod ctps;
mod detector;
pub mod heartbeats;
pub mod iclabel;
pub mod muscle;
pub mod outliers;
pub mod reference_correlation;
pub mod sensor_projection;
pub mod welch;

pub use detector::{DetectorError, DetectorScores};
