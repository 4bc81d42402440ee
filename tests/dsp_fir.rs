//! FIR filters against MNE-Python (the reference kernels and `mne.filter` run live).

mod common;

use eegclean::dsp::{FilterError, FilterLength, FirSpec, NotchSpec, Transition, Window};
use eegclean::io::npy::{read_f64, write_f64};
use ndarray::{Array2, ArrayD, Ix1, Ix2};
use std::fs::File;

fn read1(path: &std::path::Path) -> Vec<f64> {
    read_f64(path)
        .unwrap()
        .into_dimensionality::<Ix1>()
        .unwrap()
        .to_vec()
}

fn read2(path: &std::path::Path) -> Array2<f64> {
    read_f64(path)
        .unwrap()
        .into_dimensionality::<Ix2>()
        .unwrap()
}

fn write(path: &std::path::Path, a: ArrayD<f64>) {
    write_f64(&mut File::create(path).unwrap(), &a).unwrap();
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().map(|x| x.abs()).fold(0.0, f64::max)
}

/// Deterministic pseudo-random data (xorshift), centred, with a slow drift so high-pass
/// edges matter.
fn random_rows(rows: usize, n: usize, seed: u64) -> Array2<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    Array2::from_shape_fn((rows, n), |(r, i)| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let u = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
        u + 0.3 * ((i as f64) * 0.001 * (r + 1) as f64).sin() + r as f64
    })
}

#[test]
fn bandpass_1_40_at_160_equals_mne_kernel() {
    let reference = read1(&common::shared_file(
        "ref/mne-S001R04/kernel_bandpass_1_40.npy",
    ));
    let spec = FirSpec {
        l_freq: Some(1.0),
        h_freq: Some(40.0),
        ..FirSpec::default()
    };
    let filt = spec.design(160.0).unwrap();
    assert_eq!(filt.taps.len(), 529);
    let err = max_abs_diff(&filt.taps, &reference);
    println!("band-pass kernel max abs error {err:e}");
    assert!(err <= 1e-12, "kernel differs from MNE by {err:e}");
    assert!(
        filt.description.contains("529 samples"),
        "{}",
        filt.description
    );
}

#[test]
fn notch_60_at_160_impulse_response_equals_mne() {
    let reference = read1(&common::shared_file(
        "ref/mne-S001R04/kernel_notch_60_impulse_response.npy",
    ));
    // Same construction as mne_pipeline.py: impulse of length 8 * 529 + 1 at the centre.
    let len = 8 * 529 + 1;
    let mut imp = Array2::<f64>::zeros((1, len));
    imp[[0, len / 2]] = 1.0;
    let filt = NotchSpec::new(vec![60.0]).design(160.0).unwrap();
    filt.apply_zero_phase(imp.view_mut());
    let y = imp.row(0).to_vec();
    let nz: Vec<usize> = (0..len).filter(|&i| y[i].abs() > 1e-15).collect();
    let got = &y[nz[0]..=nz[nz.len() - 1]];
    let err = max_abs_diff(got, &reference);
    println!("notch impulse response max abs error {err:e}");
    assert!(err <= 1e-12, "notch impulse response differs by {err:e}");
}

#[test]
fn s001r04_bandpass_then_notch_equals_mne_filtered() {
    let dir = common::scratch();
    let input = dir.path().join("avg_ref_uV.npy");
    common::run_python(
        r#"
import sys, numpy as np, mne
raw = mne.io.read_raw_edf(sys.argv[1], preload=True, verbose=False)
if any(c.endswith('.') for c in raw.ch_names):
    mne.datasets.eegbci.standardize(raw)
raw.set_eeg_reference('average', projection=False, verbose=False)
np.save(sys.argv[2], raw.get_data() * 1e6)
"#,
        &[
            common::shared_file("data/eegmmidb/S001/S001R04.edf")
                .to_str()
                .unwrap(),
            input.to_str().unwrap(),
        ],
    );
    let mut data = read2(&input);
    let reference = read2(&common::shared_file("ref/mne-S001R04/filtered_uV.npy"));
    let bp = FirSpec {
        l_freq: Some(1.0),
        h_freq: Some(40.0),
        ..FirSpec::default()
    }
    .design(160.0)
    .unwrap();
    bp.apply_zero_phase(data.view_mut());
    NotchSpec::new(vec![60.0])
        .design(160.0)
        .unwrap()
        .apply_zero_phase(data.view_mut());
    assert_eq!(data.dim(), reference.dim());
    let rms = (reference.iter().map(|v| v * v).sum::<f64>() / reference.len() as f64).sqrt();
    let err = max_abs_diff(data.as_slice().unwrap(), reference.as_slice().unwrap());
    println!(
        "S001R04 filtered: max abs error {err:e} uV, rms {rms} uV, ratio {:e}",
        err / rms
    );
    assert!(
        err <= 1e-6 * rms,
        "max abs error {err:e} > 1e-6 x rms {rms}"
    );
}

struct Case {
    sfreq: f64,
    spec: FirSpec,
    n_times: usize,
}

