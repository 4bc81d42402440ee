//! The fitted ICA as a JSON file (`<base>_desc-<id>_ica.json`), with MNE's attribute names
//! so a Python user can rebuild the matrices with `np.array(d["unmixing_matrix"])`, and so
//! an MNE fit can be brought in (`ica: { from: file.json }`) by writing the same keys.
//!
//! Keys: method, n_components, rank, n_iter, converged, n_samples_fit, sfreq,
//! channel_names (c), pre_whitener (c), pca_mean (c), pca_components (p × c),
//! pca_explained_variance (p), unmixing_matrix (n × n), mixing_matrix (n × n). See
//! `ica::decomposition` for what each matrix means.

use std::io;
use std::path::Path;

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::ica::{Decomposition, FastIcaParams, InfomaxParams, Method, PicardParams};

#[derive(Debug, Serialize, Deserialize)]
struct IcaFile {
    method: String,
    n_components: usize,
    #[serde(default)]
    rank: Option<usize>,
    #[serde(default)]
    n_iter: usize,
    #[serde(default = "yes")]
    converged: bool,
    #[serde(default)]
    n_samples_fit: usize,
    sfreq: f64,
    channel_names: Vec<String>,
    pre_whitener: Vec<f64>,
    pca_mean: Vec<f64>,
    pca_components: Vec<Vec<f64>>,
    pca_explained_variance: Vec<f64>,
    unmixing_matrix: Vec<Vec<f64>>,
    mixing_matrix: Vec<Vec<f64>>,
}

fn yes() -> bool {
    true
}

/// A decomposition read from a file, with the channels and rate it was fitted on.
#[derive(Debug, Clone)]
pub struct IcaFromFile {
    pub decomposition: Decomposition,
    pub channel_names: Vec<String>,
    pub sfreq: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum IcaFileError {
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{path}: not an eegclean ICA file: {message}")]
    Format { path: String, message: String },
}

fn rows(a: &Array2<f64>) -> Vec<Vec<f64>> {
    a.outer_iter().map(|r| r.to_vec()).collect()
}

/// The JSON text of a decomposition.
pub fn to_json(d: &Decomposition, channel_names: &[String], sfreq: f64) -> Vec<u8> {
    let f = IcaFile {
        method: d.method.name().into(),
        n_components: d.n_components,
        rank: Some(d.rank),
        n_iter: d.n_iter,
        converged: d.converged,
        n_samples_fit: d.n_samples_fit,
        sfreq,
        channel_names: channel_names.to_vec(),
        pre_whitener: d.pre_whitener.to_vec(),
        pca_mean: d.pca_mean.to_vec(),
        pca_components: rows(&d.pca_components),
        pca_explained_variance: d.pca_explained_variance.to_vec(),
        unmixing_matrix: rows(&d.unmixing_matrix),
        mixing_matrix: rows(&d.mixing_matrix),
    };
    // Numbers, strings and vectors: serialising cannot fail.
    serde_json::to_vec(&f).unwrap_or_default()
}

fn matrix(name: &str, v: Vec<Vec<f64>>, shape: (usize, usize)) -> Result<Array2<f64>, String> {
    if v.len() != shape.0 || v.iter().any(|r| r.len() != shape.1) {
        return Err(format!(
            "`{name}` must be {} × {} (rows of equal length)",
            shape.0, shape.1
        ));
    }
    Array2::from_shape_vec(shape, v.into_iter().flatten().collect()).map_err(|e| e.to_string())
}

fn vector(name: &str, v: Vec<f64>, len: usize) -> Result<Array1<f64>, String> {
    if v.len() != len {
        return Err(format!("`{name}` has {} values, expected {len}", v.len()));
    }
    Ok(Array1::from(v))
}

fn checked(f: IcaFile) -> Result<IcaFromFile, String> {
    let c = f.channel_names.len();
    let n = f.n_components;
    let p = f.pca_components.len();
    if c == 0 || n == 0 || n > p || p > c {
        return Err(format!(
            "{c} channels, {p} PCA components and n_components {n}: need 1 ≤ n_components ≤ \
             PCA components ≤ channels"
        ));
    }
    let method = match f.method.as_str() {
        "picard" => Method::Picard(PicardParams::default()),
        "fastica" => Method::FastIca(FastIcaParams::default()),
        "infomax" => Method::Infomax(InfomaxParams::default()),
        other => return Err(format!("unknown method `{other}`")),
    };
    let d = Decomposition {
        method,
        n_components: n,
        pre_whitener: vector("pre_whitener", f.pre_whitener, c)?,
        pca_mean: vector("pca_mean", f.pca_mean, c)?,
        pca_components: matrix("pca_components", f.pca_components, (p, c))?,
        pca_explained_variance: vector("pca_explained_variance", f.pca_explained_variance, p)?,
        rank: f.rank.unwrap_or(p),
        unmixing_matrix: matrix("unmixing_matrix", f.unmixing_matrix, (n, n))?,
        mixing_matrix: matrix("mixing_matrix", f.mixing_matrix, (n, n))?,
        n_iter: f.n_iter,
        converged: f.converged,
        n_samples_fit: f.n_samples_fit,
    };
    let finite = d
        .pre_whitener
        .iter()
        .chain(&d.pca_mean)
        .chain(&d.pca_components)
        .chain(&d.unmixing_matrix)
        .chain(&d.mixing_matrix)
        .all(|v| v.is_finite());
    if !finite || d.pre_whitener.iter().any(|&w| w <= 0.0) {
        return Err("matrices must be finite and pre_whitener positive".into());
    }
    if !(f.sfreq.is_finite() && f.sfreq > 0.0) {
        return Err(format!("sfreq {} is not a sampling rate", f.sfreq));
    }
    Ok(IcaFromFile {
        decomposition: d,
        channel_names: f.channel_names,
        sfreq: f.sfreq,
    })
}

/// Read a decomposition written by [`to_json`] (or by hand from an MNE fit).
pub fn read(path: &Path) -> Result<IcaFromFile, IcaFileError> {
    let text = std::fs::read(path).map_err(|source| IcaFileError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let format = |message: String| IcaFileError::Format {
        path: path.display().to_string(),
        message,
    };
    let f: IcaFile = serde_json::from_slice(&text).map_err(|e| format(e.to_string()))?;
    checked(f).map_err(format)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2};

    fn decomposition() -> Decomposition {
        Decomposition {
            method: Method::Picard(PicardParams::default()),
            n_components: 2,
            pre_whitener: Array1::from(vec![2e-5; 3]),
            pca_mean: Array1::from(vec![0.1, -0.2, 0.3]),
            pca_components: Array2::from_shape_fn((3, 3), |(i, j)| (i * 3 + j) as f64 - 4.0),
            pca_explained_variance: Array1::from(vec![3.0, 2.0, 1.0]),
            rank: 3,
            unmixing_matrix: Array2::from_shape_vec((2, 2), vec![1.0, 0.5, -0.25, 2.0]).unwrap(),
            mixing_matrix: Array2::from_shape_vec((2, 2), vec![0.9, 0.1, 0.2, 0.8]).unwrap(),
            n_iter: 12,
            converged: true,
            n_samples_fit: 1000,
        }
    }

    fn roundtrip(text: &[u8]) -> Result<IcaFromFile, IcaFileError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ica.json");
        std::fs::write(&path, text).unwrap();
        read(&path)
    }

