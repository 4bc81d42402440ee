//! The demo generator against its known synthetic ground truth.

mod common;

use std::f64::consts::PI;

use eegclean::data::{ChannelType, Recording, standard_1005_position};
use eegclean::demo::{DemoArtifactKind, DemoError, DemoLayout, DemoSpec, DemoSubject, generate};
use ndarray::s;

fn one_subject(spec: DemoSpec, seed: u64) -> DemoSubject {
    let mut subjects = generate(
        &DemoSpec {
            n_subjects: 1,
            ..spec
        },
        seed,
    )
    .expect("valid spec");
    subjects.remove(0)
}

fn row(rec: &Recording, name: &str) -> Vec<f64> {
    let i = rec
        .channel_index(name)
        .unwrap_or_else(|| panic!("no channel {name}"));
    rec.data.row(i).to_vec()
}

/// |DFT|² of `x` at `freq` Hz, computed directly (the slow obvious reference).
fn dft_power(x: &[f64], sfreq: f64, freq: f64) -> f64 {
    let (mut re, mut im) = (0.0, 0.0);
    for (i, v) in x.iter().enumerate() {
        let phase = 2.0 * PI * freq * i as f64 / sfreq;
        re += v * phase.cos();
        im -= v * phase.sin();
    }
    re * re + im * im
}

/// Power at `freq` over the mean power of bins 2, 3 and 4 Hz either side.
fn peak_ratio(x: &[f64], sfreq: f64, freq: f64) -> f64 {
    let neighbours = [-4.0, -3.0, -2.0, 2.0, 3.0, 4.0];
    let mean = neighbours
        .iter()
        .map(|d| dft_power(x, sfreq, freq + d))
        .sum::<f64>()
        / neighbours.len() as f64;
    dft_power(x, sfreq, freq) / mean
}

/// Mean 8–12 Hz power over non-overlapping 2 s segments (a crude Welch estimate).
fn alpha_power(x: &[f64], sfreq: f64) -> f64 {
    let seg = (2.0 * sfreq) as usize;
    let freqs: Vec<f64> = (0..=8).map(|k| 8.0 + 0.5 * k as f64).collect();
    let segments: Vec<&[f64]> = x.chunks_exact(seg).collect();
    segments
        .iter()
        .map(|s| {
            let mean = s.iter().sum::<f64>() / s.len() as f64;
            let centred: Vec<f64> = s.iter().map(|v| v - mean).collect();
            freqs
                .iter()
                .map(|&f| dft_power(&centred, sfreq, f))
                .sum::<f64>()
        })
        .sum::<f64>()
        / segments.len() as f64
}

#[test]
fn same_seed_is_bit_identical_and_seeds_differ() {
    let spec = DemoSpec::default();
    let a = generate(&spec, 42).expect("valid spec");
    let b = generate(&spec, 42).expect("valid spec");
    let c = generate(&spec, 43).expect("valid spec");
    assert_eq!(a.len(), 3);
    for ((x, y), z) in a.iter().zip(&b).zip(&c) {
        assert_eq!(x.id, y.id);
        let bits = |s: &DemoSubject| {
            s.recording
                .data
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>()
        };
        assert!(bits(x) == bits(y), "subject {} differs between runs", x.id);
        assert_eq!(x.recording.annotations, y.recording.annotations);
        assert_eq!(x.truth.artifacts.len(), y.truth.artifacts.len());
        let max_diff = (&x.recording.data - &z.recording.data)
            .iter()
            .fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(
            max_diff > 10e-6,
            "seeds 42 and 43 give near-identical data ({max_diff} V)"
        );
    }
    // Subjects within one dataset differ too.
    assert!(
        (&a[0].recording.data - &a[1].recording.data)
            .iter()
            .any(|v| v.abs() > 10e-6)
    );
    assert_eq!(
        a.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["001", "002", "003"]
    );
}

