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
use crate::artifacts::ctps::{CtpsParams, ctps_scores};
use crate::artifacts::iclabel::{
    CLASS_NAMES, IcLabelError, IcLabelNet, eeglab_weights, features_from_activations, find_model,
};
use crate::artifacts::muscle::{MuscleParams, muscle_scores};
use crate::artifacts::reference_correlation::{
    CorrelationParams, Measure, correlate_with_reference,
};
use crate::artifacts::{DetectorError, DetectorScores};
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
              column. MNE's rules (reference scores computed outside `BAD*` spans): `eog` \
              (on by default; `channels:` the EOG channels or proxies such as [Fp1, Fp2], \
              default every eog-typed channel; `measure: zscore` adaptive z-scoring of the \
              1–10 Hz correlations with `threshold: 3.0`, or `correlation` with |r| > \
              threshold), `ecg` (on by default; `channel:` default the first ecg-typed one; \
              `method: ctps` Kuiper index > 0.3, or `correlation`), `muscle` (off by default; \
              `muscle: true` or `{threshold: 0.5}`: 7–45 Hz slope, peripheral focus and \
              smoothness, flagged above threshold^criteria). A rule without its channel, or \
              whose reference is flat, is skipped with a note. `exclude: [0, 3]` adds \
              components by hand. Writes \
              `<base>_desc-<id>_components.parquet`: component, iclabel_label, p_<class> \
              for the 7 classes, every rule's score (eog_<ch>_r, ecg_<ch>_ctps or _r, \
              muscle_score), excluded, reason (rule, value, threshold), notes.",
    inputs: &[ArtifactKind::Ica, ArtifactKind::Continuous],
    output: ArtifactKind::Ica,
    example: "raw: { kind: load }\n\
              reref: { kind: rereference, after: [raw] }\n\
              filtered: { kind: filter, after: [reref], l_freq: 1.0, h_freq: 40.0 }\n\
              ica: { kind: ica, after: [filtered], n_components: 15 }\n\
              labels: { kind: classify_components, after: [ica, filtered], iclabel: { threshold: 0.5, if_unavailable: skip } }\n\
              by_hand: { kind: classify_components, after: [ica, filtered], iclabel: false, exclude: [0] }\n\
              rules: { kind: classify_components, after: [ica, filtered], iclabel: false, eog: { channels: [Fp1, Fp2], threshold: 3.0 }, ecg: false, muscle: { threshold: 0.5 } }\n",
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

fn default_measure() -> String {
    "zscore".into()
}

fn default_eog_threshold() -> f64 {
    3.0
}

/// The `eog:` block: MNE's `find_bads_eog`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EogRule {
    /// Reference channels; empty = every EOG-typed channel of the recording.
    #[serde(default)]
    pub channels: Vec<String>,
    #[serde(default = "default_eog_threshold")]
    pub threshold: f64,
    #[serde(default = "default_measure")]
    pub measure: String,
    #[serde(default)]
    pub l_freq: Option<f64>,
    #[serde(default)]
    pub h_freq: Option<f64>,
}

impl Default for EogRule {
    fn default() -> Self {
        Self {
            channels: Vec::new(),
            threshold: default_eog_threshold(),
            measure: default_measure(),
            l_freq: None,
            h_freq: None,
        }
    }
}

fn default_ctps() -> String {
    "ctps".into()
}

/// The `ecg:` block: MNE's `find_bads_ecg`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EcgRule {
    /// Reference channel; none = the first ECG-typed channel of the recording.
    #[serde(default)]
    pub channel: Option<String>,
    /// `ctps` (default, as MNE) or `correlation`.
    #[serde(default = "default_ctps")]
    pub method: String,
    /// Default: 0.3 for ctps (Kuiper index), 3.0 z-score for correlation.
    #[serde(default)]
    pub threshold: Option<f64>,
}

impl Default for EcgRule {
    fn default() -> Self {
        Self {
            channel: None,
            method: default_ctps(),
            threshold: None,
        }
    }
}

fn default_muscle_threshold() -> f64 {
    0.5
}

/// The `muscle:` block: MNE's `find_bads_muscle`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MuscleRule {
    #[serde(default = "default_muscle_threshold")]
    pub threshold: f64,
    #[serde(default)]
    pub l_freq: Option<f64>,
    #[serde(default)]
    pub h_freq: Option<f64>,
}

impl Default for MuscleRule {
    fn default() -> Self {
        Self {
            threshold: default_muscle_threshold(),
            l_freq: None,
            h_freq: None,
        }
    }
}

