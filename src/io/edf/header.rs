//! The EDF/BDF header: a 256-byte fixed part and 256 bytes per signal, space-padded ASCII
//! fields. Parsing checks every size against the file length before anything is allocated,
//! so a hostile header cannot make us allocate without bound.

use std::path::Path;

use serde::Serialize;

use super::error::EdfError;
use crate::data::StartTime;

/// Which flavour of the format a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum EdfKind {
    /// Plain EDF (16-bit), no EDF+ reserved marker.
    Edf,
    /// EDF+ continuous.
    EdfPlusC,
    /// EDF+ discontinuous: records may have gaps between them.
    EdfPlusD,
    /// BioSemi BDF (24-bit).
    Bdf,
    BdfPlusC,
    BdfPlusD,
}

impl EdfKind {
    /// Bytes per stored sample: 2 for EDF, 3 for BDF.
    pub fn bytes_per_sample(self) -> usize {
        if self.is_bdf() { 3 } else { 2 }
    }

    pub fn is_bdf(self) -> bool {
        matches!(self, EdfKind::Bdf | EdfKind::BdfPlusC | EdfKind::BdfPlusD)
    }

    /// EDF+ or BDF+ (time-keeping annotations are mandatory).
    pub fn is_plus(self) -> bool {
        !matches!(self, EdfKind::Edf | EdfKind::Bdf)
    }

    pub fn is_discontinuous(self) -> bool {
        matches!(self, EdfKind::EdfPlusD | EdfKind::BdfPlusD)
    }

    /// Label of an annotation signal in this flavour.
    pub fn annotation_label(self) -> &'static str {
        if self.is_bdf() {
            "BDF Annotations"
        } else {
            "EDF Annotations"
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EdfKind::Edf => "EDF",
            EdfKind::EdfPlusC => "EDF+C",
            EdfKind::EdfPlusD => "EDF+D",
            EdfKind::Bdf => "BDF",
            EdfKind::BdfPlusC => "BDF+C",
            EdfKind::BdfPlusD => "BDF+D",
        }
    }
}

/// One signal's header fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignalHeader {
    pub label: String,
    pub transducer: String,
    pub physical_dimension: String,
    pub physical_min: f64,
    pub physical_max: f64,
    pub digital_min: i32,
    pub digital_max: i32,
    pub prefiltering: String,
    pub samples_per_record: usize,
    pub reserved: String,
    /// An "EDF Annotations"/"BDF Annotations" signal (TAL bytes, not samples).
    pub is_annotation: bool,
}

impl SignalHeader {
    /// Samples per second (`samples_per_record / record_duration`); 0 when records last 0 s.
    pub fn sample_rate(&self, record_duration: f64) -> f64 {
        if record_duration > 0.0 {
            self.samples_per_record as f64 / record_duration
        } else {
            0.0
        }
    }

    /// Physical units per digital step.
    pub fn gain(&self) -> f64 {
        (self.physical_max - self.physical_min)
            / (self.digital_max as f64 - self.digital_min as f64)
    }

    /// The offset in edflib's form `physical = gain * (offset + digital)`, which is how
    /// pyedflib computes physical values; using the same operations gives identical numbers.
    pub fn digital_offset(&self) -> f64 {
        self.physical_max / self.gain() - self.digital_max as f64
    }
}

/// The parsed header.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EdfHeader {
    /// The version field as text ("0" for EDF, "BIOSEMI" after the 0xFF byte for BDF).
    pub version: String,
    pub patient: String,
    pub recording: String,
    /// Header start date and time, plus the sub-second part of the first record's onset.
    #[serde(skip)]
    pub start: StartTime,
    /// Onset of the first data record relative to the header's start time, in seconds
    /// (EDF+ time-keeping annotation; 0 for plain EDF/BDF).
    pub start_offset: f64,
    pub header_bytes: usize,
    pub reserved: String,
    pub kind: EdfKind,
    /// Number of data records (derived from the file size when the header said -1).
    pub n_records: usize,
    /// Seconds per data record (0 for annotation-only files).
    pub record_duration: f64,
    pub signals: Vec<SignalHeader>,
}

impl EdfHeader {
    /// Bytes of one data record.
    pub fn record_bytes(&self) -> usize {
        self.signals
            .iter()
            .map(|s| s.samples_per_record)
            .sum::<usize>()
            * self.kind.bytes_per_sample()
    }

    /// Byte offset of each signal inside a data record.
    pub fn signal_offsets(&self) -> Vec<usize> {
        let bps = self.kind.bytes_per_sample();
        let mut acc = 0;
        self.signals
            .iter()
            .map(|s| {
                let o = acc;
                acc += s.samples_per_record * bps;
                o
            })
            .collect()
    }

