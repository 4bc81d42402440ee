//! Which recordings a pipeline processes, and the names their outputs get.

use std::path::{Component, Path, PathBuf};

use globset::GlobBuilder;

use crate::spec::InputSpec;
use crate::stages::RecordingJob;

#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("input.root {}: {reason}", root.display())]
    Root { root: PathBuf, reason: String },
    #[error("input.pattern `{pattern}`: {reason}")]
    Pattern { pattern: String, reason: String },
    #[error("no recordings match `{pattern}` under {}{hint}", root.display())]
    Empty {
        root: PathBuf,
        pattern: String,
        hint: String,
    },
}

/// Restricts a run to part of the work list (what a SLURM array task uses).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Subject label, with or without `sub-`.
    pub subject: Option<String>,
}

/// Recordings under `input.root` matching `input.pattern`, sorted by path (so the work
/// list, and every output derived from it, does not depend on directory order).
pub fn discover(
    input: &InputSpec,
    selection: &Selection,
) -> Result<Vec<RecordingJob>, DiscoverError> {
    let root = &input.root;
    let meta = std::fs::metadata(root).map_err(|e| DiscoverError::Root {
        root: root.clone(),
        reason: format!("{e}; set `input.root` to the folder holding the recordings (relative paths start at the pipeline file's folder)"),
    })?;
    if !meta.is_dir() {
        return Err(DiscoverError::Root {
            root: root.clone(),
            reason: "is not a folder".into(),
        });
    }
    let glob = GlobBuilder::new(&input.pattern)
        .case_insensitive(true)
        .literal_separator(true)
        .build()
        .map_err(|e| DiscoverError::Pattern {
            pattern: input.pattern.clone(),
            reason: e.to_string(),
        })?
        .compile_matcher();
    let mut jobs = Vec::new();
    for entry in walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| DiscoverError::Root {
            root: root.clone(),
            reason: format!(
                "cannot read {}: {e}",
                e.path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            ),
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
        if glob.is_match(rel) {
            jobs.push(job_for(entry.path(), rel));
        }
    }
    if let Some(s) = &selection.subject {
        let want = s.strip_prefix("sub-").unwrap_or(s);
        jobs.retain(|j| j.subject == want);
        if jobs.is_empty() {
            return Err(DiscoverError::Empty {
                root: root.clone(),
                pattern: input.pattern.clone(),
                hint: format!(" for subject `{want}`; `eegclean plan` lists the subjects"),
            });
        }
    }
    if jobs.is_empty() {
        return Err(DiscoverError::Empty {
            root: root.clone(),
            pattern: input.pattern.clone(),
            hint: "; check `input.root` and `input.pattern`".into(),
        });
    }
    jobs.sort();
    Ok(jobs)
}

fn job_for(path: &Path, rel: &Path) -> RecordingJob {
    let dirs: Vec<String> = rel
        .parent()
        .into_iter()
        .flat_map(Path::components)
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bids_subject = dirs
        .iter()
        .find_map(|d| d.strip_prefix("sub-").map(str::to_string))
        .or_else(|| {
            stem.strip_prefix("sub-")
                .map(|s| s.split('_').next().unwrap_or(s).to_string())
        });
    let subject = bids_subject
        .clone()
        .or_else(|| dirs.first().cloned())
        .unwrap_or_else(|| stem.clone());
    let subject = sanitise(&subject);
    // BIDS names keep their entities and lose the modality suffix (`_eeg`, `_ieeg`);
    // other names get the subject entity in front so outputs still sort by subject.
    let base = if stem.starts_with("sub-") {
        match stem.rsplit_once('_') {
            Some((b, "eeg" | "ieeg" | "meg")) => b.to_string(),
            _ => stem.clone(),
        }
    } else {
        format!("sub-{subject}_rec-{}", sanitise(&stem))
    };
    RecordingJob {
        path: path.to_path_buf(),
        subject,
        base,
    }
}

/// BIDS labels are alphanumeric.
fn sanitise(s: &str) -> String {
    let t: String = s.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    if t.is_empty() { "unknown".into() } else { t }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_bids_or_the_folder() {
        let j = job_for(
            Path::new("/d/sub-007/eeg/sub-007_task-mi_run-04_eeg.edf"),
            Path::new("sub-007/eeg/sub-007_task-mi_run-04_eeg.edf"),
        );
        assert_eq!(
            (j.subject.as_str(), j.base.as_str()),
            ("007", "sub-007_task-mi_run-04")
        );
        let j = job_for(
            Path::new("/d/S001/S001R04.edf"),
            Path::new("S001/S001R04.edf"),
        );
        assert_eq!(
            (j.subject.as_str(), j.base.as_str()),
            ("S001", "sub-S001_rec-S001R04")
        );
        let j = job_for(Path::new("/d/short_psg.edf"), Path::new("short_psg.edf"));
        assert_eq!(
            (j.subject.as_str(), j.base.as_str()),
            ("shortpsg", "sub-shortpsg_rec-shortpsg")
        );
    }
}