    #[test]
    fn written_decomposition_reads_back_exactly() {
        let d = decomposition();
        let names = vec!["Fp1".to_string(), "Cz".into(), "O2".into()];
        let back = roundtrip(&to_json(&d, &names, 256.0)).unwrap();
        assert_eq!(back.channel_names, names);
        assert_eq!(back.sfreq, 256.0);
        let b = &back.decomposition;
        assert_eq!(b.pre_whitener, d.pre_whitener);
        assert_eq!(b.pca_mean, d.pca_mean);
        assert_eq!(b.pca_components, d.pca_components);
        assert_eq!(b.unmixing_matrix, d.unmixing_matrix);
        assert_eq!(b.mixing_matrix, d.mixing_matrix);
        assert_eq!((b.n_components, b.rank, b.n_iter), (2, 3, 12));
    }

    #[test]
    fn malformed_files_name_the_problem() {
        let d = decomposition();
        let names = vec!["Fp1".to_string(), "Cz".into(), "O2".into()];
        let good: serde_json::Value = serde_json::from_slice(&to_json(&d, &names, 256.0)).unwrap();
        let with = |key: &str, v: serde_json::Value| {
            let mut j = good.clone();
            j[key] = v;
            serde_json::to_vec(&j).unwrap()
        };
        let e = roundtrip(&with("unmixing_matrix", serde_json::json!([[1.0, 2.0]]))).unwrap_err();
        assert!(
            e.to_string().contains("`unmixing_matrix` must be 2 × 2"),
            "{e}"
        );
        let e = roundtrip(&with("pca_mean", serde_json::json!([0.0]))).unwrap_err();
        assert!(
            e.to_string()
                .contains("`pca_mean` has 1 values, expected 3"),
            "{e}"
        );
        let e = roundtrip(&with("method", serde_json::json!("jade"))).unwrap_err();
        assert!(e.to_string().contains("unknown method `jade`"), "{e}");
        let e = roundtrip(&with("pre_whitener", serde_json::json!([1.0, 0.0, 1.0]))).unwrap_err();
        assert!(e.to_string().contains("pre_whitener positive"), "{e}");
        let e = roundtrip(b"{ not json").unwrap_err();
        assert!(e.to_string().contains("not an eegclean ICA file"), "{e}");
    }
}
