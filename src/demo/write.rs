//! Writing a demo dataset: the EDF writer is passed in, the ground truth is written here.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::DemoSubject;
use crate::data::Recording;
use crate::io::{atomic::write_atomically, npy};

/// Write each subject as `<root>/sub-<id>/sub-<id>_task-motor_run-01_eeg.edf` through
/// `write_edf(recording, path)` (so this module does not depend on the EDF writer), plus
/// its ground truth beside it: `..._desc-clean_eeg.npy` (brain-only signal, volts,
/// channels × samples) and `..._artifacts.tsv` (kind, onset s, duration s). Returns the
/// EDF paths written.
pub fn write_subjects<E>(
    subjects: &[DemoSubject],
    root: &Path,
    mut write_edf: impl FnMut(&Recording, &Path) -> Result<(), E>,
) -> Result<Vec<PathBuf>, E>
where
    E: From<std::io::Error>,
{
    let mut written = Vec::with_capacity(subjects.len());
    for subject in subjects {
        let dir = root.join(format!("sub-{}", subject.id));
        fs::create_dir_all(&dir)?;
        let stem = format!("sub-{}_task-motor_run-01", subject.id);
        let edf = dir.join(format!("{stem}_eeg.edf"));
        write_edf(&subject.recording, &edf)?;

        let clean = subject.truth.clean.clone().into_dyn();
        write_atomically(&dir.join(format!("{stem}_desc-clean_eeg.npy")), |w| {
            npy::write_f64(w, &clean)
        })?;

        let mut table = String::from("kind\tonset\tduration\n");
        for a in &subject.truth.artifacts {
            table.push_str(&format!(
                "{}\t{}\t{}\n",
                a.kind.as_str(),
                a.onset,
                a.duration
            ));
        }
        write_atomically(&dir.join(format!("{stem}_artifacts.tsv")), |w| {
            w.write_all(table.as_bytes())
        })?;
        written.push(edf);
    }
    Ok(written)
}
