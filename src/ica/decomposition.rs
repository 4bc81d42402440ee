//! The fitted ICA model and what it does to data (MNE's `ICA` after `fit`).
//!
//! Stored matrices (n = `n_components`, c = channels, p = PCA axes kept = min(c, samples)):
//!
//! | field | shape | meaning (MNE attribute) |
//! |---|---|---|
//! | `pre_whitener` | c | scalar std the data were divided by, repeated per channel (`pre_whitener_[:, 0]`) |
//! | `pca_mean` | c | channel means of the pre-whitened data (`pca_mean_`) |
//! | `pca_components` | p × c | principal axes as rows, decreasing variance (`pca_components_`) |
//! | `pca_explained_variance` | p | variance along each axis (`pca_explained_variance_`) |
//! | `unmixing_matrix` | n × n | principal scores → sources (`unmixing_matrix_`) |
//! | `mixing_matrix` | n × n | its inverse (`mixing_matrix_`) |
//!
//! Sources are `unmixing_matrix @ pca_components[:n] @ (X / pre_whitener − pca_mean)`.
//! Components are sorted by the variance they explain in the fitted data, as MNE does.

use ndarray::{Array2, ArrayView2, Axis, s};

use super::IcaError;
use super::fastica::FastIcaParams;
use super::infomax::InfomaxParams;
use super::linalg::{gemm_into, matmul};
use super::picard::PicardParams;

/// The solver and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    Picard(PicardParams),
    FastIca(FastIcaParams),
    Infomax(InfomaxParams),
}

impl Method {
    pub fn name(&self) -> &'static str {
        match self {
            Method::Picard(_) => "picard",
            Method::FastIca(_) => "fastica",
            Method::Infomax(_) => "infomax",
        }
    }
}

/// A fitted ICA decomposition. See the module documentation for the matrices.
#[derive(Debug, Clone)]
pub struct Decomposition {
    pub method: Method,
    pub n_components: usize,
    pub pre_whitener: ndarray::Array1<f64>,
    pub pca_mean: ndarray::Array1<f64>,
    pub pca_components: Array2<f64>,
    pub pca_explained_variance: ndarray::Array1<f64>,
    /// Numerical rank of the fitted data (axes beyond it are rounding noise).
    pub rank: usize,
    pub unmixing_matrix: Array2<f64>,
    pub mixing_matrix: Array2<f64>,
    /// Solver iterations, counted as MNE reports `n_iter_`.
    pub n_iter: usize,
    pub converged: bool,
    pub n_samples_fit: usize,
}

impl Decomposition {
    fn n_channels(&self) -> usize {
        self.pca_mean.len()
    }

    /// Channel-space unmixing `W` (n × c) such that sources = `W @ (X − pre_whitener·pca_mean)`
    /// for X in the fitted units: `unmixing_matrix @ pca_components[:n] / pre_whitener`.
    pub fn unmixing_channel_space(&self) -> Array2<f64> {
        let mut w = matmul(
            self.unmixing_matrix.view(),
            self.pca_components.slice(s![..self.n_components, ..]),
        );
        for mut row in w.outer_iter_mut() {
            row /= &self.pre_whitener;
        }
        w
    }

    /// Component topographies (c × n), MNE's `get_components()`:
    /// `pca_components[:n].T @ mixing_matrix` — in pre-whitened units, as MNE returns them.
    pub fn mixing_channel_space(&self) -> Array2<f64> {
        matmul(
            self.pca_components.slice(s![..self.n_components, ..]).t(),
            self.mixing_matrix.view(),
        )
    }

    fn check_channels(&self, data: ArrayView2<f64>) -> Result<(), IcaError> {
        if data.nrows() != self.n_channels() {
            return Err(IcaError::Shape {
                what: "data",
                got: data.nrows(),
                expected: self.n_channels(),
            });
        }
        Ok(())
    }

    /// Component time courses (n × samples) of `data` (c × samples), MNE's `get_sources`.
    pub fn sources(&self, data: ArrayView2<f64>) -> Result<Array2<f64>, IcaError> {
        self.check_channels(data)?;
        let mut centred = data.to_owned();
        for (c, mut row) in centred.outer_iter_mut().enumerate() {
            let (pw, m) = (self.pre_whitener[c], self.pca_mean[c]);
            row.mapv_inplace(|x| x / pw - m);
        }
        let w = matmul(
            self.unmixing_matrix.view(),
            self.pca_components.slice(s![..self.n_components, ..]),
        );
        Ok(matmul(w.view(), centred.view()))
    }

