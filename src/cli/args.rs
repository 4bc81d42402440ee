use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Clean EEG and iEEG recordings with a pipeline declared in YAML.
///
/// A pipeline file names the input recordings, the output folder and a DAG of stages
/// (load → rereference → filter → … → write_edf). eegclean checks the whole file before
/// reading any data, then runs every recording through the stages, several recordings at
/// once, and writes cleaned EDF+ files, Parquet tables and a run summary.
///
/// Start with `eegclean demo` (synthetic data through the default pipeline, offline), then
/// `eegclean stages` to see what each stage does and `eegclean validate your.yaml`.
#[derive(Debug, Parser)]
#[command(
    name = "eegclean",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More log output (-v info, -vv debug); EEGCLEAN_LOG=... overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a pipeline over every recording it matches.
    ///
    /// Exit code 0 when every recording succeeded, 1 when some failed (their errors are
    /// printed and in summary.parquet; the others are complete), 2 when nothing could run.
    #[command(
        after_help = "Examples:\n  eegclean run pipeline/default.yaml --input data/ --output out/\n  eegclean run study.yaml --jobs 8\n  eegclean run study.yaml --subject 007   # one subject, as a SLURM array task does"
    )]
    Run(RunArgs),
    /// Check a pipeline file (syntax, types, stage parameters, the DAG) without reading data.
    Validate(PipelineArg),
    /// Print the resolved stage order and the recordings a run would process.
    Plan(PlanArgs),
    /// Show an EDF/BDF file's header, channels and annotations.
    #[command(
        after_help = "Examples:\n  eegclean inspect S001R04.edf\n  eegclean inspect S001R04.edf --json | jq '.channels[].label'"
    )]
    Inspect(InspectArgs),
    /// Generate a small synthetic dataset and run the default pipeline on it (offline).
    ///
    /// The subjects have known clean brain sources plus blinks, muscle bursts, heartbeats
    /// and 60 Hz line noise, written as EDF+ with annotations.
    Demo(DemoArgs),
    /// List stage kinds, or describe one with its parameters and a YAML example.
    Stages(StagesArgs),
}

#[derive(Debug, Args)]
pub struct PipelineArg {
    /// The pipeline YAML file.
    pub pipeline: PathBuf,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The pipeline YAML file.
    pub pipeline: PathBuf,
    /// Recordings processed in parallel (default: the number of cores).
    #[arg(short, long)]
    pub jobs: Option<usize>,
    /// Only this subject (label with or without `sub-`).
    #[arg(long)]
    pub subject: Option<String>,
    /// Use this folder instead of the pipeline's `input.root`.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Write outputs here instead of the pipeline's `output`.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The pipeline YAML file.
    pub pipeline: PathBuf,
    /// Only this subject.
    #[arg(long)]
    pub subject: Option<String>,
    /// Use this folder instead of the pipeline's `input.root`.
    #[arg(long)]
    pub input: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// An EDF, EDF+, BDF or BDF+ file.
    pub file: PathBuf,
    /// Machine-readable output (the fields are documented in `eegclean::io::edf::inspect`).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the synthetic data and the results go.
    #[arg(long, default_value = "eegclean-demo")]
    pub out: PathBuf,
    /// Number of synthetic subjects.
    #[arg(long, default_value_t = 3)]
    pub subjects: usize,
    /// Seed of the synthetic data (same seed, same files).
    #[arg(long, default_value_t = 97)]
    pub seed: u64,
    /// Recordings processed in parallel.
    #[arg(short, long)]
    pub jobs: Option<usize>,
}

#[derive(Debug, Args)]
pub struct StagesArgs {
    /// A stage kind to describe (e.g. `filter`).
    pub kind: Option<String>,
}
