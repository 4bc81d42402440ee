//! Our EDF/BDF reader against pyedflib (and MNE or a raw NumPy parse where pyedflib refuses
//! a file) on every shared test file: every sample of every signal, every annotation, and
//! EDF+D record onsets against an independent TAL parse in Python.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use eegclean::io::edf::{EdfError, EdfReader};
use ndarray::Array2;
use serde_json::Value;

const ORACLE: &str = r#"
import sys, json, re, glob, os
import numpy as np
out = sys.argv[1]
files = sys.argv[2:]

def raw_header(path):
    b = open(path, 'rb').read()
    ns = int(b[252:256])
    def fld(start, width, i):
        o = 256 + start * ns + width * i
        return b[o:o + width].decode('latin-1').strip()
    labels = [fld(0, 16, i) for i in range(ns)]
    spr = [int(fld(216, 8, i)) for i in range(ns)]
    bps = 3 if b[0] == 0xFF else 2
    hb = 256 * (ns + 1)
    rec = sum(spr) * bps
    nrec = int(b[236:244])
    if nrec == -1:
        nrec = (len(b) - hb) // rec
    plus = b[192:196] in (b'EDF+', b'BDF+')
    return dict(b=b, ns=ns, labels=labels, spr=spr, bps=bps, hb=hb, rec=rec, nrec=nrec, plus=plus,
                pmin=[float(fld(104, 8, i)) for i in range(ns)], pmax=[float(fld(112, 8, i)) for i in range(ns)],
                dmin=[int(fld(120, 8, i)) for i in range(ns)], dmax=[int(fld(128, 8, i)) for i in range(ns)])

def annot_idx(h):
    return [i for i, l in enumerate(h['labels']) if l in ('EDF Annotations', 'BDF Annotations')]

def tal_bytes(h, r, s):
    o = h['hb'] + r * h['rec'] + sum(h['spr'][:s]) * h['bps']
    return h['b'][o:o + h['spr'][s] * h['bps']]

def raw_tals(h):
    """Independent TAL parse: split on NUL, then on 0x14."""
    onsets, annots = [], []
    ai = annot_idx(h)
    for r in range(h['nrec']):
        for k, s in enumerate(ai):
            for j, tal in enumerate(t for t in tal_bytes(h, r, s).split(b'\x00') if t):
                parts = tal.split(b'\x14')
                head = parts[0].split(b'\x15')
                onset = float(head[0])
                dur = float(head[1]) if len(head) > 1 and head[1] else None
                if k == 0 and j == 0:
                    onsets.append(onset)
                for t in parts[1:-1]:
                    if t:
                        annots.append([onset, dur, t.decode('utf-8', 'replace')])
    return onsets, annots

def numpy_physical(h, s):
    bps = h['bps']
    chunks = [tal_bytes(h, r, s) for r in range(h['nrec'])]
    raw = b''.join(chunks)
    if bps == 2:
        d = np.frombuffer(raw, '<i2').astype(np.float64)
    else:
        u = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        d = (u[:, 0] | (u[:, 1] << 8) | (u[:, 2] << 16)).astype(np.int32)
        d = np.where(d >= 1 << 23, d - (1 << 24), d).astype(np.float64)
    return (d - h['dmin'][s]) * (h['pmax'][s] - h['pmin'][s]) / (h['dmax'][s] - h['dmin'][s]) + h['pmin'][s]