    /// Indices of the annotation signals.
    pub fn annotation_signals(&self) -> Vec<usize> {
        (0..self.signals.len())
            .filter(|&i| self.signals[i].is_annotation)
            .collect()
    }

    /// Indices of the data (non-annotation) signals.
    pub fn data_signals(&self) -> Vec<usize> {
        (0..self.signals.len())
            .filter(|&i| !self.signals[i].is_annotation)
            .collect()
    }

    /// Total duration covered by the records, in seconds (`n_records × record_duration`).
    pub fn duration(&self) -> f64 {
        self.n_records as f64 * self.record_duration
    }
}

/// Largest record count or sample count we accept; far beyond any real recording, it only
/// keeps arithmetic from overflowing on hostile headers.
const MAX_COUNT: i64 = 1 << 40;

/// Text of a header field: UTF-8 when valid, else Latin-1 (what old writers used for µ),
/// trimmed of spaces and NULs.
pub(crate) fn field_text(bytes: &[u8]) -> String {
    let s = match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    };
    s.trim_matches(|c: char| c == ' ' || c == '\0').to_string()
}

struct FieldReader<'a> {
    bytes: &'a [u8],
    path: &'a Path,
}

impl FieldReader<'_> {
    fn text(&self, offset: usize, len: usize) -> String {
        field_text(&self.bytes[offset..offset + len])
    }

    fn bad(
        &self,
        field: &'static str,
        signal: Option<usize>,
        offset: usize,
        len: usize,
        problem: impl Into<String>,
    ) -> EdfError {
        EdfError::BadField {
            path: self.path.to_path_buf(),
            field,
            signal,
            offset: offset as u64,
            value: self.text(offset, len),
            problem: problem.into(),
        }
    }

    /// An integer field: optional spaces, optional sign, digits. MNE and edflib both take
    /// a leading `+`; neither accepts a decimal comma, so neither do we.
    fn int(
        &self,
        field: &'static str,
        signal: Option<usize>,
        offset: usize,
        len: usize,
    ) -> Result<i64, EdfError> {
        let t = self.text(offset, len);
        let t = t.trim();
        let digits = t.strip_prefix('+').unwrap_or(t);
        let ok = !digits.is_empty()
            && digits
                .strip_prefix('-')
                .unwrap_or(digits)
                .bytes()
                .all(|b| b.is_ascii_digit())
            && !digits.strip_prefix('-').unwrap_or(digits).is_empty();
        if !ok {
            return Err(self.bad(field, signal, offset, len, "is not an integer"));
        }
        digits
            .parse::<i64>()
            .map_err(|_| self.bad(field, signal, offset, len, "is out of range"))
    }

    /// A decimal field (`1`, `-3.5`, `+.25`, `1e3`), finite.
    fn float(
        &self,
        field: &'static str,
        signal: Option<usize>,
        offset: usize,
        len: usize,
    ) -> Result<f64, EdfError> {
        let t = self.text(offset, len);
        let t = t.trim();
        let ok = !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
        let v = if ok { t.parse::<f64>().ok() } else { None };
        match v {
            Some(v) if v.is_finite() => Ok(v),
            _ => Err(self.bad(field, signal, offset, len, "is not a finite decimal number")),
        }
    }
}

