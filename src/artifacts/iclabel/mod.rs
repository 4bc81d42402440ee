//! Native ICLabel (Pion-Tonachini et al. 2019): the three features mne-icalabel 0.10 computes
//! from an ICA decomposition (scalp map, PSD, autocorrelation) and the ICLabelNet forward
//! pass, so that our class probabilities match `mne_icalabel.label_components`.
//!
//! The network weights are not bundled: [`find_model`] locates `ICLabelNet.onnx` (shipped
//! with `pip install mne-icalabel`) and [`IcLabelNet::load`] reads it.

pub mod autocorr;
pub mod network;
pub mod onnx;
pub mod psd;
pub mod topo;

use std::path::{Path, PathBuf};
use std::process::Command;

use ndarray::{Array2, Array3, ArrayView2, Axis, s};

pub use network::{IcLabelNet, N_CLASSES};

/// Class names in the order of the network's outputs (as mne-icalabel names them).
pub const CLASS_NAMES: [&str; N_CLASSES] = [
    "brain",
    "muscle artifact",
    "eye blink",
    "heart beat",
    "line noise",
    "channel noise",
    "other",
];

/// Environment variable naming `ICLabelNet.onnx` explicitly.
pub const MODEL_ENV_VAR: &str = "EEGCLEAN_ICLABEL_MODEL";

#[derive(Debug, thiserror::Error)]
pub enum IcLabelError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a usable ICLabelNet ONNX model: {what}")]
    Model { path: String, what: String },
    #[error(
        "ICLabelNet.onnx not found ({searched}). Install it with `pip install mne-icalabel` \
         (the file is mne_icalabel/iclabel/network/assets/ICLabelNet.onnx), or give its path \
         explicitly or in ${MODEL_ENV_VAR}"
    )]
    ModelNotFound { searched: String },
    #[error("ICLabel input: {0}")]
    Input(String),
}

/// Where the network file lives relative to the `mne_icalabel` package directory.
const ASSET_IN_PACKAGE: &str = "iclabel/network/assets/ICLabelNet.onnx";

/// Locate `ICLabelNet.onnx`: the explicit path if given, else `$EEGCLEAN_ICLABEL_MODEL`, else
/// the copy inside an installed mne-icalabel (asked from `python3`/`python`). A path that is
/// given but missing is an error rather than a silent fall-through to the next place.
pub fn find_model(explicit: Option<&Path>) -> Result<PathBuf, IcLabelError> {
    let missing = |p: &Path, how: &str| IcLabelError::ModelNotFound {
        searched: format!("{how} {} does not exist", p.display()),
    };
    if let Some(p) = explicit {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(missing(p, "the given path"))
        };
    }
    if let Some(p) = std::env::var_os(MODEL_ENV_VAR).filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(missing(&p, &format!("${MODEL_ENV_VAR} =")))
        };
    }
    let mut tried = vec![format!("no explicit path, ${MODEL_ENV_VAR} unset")];
    for python in ["python3", "python"] {
        let out = Command::new(python)
            .args([
                "-c",
                "import mne_icalabel, os; print(os.path.dirname(mne_icalabel.__file__))",
            ])
            .output();
        match out {
            Ok(o) if o.status.success() => {
                let dir = String::from_utf8_lossy(&o.stdout).trim().to_string();
                let p = Path::new(&dir).join(ASSET_IN_PACKAGE);
                if p.is_file() {
                    return Ok(p);
                }
                tried.push(format!("{python}: mne_icalabel has no {}", p.display()));
            }
            Ok(_) => tried.push(format!("{python}: mne_icalabel is not installed")),
            Err(_) => tried.push(format!("{python}: not found")),
        }
    }
    Err(IcLabelError::ModelNotFound {
        searched: tried.join("; "),
    })
}

/// Network inputs: (batch, topo [B,1,32,32], psds [B,1,1,100], autocorr [B,1,1,100]).
pub type AugmentedInputs = (usize, Vec<f32>, Vec<f32>, Vec<f32>);

/// The three ICLabel features of n components, already scaled by 0.99 as mne-icalabel does.
#[derive(Debug, Clone, PartialEq)]
pub struct IcLabelFeatures {
    /// [component, row, column] 32×32 scalp maps; row is the first axis of mne-icalabel's
    /// (32, 32, 1, n) array, column the second (the one the left–right augmentation flips).
    pub topo: Array3<f32>,
    /// [component, 100] normalised dB PSD, 1–100 Hz.
    pub psd: Array2<f32>,
    /// [component, 100] normalised autocorrelation, lags 10 ms … 1 s.
    pub autocorr: Array2<f32>,
}

