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

    /// `[start, stop)` sample spans of `BAD*` annotations (case-insensitive), as MNE's
    /// `_annotations_starts_stops` computes them: onset and end truncated to samples.
    pub fn bad_spans(&self) -> Vec<(usize, usize)> {
        let n = self.n_samples();
        let at = |t: f64| ((t * self.sfreq).max(0.0) as usize).min(n);
        let mut spans: Vec<(usize, usize)> = self
            .annotations
            .iter()
            .filter(|a| a.description.to_ascii_lowercase().starts_with("bad"))
            .map(|a| {
                (
                    at(a.onset),
                    at(a.onset + a.duration.unwrap_or(0.0).max(0.0)),
                )
            })
            .filter(|(a, b)| b > a)
            .collect();
        spans.sort_unstable();
        spans
    }

    /// Indices of the samples outside every `BAD*` span, then every `decim`-th of those
    /// (MNE's `reject_by_annotation='omit'` followed by decimation).
    pub fn good_samples(&self, decim: usize) -> Vec<usize> {
        let mut keep = vec![true; self.n_samples()];
        for (a, b) in self.bad_spans() {
            keep[a..b].iter_mut().for_each(|k| *k = false);
        }
        (0..keep.len())
            .filter(|&i| keep[i])
            .step_by(decim.max(1))
            .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::StartTime;

    #[test]
    fn good_samples_omit_bad_spans_then_decimate() {
        let sfreq = 10.0;
        let rec = Recording {
            source: "x.edf".into(),
            sfreq,
            data: Array2::zeros((1, 40)),
            channels: Vec::new(),
            annotations: vec![
                Annotation::new(0.25, Some(0.5), "BAD_muscle"),
                Annotation::new(1.0, Some(1.0), "T1"),
                Annotation::new(3.5, Some(10.0), "bad_end"),
            ],
            start: StartTime::default(),
            patient: String::new(),
            recording_id: String::new(),
            segments: Vec::new(),
        };
        // Naive reference: a sample is bad when its index lies in [⌊onset·sf⌋, ⌊end·sf⌋).
        let bad = |i: usize| (2..7).contains(&i) || (35..40).contains(&i);
        let naive: Vec<usize> = (0..40).filter(|&i| !bad(i)).step_by(3).collect();
        assert_eq!(rec.good_samples(3), naive);
        assert_eq!(rec.bad_spans(), vec![(2, 7), (35, 40)]);
    }
}
