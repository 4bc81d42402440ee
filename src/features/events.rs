//! Events (a sample index and an integer id) from annotations or from fixed-length windows,
//! computed as MNE-Python does.
//!
//! * [`events_from_annotations`] = `mne.events_from_annotations(raw, event_id=mapping)` for a
//!   recording whose first sample is 0: annotations are ordered by (onset, duration, original
//!   position) as `mne.Annotations` keeps them, and each selected annotation becomes the event
//!   at sample `round(onset · sfreq)`, rounding half to even (`np.round`).
//! * [`regex_event_mapping`] = the `event_id` that `mne.events_from_annotations(raw,
//!   regexp=pattern)` builds: the distinct descriptions that `re.match` the pattern (matched
//!   from the start, not necessarily to the end), in sorted order, numbered 1, 2, …; or, with
//!   an explicit `event_id`, those of its descriptions that match.
//! * [`fixed_length_events`] = `mne.make_fixed_length_events(raw, id, duration=duration,
//!   overlap=overlap)`; epochs over them use `tmin = 0`, `tmax = duration − 1/sfreq`
//!   ([`fixed_length_tmax`]), as `mne.make_fixed_length_epochs`.

use std::collections::BTreeMap;

use crate::data::Annotation;

/// One event: where it is and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Sample index from the start of the recording (may be negative for annotations
    /// before the start; such events are dropped when epoching).
    pub sample: i64,
    pub id: i64,
    /// The annotation description (or the label given for fixed-length windows).
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EventError {
    #[error("no annotation matches the requested events ({wanted}); the recording has: {present}")]
    NoMatchingEvents { wanted: String, present: String },
    #[error("sampling frequency must be positive and finite, got {0}")]
    BadSfreq(f64),
    #[error(
        "fixed-length windows: duration must be positive and overlap in [0, duration) \
         (got duration {duration} s, overlap {overlap} s)"
    )]
    BadWindow { duration: f64, overlap: f64 },
    #[error(
        "fixed-length windows of {duration} s do not fit in a recording of {n_samples} samples \
         at {sfreq} Hz"
    )]
    RecordingTooShort {
        duration: f64,
        n_samples: usize,
        sfreq: f64,
    },
}

/// Python's `round()` / `np.round`: to nearest, ties to even.
pub(crate) fn round_half_even(x: f64) -> f64 {
    x.round_ties_even()
}

