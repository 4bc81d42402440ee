//! EDF+C (16-bit) and BDF+C (24-bit) writer.
//!
//! Choices, and why:
//! - Physical min/max per channel are the data range rounded *outward* to fit the 8-char
//!   field, so no sample is ever outside the range (no clipping); the digital range is the
//!   full 16/24-bit range, so the quantisation step is as small as the format allows.
//! - Quantisation rounds to the nearest step (error ≤ ½ step).
//! - The last record is padded with each signal's last sample, and a `BAD_ACQ_SKIP`
//!   annotation marks the padded span, as MNE's EDF export (through edfio) does, so the
//!   padding is never mistaken for data.
//! - One annotation signal, wide enough that every annotation fits; each record starts
//!   with its time-keeping TAL, whose onset carries the sub-second start.

use std::io::Write;
use std::path::Path;

use super::error::EdfError;
use super::header::EdfKind;
use crate::data::{Annotation, StartTime};
use crate::io::atomic::write_atomically;

/// The EDF spec's guidance for the size of one data record.
pub const MAX_RECORD_BYTES: usize = 61440;

/// Description of the annotation added over padded samples at the end.
pub const PADDING_ANNOTATION: &str = "BAD_ACQ_SKIP";

/// One signal to write.
#[derive(Debug, Clone)]
pub struct WriteSignal<'a> {
    /// At most 16 ASCII characters.
    pub label: String,
    pub transducer: String,
    /// Unit of `data` (e.g. "uV"); at most 8 ASCII characters (µ is written as u).
    pub physical_dimension: String,
    /// Truncated to 80 characters.
    pub prefiltering: String,
    /// Samples per second.
    pub sample_rate: f64,
    /// Samples; `data[k] × scale` is in `physical_dimension` units. The scale lets a
    /// caller write volts as µV without a scaled copy of a long recording.
    pub data: &'a [f64],
    /// Positive factor from `data` to `physical_dimension` (1.0 when already there).
    pub scale: f64,
}

/// What to write.
#[derive(Debug, Clone)]
pub struct WriteSpec<'a> {
    /// `EdfPlusC` or `BdfPlusC`.
    pub kind: EdfKind,
    /// EDF+ patient field ("code sex birthdate name"); empty → "X X X X".
    pub patient: String,
    /// EDF+ recording field; its Startdate is set from `start`; empty → "X X X".
    pub recording: String,
    pub start: StartTime,
    /// Seconds per record; `None` picks one (1 s when every rate is an integer and the
    /// record fits the 61440-byte guidance).
    pub record_duration: Option<f64>,
    pub signals: Vec<WriteSignal<'a>>,
    /// Onsets relative to `start` (including its sub-second part).
    pub annotations: &'a [Annotation],
}

/// What was written.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteReport {
    pub record_duration: f64,
    pub n_records: usize,
    /// Samples appended to each signal (same order as `WriteSpec::signals`) to fill the
    /// last record.
    pub samples_padded: Vec<usize>,
    /// Bytes of TAL space per record in the annotation signal.
    pub annotation_bytes_per_record: usize,
    /// Physical (min, max) written for each signal.
    pub physical_ranges: Vec<(f64, f64)>,
}

struct PreparedSignal {
    samples_per_record: usize,
    physical_min: f64,
    physical_max: f64,
    pmin_text: String,
    pmax_text: String,
}

