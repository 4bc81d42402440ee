//! Runs every recording through the stages. Recordings run in parallel on `jobs`
//! threads; each recording's stages run in order on one thread, so results do not
//! depend on `jobs`. One recording failing (an error or even a panic) never stops others.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::data::Artifact;
use crate::io::atomic::write_atomically;
use crate::spec::Pipeline;
use crate::stages::{Inputs, RecordingJob, RunContext};

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Recordings processed at once (each single-threaded inside).
    pub jobs: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
        }
    }
}

/// What happened to one recording.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub job: RecordingJob,
    pub status: Status,
    /// The stage that failed and why.
    pub failed_stage: Option<String>,
    pub error: Option<String>,
    /// Seconds per stage that ran, in execution order.
    pub timings: Vec<(String, f64)>,
    pub written: Vec<PathBuf>,
}

/// Progress notifications for the face layer (progress bar, logs).
pub enum Event<'a> {
    Finished(&'a Outcome),
}

/// Run `pipeline` over `jobs`; outcomes come back in the order of `jobs`.
///
/// `options.jobs` plain threads take recordings from a shared counter, one at a time. Not
/// a rayon pool on purpose: a rayon worker that waits on another pool (polars, faer) may
/// steal and start the next recording on the same thread, which would put several
/// recordings in memory at once and mix their timings.
pub fn run(
    pipeline: &Pipeline,
    jobs: &[RecordingJob],
    options: &RunOptions,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Vec<Outcome> {
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Outcome>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
    let worker = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(job) = jobs.get(i) else { break };
            let outcome = run_one(pipeline, job);
            on_event(Event::Finished(&outcome));
            if let Ok(mut slot) = slots[i].lock() {
                *slot = Some(outcome);
            }
        }
    };
    let threads = options.jobs.clamp(1, jobs.len().max(1));
    std::thread::scope(|scope| {
        let mut spawned = 0;
        for k in 0..threads {
            let built = std::thread::Builder::new()
                .name(format!("eegclean-{k}"))
                .stack_size(16 << 20)
                .spawn_scoped(scope, worker);
            if built.is_ok() {
                spawned += 1;
            }
        }
        // No thread could be started: do the work here, one recording at a time.
        if spawned == 0 {
            worker();
        }
    });
    slots
        .into_iter()
        .zip(jobs)
        .map(|(slot, job)| {
            slot.into_inner().ok().flatten().unwrap_or_else(|| Outcome {
                job: job.clone(),
                status: Status::Failed,
                failed_stage: None,
                error: Some(format!(
                    "{}: internal error: no outcome recorded",
                    job.path.display()
                )),
                timings: Vec::new(),
                written: Vec::new(),
            })
        })
        .collect()
}

fn run_one(pipeline: &Pipeline, job: &RecordingJob) -> Outcome {
    run_recording(pipeline, job).0
}

/// Run one recording and also return the artifacts of the final stages (those no other
/// stage consumes), for library users who want the data in memory.
pub fn run_recording(
    pipeline: &Pipeline,
    job: &RecordingJob,
) -> (Outcome, Vec<(String, Artifact)>) {
    run_recording_keeping(pipeline, job, &[])
}

