//! Band-pass 1-40 Hz then notch 60 Hz on 64 x 19680 samples at 160 Hz (the size of
//! EEGMMIDB S001R04). MNE 1.13.2 on S001R04: 0.023 s band-pass, 0.030 s notch.

use criterion::{Criterion, criterion_group, criterion_main};
use eegclean::dsp::{FirSpec, NotchSpec, apply_cascade_zero_phase};
use ndarray::Array2;
use std::hint::black_box;

fn synthetic() -> Array2<f64> {
    let mut s: u64 = 0x2545_F491_4F6C_DD1D;
    Array2::from_shape_fn((64, 19680), |(r, i)| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let noise = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
        let t = i as f64 / 160.0;
        20.0 * noise + 30.0 * (2.0 * std::f64::consts::PI * 60.0 * t).sin() + r as f64
    })
}

fn bench(c: &mut Criterion) {
    let data = synthetic();
    let bp = FirSpec {
        l_freq: Some(1.0),
        h_freq: Some(40.0),
        ..FirSpec::default()
    }
    .design(160.0)
    .expect("valid band-pass");
    let notch = NotchSpec::new(vec![60.0])
        .design(160.0)
        .expect("valid notch");
    let mut g = c.benchmark_group("dsp_filter_64x19680_160Hz");
    g.sample_size(20);
    g.bench_function("bandpass_1_40", |b| {
        b.iter_batched_ref(
            || data.clone(),
            |d| bp.apply_zero_phase(black_box(d.view_mut())),
            criterion::BatchSize::LargeInput,
        )
    });
    g.bench_function("notch_60", |b| {
        b.iter_batched_ref(
            || data.clone(),
            |d| notch.apply_zero_phase(black_box(d.view_mut())),
            criterion::BatchSize::LargeInput,
        )
    });
    // What the `filter` stage runs: both filters in one FFT pass.
    g.bench_function("bandpass_and_notch_one_pass", |b| {
        b.iter_batched_ref(
            || data.clone(),
            |d| apply_cascade_zero_phase(&[&bp, &notch], black_box(d.view_mut())),
            criterion::BatchSize::LargeInput,
        )
    });
    g.bench_function("bandpass_then_notch_incl_design", |b| {
        b.iter_batched_ref(
            || data.clone(),
            |d| {
                let bp = FirSpec {
                    l_freq: Some(1.0),
                    h_freq: Some(40.0),
                    ..FirSpec::default()
                }
                .design(160.0)
                .expect("valid");
                bp.apply_zero_phase(d.view_mut());
                NotchSpec::new(vec![60.0])
                    .design(160.0)
                    .expect("valid")
                    .apply_zero_phase(black_box(d.view_mut()));
            },
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
