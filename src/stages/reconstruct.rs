//! `reconstruct`: remove ICA components from a recording, as MNE's `ICA.apply(raw,
//! exclude=…)` does (with `n_pca_components=None`: the PCA axes beyond the ICA components
//! pass through unchanged). The recording may be another than the one the ICA was fitted
//! on (e.g. the unfiltered one) as long as it has the ICA's channels.

use std::sync::Arc;

use super::registry::KindInfo;
use super::{Fingerprint, Inputs, ParamError, RunContext, Stage, StageError, StageParams};
use crate::data::{Artifact, ArtifactKind};
use crate::stage_params;

pub const INFO: KindInfo = KindInfo {
    kind: "reconstruct",
    summary: "Remove ICA components from a recording (`after: [recording, ica]`, where \
              `ica` is a `classify_components` or an `ica` stage): the components it \
              excluded plus any listed in `exclude: [..]`, minus any listed in `keep: \
              [..]`. As MNE's ICA.apply: the ICA's channels are replaced, every other \
              channel is passed through. The recording must have the ICA's channels (it may \
              be unfiltered). The prefilter text of the cleaned channels gets `ICA-<n>`.",
    inputs: &[ArtifactKind::Continuous, ArtifactKind::Ica],
    output: ArtifactKind::Continuous,
    example: "raw: { kind: load }\n\
              reref: { kind: rereference, after: [raw] }\n\
              filtered: { kind: filter, after: [reref], l_freq: 1.0, h_freq: 40.0 }\n\
              ica: { kind: ica, after: [filtered], n_components: 15 }\n\
              labels: { kind: classify_components, after: [ica, filtered], iclabel: false, exclude: [0, 1] }\n\
              clean: { kind: reconstruct, after: [filtered, labels] }\n\
              clean_unfiltered: { kind: reconstruct, after: [reref, labels], keep: [1] }\n\
              by_hand: { kind: reconstruct, after: [filtered, ica], exclude: [0] }\n\
              written: { kind: write_edf, after: [clean], desc: clean }\n",
};

stage_params! {
    pub struct ReconstructParams {
        #[serde(default)]
        pub exclude: Vec<usize>,
        #[serde(default)]
        pub keep: Vec<usize>,
    }
}

impl StageParams for ReconstructParams {
    fn check(self: Box<Self>) -> Result<Box<dyn Stage>, ParamError> {
        if let Some(c) = self.exclude.iter().find(|c| self.keep.contains(c)) {
            return Err(ParamError::new(
                "keep",
                format!("component {c} is listed in both `exclude` and `keep`"),
            ));
        }
        Ok(Box::new(Reconstruct { params: *self }))
    }
}

#[derive(Debug)]
pub struct Reconstruct {
    params: ReconstructParams,
}

impl Stage for Reconstruct {
    fn kind(&self) -> &'static str {
        INFO.kind
    }

    fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(INFO.kind, &self.params)
    }

    fn run(&self, inputs: &mut Inputs, ctx: &RunContext<'_>) -> Result<Artifact, StageError> {
        let ica = Arc::clone(inputs.ica(1)?);
        let mut rec = inputs.take_recording(0)?;
        let d = &ica.decomposition;
        let n = d.n_components;
        if let Some(&c) = self
            .params
            .exclude
            .iter()
            .chain(&self.params.keep)
            .find(|&&c| c >= n)
        {
            return Err(StageError::mismatch(format!(
                "component {c} does not exist; this ICA has {n} components (0–{})",
                n - 1
            )));
        }
        let mut exclude: Vec<usize> = ica
            .labels
            .as_ref()
            .map(|l| l.excluded.clone())
            .unwrap_or_default();
        exclude.extend(&self.params.exclude);
        exclude.retain(|c| !self.params.keep.contains(c));
        exclude.sort_unstable();
        exclude.dedup();
        if ica.labels.is_none() && self.params.exclude.is_empty() {
            tracing::warn!(
                "{}: stage `{}` removes nothing: its ICA input is not classified and `exclude` \
                 is empty (put a classify_components stage in between)",
                rec.source.display(),
                ctx.stage_id
            );
        }

        let rows = ica.rows_in(&rec).map_err(|name| {
            StageError::mismatch(format!(
                "the recording has no channel `{name}`, which the ICA was fitted on; \
                 reconstruct a recording with the ICA's channels"
            ))
        })?;
        d.remove_in_place(&mut rec.data, &rows, &exclude)
            .map_err(|e| StageError::mismatch(format!("ICA apply: {e}")))?;
        rec.note_prefilter(&rows, &format!("ICA-{}", exclude.len()));
        tracing::debug!(
            "{}: removed {} of {n} components {exclude:?}",
            rec.source.display(),
            exclude.len()
        );
        Ok(Artifact::Continuous(Arc::new(rec)))
    }
}
