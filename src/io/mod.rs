//! Files in and out: EDF/EDF+/BDF, NumPy `.npy`, atomic writes.

pub mod atomic;
pub mod edf;
pub mod ica_file;
pub mod npy;
pub mod recording_edf;
pub mod tables;
