//! Cutting a continuous recording into epochs around events, exactly as `mne.Epochs`
//! (MNE 1.13, `preload=True`, first sample 0) does.
//!
//! Sample window ([`SampleWindow::new`]): `first = round(tmin·sfreq)`, `last =
//! round(tmax·sfreq)` (Python rounding, ties to even), both inclusive, so `n_times = last −
//! first + 1`; `tmax = 4 − 1/sfreq` gives exactly `4·sfreq` samples. An epoch for the event at
//! sample `e` spans samples `e + first ..= e + last`.
//!
//! Per event, in MNE's order (first reason wins, as in `drop_log`):
//! 1. starts before sample 0 → [`DropReason::NoData`];
//! 2. overlaps an annotation whose description starts with `bad` (any case) →
//!    [`DropReason::BadAnnotation`] (overlap: `onset < stop/sfreq` and
//!    `onset + duration > start/sfreq`, `stop` exclusive, as `_check_bad_segment`);
//! 3. runs past the last sample → [`DropReason::TooShort`];
//! 4. baseline correction (mean over the baseline window of the full-rate epoch, subtracted),
//!    then decimation (keep samples `i ≡ (−first mod decim) + offset (mod decim)`, so that
//!    `t = 0` is kept when offset is 0);
//! 5. peak-to-peak of each channel of the corrected, decimated epoch: `> reject` →
//!    [`DropReason::PeakToPeak`], `< flat` → [`DropReason::Flat`] (both can apply).
//!
//! Deviation: MNE keeps an epoch that runs past the end if decimation happens to drop the
//! missing samples; we always drop it as too short.

use ndarray::{Array3, ArrayView2, Axis, s};

use super::events::{Event, round_half_even};
use crate::data::Annotation;

/// The samples of one epoch relative to its event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleWindow {
    /// Offset of the first sample from the event sample (`round(tmin·sfreq)`).
    pub first: i64,
    /// Number of samples before decimation.
    pub n_times: usize,
}

impl SampleWindow {
    pub fn new(tmin: f64, tmax: f64, sfreq: f64) -> Result<Self, EpochError> {
        if !(sfreq.is_finite() && sfreq > 0.0) {
            return Err(EpochError::BadSfreq(sfreq));
        }
        if !(tmin.is_finite() && tmax.is_finite()) || tmin > tmax {
            return Err(EpochError::BadTimes { tmin, tmax });
        }
        let first = round_half_even(tmin * sfreq) as i64;
        let last = round_half_even(tmax * sfreq) as i64;
        if last < first {
            return Err(EpochError::BadTimes { tmin, tmax });
        }
        Ok(Self {
            first,
            n_times: (last - first + 1) as usize,
        })
    }

    /// Times in seconds of the full-rate samples (MNE `epochs._raw_times`).
    pub fn times(&self, sfreq: f64) -> Vec<f64> {
        (0..self.n_times)
            .map(|i| (self.first + i as i64) as f64 / sfreq)
            .collect()
    }
}

/// Baseline window in seconds relative to the event; `None` ends mean the epoch's start/end
/// (MNE `baseline=(a, b)`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Baseline {
    pub start: Option<f64>,
    pub end: Option<f64>,
}

/// Keep every `factor`-th sample, starting `offset` samples after the one aligned with t=0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimation {
    pub factor: usize,
    pub offset: usize,
}

/// How to cut epochs.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochParams {
    pub tmin: f64,
    pub tmax: f64,
    pub baseline: Option<Baseline>,
    pub decimation: Option<Decimation>,
    /// The recording's low-pass edge in Hz, if it was low-pass filtered. Decimation is refused
    /// when the new rate is below 3× this (or when it is unknown), unless `allow_aliasing`
    /// (MNE only warns; a silently aliased feature table is worse than a stopped pipeline).
    pub lowpass_hz: Option<f64>,
    pub allow_aliasing: bool,
    /// Per-channel peak-to-peak maxima (same units as the data); empty = no rejection,
    /// `None` for a channel = not checked (e.g. bad channels, which MNE ignores).
    pub reject: Vec<Option<f64>>,
    /// Per-channel peak-to-peak minima; empty = no flat check.
    pub flat: Vec<Option<f64>>,
    /// Drop epochs overlapping `BAD*` annotations (MNE `reject_by_annotation=True`).
    pub reject_by_annotation: bool,
}