fn py_opt(v: Option<f64>) -> String {
    v.map_or("None".into(), |x| format!("{x:?}"))
}

fn py_trans(t: Transition) -> String {
    match t {
        Transition::Auto => "'auto'".into(),
        Transition::Hz(x) => format!("{x:?}"),
    }
}

fn py_len(l: FilterLength) -> String {
    match l {
        FilterLength::Auto => "'auto'".into(),
        FilterLength::Samples(n) => n.to_string(),
        FilterLength::Seconds(s) => format!("'{s}s'"),
    }
}

#[test]
fn designs_and_filtering_equal_mne_create_filter_and_filter_data() {
    let spec = |l, h, lt, ht, length, window| FirSpec {
        l_freq: l,
        h_freq: h,
        l_trans: lt,
        h_trans: ht,
        length,
        window,
    };
    use FilterLength as L;
    use Transition::{Auto, Hz};
    let cases = vec![
        // low-pass only
        Case {
            sfreq: 160.0,
            spec: spec(None, Some(40.0), Auto, Auto, L::Auto, Window::Hamming),
            n_times: 5000,
        },
        // high-pass only, long kernel relative to the signal
        Case {
            sfreq: 256.0,
            spec: spec(Some(0.5), None, Auto, Auto, L::Auto, Window::Hamming),
            n_times: 3000,
        },
        Case {
            sfreq: 512.0,
            spec: spec(Some(1.0), Some(100.0), Auto, Auto, L::Auto, Window::Hamming),
            n_times: 2000,
        },
        Case {
            sfreq: 1000.0,
            spec: spec(Some(8.0), Some(30.0), Auto, Auto, L::Auto, Window::Hann),
            n_times: 4000,
        },
        // even length rounded up to odd, blackman
        Case {
            sfreq: 1000.0,
            spec: spec(
                None,
                Some(100.0),
                Auto,
                Auto,
                L::Samples(200),
                Window::Blackman,
            ),
            n_times: 1500,
        },
        // short signal: kernel longer than the data, padding limited by the signal
        Case {
            sfreq: 160.0,
            spec: spec(Some(1.0), Some(40.0), Auto, Auto, L::Auto, Window::Hamming),
            n_times: 300,
        },
        Case {
            sfreq: 250.0,
            spec: spec(
                None,
                Some(30.0),
                Auto,
                Auto,
                L::Seconds(2.0),
                Window::Hamming,
            ),
            n_times: 777,
        },
        Case {
            sfreq: 200.0,
            spec: spec(
                Some(2.0),
                Some(45.0),
                Hz(1.5),
                Hz(5.0),
                L::Auto,
                Window::Hamming,
            ),
            n_times: 2345,
        },
        // high-pass whose stop edge is above zero (extra 0 Hz control point)
        Case {
            sfreq: 500.0,
            spec: spec(Some(20.0), None, Auto, Auto, L::Auto, Window::Hann),
            n_times: 1001,
        },
    ];
    let dir = common::scratch();
    let mut lines = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let x = random_rows(3, c.n_times, i as u64 + 1);
        write(&dir.path().join(format!("x{i}.npy")), x.into_dyn());
        let s = &c.spec;
        lines.push(format!(
            "({}, {}, {}, {}, {}, {}, '{}')",
            c.sfreq,
            py_opt(s.l_freq),
            py_opt(s.h_freq),
            py_trans(s.l_trans),
            py_trans(s.h_trans),
            py_len(s.length),
            s.window.name()
        ));
    }
    let code = format!(
        r#"
import sys, os, numpy as np, mne
d = sys.argv[1]
cases = [{}]
for i, (sf, l, h, lt, ht, fl, win) in enumerate(cases):
    x = np.load(os.path.join(d, f'x{{i}}.npy'))
    kw = dict(filter_length=fl, l_trans_bandwidth=lt, h_trans_bandwidth=ht,
              fir_window=win, fir_design='firwin', phase='zero', verbose=False)
    np.save(os.path.join(d, f'h{{i}}.npy'), mne.filter.create_filter(None, sf, l, h, **kw))
    np.save(os.path.join(d, f'y{{i}}.npy'), mne.filter.filter_data(x, sf, l, h, **kw))
"#,
        lines.join(",\n")
    );
    common::run_python(&code, &[dir.path().to_str().unwrap()]);
    for (i, c) in cases.iter().enumerate() {
        let filt = c.spec.design(c.sfreq).unwrap();
        let h_ref = read1(&dir.path().join(format!("h{i}.npy")));
        let tap_err = max_abs_diff(&filt.taps, &h_ref) / max_abs(&h_ref);
        let mut x = random_rows(3, c.n_times, i as u64 + 1);
        filt.apply_zero_phase(x.view_mut());
        let y_ref = read2(&dir.path().join(format!("y{i}.npy")));
        let y_err = max_abs_diff(x.as_slice().unwrap(), y_ref.as_slice().unwrap())
            / max_abs(y_ref.as_slice().unwrap());
        println!(
            "case {i} ({}): taps rel err {tap_err:e}, output rel err {y_err:e}",
            lines[i]
        );
        assert!(
            tap_err <= 1e-10,
            "case {i}: taps differ from create_filter by {tap_err:e}"
        );
        assert!(
            y_err <= 1e-10,
            "case {i}: output differs from filter_data by {y_err:e}"
        );
    }
}