/// Parse and validate the header of a file whose full contents are `bytes`.
pub fn parse_header(bytes: &[u8], path: &Path) -> Result<EdfHeader, EdfError> {
    let file_len = bytes.len() as u64;
    if bytes.len() < 256 {
        return Err(EdfError::TooShort {
            path: path.to_path_buf(),
            what: "the 256-byte fixed header",
            needed: 256,
            actual: file_len,
        });
    }
    let f = FieldReader { bytes, path };

    let is_bdf = bytes[0] == 0xFF;
    let version = if is_bdf {
        field_text(&bytes[1..8])
    } else {
        f.text(0, 8)
    };
    if !is_bdf && version != "0" {
        return Err(f.bad(
            "version",
            None,
            0,
            8,
            "is not \"0\" (EDF) or 0xFF BIOSEMI (BDF)",
        ));
    }
    let patient = f.text(8, 80);
    let recording = f.text(88, 80);
    let start = parse_start(&f, &recording)?;
    let header_bytes = f.int("number of bytes in header", None, 184, 8)?;
    let reserved = f.text(192, 44);
    let n_records_field = f.int("number of data records", None, 236, 8)?;
    let record_duration = f.float("duration of a data record", None, 244, 8)?;
    let ns = f.int("number of signals", None, 252, 4)?;

    if ns < 1 {
        return Err(f.bad("number of signals", None, 252, 4, "must be at least 1"));
    }
    // Bound ns by the file length before allocating per-signal structures.
    let ns_bytes = (ns as u64 + 1) * 256;
    if ns_bytes > file_len {
        return Err(EdfError::TooShort {
            path: path.to_path_buf(),
            what: "the signal headers the `number of signals` field (byte 252) announces",
            needed: ns_bytes,
            actual: file_len,
        });
    }
    let ns = ns as usize;
    if header_bytes != ns_bytes as i64 {
        return Err(f.bad(
            "number of bytes in header",
            None,
            184,
            8,
            format!("should be 256 × (number of signals + 1) = {ns_bytes} for {ns} signals"),
        ));
    }
    if record_duration < 0.0 {
        return Err(f.bad("duration of a data record", None, 244, 8, "is negative"));
    }
    if !(-1..=MAX_COUNT).contains(&n_records_field) {
        return Err(f.bad(
            "number of data records",
            None,
            236,
            8,
            "must be -1 (unknown) or a count ≥ 0",
        ));
    }

    let reserved_bytes = &bytes[192..236];
    let plus = reserved_bytes.starts_with(b"EDF+") || reserved_bytes.starts_with(b"BDF+");
    let discontinuous = plus && reserved_bytes.get(4) == Some(&b'D');
    let kind = match (is_bdf, plus, discontinuous) {
        (false, false, _) => EdfKind::Edf,
        (false, true, false) => EdfKind::EdfPlusC,
        (false, true, true) => EdfKind::EdfPlusD,
        (true, false, _) => EdfKind::Bdf,
        (true, true, false) => EdfKind::BdfPlusC,
        (true, true, true) => EdfKind::BdfPlusD,
    };
    let (dig_lo, dig_hi) = if is_bdf {
        (-(1i64 << 23), (1i64 << 23) - 1)
    } else {
        (-(1i64 << 15), (1i64 << 15) - 1)
    };

    let base = 256;
    let at = |field_start: usize, width: usize, i: usize| base + field_start * ns + width * i;
    let mut signals = Vec::with_capacity(ns);
    for i in 0..ns {
        let label = f.text(at(0, 16, i), 16);
        let transducer = f.text(at(16, 80, i), 80);
        let physical_dimension = f.text(at(96, 8, i), 8);
        let (o_pmin, o_pmax, o_dmin, o_dmax) =
            (at(104, 8, i), at(112, 8, i), at(120, 8, i), at(128, 8, i));
        let physical_min = f.float("physical minimum", Some(i), o_pmin, 8)?;
        let physical_max = f.float("physical maximum", Some(i), o_pmax, 8)?;
        let digital_min = f.int("digital minimum", Some(i), o_dmin, 8)?;
        let digital_max = f.int("digital maximum", Some(i), o_dmax, 8)?;
        let prefiltering = f.text(at(136, 80, i), 80);
        let o_spr = at(216, 8, i);
        let samples_per_record =
            f.int("number of samples in each data record", Some(i), o_spr, 8)?;
        let reserved = f.text(at(224, 32, i), 32);

        if !(dig_lo..=dig_hi).contains(&digital_min) {
            return Err(f.bad(
                "digital minimum",
                Some(i),
                o_dmin,
                8,
                format!("is outside the storable range {dig_lo}..{dig_hi}"),
            ));
        }
        if !(dig_lo..=dig_hi).contains(&digital_max) {
            return Err(f.bad(
                "digital maximum",
                Some(i),
                o_dmax,
                8,
                format!("is outside the storable range {dig_lo}..{dig_hi}"),
            ));
        }
        if digital_min >= digital_max {
            return Err(f.bad(
                "digital minimum",
                Some(i),
                o_dmin,
                8,
                format!("is not below the digital maximum {digital_max}"),
            ));
        }
        if physical_min == physical_max {
            return Err(f.bad(
                "physical minimum",
                Some(i),
                o_pmin,
                8,
                "equals the physical maximum (no scale)",
            ));
        }
        if !(1..=MAX_COUNT).contains(&samples_per_record) {
            return Err(f.bad(
                "number of samples in each data record",
                Some(i),
                o_spr,
                8,
                "must be a positive count",
            ));
        }
        let is_annotation = label == "EDF Annotations" || label == "BDF Annotations";
        signals.push(SignalHeader {
            label,
            transducer,
            physical_dimension,
            physical_min,
            physical_max,
            digital_min: digital_min as i32,
            digital_max: digital_max as i32,
            prefiltering,
            samples_per_record: samples_per_record as usize,
            reserved,
            is_annotation,
        });
    }
    if record_duration == 0.0 && signals.iter().any(|s| !s.is_annotation) {
        return Err(f.bad(
            "duration of a data record",
            None,
            244,
            8,
            "is 0, which the EDF+ spec allows only for files with annotation signals alone",
        ));
    }

    let bps = kind.bytes_per_sample() as u64;
    // Each count ≤ 2^40 and ns ≤ file_len/256, so this sum cannot overflow u64 for any
    // file that fits on a disk; checked arithmetic anyway.
    let mut record_bytes: u64 = 0;
    for s in &signals {
        record_bytes = record_bytes
            .checked_add(s.samples_per_record as u64 * bps)
            .ok_or_else(|| {
                f.bad(
                    "number of samples in each data record",
                    None,
                    256 + 216 * ns,
                    8 * ns,
                    "sum overflows",
                )
            })?;
    }
    let data_len = file_len - ns_bytes;
    let n_records = if n_records_field == -1 {
        if !data_len.is_multiple_of(record_bytes) {
            return Err(EdfError::SizeMismatch {
                path: path.to_path_buf(),
                header_bytes: ns_bytes,
                n_records: -1,
                record_bytes,
                expected: ns_bytes + (data_len / record_bytes) * record_bytes,
                actual: file_len,
            });
        }
        data_len / record_bytes
    } else {
        let n = n_records_field as u64;
        let expected = n
            .checked_mul(record_bytes)
            .and_then(|d| d.checked_add(ns_bytes));
        if expected != Some(file_len) {
            return Err(EdfError::SizeMismatch {
                path: path.to_path_buf(),
                header_bytes: ns_bytes,
                n_records: n_records_field,
                record_bytes,
                expected: expected.unwrap_or(u64::MAX),
                actual: file_len,
            });
        }
        n
    };

    Ok(EdfHeader {
        version,
        patient,
        recording,
        start,
        start_offset: 0.0,
        header_bytes: ns_bytes as usize,
        reserved,
        kind,
        n_records: n_records as usize,
        record_duration,
        signals,
    })
}

