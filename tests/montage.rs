//! Channel-name normalisation and standard_1005 positions against MNE-Python.

mod common;

use eegclean::data::{normalize_label, standard_1005, standard_1005_position};

/// Labels of S001R04 as MNE reads them, MNE's eegbci.standardize names, and the positions
/// MNE's set_montage('standard_1005') gives them.
const EEGMMIDB_ORACLE: &str = r#"
import json, sys, warnings
import mne
warnings.simplefilter("ignore", FutureWarning)
raw = mne.io.read_raw_edf(sys.argv[1], verbose="ERROR")
labels = list(raw.ch_names)
mne.datasets.eegbci.standardize(raw)
raw.set_montage(mne.channels.make_standard_montage("standard_1005"), match_case=False)
print(json.dumps({
    "labels": labels,
    "names": list(raw.ch_names),
    "positions": [[float(v) for v in ch["loc"][:3]] for ch in raw.info["chs"]],
}))
"#;

fn parse_oracle(out: &str) -> serde_json::Value {
    serde_json::from_str(out.trim()).expect("oracle prints JSON")
}

#[test]
fn eegmmidb_labels_normalise_and_locate_like_mne() {
    let edf = common::shared_file("data/eegmmidb/S001/S001R04.edf");
    let oracle = parse_oracle(&common::run_python(
        EEGMMIDB_ORACLE,
        &[edf.to_str().expect("utf-8 path")],
    ));
    let labels = oracle["labels"].as_array().expect("labels");
    let names = oracle["names"].as_array().expect("names");
    let positions = oracle["positions"].as_array().expect("positions");
    assert_eq!(labels.len(), 64);
    let mut worst = 0.0f64;
    for ((label, name), pos) in labels.iter().zip(names).zip(positions) {
        let label = label.as_str().expect("label");
        let mne_name = name.as_str().expect("name");
        let ours = normalize_label(label);
        assert_eq!(ours, mne_name, "normalize_label({label:?})");
        let ours_pos = standard_1005_position(&ours)
            .unwrap_or_else(|| panic!("{ours} missing from standard_1005"));
        for axis in 0..3 {
            let want = pos[axis].as_f64().expect("coordinate");
            let err = (ours_pos[axis] - want).abs();
            worst = worst.max(err);
            assert!(
                err <= 1e-9,
                "{ours} axis {axis}: {} vs MNE {want}",
                ours_pos[axis]
            );
        }
    }
    eprintln!("max |position - MNE| over 64 EEGMMIDB channels: {worst:e} m");
}

/// Every template electrode, looked up by an upper-cased name (MNE matches case-
/// insensitively), against MNE's head-frame positions computed afresh.
#[test]
fn whole_template_matches_mne_case_insensitively() {
    let oracle = parse_oracle(&common::run_python(
        r#"
import json, warnings
import numpy as np
import mne
warnings.simplefilter("ignore", FutureWarning)
m = mne.channels.make_standard_montage("standard_1005")
upper = [n.upper() for n in m.ch_names]
raw = mne.io.RawArray(np.zeros((len(upper), 1)), mne.create_info(upper, 100.0, "eeg"), verbose="ERROR")
raw.set_montage(m, match_case=False)
print(json.dumps({"names": m.ch_names, "upper": upper,
                  "positions": [[float(v) for v in ch["loc"][:3]] for ch in raw.info["chs"]]}))
"#,
        &[],
    ));
    let names = oracle["names"].as_array().expect("names");
    let upper = oracle["upper"].as_array().expect("upper");
    let positions = oracle["positions"].as_array().expect("positions");
    assert_eq!(names.len(), standard_1005().len());
    for ((name, up), pos) in names.iter().zip(upper).zip(positions) {
        let up = up.as_str().expect("name");
        assert_eq!(
            standard_1005().canonical_name(up),
            Some(name.as_str().expect("name"))
        );
        let ours = standard_1005_position(up).unwrap_or_else(|| panic!("{up} missing"));
        for axis in 0..3 {
            let want = pos[axis].as_f64().expect("coordinate");
            assert!((ours[axis] - want).abs() <= 1e-9, "{up} axis {axis}");
        }
    }
}