result = {}
for n, path in enumerate(files):
    h = raw_header(path)
    entry = dict(signals={}, plus=h['plus'])
    onsets, tal_annots = raw_tals(h)
    if h['plus'] and annot_idx(h):
        entry['record_onsets'] = [o - onsets[0] for o in onsets]
    try:
        import pyedflib
        r = pyedflib.EdfReader(path)
        # pyedflib hides annotation signals in EDF+/BDF+ only.
        visible = [i for i in range(h['ns']) if not (h['plus'] and i in annot_idx(h))]
        assert len(visible) == r.signals_in_file
        for k, j in enumerate(visible):
            p = os.path.join(out, f'{n}_{j}.f64')
            np.asarray(r.readSignal(k, digital=False), dtype='<f8').tofile(p)
            entry['signals'][str(j)] = p
        on, du, tx = r.readAnnotations()
        entry['annotations'] = [[float(a), None if b == -1 else float(b), str(c)] for a, b, c in zip(on, du, tx)]
        entry['annotation_source'] = 'pyedflib'
        if not h['plus'] and annot_idx(h):
            # pyedflib ignores TALs in plain EDF; MNE reads them. Oracle: the raw TAL parse,
            # checked against MNE's descriptions.
            import mne
            raw = mne.io.read_raw_edf(path, verbose='error')
            assert sorted(raw.annotations.description) == sorted(t for _, _, t in tal_annots), path
            entry['annotations'] = tal_annots
            entry['annotation_source'] = 'raw TAL parse + MNE'
        entry['source'] = 'pyedflib'
        r.close()
    except OSError as e:
        import mne
        entry['source'] = 'mne+numpy (pyedflib: %s)' % str(e).split(':')[-1].strip()
        raw = mne.io.read_raw_edf(path, preload=True, verbose='error') if not path.lower().endswith('.bdf') else mne.io.read_raw_bdf(path, preload=True, verbose='error')
        units = raw._raw_extras[0]['units']
        data_idx = [i for i in range(h['ns']) if i not in annot_idx(h)]
        mne_checked = 0
        for k, j in enumerate(data_idx):
            ref = numpy_physical(h, j)
            # MNE keeps only the trigger bits of a BDF Status channel, so it is no oracle there.
            if len(ref) == raw.n_times and h['labels'][j] != 'Status':
                # MNE (in volts for voltage channels) must agree with the NumPy parse.
                m = raw.get_data(picks=[k])[0] / units[k]
                assert np.allclose(m, ref, rtol=1e-9, atol=1e-9 * np.abs(ref).max()), (path, j)
                mne_checked += 1
            p = os.path.join(out, f'{n}_{j}.f64')
            np.asarray(ref, dtype='<f8').tofile(p)
            entry['signals'][str(j)] = p
        entry['mne_checked_signals'] = mne_checked
        t0 = onsets[0] if onsets else 0.0
        entry['annotations'] = [[o - t0, d, t] for o, d, t in tal_annots]
        entry['annotation_source'] = 'raw TAL parse'
        # MNE's own annotation list must hold the same descriptions.
        assert sorted(raw.annotations.description) == sorted(t for _, _, t in tal_annots), path
    result[path] = entry
print(json.dumps(result))
"#;

fn test_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["data/odd", "data/eog", "data/eegmmidb/S001"] {
        let d = common::shared_file(dir);
        let mut v: Vec<PathBuf> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        v.sort();
        files.extend(v);
    }
    assert!(
        files.len() >= 30,
        "expected the shared test files, found {}",
        files.len()
    );
    files
}

fn oracle(files: &[PathBuf], scratch: &Path) -> BTreeMap<String, Value> {
    let mut args: Vec<String> = vec![scratch.display().to_string()];
    args.extend(files.iter().map(|p| p.display().to_string()));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = common::run_python(ORACLE, &argv);
    serde_json::from_str(&out).expect("oracle JSON")
}

#[test]
fn every_shared_file_matches_the_oracles() {
    let files = test_files();
    let dir = common::scratch();
    let oracle = oracle(&files, dir.path());
    let mut worst_rel = 0.0f64;
    let mut n_samples = 0usize;
    for path in &files {
        let key = path.display().to_string();
        let o = &oracle[&key];
        let reader = EdfReader::open(path).unwrap_or_else(|e| panic!("{key}: {e}"));
        let h = reader.header();
        let signals = o["signals"].as_object().unwrap();
        assert!(
            !signals.is_empty() || h.data_signals().is_empty(),
            "{key}: oracle gave no signals"
        );
        for (j, npy) in signals {
            let j: usize = j.parse().unwrap();
            let want = read_f64_raw(npy.as_str().unwrap());
            let got = reader.read_physical(j).unwrap();
            assert_eq!(got.len(), want.len(), "{key} signal {j}: sample count");
            let s = &h.signals[j];
            let lsb = s.gain().abs();
            for (k, (&g, &w)) in got.iter().zip(&want).enumerate() {
                let err = (g - w).abs();
                let scale = w.abs().max(lsb);
                assert!(
                    err <= 1e-9 * scale,
                    "{key} signal {j} sample {k}: ours {g}, oracle {w}"
                );
                worst_rel = worst_rel.max(err / scale);
            }
            n_samples += got.len();
        }

        let want = o["annotations"].as_array().unwrap();
        let got = reader.annotations().unwrap();
        assert_eq!(
            got.len(),
            want.len(),
            "{key}: annotation count ({})",
            o["annotation_source"]
        );
        for (g, w) in got.iter().zip(want) {
            let w = w.as_array().unwrap();
            assert!(
                (g.onset - w[0].as_f64().unwrap()).abs() <= 1e-6,
                "{key}: onset {g:?} vs {w:?}"
            );
            match (g.duration, w[1].as_f64()) {
                (None, None) => {}
                (Some(a), Some(b)) => {
                    assert!((a - b).abs() <= 1e-6, "{key}: duration {g:?} vs {w:?}")
                }
                _ => panic!("{key}: duration {g:?} vs {w:?}"),
            }
            assert_eq!(g.description, w[2].as_str().unwrap(), "{key}");
        }

        if let Some(onsets) = o.get("record_onsets").and_then(Value::as_array) {
            let got = reader.record_onsets();
            assert_eq!(got.len(), onsets.len(), "{key}: record count");
            for (r, (g, w)) in got.iter().zip(onsets).enumerate() {
                assert!(
                    (g - w.as_f64().unwrap()).abs() <= 1e-9,
                    "{key}: record {r} onset {g} vs {w}"
                );
            }
        }
    }
    eprintln!(
        "compared {n_samples} samples over {} files; worst relative error {worst_rel:e}",
        files.len()
    );
}

