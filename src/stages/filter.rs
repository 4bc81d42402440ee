//! `filter`: band-pass / high-pass / low-pass FIR as MNE designs it by default (or IIR
//! Butterworth), then an optional notch. Contiguous segments are filtered separately.

use std::sync::Arc;

use ndarray::{Array2, Axis, s};

use super::registry::KindInfo;
use super::{
    Fingerprint, Inputs, ParamError, RunContext, Stage, StageError, StageParams, channel_types,
};
use crate::data::{Artifact, ArtifactKind, ChannelType, Recording};
use crate::dsp::{
    FilterLength, FirFilter, FirSpec, IirSpec, NotchSpec, Sos, Transition, Window,
    apply_cascade_zero_phase,
};
use crate::spec::AutoOr;
use crate::stage_params;

pub const INFO: KindInfo = KindInfo {
    kind: "filter",
    summary: "Zero-phase filtering as MNE's Raw.filter / notch_filter do by default: FIR \
              designed with firwin and a Hamming window, transition bands and length `auto` \
              by MNE's rules, applied by FFT overlap-add. `l_freq` alone is a high-pass, \
              `h_freq` alone a low-pass, both a band-pass; \
              `method: iir` uses a Butterworth of `iir_order` forward and backward; `notch: \
              [60]` then removes line noise (`notch_harmonics: true` adds 120, 180, … below \
              Nyquist). Filters channels of `types` (default eeg, seeg, ecog, as MNE's \
              default picks), bad ones included.",
    inputs: &[ArtifactKind::Continuous],
    output: ArtifactKind::Continuous,
    example: "raw: { kind: load }\n\
              bandpass: { kind: filter, after: [raw], l_freq: 1.0, h_freq: 40.0, notch: [60] }\n\
              highpass: { kind: filter, after: [raw], l_freq: 0.5, h_trans_bandwidth: auto }\n\
              iir: { kind: filter, after: [raw], l_freq: 1.0, h_freq: 30.0, method: iir, iir_order: 4 }\n\
              lines: { kind: filter, after: [raw], notch: [50], notch_harmonics: true }\n",
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    #[default]
    Fir,
    Iir,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WindowName {
    #[default]
    Hamming,
    Hann,
    Blackman,
}

fn default_types() -> Vec<String> {
    vec!["eeg".into(), "seeg".into(), "ecog".into()]
}

fn default_order() -> usize {
    4
}

stage_params! {
    pub struct FilterParams {
        #[serde(default)]
        pub l_freq: Option<f64>,
        #[serde(default)]
        pub h_freq: Option<f64>,
        #[serde(default)]
        pub method: Method,
        #[serde(default)]
        pub l_trans_bandwidth: AutoOr,
        #[serde(default)]
        pub h_trans_bandwidth: AutoOr,
        /// Samples, or `auto`.
        #[serde(default)]
        pub filter_length: AutoOr,
        #[serde(default)]
        pub window: WindowName,
        #[serde(default = "default_order")]
        pub iir_order: usize,
        #[serde(default)]
        pub notch: Vec<f64>,
        #[serde(default)]
        pub notch_harmonics: bool,
        #[serde(default = "default_types")]
        pub types: Vec<String>,
    }
}

impl StageParams for FilterParams {
    fn check(self: Box<Self>) -> Result<Box<dyn Stage>, ParamError> {
        let p = &*self;
        for (name, v) in [("l_freq", p.l_freq), ("h_freq", p.h_freq)] {
            if let Some(f) = v
                && !(f.is_finite() && f > 0.0)
            {
                return Err(ParamError::new(
                    name,
                    format!("must be a positive frequency in Hz, got {f}"),
                ));
            }
        }
        if p.l_freq.is_none() && p.h_freq.is_none() && p.notch.is_empty() {
            return Err(ParamError::new(
                "l_freq",
                "nothing to do: give l_freq (high-pass), h_freq (low-pass), both, or notch",
            ));
        }
        if let Some(f) = p.notch.iter().find(|f| !(f.is_finite() && **f > 0.0)) {
            return Err(ParamError::new(
                "notch",
                format!("frequencies must be positive, got {f}"),
            ));
        }
        if p.method == Method::Iir && !(1..=20).contains(&p.iir_order) {
            return Err(ParamError::new(
                "iir_order",
                format!("must be 1 to 20, got {}", p.iir_order),
            ));
        }
        for (name, v) in [
            ("l_trans_bandwidth", p.l_trans_bandwidth),
            ("h_trans_bandwidth", p.h_trans_bandwidth),
        ] {
            if let AutoOr::Value(t) = v
                && !(t.is_finite() && t > 0.0)
            {
                return Err(ParamError::new(
                    name,
                    format!("must be `auto` or a positive width in Hz, got {t}"),
                ));
            }
        }
        if let AutoOr::Value(n) = p.filter_length
            && !(n >= 1.0 && n.fract() == 0.0)
        {
            return Err(ParamError::new(
                "filter_length",
                format!("must be `auto` or a whole number of samples, got {n}"),
            ));
        }
        let types = channel_types(&p.types)?;
        Ok(Box::new(Filter {
            types,
            params: *self,
        }))
    }
}

#[derive(Debug)]
pub struct Filter {
    types: Vec<ChannelType>,
    params: FilterParams,
}

fn transition(t: AutoOr) -> Transition {
    match t {
        AutoOr::Auto => Transition::Auto,
        AutoOr::Value(v) => Transition::Hz(v),
    }
}

/// One filtering operation.
enum Op {
    Fir(FirFilter),
    Iir(Sos),
}

/// One filtering step: its label for the EDF prefiltering field, and the operation.
type Step = (String, Op);

/// Apply the steps in order. Consecutive FIR filters (band-pass then notch) run as one
/// FFT pass with MNE's per-filter edge handling (see `dsp::apply_cascade_zero_phase`).
fn apply_steps(steps: &[Step], x: &mut Array2<f64>) {
    let mut i = 0;
    while i < steps.len() {
        match &steps[i].1 {
            Op::Iir(sos) => {
                sos.apply_zero_phase(x.view_mut());
                i += 1;
            }
            Op::Fir(_) => {
                let firs: Vec<&FirFilter> = steps[i..]
                    .iter()
                    .map_while(|(_, op)| match op {
                        Op::Fir(f) => Some(f),
                        Op::Iir(_) => None,
                    })
                    .collect();
                i += firs.len();
                apply_cascade_zero_phase(&firs, x.view_mut());
            }
        }
    }
}

impl Filter {
    /// Every operation in order, as (label for the EDF prefiltering field, filter).
    fn design(&self, sfreq: f64) -> Result<Vec<Step>, StageError> {
        let p = &self.params;
        let mut ops: Vec<Step> = Vec::new();
        if p.l_freq.is_some() || p.h_freq.is_some() {
            let label = match (p.l_freq, p.h_freq) {
                (Some(l), Some(h)) => format!("HP:{l}Hz LP:{h}Hz"),
                (Some(l), None) => format!("HP:{l}Hz"),
                (None, Some(h)) => format!("LP:{h}Hz"),
                (None, None) => unreachable!("checked above"),
            };
            match p.method {
                Method::Fir => {
                    let fir = FirSpec {
                        l_freq: p.l_freq,
                        h_freq: p.h_freq,
                        l_trans: transition(p.l_trans_bandwidth),
                        h_trans: transition(p.h_trans_bandwidth),
                        length: match p.filter_length {
                            AutoOr::Auto => FilterLength::Auto,
                            AutoOr::Value(n) => FilterLength::Samples(n as usize),
                        },
                        window: match p.window {
                            WindowName::Hamming => Window::Hamming,
                            WindowName::Hann => Window::Hann,
                            WindowName::Blackman => Window::Blackman,
                        },
                    }
                    .design(sfreq)?;
                    ops.push((label, Op::Fir(fir)));
                }
                Method::Iir => {
                    let sos = IirSpec {
                        order: p.iir_order,
                        l_freq: p.l_freq,
                        h_freq: p.h_freq,
                    }
                    .design(sfreq)?;
                    ops.push((
                        format!("{label} (Butterworth {})", p.iir_order),
                        Op::Iir(sos),
                    ));
                }
            }
        }
        if !p.notch.is_empty() {
            let nyquist = sfreq / 2.0;
            let mut freqs: Vec<f64> = Vec::new();
            for &f in &p.notch {
                if f >= nyquist {
                    return Err(StageError::mismatch(format!(
                        "notch {f} Hz is at or above this recording's Nyquist frequency ({nyquist} Hz); \
                         remove it from `notch`"
                    )));
                }
                let mut k = 1.0;
                while k * f < nyquist {
                    freqs.push(k * f);
                    if !p.notch_harmonics {
                        break;
                    }
                    k += 1.0;
                }
            }
            let notch = NotchSpec::new(freqs.clone()).design(sfreq)?;
            let label = format!(
                "N:{}Hz",
                freqs
                    .iter()
                    .map(|f| f.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            );
            ops.push((label, Op::Fir(notch)));
        }
        Ok(ops)
    }
}

impl Stage for Filter {
    fn kind(&self) -> &'static str {
        INFO.kind
    }

    fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(INFO.kind, &self.params)
    }

    fn run(&self, inputs: &mut Inputs, _ctx: &RunContext<'_>) -> Result<Artifact, StageError> {
        let input = inputs.take_recording(0)?;
        let rows: Vec<usize> = input
            .channels
            .iter()
            .enumerate()
            .filter(|(_, c)| self.types.contains(&c.kind))
            .map(|(i, _)| i)
            .collect();
        if rows.is_empty() {
            return Err(StageError::mismatch(format!(
                "no channels of type {} to filter; set `types:` to the types this recording has",
                self.params.types.join("/")
            )));
        }
        let ops = self.design(input.sfreq)?;
        let n_samples = input.n_samples();
        let mut out: Recording = input;
        let segments: Vec<(usize, usize)> = if out.segments.is_empty() {
            vec![(0, out.n_samples())]
        } else {
            out.segments
                .iter()
                .map(|s| (s.first_sample, s.first_sample + s.n_samples))
                .collect()
        };
        let all_rows = rows.len() == out.n_channels();
        for (a, b) in segments {
            // Filter a gathered copy: FFT plans are reused across rows, and untouched
            // channels (stim, misc) are never passed through the filter.
            let mut block = if all_rows && a == 0 && b == out.n_samples() {
                std::mem::take(&mut out.data)
            } else {
                out.data.slice(s![.., a..b]).select(Axis(0), &rows)
            };
            apply_steps(&ops, &mut block);
            if all_rows && a == 0 && b == n_samples {
                out.data = block;
            } else {
                for (k, &r) in rows.iter().enumerate() {
                    out.data.slice_mut(s![r, a..b]).assign(&block.row(k));
                }
            }
        }
        for (label, _) in &ops {
            out.note_prefilter(&rows, label);
        }
        Ok(Artifact::Continuous(Arc::new(out)))
    }
}
