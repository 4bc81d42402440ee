//! Tangent-space features at the Riemannian mean, as
//! `pyriemann.TangentSpace(metric="riemann")`: `fit` takes the Riemannian mean of the training
//! covariances as the reference `C_ref`; `transform` maps each `C` to
//! `upper(logm(C_ref^{-1/2} C C_ref^{-1/2}))`, where `upper` takes the upper triangle row by
//! row (`numpy.triu_indices` order: (0,0), (0,1), …, (0,c−1), (1,1), …) with off-diagonal
//! entries multiplied by √2, giving `c(c+1)/2` features per matrix.
//!
//! The reference is kept (and can be saved and restored with [`TangentSpace::from_reference`])
//! so new recordings are mapped with the training reference, as pyriemann's `transform` does.

use ndarray::{Array2, ArrayView2, ArrayView3, Axis};

use super::riemann::{MeanOptions, RiemannError, mean_riemann, whiten_into};
use super::spd::{self, SymmetricEigen};

/// A fitted tangent-space map.
#[derive(Debug, Clone, PartialEq)]
pub struct TangentSpace {
    reference: Array2<f64>,
    /// `reference^{-1/2}`, cached for `transform`.
    inv_sqrt_reference: Array2<f64>,
}

impl TangentSpace {
    /// Fit the reference as the Riemannian mean of `covariances` (`n × c × c`).
    pub fn fit(covariances: ArrayView3<f64>) -> Result<Self, RiemannError> {
        let mean = mean_riemann(covariances, MeanOptions::default())?;
        Self::from_reference(mean.mean)
    }

    /// Use a given reference (e.g. one stored from a training set).
    pub fn from_reference(reference: Array2<f64>) -> Result<Self, RiemannError> {
        let inv_sqrt_reference =
            spd::invsqrtm(reference.view()).map_err(RiemannError::Reference)?;
        Ok(Self {
            reference,
            inv_sqrt_reference,
        })
    }

    pub fn reference(&self) -> ArrayView2<'_, f64> {
        self.reference.view()
    }

    /// Number of features: `c(c+1)/2`.
    pub fn n_features(&self) -> usize {
        let c = self.reference.nrows();
        c * (c + 1) / 2
    }

    /// Tangent vectors of `covariances` (`n × c × c`) → `n × c(c+1)/2`. Every output value is
    /// finite: a non-SPD input is an error naming its index, never a NaN row.
    pub fn transform(&self, covariances: ArrayView3<f64>) -> Result<Array2<f64>, RiemannError> {
        let (n, rows, cols) = covariances.dim();
        let c = self.reference.nrows();
        if rows != c || cols != c {
            return Err(RiemannError::DimensionMismatch { got: rows, want: c });
        }
        let mut out = Array2::zeros((n, self.n_features()));
        let mut eig = SymmetricEigen::new(c);
        let mut half = Array2::<f64>::zeros((c, c));
        let mut whitened = Array2::<f64>::zeros((c, c));
        let mut log = Array2::<f64>::zeros((c, c));
        let mut logs = vec![0.0; c];
        for (index, cov) in covariances.outer_iter().enumerate() {
            whiten_into(
                self.inv_sqrt_reference.view(),
                cov,
                &mut half,
                &mut whitened,
            );
            let checked = match eig.decompose(whitened.view()) {
                Ok(()) => spd::check_positive_definite(eig.values()),
                Err(e) => Err(e),
            };
            checked.map_err(|source| RiemannError::Matrix { index, source })?;
            for (l, &x) in logs.iter_mut().zip(eig.values()) {
                *l = x.ln();
            }
            eig.reconstruct_into(&logs, log.view_mut());
            upper_into(log.view(), out.index_axis_mut(Axis(0), index));
        }
        Ok(out)
    }

    /// `fit` then `transform` on the same matrices (pyriemann `fit_transform`).
    pub fn fit_transform(
        covariances: ArrayView3<f64>,
    ) -> Result<(Self, Array2<f64>), RiemannError> {
        let ts = Self::fit(covariances)?;
        let vectors = ts.transform(covariances)?;
        Ok((ts, vectors))
    }
}

/// pyriemann `upper`: upper triangle in row-major order, off-diagonal × √2.
pub fn upper(x: ArrayView2<f64>) -> ndarray::Array1<f64> {
    let c = x.nrows();
    let mut out = ndarray::Array1::zeros(c * (c + 1) / 2);
    upper_into(x, out.view_mut());
    out
}

fn upper_into(x: ArrayView2<f64>, mut out: ndarray::ArrayViewMut1<f64>) {
    let c = x.nrows();
    let mut k = 0;
    for i in 0..c {
        out[k] = x[[i, i]];
        k += 1;
        for j in i + 1..c {
            out[k] = std::f64::consts::SQRT_2 * x[[i, j]];
            k += 1;
        }
    }
}

/// Names of the tangent-vector columns in `upper` order: `ts_i_j` (0-based channel indices).
pub fn feature_names(n_channels: usize) -> Vec<String> {
    let mut names = Vec::with_capacity(n_channels * (n_channels + 1) / 2);
    for i in 0..n_channels {
        for j in i..n_channels {
            names.push(format!("ts_{i}_{j}"));
        }
    }
    names
}
