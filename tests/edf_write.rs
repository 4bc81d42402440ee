//! Our EDF+/BDF+ writer, read back by pyedflib, MNE and edfio (and by our reader): every
//! sample within one quantisation step of the original, identical annotations.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use eegclean::data::{Annotation, StartTime};
use eegclean::io::edf::{
    EdfError, EdfKind, EdfReader, WriteReport, WriteSignal, WriteSpec, write_edf,
};
use serde_json::Value;

const ORACLE: &str = r#"
import sys, json, os
import numpy as np
import pyedflib, mne, edfio
out = sys.argv[1]
result = {}
for n, path in enumerate(sys.argv[2:]):
    e = {}
    r = pyedflib.EdfReader(path)   # must open without error
    e['pyedflib'] = []
    for i in range(r.signals_in_file):
        p = os.path.join(out, f'{n}_pyedflib_{i}.f64'); np.asarray(r.readSignal(i, digital=False), dtype='<f8').tofile(p); e['pyedflib'].append(p)
    e['pyedflib_header'] = [[r.getPhysicalMinimum(i), r.getPhysicalMaximum(i), r.getDigitalMinimum(i), r.getDigitalMaximum(i)] for i in range(r.signals_in_file)]
    on, du, tx = r.readAnnotations()
    e['pyedflib_annotations'] = [[float(a), None if b == -1 else float(b), str(c)] for a, b, c in zip(on, du, tx)]
    e['pyedflib_subsecond'] = r.starttime_subsecond / 1e7
    r.close()
    raw = mne.io.read_raw_edf(path, preload=True, verbose='error') if path.endswith('.edf') else mne.io.read_raw_bdf(path, preload=True, verbose='error')
    units = raw._raw_extras[0]['units']
    nsamps = raw._raw_extras[0]['n_samps']
    e['mne'] = []
    for i in range(len(raw.ch_names)):
        # MNE resamples every signal to the highest rate; keep only the signals it did not touch.
        if nsamps[i] * raw._raw_extras[0]['n_records'] == raw.n_times:
            p = os.path.join(out, f'{n}_mne_{i}.f64'); np.asarray(raw.get_data(picks=[i])[0] / units[i], dtype='<f8').tofile(p); e['mne'].append([i, p])
    e['mne_annotations'] = [[float(a['onset']), float(a['duration']), a['description']] for a in raw.annotations]
    f = edfio.read_edf(path) if path.endswith('.edf') else edfio.read_bdf(path)
    e['edfio'] = []
    for i, s in enumerate(f.signals):
        p = os.path.join(out, f'{n}_edfio_{i}.f64'); np.asarray(s.data, dtype='<f8').tofile(p); e['edfio'].append(p)
    e['edfio_subsecond'] = f.starttime.microsecond / 1e6
    e['edfio_annotations'] = [[float(a.onset), None if a.duration is None else float(a.duration), a.text] for a in f.annotations]
    result[path] = e
print(json.dumps(result))
"#;

fn oracle(files: &[&Path], scratch: &Path) -> BTreeMap<String, Value> {
    let mut args = vec![scratch.display().to_string()];
    args.extend(files.iter().map(|p| p.display().to_string()));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    serde_json::from_str(&common::run_python(ORACLE, &argv)).expect("oracle JSON")
}

struct Synthetic {
    signals: Vec<(String, String, f64, Vec<f64>)>,
    annotations: Vec<Annotation>,
}

/// Deterministic pseudo-random numbers in [0, 1) (no RNG dependency needed).
fn lcg(seed: &mut u64) -> f64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*seed >> 11) as f64 / (1u64 << 53) as f64
}

