//! `classify_components`: decide which ICA components are artifacts, and say why.
//!
//! Runs ICLabel natively (mne-icalabel's features and network) and, when the recording has
//! them, MNE's reference-signal rules (EOG / ECG correlation, ECG phase consistency) and
//! muscle rule; writes one row per component with every score, the label, whether it is
//! excluded and the rule that excluded it. The labelled decomposition flows on to
//! `reconstruct`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use ndarray::{Array2, Axis};
use polars::prelude::*;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::registry::KindInfo;
use super::{Fingerprint, Inputs, ParamError, RunContext, Stage, StageError, StageParams};
use crate::artifacts::iclabel::{
    CLASS_NAMES, IcLabelError, IcLabelNet, compute_features, eeglab_weights, find_model,
};
use crate::data::{Artifact, ArtifactKind, ChannelType, ComponentLabels, IcaArtifact, Recording};
use crate::io::tables;
use crate::stage_params;

pub const INFO: KindInfo = KindInfo {
    kind: "classify_components",
    summary: "Label the components of an ICA (`after: [ica, recording]`; the recording is \
              where sources and features are computed, usually the one the ICA was fitted \
              on: average reference, 1–40 or 1–100 Hz). `iclabel` (on by default): \
              mne-icalabel's features and ICLabelNet, native; a component is excluded when \
              its most likely class is in `exclude` (default eye blink, heart beat, muscle \
              artifact, line noise, channel noise) with probability above `threshold` \
              (default 0.5). The network file is `model:`, else $EEGCLEAN_ICLABEL_MODEL, \
              else an installed mne-icalabel. ICLabel needs scalp EEG with positions and \
              refuses seeg/ecog channels (use `iclabel: false` for iEEG). When the model or \
              the positions are missing, `if_unavailable: fail` (default) fails the \
              recording; `skip` classifies without ICLabel and says so in the `notes` \
              column. `exclude: [0, 3]` adds components by hand. Writes \
              `<base>_desc-<id>_components.parquet`: component, iclabel_label, p_<class> \
              for the 7 classes, every rule's score, excluded, reason (rule, value, \
              threshold), notes.",
    inputs: &[ArtifactKind::Ica, ArtifactKind::Continuous],
    output: ArtifactKind::Ica,
    example: "raw: { kind: load }\n\
              reref: { kind: rereference, after: [raw] }\n\
              filtered: { kind: filter, after: [reref], l_freq: 1.0, h_freq: 40.0 }\n\
              ica: { kind: ica, after: [filtered], n_components: 15 }\n\
              labels: { kind: classify_components, after: [ica, filtered], iclabel: { threshold: 0.5, if_unavailable: skip } }\n\
              by_hand: { kind: classify_components, after: [ica, filtered], iclabel: false, exclude: [0] }\n",
};

/// ICLabel class names (mne-icalabel's) with the short names also accepted in YAML.
const CLASS_ALIASES: [(&str, &str); 7] = [
    ("brain", "brain"),
    ("muscle", "muscle artifact"),
    ("eye", "eye blink"),
    ("heart", "heart beat"),
    ("line", "line noise"),
    ("channel", "channel noise"),
    ("other", "other"),
];

/// Column suffix of each class probability (`p_eye`, …), in network output order.
const CLASS_COLUMNS: [&str; 7] = [
    "p_brain",
    "p_muscle",
    "p_eye",
    "p_heart",
    "p_line_noise",
    "p_channel_noise",
    "p_other",
];

fn class_index(name: &str) -> Option<usize> {
    let lower = name.trim().to_ascii_lowercase();
    CLASS_NAMES
        .iter()
        .position(|c| *c == lower)
        .or_else(|| CLASS_ALIASES.iter().position(|(short, _)| *short == lower))
}

fn default_exclude_classes() -> Vec<String> {
    [
        "eye blink",
        "heart beat",
        "muscle artifact",
        "line noise",
        "channel noise",
    ]
    .map(String::from)
    .to_vec()
}

fn default_threshold() -> f64 {
    0.5
}

fn default_fail() -> String {
    "fail".into()
}

/// The `iclabel:` block.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IcLabelRule {
    #[serde(default = "default_exclude_classes")]
    pub exclude: Vec<String>,
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    #[serde(default)]
    pub model: Option<PathBuf>,
    #[serde(default = "default_fail")]
    pub if_unavailable: String,
}

