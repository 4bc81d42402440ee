//! `ica`: fit an ICA decomposition (MNE's `ICA(...).fit(raw)`) on a recording's channels of
//! the chosen types, optionally on a decimated subset and without the `BAD*` annotated
//! spans, and pass it on so `classify_components` and `reconstruct` can use it on any
//! recording with the same channels. Writes the decomposition as JSON.

use std::io::Write;
use std::sync::Arc;

use ndarray::{Array2, Axis, CowArray, Ix2};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::registry::KindInfo;
use super::{
    Fingerprint, Inputs, ParamError, RunContext, Stage, StageError, StageParams, channel_types,
};
use crate::data::{Artifact, ArtifactKind, ChannelType, IcaArtifact, Recording};
use crate::ica::{
    ComponentCount, FastIcaFun, FastIcaParams, IcaError, InfomaxParams, Method, PicardParams, fit,
};
use crate::io::atomic::write_atomically;
use crate::io::ica_file;
use crate::stage_params;

pub const INFO: KindInfo = KindInfo {
    kind: "ica",
    summary: "Fit ICA as mne.preprocessing.ICA does (scalar pre-whitening, PCA, solver, \
              components sorted by explained variance) on the good channels of `types` \
              (default [eeg]). `method: picard` (default; `ortho: false, extended: true` = \
              extended Infomax, `ortho: true` = FastICA-like), `fastica` (`fun: logcosh | \
              exp | cube`) or `infomax` (`extended`, default true, runica-style). \
              `n_components`: a count (20) or a variance fraction (0.99, the default); it \
              may not exceed the data's rank (average reference removes one). Samples in \
              `BAD*` annotations are left out (`reject_by_annotation`, default true) and \
              `decim: k` fits on every k-th sample. `seed` defaults to the pipeline's. \
              Warns when the solver did not converge within `max_iter`. Writes \
              `<base>_desc-<id>_ica.json` (MNE's matrices: pre_whitener, pca_mean, \
              pca_components, pca_explained_variance, unmixing_matrix, mixing_matrix, plus \
              channel names, iterations, convergence). Apply it with `classify_components` \
              and `reconstruct`. `from: file.json` skips the fit and uses a decomposition \
              written earlier (or exported from MNE with the same keys).",
    inputs: &[ArtifactKind::Continuous],
    output: ArtifactKind::Ica,
    example: "raw: { kind: load }\n\
              reref: { kind: rereference, after: [raw] }\n\
              highpassed: { kind: filter, after: [reref], l_freq: 1.0, h_freq: 40.0 }\n\
              ica: { kind: ica, after: [highpassed], method: picard, n_components: 15 }\n\
              variance: { kind: ica, after: [highpassed], n_components: 0.95, decim: 2 }\n\
              fastica: { kind: ica, after: [highpassed], method: fastica, fun: logcosh, n_components: 10, max_iter: 400 }\n\
              infomax: { kind: ica, after: [highpassed], method: infomax, n_components: 10, seed: 7 }\n",
};

/// `n_components`: an integer count, or a fraction of variance in (0, 1].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ComponentsSpec(pub ComponentCount);

impl Serialize for ComponentsSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            ComponentCount::Count(n) => s.serialize_u64(n as u64),
            ComponentCount::VarianceFraction(f) => s.serialize_f64(f),
        }
    }
}

impl<'de> Deserialize<'de> for ComponentsSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = ComponentsSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number of components (20) or a variance fraction (0.99)")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(ComponentsSpec(ComponentCount::Count(v as usize)))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                if v < 0 {
                    return Err(E::custom(format!("n_components must be positive, got {v}")));
                }
                Ok(ComponentsSpec(ComponentCount::Count(v as usize)))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(ComponentsSpec(ComponentCount::VarianceFraction(v)))
            }
        }
        d.deserialize_any(V)
    }
}

fn default_components() -> ComponentsSpec {
    ComponentsSpec(ComponentCount::VarianceFraction(0.99))
}

fn default_method() -> String {
    "picard".into()
}

fn default_types() -> Vec<String> {
    vec!["eeg".into()]
}

fn default_decim() -> usize {
    1
}

fn default_true() -> bool {
    true
}

