//! Open S001R04.edf and read all 64 EEG signals into an Array2 (what the load stage does).
//! MNE's read_raw_edf(preload=True) takes about 13 ms for this file on the reference machine.

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use eegclean::io::edf::EdfReader;
use ndarray::Array2;

fn read_all(path: &Path) -> Array2<f64> {
    let reader = EdfReader::open(path).expect("opens");
    let idx = reader.header().data_signals();
    let n = reader.header().signals[idx[0]].samples_per_record * reader.header().n_records;
    let mut out = Array2::zeros((idx.len(), n));
    reader
        .read_physical_into(&idx, out.view_mut())
        .expect("reads");
    out
}

fn bench(c: &mut Criterion) {
    let shared = std::env::var_os("EEGCLEAN_SHARED")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let path = shared.join("data/eegmmidb/S001/S001R04.edf");
    c.bench_function("edf_read S001R04 open+read 64×20000", |b| {
        b.iter(|| std::hint::black_box(read_all(&path)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
