//! The command line as a user meets it: exit codes, messages, outputs on disk.

mod common;

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

fn eegclean() -> Command {
    Command::cargo_bin("eegclean").unwrap()
}

fn write_pipeline(dir: &Path, input: &Path, stages: &str) -> std::path::PathBuf {
    let p = dir.join("pipeline.yaml");
    std::fs::write(
        &p,
        format!(
            "name: t\ninput: {{ root: {}, pattern: \"**/*.edf\" }}\noutput: out\nstages:\n{stages}",
            input.display()
        ),
    )
    .unwrap();
    p
}

const BASIC: &str = "  raw: { kind: load }\n  reref: { kind: rereference, after: [raw] }\n  f: { kind: filter, after: [reref], l_freq: 1.0, h_freq: 40.0 }\n  w: { kind: write_edf, after: [f] }\n";

#[test]
fn help_teaches_the_commands() {
    eegclean()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("demo").and(predicate::str::contains("validate")));
    eegclean()
        .args(["stages", "filter"])
        .assert()
        .success()
        .stdout(predicate::str::contains("l_freq").and(predicate::str::contains("example")));
}

#[test]
fn validate_reports_file_line_column_and_exits_2() {
    let dir = common::scratch();
    let p = write_pipeline(dir.path(), dir.path(), "  raw: { kind: lod }\n");
    eegclean()
        .args(["validate", p.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("pipeline.yaml:5:16:")
                .and(predicate::str::contains("did you mean `load`?")),
        );
}

#[test]
fn one_corrupt_recording_fails_alone() {
    // Two good recordings and the CRLF-damaged one in one input folder.
    let dir = common::scratch();
    let input = dir.path().join("in");
    common::link_inputs(
        &input,
        &[
            ("S001/rec.edf", "data/eegmmidb/S001/S001R01.edf"),
            ("S002/rec.edf", "data/eegmmidb/S001/S001R02.edf"),
            ("S003/rec.edf", "data/corrupt/S001R04_crlf_damaged.edf"),
        ],
    );
    let p = write_pipeline(dir.path(), &input, BASIC);
    eegclean()
        .args(["run", p.to_str().unwrap(), "--jobs", "2", "--quiet"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("S003").and(predicate::str::contains("size")))
        .stdout(predicate::str::contains("2 ok, 1 failed"));
    let out = dir.path().join("out");
    assert!(
        out.join("sub-S001/sub-S001_rec-rec_desc-clean_eeg.edf")
            .exists()
    );
    assert!(
        out.join("sub-S002/sub-S002_rec-rec_desc-clean_eeg.edf")
            .exists()
    );
    assert!(
        !out.join("sub-S003").exists(),
        "nothing may be written for the corrupt file"
    );
    // No temporary files left anywhere.
    for e in walkdir::WalkDir::new(&out) {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.ends_with(".tmp"), "left over: {name}");
    }
    // The summary (read back by polars) has one row per recording with status and error.
    let f = std::fs::File::open(out.join("summary.parquet")).unwrap();
    use polars::prelude::*;
    let df = ParquetReader::new(f).finish().unwrap();
    assert_eq!(df.height(), 3);
    let status_col = df.column("status").unwrap().str().unwrap();
    let status: Vec<Option<&str>> = (0..df.height()).map(|i| status_col.get(i)).collect();
    assert_eq!(status, [Some("ok"), Some("ok"), Some("failed")]);
    let err = df.column("error").unwrap().str().unwrap().get(2).unwrap();
    assert!(
        err.contains("S001R04_crlf_damaged") || err.contains("rec.edf"),
        "{err}"
    );
}

#[test]
fn outputs_do_not_depend_on_the_number_of_jobs() {
    let dir = common::scratch();
    let input = dir.path().join("in");
    common::link_inputs(
        &input,
        &[
            ("R01/x.edf", "data/eegmmidb/S001/S001R01.edf"),
            ("R02/x.edf", "data/eegmmidb/S001/S001R02.edf"),
            ("R03/x.edf", "data/eegmmidb/S001/S001R03.edf"),
        ],
    );
    // The whole cleaning chain: ICA (seeded), ICLabel, rules, reconstruction, EDF.
    let model = common::shared_file("models/ICLabelNet.onnx");
    let stages = format!(
        "  raw: {{ kind: load }}\n  reref: {{ kind: rereference, after: [raw] }}\n  f: {{ kind: filter, after: [reref], l_freq: 1.0, h_freq: 40.0 }}\n  ica: {{ kind: ica, after: [f], n_components: 15 }}\n  labels: {{ kind: classify_components, after: [ica, f], iclabel: {{ model: {} }}, eog: {{ channels: [Fp1, Fp2] }}, muscle: true }}\n  clean: {{ kind: reconstruct, after: [f, labels] }}\n  w: {{ kind: write_edf, after: [clean] }}\n",
        model.display()
    );
    let p = write_pipeline(dir.path(), &input, &stages);
    let mut runs = Vec::new();
    for jobs in ["1", "3"] {
        let out = dir.path().join(format!("out{jobs}"));
        eegclean()
            .args([
                "run",
                p.to_str().unwrap(),
                "--quiet",
                "--jobs",
                jobs,
                "--output",
                out.to_str().unwrap(),
            ])
            .assert()
            .success();
        let mut files: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(&out)
            .sort_by_file_name()
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().is_file())
            .filter(|e| {
                let n = e.file_name().to_string_lossy();
                // Provenance and summary hold timings; everything else must be identical.
                !n.ends_with("provenance.json") && !n.contains("summary")
            })
            .map(|e| {
                (
                    e.path().strip_prefix(&out).unwrap().display().to_string(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        files.sort();
        runs.push(files);
    }
    assert_eq!(
        runs[0].len(),
        15,
        "3 × (EDF + channel table + annotation table + ICA + components table)"
    );
    assert!(
        runs[0] == runs[1],
        "outputs differ between --jobs 1 and --jobs 3"
    );
}

#[test]
fn plan_lists_stages_and_recordings() {
    let dir = common::scratch();
    let p = write_pipeline(dir.path(), &common::shared_file("data/eegmmidb"), BASIC);
    eegclean()
        .args(["plan", p.to_str().unwrap()])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("8 recordings from 1 subject")
                .and(predicate::str::contains("sub-S001_rec-S001R04"))
                .and(predicate::str::contains("write_edf")),
        );
}

#[test]
fn missing_input_folder_is_a_clear_error() {
    let dir = common::scratch();
    let p = write_pipeline(dir.path(), &dir.path().join("nope"), BASIC);
    eegclean()
        .args(["run", p.to_str().unwrap(), "--quiet"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("input.root").and(predicate::str::contains("nope")));
}

#[test]
fn a_channel_the_recording_lacks_fails_that_recording_by_name() {
    let dir = common::scratch();
    let input = dir.path().join("in");
    common::link_inputs(&input, &[("a.edf", "data/eegmmidb/S001/S001R01.edf")]);
    let p = write_pipeline(
        dir.path(),
        &input,
        "  raw: { kind: load }\n  r: { kind: rereference, after: [raw], ref: [M1] }\n  w: { kind: write_edf, after: [r] }\n",
    );
    eegclean()
        .args(["run", p.to_str().unwrap(), "--quiet"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("`M1`").and(predicate::str::contains("a.edf")));
}

#[test]
fn a_filter_above_nyquist_fails_with_the_parameter_named() {
    let dir = common::scratch();
    let input = dir.path().join("in");
    common::link_inputs(&input, &[("a.edf", "data/eegmmidb/S001/S001R01.edf")]);
    // 160 Hz recording: Nyquist is 80 Hz.
    let p = write_pipeline(
        dir.path(),
        &input,
        "  raw: { kind: load }\n  f: { kind: filter, after: [raw], h_freq: 100 }\n  w: { kind: write_edf, after: [f] }\n",
    );
    eegclean()
        .args(["run", p.to_str().unwrap(), "--quiet"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("h_freq").and(predicate::str::contains("a.edf")));
}

#[test]
fn demo_runs_offline_and_writes_cleaned_edf() {
    let dir = common::scratch();
    let out = dir.path().join("demo");
    eegclean()
        .args(["demo", "--out", out.to_str().unwrap(), "--subjects", "2"])
        .assert()
        .success()
        .stdout(predicate::str::contains("2 ok, 0 failed"));
    let cleaned: Vec<_> = walkdir::WalkDir::new(out.join("derivatives"))
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .ends_with("_desc-clean_eeg.edf")
        })
        .collect();
    assert_eq!(cleaned.len(), 2);
}

#[test]
fn inspect_json_matches_pyedflib() {
    let f = common::shared_file("data/eog/short_psg.edf");
    let out = eegclean()
        .args(["inspect", "--json", f.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let ours: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let theirs: serde_json::Value = serde_json::from_str(&common::run_python(
        "import sys, json, pyedflib\n\
         f = pyedflib.EdfReader(sys.argv[1])\n\
         print(json.dumps({'labels': f.getSignalLabels(), 'rates': [float(f.getSampleFrequency(i)) for i in range(f.signals_in_file)], 'n': [int(x) for x in f.getNSamples()], 'ann': len(f.readAnnotations()[0])}))",
        &[f.to_str().unwrap()],
    ))
    .unwrap();
    let chans = ours["channels"].as_array().unwrap();
    let labels: Vec<&str> = chans
        .iter()
        .map(|c| c["label"].as_str().unwrap().trim())
        .collect();
    let want: Vec<&str> = theirs["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(labels, want);
    for (c, r) in chans.iter().zip(theirs["rates"].as_array().unwrap()) {
        assert!((c["sample_rate"].as_f64().unwrap() - r.as_f64().unwrap()).abs() < 1e-9);
    }
    for (c, n) in chans.iter().zip(theirs["n"].as_array().unwrap()) {
        assert_eq!(c["n_samples"].as_u64().unwrap(), n.as_u64().unwrap());
    }
    assert_eq!(
        ours["annotations"].as_array().unwrap().len() as u64,
        theirs["ann"].as_u64().unwrap()
    );
}

#[test]
fn bids_layout_finds_eeg_and_ieeg_recordings_only() {
    let dir = common::scratch();
    let root = dir.path().join("bids");
    let edf = common::shared_file("data/eegmmidb/S001/S001R01.edf");
    for rel in [
        "sub-01/eeg/sub-01_task-rest_eeg.edf",
        "sub-02/ses-1/ieeg/sub-02_ses-1_task-rest_ieeg.edf",
        "sub-02/ses-1/eeg/sub-02_ses-1_task-rest_physio.edf",
        "derivatives/x/sub-01/eeg/sub-01_task-rest_eeg.edf",
    ] {
        std::fs::create_dir_all(root.join(rel).parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&edf, root.join(rel)).unwrap();
    }
    let p = dir.path().join("p.yaml");
    std::fs::write(
        &p,
        format!(
            "name: t\ninput: {{ root: {}, layout: bids }}\nstages:\n  raw: {{ kind: load }}\n",
            root.display()
        ),
    )
    .unwrap();
    eegclean()
        .args(["plan", p.to_str().unwrap()])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("2 recordings from 2 subjects")
                .and(predicate::str::contains("sub-01_task-rest"))
                .and(predicate::str::contains("sub-02_ses-1_task-rest"))
                .and(predicate::str::contains("physio").not()),
        );
}