#[test]
fn fast_path_equals_per_signal_reads() {
    let path = common::shared_file("data/eegmmidb/S001/S001R04.edf");
    let reader = EdfReader::open(&path).unwrap();
    let idx = reader.header().data_signals();
    let n = reader.header().signals[idx[0]].samples_per_record * reader.header().n_records;
    let mut out = Array2::<f64>::zeros((idx.len(), n));
    reader.read_physical_into(&idx, out.view_mut()).unwrap();
    for (row, &s) in idx.iter().enumerate() {
        assert_eq!(out.row(row).to_vec(), reader.read_physical(s).unwrap());
    }
    // A transposed (non-contiguous) output view still gets the right values.
    let mut t = Array2::<f64>::zeros((n, idx.len()));
    reader
        .read_physical_into(&idx, t.view_mut().reversed_axes())
        .unwrap();
    assert_eq!(t.t(), out);
    // Wrong shapes and mixed rates are refused.
    assert!(
        reader
            .read_physical_into(&idx, Array2::zeros((idx.len(), n + 1)).view_mut())
            .is_err()
    );
    let psg = EdfReader::open(common::shared_file("data/eog/short_psg.edf")).unwrap();
    let rates: Vec<usize> = psg
        .header()
        .signals
        .iter()
        .map(|s| s.samples_per_record)
        .collect();
    let a = 0;
    let b = rates
        .iter()
        .position(|&r| r != rates[0])
        .expect("two rates");
    assert!(matches!(
        psg.read_physical_into(&[a, b], Array2::zeros((2, 10)).view_mut()),
        Err(EdfError::Request { .. })
    ));
}

#[test]
fn edf_plus_d_segments_follow_the_record_onsets() {
    let reader = EdfReader::open(common::shared_file("data/odd/MB0400FU_edfplus_d.EDF")).unwrap();
    let onsets = reader.record_onsets();
    let segs = reader.segments();
    let d = reader.header().record_duration;
    // Segments tile the records, and a new one starts exactly where onsets are not adjacent.
    assert_eq!(
        segs.iter().map(|s| s.n_records).sum::<usize>(),
        onsets.len()
    );
    for s in &segs {
        for r in s.first_record + 1..s.first_record + s.n_records {
            assert!((onsets[r] - onsets[r - 1] - d).abs() <= 1e-6);
        }
        assert_eq!(s.onset, onsets[s.first_record]);
    }
    for w in segs.windows(2) {
        let end = w[0].first_record + w[0].n_records;
        assert_eq!(end, w[1].first_record);
        assert!((onsets[end] - onsets[end - 1] - d).abs() > 1e-6);
    }
    eprintln!(
        "EDF+D: {} records, {} segments: {segs:?}",
        onsets.len(),
        segs.len()
    );
}

