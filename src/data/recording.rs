use std::path::PathBuf;

use ndarray::Array2;

use super::{Annotation, Channel, StartTime};

/// A contiguous span of samples. EDF+C and EDF files have one; EDF+D files have one per
/// run of adjacent data records, and stages that assume continuity must respect them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    /// First sample of the segment in `Recording::data`.
    pub first_sample: usize,
    pub n_samples: usize,
    /// Seconds from the recording start at which the segment begins (from the EDF+D
    /// time-keeping annotations).
    pub onset: f64,
}

/// A continuous multichannel recording at one sample rate.
#[derive(Debug, Clone)]
pub struct Recording {
    /// The file it came from (used in every error message and in output names).
    pub source: PathBuf,
    pub sfreq: f64,
    /// channels × samples, SI units (volts for voltage channels).
    pub data: Array2<f64>,
    pub channels: Vec<Channel>,
    pub annotations: Vec<Annotation>,
    pub start: StartTime,
    /// EDF patient identification field (kept so written files carry it on).
    pub patient: String,
    /// EDF recording identification field.
    pub recording_id: String,
    pub segments: Vec<Segment>,
}

impl Recording {
    pub fn n_channels(&self) -> usize {
        self.data.nrows()
    }

    pub fn n_samples(&self) -> usize {
        self.data.ncols()
    }

    pub fn duration(&self) -> f64 {
        self.n_samples() as f64 / self.sfreq
    }

    pub fn is_contiguous(&self) -> bool {
        self.segments.len() <= 1
    }

    pub fn channel_index(&self, name: &str) -> Option<usize> {
        self.channels.iter().position(|c| c.name == name)
    }

    /// Record a processing step in every touched channel's prefiltering text, which the
    /// EDF writer puts in the header (so a reader of our files sees what was done).
    pub fn note_prefilter(&mut self, channels: &[usize], text: &str) {
        for &i in channels {
            let p = &mut self.channels[i].prefilter;
            if !p.is_empty() {
                p.push(' ');
            }
            p.push_str(text);
        }
    }
}