/// (sfreq, freqs, widths, trans_bandwidth, n_times)
type NotchCase = (f64, Vec<f64>, Option<Vec<f64>>, f64, usize);

#[test]
fn notches_equal_mne_notch_filter() {
    let cases: Vec<NotchCase> = vec![
        (1000.0, vec![50.0, 100.0, 150.0], None, 1.0, 6000),
        (256.0, vec![60.0, 120.0], Some(vec![2.0]), 2.0, 3000),
        (512.0, vec![50.0], Some(vec![1.0]), 1.0, 700),
    ];
    let dir = common::scratch();
    let mut lines = Vec::new();
    for (i, (sf, freqs, widths, tb, n)) in cases.iter().enumerate() {
        write(
            &dir.path().join(format!("x{i}.npy")),
            random_rows(2, *n, 100 + i as u64).into_dyn(),
        );
        lines.push(format!(
            "({sf}, {freqs:?}, {}, {tb})",
            widths
                .as_ref()
                .map_or("None".into(), |w| format!("np.array({w:?})"))
        ));
    }
    let code = format!(
        r#"
import sys, os, numpy as np, mne
d = sys.argv[1]
for i, (sf, f, w, tb) in enumerate([{}]):
    x = np.load(os.path.join(d, f'x{{i}}.npy'))
    np.save(os.path.join(d, f'y{{i}}.npy'),
            mne.filter.notch_filter(x, sf, f, notch_widths=w, trans_bandwidth=tb, verbose=False))
"#,
        lines.join(", ")
    );
    common::run_python(&code, &[dir.path().to_str().unwrap()]);
    for (i, (sf, freqs, widths, tb, n)) in cases.iter().enumerate() {
        let spec = NotchSpec {
            widths: widths.clone(),
            trans_bandwidth: *tb,
            ..NotchSpec::new(freqs.clone())
        };
        let mut x = random_rows(2, *n, 100 + i as u64);
        spec.design(*sf).unwrap().apply_zero_phase(x.view_mut());
        let y_ref = read2(&dir.path().join(format!("y{i}.npy")));
        let err = max_abs_diff(x.as_slice().unwrap(), y_ref.as_slice().unwrap())
            / max_abs(y_ref.as_slice().unwrap());
        println!("notch case {i}: rel err {err:e}");
        assert!(err <= 1e-10, "notch case {i} differs from MNE by {err:e}");
    }
}

#[test]
fn invalid_parameters_give_typed_errors_naming_the_parameter() {
    let e = FirSpec {
        h_freq: Some(80.0),
        ..FirSpec::default()
    }
    .design(160.0)
    .unwrap_err();
    assert!(
        matches!(e, FilterError::LowPassAtOrAboveNyquist { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("h_freq"), "{e}");

    let e = FirSpec {
        l_freq: Some(40.0),
        h_freq: Some(10.0),
        ..FirSpec::default()
    }
    .design(160.0)
    .unwrap_err();
    assert!(matches!(e, FilterError::EmptyPassband { .. }), "{e:?}");
    assert!(
        e.to_string().contains("l_freq") && e.to_string().contains("h_freq"),
        "{e}"
    );

    let e = FirSpec {
        l_freq: Some(-1.0),
        ..FirSpec::default()
    }
    .design(160.0)
    .unwrap_err();
    assert!(
        matches!(e, FilterError::HighPassNotPositive { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("l_freq"), "{e}");

    // 2 Hz below a 1 Hz pass edge would put the stop edge at -1 Hz.
    let e = FirSpec {
        l_freq: Some(1.0),
        l_trans: Transition::Hz(2.0),
        ..FirSpec::default()
    }
    .design(160.0)
    .unwrap_err();
    assert!(matches!(e, FilterError::LowerStopNegative { .. }), "{e:?}");
    assert!(e.to_string().contains("l_trans_bandwidth"), "{e}");

    let e = FirSpec {
        h_freq: Some(75.0),
        h_trans: Transition::Hz(10.0),
        ..FirSpec::default()
    }
    .design(160.0)
    .unwrap_err();
    assert!(
        matches!(e, FilterError::UpperStopAboveNyquist { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("h_trans_bandwidth"), "{e}");

    // A 1 Hz transition at 160 Hz needs 529 taps; 101 cannot hold it.
    let e = FirSpec {
        l_freq: Some(1.0),
        h_freq: Some(40.0),
        length: FilterLength::Samples(101),
        ..FirSpec::default()
    }
    .design(160.0)
    .unwrap_err();
    assert!(
        matches!(
            e,
            FilterError::LengthTooShortForTransition { required: 529, .. }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("filter length"), "{e}");

    let e = NotchSpec::new(vec![79.9]).design(160.0).unwrap_err();
    assert!(
        matches!(e, FilterError::LowPassAtOrAboveNyquist { .. }),
        "{e:?}"
    );
}
