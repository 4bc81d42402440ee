//! Memory-mapped EDF/BDF reader: samples are decoded straight from the mapped file into
//! the caller's buffer, so reading a recording costs one pass over its bytes.

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use ndarray::ArrayViewMut2;

use super::error::EdfError;
use super::header::{EdfHeader, parse_header};
use super::tal::parse_tals;
use crate::data::Annotation;

/// Records whose onsets differ from the previous record's end by at most this are adjacent.
pub const ADJACENCY_TOLERANCE: f64 = 1e-6;

/// A run of adjacent data records.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct EdfSegment {
    pub first_record: usize,
    pub n_records: usize,
    /// Seconds from the file start (the first record's onset).
    pub onset: f64,
    /// Seconds (`n_records × record_duration`).
    pub duration: f64,
}

enum Bytes {
    Mapped(Mmap),
    Owned(Vec<u8>),
}

impl Bytes {
    fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

/// An open EDF/EDF+/BDF/BDF+ file with its header parsed and validated.
pub struct EdfReader {
    path: PathBuf,
    bytes: Bytes,
    header: EdfHeader,
    signal_offsets: Vec<usize>,
    record_bytes: usize,
    /// Onset of each record from the header start time, in seconds.
    record_onsets: Vec<f64>,
}

impl std::fmt::Debug for EdfReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdfReader")
            .field("path", &self.path)
            .field("header", &self.header)
            .finish()
    }
}

