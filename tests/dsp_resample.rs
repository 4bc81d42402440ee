//! FFT resampling against mne.filter.resample.

mod common;

use eegclean::dsp::{Npad, ResampleMethod, resample};
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
        u + ((i as f64) * 0.01 * (r + 1) as f64).sin()
    })
}

#[test]
fn fft_resample_equals_mne() {
    // (from, to, n_times, npad)
    let cases: Vec<(f64, f64, usize, Npad)> = vec![
        (160.0, 100.0, 3001, Npad::Auto),
        (512.0, 256.0, 4096, Npad::Auto),
        (1000.0, 250.0, 5000, Npad::Auto),
        (160.0, 100.0, 1000, Npad::Samples(100)),
        (100.0, 160.0, 777, Npad::Auto),
        (250.0, 1000.0, 500, Npad::Samples(100)),
    ];
    let dir = common::scratch();
    let mut lines = Vec::new();
    for (i, (from, to, n, npad)) in cases.iter().enumerate() {
        write_f64(
            &mut File::create(dir.path().join(format!("x{i}.npy"))).unwrap(),
            &random_rows(3, *n, 11 + i as u64).into_dyn(),
        )
        .unwrap();
        let np = match npad {
            Npad::Auto => "'auto'".to_string(),
            Npad::Samples(p) => p.to_string(),
        };
        lines.push(format!("({from:?}, {to:?}, {np})"));
    }
    let code = format!(
        r#"
import sys, os, numpy as np, mne
d = sys.argv[1]
for i, (fr, to, npad) in enumerate([{}]):
    x = np.load(os.path.join(d, f'x{{i}}.npy'))
    np.save(os.path.join(d, f'y{{i}}.npy'),
            mne.filter.resample(x, up=to, down=fr, npad=npad, method='fft', verbose=False))
"#,
        lines.join(", ")
    );
    common::run_python(&code, &[dir.path().to_str().unwrap()]);
    for (i, (from, to, n, npad)) in cases.iter().enumerate() {
        let x = random_rows(3, *n, 11 + i as u64);
        let y = resample(x.view(), *from, *to, ResampleMethod::Fft { npad: *npad }).unwrap();
        let y_ref = read_f64(dir.path().join(format!("y{i}.npy")))
            .unwrap()
            .into_dimensionality::<Ix2>()
            .unwrap();
        assert_eq!(y.dim(), y_ref.dim(), "case {i}: shape");
        let err = common::max_rel(y.as_slice().unwrap(), y_ref.as_slice().unwrap());
        println!("resample case {i} ({}): rel err {err:e}", lines[i]);
        assert!(err <= 1e-8, "case {i} differs from MNE by {err:e}");
    }
}

#[test]
fn invalid_rates_are_rejected() {
    let x = Array2::<f64>::zeros((1, 10));
    assert!(resample(x.view(), 0.0, 100.0, ResampleMethod::default()).is_err());
    assert!(resample(x.view(), 100.0, f64::NAN, ResampleMethod::default()).is_err());
}

#[test]
fn polyphase_resample_equals_mne_polyphase_and_scipy_resample_poly() {
    // (from, to, n_times)
    let cases: Vec<(f64, f64, usize)> = vec![
        (160.0, 100.0, 3000),
        (512.0, 256.0, 4096),
        (1000.0, 250.0, 5000),
        (100.0, 160.0, 700),
    ];
    let dir = common::scratch();
    let mut lines = Vec::new();
    for (i, (from, to, n)) in cases.iter().enumerate() {
        write_f64(
            &mut File::create(dir.path().join(format!("x{i}.npy"))).unwrap(),
            &random_rows(2, *n, 31 + i as u64).into_dyn(),
        )
        .unwrap();
        lines.push(format!("({from:?}, {to:?})"));
    }
    let code = format!(
        r#"
import sys, os, math, numpy as np, mne
from scipy import signal
d = sys.argv[1]
for i, (fr, to) in enumerate([{}]):
    x = np.load(os.path.join(d, f'x{{i}}.npy'))
    y = mne.filter.resample(x, up=to, down=fr, method='polyphase', verbose=False)
    # the same thing straight from scipy: MNE's window is firwin(kaiser 5), padtype reflect
    final = int(round(to / fr * x.shape[-1])); g = math.gcd(final, x.shape[-1])
    up, down = final // g, x.shape[-1] // g
    m = max(up, down)
    h = signal.firwin(2 * 10 * m + 1, 1.0 / m, window=('kaiser', 5.0))
    y2 = signal.resample_poly(x, up, down, axis=-1, window=h, padtype='reflect')
    assert np.allclose(y, y2, rtol=0, atol=1e-12 * np.abs(y).max())
    np.save(os.path.join(d, f'y{{i}}.npy'), y)
"#,
        lines.join(", ")
    );
    common::run_python(&code, &[dir.path().to_str().unwrap()]);
    for (i, (from, to, n)) in cases.iter().enumerate() {
        let x = random_rows(2, *n, 31 + i as u64);
        let y = resample(x.view(), *from, *to, ResampleMethod::Polyphase).unwrap();
        let y_ref = read_f64(dir.path().join(format!("y{i}.npy")))
            .unwrap()
            .into_dimensionality::<Ix2>()
            .unwrap();
        assert_eq!(y.dim(), y_ref.dim(), "case {i}: shape");
        let err = common::max_rel(y.as_slice().unwrap(), y_ref.as_slice().unwrap());
        println!("polyphase case {i} ({}): rel err {err:e}", lines[i]);
        assert!(
            err <= 1e-8,
            "polyphase case {i} differs from MNE by {err:e}"
        );
    }
}