#[test]
fn data_is_clean_plus_artifacts() {
    for subject in generate(&DemoSpec::default(), 7).expect("valid spec") {
        let mut sum = subject.truth.clean.clone();
        for a in &subject.truth.artifacts {
            let end = a.first_sample + a.contribution.ncols();
            assert!(end <= sum.ncols(), "{:?} runs past the end", a.kind);
            let mut w = sum.slice_mut(s![.., a.first_sample..end]);
            w += &a.contribution;
            assert!((a.onset - a.first_sample as f64 / 256.0).abs() < 1e-12);
        }
        let worst = (&sum - &subject.recording.data)
            .iter()
            .fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(worst <= 1e-12, "max |clean + artifacts - data| = {worst} V");
        // The truth is not trivially everything in one place.
        let kinds: Vec<_> = subject.truth.artifacts.iter().map(|a| a.kind).collect();
        for k in [
            DemoArtifactKind::Blink,
            DemoArtifactKind::Saccade,
            DemoArtifactKind::Muscle,
            DemoArtifactKind::Heartbeat,
            DemoArtifactKind::LineNoise,
            DemoArtifactKind::Drift,
        ] {
            assert!(kinds.contains(&k), "no {k:?} in subject {}", subject.id);
        }
    }
}

#[test]
fn amplitudes_are_eeg_like() {
    let subject = one_subject(DemoSpec::default(), 3);
    let rec = &subject.recording;
    for (i, ch) in rec.channels.iter().enumerate() {
        if ch.kind != ChannelType::Eeg {
            continue;
        }
        let clean = subject.truth.clean.row(i);
        let mean = clean.mean().expect("samples");
        let rms =
            (clean.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / clean.len() as f64).sqrt();
        assert!(
            (3e-6..60e-6).contains(&rms),
            "{}: brain RMS {rms} V is not tens of µV",
            ch.name
        );
    }
    let ecg = row(rec, "ECG");
    let ecg_peak = ecg.iter().fold(0.0f64, |m, v| m.max(*v));
    assert!(
        (0.6e-3..1.5e-3).contains(&ecg_peak),
        "ECG R peak {ecg_peak} V"
    );
}

#[test]
fn line_noise_appears_only_where_requested() {
    let sfreq = 256.0;
    for (line, present, absent) in [(Some(50.0), 50.0, 60.0), (Some(60.0), 60.0, 50.0)] {
        let spec = DemoSpec {
            line_freq: line,
            duration: 20.0,
            ..DemoSpec::default()
        };
        let subject = one_subject(spec, 11);
        for name in ["Cz", "Pz"] {
            let x = row(&subject.recording, name);
            let on = peak_ratio(&x, sfreq, present);
            let harmonic = peak_ratio(&x, sfreq, 2.0 * present);
            let off = peak_ratio(&x, sfreq, absent);
            assert!(on > 100.0, "{name}: {present} Hz line ratio only {on}");
            assert!(
                harmonic > 10.0,
                "{name}: harmonic {} Hz ratio only {harmonic}",
                2.0 * present
            );
            assert!(
                off < 10.0,
                "{name}: {absent} Hz ratio {off} though not requested"
            );
        }
    }
    let subject = one_subject(
        DemoSpec {
            line_freq: None,
            duration: 20.0,
            ..DemoSpec::default()
        },
        11,
    );
    let x = row(&subject.recording, "Cz");
    assert!(peak_ratio(&x, sfreq, 50.0) < 10.0);
    assert!(peak_ratio(&x, sfreq, 60.0) < 10.0);
}