fn eog_on() -> Toggle<EogRule> {
    Toggle(Some(EogRule::default()))
}

fn ecg_on() -> Toggle<EcgRule> {
    Toggle(Some(EcgRule::default()))
}

fn muscle_off() -> Toggle<MuscleRule> {
    Toggle(None)
}

stage_params! {
    pub struct ClassifyParams {
        #[serde(default = "iclabel_on")]
        pub iclabel: Toggle<IcLabelRule>,
        #[serde(default = "eog_on")]
        pub eog: Toggle<EogRule>,
        #[serde(default = "ecg_on")]
        pub ecg: Toggle<EcgRule>,
        #[serde(default = "muscle_off")]
        pub muscle: Toggle<MuscleRule>,
        #[serde(default)]
        pub exclude: Vec<usize>,
    }
}

#[derive(Debug)]
struct CheckedEog {
    channels: Vec<String>,
    params: CorrelationParams,
}

#[derive(Debug)]
enum EcgMethod {
    Ctps(CtpsParams),
    Correlation(CorrelationParams),
}

#[derive(Debug)]
struct CheckedEcg {
    channel: Option<String>,
    method: EcgMethod,
}

fn band(
    field: &'static str,
    l: Option<f64>,
    h: Option<f64>,
    default: (f64, f64),
) -> Result<(f64, f64), ParamError> {
    let (l, h) = (l.unwrap_or(default.0), h.unwrap_or(default.1));
    if !(l.is_finite() && h.is_finite() && 0.0 < l && l < h) {
        return Err(ParamError::new(
            field,
            format!("l_freq {l} and h_freq {h} must satisfy 0 < l_freq < h_freq"),
        ));
    }
    Ok((l, h))
}

fn positive(field: &'static str, v: f64) -> Result<f64, ParamError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(ParamError::new(
            field,
            format!("threshold must be a positive number, got {v}"),
        ))
    }
}

impl EogRule {
    fn check(&self) -> Result<CheckedEog, ParamError> {
        let measure = match self.measure.as_str() {
            "zscore" => Measure::ZScore,
            "correlation" => Measure::Correlation,
            other => {
                return Err(ParamError::new(
                    "eog",
                    format!("measure `{other}` is neither `zscore` nor `correlation`"),
                ));
            }
        };
        let defaults = CorrelationParams::eog();
        let (l, h) = band(
            "eog",
            self.l_freq,
            self.h_freq,
            (
                defaults.l_freq.unwrap_or(1.0),
                defaults.h_freq.unwrap_or(10.0),
            ),
        )?;
        Ok(CheckedEog {
            channels: self.channels.clone(),
            params: CorrelationParams {
                l_freq: Some(l),
                h_freq: Some(h),
                threshold: positive("eog", self.threshold)?,
                measure,
            },
        })
    }
}

impl EcgRule {
    fn check(&self) -> Result<CheckedEcg, ParamError> {
        let method = match self.method.as_str() {
            "ctps" => {
                let mut p = CtpsParams::default();
                if let Some(t) = self.threshold {
                    if !(t > 0.0 && t < 1.0) {
                        return Err(ParamError::new(
                            "ecg",
                            format!("the ctps threshold is a Kuiper index in (0, 1), got {t}"),
                        ));
                    }
                    p.threshold = t;
                }
                EcgMethod::Ctps(p)
            }
            "correlation" => {
                let mut p = CorrelationParams::ecg();
                if let Some(t) = self.threshold {
                    p.threshold = positive("ecg", t)?;
                }
                EcgMethod::Correlation(p)
            }
            other => {
                return Err(ParamError::new(
                    "ecg",
                    format!("method `{other}` is neither `ctps` nor `correlation`"),
                ));
            }
        };
        Ok(CheckedEcg {
            channel: self.channel.clone(),
            method,
        })
    }
}

impl MuscleRule {
    fn check(&self) -> Result<MuscleParams, ParamError> {
        let d = MuscleParams::default();
        let (l, h) = band("muscle", self.l_freq, self.h_freq, (d.l_freq, d.h_freq))?;
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            return Err(ParamError::new(
                "muscle",
                format!("threshold must be in (0, 1], got {}", self.threshold),
            ));
        }
        Ok(MuscleParams {
            threshold: self.threshold,
            l_freq: l,
            h_freq: h,
            ..d
        })
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
            eog: self.eog.0.as_ref().map(EogRule::check).transpose()?,
            ecg: self.ecg.0.as_ref().map(EcgRule::check).transpose()?,
            muscle: self.muscle.0.as_ref().map(MuscleRule::check).transpose()?,
            network: Mutex::new(None),
            warned_skip: std::sync::atomic::AtomicBool::new(false),
            params: *self,
        }))
    }
}

