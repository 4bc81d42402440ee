//! Epochs and events against MNE-Python (the oracle): the S001R04 reference run, window
//! arithmetic for awkward tmin/tmax/sfreq, baseline, decimation, amplitude and BAD-span
//! rejection, fixed-length windows.

mod common;

use eegclean::data::Annotation;
use eegclean::features::epochs::{
    Baseline, Decimation, DropReason, EpochError, EpochParams, SampleWindow, cut_epochs,
};
use eegclean::features::events::{
    Event, EventError, events_from_annotations, fixed_length_events, fixed_length_tmax,
};
use eegclean::io::npy::read_f64;
use ndarray::{Array2, Ix2, Ix3};
use serde_json::Value;

fn annotations_from_json(v: &Value) -> Vec<Annotation> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|a| {
            Annotation::new(
                a[0].as_f64().unwrap(),
                Some(a[1].as_f64().unwrap()),
                a[2].as_str().unwrap(),
            )
        })
        .collect()
}

fn ref_file(name: &str) -> std::path::PathBuf {
    common::shared_file(&format!("ref/mne-S001R04/{name}"))
}

#[test]
fn s001r04_events_and_epochs_match_mne_reference() {
    let edf = common::shared_file("data/eegmmidb/S001/S001R04.edf");
    let out = common::run_python(
        r#"
import sys, json, mne
raw = mne.io.read_raw_edf(sys.argv[1], preload=False, verbose=False)
a = raw.annotations
ev, _ = mne.events_from_annotations(raw, event_id=dict(T0=1, T1=2, T2=3), verbose=False)
print(json.dumps(dict(sfreq=raw.info['sfreq'],
    annotations=[[float(o), float(d), str(s)] for o, d, s in zip(a.onset, a.duration, a.description)],
    all_events=ev.tolist())))
"#,
        &[edf.to_str().unwrap()],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    let sfreq = v["sfreq"].as_f64().unwrap();
    let annotations = annotations_from_json(&v["annotations"]);

    // All three classes: same samples, ids and order as mne.events_from_annotations.
    let all = events_from_annotations(
        &annotations,
        sfreq,
        &[("T0".into(), 1), ("T1".into(), 2), ("T2".into(), 3)],
    )
    .unwrap();
    let mne_all: Vec<(i64, i64)> = v["all_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e[0].as_i64().unwrap(), e[2].as_i64().unwrap()))
        .collect();
    let ours: Vec<(i64, i64)> = all.iter().map(|e| (e.sample, e.id)).collect();
    assert_eq!(ours, mne_all);

    // The reference pipeline: T1=2, T2=3, tmin 0, tmax 4 − 1/sfreq, no baseline.
    let events =
        events_from_annotations(&annotations, sfreq, &[("T1".into(), 2), ("T2".into(), 3)])
            .unwrap();
    let ref_events = read_f64(ref_file("epochs_events.npy"))
        .unwrap()
        .into_dimensionality::<Ix2>()
        .unwrap();
    let cleaned = read_f64(ref_file("cleaned_uV.npy"))
        .unwrap()
        .into_dimensionality::<Ix2>()
        .unwrap();
    let epochs = cut_epochs(
        cleaned.view(),
        sfreq,
        &events,
        &annotations,
        &EpochParams::new(0.0, 4.0 - 1.0 / sfreq),
    )
    .unwrap();
    let kept: Vec<(f64, f64)> = epochs
        .kept_events()
        .map(|e| (e.sample as f64, e.id as f64))
        .collect();
    let want: Vec<(f64, f64)> = ref_events
        .rows()
        .into_iter()
        .map(|r| (r[0], r[2]))
        .collect();
    assert_eq!(kept, want);
    let ref_epochs = read_f64(ref_file("epochs_uV.npy"))
        .unwrap()
        .into_dimensionality::<Ix3>()
        .unwrap();
    assert_eq!(epochs.data.dim(), ref_epochs.dim());
    // Pure slicing: bit-identical.
    assert!(epochs.data == ref_epochs, "epoch samples differ from MNE's");
    assert_eq!(epochs.times.len(), 640);
    assert_eq!(epochs.times[639], 639.0 / 160.0);
}

/// One MNE run per case on a ramp signal (channel 0 = sample index), so the samples MNE
/// picked are read straight off the data.
const WINDOW_ORACLE: &str = r#"
import sys, json, numpy as np, mne, warnings
warnings.simplefilter("ignore")
cases = json.loads(sys.argv[1])
out = []
for c in cases:
    sf, n = c["sfreq"], c["n_samples"]
    data = np.vstack([np.arange(n, dtype=float), np.sin(np.arange(n) * 0.37)])
    raw = mne.io.RawArray(data, mne.create_info(["a", "b"], sf, "eeg"), verbose=False)
    raw.set_annotations(mne.Annotations([a[0] for a in c["annotations"]],
        [a[1] for a in c["annotations"]], [a[2] for a in c["annotations"]]))
    ev = np.array([[s, 0, 1] for s in c["events"]], dtype=int)
    ep = mne.Epochs(raw, ev, dict(x=1), tmin=c["tmin"], tmax=c["tmax"], baseline=None,
                    decim=c["decim"], preload=True, reject_by_annotation=True, verbose=False)
    out.append(dict(samples=ep.get_data()[:, 0, :].tolist(), times=ep.times.tolist(),
                    drop_log=[list(d) for d in ep.drop_log], sfreq=ep.info["sfreq"]))
print(json.dumps(out))
"#;

#[test]
fn sample_windows_decimation_and_edge_drops_match_mne() {
    // (sfreq, tmin, tmax, decim): ties at .5 samples, irrational rates, negative starts.
    let cases: Vec<(f64, f64, f64, usize)> = vec![
        (160.0, 0.0, 4.0 - 1.0 / 160.0, 1),
        (160.0, 0.0, 4.0, 1),
        (256.0, -0.2, 0.5, 1),
        (1000.0 / 3.0, -0.1234, 0.777, 1),
        (100.0, 0.015, 0.025, 1),
        (20.0, -0.125, 0.125, 1),
        (512.0, -0.5, 1.0, 3),
        (250.0, -0.1, 0.3, 4),
        (200.0, 0.013, 0.3, 2),
        (99.5, -0.33, 0.41, 1),
    ];
    let mut json_cases = Vec::new();
    let mut inputs = Vec::new();
    for &(sfreq, tmin, tmax, decim) in &cases {
        let n_samples = (sfreq * 12.0) as usize;
        // Near the start (negative window start), near a BAD span, clear, at the end.
        let events: Vec<i64> = vec![
            2,
            (sfreq * 0.9) as i64,
            (sfreq * 1.6) as i64,
            (sfreq * 6.0) as i64,
            n_samples as i64 - 5,
        ];
        let annotations = vec![
            (1.55, 0.02, "BAD_blink".to_string()),
            (0.3, 0.1, "T1".to_string()),
        ];
        json_cases.push(serde_json::json!({
            "sfreq": sfreq, "n_samples": n_samples, "tmin": tmin, "tmax": tmax,
            "decim": decim, "events": events, "annotations": annotations,
        }));
        inputs.push((n_samples, events, annotations));
    }
    let arg = serde_json::to_string(&json_cases).unwrap();
    let out = common::run_python(WINDOW_ORACLE, &[&arg]);
    let results: Vec<Value> = serde_json::from_str(&out).unwrap();
    // The cases must exercise every drop reason, or the comparison below proves little.
    for reason in ["NO_DATA", "TOO_SHORT", "BAD_blink"] {
        assert!(
            out.contains(reason),
            "no case made MNE drop an epoch for {reason}"
        );
    }
    for (((sfreq, tmin, tmax, decim), (n_samples, events, annots)), mne) in
        cases.iter().zip(&inputs).zip(&results)
    {
        let ctx = format!("sfreq {sfreq} tmin {tmin} tmax {tmax} decim {decim}");
        let data = Array2::from_shape_fn((2, *n_samples), |(c, i)| {
            if c == 0 {
                i as f64
            } else {
                (i as f64 * 0.37).sin()
            }
        });
        let annotations: Vec<Annotation> = annots
            .iter()
            .map(|(o, d, s)| Annotation::new(*o, Some(*d), s.clone()))
            .collect();
        let events: Vec<Event> = events
            .iter()
            .map(|&s| Event {
                sample: s,
                id: 1,
                label: "x".into(),
            })
            .collect();
        let mut params = EpochParams::new(*tmin, *tmax);
        params.decimation = Some(Decimation {
            factor: *decim,
            offset: 0,
        });
        params.allow_aliasing = true;
        let epochs = cut_epochs(data.view(), *sfreq, &events, &annotations, &params).unwrap();

        let want_samples: Vec<Vec<f64>> = serde_json::from_value(mne["samples"].clone()).unwrap();
        let got_samples: Vec<Vec<f64>> = epochs
            .data
            .outer_iter()
            .map(|e| e.row(0).to_vec())
            .collect();
        assert_eq!(got_samples, want_samples, "{ctx}");
        let want_times: Vec<f64> = serde_json::from_value(mne["times"].clone()).unwrap();
        assert_eq!(epochs.times.len(), want_times.len(), "{ctx}");
        for (a, b) in epochs.times.iter().zip(&want_times) {
            assert!((a - b).abs() < 1e-12, "{ctx}: times {a} vs {b}");
        }
        assert_eq!(epochs.sfreq, mne["sfreq"].as_f64().unwrap(), "{ctx}");
        let want_log: Vec<Vec<String>> = serde_json::from_value(mne["drop_log"].clone()).unwrap();
        let got_log: Vec<Vec<String>> = epochs
            .log
            .iter()
            .map(|r| {
                r.reasons
                    .iter()
                    .map(|d| match d {
                        DropReason::NoData => "NO_DATA".to_string(),
                        DropReason::TooShort => "TOO_SHORT".to_string(),
                        DropReason::BadAnnotation(s) => s.clone(),
                        other => format!("{other:?}"),
                    })
                    .collect()
            })
            .collect();
        assert_eq!(got_log, want_log, "{ctx}");
        // The window arithmetic alone, as MNE's `_raw_times`.
        let w = SampleWindow::new(*tmin, *tmax, *sfreq).unwrap();
        if *decim == 1 {
            assert_eq!(w.n_times, want_times.len(), "{ctx}");
        }
    }
}

#[test]
fn baseline_and_amplitude_rejection_match_mne() {
    let dir = common::scratch();
    let path = dir.path().join("x.npy");
    let out = common::run_python(
        r#"
import sys, json, numpy as np, mne, warnings
warnings.simplefilter("ignore")
rng = np.random.default_rng(7)
sf, n = 250.0, 5000
x = rng.standard_normal((4, n)) * 10e-6 + 3e-6
x[1, 1200:1210] += 400e-6        # a spike on channel b inside event 2's window
x[3, 2400:2700] = 1e-6           # channel d flat during event 3
x[0, 3600:3605] += 300e-6; x[2, 3610] -= 500e-6   # two channels too big in event 4
np.save(sys.argv[1], x)
raw = mne.io.RawArray(x, mne.create_info(list("abcd"), sf, "eeg"), verbose=False)
ev = np.array([[s, 0, 1] for s in [300, 1150, 2450, 3600, 4400]])
ep = mne.Epochs(raw, ev, dict(x=1), tmin=-0.2, tmax=0.5, baseline=(None, 0),
                reject=dict(eeg=200e-6), flat=dict(eeg=5e-6), preload=True, verbose=False)
np.save(sys.argv[1] + ".epochs.npy", ep.get_data())
print(json.dumps(dict(drop_log=[list(d) for d in ep.drop_log])))
"#,
        &[path.to_str().unwrap()],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    let x = read_f64(&path)
        .unwrap()
        .into_dimensionality::<Ix2>()
        .unwrap();
    let events: Vec<Event> = [300, 1150, 2450, 3600, 4400]
        .iter()
        .map(|&s| Event {
            sample: s,
            id: 1,
            label: "x".into(),
        })
        .collect();
    let mut params = EpochParams::new(-0.2, 0.5);
    params.baseline = Some(Baseline {
        start: None,
        end: Some(0.0),
    });
    params.reject = vec![Some(200e-6); 4];
    params.flat = vec![Some(5e-6); 4];
    let epochs = cut_epochs(x.view(), 250.0, &events, &[], &params).unwrap();
    let names = ["a", "b", "c", "d"];
    let got: Vec<Vec<String>> = epochs
        .log
        .iter()
        .map(|r| {
            r.reasons
                .iter()
                .flat_map(|d| match d {
                    DropReason::PeakToPeak(c) | DropReason::Flat(c) => {
                        c.iter().map(|&i| names[i].to_string()).collect::<Vec<_>>()
                    }
                    other => vec![format!("{other:?}")],
                })
                .collect()
        })
        .collect();
    let want: Vec<Vec<String>> = serde_json::from_value(v["drop_log"].clone()).unwrap();
    assert_eq!(got, want);
    assert!(
        want.iter().filter(|d| !d.is_empty()).count() >= 3,
        "oracle rejected too little"
    );
    let mne_epochs = read_f64(dir.path().join("x.npy.epochs.npy"))
        .unwrap()
        .into_dimensionality::<Ix3>()
        .unwrap();
    assert_eq!(epochs.data.dim(), mne_epochs.dim());
    let scale = mne_epochs.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let err = (&epochs.data - &mne_epochs)
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(
        err <= 1e-12 * scale,
        "baseline-corrected data differ by {err} (scale {scale})"
    );
}

#[test]
fn fixed_length_events_match_mne() {
    let cases: Vec<(usize, f64, f64, f64)> = vec![
        (19200, 160.0, 4.0, 0.0),
        (19200, 160.0, 4.0, 1.5),
        (10007, 256.0, 2.0, 0.3),
        (5000, 1000.0 / 3.0, 1.1, 0.37),
        (700, 100.0, 7.0, 0.0),
    ];
    let arg = serde_json::to_string(&cases).unwrap();
    let out = common::run_python(
        r#"
import sys, json, numpy as np, mne
res = []
for n, sf, dur, ov in json.loads(sys.argv[1]):
    raw = mne.io.RawArray(np.zeros((1, int(n))), mne.create_info(1, sf, "eeg"), verbose=False)
    ev = mne.make_fixed_length_events(raw, id=5, duration=dur, overlap=ov)
    ep = mne.make_fixed_length_epochs(raw, duration=dur, overlap=ov, preload=True, verbose=False)
    res.append(dict(events=ev[:, 0].tolist(), n_times=len(ep.times), n_epochs=len(ep)))
print(json.dumps(res))
"#,
        &[&arg],
    );
    let results: Vec<Value> = serde_json::from_str(&out).unwrap();
    for ((n, sfreq, duration, overlap), mne) in cases.iter().zip(&results) {
        let ev = fixed_length_events(*n, *sfreq, *duration, *overlap, 5, "window").unwrap();
        let want: Vec<i64> = serde_json::from_value(mne["events"].clone()).unwrap();
        let got: Vec<i64> = ev.iter().map(|e| e.sample).collect();
        assert_eq!(
            got, want,
            "n {n} sfreq {sfreq} duration {duration} overlap {overlap}"
        );
        let w = SampleWindow::new(0.0, fixed_length_tmax(*duration, *sfreq), *sfreq).unwrap();
        assert_eq!(w.n_times as u64, mne["n_times"].as_u64().unwrap());
        let data = Array2::<f64>::zeros((1, *n));
        let epochs = cut_epochs(
            data.view(),
            *sfreq,
            &ev,
            &[],
            &EpochParams::new(0.0, fixed_length_tmax(*duration, *sfreq)),
        )
        .unwrap();
        assert_eq!(
            epochs.data.dim().0 as u64,
            mne["n_epochs"].as_u64().unwrap()
        );
    }
}

#[test]
fn bad_input_gives_typed_errors() {
    let annotations = vec![Annotation::new(1.0, Some(0.0), "T0")];
    match events_from_annotations(&annotations, 160.0, &[("T1".into(), 2)]) {
        Err(EventError::NoMatchingEvents { present, .. }) => assert_eq!(present, "T0"),
        other => panic!("expected NoMatchingEvents, got {other:?}"),
    }
    let data = Array2::<f64>::zeros((2, 1000));
    let ev = |s| Event {
        sample: s,
        id: 1,
        label: "x".into(),
    };
    // Every epoch past the end of the recording.
    let err = cut_epochs(
        data.view(),
        100.0,
        &[ev(950), ev(990)],
        &[],
        &EpochParams::new(0.0, 1.0),
    )
    .unwrap_err();
    assert!(
        matches!(err, EpochError::AllRejected { n_events: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("2 past the end"), "{err}");
    // Repeated event samples (MNE's event_repeated='error').
    let err = cut_epochs(
        data.view(),
        100.0,
        &[ev(10), ev(10)],
        &[],
        &EpochParams::new(0.0, 1.0),
    )
    .unwrap_err();
    assert!(matches!(err, EpochError::RepeatedEvent { sample: 10, .. }));
    // Decimation below 3× the low-pass edge.
    let mut p = EpochParams::new(0.0, 1.0);
    p.decimation = Some(Decimation {
        factor: 4,
        offset: 0,
    });
    p.lowpass_hz = Some(40.0);
    let err = cut_epochs(data.view(), 160.0, &[ev(10)], &[], &p).unwrap_err();
    assert!(matches!(err, EpochError::Aliasing { .. }), "{err}");
    p.lowpass_hz = Some(10.0);
    assert!(cut_epochs(data.view(), 160.0, &[ev(10)], &[], &p).is_ok());
    // tmin after tmax.
    assert!(matches!(
        SampleWindow::new(1.0, 0.5, 100.0),
        Err(EpochError::BadTimes { .. })
    ));
    // Wrong number of thresholds.
    let mut p = EpochParams::new(0.0, 1.0);
    p.reject = vec![Some(1.0)];
    assert!(matches!(
        cut_epochs(data.view(), 100.0, &[ev(10)], &[], &p),
        Err(EpochError::ThresholdCount {
            got: 1,
            n_channels: 2,
            ..
        })
    ));
}

/// Annotations of S001R04 and of a synthetic recording with awkward descriptions, and what
/// `mne.events_from_annotations(raw, regexp=…, [event_id=…])` makes of them for a set of
/// patterns (events as [sample, id], the event_id dict, or MNE's error).
const REGEX_ORACLE: &str = r#"
import sys, json, mne, numpy as np
edf = mne.io.read_raw_edf(sys.argv[1], preload=False, verbose=False)
syn = mne.io.RawArray(np.zeros((2, 2000)), mne.create_info(2, 100.0, "eeg"), verbose=False)
syn.set_annotations(mne.Annotations(
    [1.0, 2.5, 3.0, 4.2, 5.0, 6.01, 7.0, 8.125],
    [0.5] * 8,
    ["stim/b", "stim/a", "BAD_x", "resp", "stim/a", "Stim/c", "stim/b2", "xstim/a"]))
cases = [
    ("edf", "^T[12]$", None), ("edf", "T", None), ("edf", "T[12]", {"T2": 7, "T0": 4}),
    ("syn", "stim/", None), ("syn", "stim/[ab]$", None), ("syn", "(?i)stim", None),
    ("syn", "stim/.", {"stim/b2": 9, "resp": 3}), ("syn", "resp|BAD", None),
    ("syn", "a", None), ("edf", "T3", None),
]
out = dict(recordings={}, cases=[])
for name, r in [("edf", edf), ("syn", syn)]:
    a = r.annotations
    out["recordings"][name] = dict(sfreq=r.info["sfreq"], annotations=[
        [float(o), float(d), str(s)] for o, d, s in zip(a.onset, a.duration, a.description)])
for which, pattern, ids in cases:
    r = edf if which == "edf" else syn
    kw = dict(regexp=pattern)
    if ids is not None:
        kw["event_id"] = ids
    case = dict(recording=which, pattern=pattern, event_id=ids)
    try:
        ev, evid = mne.events_from_annotations(r, verbose=False, **kw)
        case.update(events=ev[:, [0, 2]].tolist(), mapping=sorted(evid.items()))
    except ValueError as e:
        case.update(error=str(e))
    out["cases"].append(case)
print(json.dumps(out))
"#;

#[test]
fn regex_event_selection_matches_mne_regexp() {
    use eegclean::features::events::{DescriptionPattern, regex_event_mapping};
    use std::collections::BTreeMap;

    let edf = common::shared_file("data/eegmmidb/S001/S001R04.edf");
    let v: Value =
        serde_json::from_str(&common::run_python(REGEX_ORACLE, &[edf.to_str().unwrap()])).unwrap();
    let cases = v["cases"].as_array().unwrap();
    let mut errors = 0;
    for case in cases {
        let rec = &v["recordings"][case["recording"].as_str().unwrap()];
        let sfreq = rec["sfreq"].as_f64().unwrap();
        let annotations = annotations_from_json(&rec["annotations"]);
        let pattern_text = case["pattern"].as_str().unwrap();
        let pattern = DescriptionPattern::new(pattern_text).unwrap();
        let ids: Option<BTreeMap<String, i64>> = case["event_id"].as_object().map(|m| {
            m.iter()
                .map(|(k, id)| (k.clone(), id.as_i64().unwrap()))
                .collect()
        });
        let got = regex_event_mapping(&annotations, &pattern, ids.as_ref());
        if case.get("error").is_some() {
            assert!(
                matches!(got, Err(EventError::NoMatchingEvents { .. })),
                "`{pattern_text}`: MNE raised {}, we gave {got:?}",
                case["error"]
            );
            errors += 1;
            continue;
        }
        let mapping = got.unwrap_or_else(|e| panic!("`{pattern_text}`: {e}"));
        let mut sorted_mapping = mapping.clone();
        sorted_mapping.sort();
        let want_mapping: Vec<(String, i64)> = case["mapping"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_i64().unwrap()))
            .collect();
        assert_eq!(sorted_mapping, want_mapping, "`{pattern_text}`: event_id");
        let events = events_from_annotations(&annotations, sfreq, &mapping).unwrap();
        let ours: Vec<(i64, i64)> = events.iter().map(|e| (e.sample, e.id)).collect();
        let want: Vec<(i64, i64)> = case["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e[0].as_i64().unwrap(), e[1].as_i64().unwrap()))
            .collect();
        assert_eq!(ours, want, "`{pattern_text}`: events");
    }
    assert_eq!(errors, 2, "the two patterns that match nothing");
}
