//! `covariance`: per-epoch covariance matrices (pyriemann `Covariances`) and their
//! tangent-space vectors at the Riemannian mean (pyriemann `TangentSpace(metric="riemann")`),
//! written as a features table plus the matrices themselves.

use std::path::Path;

use ndarray::{Array2, Array3, ArrayView2};
use polars::prelude::*;

use super::registry::KindInfo;
use super::{Fingerprint, Inputs, ParamError, RunContext, Stage, StageError, StageParams};
use crate::data::{Artifact, ArtifactKind, EpochsArtifact};
use crate::features::covariance::{Estimator, augmented_covariances, covariances};
use crate::features::riemann::RiemannError;
use crate::features::tangent_space::{TangentSpace, feature_names};
use crate::io::atomic::write_atomically;
use crate::io::{npy, tables};
use crate::stage_params;

pub const INFO: KindInfo = KindInfo {
    kind: "covariance",
    summary: "Covariance of each kept epoch (`estimator: scm | lwf | oas`, default oas, as \
              pyriemann Covariances), optionally of the augmented signal (`augment: {order, \
              lag}`, Carrara & Papadopoulo: `order` blocks of channels delayed by 0, lag, …), \
              in µV² (epochs ×1e6, as the MNE/pyriemann reference harness). With \
              `tangent_space: true` (default) maps them to the tangent space at their \
              Riemannian mean (pyriemann TangentSpace(metric=\"riemann\")). Writes \
              `<base>_desc-<id>_features.parquet` (one row per kept epoch: subject, recording, \
              event, epoch = index in the epochs table, then `ts_i_j` tangent columns in \
              numpy triu order with off-diagonals ×√2, or `cov_i_j` upper-triangle \
              covariances when tangent_space is false; i, j index the channels, augmented \
              block-major), `<base>_desc-<id>_covariances.npy` (float64, C order, shape \
              kept epochs × c × c, epochs in table order) and, with tangent space, \
              `<base>_desc-<id>_tangent_reference.npy` (c × c Riemannian mean, to map new \
              data with the same reference).",
    inputs: &[ArtifactKind::Epochs],
    output: ArtifactKind::Written,
    example: "raw: { kind: load }\n\
              filtered: { kind: filter, after: [raw], l_freq: 1.0, h_freq: 40.0 }\n\
              epochs: { kind: epoch, after: [filtered], events: [T1, T2], tmin: 0.0, tmax: 3.99375 }\n\
              features: { kind: covariance, after: [epochs], estimator: oas, tangent_space: true }\n\
              plain: { kind: covariance, after: [epochs], estimator: lwf, tangent_space: false }\n\
              augmented: { kind: covariance, after: [epochs], augment: { order: 2, lag: 4 } }\n",
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Augment {
    pub order: usize,
    pub lag: usize,
}

fn default_estimator() -> String {
    "oas".into()
}

fn default_true() -> bool {
    true
}

stage_params! {
    pub struct CovarianceParams {
        #[serde(default = "default_estimator")]
        pub estimator: String,
        #[serde(default = "default_true")]
        pub tangent_space: bool,
        #[serde(default)]
        pub augment: Option<Augment>,
    }
}

impl StageParams for CovarianceParams {
    fn check(self: Box<Self>) -> Result<Box<dyn Stage>, ParamError> {
        let estimator: Estimator = self
            .estimator
            .parse()
            .map_err(|e: String| ParamError::new("estimator", e))?;
        if let Some(a) = self.augment
            && (a.order == 0 || a.lag == 0)
        {
            return Err(ParamError::new(
                "augment",
                format!(
                    "order and lag must be at least 1 (got order {}, lag {})",
                    a.order, a.lag
                ),
            ));
        }
        Ok(Box::new(Covariance {
            estimator,
            params: *self,
        }))
    }
}

#[derive(Debug)]
pub struct Covariance {
    estimator: Estimator,
    params: CovarianceParams,
}

/// Volts → µV: the unit of the reference harness (`epochs.get_data() * 1e6`).
const MICROVOLTS_PER_VOLT: f64 = 1e6;

/// Names of the upper-triangle covariance columns (numpy triu order, no scaling).
fn covariance_names(c: usize) -> Vec<String> {
    feature_names(c)
        .into_iter()
        .map(|n| n.replacen("ts_", "cov_", 1))
        .collect()
}

fn upper_triangle(covs: &Array3<f64>) -> Array2<f64> {
    let (n, c, _) = covs.dim();
    let mut out = Array2::zeros((n, c * (c + 1) / 2));
    for (e, m) in covs.outer_iter().enumerate() {
        let mut k = 0;
        for i in 0..c {
            for j in i..c {
                out[[e, k]] = m[[i, j]];
                k += 1;
            }
        }
    }
    out
}

impl Covariance {
    /// `(index in the epochs table, label)` of each kept epoch, in data order.
    fn kept(epochs: &EpochsArtifact) -> Vec<(u32, String)> {
        let mut kept: Vec<(usize, u32, String)> = epochs
            .epochs
            .log
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.kept_index.map(|k| (k, i as u32, r.event.label.clone())))
            .collect();
        kept.sort_by_key(|(k, _, _)| *k);
        kept.into_iter().map(|(_, i, l)| (i, l)).collect()
    }

    fn features_table(
        ctx: &RunContext<'_>,
        kept: &[(u32, String)],
        names: Vec<String>,
        values: ArrayView2<f64>,
    ) -> DataFrame {
        let n = kept.len();
        let mut columns = vec![
            Column::new("subject".into(), vec![ctx.job.subject.as_str(); n]),
            Column::new("recording".into(), vec![ctx.job.base.as_str(); n]),
            Column::new(
                "event".into(),
                kept.iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "epoch".into(),
                kept.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            ),
        ];
        for (name, col) in names.into_iter().zip(values.columns()) {
            columns.push(Column::new(name.into(), col.to_vec()));
        }
        DataFrame::new(n, columns).expect("columns have equal lengths")
    }
}