impl IcLabelFeatures {
    pub fn n_components(&self) -> usize {
        self.topo.len_of(Axis(0))
    }

    /// The network inputs (batch, topo, psds, autocorr) in NCHW order with EEGLAB's four
    /// test-time augmentations as consecutive blocks: [maps, −maps, flipped maps,
    /// −flipped maps]; PSD and autocorrelation are repeated for each block.
    pub fn augmented_inputs(&self) -> Result<AugmentedInputs, IcLabelError> {
        let n = self.n_components();
        if self.topo.shape() != [n, 32, 32]
            || self.psd.shape() != [n, 100]
            || self.autocorr.shape() != [n, 100]
        {
            return Err(IcLabelError::Input(format!(
                "feature shapes topo {:?}, psd {:?}, autocorr {:?}; expected [n,32,32], [n,100], [n,100]",
                self.topo.shape(),
                self.psd.shape(),
                self.autocorr.shape()
            )));
        }
        let mut topo = Vec::with_capacity(4 * n * 1024);
        for (sign, flip) in [(1f32, false), (-1., false), (1., true), (-1., true)] {
            for c in 0..n {
                for r in 0..32 {
                    for col in 0..32 {
                        let src = if flip { 31 - col } else { col };
                        topo.push(sign * self.topo[[c, r, src]]);
                    }
                }
            }
        }
        let tile = |a: &Array2<f32>| -> Vec<f32> {
            let one: Vec<f32> = a.iter().copied().collect();
            one.repeat(4)
        };
        Ok((4 * n, topo, tile(&self.psd), tile(&self.autocorr)))
    }
}

impl IcLabelNet {
    /// Class probabilities [n_components, 7] for the given features (augmented as EEGLAB does).
    pub fn classify(&self, features: &IcLabelFeatures) -> Result<Array2<f32>, IcLabelError> {
        let (batch, topo, psd, autocorr) = features.augmented_inputs()?;
        self.run(batch, topo, psd, autocorr)
    }
}

/// EEGLAB's `icaweights * icasphere` from an MNE ICA: `unmixing_matrix_ @ pca_components_[:n]`
/// (mne-icalabel's `_retrieve_eeglab_icawinv`; the PCA whitening scale cancels out).
pub fn eeglab_weights(
    unmixing_matrix: ArrayView2<f64>,
    pca_components: ArrayView2<f64>,
) -> Result<Array2<f64>, IcLabelError> {
    let n = unmixing_matrix.nrows();
    if unmixing_matrix.ncols() != n || pca_components.nrows() < n {
        return Err(IcLabelError::Input(format!(
            "unmixing matrix {:?} must be square n×n and pca_components {:?} have at least n rows",
            unmixing_matrix.shape(),
            pca_components.shape()
        )));
    }
    Ok(unmixing_matrix.dot(&pca_components.slice(s![..n, ..])))
}

/// Compute the three ICLabel features as mne-icalabel's `get_iclabel_features` does for a Raw.
///
/// * `data_uv`: [channels, times] EEG in µV, exactly what mne-icalabel was given (it takes
///   volts and multiplies by 1e6); ICLabel expects average reference, 1–100 Hz band-pass.
/// * `weights`: [components, channels] EEGLAB unmixing (see [`eeglab_weights`]).
/// * `positions_m`: [channels, 3] head-frame positions (MNE `info['chs'][i]['loc'][:3]`).
/// * `sfreq`: sampling rate in Hz.
pub fn compute_features(
    data_uv: ArrayView2<f64>,
    weights: ArrayView2<f64>,
    positions_m: ArrayView2<f64>,
    sfreq: f64,
) -> Result<IcLabelFeatures, IcLabelError> {
    let n_ch = weights.ncols();
    if data_uv.nrows() != n_ch {
        return Err(IcLabelError::Input(format!(
            "weights {:?} and data {:?} disagree: need [n_comp, n_ch] and [n_ch, n_times]",
            weights.shape(),
            data_uv.shape()
        )));
    }
    if data_uv.iter().any(|v| !v.is_finite()) {
        return Err(IcLabelError::Input("data contain NaN or infinity".into()));
    }
    // No mean removal and no pre-whitening: mne-icalabel applies the EEGLAB weights to the
    // µV data directly, and the resulting scale shifts the dB PSD, so we must do the same.
    let icaact = weights.dot(&data_uv);
    features_from_activations(icaact.view(), weights, positions_m, sfreq)
}