impl EpochParams {
    /// `tmin`..`tmax`, no baseline, no decimation, no amplitude rejection, BAD spans rejected.
    pub fn new(tmin: f64, tmax: f64) -> Self {
        Self {
            tmin,
            tmax,
            baseline: None,
            decimation: None,
            lowpass_hz: None,
            allow_aliasing: false,
            reject: Vec::new(),
            flat: Vec::new(),
            reject_by_annotation: true,
        }
    }
}

/// Why an epoch was dropped (MNE `drop_log` entries).
#[derive(Debug, Clone, PartialEq)]
pub enum DropReason {
    /// Starts before the recording (`NO_DATA`).
    NoData,
    /// Runs past the end of the recording (`TOO_SHORT`).
    TooShort,
    /// Overlaps an annotation whose description starts with `bad` (that description).
    BadAnnotation(String),
    /// Peak-to-peak above the reject threshold on these channels (indices).
    PeakToPeak(Vec<usize>),
    /// Peak-to-peak below the flat threshold on these channels (indices).
    Flat(Vec<usize>),
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |v: &[usize]| {
            v.iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        match self {
            DropReason::NoData => f.write_str("starts before the recording"),
            DropReason::TooShort => f.write_str("runs past the end of the recording"),
            DropReason::BadAnnotation(d) => write!(f, "overlaps annotation `{d}`"),
            DropReason::PeakToPeak(c) => {
                write!(f, "peak-to-peak above threshold on channels {}", list(c))
            }
            DropReason::Flat(c) => write!(
                f,
                "flat (peak-to-peak below threshold) on channels {}",
                list(c)
            ),
        }
    }
}

/// What happened to one event.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochRecord {
    pub event: Event,
    /// First sample of the window in the recording (may be negative).
    pub start: i64,
    /// One past the last sample (may exceed the recording length).
    pub stop: i64,
    /// Index into `Epochs::data` when kept.
    pub kept_index: Option<usize>,
    /// Empty when kept.
    pub reasons: Vec<DropReason>,
}

impl EpochRecord {
    pub fn is_rejected(&self) -> bool {
        self.kept_index.is_none()
    }
}

/// Epoched data.
#[derive(Debug, Clone, PartialEq)]
pub struct Epochs {
    /// Kept epochs × channels × times (after baseline and decimation).
    pub data: Array3<f64>,
    /// Seconds relative to the event of each kept time point.
    pub times: Vec<f64>,
    /// Sampling rate of `data` (after decimation).
    pub sfreq: f64,
    /// One record per input event, in input order.
    pub log: Vec<EpochRecord>,
}

impl Epochs {
    pub fn kept_events(&self) -> impl Iterator<Item = &Event> {
        self.log
            .iter()
            .filter(|r| r.kept_index.is_some())
            .map(|r| &r.event)
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EpochError {
    #[error("sampling frequency must be positive and finite, got {0}")]
    BadSfreq(f64),
    #[error(
        "epoch window: need finite tmin ≤ tmax that span at least one sample (got tmin {tmin} s, tmax {tmax} s)"
    )]
    BadTimes { tmin: f64, tmax: f64 },
    #[error("no events to epoch")]
    NoEvents,
    #[error(
        "events {first} and {second} are both at sample {sample}; MNE refuses repeated event \
         samples (event_repeated='error'): remove duplicate annotations"
    )]
    RepeatedEvent {
        first: usize,
        second: usize,
        sample: i64,
    },
    #[error("{what} has {got} thresholds but the data has {n_channels} channels")]
    ThresholdCount {
        what: &'static str,
        got: usize,
        n_channels: usize,
    },
    #[error("baseline ({start:?}, {end:?}) s selects no samples of the epoch {tmin}..{tmax} s")]
    BadBaseline {
        start: Option<f64>,
        end: Option<f64>,
        tmin: f64,
        tmax: f64,
    },
    #[error(
        "decimation: factor must be ≥ 1 and offset < factor (got factor {factor}, offset {offset})"
    )]
    BadDecimation { factor: usize, offset: usize },
    #[error(
        "decimation by {factor} gives {new_sfreq} Hz, below 3× the low-pass edge ({lowpass}): \
         the features would alias; low-pass filter first, decimate less, or set allow_aliasing"
    )]
    Aliasing {
        factor: usize,
        new_sfreq: f64,
        lowpass: String,
    },
    #[error(
        "all {n_events} epochs were rejected ({summary}); loosen the rejection thresholds or \
         check the annotations"
    )]
    AllRejected { n_events: usize, summary: String },
}