/// Write `spec` to `path` atomically (temporary file, then rename).
pub fn write_edf(path: impl AsRef<Path>, spec: &WriteSpec<'_>) -> Result<WriteReport, EdfError> {
    let path = path.as_ref();
    let fail = |problem: String| EdfError::Write {
        path: path.to_path_buf(),
        problem,
    };
    let bdf = match spec.kind {
        EdfKind::EdfPlusC => false,
        EdfKind::BdfPlusC => true,
        k => {
            return Err(fail(format!(
                "can write EDF+C or BDF+C, not {}",
                k.as_str()
            )));
        }
    };
    let bps = if bdf { 3 } else { 2 };
    let (dmin, dmax): (i32, i32) = if bdf {
        (-8_388_608, 8_388_607)
    } else {
        (-32768, 32767)
    };
    if spec.signals.is_empty() {
        return Err(fail("no signals to write".into()));
    }
    if !(1985..=2084).contains(&spec.start.year) {
        return Err(fail(format!(
            "start year {} is outside EDF's 1985–2084",
            spec.start.year
        )));
    }
    if !(0.0..1.0).contains(&spec.start.subsecond) {
        return Err(fail(format!(
            "start subsecond {} is not in [0, 1)",
            spec.start.subsecond
        )));
    }

    for (i, s) in spec.signals.iter().enumerate() {
        if !(s.sample_rate.is_finite() && s.sample_rate > 0.0) {
            return Err(fail(format!(
                "signal {i} ({}): sample rate {} is not positive",
                s.label, s.sample_rate
            )));
        }
        if !(s.scale.is_finite() && s.scale > 0.0) {
            return Err(fail(format!(
                "signal {i} ({}): scale {} is not a positive number",
                s.label, s.scale
            )));
        }
        if let Some(j) = s.data.iter().position(|x| !(x * s.scale).is_finite()) {
            return Err(fail(format!(
                "signal {i} ({}): sample {j} is {}; EDF cannot store NaN or infinity — interpolate or drop the channel",
                s.label, s.data[j]
            )));
        }
        ascii_field(&s.label, 16)
            .map_err(|p| fail(format!("signal {i} label {:?}: {p}", s.label)))?;
        ascii_field(&dimension(&s.physical_dimension), 8).map_err(|p| {
            fail(format!(
                "signal {i} ({}) physical dimension {:?}: {p}",
                s.label, s.physical_dimension
            ))
        })?;
    }
    for (k, a) in spec.annotations.iter().enumerate() {
        if a.description.bytes().any(|b| b < 0x20 && b != b'\t') {
            return Err(fail(format!(
                "annotation {k} ({:?}) contains control characters, which would break its TAL",
                a.description
            )));
        }
        if !a.onset.is_finite() || a.duration.is_some_and(|d| !(d.is_finite() && d >= 0.0)) {
            return Err(fail(format!(
                "annotation {k} ({:?}) has a non-finite onset or invalid duration",
                a.description
            )));
        }
    }

    // Record duration and samples per record.
    let signal_bytes_at = |d: f64| -> Option<usize> {
        let mut total = 0;
        for s in &spec.signals {
            total += integer_samples(s.sample_rate, d)? * bps;
        }
        Some(total)
    };
    let record_duration = match spec.record_duration {
        Some(d) => {
            if !(d.is_finite() && d > 0.0) || signal_bytes_at(d).is_none() {
                return Err(fail(format!(
                    "record duration {d} s does not give every signal a whole number of samples per record"
                )));
            }
            d
        }
        None => choose_record_duration(&signal_bytes_at).ok_or_else(|| {
            fail("no record duration up to 100 s gives every signal a whole number of samples; resample to a common rate".into())
        })?,
    };
    let duration_text = fit8(record_duration).ok_or_else(|| {
        fail(format!(
            "record duration {record_duration} does not fit 8 characters"
        ))
    })?;

    let sprs: Vec<usize> = spec
        .signals
        .iter()
        .map(|s| integer_samples(s.sample_rate, record_duration).unwrap_or(1))
        .collect();
    let n_records = spec
        .signals
        .iter()
        .zip(&sprs)
        .map(|(s, &spr)| s.data.len().div_ceil(spr))
        .max()
        .unwrap_or(0);
    if n_records == 0 {
        return Err(fail("the signals have no samples".into()));
    }
    let samples_padded: Vec<usize> = spec
        .signals
        .iter()
        .zip(&sprs)
        .map(|(s, &spr)| n_records * spr - s.data.len())
        .collect();

    let mut prepared = Vec::with_capacity(spec.signals.len());
    for (i, (s, &spr)) in spec.signals.iter().zip(&sprs).enumerate() {
        let (lo, hi) = min_max(s.data);
        let (lo, hi) = if lo.is_finite() {
            (lo * s.scale, hi * s.scale)
        } else {
            (0.0, 0.0)
        };
        let (pmin_text, physical_min) = round_outward(lo, false).ok_or_else(|| {
            fail(format!(
                "signal {i} ({}): minimum {lo} does not fit 8 characters; write in a larger unit",
                s.label
            ))
        })?;
        let (mut pmax_text, mut physical_max) = round_outward(hi, true).ok_or_else(|| {
            fail(format!(
                "signal {i} ({}): maximum {hi} does not fit 8 characters; write in a larger unit",
                s.label
            ))
        })?;
        if physical_max <= physical_min {
            // A flat signal: EDF forbids physical min == max, so widen by one unit (as MNE).
            (pmax_text, physical_max) =
                round_outward(physical_min + 1.0, true).ok_or_else(|| {
                    fail(format!(
                        "signal {i} ({}): constant value {lo} cannot be given a range",
                        s.label
                    ))
                })?;
        }
        prepared.push(PreparedSignal {
            samples_per_record: spr,
            physical_min,
            physical_max,
            pmin_text,
            pmax_text,
        });
    }

    // Annotations: onset-ordered TALs placed in or after the record their onset falls in.
    let mut annotations: Vec<Annotation> = spec.annotations.to_vec();
    let last_end = spec
        .signals
        .iter()
        .map(|s| s.data.len() as f64 / s.sample_rate)
        .fold(f64::INFINITY, f64::min);
    let total = n_records as f64 * record_duration;
    if samples_padded.iter().any(|&p| p > 0) && total - last_end > 0.0 {
        annotations.push(Annotation::new(
            last_end,
            Some(total - last_end),
            PADDING_ANNOTATION,
        ));
    }
    annotations.sort_by(|a, b| a.onset.total_cmp(&b.onset));
    let subsecond = spec.start.subsecond;
    let tals: Vec<Vec<u8>> = annotations
        .iter()
        .map(|a| annotation_tal(a, subsecond))
        .collect();
    let keeping: Vec<Vec<u8>> = (0..n_records)
        .map(|r| {
            let mut t = format_onset(r as f64 * record_duration + subsecond).into_bytes();
            t.extend_from_slice(b"\x14\x14\x00");
            t
        })
        .collect();
    let targets: Vec<usize> = annotations
        .iter()
        .map(|a| {
            let r = (a.onset / record_duration).floor();
            if r.is_finite() && r > 0.0 {
                (r as usize).min(n_records - 1)
            } else {
                0
            }
        })
        .collect();
    let (placement, annot_bytes) = place_tals(&tals, &targets, &keeping);
    let annot_spr = annot_bytes.div_ceil(bps);

    let n_signals = spec.signals.len() + 1;
    let header = build_header(
        spec,
        bdf,
        n_signals,
        n_records,
        &duration_text,
        &prepared,
        annot_spr,
        (dmin, dmax),
    )
    .map_err(fail)?;

    let quantisers: Vec<Quantiser> = spec
        .signals
        .iter()
        .zip(&prepared)
        .map(|(s, p)| Quantiser {
            scale: s.scale,
            offset: p.physical_min,
            gain: (p.physical_max - p.physical_min) / (dmax as f64 - dmin as f64),
            dmin: dmin as f64,
            dmax: dmax as f64,
        })
        .collect();
    // Byte offset of each signal (and of the annotation signal, last) inside a record.
    let mut signal_offsets = Vec::with_capacity(n_signals + 1);
    let mut at = 0;
    for p in &prepared {
        signal_offsets.push(at);
        at += p.samples_per_record * bps;
    }
    signal_offsets.push(at);
    let record_bytes = at + annot_spr * bps;
    // Records are encoded a batch at a time, signal by signal: each signal is then read as
    // one long run of samples instead of 128 short runs interleaved record by record.
    let batch = (4 << 20) / record_bytes.max(1);
    let batch = batch.clamp(1, n_records);

    write_atomically(path, |w| -> Result<(), EdfError> {
        w.write_all(&header)?;
        let mut buf = Vec::new();
        let mut digital: Vec<i32> = Vec::new();
        for first in (0..n_records).step_by(batch) {
            let records = first..(first + batch).min(n_records);
            buf.clear();
            buf.resize(records.len() * record_bytes, 0);
            for ((s, p), (q, &offset)) in spec
                .signals
                .iter()
                .zip(&prepared)
                .zip(quantisers.iter().zip(&signal_offsets))
            {
                let spr = p.samples_per_record;
                let (from, to) = (records.start * spr, records.end * spr);
                let present = &s.data[from.min(s.data.len())..to.min(s.data.len())];
                digital.clear();
                digital.resize(to - from, 0);
                q.encode(present, &mut digital[..present.len()]);
                // The last record is padded with the last sample.
                let pad = q.encode_one(s.data.last().copied().unwrap_or(0.0));
                digital[present.len()..].fill(pad);
                for (k, values) in digital.chunks_exact(spr).enumerate() {
                    let out = &mut buf[k * record_bytes + offset..][..spr * bps];
                    if bps == 2 {
                        for (o, &v) in out.chunks_exact_mut(2).zip(values) {
                            o.copy_from_slice(&(v as i16).to_le_bytes());
                        }
                    } else {
                        for (o, &v) in out.chunks_exact_mut(3).zip(values) {
                            o.copy_from_slice(&v.to_le_bytes()[..3]);
                        }
                    }
                }
            }
            let annot_offset = signal_offsets[prepared.len()];
            for (k, r) in records.enumerate() {
                let out = &mut buf[k * record_bytes + annot_offset..(k + 1) * record_bytes];
                let mut pos = 0;
                for part in
                    std::iter::once(&keeping[r]).chain(placement[r].iter().map(|&i| &tals[i]))
                {
                    out[pos..pos + part.len()].copy_from_slice(part);
                    pos += part.len();
                }
            }
            w.write_all(&buf)?;
        }
        Ok(())
    })
    .map_err(|e| match e {
        EdfError::Io { source, .. } => EdfError::Io {
            path: path.to_path_buf(),
            source,
        },
        other => other,
    })?;

    Ok(WriteReport {
        record_duration,
        n_records,
        samples_padded,
        annotation_bytes_per_record: annot_spr * bps,
        physical_ranges: prepared
            .iter()
            .map(|p| (p.physical_min, p.physical_max))
            .collect(),
    })
}

