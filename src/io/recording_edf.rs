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
    // Rows of a standard-layout array are contiguous; anything else is copied once.
    let standard;
    let data = if rec.data.is_standard_layout() {
        rec.data.view()
    } else {
        standard = rec.data.as_standard_layout().into_owned();
        standard.view()
    };
    let signals: Vec<WriteSignal<'_>> = rec
        .channels
        .iter()
        .zip(data.rows())
        .map(|(c, row)| {
            let (unit, scale) = match &c.unit {
                Unit::Volt => ("uV", 1e6),
                Unit::Other(u) => (u.as_str(), 1.0),
            };
            WriteSignal {
                label: c.name.clone(),
                transducer: c.transducer.clone(),
                physical_dimension: unit.to_string(),
                prefiltering: c.prefilter.clone(),
                sample_rate: rec.sfreq,
                data: row.to_slice().unwrap_or(&[]),
                scale,
            }
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