/// Cut `data` (channels × samples, recording starting at sample 0) around `events`.
/// Errors when nothing survives: an empty epoch set has no defined features.
pub fn cut_epochs(
    data: ArrayView2<f64>,
    sfreq: f64,
    events: &[Event],
    annotations: &[Annotation],
    params: &EpochParams,
) -> Result<Epochs, EpochError> {
    let (n_channels, n_samples) = data.dim();
    let window = SampleWindow::new(params.tmin, params.tmax, sfreq)?;
    if events.is_empty() {
        return Err(EpochError::NoEvents);
    }
    check_unique_samples(events)?;
    for (what, t) in [("reject", &params.reject), ("flat", &params.flat)] {
        if !t.is_empty() && t.len() != n_channels {
            return Err(EpochError::ThresholdCount {
                what,
                got: t.len(),
                n_channels,
            });
        }
    }
    let raw_times = window.times(sfreq);
    let baseline = params
        .baseline
        .map(|b| baseline_range(&raw_times, b, params))
        .transpose()?;
    let (keep_from, factor) = decimation(&window, sfreq, params)?;
    let kept_times: Vec<f64> = raw_times
        .iter()
        .skip(keep_from)
        .step_by(factor)
        .copied()
        .collect();
    let n_out = kept_times.len();

    let mut log = Vec::with_capacity(events.len());
    let mut kept: Vec<f64> = Vec::new();
    let mut n_kept = 0;
    let mut epoch = ndarray::Array2::<f64>::zeros((n_channels, window.n_times));
    for event in events {
        let start = event.sample + window.first;
        let stop = start + window.n_times as i64;
        let mut record = EpochRecord {
            event: event.clone(),
            start,
            stop,
            kept_index: None,
            reasons: Vec::new(),
        };
        if start < 0 {
            record.reasons.push(DropReason::NoData);
        } else if let Some(bad) = params
            .reject_by_annotation
            .then(|| bad_overlap(annotations, start, stop, sfreq))
            .flatten()
        {
            record.reasons.push(DropReason::BadAnnotation(bad));
        } else if stop > n_samples as i64 {
            record.reasons.push(DropReason::TooShort);
        } else {
            epoch.assign(&data.slice(s![.., start as usize..stop as usize]));
            if let Some((i0, i1)) = baseline {
                for mut row in epoch.rows_mut() {
                    let mean = row.slice(s![i0..i1]).sum() / (i1 - i0) as f64;
                    row.mapv_inplace(|v| v - mean);
                }
            }
            let decimated = epoch.slice(s![.., keep_from..;factor]);
            record.reasons = amplitude_reasons(decimated, params);
            if record.reasons.is_empty() {
                kept.extend(decimated.iter());
                record.kept_index = Some(n_kept);
                n_kept += 1;
            }
        }
        log.push(record);
    }
    if n_kept == 0 {
        return Err(EpochError::AllRejected {
            n_events: events.len(),
            summary: summarise(&log),
        });
    }
    let data = Array3::from_shape_vec((n_kept, n_channels, n_out), kept)
        .expect("kept holds n_kept × channels × n_out values by construction");
    Ok(Epochs {
        data,
        times: kept_times,
        sfreq: sfreq / factor as f64,
        log,
    })
}

fn check_unique_samples(events: &[Event]) -> Result<(), EpochError> {
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by_key(|&i| (events[i].sample, i));
    for w in order.windows(2) {
        if events[w[0]].sample == events[w[1]].sample {
            return Err(EpochError::RepeatedEvent {
                first: w[0],
                second: w[1],
                sample: events[w[0]].sample,
            });
        }
    }
    Ok(())
}

