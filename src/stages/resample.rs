//! `resample`: change the sample rate, anti-aliased, as MNE's `Raw.resample` does.

use std::sync::Arc;

use super::registry::KindInfo;
use super::{Fingerprint, Inputs, ParamError, RunContext, Stage, StageError, StageParams};
use crate::data::{Artifact, ArtifactKind, Segment};
use crate::dsp::{Npad, ResampleMethod};
use crate::stage_params;

pub const INFO: KindInfo = KindInfo {
    kind: "resample",
    summary: "Resample every channel to `sfreq` Hz. `method: fft` (default, as MNE) or \
              `polyphase` (scipy's resample_poly with MNE's window); both are anti-aliased. \
              Annotations keep their times in seconds.",
    inputs: &[ArtifactKind::Continuous],
    output: ArtifactKind::Continuous,
    example: "raw: { kind: load }\n\
              down: { kind: resample, after: [raw], sfreq: 100 }\n\
              poly: { kind: resample, after: [raw], sfreq: 80, method: polyphase }\n",
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MethodName {
    #[default]
    Fft,
    Polyphase,
}

stage_params! {
    pub struct ResampleParams {
        pub sfreq: f64,
        #[serde(default)]
        pub method: MethodName,
    }
}

impl StageParams for ResampleParams {
    fn check(self: Box<Self>) -> Result<Box<dyn Stage>, ParamError> {
        if !(self.sfreq.is_finite() && self.sfreq > 0.0) {
            return Err(ParamError::new(
                "sfreq",
                format!("must be a positive rate in Hz, got {}", self.sfreq),
            ));
        }
        Ok(Box::new(Resample { params: *self }))
    }
}

#[derive(Debug)]
pub struct Resample {
    params: ResampleParams,
}

impl Stage for Resample {
    fn kind(&self) -> &'static str {
        INFO.kind
    }

    fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(INFO.kind, &self.params)
    }

    fn run(&self, inputs: &mut Inputs, _ctx: &RunContext<'_>) -> Result<Artifact, StageError> {
        let input = inputs.recording(0)?;
        if !input.is_contiguous() {
            return Err(StageError::mismatch(
                "cannot resample a recording with gaps; use `discontinuous: longest` in the load stage",
            ));
        }
        let method = match self.params.method {
            MethodName::Fft => ResampleMethod::Fft { npad: Npad::Auto },
            MethodName::Polyphase => ResampleMethod::Polyphase,
        };
        let data = crate::dsp::resample(input.data.view(), input.sfreq, self.params.sfreq, method)?;
        let mut out = (**input).clone();
        out.data = data;
        out.sfreq = self.params.sfreq;
        out.segments = vec![Segment {
            first_sample: 0,
            n_samples: out.n_samples(),
            onset: input.segments.first().map_or(0.0, |s| s.onset),
        }];
        let all: Vec<usize> = (0..out.n_channels()).collect();
        out.note_prefilter(&all, &format!("Resampled:{}Hz", self.params.sfreq));
        Ok(Artifact::Continuous(Arc::new(out)))
    }
}