/// `rate × d` when it is a whole number (to 1e-9), else `None`.
/// Physical value → digital value: `round((x·scale − physical_min) / gain + digital_min)`,
/// clamped to the digital range (the range encloses every sample, so the clamp only absorbs
/// rounding error), rounding half away from zero like `f64::round`.
struct Quantiser {
    scale: f64,
    offset: f64,
    gain: f64,
    dmin: f64,
    dmax: f64,
}

impl Quantiser {
    #[inline(always)]
    fn encode_one(&self, x: f64) -> i32 {
        let y =
            ((x * self.scale - self.offset) / self.gain + self.dmin).clamp(self.dmin, self.dmax);
        // `f64::round` is a libm call that blocks vectorisation; within ±2²³ the truncation
        // and its remainder are exact, so this is the same rounding (NaN gives 0 as before).
        let t = y as i32;
        let frac = y - t as f64;
        t + (frac >= 0.5) as i32 - (frac <= -0.5) as i32
    }

    fn encode(&self, xs: &[f64], out: &mut [i32]) {
        for (o, &x) in out.iter_mut().zip(xs) {
            *o = self.encode_one(x);
        }
    }
}

/// Smallest and largest sample ignoring NaN (±∞ when there is none), in lanes so the loop
/// vectorises.
fn min_max(xs: &[f64]) -> (f64, f64) {
    const LANES: usize = 8;
    let mut lo = [f64::INFINITY; LANES];
    let mut hi = [f64::NEG_INFINITY; LANES];
    let chunks = xs.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..LANES {
            lo[i] = lo[i].min(c[i]);
            hi[i] = hi[i].max(c[i]);
        }
    }
    let (mut l, mut h) = (f64::INFINITY, f64::NEG_INFINITY);
    for &x in rest.iter().chain(&lo) {
        l = l.min(x);
    }
    for &x in rest.iter().chain(&hi) {
        h = h.max(x);
    }
    (l, h)
}