impl Default for IcLabelRule {
    fn default() -> Self {
        Self {
            exclude: default_exclude_classes(),
            threshold: default_threshold(),
            model: None,
            if_unavailable: default_fail(),
        }
    }
}

/// A rule block that can also be switched with a plain `true` / `false`.
#[derive(Debug, Clone, PartialEq)]
pub struct Toggle<T>(pub Option<T>);

impl<T: Serialize> Serialize for Toggle<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de, T: Deserialize<'de> + Default> Deserialize<'de> for Toggle<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw<T> {
            Switch(bool),
            Block(T),
        }
        Ok(Toggle(match Raw::<T>::deserialize(d)? {
            Raw::Switch(true) => Some(T::default()),
            Raw::Switch(false) => None,
            Raw::Block(t) => Some(t),
        }))
    }
}

fn iclabel_on() -> Toggle<IcLabelRule> {
    Toggle(Some(IcLabelRule::default()))
}

stage_params! {
    pub struct ClassifyParams {
        #[serde(default = "iclabel_on")]
        pub iclabel: Toggle<IcLabelRule>,
        #[serde(default)]
        pub exclude: Vec<usize>,
    }
}

/// What to do when ICLabel cannot run on a recording (no model, no positions).
#[derive(Debug, Clone, Copy, PartialEq)]
enum IfUnavailable {
    Fail,
    Skip,
}

#[derive(Debug)]
struct CheckedIcLabel {
    exclude: Vec<usize>,
    threshold: f64,
    model: Option<PathBuf>,
    if_unavailable: IfUnavailable,
}