fn write_npy(path: &Path, a: ndarray::ArrayD<f64>) -> Result<(), StageError> {
    write_atomically(path, |w| npy::write_f64(w, &a)).map_err(|source| StageError::Io {
        path: path.to_path_buf(),
        source,
    })
}

impl Stage for Covariance {
    fn kind(&self) -> &'static str {
        INFO.kind
    }

    fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(INFO.kind, &self.params)
    }

    fn run(&self, inputs: &mut Inputs, ctx: &RunContext<'_>) -> Result<Artifact, StageError> {
        let input = inputs.epochs(0)?;
        let kept = Self::kept(input);
        let name_of = |k: usize| {
            kept.get(k).map_or_else(
                || format!("kept epoch {k}"),
                |(i, l)| format!("epoch {i} ({l})"),
            )
        };
        let data = input.epochs.data.mapv(|v| v * MICROVOLTS_PER_VOLT);
        let covs = match self.params.augment {
            None => covariances(data.view(), self.estimator),
            Some(a) => augmented_covariances(data.view(), a.order, a.lag, self.estimator),
        }
        .map_err(|e| {
            use crate::features::covariance::CovarianceError as E;
            match &e {
                E::NoSamples { epoch }
                | E::NotFinite { epoch }
                | E::FewerSamplesThanChannels { epoch, .. } => {
                    // The science numbers kept epochs; name the epochs-table row instead.
                    let text = e.to_string();
                    let detail = text
                        .strip_prefix(&format!("epoch {epoch}: "))
                        .unwrap_or(&text);
                    StageError::mismatch(format!("covariance of {}: {detail}", name_of(*epoch)))
                }
                _ => StageError::mismatch(format!("covariance: {e}")),
            }
        })?;
        if let Some(pos) = covs.iter().position(|v| !v.is_finite()) {
            let (_, c, _) = covs.dim();
            return Err(StageError::mismatch(format!(
                "covariance of {} is not finite",
                name_of(pos / (c * c))
            )));
        }

        let c = covs.dim().1;
        let mut written = Vec::new();
        let (names, values, reference) = if self.params.tangent_space {
            let riemann_error = |e: RiemannError| match e {
                RiemannError::Matrix { index, source } => StageError::mismatch(format!(
                    "tangent space: covariance of {} is not symmetric positive definite ({source}); \
                     use a shrinkage estimator (`oas`, `lwf`) or longer epochs",
                    name_of(index)
                )),
                other => StageError::mismatch(format!("tangent space: {other}")),
            };
            let (ts, vectors) = TangentSpace::fit_transform(covs.view()).map_err(riemann_error)?;
            (feature_names(c), vectors, Some(ts.reference().to_owned()))
        } else {
            (covariance_names(c), upper_triangle(&covs), None)
        };
        // A NaN must never reach a table: the science returns errors for non-SPD input, so
        // this guards against anything it did not foresee.
        if let Some(pos) = values.iter().position(|v| !v.is_finite()) {
            return Err(StageError::mismatch(format!(
                "features of {} are not finite; nothing written",
                name_of(pos / values.ncols().max(1))
            )));
        }

        let table_path = ctx.output_path(&format!("desc-{}_features.parquet", ctx.stage_id));
        let mut table = Self::features_table(ctx, &kept, names, values.view());
        tables::write_parquet(&table_path, &mut table).map_err(|e| StageError::Output {
            path: table_path.clone(),
            message: e.to_string(),
        })?;
        ctx.record_written(table_path.clone());
        written.push(table_path);

        let cov_path = ctx.output_path(&format!("desc-{}_covariances.npy", ctx.stage_id));
        write_npy(&cov_path, covs.into_dyn())?;
        ctx.record_written(cov_path.clone());
        written.push(cov_path);

        if let Some(reference) = reference {
            let ref_path = ctx.output_path(&format!("desc-{}_tangent_reference.npy", ctx.stage_id));
            write_npy(&ref_path, reference.into_dyn())?;
            ctx.record_written(ref_path.clone());
            written.push(ref_path);
        }
        Ok(Artifact::Written(written))
    }
}