/// Parse `dd.mm.yy` and `hh.mm.ss`. Two-digit years follow the EDF rule (85–99 → 19xx,
/// else 20xx); EDF+ files whose year field is "yy" (after 2084) take the 4-digit year
/// from the recording field's `Startdate dd-MMM-yyyy`.
fn parse_start(f: &FieldReader<'_>, recording: &str) -> Result<StartTime, EdfError> {
    let two = |field: &'static str,
               offset: usize,
               pos: usize,
               lo: u32,
               hi: u32|
     -> Result<Option<u32>, EdfError> {
        let b = &f.bytes[offset + pos..offset + pos + 2];
        if b == b"yy" {
            return Ok(None);
        }
        if !b.iter().all(u8::is_ascii_digit) {
            return Err(f.bad(field, None, offset, 8, "is not dd.mm.yy / hh.mm.ss digits"));
        }
        let v = (b[0] - b'0') as u32 * 10 + (b[1] - b'0') as u32;
        if v < lo || v > hi {
            return Err(f.bad(
                field,
                None,
                offset,
                8,
                format!("has a part {v} outside {lo}..={hi}"),
            ));
        }
        Ok(Some(v))
    };
    let need = |v: Option<u32>, field: &'static str, offset: usize| {
        v.ok_or_else(|| f.bad(field, None, offset, 8, "is not dd.mm.yy / hh.mm.ss digits"))
    };
    let day = need(two("startdate", 168, 0, 1, 31)?, "startdate", 168)?;
    let month = need(two("startdate", 168, 3, 1, 12)?, "startdate", 168)?;
    let year = match two("startdate", 168, 6, 0, 99)? {
        Some(yy) if yy >= 85 => 1900 + yy,
        Some(yy) => 2000 + yy,
        None => recording_year(recording).ok_or_else(|| {
            f.bad(
                "startdate",
                None,
                168,
                8,
                "has year `yy` but the recording field has no Startdate dd-MMM-yyyy",
            )
        })?,
    };
    let hour = need(two("starttime", 176, 0, 0, 23)?, "starttime", 176)?;
    let minute = need(two("starttime", 176, 3, 0, 59)?, "starttime", 176)?;
    let second = need(two("starttime", 176, 6, 0, 60)?, "starttime", 176)?;
    Ok(StartTime {
        year: year as u16,
        month: month as u8,
        day: day as u8,
        hour: hour as u8,
        minute: minute as u8,
        second: second as u8,
        subsecond: 0.0,
    })
}

fn recording_year(recording: &str) -> Option<u32> {
    let date = recording.strip_prefix("Startdate ")?.split(' ').next()?;
    date.rsplit('-').next()?.parse().ok()
}
