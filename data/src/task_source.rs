//! A checked task's `source` (from the plan) -> where its rows are and how to
//! read them. Shared by `exc render --data`, `exc check --data` and `exc run`.
//!
//! A split becomes a list of [`SourceFile`]s read in order: one per file of
//! each `+`-joined config or hub split, once per part when the source
//! declares `parts` (each row then carries its part's name), and one per
//! group of line-aligned column files. Each file carries the task's joins
//! of that split ([`crate::source::join`]).

use std::path::PathBuf;
use std::sync::Arc;

use exc_compiler::ir::{FileFormat, Parts, Source, SplitFiles, Task};
use serde_json::{Map, Value};

use crate::error::{DataError, Result};
use crate::source::join::JoinedSplit;
use crate::source::locate::{fetch_help, glob, locate, DataRoots, SourceRef};
use crate::source::{line_count, Format, ReadOptions, SourceFile, SourceFiles};

/// The hub lookups of one split of a hub source for one part (several when
/// the config or the hub split joins names with `+`, e.g.
/// `train_r1+train_r2+train_r3`).
fn hub_refs(
    task: &str,
    dataset: &str,
    config: Option<&str>,
    revision: Option<&str>,
    hub_split: &str,
) -> Vec<SourceRef> {
    let configs: Vec<Option<String>> = match config {
        Some(c) => c.split('+').map(|c| Some(c.trim().to_string())).collect(),
        None => vec![None],
    };
    configs
        .iter()
        .flat_map(|c| {
            hub_split.split('+').map(move |s| SourceRef {
                task: task.to_string(),
                dataset: Some(dataset.to_string()),
                config: c.clone(),
                split: s.trim().to_string(),
                files: Vec::new(),
                revision: revision.map(str::to_string),
            })
        })
        .collect()
}

/// How the task's files are read (format, quoting, header-less columns).
/// Parquet files are read for the task's declared fields only.
pub fn read_options(task: &Task) -> ReadOptions {
    ReadOptions {
        select: Some(task.fields.keys().cloned().collect()),
        types: Some(
            task.fields
                .iter()
                .map(|(k, t)| (k.clone(), t.clone()))
                .collect(),
        ),
        ..source_read_options(task.source.as_ref())
    }
}

/// How the files of `source` are read: its declared format, quoting and
/// columns for `source files`; detected from each file otherwise.
pub fn source_read_options(source: Option<&Source>) -> ReadOptions {
    match source {
        Some(Source::Files {
            format,
            columns,
            header,
            quoting,
            rows,
            ..
        }) => ReadOptions {
            format: Some(match format {
                FileFormat::Jsonl => Format::Jsonl,
                FileFormat::Json => Format::Json,
                FileFormat::Tsv => Format::Tsv,
                FileFormat::Csv => Format::Csv,
                FileFormat::Parquet => Format::Parquet,
                FileFormat::Text => Format::Text,
            }),
            quoting: Some(*quoting),
            columns: columns.clone(),
            header: *header,
            rows: rows.clone(),
            ..ReadOptions::default()
        },
        _ => ReadOptions::default(),
    }
}

/// Each part as (name, what `{field}` stands for); one unnamed part when
/// the source has none.
fn parts_of(parts: Option<&Parts>) -> Vec<(Option<&str>, &str)> {
    match parts {
        Some(p) => p
            .values
            .iter()
            .map(|(n, v)| (Some(n.as_str()), v.as_str()))
            .collect(),
        None => vec![(None, "")],
    }
}

/// The files of one split, in reading order, or an error listing every
/// place looked. Column files are checked to have equal line counts here,
/// so `exc run` stops before training rather than at the end of an epoch.
/// The task's joins are located too (their tables are read when the first
/// row is), and every file carries them.
pub fn locate_split(task: &Task, split: &str, roots: &DataRoots) -> Result<Vec<SourceFile>> {
    let no_split = || DataError::Missing {
        task: task.name.clone(),
        looked: Vec::new(),
        help: format!(
            "task `{}` declares no `{split}` split; its splits are: {}",
            task.name,
            task.source
                .as_ref()
                .map(|s| s.split_names().join(", "))
                .unwrap_or_else(|| "none (it has no `source`)".into())
        ),
    };
    let source = task.source.as_ref().ok_or_else(no_split)?;
    let parts = source.parts();
    let mut out: Vec<SourceFile> = Vec::new();
    for (name, value) in parts_of(parts) {
        let mut fields = Map::new();
        if let (Some(p), Some(n)) = (parts, name) {
            fields.insert(p.field.clone(), Value::String(n.to_string()));
        }
        let fill = |text: &str| match parts {
            Some(p) => p.fill(text, value),
            None => text.to_string(),
        };
        let mut files = source_split(&task.name, source, split, roots, &fill)
            .map_err(|e| with_join_help(e, task, split, roots))?
            .ok_or_else(no_split)?;
        for f in &mut files {
            f.fields = fields.clone();
        }
        out.extend(files);
    }
    no_file_twice(task, &out)?;
    let joins = joins_of(task, split, roots)?;
    for f in &mut out {
        f.joins = joins.clone();
    }
    Ok(out)
}

