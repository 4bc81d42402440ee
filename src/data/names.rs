//! Channel-name normalisation: EEGMMIDB-style labels (`Fc5.`, `Iz..`) and common EDF
//! decorations (`EEG Fp1-REF`) to the names the montage and the pipeline use.

use super::montage::standard_1005;

/// Exactly what `mne.datasets.eegbci.standardize` does to one name (MNE 1.13):
/// strip `.` from both ends, upper-case, then a trailing `Z` becomes `z` and a leading
/// `FP` becomes `Fp` (`Fc5.` → `FC5`, `Afz.` → `AFz`, `Fp1.` → `Fp1`).
pub fn eegbci_standardize(label: &str) -> String {
    // Python's str.strip(".") strips both ends; str.upper() is full Unicode upper-casing,
    // which Rust's to_uppercase also implements.
    let mut name = label.trim_matches('.').to_uppercase();
    if name.ends_with('Z') {
        name.pop();
        name.push('z');
    }
    if let Some(rest) = name.strip_prefix("FP") {
        name = format!("Fp{rest}");
    }
    name
}

/// Normalise a channel label: [`eegbci_standardize`], then, if the `standard_1005`
/// template has the name case-insensitively, the template's spelling (so `AFF1H` becomes
/// `AFF1h` and `FPZ` becomes `Fpz`). Names the template lacks keep MNE's result.
pub fn normalize_label(label: &str) -> String {
    let standardized = eegbci_standardize(label);
    match standard_1005().canonical_name(&standardized) {
        Some(canonical) => canonical.to_string(),
        None => standardized,
    }
}

/// Prefixes that EDF writers put before an electrode name (matched case-insensitively,
/// followed by at least one space): `EEG Fp1` (Nihon Kohden, TUH, many others).
const DECORATION_PREFIXES: [&str; 1] = ["EEG"];

/// Suffixes naming the reference, matched case-insensitively after a `-`: `-REF`/`-Ref`
/// (common reference), `-LE` (linked ears), `-AR` and `-AVG` (average reference).
const REFERENCE_SUFFIXES: [&str; 4] = ["REF", "LE", "AR", "AVG"];

/// Remove recording decorations around an electrode name: a leading `EEG ` and a trailing
/// reference suffix (`-REF`, `-Ref`, `-LE`, `-AR`, `-AVG`), plus surrounding whitespace.
/// `EEG Fp1-REF` → `Fp1`. Bipolar labels such as `Fp1-F7` are left alone (the part after
/// the dash is an electrode, not a reference). If stripping would leave nothing, the
/// trimmed label is returned unchanged. Apply before [`normalize_label`].
pub fn strip_reference_decorations(label: &str) -> String {
    let mut name = label.trim();
    for prefix in DECORATION_PREFIXES {
        if name.len() > prefix.len()
            && name.is_char_boundary(prefix.len())
            && name[..prefix.len()].eq_ignore_ascii_case(prefix)
            && name[prefix.len()..].starts_with(char::is_whitespace)
        {
            name = name[prefix.len()..].trim_start();
        }
    }
    if let Some(dash) = name.rfind('-') {
        let suffix = &name[dash + 1..];
        if REFERENCE_SUFFIXES
            .iter()
            .any(|s| s.eq_ignore_ascii_case(suffix.trim()))
        {
            name = name[..dash].trim_end();
        }
    }
    if name.is_empty() {
        label.trim().to_string()
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eegmmidb_examples_from_the_brief() {
        for (raw, want) in [
            ("Fc5.", "FC5"),
            ("Fp1.", "Fp1"),
            ("Fpz.", "Fpz"),
            ("Iz..", "Iz"),
            ("T9..", "T9"),
            ("Afz.", "AFz"),
            ("Cz..", "Cz"),
            ("Poz.", "POz"),
        ] {
            assert_eq!(normalize_label(raw), want, "{raw}");
        }
    }

    #[test]
    fn template_case_wins_over_upper_case() {
        assert_eq!(eegbci_standardize("aff1h"), "AFF1H");
        assert_eq!(normalize_label("aff1h"), "AFF1h");
        assert_eq!(normalize_label("STI 014"), "STI 014");
    }

    #[test]
    fn decorations_are_stripped() {
        assert_eq!(strip_reference_decorations("EEG Fp1-REF"), "Fp1");
        assert_eq!(strip_reference_decorations("EEG C3-Ref"), "C3");
        assert_eq!(strip_reference_decorations(" eeg  O2-le "), "O2");
        assert_eq!(strip_reference_decorations("Fp1-F7"), "Fp1-F7");
        assert_eq!(strip_reference_decorations("EEGX"), "EEGX");
        assert_eq!(strip_reference_decorations("-REF"), "-REF");
        assert_eq!(
            normalize_label(&strip_reference_decorations("EEG FP1-REF")),
            "Fp1"
        );
    }
}