#[derive(Debug)]
pub struct ClassifyComponents {
    iclabel: Option<CheckedIcLabel>,
    eog: Option<CheckedEog>,
    ecg: Option<CheckedEcg>,
    muscle: Option<MuscleParams>,
    /// The network, loaded on first use and shared by every recording of the run; or why
    /// it was not found (looked for once per run, not once per recording).
    network: Mutex<Option<Result<Arc<IcLabelNet>, String>>>,
    /// Whether the "ICLabel skipped" warning has been printed in this run.
    warned_skip: std::sync::atomic::AtomicBool,
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

    /// A rule that could not score this recording: an empty column and a note saying why.
    fn skip(&mut self, column: String, note: String) {
        self.columns
            .push(Column::new(column.into(), vec![None::<f64>; self.n]));
        self.notes.push(note);
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
        match cached.as_ref() {
            Some(Ok(net)) => return Ok(Arc::clone(net)),
            Some(Err(missing)) => return Err(Unavailable::Missing(missing.clone())),
            None => {}
        }
        let explicit = rule.model.as_deref().map(|m| ctx.resolve(m));
        let path = match find_model(explicit.as_deref()) {
            Ok(p) => p,
            Err(e @ IcLabelError::ModelNotFound { .. }) => {
                *cached = Some(Err(e.to_string()));
                return Err(Unavailable::Missing(e.to_string()));
            }
            Err(other) => {
                return Err(Unavailable::Error(StageError::mismatch(format!(
                    "ICLabel: {other}"
                ))));
            }
        };
        let net = Arc::new(
            IcLabelNet::load(&path)
                .map_err(|e| Unavailable::Error(StageError::mismatch(format!("ICLabel: {e}"))))?,
        );
        *cached = Some(Ok(Arc::clone(&net)));
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
        let Some(positions) = positions_of(rec, rows) else {
            let missing: Vec<&str> = channels
                .iter()
                .filter(|c| c.position.is_none())
                .map(|c| c.name.as_str())
                .collect();
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
        };
        let net = self.network(rule, ctx)?;
        let d = &ica.decomposition;
        let weights = eeglab_weights(d.unmixing_matrix.view(), d.pca_components.view())
            .map_err(|e| Unavailable::Error(StageError::mismatch(format!("ICLabel: {e}"))))?;
        // mne-icalabel hands the network µV (it multiplies MNE's volts by 1e6). Scaling the
        // weights instead, and spreading them over all the recording's rows, gives the
        // activations without any copy of the recording.
        let spread = spread_over_rows(weights.view(), rows, rec.n_channels(), 1e6);
        let icaact = spread.dot(&rec.data);
        let features =
            features_from_activations(icaact.view(), weights.view(), positions.view(), rec.sfreq)
                .map_err(|e| {
                Unavailable::Error(StageError::mismatch(format!("ICLabel features: {e}")))
            })?;
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
                // Once per run: the same reason would otherwise repeat for every recording
                // (each components table still says it in `notes`).
                if !self
                    .warned_skip
                    .swap(true, std::sync::atomic::Ordering::Relaxed)
                {
                    tracing::warn!(
                        "ICLabel skipped (if_unavailable: skip), components judged by the other \
                         rules; first seen on {}: {why}",
                        rec.source.display()
                    );
                }
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

/// Component time courses of the recording, without the `BAD*` spans (MNE's detectors
/// default to `reject_by_annotation=True`), and the matching samples of any channel.
struct Sources {
    good: Vec<usize>,
    sources: Array2<f64>,
}

/// Head-frame positions (channels × 3, metres) of rows `rows`, if every one has one.
fn positions_of(rec: &Recording, rows: &[usize]) -> Option<Array2<f64>> {
    let mut out = Array2::zeros((rows.len(), 3));
    for (i, &r) in rows.iter().enumerate() {
        let p = rec.channels[r].position?;
        out.row_mut(i).assign(&ndarray::aview1(&p));
    }
    Some(out)
}

/// `weights` (components × ICA channels) as components × all rows of the recording (zero
/// on rows the ICA does not use), times `scale`: one product with the whole recording then
/// gives the activations, with no copy of the recording's rows.
fn spread_over_rows(
    weights: ndarray::ArrayView2<f64>,
    rows: &[usize],
    n_rows: usize,
    scale: f64,
) -> Array2<f64> {
    let mut out = Array2::zeros((weights.nrows(), n_rows));
    for (k, &r) in rows.iter().enumerate() {
        out.column_mut(r)
            .assign(&weights.column(k).mapv(|w| w * scale));
    }
    out
}

impl Sources {
    /// MNE's `get_sources`: `W (X − pre_whitener·pca_mean)` with W the channel-space
    /// unmixing, computed as one product with the whole recording, then restricted to the
    /// samples outside `BAD*` spans.
    fn of(ica: &IcaArtifact, rec: &Recording, rows: &[usize]) -> Result<Self, StageError> {
        let good = rec.good_samples(1);
        let d = &ica.decomposition;
        let w = d.unmixing_channel_space();
        let centre: ndarray::Array1<f64> = &d.pre_whitener * &d.pca_mean;
        let offset = w.dot(&centre);
        let mut all = spread_over_rows(w.view(), rows, rec.n_channels(), 1.0).dot(&rec.data);
        for (k, mut row) in all.outer_iter_mut().enumerate() {
            row -= offset[k];
        }
        let sources = if good.len() == rec.n_samples() {
            all
        } else {
            all.select(Axis(1), &good)
        };
        Ok(Self { good, sources })
    }

    /// A reference channel on the same samples, or `None` when it is flat. Flat means a
    /// peak-to-peak under 1 nV: no real EOG/ECG is that quiet, but a disconnected channel
    /// that went through a filter is, and correlating components with its rounding noise
    /// (which MNE does) flags components at random.
    fn channel(&self, rec: &Recording, row: usize) -> Option<ndarray::Array1<f64>> {
        let v: ndarray::Array1<f64> = self.good.iter().map(|&t| rec.data[[row, t]]).collect();
        let (lo, hi) = v
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| {
                (l.min(x), h.max(x))
            });
        let volts = rec.channels[row].unit.is_volt();
        (!(volts && hi - lo < 1e-9)).then_some(v)
    }
}

/// A detector's failure that depends on the data (a flat reference, no heartbeat found,
/// partial positions) becomes a note in the table; anything else fails the recording.
fn data_dependent(e: &DetectorError) -> bool {
    matches!(
        e,
        DetectorError::ConstantReference
            | DetectorError::NoHeartbeats
            | DetectorError::NoPositions { .. }
            | DetectorError::TooShort { .. }
    )
}

impl ClassifyComponents {
    /// Add a detector's scores as a column and its flags as reasons.
    fn record(
        table: &mut ComponentsTable,
        column: String,
        result: &DetectorScores,
        reason: impl Fn(f64) -> String,
    ) {
        for &c in &result.indices {
            table.exclude(c, reason(result.scores[c]));
        }
        table
            .columns
            .push(Column::new(column.into(), result.scores.clone()));
    }