impl EdfReader {
    /// Open and validate a file (header, size, time-keeping annotations).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, EdfError> {
        let path = path.as_ref();
        let io = |source| EdfError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let bytes = if len == 0 {
            Bytes::Owned(Vec::new())
        } else {
            // SAFETY: the file is opened read-only; as with every mmap reader, a writer
            // truncating it under us concurrently is outside what we can defend against.
            Bytes::Mapped(unsafe { Mmap::map(&file) }.map_err(io)?)
        };
        Self::from_source(path.to_path_buf(), bytes)
    }

    /// Parse a file held in memory (`name` is used in error messages).
    pub fn from_bytes(name: impl Into<PathBuf>, bytes: Vec<u8>) -> Result<Self, EdfError> {
        Self::from_source(name.into(), Bytes::Owned(bytes))
    }

    fn from_source(path: PathBuf, bytes: Bytes) -> Result<Self, EdfError> {
        let mut header = parse_header(bytes.as_slice(), &path)?;
        let signal_offsets = header.signal_offsets();
        let record_bytes = header.record_bytes();
        let mut reader = EdfReader {
            path,
            bytes,
            header: header.clone(),
            signal_offsets,
            record_bytes,
            record_onsets: Vec::new(),
        };
        let onsets = reader.time_keeping_onsets()?;
        // The scan touched every record; with the kernel's fault-around that maps most of
        // the file into our resident set, which nobody needs until data are decoded.
        reader.release_records(0..reader.header.n_records);
        if let Some(&first) = onsets.first() {
            header.start_offset = first;
            if (0.0..1.0).contains(&first) {
                header.start.subsecond = first;
            }
        }
        reader.header = header;
        reader.record_onsets = onsets;
        Ok(reader)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn header(&self) -> &EdfHeader {
        &self.header
    }

    /// Onset of every data record in seconds from the file start (the first record is 0).
    pub fn record_onsets(&self) -> Vec<f64> {
        let first = self.header.start_offset;
        self.record_onsets.iter().map(|o| o - first).collect()
    }

    /// Runs of adjacent records. One segment for continuous files; an EDF+D file gets a new
    /// segment wherever a record does not start where the previous one ended.
    pub fn segments(&self) -> Vec<EdfSegment> {
        let onsets = self.record_onsets();
        let d = self.header.record_duration;
        let mut segments: Vec<EdfSegment> = Vec::new();
        for (r, &onset) in onsets.iter().enumerate() {
            match segments.last_mut() {
                Some(s)
                    if (s.onset + s.duration - onset).abs() <= ADJACENCY_TOLERANCE && d > 0.0 =>
                {
                    s.n_records += 1;
                    s.duration += d;
                }
                _ => segments.push(EdfSegment {
                    first_record: r,
                    n_records: 1,
                    onset,
                    duration: d,
                }),
            }
        }
        segments
    }

    fn record(&self, r: usize) -> &[u8] {
        let start = self.header.header_bytes + r * self.record_bytes;
        &self.bytes.as_slice()[start..start + self.record_bytes]
    }

    /// Bytes of signal `s` within record `r`.
    fn signal_bytes(&self, r: usize, s: usize) -> &[u8] {
        let bps = self.header.kind.bytes_per_sample();
        let off = self.signal_offsets[s];
        &self.record(r)[off..off + self.header.signals[s].samples_per_record * bps]
    }

    fn annotation_error(
        &self,
        signal: usize,
        record: usize,
        at: usize,
        problem: String,
    ) -> EdfError {
        let offset = self.header.header_bytes
            + record * self.record_bytes
            + self.signal_offsets[signal]
            + at;
        EdfError::Annotation {
            path: self.path.clone(),
            signal,
            record,
            offset: offset as u64,
            problem,
        }
    }

    /// Record onsets from the header start: from the first TAL of the first annotation
    /// signal in each record (EDF+/BDF+), else `r × record_duration`.
    fn time_keeping_onsets(&self) -> Result<Vec<f64>, EdfError> {
        let n = self.header.n_records;
        let d = self.header.record_duration;
        let first_annot = self.header.signals.iter().position(|s| s.is_annotation);
        let Some(a) = first_annot.filter(|_| self.header.kind.is_plus()) else {
            return Ok((0..n).map(|r| r as f64 * d).collect());
        };
        let mut onsets = Vec::with_capacity(n);
        for r in 0..n {
            let bytes = self.signal_bytes(r, a);
            let tals =
                parse_tals(bytes).map_err(|e| self.annotation_error(a, r, e.offset, e.problem))?;
            match tals.first() {
                Some(t) => onsets.push(t.onset),
                None if self.header.kind.is_discontinuous() => {
                    return Err(self.annotation_error(
                        a,
                        r,
                        0,
                        "EDF+D record has no time-keeping annotation, so its onset is unknown"
                            .into(),
                    ));
                }
                // EDF+C: records are contiguous by definition.
                None => onsets.push(onsets.last().map_or(0.0, |o| o + d)),
            }
        }
        Ok(onsets)
    }

    fn check_signal(&self, signal: usize) -> Result<(), EdfError> {
        if signal >= self.header.signals.len() {
            return Err(EdfError::Request {
                path: self.path.clone(),
                problem: format!(
                    "signal {signal} does not exist (the file has {} signals)",
                    self.header.signals.len()
                ),
            });
        }
        Ok(())
    }

    /// All samples of one signal in physical units, as pyedflib computes them.
    pub fn read_physical(&self, signal: usize) -> Result<Vec<f64>, EdfError> {
        self.check_signal(signal)?;
        let spr = self.header.signals[signal].samples_per_record;
        let mut out = vec![0.0; spr * self.header.n_records];
        self.decode_records(signal, 0..self.header.n_records, &mut out);
        Ok(out)
    }

    /// All stored integers of one signal.
    pub fn read_digital(&self, signal: usize) -> Result<Vec<i32>, EdfError> {
        self.check_signal(signal)?;
        let bps = self.header.kind.bytes_per_sample();
        let mut out = Vec::with_capacity(
            self.header.signals[signal].samples_per_record * self.header.n_records,
        );
        for r in 0..self.header.n_records {
            let b = self.signal_bytes(r, signal);
            if bps == 2 {
                out.extend(
                    b.chunks_exact(2)
                        .map(|c| i16::from_le_bytes([c[0], c[1]]) as i32),
                );
            } else {
                out.extend(b.chunks_exact(3).map(decode_i24));
            }
        }
        Ok(out)
    }

    /// Decode `signals` (all with the same samples per record) into the rows of `out`,
    /// which must be `signals.len() × (n_records × samples_per_record)`.
    pub fn read_physical_into(
        &self,
        signals: &[usize],
        mut out: ArrayViewMut2<f64>,
    ) -> Result<(), EdfError> {
        for &s in signals {
            self.check_signal(s)?;
        }
        let Some(&first) = signals.first() else {
            return if out.nrows() == 0 {
                Ok(())
            } else {
                Err(self.request(format!(
                    "no signals requested for an output with {} rows",
                    out.nrows()
                )))
            };
        };
        let spr = self.header.signals[first].samples_per_record;
        if let Some(&s) = signals
            .iter()
            .find(|&&s| self.header.signals[s].samples_per_record != spr)
        {
            return Err(self.request(format!(
                "signals {first} and {s} have different samples per record ({spr} and {}); read them separately",
                self.header.signals[s].samples_per_record
            )));
        }
        let n = spr * self.header.n_records;
        if out.nrows() != signals.len() || out.ncols() != n {
            return Err(self.request(format!(
                "output is {}×{}, expected {}×{n}",
                out.nrows(),
                out.ncols(),
                signals.len()
            )));
        }
        if !out.is_standard_layout() {
            for (row, &s) in signals.iter().enumerate() {
                let v = self.read_physical(s)?;
                out.row_mut(row).iter_mut().zip(v).for_each(|(o, x)| *o = x);
            }
            return Ok(());
        }
        // Record-major, a block of records at a time, telling the kernel after each block
        // that its pages of the mapped file are no longer needed: the file's pages then
        // never add up in the resident set next to the decoded signal (a 470 MB file would
        // otherwise hold 470 MB of page cache in our RSS until the reader is dropped).
        const BLOCK: usize = 64;
        let n_records = self.header.n_records;
        let mut first = 0;
        while first < n_records {
            let last = (first + BLOCK).min(n_records);
            for (row, &s) in signals.iter().enumerate() {
                let mut r = out.row_mut(row);
                let slice = r
                    .as_slice_mut()
                    .expect("rows of a standard-layout array are contiguous");
                self.decode_records(s, first..last, &mut slice[first * spr..last * spr]);
            }
            self.release_records(first..last);
            first = last;
        }
        Ok(())
    }

    /// Drop the mapped pages of records `range` from the resident set (they are re-read
    /// from the file if touched again). A no-op for in-memory files.
    fn release_records(&self, range: std::ops::Range<usize>) {
        if let Bytes::Mapped(m) = &self.bytes {
            let page = 4096;
            let start = self.header.header_bytes + range.start * self.record_bytes;
            let end = self.header.header_bytes + range.end * self.record_bytes;
            // Whole pages inside the range only, so neighbouring records stay mapped.
            let from = start.div_ceil(page) * page;
            let to = (end / page) * page;
            if to > from {
                // SAFETY: the mapping is a shared, read-only file mapping; MADV_DONTNEED
                // only drops its resident pages, and later reads fault them back in from
                // the unchanged file, so every borrowed slice still sees the same bytes.
                let _ = unsafe {
                    m.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, from, to - from)
                };
            }
        }
    }

    fn request(&self, problem: String) -> EdfError {
        EdfError::Request {
            path: self.path.clone(),
            problem,
        }
    }

    /// Decode one signal over records `records` into `out` (length spr × records).
    fn decode_records(&self, signal: usize, records: std::ops::Range<usize>, out: &mut [f64]) {
        let sh = &self.header.signals[signal];
        let spr = sh.samples_per_record;
        // physical = gain × (offset + digital): edflib's (and so pyedflib's) formula.
        let gain = sh.gain();
        let offset = sh.digital_offset();
        let bps = self.header.kind.bytes_per_sample();
        for (r, chunk) in records.zip(out.chunks_exact_mut(spr)) {
            let b = self.signal_bytes(r, signal);
            if bps == 2 {
                for (o, c) in chunk.iter_mut().zip(b.chunks_exact(2)) {
                    *o = gain * (offset + i16::from_le_bytes([c[0], c[1]]) as f64);
                }
            } else {
                for (o, c) in chunk.iter_mut().zip(b.chunks_exact(3)) {
                    *o = gain * (offset + decode_i24(c) as f64);
                }
            }
        }
    }

    /// Every annotation in the file (all annotation signals, every record), with onsets
    /// relative to the file start (the first record's onset). Empty texts (the
    /// time-keeping ones) are left out, as pyedflib and MNE do.
    pub fn annotations(&self) -> Result<Vec<Annotation>, EdfError> {
        let start = self.header.start_offset;
        let mut out = Vec::new();
        for r in 0..self.header.n_records {
            for s in self.header.annotation_signals() {
                let tals = parse_tals(self.signal_bytes(r, s))
                    .map_err(|e| self.annotation_error(s, r, e.offset, e.problem))?;
                for tal in tals {
                    for text in tal.texts.into_iter().filter(|t| !t.is_empty()) {
                        out.push(Annotation::new(tal.onset - start, tal.duration, text));
                    }
                }
            }
            if r % 64 == 63 {
                self.release_records(r - 63..r + 1);
            }
        }
        self.release_records(0..self.header.n_records);
        Ok(out)
    }
}

#[inline]
fn decode_i24(c: &[u8]) -> i32 {
    (i32::from_le_bytes([0, c[0], c[1], c[2]])) >> 8
}
