//! The run summary: one row per recording (status, error, stage timings), as Parquet.

use std::path::Path;

use polars::prelude::*;

use super::Outcome;
use crate::io::tables::{TableError, write_parquet};
use crate::spec::Pipeline;

/// Columns: subject, recording, status, failed_stage, error, total_s, then `<stage>_s` for
/// each stage in execution order (null where the stage did not run).
pub fn summary_table(pipeline: &Pipeline, outcomes: &[Outcome]) -> DataFrame {
    let n = outcomes.len();
    let mut cols = vec![
        Column::new(
            "subject".into(),
            outcomes
                .iter()
                .map(|o| o.job.subject.as_str())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "recording".into(),
            outcomes
                .iter()
                .map(|o| o.job.path.display().to_string())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "status".into(),
            outcomes
                .iter()
                .map(|o| o.status.as_str())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "failed_stage".into(),
            outcomes
                .iter()
                .map(|o| o.failed_stage.clone())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "error".into(),
            outcomes.iter().map(|o| o.error.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "total_s".into(),
            outcomes
                .iter()
                .map(|o| o.timings.iter().map(|t| t.1).sum::<f64>())
                .collect::<Vec<_>>(),
        ),
    ];
    for stage in &pipeline.stages {
        let times: Vec<Option<f64>> = outcomes
            .iter()
            .map(|o| o.timings.iter().find(|t| t.0 == stage.id).map(|t| t.1))
            .collect();
        cols.push(Column::new(format!("{}_s", stage.id).into(), times));
    }
    DataFrame::new(n, cols).expect("columns have equal lengths")
}

pub fn write_summary(
    path: &Path,
    pipeline: &Pipeline,
    outcomes: &[Outcome],
) -> Result<(), TableError> {
    write_parquet(path, &mut summary_table(pipeline, outcomes))
}