/// The features from the component activations `icaact` = `weights @ data_uv` (which a
/// caller holding a long recording can compute without a scaled copy of it).
pub fn features_from_activations(
    icaact: ArrayView2<f64>,
    weights: ArrayView2<f64>,
    positions_m: ArrayView2<f64>,
    sfreq: f64,
) -> Result<IcLabelFeatures, IcLabelError> {
    let (n_comp, n_ch) = weights.dim();
    if n_comp == 0 || icaact.nrows() != n_comp || positions_m.dim() != (n_ch, 3) {
        return Err(IcLabelError::Input(format!(
            "weights {:?}, activations {:?} and positions {:?} disagree: need [n_comp, n_ch], [n_comp, n_times], [n_ch, 3]",
            weights.shape(),
            icaact.shape(),
            positions_m.shape()
        )));
    }
    if !(sfreq.is_finite() && sfreq >= 1.0) {
        return Err(IcLabelError::Input(format!(
            "sampling rate {sfreq} Hz is not usable"
        )));
    }
    if icaact
        .iter()
        .chain(weights.iter())
        .chain(positions_m.iter())
        .any(|v| !v.is_finite())
    {
        return Err(IcLabelError::Input(
            "data, weights or channel positions contain NaN or infinity".into(),
        ));
    }
    let icawinv = pseudo_inverse_full_row_rank(weights)?;
    let topo = topo::topo_feature(icawinv.view(), positions_m)?;
    let psd = psd::psd_feature(icaact, sfreq)?;
    let autocorr = autocorr::autocorr_feature(icaact, sfreq)?;
    let scale = |a: f32| a * 0.99f32;
    Ok(IcLabelFeatures {
        topo: topo.mapv(scale),
        psd: psd.mapv(scale),
        autocorr: autocorr.mapv(scale),
    })
}

/// Moore–Penrose inverse of an [n, m] matrix of rank n ≤ m: Wᵀ (W Wᵀ)⁻¹ (equal to
/// `numpy.linalg.pinv` for the full-rank unmixing matrices ICA produces).
fn pseudo_inverse_full_row_rank(w: ArrayView2<f64>) -> Result<Array2<f64>, IcLabelError> {
    let (n, m) = w.dim();
    if n > m {
        return Err(IcLabelError::Input(format!(
            "{n} components from {m} channels: more components than channels"
        )));
    }
    let gram = w.dot(&w.t());
    // Solve (W Wᵀ) X = W, then icawinv = Xᵀ.
    let x = solve_dense(gram, w.to_owned()).map_err(|_| {
        IcLabelError::Input(
            "the ICA unmixing matrix is rank deficient (components not independent)".into(),
        )
    })?;
    Ok(x.t().to_owned())
}

/// Solve A X = B by Gaussian elimination with partial pivoting (small dense systems only).
/// Errs if A is numerically singular.
pub(crate) fn solve_dense(mut a: Array2<f64>, mut b: Array2<f64>) -> Result<Array2<f64>, ()> {
    let n = a.nrows();
    let scale = a.iter().fold(0f64, |m, v| m.max(v.abs()));
    if scale == 0.0 || !scale.is_finite() {
        return Err(());
    }
    for k in 0..n {
        let (p, pmax) = (k..n)
            .map(|i| (i, a[[i, k]].abs()))
            .fold(
                (k, -1.0),
                |best, cur| if cur.1 > best.1 { cur } else { best },
            );
        if pmax <= scale * 1e-14 * n as f64 {
            return Err(());
        }
        if p != k {
            for j in 0..n {
                a.swap([k, j], [p, j]);
            }
            for j in 0..b.ncols() {
                b.swap([k, j], [p, j]);
            }
        }
        for i in k + 1..n {
            let f = a[[i, k]] / a[[k, k]];
            if f == 0.0 {
                continue;
            }
            for j in k..n {
                a[[i, j]] -= f * a[[k, j]];
            }
            for j in 0..b.ncols() {
                b[[i, j]] -= f * b[[k, j]];
            }
        }
    }
    for k in (0..n).rev() {
        for j in 0..b.ncols() {
            let mut v = b[[k, j]];
            for i in k + 1..n {
                v -= a[[k, i]] * b[[i, j]];
            }
            b[[k, j]] = v / a[[k, k]];
        }
    }
    Ok(b)
}