stage_params! {
    pub struct IcaParams {
        #[serde(default = "default_method")]
        pub method: String,
        #[serde(default = "default_components")]
        pub n_components: ComponentsSpec,
        #[serde(default = "default_types")]
        pub types: Vec<String>,
        #[serde(default)]
        pub ortho: Option<bool>,
        #[serde(default)]
        pub extended: Option<bool>,
        #[serde(default)]
        pub fun: Option<String>,
        #[serde(default)]
        pub max_iter: Option<usize>,
        #[serde(default)]
        pub tol: Option<f64>,
        #[serde(default = "default_decim")]
        pub decim: usize,
        #[serde(default = "default_true")]
        pub reject_by_annotation: bool,
        #[serde(default)]
        pub seed: Option<u64>,
        #[serde(default)]
        pub from: Option<std::path::PathBuf>,
    }
}

impl IcaParams {
    /// The solver with its parameters; keys that do not apply to the method are refused
    /// (a silently ignored `fun:` on a Picard fit would be a nasty surprise).
    fn method(&self) -> Result<Method, ParamError> {
        let only = |field: &'static str, methods: &str| {
            ParamError::new(
                field,
                format!(
                    "`{field}` does not apply to method `{}` (only to {methods})",
                    self.method
                ),
            )
        };
        let mut method = match self.method.as_str() {
            "picard" => {
                if self.fun.is_some() {
                    return Err(only("fun", "fastica"));
                }
                let mut p = PicardParams::default();
                if let Some(o) = self.ortho {
                    p.ortho = o;
                }
                if let Some(e) = self.extended {
                    p.extended = e;
                }
                Method::Picard(p)
            }
            "fastica" => {
                if self.ortho.is_some() {
                    return Err(only("ortho", "picard"));
                }
                if self.extended.is_some() {
                    return Err(only("extended", "picard and infomax"));
                }
                let mut p = FastIcaParams::default();
                if let Some(f) = &self.fun {
                    p.fun = match f.as_str() {
                        "logcosh" => FastIcaFun::Logcosh { alpha: 1.0 },
                        "exp" => FastIcaFun::Exp,
                        "cube" => FastIcaFun::Cube,
                        other => {
                            return Err(ParamError::new(
                                "fun",
                                format!(
                                    "`{other}` is not a FastICA function; use logcosh, exp or cube"
                                ),
                            ));
                        }
                    };
                }
                Method::FastIca(p)
            }
            "infomax" => {
                if self.ortho.is_some() {
                    return Err(only("ortho", "picard"));
                }
                if self.fun.is_some() {
                    return Err(only("fun", "fastica"));
                }
                Method::Infomax(InfomaxParams {
                    extended: self.extended.unwrap_or(true),
                    ..InfomaxParams::default()
                })
            }
            other => {
                return Err(ParamError::new(
                    "method",
                    format!("`{other}` is not an ICA method; use picard, fastica or infomax"),
                ));
            }
        };
        if let Some(m) = self.max_iter {
            if m == 0 {
                return Err(ParamError::new("max_iter", "must be at least 1"));
            }
            match &mut method {
                Method::Picard(p) => p.max_iter = m,
                Method::FastIca(p) => p.max_iter = m,
                Method::Infomax(p) => p.max_iter = m,
            }
        }
        if let Some(t) = self.tol {
            if !(t.is_finite() && t > 0.0) {
                return Err(ParamError::new(
                    "tol",
                    format!("must be a positive number, got {t}"),
                ));
            }
            match &mut method {
                Method::Picard(p) => p.tol = t,
                Method::FastIca(p) => p.tol = t,
                Method::Infomax(p) => p.w_change = t,
            }
        }
        Ok(method)
    }
}

impl StageParams for IcaParams {
    fn check(self: Box<Self>) -> Result<Box<dyn Stage>, ParamError> {
        let method = self.method()?;
        match self.n_components.0 {
            ComponentCount::Count(0) => {
                return Err(ParamError::new("n_components", "must be at least 1"));
            }
            ComponentCount::VarianceFraction(f) if !(f > 0.0 && f <= 1.0) => {
                return Err(ParamError::new(
                    "n_components",
                    format!(
                        "{f} is neither a count (a whole number like 20) nor a variance fraction in (0, 1]"
                    ),
                ));
            }
            _ => {}
        }
        if self.decim == 0 {
            return Err(ParamError::new(
                "decim",
                "must be at least 1 (1 = every sample)",
            ));
        }
        let types = channel_types(&self.types)?;
        Ok(Box::new(Ica {
            method,
            types,
            params: *self,
        }))
    }
}