/// `[imin, imax)` as `mne.baseline.rescale`: first time ≥ start, last time ≤ end.
fn baseline_range(
    times: &[f64],
    b: Baseline,
    params: &EpochParams,
) -> Result<(usize, usize), EpochError> {
    let err = || EpochError::BadBaseline {
        start: b.start,
        end: b.end,
        tmin: params.tmin,
        tmax: params.tmax,
    };
    let imin = match b.start {
        None => 0,
        Some(t) => times.iter().position(|&x| x >= t).ok_or_else(err)?,
    };
    let imax = match b.end {
        None => times.len(),
        Some(t) => times.iter().rposition(|&x| x <= t).ok_or_else(err)? + 1,
    };
    if imin >= imax {
        return Err(err());
    }
    Ok((imin, imax))
}

/// First kept index and step, as `mne.utils.mixin.TimeMixin.decimate`.
fn decimation(
    window: &SampleWindow,
    sfreq: f64,
    params: &EpochParams,
) -> Result<(usize, usize), EpochError> {
    let Some(d) = params.decimation else {
        return Ok((0, 1));
    };
    if d.factor == 0 || d.offset >= d.factor {
        return Err(EpochError::BadDecimation {
            factor: d.factor,
            offset: d.offset,
        });
    }
    if d.factor == 1 {
        return Ok((0, 1));
    }
    let new_sfreq = sfreq / d.factor as f64;
    if !params.allow_aliasing {
        match params.lowpass_hz {
            Some(lp) if new_sfreq >= 3.0 * lp => {}
            other => {
                return Err(EpochError::Aliasing {
                    factor: d.factor,
                    new_sfreq,
                    lowpass: other.map_or("unknown".to_string(), |lp| format!("{lp} Hz")),
                });
            }
        }
    }
    // start_idx = round(-raw_times[0] * sfreq) = -first; Python's % is non-negative.
    let i_start = (-window.first).rem_euclid(d.factor as i64) as usize + d.offset;
    Ok((i_start, d.factor))
}

fn bad_overlap(annotations: &[Annotation], start: i64, stop: i64, sfreq: f64) -> Option<String> {
    let (t0, t1) = (start as f64 / sfreq, stop as f64 / sfreq);
    let mut sorted: Vec<&Annotation> = annotations.iter().collect();
    sorted.sort_by(|a, b| {
        a.onset.total_cmp(&b.onset).then(
            a.duration
                .unwrap_or(0.0)
                .total_cmp(&b.duration.unwrap_or(0.0)),
        )
    });
    sorted
        .into_iter()
        .find(|a| {
            a.onset < t1
                && a.onset + a.duration.unwrap_or(0.0) > t0
                && a.description.to_lowercase().starts_with("bad")
        })
        .map(|a| a.description.clone())
}

fn amplitude_reasons(epoch: ArrayView2<f64>, params: &EpochParams) -> Vec<DropReason> {
    if params.reject.is_empty() && params.flat.is_empty() {
        return Vec::new();
    }
    let ptp: Vec<f64> = epoch
        .axis_iter(Axis(0))
        .map(|row| {
            let (lo, hi) = row
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                    (lo.min(v), hi.max(v))
                });
            hi - lo
        })
        .collect();
    let over = |thresholds: &[Option<f64>], bad: fn(f64, f64) -> bool| -> Vec<usize> {
        thresholds
            .iter()
            .enumerate()
            .filter_map(|(c, t)| t.filter(|&t| bad(ptp[c], t)).map(|_| c))
            .collect()
    };
    let mut reasons = Vec::new();
    let too_big = over(&params.reject, |p, t| p > t);
    if !too_big.is_empty() {
        reasons.push(DropReason::PeakToPeak(too_big));
    }
    let flat = over(&params.flat, |p, t| p < t);
    if !flat.is_empty() {
        reasons.push(DropReason::Flat(flat));
    }
    reasons
}

fn summarise(log: &[EpochRecord]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for r in log {
        for reason in &r.reasons {
            let key = match reason {
                DropReason::NoData => "before the recording".to_string(),
                DropReason::TooShort => "past the end".to_string(),
                DropReason::BadAnnotation(d) => format!("annotation {d}"),
                DropReason::PeakToPeak(_) => "peak-to-peak".to_string(),
                DropReason::Flat(_) => "flat".to_string(),
            };
            match counts.iter_mut().find(|(k, _)| *k == key) {
                Some((_, n)) => *n += 1,
                None => counts.push((key, 1)),
            }
        }
    }
    counts
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}