fn synthetic() -> Synthetic {
    let mut seed = 7u64;
    let secs = 10.3; // not a whole number of records: the last one is padded
    let mut sig = |label: &str, unit: &str, rate: f64, f: &dyn Fn(f64, f64) -> f64| {
        let n = (secs * rate).round() as usize;
        let v: Vec<f64> = (0..n)
            .map(|k| f(k as f64 / rate, lcg(&mut seed) - 0.5))
            .collect();
        (label.to_string(), unit.to_string(), rate, v)
    };
    let tau = std::f64::consts::TAU;
    let signals = vec![
        sig("EEG Fz", "uV", 256.0, &|t, r| {
            50.0 * (tau * 10.0 * t).sin() + 5.0 * r
        }),
        sig("ECG", "mV", 128.0, &|t, r| {
            1.2 * (tau * 1.1 * t).sin().powi(9) + 0.01 * r
        }),
        sig("Temp", "degC", 1.0, &|t, r| 36.5 + 0.01 * t + 0.001 * r),
        sig("Big", "nV", 256.0, &|t, r| {
            8.0e6 * (tau * 0.5 * t).sin() + 1.0e5 * r
        }),
        sig("Tiny", "V", 512.0, &|t, r| {
            3.0e-6 * (tau * 40.0 * t).sin() + 1.0e-7 * r
        }),
        sig("Offset", "mmHg", 64.0, &|t, r| {
            120.0 + 0.5 * (tau * t).sin() + 0.001 * r
        }),
    ];
    let mut annotations = vec![
        Annotation::new(0.0, None, "start"),
        Annotation::new(1.25, Some(0.5), "仰卧 supine"),
        Annotation::new(2.0, Some(0.0), "Ünïcødé ✓"),
        Annotation::new(9.9999999, Some(0.3), "near the end"),
    ];
    // Many annotations inside one second: far more than one record's TAL room.
    for k in 0..300 {
        annotations.push(Annotation::new(
            5.0 + k as f64 * 0.003,
            Some(0.001),
            format!("burst event number {k}"),
        ));
    }
    Synthetic {
        signals,
        annotations,
    }
}

fn spec_of<'a>(s: &'a Synthetic, kind: EdfKind, start: StartTime) -> WriteSpec<'a> {
    WriteSpec {
        kind,
        patient: String::new(),
        recording: String::new(),
        start,
        record_duration: None,
        signals: s
            .signals
            .iter()
            .map(|(label, unit, rate, data)| WriteSignal {
                label: label.clone(),
                transducer: "AgAgCl electrode".into(),
                physical_dimension: unit.clone(),
                prefiltering: "HP:0.1Hz LP:40Hz".into(),
                sample_rate: *rate,
                data,
                scale: 1.0,
            })
            .collect(),
        annotations: &s.annotations,
    }
}

fn load(p: &Value) -> Vec<f64> {
    read_f64_raw(p.as_str().unwrap())
}

/// Every original sample within one quantisation step of what a reader returned.
fn assert_within_lsb(what: &str, original: &[f64], read: &[f64], lsb: f64) -> f64 {
    assert!(
        read.len() >= original.len(),
        "{what}: {} samples read, {} written",
        read.len(),
        original.len()
    );
    let mut worst = 0.0f64;
    for (k, (&o, &r)) in original.iter().zip(read).enumerate() {
        let err = (o - r).abs();
        assert!(
            err <= lsb * (1.0 + 1e-9),
            "{what} sample {k}: wrote {o}, read {r}, LSB {lsb}"
        );
        worst = worst.max(err / lsb);
    }
    worst
}

fn expected_annotations(s: &Synthetic, report: &WriteReport) -> Vec<(f64, Option<f64>, String)> {
    let mut v: Vec<(f64, Option<f64>, String)> = s
        .annotations
        .iter()
        .map(|a| (a.onset, a.duration, a.description.clone()))
        .collect();
    let end = s
        .signals
        .iter()
        .map(|(_, _, r, d)| d.len() as f64 / r)
        .fold(f64::INFINITY, f64::min);
    let total = report.n_records as f64 * report.record_duration;
    v.push((end, Some(total - end), "BAD_ACQ_SKIP".into()));
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v
}