#[derive(Debug)]
pub struct Ica {
    method: Method,
    types: Vec<ChannelType>,
    params: IcaParams,
}

impl Ica {
    /// The data to fit on: a view of the recording when every row and sample is used (no
    /// copy of a long recording), otherwise one gathered copy.
    fn fit_data<'r>(
        &self,
        rec: &'r Recording,
    ) -> Result<(Vec<usize>, CowArray<'r, f64, Ix2>), StageError> {
        let picks: Vec<usize> = rec
            .channels
            .iter()
            .enumerate()
            .filter(|(_, c)| self.types.contains(&c.kind) && !c.is_bad())
            .map(|(i, _)| i)
            .collect();
        if picks.len() < 2 {
            return Err(StageError::mismatch(format!(
                "ICA needs at least 2 good channels of type {}, this recording has {}; set \
                 `types:` to the channel types it has",
                self.params.types.join("/"),
                picks.len()
            )));
        }
        let samples = if self.params.reject_by_annotation {
            rec.good_samples(self.params.decim)
        } else {
            (0..rec.n_samples()).step_by(self.params.decim).collect()
        };
        let all_rows = picks.len() == rec.n_channels();
        let all_samples = samples.len() == rec.n_samples();
        let data = match (all_rows, all_samples) {
            (true, true) => CowArray::from(rec.data.view()),
            (true, false) => CowArray::from(rec.data.select(Axis(1), &samples)),
            (false, true) => CowArray::from(rec.data.select(Axis(0), &picks)),
            (false, false) => CowArray::from(Array2::from_shape_fn(
                (picks.len(), samples.len()),
                |(i, j)| rec.data[[picks[i], samples[j]]],
            )),
        };
        Ok((picks, data))
    }
}

impl Ica {
    /// `from:` a decomposition fitted earlier: check it fits this recording and pass it on.
    fn load(&self, path: &std::path::Path, rec: &Recording) -> Result<Artifact, StageError> {
        let f = ica_file::read(path).map_err(|e| StageError::mismatch(format!("ica from: {e}")))?;
        let ica = IcaArtifact {
            decomposition: Arc::new(f.decomposition),
            channel_names: f.channel_names,
            sfreq: f.sfreq,
            labels: None,
        };
        if let Err(name) = ica.rows_in(rec) {
            return Err(StageError::mismatch(format!(
                "ica from {}: channel `{name}` of the decomposition is not in this recording",
                path.display()
            )));
        }
        Ok(Artifact::Ica(Arc::new(ica)))
    }
}

impl Stage for Ica {
    fn kind(&self) -> &'static str {
        INFO.kind
    }

    fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(INFO.kind, &self.params)
    }

    fn run(&self, inputs: &mut Inputs, ctx: &RunContext<'_>) -> Result<Artifact, StageError> {
        let rec = inputs.recording(0)?;
        if let Some(path) = &self.params.from {
            return self.load(&ctx.resolve(path), rec);
        }
        let (picks, data) = self.fit_data(rec)?;
        let seed = self.params.seed.unwrap_or(ctx.seed);
        let decomposition = fit(data.view(), self.params.n_components.0, &self.method, seed)
            .map_err(|e| {
                let hint = match &e {
                    IcaError::TooFewSamples { .. } => {
                        " (after leaving out BAD spans and decimating)"
                    }
                    _ => "",
                };
                StageError::mismatch(format!("ICA fit{hint}: {e}"))
            })?;
        if !decomposition.converged {
            tracing::warn!(
                "{}: ICA ({}) did not converge in {} iterations; raise `max_iter` or `tol` in stage `{}`",
                rec.source.display(),
                decomposition.method.name(),
                decomposition.n_iter,
                ctx.stage_id
            );
        }
        let channel_names: Vec<String> = picks
            .iter()
            .map(|&i| rec.channels[i].name.clone())
            .collect();
        let path = ctx.output_path(&format!("desc-{}_ica.json", ctx.stage_id));
        let json = ica_file::to_json(&decomposition, &channel_names, rec.sfreq);
        write_atomically(&path, |w| w.write_all(&json)).map_err(|source| StageError::Io {
            path: path.clone(),
            source,
        })?;
        ctx.record_written(path);
        Ok(Artifact::Ica(Arc::new(IcaArtifact {
            decomposition: Arc::new(decomposition),
            channel_names,
            sfreq: rec.sfreq,
            labels: None,
        })))
    }
}
