//! Electrode positions: MNE's `standard_1005` template in MNE's head frame.
//!
//! The table (`configs/standard_1005.tsv`) is generated once from MNE-Python by
//! `scripts/make_montage_tsv.py` and embedded in the binary, so looking up a position
//! needs neither Python nor a file at run time. Positions are exactly what
//! `raw.set_montage(make_standard_montage('standard_1005'))` stores in
//! `raw.info['chs'][i]['loc'][:3]` (metres, head frame: origin between the pre-auricular
//! points, +x right, +y nasion, +z up).

use std::collections::HashMap;
use std::sync::OnceLock;

use thiserror::Error;

/// The embedded `standard_1005` table (MNE-Python, BSD-3-Clause).
const STANDARD_1005_TSV: &str = include_str!("../../configs/standard_1005.tsv");

/// Why a montage table could not be parsed.
#[derive(Debug, Error, PartialEq)]
pub enum MontageError {
    #[error("{source_name}:{line}: expected 4 tab-separated fields `name x y z`, found {found}")]
    FieldCount {
        source_name: String,
        line: usize,
        found: usize,
    },
    #[error(
        "{source_name}:{line}: coordinate `{text}` of `{name}` is not a finite number (metres)"
    )]
    Coordinate {
        source_name: String,
        line: usize,
        name: String,
        text: String,
    },
    #[error(
        "{source_name}:{line}: `{name}` repeats `{previous}` (names must differ case-insensitively, \
         as MNE's set_montage(match_case=False) requires)"
    )]
    Duplicate {
        source_name: String,
        line: usize,
        name: String,
        previous: String,
    },
    #[error("{source_name}: no header line `name\\tx\\ty\\tz` before the positions")]
    MissingHeader { source_name: String },
}

/// Named electrode positions with case-insensitive lookup.
#[derive(Debug, Clone)]
pub struct Montage {
    names: Vec<String>,
    positions: Vec<[f64; 3]>,
    /// Lower-cased name → index, the matching rule of MNE's `match_case=False`.
    by_folded_name: HashMap<String, usize>,
}

impl Montage {
    /// Parse a TSV table: `#` comment lines, a header `name x y z`, then one electrode per
    /// line with coordinates in metres. `source_name` is used in error messages.
    pub fn parse_tsv(text: &str, source_name: &str) -> Result<Montage, MontageError> {
        let mut montage = Montage {
            names: Vec::new(),
            positions: Vec::new(),
            by_folded_name: HashMap::new(),
        };
        let mut seen_header = false;
        for (index, raw_line) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw_line.trim_end_matches('\r');
            if trimmed.trim().is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = trimmed.split('\t').collect();
            if fields.len() != 4 {
                return Err(MontageError::FieldCount {
                    source_name: source_name.to_string(),
                    line,
                    found: fields.len(),
                });
            }
            if !seen_header {
                if fields == ["name", "x", "y", "z"] {
                    seen_header = true;
                    continue;
                }
                return Err(MontageError::MissingHeader {
                    source_name: source_name.to_string(),
                });
            }
            let name = fields[0].trim().to_string();
            let mut position = [0.0; 3];
            for (axis, text) in fields[1..].iter().enumerate() {
                position[axis] = text
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| MontageError::Coordinate {
                        source_name: source_name.to_string(),
                        line,
                        name: name.clone(),
                        text: text.to_string(),
                    })?;
            }
            let folded = name.to_lowercase();
            if let Some(&previous) = montage.by_folded_name.get(&folded) {
                return Err(MontageError::Duplicate {
                    source_name: source_name.to_string(),
                    line,
                    name,
                    previous: montage.names[previous].clone(),
                });
            }
            montage.by_folded_name.insert(folded, montage.names.len());
            montage.names.push(name);
            montage.positions.push(position);
        }
        if !seen_header {
            return Err(MontageError::MissingHeader {
                source_name: source_name.to_string(),
            });
        }
        Ok(montage)
    }

    /// Position (metres, head frame) of `name`, matched case-insensitively.
    pub fn position(&self, name: &str) -> Option<[f64; 3]> {
        self.index_of(name).map(|i| self.positions[i])
    }

    /// The montage's own spelling of `name` (e.g. `fcz` → `FCz`), if it has it.
    pub fn canonical_name(&self, name: &str) -> Option<&str> {
        self.index_of(name).map(|i| self.names[i].as_str())
    }

    /// Electrode names in table order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        self.by_folded_name.get(&name.to_lowercase()).copied()
    }
}

/// MNE's `standard_1005` montage, parsed once on first use.
pub fn standard_1005() -> &'static Montage {
    static MONTAGE: OnceLock<Montage> = OnceLock::new();
    MONTAGE.get_or_init(|| {
        // The table is a compile-time constant, not user input; the unit test
        // `embedded_table_parses` guarantees this never fails in a built binary.
        Montage::parse_tsv(STANDARD_1005_TSV, "configs/standard_1005.tsv")
            .expect("embedded configs/standard_1005.tsv is valid (checked by unit tests)")
    })
}

/// Head-frame position (metres) of a `standard_1005` electrode, matched case-insensitively
/// as MNE's `set_montage(..., match_case=False)` does; `None` if the template lacks it.
pub fn standard_1005_position(name: &str) -> Option<[f64; 3]> {
    standard_1005().position(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_table_parses() {
        let montage = Montage::parse_tsv(STANDARD_1005_TSV, "embedded").unwrap();
        assert_eq!(montage.len(), 343);
    }

    #[test]
    fn lookup_ignores_case() {
        assert_eq!(standard_1005_position("fcz"), standard_1005_position("FCz"));
        assert!(standard_1005_position("FCz").is_some());
        assert_eq!(standard_1005().canonical_name("POZ"), Some("POz"));
        assert_eq!(standard_1005_position("NotAnElectrode"), None);
    }

    #[test]
    fn bad_tables_are_reported_with_line() {
        let err = Montage::parse_tsv("name\tx\ty\tz\nCz\t0\tnope\t0\n", "t.tsv").unwrap_err();
        assert!(matches!(err, MontageError::Coordinate { line: 2, .. }));
        let err =
            Montage::parse_tsv("name\tx\ty\tz\nCz\t0\t0\t0\ncz\t0\t0\t1\n", "t.tsv").unwrap_err();
        assert!(matches!(err, MontageError::Duplicate { line: 3, .. }));
        let err = Montage::parse_tsv("Cz\t0\t0\t0\n", "t.tsv").unwrap_err();
        assert!(matches!(err, MontageError::MissingHeader { .. }));
        let err = Montage::parse_tsv("name\tx\ty\tz\nCz\t0\t0\n", "t.tsv").unwrap_err();
        assert!(matches!(err, MontageError::FieldCount { found: 3, .. }));
    }
}
