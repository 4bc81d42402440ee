use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::EXIT_FAILED_RECORDINGS;
use super::args::{PipelineArg, PlanArgs, RunArgs};
use crate::dag::{self, Event, RunOptions, Selection, Status};
use crate::spec::Pipeline;
use crate::stages::RecordingJob;

pub fn validate(a: PipelineArg) -> Result<ExitCode, String> {
    let p = Pipeline::load(&a.pipeline).map_err(|e| e.to_string())?;
    println!(
        "{}: ok — pipeline `{}`, {} stage{}",
        a.pipeline.display(),
        p.name,
        p.stages.len(),
        if p.stages.len() == 1 { "" } else { "s" }
    );
    Ok(ExitCode::SUCCESS)
}

pub fn plan(a: PlanArgs) -> Result<ExitCode, String> {
    let mut p = Pipeline::load(&a.pipeline).map_err(|e| e.to_string())?;
    if let Some(i) = a.input {
        p.input.root = i;
    }
    println!("pipeline `{}` ({})", p.name, a.pipeline.display());
    println!("seed {}; output {}", p.seed, p.output.display());
    println!("\nstages, in execution order:");
    for (i, s) in p.stages.iter().enumerate() {
        let after: Vec<&str> = s.inputs.iter().map(|&j| p.stages[j].id.as_str()).collect();
        println!(
            "  {:>2}. {:<16} {:<12} after [{}]  fingerprint {}",
            i + 1,
            s.id,
            s.kind,
            after.join(", "),
            s.stage.fingerprint().short()
        );
    }
    let jobs = dag::discover(&p.input, &Selection { subject: a.subject })
        .map_err(|e| format!("{}: {e}", a.pipeline.display()))?;
    print_work_list(&jobs);
    Ok(ExitCode::SUCCESS)
}

fn print_work_list(jobs: &[RecordingJob]) {
    let mut subjects: Vec<&str> = jobs.iter().map(|j| j.subject.as_str()).collect();
    subjects.dedup();
    println!(
        "\n{} recording{} from {} subject{}:",
        jobs.len(),
        if jobs.len() == 1 { "" } else { "s" },
        subjects.len(),
        if subjects.len() == 1 { "" } else { "s" }
    );
    for j in jobs {
        println!(
            "  sub-{:<10} {}  →  {}",
            j.subject,
            j.path.display(),
            j.base
        );
    }
}

pub fn run(a: RunArgs) -> Result<ExitCode, String> {
    let mut p = Pipeline::load(&a.pipeline).map_err(|e| e.to_string())?;
    if let Some(i) = a.input {
        p.input.root = i;
    }
    if let Some(o) = a.output {
        p.output = o;
    }
    execute(&p, a.subject, a.jobs, a.quiet)
}

/// Discover, run with a progress bar, write the summary, print the outcome.
pub fn execute(
    p: &Pipeline,
    subject: Option<String>,
    jobs: Option<usize>,
    quiet: bool,
) -> Result<ExitCode, String> {
    let selection = Selection {
        subject: subject.clone(),
    };
    let work = dag::discover(&p.input, &selection)
        .map_err(|e| format!("{}: {e}", p.source.path.display()))?;
    let threads =
        jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let bar = ProgressBar::new(work.len() as u64);
    if quiet {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} recordings {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let outcomes = dag::run(
        p,
        &work,
        &RunOptions { jobs: threads },
        &|event| match event {
            Event::Finished(o) => {
                if let Some(e) = &o.error {
                    bar.suspend(|| eprintln!("error: {e}"));
                }
                bar.inc(1);
            }
        },
    );
    bar.finish_and_clear();

    let summary_path = match &subject {
        // Array tasks run at once: each writes its own summary, never a shared file.
        Some(s) => {
            let s = s.strip_prefix("sub-").unwrap_or(s);
            p.output
                .join(format!("sub-{s}"))
                .join(format!("sub-{s}_summary.parquet"))
        }
        None => p.output.join("summary.parquet"),
    };
    dag::write_summary(&summary_path, p, &outcomes).map_err(|e| {
        format!(
            "{}: cannot write the run summary: {e}",
            summary_path.display()
        )
    })?;
    let failed = outcomes
        .iter()
        .filter(|o| o.status == Status::Failed)
        .count();
    let total: f64 = outcomes
        .iter()
        .flat_map(|o| o.timings.iter().map(|t| t.1))
        .sum();
    println!(
        "{} recording{}: {} ok, {failed} failed ({total:.2} s of stage time on {threads} thread{}); summary: {}",
        outcomes.len(),
        if outcomes.len() == 1 { "" } else { "s" },
        outcomes.len() - failed,
        if threads == 1 { "" } else { "s" },
        summary_path.display()
    );
    Ok(if failed > 0 {
        ExitCode::from(EXIT_FAILED_RECORDINGS)
    } else {
        ExitCode::SUCCESS
    })
}