    /// The channels a reference rule uses: those named, or those of `kind`.
    fn references(
        rec: &Recording,
        named: &[String],
        kind: ChannelType,
        rule: &str,
    ) -> Result<Vec<usize>, StageError> {
        if named.is_empty() {
            return Ok(rec
                .channels
                .iter()
                .enumerate()
                .filter(|(_, c)| c.kind == kind)
                .map(|(i, _)| i)
                .collect());
        }
        named
            .iter()
            .map(|n| {
                rec.channel_index(n).ok_or_else(|| {
                    StageError::mismatch(format!(
                        "{rule}: the recording has no channel `{n}`; name one it has (or leave \
                         the list empty to use its {kind} channels, or set `{rule}: false`)"
                    ))
                })
            })
            .collect()
    }

    fn apply_rules(
        &self,
        ica: &IcaArtifact,
        rec: &Recording,
        rows: &[usize],
        table: &mut ComponentsTable,
    ) -> Result<(), StageError> {
        if self.eog.is_none() && self.ecg.is_none() && self.muscle.is_none() {
            return Ok(());
        }
        let src = Sources::of(ica, rec, rows)?;
        let fail = |rule: &str, e: DetectorError| StageError::mismatch(format!("{rule}: {e}"));
        if let Some(eog) = &self.eog {
            let channels = Self::references(rec, &eog.channels, ChannelType::Eog, "eog")?;
            if channels.is_empty() {
                table.notes.push(
                    "eog: no EOG channel; name proxies with `eog: { channels: [Fp1, Fp2] }`".into(),
                );
            }
            for ch in channels {
                let name = rec.channels[ch].name.clone();
                let Some(reference) = src.channel(rec, ch) else {
                    table.skip(
                        format!("eog_{name}_r"),
                        format!("eog {name}: {}", DetectorError::ConstantReference),
                    );
                    continue;
                };
                match correlate_with_reference(
                    src.sources.view(),
                    reference.view(),
                    rec.sfreq,
                    &eog.params,
                ) {
                    Ok(r) => {
                        let t = r.threshold;
                        let why = |score: f64| match eog.params.measure {
                            Measure::ZScore => {
                                format!("eog {name}: r={score:.3}, outlier beyond z {t}")
                            }
                            Measure::Correlation => {
                                format!("eog {name}: |r|={:.3} > {t}", score.abs())
                            }
                        };
                        Self::record(table, format!("eog_{name}_r"), &r, why);
                    }
                    Err(e) if data_dependent(&e) => {
                        table.skip(format!("eog_{name}_r"), format!("eog {name}: {e}"))
                    }
                    Err(e) => return Err(fail("eog", e)),
                }
            }
        }
        if let Some(ecg) = &self.ecg {
            let named: Vec<String> = ecg.channel.iter().cloned().collect();
            let channels = Self::references(rec, &named, ChannelType::Ecg, "ecg")?;
            match channels.first() {
                None => table
                    .notes
                    .push("ecg: no ECG channel; name one with `ecg: { channel: … }`".into()),
                Some(&ch) => {
                    let name = rec.channels[ch].name.clone();
                    let reference = src.channel(rec, ch).ok_or(DetectorError::ConstantReference);
                    let (column, result) = match &ecg.method {
                        EcgMethod::Ctps(p) => (
                            format!("ecg_{name}_ctps"),
                            reference.and_then(|r| {
                                ctps_scores(src.sources.view(), r.view(), rec.sfreq, p)
                            }),
                        ),
                        EcgMethod::Correlation(p) => (
                            format!("ecg_{name}_r"),
                            reference.and_then(|r| {
                                correlate_with_reference(src.sources.view(), r.view(), rec.sfreq, p)
                            }),
                        ),
                    };
                    match result {
                        Ok(r) => {
                            let t = r.threshold;
                            let why = |score: f64| match &ecg.method {
                                EcgMethod::Ctps(_) => {
                                    format!("ecg {name}: ctps {score:.3} > {t}")
                                }
                                EcgMethod::Correlation(_) => {
                                    format!("ecg {name}: r={score:.3}, outlier beyond z {t}")
                                }
                            };
                            Self::record(table, column, &r, why);
                        }
                        Err(e) if data_dependent(&e) => {
                            table.skip(column, format!("ecg {name}: {e}"))
                        }
                        Err(e) => return Err(fail("ecg", e)),
                    }
                }
            }
        }
        if let Some(muscle) = &self.muscle {
            let positions = positions_of(rec, rows);
            if positions.is_none() {
                table.notes.push(
                    "muscle: channel positions missing, spectral-slope criterion only (as MNE)"
                        .into(),
                );
            }
            let mixing = ica.decomposition.mixing_channel_space();
            match muscle_scores(
                src.sources.view(),
                mixing.view(),
                positions.as_ref().map(|p| p.view()),
                rec.sfreq,
                muscle,
            ) {
                Ok(r) => {
                    let t = r.threshold;
                    Self::record(table, "muscle_score".into(), &r, |s| {
                        format!("muscle: score {s:.3} > {t:.3}")
                    });
                }
                Err(e) if data_dependent(&e) => {
                    table.skip("muscle_score".into(), format!("muscle: {e}"))
                }
                Err(e) => return Err(fail("muscle", e)),
            }
        }
        Ok(())
    }
}

impl Stage for ClassifyComponents {
    fn kind(&self) -> &'static str {
        INFO.kind
    }

    fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(INFO.kind, &self.params)
    }

    fn run(&self, inputs: &mut Inputs, ctx: &RunContext<'_>) -> Result<Artifact, StageError> {
        let ica = inputs.ica(0)?;
        let rec = inputs.recording(1)?;
        let rows = ica.rows_in(rec).map_err(|name| {
            StageError::mismatch(format!(
                "the recording has no channel `{name}`, which the ICA was fitted on; give \
                 classify_components a recording with the ICA's channels (usually the one \
                 the ICA stage was run on)"
            ))
        })?;
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
        self.apply_rules(ica, rec, &rows, &mut table)?;
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