impl StageParams for ClassifyParams {
    fn check(self: Box<Self>) -> Result<Box<dyn Stage>, ParamError> {
        let iclabel = match &self.iclabel.0 {
            None => None,
            Some(r) => {
                let exclude = r
                    .exclude
                    .iter()
                    .map(|c| {
                        class_index(c).ok_or_else(|| {
                            ParamError::new(
                                "iclabel",
                                format!(
                                    "`{c}` is not an ICLabel class; use one of {} (or brain, \
                                     muscle, eye, heart, line, channel, other)",
                                    CLASS_NAMES.join(", ")
                                ),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if !(r.threshold.is_finite() && (0.0..1.0).contains(&r.threshold)) {
                    return Err(ParamError::new(
                        "iclabel",
                        format!(
                            "threshold must be a probability in [0, 1), got {}",
                            r.threshold
                        ),
                    ));
                }
                let if_unavailable = match r.if_unavailable.as_str() {
                    "fail" => IfUnavailable::Fail,
                    "skip" => IfUnavailable::Skip,
                    other => {
                        return Err(ParamError::new(
                            "iclabel",
                            format!("if_unavailable: `{other}` is neither `fail` nor `skip`"),
                        ));
                    }
                };
                Some(CheckedIcLabel {
                    exclude,
                    threshold: r.threshold,
                    model: r.model.clone(),
                    if_unavailable,
                })
            }
        };
        Ok(Box::new(ClassifyComponents {
            iclabel,
            network: Mutex::new(None),
            params: *self,
        }))
    }
}

#[derive(Debug)]
pub struct ClassifyComponents {
    iclabel: Option<CheckedIcLabel>,
    /// The network, loaded on first use and shared by every recording of the run.
    network: Mutex<Option<Arc<IcLabelNet>>>,
    params: ClassifyParams,
}

/// Why ICLabel did not run on a recording, for `if_unavailable`.
enum Unavailable {
    /// Missing model or positions: `skip` may apply.
    Missing(String),
    /// Anything else is always an error.
    Error(StageError),
}

/// The table being built: columns in order, plus per-component reasons and shared notes.
struct ComponentsTable {
    n: usize,
    columns: Vec<Column>,
    reasons: Vec<Vec<String>>,
    notes: Vec<String>,
}

impl ComponentsTable {
    fn new(n: usize) -> Self {
        Self {
            n,
            columns: vec![Column::new(
                "component".into(),
                (0..n as u32).collect::<Vec<_>>(),
            )],
            reasons: vec![Vec::new(); n],
            notes: Vec::new(),
        }
    }

    fn exclude(&mut self, component: usize, reason: String) {
        self.reasons[component].push(reason);
    }

    fn finish(mut self) -> (DataFrame, ComponentLabels) {
        let excluded: Vec<bool> = self.reasons.iter().map(|r| !r.is_empty()).collect();
        let reasons: Vec<String> = self.reasons.iter().map(|r| r.join("; ")).collect();
        let notes = self.notes.join("; ");
        self.columns
            .push(Column::new("excluded".into(), excluded.clone()));
        self.columns
            .push(Column::new("reason".into(), reasons.clone()));
        self.columns
            .push(Column::new("notes".into(), vec![notes.as_str(); self.n]));
        let frame = DataFrame::new(self.n, self.columns).expect("columns have equal lengths");
        let labels = ComponentLabels {
            excluded: (0..self.n).filter(|&i| excluded[i]).collect(),
            reasons,
        };
        (frame, labels)
    }
}

/// The rows of `rec` holding the ICA's channels, in the decomposition's order.
fn ica_rows(ica: &IcaArtifact, rec: &Recording) -> Result<Vec<usize>, StageError> {
    ica.channel_names
        .iter()
        .map(|name| {
            rec.channel_index(name).ok_or_else(|| {
                StageError::mismatch(format!(
                    "the recording has no channel `{name}`, which the ICA was fitted on; give \
                     classify_components a recording with the ICA's channels (usually the one \
                     the ICA stage was run on)"
                ))
            })
        })
        .collect()
}

impl ClassifyComponents {
    fn network(
        &self,
        rule: &CheckedIcLabel,
        ctx: &RunContext<'_>,
    ) -> Result<Arc<IcLabelNet>, Unavailable> {
        let mut cached = self
            .network
            .lock()
            .map_err(|_| Unavailable::Error(StageError::mismatch("ICLabel model lock poisoned")))?;
        if let Some(net) = cached.as_ref() {
            return Ok(Arc::clone(net));
        }
        let explicit = rule.model.as_deref().map(|m| ctx.resolve(m));
        let path = find_model(explicit.as_deref()).map_err(|e| match e {
            IcLabelError::ModelNotFound { .. } => Unavailable::Missing(e.to_string()),
            other => Unavailable::Error(StageError::mismatch(format!("ICLabel: {other}"))),
        })?;
        let net = Arc::new(
            IcLabelNet::load(&path)
                .map_err(|e| Unavailable::Error(StageError::mismatch(format!("ICLabel: {e}"))))?,
        );
        *cached = Some(Arc::clone(&net));
        Ok(net)
    }

    /// ICLabel probabilities [components, 7], as mne-icalabel's `label_components`.
    fn iclabel_probabilities(
        &self,
        rule: &CheckedIcLabel,
        ica: &IcaArtifact,
        rec: &Recording,
        rows: &[usize],
        ctx: &RunContext<'_>,
    ) -> Result<Array2<f32>, Unavailable> {
        let channels: Vec<_> = rows.iter().map(|&r| &rec.channels[r]).collect();
        if let Some(c) = channels
            .iter()
            .find(|c| matches!(c.kind, ChannelType::Seeg | ChannelType::Ecog))
        {
            return Err(Unavailable::Error(StageError::mismatch(format!(
                "ICLabel was trained on scalp EEG, but the ICA includes {} channel `{}`; set \
                 `iclabel: false` for intracranial recordings (the `exclude` list and \
                 reference-signal rules still work)",
                c.kind, c.name
            ))));
        }
        let missing: Vec<&str> = channels
            .iter()
            .filter(|c| c.position.is_none())
            .map(|c| c.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(Unavailable::Missing(format!(
                "ICLabel's scalp-map feature needs electrode positions, and {} of the ICA's \
                 channels have none ({}); use 10-05 channel names so positions are known",
                missing.len(),
                missing
                    .iter()
                    .take(5)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let net = self.network(rule, ctx)?;
        let d = &ica.decomposition;
        let weights = eeglab_weights(d.unmixing_matrix.view(), d.pca_components.view())
            .map_err(|e| Unavailable::Error(StageError::mismatch(format!("ICLabel: {e}"))))?;
        // mne-icalabel hands the network µV (it multiplies MNE's volts by 1e6).
        let data_uv = rec.data.select(Axis(0), rows).mapv(|v| v * 1e6);
        let positions = Array2::from_shape_fn((channels.len(), 3), |(i, k)| {
            channels[i].position.map_or(0.0, |p| p[k])
        });
        let features =
            compute_features(data_uv.view(), weights.view(), positions.view(), rec.sfreq).map_err(
                |e| Unavailable::Error(StageError::mismatch(format!("ICLabel features: {e}"))),
            )?;
        net.classify(&features)
            .map_err(|e| Unavailable::Error(StageError::mismatch(format!("ICLabel network: {e}"))))
    }

    fn apply_iclabel(
        &self,
        rule: &CheckedIcLabel,
        ica: &IcaArtifact,
        rec: &Recording,
        rows: &[usize],
        table: &mut ComponentsTable,
        ctx: &RunContext<'_>,
    ) -> Result<(), StageError> {
        let n = table.n;
        match self.iclabel_probabilities(rule, ica, rec, rows, ctx) {
            Ok(probs) => {
                let mut labels = Vec::with_capacity(n);
                for (c, row) in probs.outer_iter().enumerate() {
                    let (best, p) = row.iter().enumerate().fold((0, f32::MIN), |acc, (k, &v)| {
                        if v > acc.1 { (k, v) } else { acc }
                    });
                    labels.push(Some(CLASS_NAMES[best]));
                    if rule.exclude.contains(&best) && f64::from(p) > rule.threshold {
                        table.exclude(
                            c,
                            format!(
                                "iclabel: {} p={p:.3} > {}",
                                CLASS_NAMES[best], rule.threshold
                            ),
                        );
                    }
                }
                table
                    .columns
                    .push(Column::new("iclabel_label".into(), labels));
                for (k, name) in CLASS_COLUMNS.iter().enumerate() {
                    let values: Vec<Option<f64>> = probs
                        .column(k)
                        .iter()
                        .map(|&v| Some(f64::from(v)))
                        .collect();
                    table.columns.push(Column::new((*name).into(), values));
                }
                Ok(())
            }
            Err(Unavailable::Missing(why)) if rule.if_unavailable == IfUnavailable::Skip => {
                tracing::warn!(
                    "{}: ICLabel skipped (if_unavailable: skip): {why}",
                    rec.source.display()
                );
                table.notes.push(format!("iclabel skipped: {why}"));
                table
                    .columns
                    .push(Column::new("iclabel_label".into(), vec![None::<&str>; n]));
                for name in CLASS_COLUMNS {
                    table
                        .columns
                        .push(Column::new(name.into(), vec![None::<f64>; n]));
                }
                Ok(())
            }
            Err(Unavailable::Missing(why)) => Err(StageError::mismatch(format!(
                "{why} (or set `if_unavailable: skip` under `iclabel:` to classify without it)"
            ))),
            Err(Unavailable::Error(e)) => Err(e),
        }
    }
}

impl Stage for ClassifyComponents {
    fn kind(&self) -> &'static str {
        INFO.kind
    }

    fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(INFO.kind, &self.params)
    }

    fn run(&self, inputs: &Inputs<'_>, ctx: &RunContext<'_>) -> Result<Artifact, StageError> {
        let ica = inputs.ica(0)?;
        let rec = inputs.recording(1)?;
        let rows = ica_rows(ica, rec)?;
        let n = ica.decomposition.n_components;
        if let Some(&bad) = self.params.exclude.iter().find(|&&c| c >= n) {
            return Err(StageError::mismatch(format!(
                "exclude: component {bad} does not exist; this ICA has {n} components (0–{})",
                n - 1
            )));
        }
        let mut table = ComponentsTable::new(n);
        if let Some(rule) = &self.iclabel {
            self.apply_iclabel(rule, ica, rec, &rows, &mut table, ctx)?;
        }
        for &c in &self.params.exclude {
            table.exclude(c, "listed in `exclude`".into());
        }
        let (mut frame, labels) = table.finish();
        let path = ctx.output_path(&format!("desc-{}_components.parquet", ctx.stage_id));
        tables::write_parquet(&path, &mut frame).map_err(|e| StageError::Output {
            path: path.clone(),
            message: e.to_string(),
        })?;
        ctx.record_written(path);
        Ok(Artifact::Ica(Arc::new(IcaArtifact {
            labels: Some(labels),
            ..IcaArtifact::clone(ica)
        })))
    }
}