    /// MNE's `ICA.apply(inst, exclude=exclude)` with `n_pca_components=None`: the data are
    /// projected onto all kept PCA axes; the excluded components are zeroed and the axes
    /// beyond `n_components` are passed through unchanged (MNE keeps them as residual), then
    /// the mean and the pre-whitener are restored.
    pub fn apply_excluding(
        &self,
        data: ArrayView2<f64>,
        exclude: &[usize],
    ) -> Result<Array2<f64>, IcaError> {
        self.check_channels(data)?;
        let n = self.n_components;
        if let Some(&index) = exclude.iter().find(|&&i| i >= n) {
            return Err(IcaError::ComponentIndex {
                index,
                n_components: n,
            });
        }
        let p = self.pca_components.nrows();
        let keep: Vec<usize> = (0..p).filter(|i| *i >= n || !exclude.contains(i)).collect();
        // unmixing_full = blockdiag(unmixing, I) @ pca_components (p × c)
        // mixing_full   = pca_components.T @ blockdiag(mixing, I)  (c × p)
        let mut unmix_block = Array2::<f64>::eye(p);
        unmix_block
            .slice_mut(s![..n, ..n])
            .assign(&self.unmixing_matrix);
        let mut mix_block = Array2::<f64>::eye(p);
        mix_block
            .slice_mut(s![..n, ..n])
            .assign(&self.mixing_matrix);
        let unmixing_full = matmul(unmix_block.view(), self.pca_components.view());
        let mixing_full = matmul(self.pca_components.t(), mix_block.view());
        let proj = matmul(
            mixing_full.select(Axis(1), &keep).view(),
            unmixing_full.select(Axis(0), &keep).view(),
        );
        let mut centred = data.to_owned();
        for (c, mut row) in centred.outer_iter_mut().enumerate() {
            let (pw, m) = (self.pre_whitener[c], self.pca_mean[c]);
            row.mapv_inplace(|x| x / pw - m);
        }
        let mut out = Array2::<f64>::zeros(data.raw_dim());
        gemm_into(out.view_mut(), proj.view(), centred.view(), 1.0, false);
        for (c, mut row) in out.outer_iter_mut().enumerate() {
            let (pw, m) = (self.pre_whitener[c], self.pca_mean[c]);
            row.mapv_inplace(|x| (x + m) * pw);
        }
        Ok(out)
    }

    /// [`Decomposition::apply_excluding`] in place on rows `rows` of `data`, chunk by chunk,
    /// so cleaning a long recording needs no copy of it. When the PCA kept as many axes as
    /// channels (the usual case), MNE's projection equals the identity minus the excluded
    /// components' rank-k part: X − pre_whitener ⊙ (A_e · W_e · (X / pre_whitener − mean)),
    /// with A_e the excluded columns of the channel-space mixing and W_e the excluded rows
    /// of the unmixing. Otherwise this falls back to `apply_excluding` on a copy.
    pub fn remove_in_place(
        &self,
        data: &mut Array2<f64>,
        rows: &[usize],
        exclude: &[usize],
    ) -> Result<(), IcaError> {
        let c = self.n_channels();
        if rows.len() != c {
            return Err(IcaError::Shape {
                what: "channel rows",
                got: rows.len(),
                expected: c,
            });
        }
        let n = self.n_components;
        if let Some(&index) = exclude.iter().find(|&&i| i >= n) {
            return Err(IcaError::ComponentIndex {
                index,
                n_components: n,
            });
        }
        if exclude.is_empty() {
            return Ok(());
        }
        if self.pca_components.nrows() != c {
            let cleaned = self.apply_excluding(data.select(Axis(0), rows).view(), exclude)?;
            for (k, &r) in rows.iter().enumerate() {
                data.row_mut(r).assign(&cleaned.row(k));
            }
            return Ok(());
        }
        let axes = self.pca_components.slice(s![..n, ..]);
        // A_e (c × k), scaled by the pre-whitener; W_e (k × c) on pre-whitened data.
        let mixing = matmul(axes.t(), self.mixing_matrix.select(Axis(1), exclude).view());
        let mut a_e = mixing;
        for (ch, mut row) in a_e.outer_iter_mut().enumerate() {
            row *= self.pre_whitener[ch];
        }
        let mut w_e = matmul(self.unmixing_matrix.select(Axis(0), exclude).view(), axes);
        let offset = w_e.dot(&self.pca_mean);
        for mut row in w_e.outer_iter_mut() {
            row /= &self.pre_whitener;
        }
        const CHUNK: usize = 8192;
        let n_samples = data.ncols();
        let mut start = 0;
        while start < n_samples {
            let stop = (start + CHUNK).min(n_samples);
            let block = data.slice(s![.., start..stop]).select(Axis(0), rows);
            let mut sources = matmul(w_e.view(), block.view());
            for (k, mut row) in sources.outer_iter_mut().enumerate() {
                row -= offset[k];
            }
            let removed = matmul(a_e.view(), sources.view());
            for (k, &r) in rows.iter().enumerate() {
                let mut target = data.slice_mut(s![r, start..stop]);
                target -= &removed.row(k);
            }
            start = stop;
        }
        Ok(())
    }
}