fn integer_samples(rate: f64, d: f64) -> Option<usize> {
    let n = rate * d;
    let r = n.round();
    ((n - r).abs() <= 1e-9 * n.max(1.0) && r >= 1.0).then_some(r as usize)
}

/// 1 s when possible; else the longest shorter duration that keeps records within the
/// spec's guidance; else any duration that gives whole sample counts.
fn choose_record_duration(signal_bytes_at: &dyn Fn(f64) -> Option<usize>) -> Option<f64> {
    const CANDIDATES: [f64; 22] = [
        1.0, 0.5, 0.25, 0.2, 0.125, 0.1, 0.05, 0.04, 0.025, 0.02, 0.01, 0.005, 0.004, 0.002, 0.001,
        2.0, 4.0, 5.0, 10.0, 20.0, 50.0, 100.0,
    ];
    CANDIDATES
        .iter()
        .copied()
        .find(|&d| signal_bytes_at(d).is_some_and(|b| b <= MAX_RECORD_BYTES))
        .or_else(|| {
            CANDIDATES
                .iter()
                .copied()
                .find(|&d| signal_bytes_at(d).is_some())
        })
}

/// Assign each TAL to a record at or after its target, in order, so that every record's
/// annotation bytes stay within one common width; the width grows until all fit.
/// Returns the TAL indices per record and the width in bytes.
fn place_tals(
    tals: &[Vec<u8>],
    targets: &[usize],
    keeping: &[Vec<u8>],
) -> (Vec<Vec<usize>>, usize) {
    let n = keeping.len();
    let keep_max = keeping.iter().map(Vec::len).max().unwrap_or(0);
    let total: usize = tals.iter().map(Vec::len).sum();
    let longest = tals.iter().map(Vec::len).max().unwrap_or(0);
    // Start from an even spread; never below what the largest TAL needs.
    let mut width = keep_max
        + longest
            .max(total.div_ceil(n.max(1)))
            .max(if tals.is_empty() { 0 } else { 1 });
    // Room for a few short TALs even when there are none now costs little and keeps
    // widths stable; round to an even number so EDF's 2-byte samples fit exactly.
    width = width.max(keep_max + 16);
    loop {
        let mut placement = vec![Vec::new(); n];
        let mut used: Vec<usize> = keeping.iter().map(Vec::len).collect();
        let mut cursor = 0;
        let mut ok = true;
        for (i, t) in tals.iter().enumerate() {
            cursor = cursor.max(targets[i]);
            while cursor < n && used[cursor] + t.len() > width {
                cursor += 1;
            }
            if cursor == n {
                ok = false;
                break;
            }
            used[cursor] += t.len();
            placement[cursor].push(i);
        }
        if ok {
            return (placement, width);
        }
        width *= 2;
    }
}