/// The files of `split` of one source (one part of it, `fill` putting the
/// part's value in), or None when the source declares no such split.
/// `label` stands for the task in messages and the `DATA_DIR/TASK/SPLIT.*`
/// layout.
fn source_split(
    label: &str,
    source: &Source,
    split: &str,
    roots: &DataRoots,
    fill: &dyn Fn(&str) -> String,
) -> Result<Option<Vec<SourceFile>>> {
    let files = match source {
        Source::Hf {
            dataset,
            config,
            revision,
            splits,
            ..
        } => {
            let Some(hub_split) = splits.get(split) else {
                return Ok(None);
            };
            let config = config.as_deref().map(fill);
            let mut files = Vec::new();
            for r in hub_refs(
                label,
                dataset,
                config.as_deref(),
                revision.as_deref(),
                &fill(hub_split),
            ) {
                files.extend(locate(&r, roots)?.into_iter().map(SourceFile::from));
            }
            files
        }
        Source::Files { splits, .. } => match splits.get(split) {
            None => return Ok(None),
            Some(SplitFiles::Pattern(p)) => {
                let r = SourceRef {
                    task: label.to_string(),
                    dataset: None,
                    config: None,
                    split: split.to_string(),
                    files: vec![fill(p)],
                    revision: None,
                };
                locate(&r, roots)?
                    .into_iter()
                    .map(SourceFile::from)
                    .collect()
            }
            Some(SplitFiles::Columns(cols)) => {
                let cols: Vec<(String, String)> =
                    cols.iter().map(|(c, p)| (c.clone(), fill(p))).collect();
                column_files(label, &cols, roots)?
            }
        },
    };
    Ok(Some(files))
}

/// A joined source as a user named it: `` `org/name` config `c` `` or
/// `` files `pattern` ``.
fn join_name(source: &Source, split: &str) -> String {
    match source {
        Source::Hf {
            dataset, config, ..
        } => match config {
            Some(c) => format!("`{dataset}` config `{c}`"),
            None => format!("`{dataset}`"),
        },
        Source::Files { splits, .. } => match splits.get(split) {
            Some(SplitFiles::Pattern(p)) => format!("files `{p}`"),
            Some(SplitFiles::Columns(cols)) => format!(
                "files {}",
                cols.values()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(" + ")
            ),
            None => "files".into(),
        },
    }
}

/// Where a task's joined data sits in the `DATA_DIR/TASK/SPLIT.*` layout:
/// a folder of the task's named after the joined dataset
/// (`kilt_triviaqa/trivia_qa/train.jsonl`), never the task's own files.
fn join_label(task: &Task, i: usize, source: &Source) -> String {
    match source {
        Source::Hf { dataset, .. } => {
            format!(
                "{}/{}",
                task.name,
                dataset.rsplit('/').next().unwrap_or(dataset)
            )
        }
        Source::Files { .. } => format!("{}/join{}", task.name, i + 1),
    }
}

/// The task's joins for `split`, located.
fn joins_of(task: &Task, split: &str, roots: &DataRoots) -> Result<Vec<Arc<JoinedSplit>>> {
    let mut out = Vec::new();
    for (i, j) in task.joins.iter().enumerate() {
        let name = join_name(&j.source, split);
        let label = join_label(task, i, &j.source);
        let files = source_split(&label, &j.source, split, roots, &|t| t.to_string())
            .map_err(|e| match e {
                DataError::Missing { looked, help, .. } => DataError::Missing {
                    task: task.name.clone(),
                    looked,
                    help: format!(
                        "task `{}` joins {name} (split `{split}`, by `{}` = `{}`): {help}",
                        task.name, j.key, j.on
                    ),
                },
                other => other,
            })?
            .ok_or_else(|| {
                DataError::Config(format!(
                    "task `{}`: its join with {name} has no `{split}` split",
                    task.name
                ))
            })?;
        out.push(Arc::new(JoinedSplit::new(
            task.name.clone(),
            name,
            files,
            ReadOptions {
                // The joined key and the fields it copies.
                select: Some(
                    std::iter::once(j.on.clone())
                        .chain(j.set.iter().map(|(_, from)| from.clone()))
                        .collect(),
                ),
                // A copied field is read as the main row's declaration of
                // it; the key as text or number, as the main row's key is.
                types: Some(
                    j.set
                        .iter()
                        .filter_map(|(to, from)| Some((from.clone(), task.fields.get(to)?.clone())))
                        .chain(task.fields.get(&j.key).map(|t| (j.on.clone(), t.clone())))
                        .collect(),
                ),
                ..source_read_options(Some(&j.source))
            },
            j.key.clone(),
            j.on.clone(),
            j.set.iter().map(|(a, b)| (a.clone(), b.clone())).collect(),
            j.unmatched,
        )));
    }
    Ok(out)
}

