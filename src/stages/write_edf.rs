//! `write_edf`: the recording as EDF+C (or BDF+), with a channels table beside it.

use super::registry::KindInfo;
use super::{Fingerprint, Inputs, ParamError, RunContext, Stage, StageError, StageParams};
use crate::data::{Artifact, ArtifactKind};
use crate::io::edf::EdfKind;
use crate::io::recording_edf::write_recording;
use crate::io::tables;
use crate::stage_params;

pub const INFO: KindInfo = KindInfo {
    kind: "write_edf",
    summary: "Write `<base>_desc-<desc>_eeg.edf` (EDF+C; `format: bdf` for 24-bit BDF+) and \
              `<base>_desc-<desc>_channels.parquet` and `_annotations.parquet` (onset, duration, \
              description) under the subject's output folder. \
              Voltages are written in µV; each channel's prefiltering field lists the \
              filters and references applied; all annotations are kept.",
    inputs: &[ArtifactKind::Continuous],
    output: ArtifactKind::Written,
    example: "raw: { kind: load }\n\
              filtered: { kind: filter, after: [raw], l_freq: 1.0, h_freq: 40.0 }\n\
              cleaned: { kind: write_edf, after: [filtered], desc: filtered }\n\
              as_bdf: { kind: write_edf, after: [filtered], desc: filtered24, format: bdf }\n",
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Edf,
    Bdf,
}

fn default_desc() -> String {
    "clean".into()
}

stage_params! {
    pub struct WriteEdfParams {
        #[serde(default = "default_desc")]
        pub desc: String,
        #[serde(default)]
        pub format: Format,
    }
}

impl StageParams for WriteEdfParams {
    fn check(self: Box<Self>) -> Result<Box<dyn Stage>, ParamError> {
        if self.desc.is_empty() || !self.desc.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ParamError::new(
                "desc",
                format!(
                    "must be letters and digits only (a BIDS label), got `{}`",
                    self.desc
                ),
            ));
        }
        Ok(Box::new(WriteEdf { params: *self }))
    }
}

#[derive(Debug)]
pub struct WriteEdf {
    params: WriteEdfParams,
}

impl Stage for WriteEdf {
    fn kind(&self) -> &'static str {
        INFO.kind
    }

    fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(INFO.kind, &self.params)
    }

    fn run(&self, inputs: &mut Inputs, ctx: &RunContext<'_>) -> Result<Artifact, StageError> {
        let rec = inputs.recording(0)?;
        if !rec.is_contiguous() {
            return Err(StageError::mismatch(
                "cannot write a recording with gaps as EDF+C; use `discontinuous: longest` in the load stage",
            ));
        }
        let desc = &self.params.desc;
        let edf_path = ctx.output_path(&format!(
            "desc-{desc}_eeg.{}",
            match self.params.format {
                Format::Edf => "edf",
                Format::Bdf => "bdf",
            }
        ));
        let format = match self.params.format {
            Format::Edf => EdfKind::EdfPlusC,
            Format::Bdf => EdfKind::BdfPlusC,
        };
        write_recording(&edf_path, rec, format)?;
        ctx.record_written(edf_path.clone());

        let table_path = ctx.output_path(&format!("desc-{desc}_channels.parquet"));
        tables::write_parquet(&table_path, &mut tables::channels_table(rec)).map_err(|e| {
            StageError::Output {
                path: table_path.clone(),
                message: e.to_string(),
            }
        })?;
        ctx.record_written(table_path.clone());

        let annotations_path = ctx.output_path(&format!("desc-{desc}_annotations.parquet"));
        tables::write_parquet(&annotations_path, &mut tables::annotations_table(rec)).map_err(
            |e| StageError::Output {
                path: annotations_path.clone(),
                message: e.to_string(),
            },
        )?;
        ctx.record_written(annotations_path.clone());
        Ok(Artifact::Written(vec![
            edf_path,
            table_path,
            annotations_path,
        ]))
    }
}
