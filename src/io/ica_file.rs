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
