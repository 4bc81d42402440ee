//! Tables for users (Parquet through polars): channels, annotations, run summary.
//! Typed structs inside the pipeline; polars only at this boundary.

use std::path::Path;

use polars::prelude::*;

use crate::data::Recording;
use crate::io::atomic::write_atomically;

/// One row per channel: name, original label, type, unit, bad and why, position, filters.
pub fn channels_table(rec: &Recording) -> DataFrame {
    let ch = &rec.channels;
    let pos =
        |k: usize| -> Vec<Option<f64>> { ch.iter().map(|c| c.position.map(|p| p[k])).collect() };
    DataFrame::new(
        ch.len(),
        vec![
            Column::new(
                "name".into(),
                ch.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "original_label".into(),
                ch.iter()
                    .map(|c| c.original_label.as_str())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "type".into(),
                ch.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "unit".into(),
                ch.iter().map(|c| c.unit.to_string()).collect::<Vec<_>>(),
            ),
            Column::new("sfreq".into(), vec![rec.sfreq; ch.len()]),
            Column::new(
                "bad".into(),
                ch.iter().map(|c| c.is_bad()).collect::<Vec<_>>(),
            ),
            Column::new(
                "bad_reason".into(),
                ch.iter().map(|c| c.bad.clone()).collect::<Vec<_>>(),
            ),
            Column::new("x".into(), pos(0)),
            Column::new("y".into(), pos(1)),
            Column::new("z".into(), pos(2)),
            Column::new(
                "prefilter".into(),
                ch.iter().map(|c| c.prefilter.as_str()).collect::<Vec<_>>(),
            ),
        ],
    )
    .expect("columns have equal lengths")
}

/// One row per annotation: onset and duration in seconds, description.
pub fn annotations_table(rec: &Recording) -> DataFrame {
    let a = &rec.annotations;
    DataFrame::new(
        a.len(),
        vec![
            Column::new(
                "onset".into(),
                a.iter().map(|x| x.onset).collect::<Vec<_>>(),
            ),
            Column::new(
                "duration".into(),
                a.iter().map(|x| x.duration).collect::<Vec<_>>(),
            ),
            Column::new(
                "description".into(),
                a.iter().map(|x| x.description.as_str()).collect::<Vec<_>>(),
            ),
        ],
    )
    .expect("columns have equal lengths")
}

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("parquet: {0}")]
    Polars(#[from] PolarsError),
}

/// Write a table as Parquet, atomically.
pub fn write_parquet(path: &Path, df: &mut DataFrame) -> Result<(), TableError> {
    write_atomically(path, |w| {
        // Sequential: parallelism is across recordings; polars' own pool would only
        // oversubscribe the cores the scheduler already uses.
        ParquetWriter::new(w).set_parallel(false).finish(df)?;
        Ok(())
    })
}