fn annotation_tal(a: &Annotation, subsecond: f64) -> Vec<u8> {
    let mut t = format_onset(a.onset + subsecond);
    if let Some(d) = a.duration {
        t.push('\u{15}');
        t.push_str(&format_seconds(d));
    }
    t.push('\u{14}');
    t.push_str(&a.description);
    t.push('\u{14}');
    let mut b = t.into_bytes();
    b.push(0);
    b
}

/// Signed seconds with up to 7 decimals (100 ns, edflib's resolution).
fn format_onset(x: f64) -> String {
    let s = format_seconds(x.abs());
    if x < 0.0 && s != "0" {
        format!("-{s}")
    } else {
        format!("+{s}")
    }
}

fn format_seconds(x: f64) -> String {
    let s = format!("{:.7}", x);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() {
        "0".into()
    } else {
        s.to_string()
    }
}

/// Shortest text of at most 8 characters that parses back to exactly `x`.
fn fit8(x: f64) -> Option<String> {
    let s = format!("{x}");
    (s.len() <= 8 && s.parse::<f64>().ok() == Some(x)).then_some(s)
}

/// `x` rounded up (`up`) or down to the most precise decimal that fits 8 characters.
/// Returns the text and the value it parses to (which is ≥ x when up, ≤ x when down).
fn round_outward(x: f64, up: bool) -> Option<(String, f64)> {
    for decimals in (0..=7usize).rev() {
        let scale = 10f64.powi(decimals as i32);
        let mut scaled = if up {
            (x * scale).ceil()
        } else {
            (x * scale).floor()
        };
        // Guard the product's rounding error: step until the decimal is on the right side.
        for _ in 0..3 {
            let text = format_fixed(scaled, decimals);
            let v: f64 = text.parse().ok()?;
            if (up && v >= x) || (!up && v <= x) {
                if text.len() <= 8 {
                    return Some((text, v));
                }
                break;
            }
            scaled += if up { 1.0 } else { -1.0 };
        }
    }
    None
}

fn format_fixed(scaled: f64, decimals: usize) -> String {
    let v = scaled / 10f64.powi(decimals as i32);
    let s = format!("{:.*}", decimals, v);
    // Drop a useless trailing ".000" and "-0".
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    // No ".5" shorthand: edflib (pyedflib) rejects a number starting with a dot.
    if s == "-0" || s.is_empty() || s == "-" {
        "0".into()
    } else {
        s
    }
}

fn dimension(d: &str) -> String {
    d.replace(['µ', 'μ'], "u")
}