fn assert_annotations(
    what: &str,
    got: &[Value],
    want: &[(f64, Option<f64>, String)],
    none_is_zero: bool,
) {
    assert_eq!(got.len(), want.len(), "{what}: annotation count");
    // Readers may order annotations with equal onsets differently; compare sorted.
    let mut got: Vec<(f64, Option<f64>, String)> = got
        .iter()
        .map(|a| {
            (
                a[0].as_f64().unwrap(),
                a[1].as_f64(),
                a[2].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // Onsets closer than the 1e-6 s tolerance may come in either order: key on 10 µs bins.
    let key = |a: &(f64, Option<f64>, String)| ((a.0 * 1e5).round() as i64, a.2.clone());
    got.sort_by_key(key);
    let mut want = want.to_vec();
    want.sort_by_key(key);
    for (g, w) in got.iter().zip(&want) {
        assert!((g.0 - w.0).abs() <= 1e-6, "{what}: onset {g:?} vs {w:?}");
        let wd = if none_is_zero {
            Some(w.1.unwrap_or(0.0))
        } else {
            w.1
        };
        match (g.1, wd) {
            (None, None) => {}
            (Some(a), Some(b)) => assert!((a - b).abs() <= 1e-6, "{what}: duration {g:?} vs {w:?}"),
            _ => panic!("{what}: duration {g:?} vs {w:?}"),
        }
        assert_eq!(g.2, w.2, "{what}");
    }
}

#[test]
fn synthetic_edf_and_bdf_read_back_by_pyedflib_mne_edfio_and_us() {
    let s = synthetic();
    let dir = common::scratch();
    let start = StartTime {
        year: 2024,
        month: 3,
        day: 9,
        hour: 13,
        minute: 5,
        second: 59,
        subsecond: 0.25,
    };
    let mut written: Vec<(PathBuf, WriteReport, EdfKind)> = Vec::new();
    for (kind, name) in [
        (EdfKind::EdfPlusC, "syn.edf"),
        (EdfKind::BdfPlusC, "syn.bdf"),
    ] {
        let path = dir.path().join(name);
        let report = write_edf(&path, &spec_of(&s, kind, start)).unwrap();
        assert_eq!(report.record_duration, 1.0);
        assert_eq!(report.n_records, 11);
        assert!(report.annotation_bytes_per_record < 61440);
        written.push((path, report, kind));
    }
    let scratch = common::scratch();
    let paths: Vec<&Path> = written.iter().map(|(p, _, _)| p.as_path()).collect();
    let o = oracle(&paths, scratch.path());

    for (path, report, kind) in &written {
        let e = &o[&path.display().to_string()];
        let digital = if *kind == EdfKind::BdfPlusC {
            16_777_215.0
        } else {
            65_535.0
        };
        let lsbs: Vec<f64> = report
            .physical_ranges
            .iter()
            .map(|(lo, hi)| (hi - lo) / digital)
            .collect();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let mut worst = 0.0f64;
        for (i, (label, _, _, data)) in s.signals.iter().enumerate() {
            // The written physical range encloses the data (outward rounding).
            let (lo, hi) = report.physical_ranges[i];
            assert!(
                data.iter().all(|&x| lo <= x && x <= hi),
                "{name} {label}: range [{lo}, {hi}]"
            );
            let h = e["pyedflib_header"][i].as_array().unwrap();
            assert_eq!(
                (h[0].as_f64().unwrap(), h[1].as_f64().unwrap()),
                (lo, hi),
                "{name} {label}"
            );
            worst = worst.max(assert_within_lsb(
                &format!("{name} {label} pyedflib"),
                data,
                &load(&e["pyedflib"][i]),
                lsbs[i],
            ));
            worst = worst.max(assert_within_lsb(
                &format!("{name} {label} edfio"),
                data,
                &load(&e["edfio"][i]),
                lsbs[i],
            ));
            let ours = EdfReader::open(path).unwrap().read_physical(i).unwrap();
            worst = worst.max(assert_within_lsb(
                &format!("{name} {label} ours"),
                data,
                &ours,
                lsbs[i],
            ));
        }
        let mne = e["mne"].as_array().unwrap();
        assert!(!mne.is_empty());
        for m in mne {
            let i = m[0].as_u64().unwrap() as usize;
            worst = worst.max(assert_within_lsb(
                &format!("{name} signal {i} MNE"),
                &s.signals[i].3,
                &load(&m[1]),
                lsbs[i],
            ));
        }
        eprintln!("{name}: worst error {worst:.3} LSB; {report:?}");

        let want = expected_annotations(&s, report);
        assert_annotations(
            &format!("{name} pyedflib"),
            e["pyedflib_annotations"].as_array().unwrap(),
            &want,
            false,
        );
        assert_annotations(
            &format!("{name} edfio"),
            e["edfio_annotations"].as_array().unwrap(),
            &want,
            false,
        );
        assert_annotations(
            &format!("{name} MNE"),
            e["mne_annotations"].as_array().unwrap(),
            &want,
            true,
        );
        assert_eq!(
            e["pyedflib_subsecond"].as_f64().unwrap(),
            0.25,
            "{name}: sub-second start"
        );
        assert_eq!(
            e["edfio_subsecond"].as_f64().unwrap(),
            0.25,
            "{name}: sub-second start"
        );
        let ours: Vec<Value> = EdfReader::open(path)
            .unwrap()
            .annotations()
            .unwrap()
            .into_iter()
            .map(|a| serde_json::json!([a.onset, a.duration, a.description]))
            .collect();
        assert_annotations(&format!("{name} ours"), &ours, &want, false);
        let r = EdfReader::open(path).unwrap();
        assert_eq!(r.header().kind, *kind);
        assert_eq!(r.header().start, start);
    }
}

#[test]
fn real_recording_round_trips_within_one_step() {
    let src = common::shared_file("data/eegmmidb/S001/S001R04.edf");
    let reader = EdfReader::open(&src).unwrap();
    let h = reader.header();
    let idx = h.data_signals();
    let data: Vec<Vec<f64>> = idx
        .iter()
        .map(|&i| reader.read_physical(i).unwrap())
        .collect();
    let annotations = reader.annotations().unwrap();
    let spec = WriteSpec {
        kind: EdfKind::EdfPlusC,
        patient: h.patient.clone(),
        recording: h.recording.clone(),
        start: h.start,
        record_duration: Some(h.record_duration),
        signals: idx
            .iter()
            .zip(&data)
            .map(|(&i, d)| WriteSignal {
                label: h.signals[i].label.clone(),
                transducer: h.signals[i].transducer.clone(),
                physical_dimension: h.signals[i].physical_dimension.clone(),
                prefiltering: h.signals[i].prefiltering.clone(),
                sample_rate: h.signals[i].sample_rate(h.record_duration),
                data: d,
                scale: 1.0,
            })
            .collect(),
        annotations: &annotations,
    };
    let dir = common::scratch();
    let out = dir.path().join("S001R04_copy.edf");
    let report = write_edf(&out, &spec).unwrap();
    assert_eq!(report.n_records, h.n_records);
    assert!(report.samples_padded.iter().all(|&p| p == 0));
    let back = EdfReader::open(&out).unwrap();
    assert_eq!(back.header().patient, h.patient);
    assert_eq!(back.header().recording, h.recording);
    for (k, d) in data.iter().enumerate() {
        let (lo, hi) = report.physical_ranges[k];
        let got = back.read_physical(k).unwrap();
        assert_eq!(got.len(), d.len());
        assert_within_lsb(&format!("S001R04 signal {k}"), d, &got, (hi - lo) / 65535.0);
    }
    assert_eq!(back.annotations().unwrap(), annotations);
}

#[test]
fn non_finite_samples_and_bad_fields_are_refused() {
    let dir = common::scratch();
    let good = vec![0.0, 1.0, 2.0, 3.0];
    let bad = vec![0.0, f64::NAN, 2.0, 3.0];
    let signal = |label: &str, data: &'static [f64]| WriteSignal {
        label: label.into(),
        transducer: String::new(),
        physical_dimension: "uV".into(),
        prefiltering: String::new(),
        sample_rate: 4.0,
        data,
        scale: 1.0,
    };
    let good: &'static [f64] = Box::leak(good.into_boxed_slice());
    let bad: &'static [f64] = Box::leak(bad.into_boxed_slice());
    let mk = |signals| WriteSpec {
        kind: EdfKind::EdfPlusC,
        patient: String::new(),
        recording: String::new(),
        start: StartTime::default(),
        record_duration: None,
        signals,
        annotations: &[],
    };
    let path = dir.path().join("x.edf");
    let err = write_edf(&path, &mk(vec![signal("Cz", good), signal("Pz", bad)])).unwrap_err();
    assert!(matches!(err, EdfError::Write { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("Pz") && msg.contains("sample 1") && msg.contains("NaN"),
        "{msg}"
    );
    assert!(!path.exists(), "nothing written on error");
    assert!(write_edf(&path, &mk(vec![signal("a label longer than 16", good)])).is_err());
    // A flat signal still gets a valid (non-empty) physical range.
    let flat: &'static [f64] = Box::leak(vec![5.0; 8].into_boxed_slice());
    let r = write_edf(&path, &mk(vec![signal("Flat", flat)])).unwrap();
    assert!(r.physical_ranges[0].0 <= 5.0 && r.physical_ranges[0].1 > r.physical_ranges[0].0);
    let back = EdfReader::open(&path).unwrap().read_physical(0).unwrap();
    assert!(
        back[..8].iter().all(|&x| (x - 5.0).abs() < 1e-9),
        "{back:?}"
    );
}

/// Raw little-endian f64 written by NumPy's `tofile` (the skeleton's .npy reader cannot
/// parse NumPy's own headers yet: it does not cut `descr` at its closing quote).
fn read_f64_raw(path: &str) -> Vec<f64> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}
