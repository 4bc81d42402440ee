//! A `Recording` as an EDF+C/BDF+ file: the bridge between the pipeline's data model
//! and the EDF writer (used by `write_edf` and by `eegclean demo`).

use std::path::Path;

use crate::data::{Recording, Unit};
use crate::io::edf::{EdfError, EdfKind, WriteReport, WriteSignal, WriteSpec, write_edf};

/// Write `rec` to `path` (atomically). Voltages are written in µV, other units as they are;
/// each channel's prefiltering field carries what was applied to it.
/// `kind` is `EdfKind::EdfPlusC` (16-bit) or `EdfKind::BdfPlusC` (24-bit).
pub fn write_recording(
    path: &Path,
    rec: &Recording,
    kind: EdfKind,
) -> Result<WriteReport, EdfError> {
    let scaled: Vec<(Vec<f64>, &str)> = rec
        .channels
        .iter()
        .zip(rec.data.rows())
        .map(|(c, row)| match &c.unit {
            Unit::Volt => (row.iter().map(|v| v * 1e6).collect(), "uV"),
            Unit::Other(u) => (row.to_vec(), u.as_str()),
        })
        .collect();
    let signals: Vec<WriteSignal<'_>> = rec
        .channels
        .iter()
        .zip(&scaled)
        .map(|(c, (data, unit))| WriteSignal {
            label: c.name.clone(),
            transducer: c.transducer.clone(),
            physical_dimension: unit.to_string(),
            prefiltering: c.prefilter.clone(),
            sample_rate: rec.sfreq,
            data: data.as_slice(),
        })
        .collect();
    let spec = WriteSpec {
        kind,
        patient: rec.patient.clone(),
        recording: rec.recording_id.clone(),
        start: rec.start,
        record_duration: None,
        signals,
        annotations: &rec.annotations,
    };
    write_edf(path, &spec)
}