fn ascii_field(s: &str, width: usize) -> Result<(), String> {
    if !s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err("must be printable ASCII".into());
    }
    if s.len() > width {
        return Err(format!("is longer than the {width}-character EDF field"));
    }
    Ok(())
}

/// Printable ASCII, other characters replaced by `_`, cut to `width`.
fn sanitize(s: &str, width: usize) -> String {
    s.chars()
        .map(|c| if (' '..='~').contains(&c) { c } else { '_' })
        .take(width)
        .collect()
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

/// EDF+ patient field: kept when it already has the four subfields with a valid sex and
/// birthdate; otherwise "X X X name" with spaces in the name turned into `_`.
fn patient_field(p: &str) -> String {
    let p = sanitize(p.trim(), 80);
    let parts: Vec<&str> = p.split(' ').collect();
    let valid_date = |d: &str| d == "X" || edf_plus_date(d);
    if parts.len() >= 4
        && parts[..4].iter().all(|x| !x.is_empty())
        && matches!(parts[1], "M" | "F" | "X")
        && valid_date(parts[2])
    {
        return p;
    }
    if p.is_empty() {
        "X X X X".into()
    } else {
        sanitize(&format!("X X X {}", p.replace(' ', "_")), 80)
    }
}

fn edf_plus_date(d: &str) -> bool {
    let b: Vec<&str> = d.split('-').collect();
    b.len() == 3
        && b[0].len() == 2
        && b[0].bytes().all(|c| c.is_ascii_digit())
        && MONTHS.contains(&b[1])
        && b[2].len() == 4
        && b[2].bytes().all(|c| c.is_ascii_digit())
}

/// EDF+ recording field "Startdate dd-MMM-yyyy admin technician equipment …" with the
/// date from `start`; an existing field keeps its other subfields.
fn recording_field(r: &str, start: &StartTime) -> String {
    let date = format!(
        "{:02}-{}-{:04}",
        start.day,
        MONTHS[(start.month.clamp(1, 12) - 1) as usize],
        start.year
    );
    let r = sanitize(r.trim(), 80);
    let rest = match r.strip_prefix("Startdate ") {
        Some(after) => after
            .split_once(' ')
            .map(|(_, rest)| rest.to_string())
            .unwrap_or_default(),
        None if r.is_empty() => String::new(),
        None => format!("X X X {}", r.replace(' ', "_")),
    };
    let rest = if rest.split(' ').filter(|x| !x.is_empty()).count() < 3 {
        "X X X".to_string()
    } else {
        rest
    };
    sanitize(&format!("Startdate {date} {rest}"), 80)
}

#[allow(clippy::too_many_arguments)]
fn build_header(
    spec: &WriteSpec<'_>,
    bdf: bool,
    ns: usize,
    n_records: usize,
    duration_text: &str,
    prepared: &[PreparedSignal],
    annot_spr: usize,
    (dmin, dmax): (i32, i32),
) -> Result<Vec<u8>, String> {
    let mut h = Vec::with_capacity(256 * (ns + 1));
    let put = |h: &mut Vec<u8>, s: &str, width: usize| -> Result<(), String> {
        if s.len() > width {
            return Err(format!(
                "header value {s:?} does not fit its {width}-character field"
            ));
        }
        h.extend_from_slice(s.as_bytes());
        h.extend(std::iter::repeat_n(b' ', width - s.len()));
        Ok(())
    };
    if bdf {
        h.push(0xFF);
        put(&mut h, "BIOSEMI", 7)?;
    } else {
        put(&mut h, "0", 8)?;
    }
    let st = &spec.start;
    put(&mut h, &patient_field(&spec.patient), 80)?;
    put(&mut h, &recording_field(&spec.recording, st), 80)?;
    put(
        &mut h,
        &format!("{:02}.{:02}.{:02}", st.day, st.month, st.year % 100),
        8,
    )?;
    put(
        &mut h,
        &format!("{:02}.{:02}.{:02}", st.hour, st.minute, st.second),
        8,
    )?;
    put(&mut h, &(256 * (ns + 1)).to_string(), 8)?;
    put(&mut h, if bdf { "BDF+C" } else { "EDF+C" }, 44)?;
    put(&mut h, &n_records.to_string(), 8)?;
    put(&mut h, duration_text, 8)?;
    put(&mut h, &ns.to_string(), 4)?;

    let annot_label = if bdf {
        "BDF Annotations"
    } else {
        "EDF Annotations"
    };
    let sigs = &spec.signals;
    for s in sigs {
        put(&mut h, &s.label, 16)?;
    }
    put(&mut h, annot_label, 16)?;
    for s in sigs {
        put(&mut h, &sanitize(&s.transducer, 80), 80)?;
    }
    put(&mut h, "", 80)?;
    for s in sigs {
        put(&mut h, &dimension(&s.physical_dimension), 8)?;
    }
    put(&mut h, "", 8)?;
    for p in prepared {
        put(&mut h, &p.pmin_text, 8)?;
    }
    put(&mut h, "-1", 8)?;
    for p in prepared {
        put(&mut h, &p.pmax_text, 8)?;
    }
    put(&mut h, "1", 8)?;
    for _ in 0..ns {
        put(&mut h, &dmin.to_string(), 8)?;
    }
    for _ in 0..ns {
        put(&mut h, &dmax.to_string(), 8)?;
    }
    for s in sigs {
        put(&mut h, &sanitize(&s.prefiltering, 80), 80)?;
    }
    put(&mut h, "", 80)?;
    for p in prepared {
        put(&mut h, &p.samples_per_record.to_string(), 8)?;
    }
    put(&mut h, &annot_spr.to_string(), 8)?;
    for _ in 0..ns {
        put(&mut h, "", 32)?;
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiser_rounds_like_f64_round_and_clamps() {
        for &(dmin, dmax) in &[(-32768.0, 32767.0), (-8_388_608.0, 8_388_607.0)] {
            let q = Quantiser {
                scale: 1e6,
                offset: -3276.8,
                gain: 0.1,
                dmin,
                dmax,
            };
            let naive = |x: f64| {
                ((x * q.scale - q.offset) / q.gain + q.dmin)
                    .round()
                    .clamp(q.dmin, q.dmax) as i32
            };
            // Exact halves and their neighbours on both sides of zero, the range ends,
            // beyond them, and non-finite values.
            let mut xs = vec![
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                0.0,
                -0.0,
                1.0,
                -1.0,
            ];
            for k in -40_000i64..40_000 {
                let y = k as f64 * 0.5 + q.dmin.max(-20_000.0);
                let x = ((y - q.dmin) * q.gain + q.offset) / q.scale;
                xs.extend([
                    x,
                    f64::from_bits(x.to_bits() + 1),
                    f64::from_bits(x.to_bits() - 1),
                ]);
            }
            let mut rng = crate::rng::Rng::new(7);
            xs.extend((0..100_000).map(|_| rng.range(-0.01, 0.01)));
            let mut out = vec![0; xs.len()];
            q.encode(&xs, &mut out);
            for (x, o) in xs.iter().zip(&out) {
                assert_eq!(*o, naive(*x), "x = {x:e}");
            }
        }
    }

    #[test]
    fn min_max_ignores_nan_and_sees_every_sample() {
        for n in 0..40 {
            let xs: Vec<f64> = (0..n)
                .map(|i| {
                    if i % 7 == 3 {
                        f64::NAN
                    } else {
                        ((i * 37) % 23) as f64 - 11.0
                    }
                })
                .collect();
            let naive = xs
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| {
                    (l.min(x), h.max(x))
                });
            assert_eq!(min_max(&xs), naive, "n = {n}");
        }
    }

    #[test]
    fn outward_rounding_never_goes_inward() {
        for &x in &[
            123.456789123,
            -123.456789123,
            1e-9,
            -1e-9,
            0.1 + 0.2,
            -3276.8,
            99999999.0,
            12345678.9,
            0.0,
        ] {
            let (t, lo) = round_outward(x, false).unwrap();
            let (u, hi) = round_outward(x, true).unwrap();
            assert!(lo <= x && hi >= x, "{x}: {lo} {hi}");
            assert!(t.len() <= 8 && u.len() <= 8, "{t} {u}");
            assert_eq!(t.parse::<f64>().unwrap(), lo);
        }
        assert!(round_outward(1e9, true).is_none());
    }

    #[test]
    fn tal_text() {
        let a = Annotation::new(1.5, Some(0.25), "T1");
        assert_eq!(annotation_tal(&a, 0.0), b"+1.5\x150.25\x14T1\x14\x00");
        assert_eq!(format_onset(0.0), "+0");
    }
}