#[test]
fn blinks_raise_frontal_far_more_than_occipital() {
    let sfreq = 256.0;
    let (before, after) = ((0.2 * sfreq) as usize, (0.4 * sfreq) as usize);
    let names = ["Fp1", "Fp2", "O1", "O2", "VEOG"];
    let mut average = vec![vec![0.0; after]; names.len()];
    let mut count = 0usize;
    for subject in generate(&DemoSpec::default(), 5).expect("valid spec") {
        let rec = &subject.recording;
        let fp: Vec<usize> = ["Fp1", "Fp2"]
            .iter()
            .map(|n| rec.channel_index(n).expect("Fp"))
            .collect();
        for blink in subject
            .truth
            .artifacts
            .iter()
            .filter(|a| a.kind == DemoArtifactKind::Blink)
        {
            // Each blink's own peak at Fp1/Fp2 is in the documented 100–200 µV.
            let peak = fp
                .iter()
                .map(|&i| {
                    blink
                        .contribution
                        .row(i)
                        .iter()
                        .fold(0.0f64, |m, v| m.max(v.abs()))
                })
                .fold(0.0f64, f64::max);
            assert!((95e-6..=200e-6).contains(&peak), "blink peak {peak} V");
            assert!(
                (0.15..=0.41).contains(&blink.duration),
                "blink duration {}",
                blink.duration
            );
            let t0 = blink.first_sample;
            if t0 < before || t0 + after > rec.n_samples() {
                continue;
            }
            count += 1;
            for (k, name) in names.iter().enumerate() {
                let x = rec.data.row(rec.channel_index(name).expect("channel"));
                let baseline = x.slice(s![t0 - before..t0]).mean().expect("samples");
                for (acc, v) in average[k].iter_mut().zip(x.slice(s![t0..t0 + after])) {
                    *acc += v - baseline;
                }
            }
        }
    }
    assert!(count >= 20, "only {count} blinks to average");
    let peaks: Vec<f64> = average
        .iter()
        .map(|a| a.iter().fold(0.0f64, |m, v| m.max(v.abs())) / count as f64)
        .collect();
    let (fp1, fp2, o1, o2, veog) = (peaks[0], peaks[1], peaks[2], peaks[3], peaks[4]);
    eprintln!(
        "blink-locked peaks (µV): Fp1 {:.1} Fp2 {:.1} O1 {:.1} O2 {:.1} VEOG {:.1}",
        fp1 * 1e6,
        fp2 * 1e6,
        o1 * 1e6,
        o2 * 1e6,
        veog * 1e6
    );
    assert!(fp1.min(fp2) > 5.0 * o1.max(o2));
    assert!(veog > fp1.max(fp2), "blinks should be largest on VEOG");
}

#[test]
fn saccades_show_on_heog() {
    let sfreq = 256.0;
    let mut deflections = Vec::new();
    for subject in generate(&DemoSpec::default(), 9).expect("valid spec") {
        let rec = &subject.recording;
        let heog = rec.data.row(rec.channel_index("HEOG").expect("HEOG"));
        for sac in subject
            .truth
            .artifacts
            .iter()
            .filter(|a| a.kind == DemoArtifactKind::Saccade)
        {
            let t0 = sac.first_sample;
            let (pre, mid) = ((0.1 * sfreq) as usize, t0 + (0.1 * sfreq) as usize);
            if t0 < pre || mid + 10 > rec.n_samples() {
                continue;
            }
            let base = heog.slice(s![t0 - pre..t0]).mean().expect("samples");
            let during = heog.slice(s![mid..mid + 10]).mean().expect("samples");
            deflections.push((during - base).abs());
        }
    }
    assert!(deflections.len() >= 10);
    let median = {
        let mut d = deflections.clone();
        d.sort_by(f64::total_cmp);
        d[d.len() / 2]
    };
    assert!(median > 30e-6, "median HEOG saccade deflection {median} V");
}

#[test]
fn every_eeg_channel_has_its_standard_1005_position() {
    for (layout, n_eeg) in [(DemoLayout::Standard19, 19), (DemoLayout::Standard32, 32)] {
        let subject = one_subject(
            DemoSpec {
                layout,
                duration: 5.0,
                ..DemoSpec::default()
            },
            1,
        );
        let rec = &subject.recording;
        assert_eq!(rec.n_channels(), n_eeg + 3);
        assert_eq!(rec.channels.len(), rec.n_channels());
        for ch in &rec.channels {
            match ch.kind {
                ChannelType::Eeg => {
                    let want = standard_1005_position(&ch.name)
                        .unwrap_or_else(|| panic!("{} not in standard_1005", ch.name));
                    assert_eq!(ch.position, Some(want), "{}", ch.name);
                    assert!(ch.unit.is_volt());
                }
                ChannelType::Eog => assert!(ch.name == "HEOG" || ch.name == "VEOG"),
                ChannelType::Ecg => assert_eq!(ch.name, "ECG"),
                other => panic!("unexpected channel type {other}"),
            }
        }
        assert_eq!(
            rec.channels
                .iter()
                .filter(|c| c.kind == ChannelType::Eeg)
                .count(),
            n_eeg
        );
    }
}

