//! Independent component analysis: MNE-compatible pre-whitening and PCA, then one of three
//! solvers (Picard, symmetric FastICA, extended Infomax), giving a [`Decomposition`] whose
//! matrices mean exactly what MNE's `ICA` attributes of the same name mean.
//!
//! Pure functions on ndarray (products through faer, sequential): no I/O, no stage logic.
//! Same data, same parameters, same seed ⇒ bit-identical decomposition.

mod axis_signs;
mod block_kernels;
pub mod decomposition;
pub mod fastica;
pub mod infomax;
pub(crate) mod linalg;
mod loss_screen;
pub mod mne_random;
mod panels;
pub mod picard;
mod score_kernels;
mod source_products;
pub mod whitening;

use ndarray::{Array1, Array2, ArrayView2, Axis};

pub use decomposition::{Decomposition, Method};
pub use fastica::{FastIcaFun, FastIcaParams};
pub use infomax::InfomaxParams;
pub use picard::{Density, PicardParams};
pub use whitening::{ComponentCount, Pca, fit_pca, fit_pca_whitened};

use crate::rng::Rng;

/// Everything that can go wrong when fitting or applying an ICA decomposition.
#[derive(Debug, thiserror::Error)]
pub enum IcaError {
    #[error("ICA needs at least one channel")]
    NoChannels,
    #[error(
        "too few samples for ICA: {n_samples} samples but {needed} are needed for \
         {n_components} components (at least n_components²); use a longer recording, no \
         decimation, or fewer components"
    )]
    TooFewSamples {
        n_samples: usize,
        needed: usize,
        n_components: usize,
    },
    #[error(
        "n_components = {n_components} exceeds the numerical rank of the data ({rank}); the \
         extra components would be rounding noise (average reference and interpolated \
         channels each remove one dimension). Ask for at most {rank} components, or a \
         variance fraction"
    )]
    RankTooLow { n_components: usize, rank: usize },
    #[error("bad n_components: {0}")]
    BadComponentCount(String),
    #[error("data contain a non-finite value ({value}) at channel {channel}, sample {sample}")]
    NonFinite {
        channel: usize,
        sample: usize,
        value: f64,
    },
    #[error("the data are constant (zero variance): nothing to decompose")]
    ConstantData,
    #[error("{0} failed (the data are numerically degenerate)")]
    Decomposition(&'static str),
    #[error(
        "shape mismatch: {what} has {got} channels/components but the decomposition expects \
         {expected}"
    )]
    Shape {
        what: &'static str,
        got: usize,
        expected: usize,
    },
    #[error("component index {index} out of range: the decomposition has {n_components}")]
    ComponentIndex { index: usize, n_components: usize },
    #[error(
        "Infomax weights blew up even at the minimum learning rate; the unmixing matrix may \
         not be invertible (check for duplicated or flat channels)"
    )]
    InfomaxBlowup,
}

/// What a solver returns: the unmixing matrix in the whitened PCA space (unit-variance
/// scores), and how the iterations went.
#[derive(Debug, Clone)]
pub struct SolverOutput {
    pub unmixing: Array2<f64>,
    pub n_iter: usize,
    pub converged: bool,
}

/// Fit an ICA decomposition to `data` (n_channels × n_samples, one channel type, volts),
/// as `mne.preprocessing.ICA(n_components, method, random_state=seed).fit(raw)` does:
/// pre-whiten, PCA, run the solver on the first `n_components` unit-variance principal
/// scores, rescale, invert, and sort the components by the variance they explain in `data`.
pub fn fit(
    data: ArrayView2<f64>,
    n_components: ComponentCount,
    method: &Method,
    seed: u64,
) -> Result<Decomposition, IcaError> {
    // With the Gram matrix of the whitened scores: the sources' energies for the sorting
    // below come from it, so Picard may overwrite the scores instead of the fit keeping a
    // copy.
    let whitening::FittedPca {
        pca,
        whitened,
        whitened_gram: scores_gram,
    } = whitening::fit_pca_whitened_with_gram(data, n_components)?;
    let n = whitened.nrows();
    let mut rng = Rng::new(seed);
    let out = match method {
        // MNE's own start for this seed, so that the fit follows MNE's iterates.
        Method::Picard(p) => picard::picard_owned_from_normals(
            whitened,
            p,
            mne_random::mne_picard_initial_normals(seed, n).view(),
        )?,
        Method::FastIca(p) => fastica::fastica(whitened.view(), p, &mut rng)?,
        Method::Infomax(p) => infomax::infomax(whitened.view(), p, &mut rng)?,
    };
    if !out.converged {
        tracing::warn!(
            "ICA ({}) did not converge in {} iterations; the components may be unreliable \
             (raise max_iter or the tolerance)",
            method.name(),
            out.n_iter
        );
    }
    // Back from unit-variance scores to plain principal scores (MNE: unmixing /= norms).
    let norms: Array1<f64> = pca
        .explained_variance
        .slice(ndarray::s![..n])
        .mapv(f64::sqrt);
    let mut unmixing = out.unmixing.clone();
    for mut row in unmixing.outer_iter_mut() {
        row /= &norms;
    }
    let mixing =
        linalg::inverse(unmixing.view()).ok_or(IcaError::Decomposition("unmixing inversion"))?;

    // Sort by explained variance in the fitted data (MNE's `_ica_explained_variance`):
    // sum of squared mixing weights × source energy. Sources = U @ whitened, so the energies
    // are diag(U · whitenedᵀwhitened · Uᵀ).
    let u_gram = linalg::matmul(out.unmixing.view(), scores_gram.view());
    let energy: Array1<f64> = (0..n)
        .map(|k| u_gram.row(k).dot(&out.unmixing.row(k)))
        .collect();
    let col_power = mixing.map_axis(Axis(0), |c| c.dot(&c));
    let var: Vec<f64> = (0..n).map(|k| col_power[k] * energy[k]).collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| var[b].total_cmp(&var[a]));
    let unmixing = unmixing.select(Axis(0), &order);
    let mixing = mixing.select(Axis(1), &order);

    Ok(Decomposition {
        method: method.clone(),
        n_components: n,
        pre_whitener: Array1::from_elem(data.nrows(), pca.pre_whitener),
        pca_mean: pca.mean,
        pca_components: pca.components,
        pca_explained_variance: pca.explained_variance,
        rank: pca.rank,
        unmixing_matrix: unmixing,
        mixing_matrix: mixing,
        n_iter: out.n_iter,
        converged: out.converged,
        n_samples_fit: data.ncols(),
    })
}
