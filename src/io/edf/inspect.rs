//! A stable, serialisable summary of an EDF/BDF file: what `eegclean inspect` prints as
//! JSON or text. Field names are part of the CLI's output contract; add, never rename.

use serde::Serialize;

use super::error::EdfError;
use super::reader::{EdfReader, EdfSegment};
use crate::data::ChannelType;

/// Everything a user needs to know about a file before running a pipeline on it.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// Path as given.
    pub file: String,
    /// "EDF", "EDF+C", "EDF+D", "BDF", "BDF+C" or "BDF+D".
    pub format: String,
    /// Start date and time, ISO 8601 without zone (EDF stores local time), with the
    /// sub-second part when the file has one, e.g. "2020-01-24T04:05:56.039453".
    pub start: String,
    /// Seconds covered by the data records (`n_records × record_duration`).
    pub duration: f64,
    pub n_records: usize,
    /// Seconds per data record.
    pub record_duration: f64,
    pub patient: String,
    pub recording: String,
    /// Data signals (annotation signals are not listed here; see `n_annotation_signals`).
    pub channels: Vec<InspectedChannel>,
    pub n_annotation_signals: usize,
    pub annotations: Vec<InspectedAnnotation>,
    /// Runs of adjacent records: one for continuous files, several for EDF+D with gaps.
    pub segments: Vec<EdfSegment>,
}

/// One data signal.
#[derive(Debug, Clone, Serialize)]
pub struct InspectedChannel {
    /// Index of the signal in the file (counting annotation signals too).
    pub index: usize,
    pub label: String,
    /// A guess from the label (`eeg`, `eog`, `ecg`, `emg`, `stim`, `resp`, `misc`).
    pub type_guess: String,
    /// Physical dimension as written in the header (e.g. "uV").
    pub unit: String,
    /// Samples per second.
    pub sample_rate: f64,
    /// Total samples in the file.
    pub n_samples: usize,
    pub physical_min: f64,
    pub physical_max: f64,
    pub digital_min: i32,
    pub digital_max: i32,
    pub prefiltering: String,
    pub transducer: String,
}

/// One annotation, onset in seconds from the file start.
#[derive(Debug, Clone, Serialize)]
pub struct InspectedAnnotation {
    pub onset: f64,
    /// Seconds, `null` when the file gives none.
    pub duration: Option<f64>,
    pub description: String,
}

impl Inspection {
    /// Summarise an open file (reads its annotations).
    pub fn from_reader(reader: &EdfReader) -> Result<Self, EdfError> {
        let h = reader.header();
        let channels = h
            .data_signals()
            .into_iter()
            .map(|i| {
                let s = &h.signals[i];
                InspectedChannel {
                    index: i,
                    label: s.label.clone(),
                    type_guess: ChannelType::guess_from_label(&s.label).as_str().to_string(),
                    unit: s.physical_dimension.clone(),
                    sample_rate: s.sample_rate(h.record_duration),
                    n_samples: s.samples_per_record * h.n_records,
                    physical_min: s.physical_min,
                    physical_max: s.physical_max,
                    digital_min: s.digital_min,
                    digital_max: s.digital_max,
                    prefiltering: s.prefiltering.clone(),
                    transducer: s.transducer.clone(),
                }
            })
            .collect();
        let annotations = reader
            .annotations()?
            .into_iter()
            .map(|a| InspectedAnnotation {
                onset: a.onset,
                duration: a.duration,
                description: a.description,
            })
            .collect();
        Ok(Inspection {
            file: reader.path().display().to_string(),
            format: h.kind.as_str().to_string(),
            start: h.start.to_string(),
            duration: h.duration(),
            n_records: h.n_records,
            record_duration: h.record_duration,
            patient: h.patient.clone(),
            recording: h.recording.clone(),
            channels,
            n_annotation_signals: h.annotation_signals().len(),
            annotations,
            segments: reader.segments(),
        })
    }

    /// Human-readable multi-line summary.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "file:       {}", self.file);
        let _ = writeln!(s, "format:     {}", self.format);
        let _ = writeln!(s, "start:      {}", self.start);
        let _ = writeln!(
            s,
            "duration:   {} s ({} records × {} s)",
            self.duration, self.n_records, self.record_duration
        );
        let _ = writeln!(s, "patient:    {}", self.patient);
        let _ = writeln!(s, "recording:  {}", self.recording);
        let _ = writeln!(
            s,
            "channels:   {} (+ {} annotation signals)",
            self.channels.len(),
            self.n_annotation_signals
        );
        for c in &self.channels {
            let _ = writeln!(
                s,
                "  {:>3}  {:<16} {:<5} {:>10} Hz  {:<6} [{}, {}] ({}..{}) {}",
                c.index,
                c.label,
                c.type_guess,
                c.sample_rate,
                c.unit,
                c.physical_min,
                c.physical_max,
                c.digital_min,
                c.digital_max,
                c.prefiltering
            );
        }
        let _ = writeln!(s, "segments:   {}", self.segments.len());
        for g in &self.segments {
            let _ = writeln!(
                s,
                "  records {}..{}  onset {} s  duration {} s",
                g.first_record,
                g.first_record + g.n_records,
                g.onset,
                g.duration
            );
        }
        let _ = writeln!(s, "annotations: {}", self.annotations.len());
        for a in &self.annotations {
            let d = a
                .duration
                .map(|d| format!("{d} s"))
                .unwrap_or_else(|| "-".into());
            let _ = writeln!(s, "  {:>12.6} s  {:>10}  {}", a.onset, d, a.description);
        }
        s
    }
}