#[test]
fn alpha_is_posterior() {
    let sfreq = 256.0;
    for subject in generate(&DemoSpec::default(), 21).expect("valid spec") {
        let rec = &subject.recording;
        let fp1 = alpha_power(&row(rec, "Fp1"), sfreq);
        for name in ["O1", "O2"] {
            let occ = alpha_power(&row(rec, name), sfreq);
            assert!(
                occ > 3.0 * fp1,
                "subject {}: alpha at {name} {occ} vs Fp1 {fp1}",
                subject.id
            );
        }
    }
}

#[test]
fn annotations_look_like_eegmmidb() {
    let subject = one_subject(DemoSpec::default(), 2);
    let ann = &subject.recording.annotations;
    let cues: Vec<_> = ann
        .iter()
        .filter(|a| a.description.starts_with('T'))
        .collect();
    assert!(cues.len() >= 13, "{} cues in 60 s", cues.len());
    for pair in cues.windows(2) {
        let gap = pair[1].onset - pair[0].onset;
        assert!((4.0..=4.2 + 1e-9).contains(&gap), "cue gap {gap}");
        // Rest alternates with a task cue.
        assert!((pair[0].description == "T0") != (pair[1].description == "T0"));
    }
    assert!(
        cues.iter()
            .any(|a| a.description == "T1" || a.description == "T2")
    );
    let muscle = subject
        .truth
        .artifacts
        .iter()
        .filter(|a| a.kind == DemoArtifactKind::Muscle)
        .count();
    assert_eq!(
        ann.iter().filter(|a| a.description == "BAD_muscle").count(),
        muscle
    );
    assert!(ann.windows(2).all(|w| w[0].onset <= w[1].onset));
}

#[test]
fn invalid_specs_are_rejected_with_the_field() {
    let bad = DemoSpec {
        sfreq: 10.0,
        ..DemoSpec::default()
    };
    assert!(matches!(
        generate(&bad, 1),
        Err(DemoError::InvalidSpec { field: "sfreq", .. })
    ));
    let bad = DemoSpec {
        line_freq: Some(200.0),
        ..DemoSpec::default()
    };
    assert!(matches!(
        generate(&bad, 1),
        Err(DemoError::InvalidSpec {
            field: "line_freq",
            ..
        })
    ));
    let bad = DemoSpec {
        n_subjects: 0,
        ..DemoSpec::default()
    };
    assert!(matches!(
        generate(&bad, 1),
        Err(DemoError::InvalidSpec {
            field: "n_subjects",
            ..
        })
    ));
}

/// Mean 10.5–12.5 Hz power of `x` over 1 s windows starting 1 s into each period with
/// the given cue label.
fn mu_power_during(rec: &Recording, x: &[f64], label: &str) -> f64 {
    let sfreq = rec.sfreq;
    let win = sfreq as usize;
    let mut total = 0.0;
    let mut count = 0;
    for a in rec.annotations.iter().filter(|a| a.description == label) {
        let duration = a.duration.unwrap_or(0.0);
        let mut t = a.onset + 1.0;
        while t + 1.0 <= a.onset + duration {
            let first = (t * sfreq) as usize;
            if first + win > x.len() {
                break;
            }
            let seg = &x[first..first + win];
            total += [10.5, 11.0, 11.5, 12.0, 12.5]
                .iter()
                .map(|&f| dft_power(seg, sfreq, f))
                .sum::<f64>();
            count += 1;
            t += 1.0;
        }
    }
    assert!(count > 0, "no {label} windows");
    total / count as f64
}

