//! Time to generate the default demo dataset (3 subjects × 60 s × 22 channels @ 256 Hz).

use criterion::{Criterion, criterion_group, criterion_main};
use eegclean::demo::{DemoSpec, generate};

fn bench_generate(c: &mut Criterion) {
    let spec = DemoSpec::default();
    c.bench_function("demo_generate_default", |b| {
        b.iter(|| generate(std::hint::black_box(&spec), 97).expect("default spec is valid"))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench_generate
}
criterion_main!(benches);