/// [`run_recording`], also returning the artifacts of the stages named in `keep` (which
/// are then not freed after their last consumer), e.g. to compare a stage's input with
/// its output.
pub fn run_recording_keeping(
    pipeline: &Pipeline,
    job: &RecordingJob,
    keep: &[&str],
) -> (Outcome, Vec<(String, Artifact)>) {
    let n = pipeline.stages.len();
    let written = Mutex::new(Vec::new());
    let base_dir = pipeline
        .source
        .path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let mut artifacts: Vec<Option<Artifact>> = vec![None; n];
    // Drop each artifact as soon as its last consumer has run: peak memory is the live
    // frontier of the DAG, not the sum of all stages.
    let mut consumers_left = vec![0usize; n];
    for node in &pipeline.stages {
        for &j in &node.inputs {
            consumers_left[j] += 1;
        }
    }
    let kept = |node: &crate::spec::StageNode| keep.contains(&node.id.as_str());
    for (i, node) in pipeline.stages.iter().enumerate() {
        if kept(node) {
            consumers_left[i] += 1;
        }
    }
    let mut timings = Vec::with_capacity(n);
    let mut failure: Option<(String, String)> = None;

    for (i, node) in pipeline.stages.iter().enumerate() {
        let ctx = RunContext {
            job,
            stage_id: &node.id,
            channels: &pipeline.channels,
            seed: pipeline.seed,
            output_root: &pipeline.output,
            base_dir: &base_dir,
            written: &written,
        };
        let started = Instant::now();
        let result = {
            // Hand over (move) an artifact when this stage is its last consumer and uses
            // it once, so a stage that changes a recording works in place; otherwise
            // share it (an `Arc` clone, no data copied).
            let mut inputs = Inputs::new(
                node.inputs
                    .iter()
                    .map(|&j| {
                        let once = node.inputs.iter().filter(|&&k| k == j).count() == 1;
                        if once && consumers_left[j] == 1 {
                            artifacts[j].take()
                        } else {
                            artifacts[j].clone()
                        }
                        .expect("inputs run before consumers")
                    })
                    .collect(),
            );
            let result = catch_unwind(AssertUnwindSafe(|| node.stage.run(&mut inputs, &ctx)));
            clear_vector_upper_state();
            result
        };
        timings.push((node.id.clone(), started.elapsed().as_secs_f64()));
        match result {
            Ok(Ok(artifact)) => artifacts[i] = Some(artifact),
            Ok(Err(e)) => {
                failure = Some((
                    node.id.clone(),
                    format!("stage `{}` ({}): {e}", node.id, node.kind),
                ));
                break;
            }
            Err(panic) => {
                let what = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failure = Some((
                    node.id.clone(),
                    format!(
                        "stage `{}` ({}): internal error (a bug in eegclean, please report it with this file): {what}",
                        node.id, node.kind
                    ),
                ));
                break;
            }
        }
        for &j in &node.inputs {
            consumers_left[j] -= 1;
            if consumers_left[j] == 0 {
                artifacts[j] = None;
            }
        }
    }

    let leaves: Vec<(String, Artifact)> = if failure.is_none() {
        pipeline
            .stages
            .iter()
            .zip(artifacts)
            .filter(|(node, _)| {
                kept(node)
                    || !pipeline
                        .stages
                        .iter()
                        .any(|c| c.inputs.iter().any(|&j| pipeline.stages[j].id == node.id))
            })
            .filter_map(|(node, a)| a.map(|a| (node.id.clone(), a)))
            .collect()
    } else {
        Vec::new()
    };
    let mut written = written.into_inner().unwrap_or_default();
    let status = if failure.is_some() {
        // Nothing that looks like a result may stay behind for a failed recording.
        for p in &written {
            let _ = std::fs::remove_file(p);
        }
        written.clear();
        Status::Failed
    } else {
        Status::Ok
    };
    let mut outcome = Outcome {
        job: job.clone(),
        status,
        failed_stage: failure.as_ref().map(|f| f.0.clone()),
        error: failure.map(|f| format!("{}: {}", job.path.display(), f.1)),
        timings,
        written,
    };
    if outcome.status == Status::Ok && !outcome.written.is_empty() {
        match write_provenance(pipeline, &outcome) {
            Ok(p) => outcome.written.push(p),
            Err(e) => tracing::warn!("{}: provenance not written: {e}", job.path.display()),
        }
    }
    (outcome, leaves)
}

/// `<base>_provenance.json`: what made these outputs (versions, config and input hashes,
/// seed, stage fingerprints, timings), so any result can be traced and reproduced.
fn write_provenance(pipeline: &Pipeline, outcome: &Outcome) -> std::io::Result<PathBuf> {
    let job = &outcome.job;
    let dir = outcome
        .written
        .first()
        .and_then(|p| p.parent())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| pipeline.output.clone());
    let path = dir.join(format!("{}_provenance.json", job.base));
    let input_hash = hash_file(&job.path)?;
    let doc = serde_json::json!({
        "eegclean_version": env!("CARGO_PKG_VERSION"),
        "pipeline": {
            "name": pipeline.name,
            "file": pipeline.source.path,
            "blake3": blake3::hash(pipeline.source.text.as_bytes()).to_hex().to_string(),
            "seed": pipeline.seed,
        },
        "input": { "path": job.path, "blake3": input_hash },
        "stages": pipeline.stages.iter().map(|s| serde_json::json!({
            "id": s.id, "kind": s.kind, "fingerprint": s.stage.fingerprint().to_string(),
        })).collect::<Vec<_>>(),
        "outputs": outcome.written.iter().map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned())).collect::<Vec<_>>(),
        "timings_s": outcome.timings.iter().map(|(id, t)| serde_json::json!({"stage": id, "seconds": t})).collect::<Vec<_>>(),
    });
    write_atomically(&path, |w| {
        serde_json::to_writer_pretty(&mut *w, &doc).map_err(std::io::Error::other)
    })?;
    Ok(path)
}

fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut h = blake3::Hasher::new();
    h.update_reader(std::fs::File::open(path)?)?;
    Ok(h.finalize().to_hex().to_string())
}

/// Clear the upper halves of the vector registers after a stage. Stages that run AVX-512
/// kernels (ICA, ICLabel, faer's products) can leave them dirty, and baseline (SSE2) code
/// that runs next on the same thread then pays for it: on the AMD EPYC this project is
/// benchmarked on, encoding the large recording's EDF after the ICA took 3.4 s instead of
/// 1.8 s. One `vzeroupper` per stage costs nothing.
fn clear_vector_upper_state() {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx")]
        fn zero_upper() {
            std::arch::x86_64::_mm256_zeroupper();
        }
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU has AVX (checked just above).
            unsafe { zero_upper() }
        }
    }
}
