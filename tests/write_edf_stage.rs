//! What `write_edf` puts on disk, read back by MNE and pyedflib: the cleaned S001R04 equals
//! MNE's own filtered result within one quantisation step, annotations are all there, and the
//! header says which filters were applied.

mod common;

use eegclean::dag::{RunOptions, Selection, Status, discover, run};
use eegclean::spec::{Pipeline, Source};

#[test]
fn cleaned_s001r04_read_by_mne_and_pyedflib() {
    let dir = common::scratch();
    let input = dir.path().join("in/S001");
    std::fs::create_dir_all(&input).unwrap();
    let src = common::shared_file("data/eegmmidb/S001/S001R04.edf");
    std::os::unix::fs::symlink(&src, input.join("S001R04.edf")).unwrap();
    let yaml = "name: t\ninput: { root: in }\noutput: out\nstages:\n  raw: { kind: load }\n  reref: { kind: rereference, after: [raw] }\n  f: { kind: filter, after: [reref], l_freq: 1.0, h_freq: 40.0, notch: [60] }\n  w: { kind: write_edf, after: [f] }\n";
    let path = dir.path().join("p.yaml");
    std::fs::write(&path, yaml).unwrap();
    let p = Pipeline::from_source(Source::new(&path, yaml)).unwrap();
    let jobs = discover(&p.input, &Selection::default()).unwrap();
    let o = run(&p, &jobs, &RunOptions { jobs: 1 }, &|_| {});
    assert_eq!(o[0].status, Status::Ok, "{:?}", o[0].error);
    let out = dir
        .path()
        .join("out/sub-S001/sub-S001_rec-S001R04_desc-clean_eeg.edf");
    let reference = common::shared_file("ref/mne-S001R04/filtered_uV.npy");
    let report = common::run_python(
        r#"
import sys, numpy as np, mne, pyedflib
out, src, ref = sys.argv[1:4]
raw = mne.io.read_raw_edf(out, preload=True)
orig = mne.io.read_raw_edf(src)
ref = np.load(ref)
ours = raw.get_data() * 1e6
f = pyedflib.EdfReader(out)
lsb = np.array([(f.getPhysicalMaximum(i) - f.getPhysicalMinimum(i)) / (f.getDigitalMaximum(i) - f.getDigitalMinimum(i)) for i in range(f.signals_in_file)])
err = np.abs(ours - ref).max(axis=1)
print("max_err_in_lsb", float((err / lsb).max()))
print("n_ann", len(raw.annotations), len(orig.annotations))
same = all(abs(a['onset'] - b['onset']) < 1e-6 and a['description'] == b['description'] and abs(a['duration'] - b['duration']) < 1e-6 for a, b in zip(raw.annotations, orig.annotations))
print("ann_equal", same)
print("prefilter", f.getPrefilter(0))
print("names", ",".join(raw.ch_names[:3]))
"#,
        &[
            out.to_str().unwrap(),
            src.to_str().unwrap(),
            reference.to_str().unwrap(),
        ],
    );
    eprintln!("{report}");
    let field = |k: &str| {
        report
            .lines()
            .find(|l| l.starts_with(k))
            .unwrap()
            .split_once(' ')
            .unwrap()
            .1
            .to_string()
    };
    let err_lsb: f64 = field("max_err_in_lsb").parse().unwrap();
    // Our filtered data match MNE's to 1e-6 of RMS; quantisation adds at most half an LSB.
    assert!(
        err_lsb <= 1.0,
        "written data differ from MNE's filtered data by {err_lsb} LSB"
    );
    let n: Vec<usize> = field("n_ann")
        .split(' ')
        .map(|x| x.parse().unwrap())
        .collect();
    assert_eq!(n[0], n[1]);
    assert_eq!(n[0], 30);
    assert_eq!(field("ann_equal"), "True");
    let pre = field("prefilter");
    assert!(
        pre.contains("HP:1Hz") && pre.contains("LP:40Hz") && pre.contains("N:60Hz"),
        "{pre}"
    );
    assert_eq!(field("names"), "FC5,FC3,FC1");
}
