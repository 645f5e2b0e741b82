//! A checked task's `source` (from the plan) -> where its rows are and how to
//! read them. Shared by `exc render --data`, `exc check --data` and `exc run`.

use std::path::PathBuf;

use exc_compiler::ir::{FileFormat, Source, Task};

use crate::error::{DataError, Result};
use crate::source::locate::{locate, DataRoots, SourceRef};
use crate::source::{Format, ReadOptions, SourceFiles};

/// The lookups for one split of a task (several when the config or the hub
/// split joins names with `+`, e.g. `train_r1+train_r2+train_r3`). `None`
/// when the task declares no such split.
pub fn source_refs(task: &Task, split: &str) -> Option<Vec<SourceRef>> {
    match task.source.as_ref()? {
        Source::Hf {
            dataset,
            config,
            splits,
            ..
        } => {
            let hub_split = splits.get(split)?;
            let configs: Vec<Option<String>> = match config {
                Some(c) => c.split('+').map(|c| Some(c.trim().to_string())).collect(),
                None => vec![None],
            };
            Some(
                configs
                    .iter()
                    .flat_map(|c| {
                        hub_split.split('+').map(move |s| SourceRef {
                            task: task.name.clone(),
                            dataset: Some(dataset.clone()),
                            config: c.clone(),
                            split: s.trim().to_string(),
                            files: Vec::new(),
                        })
                    })
                    .collect(),
            )
        }
        Source::Files { .. } => source_ref(task, split).map(|r| vec![r]),
    }
}

/// The lookup for one split of a task. `None` when the task declares no such split.
pub fn source_ref(task: &Task, split: &str) -> Option<SourceRef> {
    match task.source.as_ref()? {
        Source::Hf {
            dataset,
            config,
            splits,
            ..
        } => Some(SourceRef {
            task: task.name.clone(),
            dataset: Some(dataset.clone()),
            config: config.clone(),
            split: splits.get(split)?.clone(),
            files: Vec::new(),
        }),
        Source::Files { splits, .. } => Some(SourceRef {
            task: task.name.clone(),
            dataset: None,
            config: None,
            split: split.to_string(),
            files: vec![splits.get(split)?.clone()],
        }),
    }
}

/// How the task's files are read (format, quoting, header-less columns).
pub fn read_options(task: &Task) -> ReadOptions {
    match &task.source {
        Some(Source::Files {
            format,
            columns,
            quoting,
            ..
        }) => ReadOptions {
            format: Some(match format {
                FileFormat::Jsonl => Format::Jsonl,
                FileFormat::Tsv => Format::Tsv,
                FileFormat::Csv => Format::Csv,
                FileFormat::Parquet => Format::Parquet,
                FileFormat::Text => Format::Text,
            }),
            quoting: Some(*quoting),
            columns: columns.clone(),
            ..ReadOptions::default()
        },
        _ => ReadOptions::default(),
    }
}

/// The files of one split, or an error listing every place looked.
pub fn locate_split(task: &Task, split: &str, roots: &DataRoots) -> Result<Vec<PathBuf>> {
    let refs = source_refs(task, split).ok_or_else(|| DataError::Missing {
        task: task.name.clone(),
        looked: Vec::new(),
        help: format!(
            "task `{}` declares no `{split}` split; its splits are: {}",
            task.name,
            task.source
                .as_ref()
                .map(|s| s.splits().keys().cloned().collect::<Vec<_>>().join(", "))
                .unwrap_or_else(|| "none (it has no `source`)".into())
        ),
    })?;
    let mut files = Vec::new();
    for src in &refs {
        files.extend(locate(src, roots)?);
    }
    Ok(files)
}

/// A streaming reader over every file of one split.
pub fn open_split(task: &Task, split: &str, roots: &DataRoots) -> Result<SourceFiles> {
    SourceFiles::new(locate_split(task, split, roots)?, read_options(task))
}