#[test]
fn mu_rhythm_desynchronises_over_the_contralateral_hemisphere() {
    // Left-hand cues (T1) suppress mu at C4, right-hand cues (T2) at C3 (brain signal).
    let (mut c4_t1, mut c4_t0, mut c3_t2, mut c3_t0) = (0.0, 0.0, 0.0, 0.0);
    for subject in generate(
        &DemoSpec {
            duration: 120.0,
            ..DemoSpec::default()
        },
        31,
    )
    .expect("valid spec")
    {
        let rec = &subject.recording;
        let clean_row = |name: &str| {
            subject
                .truth
                .clean
                .row(rec.channel_index(name).expect("channel"))
                .to_vec()
        };
        let (c3, c4) = (clean_row("C3"), clean_row("C4"));
        c4_t1 += mu_power_during(rec, &c4, "T1");
        c4_t0 += mu_power_during(rec, &c4, "T0");
        c3_t2 += mu_power_during(rec, &c3, "T2");
        c3_t0 += mu_power_during(rec, &c3, "T0");
    }
    eprintln!(
        "mu power task/rest: C4 (T1) {:.2}, C3 (T2) {:.2}",
        c4_t1 / c4_t0,
        c3_t2 / c3_t0
    );
    assert!(
        c4_t1 < 0.7 * c4_t0,
        "C4 mu during T1 {c4_t1} vs rest {c4_t0}"
    );
    assert!(
        c3_t2 < 0.7 * c3_t0,
        "C3 mu during T2 {c3_t2} vs rest {c3_t0}"
    );
}

#[test]
fn written_truth_reads_back_in_numpy() {
    let subjects = generate(
        &DemoSpec {
            n_subjects: 2,
            duration: 4.0,
            ..DemoSpec::default()
        },
        4,
    )
    .expect("valid spec");
    let dir = common::scratch();
    let mut seen = Vec::new();
    let written = eegclean::demo::write_subjects(
        &subjects,
        dir.path(),
        |rec: &Recording, path: &std::path::Path| -> std::io::Result<()> {
            // Stand-in for the EDF writer: record the call, create the file.
            seen.push((rec.n_channels(), path.to_path_buf()));
            std::fs::write(path, b"")
        },
    )
    .expect("writes");
    assert_eq!(written.len(), 2);
    assert_eq!(seen.len(), 2);
    for (subject, edf) in subjects.iter().zip(&written) {
        assert!(edf.ends_with(format!(
            "sub-{0}/sub-{0}_task-motor_run-01_eeg.edf",
            subject.id
        )));
        let npy = edf.with_file_name(format!(
            "sub-{}_task-motor_run-01_desc-clean_eeg.npy",
            subject.id
        ));
        let tsv = edf.with_file_name(format!(
            "sub-{}_task-motor_run-01_artifacts.tsv",
            subject.id
        ));
        let out = common::run_python(
            "import sys, numpy as np, csv\n\
             a = np.load(sys.argv[1])\n\
             rows = list(csv.DictReader(open(sys.argv[2]), delimiter='\\t'))\n\
             print(a.shape[0], a.shape[1], repr(float(a[3, 100])), repr(float(np.abs(a).sum())), len(rows), rows[0]['kind'])",
            &[npy.to_str().expect("utf-8"), tsv.to_str().expect("utf-8")],
        );
        let f: Vec<&str> = out.split_whitespace().collect();
        let clean = &subject.truth.clean;
        assert_eq!(f[0].parse::<usize>().expect("rows"), clean.nrows());
        assert_eq!(f[1].parse::<usize>().expect("cols"), clean.ncols());
        assert_eq!(f[2].parse::<f64>().expect("value"), clean[[3, 100]]);
        let abs_sum: f64 = clean.iter().map(|v| v.abs()).sum();
        assert!((f[3].parse::<f64>().expect("sum") - abs_sum).abs() <= 1e-9 * abs_sum);
        assert_eq!(
            f[4].parse::<usize>().expect("count"),
            subject.truth.artifacts.len()
        );
        assert_eq!(f[5], subject.truth.artifacts[0].kind.as_str());
    }
}
