use std::process::ExitCode;

use super::args::DemoArgs;
use crate::demo::{DemoSpec, generate, write_subjects};
use crate::io::edf::EdfKind;
use crate::io::recording_edf::write_recording;
use crate::spec::{Pipeline, Source};

/// The default pipeline, shipped in the binary so `demo` works from any folder.
pub const DEFAULT_PIPELINE: &str = include_str!("../../pipeline/default.yaml");

pub fn demo(a: DemoArgs) -> Result<ExitCode, String> {
    let data = a.out.join("data");
    let spec = DemoSpec {
        n_subjects: a.subjects.max(1),
        // The default pipeline notches 60 Hz (as the MNE reference does for EEGMMIDB).
        line_freq: Some(60.0),
        ..DemoSpec::default()
    };
    eprintln!(
        "Generating {} synthetic subject{} in {} …",
        spec.n_subjects,
        if spec.n_subjects == 1 { "" } else { "s" },
        data.display()
    );
    let subjects = generate(&spec, a.seed).map_err(|e| e.to_string())?;
    // Each subject's EDF, plus its ground truth beside it (`_desc-clean_eeg.npy`: the
    // brain-only signal; `_artifacts.tsv`: every artifact's kind, onset and duration).
    write_subjects(
        &subjects,
        &data,
        |rec, path| -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
            write_recording(path, rec, EdfKind::EdfPlusC)?;
            Ok(())
        },
    )
    .map_err(|e| format!("writing the demo data: {e}"))?;
    let pipeline_path = a.out.join("pipeline.yaml");
    // The shipped pipeline reads `data/` and writes `derivatives/eegclean/` relative to
    // itself, so a copy beside the generated data runs as it is.
    let text = DEFAULT_PIPELINE.to_string();
    std::fs::create_dir_all(&a.out).map_err(|e| format!("{}: {e}", a.out.display()))?;
    std::fs::write(&pipeline_path, &text)
        .map_err(|e| format!("{}: {e}", pipeline_path.display()))?;
    let pipeline =
        Pipeline::from_source(Source::new(&pipeline_path, text)).map_err(|e| e.to_string())?;
    eprintln!("Running {} …", pipeline_path.display());
    let code = super::run::execute(&pipeline, None, a.jobs, false)?;
    eprintln!(
        "Cleaned files are in {}; try `eegclean inspect` on one, or edit {} and `eegclean run` it.",
        pipeline.output.display(),
        pipeline_path.display()
    );
    Ok(code)
}