/// Events from the annotations whose description is a key of `mapping` (description → id).
/// Errors when none matches (MNE returns an empty array; an empty epoch set is never what a
/// pipeline wants, so we say which descriptions exist instead).
pub fn events_from_annotations(
    annotations: &[Annotation],
    sfreq: f64,
    mapping: &[(String, i64)],
) -> Result<Vec<Event>, EventError> {
    if !(sfreq.is_finite() && sfreq > 0.0) {
        return Err(EventError::BadSfreq(sfreq));
    }
    let mut order: Vec<usize> = (0..annotations.len()).collect();
    // mne.Annotations._sort: sorted(zip(onset, duration, index)).
    order.sort_by(|&a, &b| {
        let (x, y) = (&annotations[a], &annotations[b]);
        x.onset
            .total_cmp(&y.onset)
            .then(
                x.duration
                    .unwrap_or(0.0)
                    .total_cmp(&y.duration.unwrap_or(0.0)),
            )
            .then(a.cmp(&b))
    });
    let events: Vec<Event> = order
        .into_iter()
        .filter_map(|i| {
            let a = &annotations[i];
            mapping
                .iter()
                .find(|(d, _)| *d == a.description)
                .map(|(d, id)| Event {
                    sample: round_half_even(a.onset * sfreq) as i64,
                    id: *id,
                    label: d.clone(),
                })
        })
        .collect();
    if events.is_empty() {
        let mut present: Vec<&str> = annotations.iter().map(|a| a.description.as_str()).collect();
        present.sort_unstable();
        present.dedup();
        return Err(EventError::NoMatchingEvents {
            wanted: mapping
                .iter()
                .map(|(d, _)| d.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            present: if present.is_empty() {
                "no annotations".into()
            } else {
                present.join(", ")
            },
        });
    }
    Ok(events)
}

/// An annotation-description pattern with Python `re.match` semantics: it must match at the
/// start of the description (`\A(?:pattern)`), as MNE's `regexp` does. Syntax is the Rust
/// `regex` crate's, which is Python's minus look-around and back-references.
#[derive(Debug, Clone)]
pub struct DescriptionPattern {
    source: String,
    regex: regex::Regex,
}

impl DescriptionPattern {
    pub fn new(pattern: &str) -> Result<Self, regex::Error> {
        Ok(Self {
            source: pattern.to_string(),
            regex: regex::Regex::new(&format!(r"\A(?:{pattern})"))?,
        })
    }

    /// The pattern as the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether `re.match(pattern, description)` would succeed.
    pub fn matches(&self, description: &str) -> bool {
        self.regex.is_match(description)
    }
}

/// The (description, id) mapping `mne.events_from_annotations(raw, event_id, regexp=pattern)`
/// selects. Without `event_id` (MNE's `"auto"` for non-BrainVision descriptions): every
/// distinct description matching `pattern`, in sorted order, numbered from 1. With
/// `event_id`: its descriptions that occur and match, with their ids. Errors when nothing is
/// selected (MNE raises "Could not find any of the events you specified").
pub fn regex_event_mapping(
    annotations: &[Annotation],
    pattern: &DescriptionPattern,
    event_id: Option<&BTreeMap<String, i64>>,
) -> Result<Vec<(String, i64)>, EventError> {
    let mut descriptions: Vec<&str> = annotations.iter().map(|a| a.description.as_str()).collect();
    // Python's sorted() on str orders by code point, as Rust's byte order on UTF-8 does.
    descriptions.sort_unstable();
    descriptions.dedup();
    let mut mapping = Vec::new();
    for d in descriptions.iter().copied().filter(|d| pattern.matches(d)) {
        match event_id {
            None => mapping.push((d.to_string(), mapping.len() as i64 + 1)),
            Some(ids) => {
                if let Some(&id) = ids.get(d) {
                    mapping.push((d.to_string(), id));
                }
            }
        }
    }
    if mapping.is_empty() {
        return Err(EventError::NoMatchingEvents {
            wanted: match event_id {
                None => format!("descriptions matching `{}`", pattern.as_str()),
                Some(ids) => format!(
                    "descriptions matching `{}` among {}",
                    pattern.as_str(),
                    ids.keys()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
            present: if descriptions.is_empty() {
                "no annotations".into()
            } else {
                descriptions.join(", ")
            },
        });
    }
    Ok(mapping)
}

/// `mne.make_fixed_length_events` from the start to the end of a recording of `n_samples`.
pub fn fixed_length_events(
    n_samples: usize,
    sfreq: f64,
    duration: f64,
    overlap: f64,
    id: i64,
    label: &str,
) -> Result<Vec<Event>, EventError> {
    if !(sfreq.is_finite() && sfreq > 0.0) {
        return Err(EventError::BadSfreq(sfreq));
    }
    if !(duration.is_finite() && duration > 0.0 && overlap >= 0.0 && overlap < duration) {
        return Err(EventError::BadWindow { duration, overlap });
    }
    let start = 0i64;
    // stop = len(raw.times) - round(sfreq * duration); the arange end is inclusive (stop + 1).
    let stop = n_samples as i64 - round_half_even(sfreq * duration) as i64;
    let step = sfreq * (duration - overlap);
    let end = (stop + 1) as f64;
    // np.arange(start, stop + 1, step): ceil((stop + 1 - start) / step) values
    // start + i·delta with delta = (start + step) − start, truncated to int.
    let count = ((end - start as f64) / step).ceil();
    if count.is_nan() || count < 1.0 {
        return Err(EventError::RecordingTooShort {
            duration,
            n_samples,
            sfreq,
        });
    }
    let delta = (start as f64 + step) - start as f64;
    Ok((0..count as i64)
        .map(|i| Event {
            sample: (start as f64 + i as f64 * delta).trunc() as i64,
            id,
            label: label.to_string(),
        })
        .collect())
}

/// `tmax` of `mne.make_fixed_length_epochs`: `duration − 1/sfreq`.
pub fn fixed_length_tmax(duration: f64, sfreq: f64) -> f64 {
    duration - 1.0 / sfreq
}