#[test]
fn crlf_damaged_file_is_refused_with_the_size_mismatch() {
    let path = common::shared_file("data/corrupt/S001R04_crlf_damaged.edf");
    let err = EdfReader::open(&path).unwrap_err();
    let actual = std::fs::metadata(&path).unwrap().len();
    match &err {
        EdfError::SizeMismatch {
            expected,
            actual: a,
            n_records,
            ..
        } => {
            assert_eq!(*a, actual);
            assert_eq!(
                actual - expected,
                10_853,
                "the README says 10,853 bytes too many"
            );
            assert_eq!(*n_records, 125);
        }
        other => panic!("expected a size mismatch, got {other}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("size mismatch") && msg.contains("10853 bytes too many"),
        "{msg}"
    );
    assert!(msg.contains("S001R04_crlf_damaged.edf"), "{msg}");
}

#[test]
fn sub_second_start_comes_from_the_first_record() {
    let reader = EdfReader::open(common::shared_file("data/odd/subsecond_starttime.edf")).unwrap();
    // pyedflib's getStartdatetime() divides its 100-ns count by 100 instead of 10 (it says
    // .039453 for this file's +0.3945312 s), so the oracles are its raw 100-ns count and edfio.
    let out = common::run_python(
        "import sys, pyedflib, edfio; r = pyedflib.EdfReader(sys.argv[1]); \
         print(r.starttime_subsecond / 1e7, edfio.read_edf(sys.argv[1]).starttime.microsecond / 1e6)",
        &[reader.path().to_str().unwrap()],
    );
    let got = reader.header().start.subsecond;
    for want in out.split_whitespace() {
        let want: f64 = want.parse().unwrap();
        assert!(
            (got - want).abs() < 1e-6,
            "{:?} vs {want} s",
            reader.header().start
        );
    }
}

/// Everything a caller might do with an opened file; none of it may panic.
fn exercise(bytes: Vec<u8>) {
    if let Ok(r) = EdfReader::from_bytes("mutated.edf", bytes) {
        for s in 0..r.header().signals.len() {
            let v = r.read_physical(s).unwrap();
            assert_eq!(
                v.len(),
                r.header().signals[s].samples_per_record * r.header().n_records
            );
        }
        let _ = r.annotations();
        let _ = r.segments();
        let _ = eegclean::io::edf::Inspection::from_reader(&r).map(|i| i.to_text());
    }
}

#[test]
fn edf_plus_d_gap_makes_a_new_segment() {
    // The tiny file as EDF+D with record onsets 0, 1, 5: records 0–1 adjacent, then a gap.
    let mut b = common::tiny_edf_plus();
    b[192..197].copy_from_slice(b"EDF+D");
    let rec = 6 * 2 + 32;
    let third = 256 * 4 + 2 * rec + 12;
    b[third..third + 2].copy_from_slice(b"+5");
    let r = EdfReader::from_bytes("gap.edf", b).unwrap();
    assert_eq!(r.header().kind, eegclean::io::edf::EdfKind::EdfPlusD);
    assert_eq!(r.record_onsets(), vec![0.0, 1.0, 5.0]);
    let s = r.segments();
    assert_eq!(s.len(), 2, "{s:?}");
    assert_eq!(
        (s[0].first_record, s[0].n_records, s[0].onset, s[0].duration),
        (0, 2, 0.0, 2.0)
    );
    assert_eq!(
        (s[1].first_record, s[1].n_records, s[1].onset, s[1].duration),
        (2, 1, 5.0, 1.0)
    );
    // EDF+D without a time-keeping TAL in a record is refused (its onset would be a guess).
    let mut b = common::tiny_edf_plus();
    b[192..197].copy_from_slice(b"EDF+D");
    let first = 256 * 4 + 12;
    b[first..first + 32].fill(0);
    assert!(matches!(
        EdfReader::from_bytes("gap.edf", b),
        Err(EdfError::Annotation { record: 0, .. })
    ));
}

#[test]
fn tiny_file_reads_as_built() {
    let r = EdfReader::from_bytes("tiny.edf", common::tiny_edf_plus()).unwrap();
    // Sample 0 of Fp1 in record 0 is digital -20: (-20 + 32768) * 1000/65535 - 500.
    let want = (-20.0 + 32768.0) * 1000.0 / 65535.0 - 500.0;
    assert!((r.read_physical(0).unwrap()[0] - want).abs() < 1e-12);
    let a = r.annotations().unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(
        (a[0].onset, a[0].duration, a[0].description.as_str()),
        (1.5, Some(0.25), "T1")
    );
    assert_eq!(r.record_onsets(), vec![0.0, 1.0, 2.0]);
    assert_eq!(r.segments().len(), 1);
}

#[test]
fn header_field_errors_name_field_signal_and_offset() {
    let ns = 3;
    // digital minimum of signal 1 := "abc".
    let mut b = common::tiny_edf_plus();
    let off = 256 + 120 * ns + 8;
    b[off..off + 8].copy_from_slice(b"abc     ");
    match EdfReader::from_bytes("t.edf", b).unwrap_err() {
        EdfError::BadField {
            field,
            signal,
            offset,
            ..
        } => {
            assert_eq!(
                (field, signal, offset),
                ("digital minimum", Some(1), off as u64)
            )
        }
        e => panic!("{e}"),
    }
    // digital min ≥ max.
    let mut b = common::tiny_edf_plus();
    let off = 256 + 120 * ns;
    b[off..off + 8].copy_from_slice(b"32767   ");
    assert!(matches!(
        EdfReader::from_bytes("t.edf", b),
        Err(EdfError::BadField {
            field: "digital minimum",
            ..
        })
    ));
    // physical min == max.
    let mut b = common::tiny_edf_plus();
    let off = 256 + 104 * ns + 16;
    b[off..off + 8].copy_from_slice(b"1       ");
    assert!(matches!(
        EdfReader::from_bytes("t.edf", b),
        Err(EdfError::BadField {
            field: "physical minimum",
            signal: Some(2),
            ..
        })
    ));
    // header bytes inconsistent with ns.
    let mut b = common::tiny_edf_plus();
    b[184..192].copy_from_slice(b"768     ");
    assert!(matches!(
        EdfReader::from_bytes("t.edf", b),
        Err(EdfError::BadField {
            field: "number of bytes in header",
            ..
        })
    ));
    // zero samples per record.
    let mut b = common::tiny_edf_plus();
    let off = 256 + 216 * ns;
    b[off..off + 8].copy_from_slice(b"0       ");
    assert!(matches!(
        EdfReader::from_bytes("t.edf", b),
        Err(EdfError::BadField { .. })
    ));
    // Leading/trailing spaces and a + sign are accepted (MNE does too).
    let mut b = common::tiny_edf_plus();
    b[236..244].copy_from_slice(b"  +3    ");
    assert_eq!(
        EdfReader::from_bytes("t.edf", b)
            .unwrap()
            .header()
            .n_records,
        3
    );
    // n_records = -1 derives the count; a size that does not divide is refused.
    let mut b = common::tiny_edf_plus();
    b[236..244].copy_from_slice(b"-1      ");
    assert_eq!(
        EdfReader::from_bytes("t.edf", b.clone())
            .unwrap()
            .header()
            .n_records,
        3
    );
    b.push(0);
    assert!(matches!(
        EdfReader::from_bytes("t.edf", b),
        Err(EdfError::SizeMismatch { n_records: -1, .. })
    ));
    // A decimal comma is not a number (pyedflib and MNE refuse it too).
    let mut b = common::tiny_edf_plus();
    b[244..252].copy_from_slice(b"1,0     ");
    assert!(matches!(
        EdfReader::from_bytes("t.edf", b),
        Err(EdfError::BadField {
            field: "duration of a data record",
            offset: 244,
            ..
        })
    ));
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    const INTERESTING: &[&str] = &[
        "",
        "-1",
        "0",
        "1",
        "+1",
        "-0",
        "99999999",
        "-9999999",
        "1e308",
        "1e-308",
        "nan",
        "inf",
        "abc",
        "1,5",
        "-32768",
        "32767",
        "8388607",
        " 2 ",
        "0.5",
        "4294967296",
        "18446744",
    ];

    /// (offset, width) of every numeric header field of the tiny file.
    fn numeric_fields() -> Vec<(usize, usize)> {
        let ns = 3;
        let mut v = vec![(168, 8), (176, 8), (184, 8), (236, 8), (244, 8), (252, 4)];
        for start in [104, 112, 120, 128, 216] {
            for i in 0..ns {
                v.push((256 + start * ns + 8 * i, 8));
            }
        }
        v
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        #[test]
        fn mutated_bytes_never_panic(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
            let mut b = common::tiny_edf_plus();
            for (i, v) in edits {
                let k = i.index(b.len());
                b[k] = v;
            }
            exercise(b);
        }

        #[test]
        fn mutated_fields_never_panic(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 1..4),
            cut in proptest::option::of(any::<prop::sample::Index>()),
        ) {
            let mut b = common::tiny_edf_plus();
            let fields = numeric_fields();
            for (f, v) in edits {
                let (off, w) = fields[f.index(fields.len())];
                let text = INTERESTING[v.index(INTERESTING.len())];
                let mut field = text.as_bytes().to_vec();
                field.resize(w, b' ');
                field.truncate(w);
                b[off..off + w].copy_from_slice(&field);
            }
            if let Some(c) = cut {
                b.truncate(c.index(b.len()));
            }
            exercise(b);
        }

        #[test]
        fn random_bytes_never_panic(mut b in proptest::collection::vec(any::<u8>(), 0..2048), ns in 1u32..5) {
            // Give some random files a plausible header start so parsing goes deeper.
            if b.len() >= 256 {
                b[0..8].copy_from_slice(b"0       ");
                b[252..256].copy_from_slice(format!("{ns:<4}").as_bytes());
            }
            exercise(b);
        }
    }
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
