//! Butterworth IIR against scipy.signal.butter(output='sos') and MNE's zero-phase
//! `filter_data(method='iir')`.

mod common;

use eegclean::dsp::{FilterError, IirSpec};
use eegclean::io::npy::{read_f64, write_f64};
use ndarray::{Array2, Ix2};
use std::fs::File;

fn random_rows(rows: usize, n: usize, seed: u64) -> Array2<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    Array2::from_shape_fn((rows, n), |(r, i)| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let u = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
        u + 0.3 * ((i as f64) * 0.002 * (r + 1) as f64).sin() + r as f64
    })
}

/// (sfreq, order, l_freq, h_freq, n_times)
type IirCase = (f64, usize, Option<f64>, Option<f64>, usize);

#[test]
fn butterworth_sos_and_zero_phase_output_equal_scipy_and_mne() {
    let cases: Vec<IirCase> = vec![
        (160.0, 4, Some(1.0), Some(40.0), 3000),
        (256.0, 4, None, Some(30.0), 2000),
        (512.0, 4, Some(0.5), None, 4000),
        (1000.0, 3, None, Some(100.0), 1500),
        (1000.0, 5, Some(2.0), None, 2500),
        (250.0, 2, Some(8.0), Some(12.0), 1000),
        // short signal: padding limited to n_times - 1
        (160.0, 4, Some(1.0), Some(40.0), 120),
    ];
    let dir = common::scratch();
    let mut lines = Vec::new();
    for (i, (sf, order, l, h, n)) in cases.iter().enumerate() {
        let x = random_rows(2, *n, 7 + i as u64);
        write_f64(
            &mut File::create(dir.path().join(format!("x{i}.npy"))).unwrap(),
            &x.into_dyn(),
        )
        .unwrap();
        let opt = |v: &Option<f64>| v.map_or("None".to_string(), |x| format!("{x:?}"));
        lines.push(format!("({sf:?}, {order}, {}, {})", opt(l), opt(h)));
    }
    let code = format!(
        r#"
import sys, os, numpy as np, mne
from scipy import signal
d = sys.argv[1]
for i, (sf, order, l, h) in enumerate([{}]):
    x = np.load(os.path.join(d, f'x{{i}}.npy'))
    if l is not None and h is not None:
        sos = signal.butter(order, [l, h], btype='bandpass', output='sos', fs=sf)
    elif l is not None:
        sos = signal.butter(order, l, btype='highpass', output='sos', fs=sf)
    else:
        sos = signal.butter(order, h, btype='lowpass', output='sos', fs=sf)
    np.save(os.path.join(d, f'sos{{i}}.npy'), sos)
    y = mne.filter.filter_data(x, sf, l, h, method='iir',
                               iir_params=dict(order=order, ftype='butter'), verbose=False)
    np.save(os.path.join(d, f'y{{i}}.npy'), y)
"#,
        lines.join(", ")
    );
    common::run_python(&code, &[dir.path().to_str().unwrap()]);
    for (i, (sf, order, l, h, n)) in cases.iter().enumerate() {
        let sos = IirSpec {
            order: *order,
            l_freq: *l,
            h_freq: *h,
        }
        .design(*sf)
        .unwrap();
        let sos_ref = read_f64(dir.path().join(format!("sos{i}.npy")))
            .unwrap()
            .into_dimensionality::<Ix2>()
            .unwrap();
        let ours: Vec<f64> = sos.sections.iter().flatten().copied().collect();
        assert_eq!(ours.len(), sos_ref.len(), "case {i}: number of sections");
        let sos_err = common::max_rel(&ours, sos_ref.as_slice().unwrap());
        let mut x = random_rows(2, *n, 7 + i as u64);
        sos.apply_zero_phase(x.view_mut());
        let y_ref = read_f64(dir.path().join(format!("y{i}.npy")))
            .unwrap()
            .into_dimensionality::<Ix2>()
            .unwrap();
        let y_err = common::max_rel(x.as_slice().unwrap(), y_ref.as_slice().unwrap());
        println!(
            "iir case {i} ({}): sos rel err {sos_err:e}, output rel err {y_err:e}, padlen {}",
            lines[i], sos.padlen
        );
        assert!(
            sos_err <= 1e-8,
            "case {i}: sos differs from scipy by {sos_err:e}"
        );
        assert!(
            y_err <= 1e-8,
            "case {i}: output differs from MNE by {y_err:e}"
        );
    }
}

#[test]
fn iir_parameter_errors_are_typed() {
    let e = IirSpec {
        order: 4,
        l_freq: None,
        h_freq: Some(80.0),
    }
    .design(160.0)
    .unwrap_err();
    assert!(
        matches!(e, FilterError::LowPassAtOrAboveNyquist { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("h_freq"));
    let e = IirSpec {
        order: 4,
        l_freq: Some(30.0),
        h_freq: Some(10.0),
    }
    .design(160.0)
    .unwrap_err();
    assert!(matches!(e, FilterError::EmptyPassband { .. }), "{e:?}");
    let e = IirSpec {
        order: 0,
        l_freq: Some(1.0),
        h_freq: None,
    }
    .design(160.0)
    .unwrap_err();
    assert!(matches!(e, FilterError::IirOrder { .. }), "{e:?}");
}