/// A main source that cannot be found: its help also says how to get the
/// data the task joins, which a run needs as much.
fn with_join_help(e: DataError, task: &Task, split: &str, roots: &DataRoots) -> DataError {
    let DataError::Missing {
        task: t,
        looked,
        mut help,
    } = e
    else {
        return e;
    };
    for (i, j) in task.joins.iter().enumerate() {
        let name = join_name(&j.source, split);
        let how = match &j.source {
            Source::Hf {
                dataset,
                config,
                revision,
                splits,
                ..
            } => hub_refs(
                &join_label(task, i, &j.source),
                dataset,
                config.as_deref(),
                revision.as_deref(),
                splits.get(split).map_or(split, String::as_str),
            )
            .iter()
            .map(|r| fetch_help(r, roots))
            .collect::<Vec<_>>()
            .join("; "),
            Source::Files { .. } => {
                "put its files where the join's paths name them, under the data directory".into()
            }
        };
        help.push_str(&format!(
            "\n  the task also joins {name} (by `{}` = `{}`): {how}",
            j.key, j.on
        ));
    }
    DataError::Missing {
        task: t,
        looked,
        help,
    }
}

/// Two parts (or two joined configs) that found the same file would read
/// its rows twice, under two names: refuse rather than double them. This
/// happens when a `DATA_DIR/TASK/SPLIT.*` file stands in for every part.
fn no_file_twice(task: &Task, files: &[SourceFile]) -> Result<()> {
    let mut seen: Vec<&PathBuf> = Vec::new();
    for f in files {
        let paths = std::iter::once(&f.path).chain(f.columns.iter().skip(1).map(|(_, p)| p));
        for p in paths {
            if seen.contains(&p) {
                return Err(DataError::Config(format!(
                    "task `{}`: `{}` was found for two parts of one split and would be read twice; \
                     put each part's data where its own config, hub split or path names it",
                    task.name,
                    p.display()
                )));
            }
            seen.push(p);
        }
    }
    Ok(())
}

/// Where a pattern relative to the data directory points.
fn under_data_dir(pattern: &str, roots: &DataRoots) -> PathBuf {
    match &roots.data_dir {
        Some(dir) => dir.join(pattern),
        None => PathBuf::from(pattern),
    }
}

/// Line-aligned column files: each column's pattern, with the n-th match of
/// every pattern (in name order) read together; their line counts must agree.
fn column_files(
    task: &str,
    cols: &[(String, String)],
    roots: &DataRoots,
) -> Result<Vec<SourceFile>> {
    let mut matched: Vec<(String, Vec<PathBuf>)> = Vec::new();
    for (col, pattern) in cols {
        let at = under_data_dir(pattern, roots);
        let found = glob(&at);
        if found.is_empty() {
            return Err(DataError::Missing {
                task: task.to_string(),
                looked: vec![at],
                help: format!(
                    "column `{col}` is read from `{pattern}` under the data directory; put the file there and pass `--data-dir DATA_DIR`"
                ),
            });
        }
        matched.push((col.clone(), found));
    }
    let Some((first_col, first)) = matched.first() else {
        return Err(DataError::Config(format!(
            "task `{task}`: a split of column files names no columns"
        )));
    };
    for (col, found) in &matched {
        if found.len() != first.len() {
            let files = |n: usize| format!("{n} file{}", if n == 1 { "" } else { "s" });
            return Err(DataError::Config(format!(
                "task `{task}`: column `{first_col}` matches {} but column `{col}` matches {}; \
                 the n-th file of each column is read with the n-th of the others, so each pattern must match as many files",
                files(first.len()),
                files(found.len())
            )));
        }
    }
    let mut out = Vec::new();
    for i in 0..first.len() {
        let columns: Vec<(String, PathBuf)> = matched
            .iter()
            .filter_map(|(c, found)| found.get(i).map(|p| (c.clone(), p.clone())))
            .collect();
        check_aligned(&columns)?;
        out.push(SourceFile {
            path: columns.first().map(|(_, p)| p.clone()).unwrap_or_default(),
            columns,
            fields: Map::new(),
            joins: Vec::new(),
        });
    }
    Ok(out)
}

/// Every file of a group has as many lines as the first.
fn check_aligned(columns: &[(String, PathBuf)]) -> Result<()> {
    let mut first: Option<(&PathBuf, u64)> = None;
    for (_, path) in columns {
        let n = line_count(path)?;
        match first {
            None => first = Some((path, n)),
            Some((p0, n0)) if n0 != n => {
                let ((short, s), (long, l)) = if n0 < n {
                    ((p0, n0), (path, n))
                } else {
                    ((path, n), (p0, n0))
                };
                return Err(DataError::Unaligned {
                    short: short.clone(),
                    short_lines: s,
                    long: long.clone(),
                    long_lines: Some(l),
                    line: s + 1,
                });
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// A streaming reader over every file of one split.
pub fn open_split(task: &Task, split: &str, roots: &DataRoots) -> Result<SourceFiles> {
    SourceFiles::new(locate_split(task, split, roots)?, read_options(task))
}
