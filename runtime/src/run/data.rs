//! Plan -> data: a stage's tasks, rates and C4 share become an exc-data
//! [`PipelineSpec`] whose supervised tasks render rows through the
//! compiler's `render_row`; evaluation examples are read and rendered here
//! too. Every source is located before training starts, so a missing file is
//! reported before the first step rather than in the middle of a run.

use std::sync::Arc;

use exc_compiler::ir::Task;
use exc_compiler::plan::{Plan, StagePlan};
use exc_data::objective::span::SpanCorruption;
use exc_data::objective::supervised::{Lengths, TruncationCounts};
use exc_data::pack::Batching;
use exc_data::pipeline::{Objective, PipelineSpec, Renderer, RowCounts, TaskSpec};
use exc_data::source::locate::{locate, DataRoots, SourceRef};
use exc_data::source::SourceFile;
use exc_data::task_source;

use super::runfiles::{RowsRecord, TaskRows};
use crate::error::{Error, Result};

/// The name C4 goes by in the pipeline and under `--data-dir`.
pub const C4: &str = "c4";

/// Rows shuffled together per task: enough to mix small tasks well, small
/// enough that reopening a window on resume is cheap.
const SHUFFLE_WINDOW: usize = 1024;

pub fn data_err(e: exc_data::DataError) -> Error {
    Error::Input(e.to_string())
}

/// A data error of a stage's training stream: a task that dropped every row
/// is named with its filters and joins, from the plan.
pub fn stream_err(plan: &Plan, e: exc_data::DataError) -> Error {
    match &e {
        exc_data::DataError::AllDropped {
            task,
            split,
            counts,
        } => match plan.tasks.get(task) {
            Some(t) => all_dropped(t, split, counts),
            None => data_err(e),
        },
        _ => data_err(e),
    }
}

/// `task` read rows of `split` but every one was dropped: which filters and
/// joins dropped how many, and how to look at the rows.
pub fn all_dropped(task: &Task, split: &str, counts: &RowCounts) -> Error {
    let filters: Vec<String> = task
        .filters
        .iter()
        .filter(|f| f.only_split.as_deref().is_none_or(|s| s == split))
        .map(|f| {
            let cmp = f.cmp.as_ref().map_or_else(String::new, |(op, v)| {
                format!(
                    " {} {v}",
                    serde_json::to_value(op).map_or_else(
                        |_| format!("{op:?}"),
                        |o| o.as_str().map_or_else(|| o.to_string(), str::to_string)
                    )
                )
            });
            format!("`filter {}{cmp}`", f.expr.text)
        })
        .collect();
    let filter = if filters.is_empty() {
        "no example (an `each` over an empty list)".to_string()
    } else {
        format!("no example (its {})", filters.join(", "))
    };
    Error::Input(format!(
        "task `{}` drops every row of its `{split}` split: of {} read, {} gave {filter} \
         and {} had no joined row (`unmatched drop`); there is nothing to {}\n  \
         help: `exc render --data DATA_DIR --split {split}` shows the rows; check the filter \
         against the data (a field name, a label value) and the join's keys",
        task.name,
        count(counts.read(), "row"),
        counts.filtered,
        counts.unmatched,
        if split == "train" {
            "train on"
        } else {
            "evaluate"
        },
    ))
}

/// What became of a task's rows, as `DONE`, `scores.json` and the report
/// show it: rows read, dropped by the filter, dropped by a join
/// (`unmatched drop`), examples made and (training) what truncation cut.
pub fn rows_record(
    rows: &RowCounts,
    examples: u64,
    trunc: Option<&TruncationCounts>,
) -> RowsRecord {
    RowsRecord {
        rows_read: rows.read(),
        dropped_by_filter: rows.filtered,
        dropped_unmatched: rows.unmatched,
        examples,
        inputs_truncated: trunc.map(|t| t.inputs_truncated),
        targets_truncated: trunc.map(|t| t.targets_truncated),
        input_tokens_dropped: trunc.map(|t| t.input_tokens_dropped),
        target_tokens_dropped: trunc.map(|t| t.target_tokens_dropped),
    }
}

/// The counts of every task of a training stream, as of `cursor` (the one
/// saved with the last batch): what `DONE` records under `data`.
pub fn stream_counts(cursor: &exc_data::pipeline::PipelineCursor) -> TaskRows {
    cursor
        .counts()
        .map(|(name, rows, trunc)| (name, rows_record(&rows, trunc.examples, Some(&trunc))))
        .collect()
}

/// `1 row`, `2 rows`.
fn count(n: u64, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// One line per task of what was dropped, for a note when a stage ends;
/// None when nothing was.
pub fn dropped_note(counts: &TaskRows) -> Option<String> {
    let parts: Vec<String> = counts
        .iter()
        .filter(|(_, c)| c.dropped_by_filter + c.dropped_unmatched > 0)
        .map(|(t, c)| {
            format!(
                "`{t}` {} read, {} dropped by its filter, {} without a joined row -> {}",
                count(c.rows_read, "row"),
                c.dropped_by_filter,
                c.dropped_unmatched,
                count(c.examples, "example")
            )
        })
        .collect();
    (!parts.is_empty()).then(|| format!("rows dropped: {}", parts.join("; ")))
}

/// The plan's task of this name.
pub fn plan_task<'a>(plan: &'a Plan, name: &str) -> Result<&'a Task> {
    plan.tasks
        .get(name)
        .map(|t| &**t)
        .ok_or_else(|| Error::Input(format!("the plan has no task `{name}`")))
}

/// The train split's files of `task`, or an error naming every place looked.
fn train_files(task: &Task, roots: &DataRoots) -> Result<Vec<SourceFile>> {
    task_source::locate_split(task, "train", roots).map_err(data_err)
}

/// The pipeline of a training stage: rows packed with several examples
/// (seqio-style, the plan's default for pre-training) or padded, one per row.
pub fn pipeline_spec(plan: &Plan, stage: &StagePlan, roots: &DataRoots) -> Result<PipelineSpec> {
    let train = stage
        .train
        .as_ref()
        .ok_or_else(|| Error::Input(format!("stage `{}` has no training settings", stage.name)))?;
    let mut tasks = Vec::new();
    let mut rates = Vec::new();
    for tr in stage.tasks.iter().filter(|t| t.rate > 0.0) {
        let t = plan_task(plan, &tr.task)?;
        let files = train_files(t, roots)?;
        let owned = t.clone();
        // `choice` draws from the stage's seed and the row: a resumed run
        // renders every row as the uninterrupted one did.
        let seed = train.seed;
        let render: Renderer = Arc::new(move |row| {
            exc_compiler::render::render_row_seeded(&owned, row, "train", seed)
                .map(|exs| exs.into_iter().map(|e| (e.input, e.target)).collect())
                .map_err(|e| e.message)
        });
        tasks.push(TaskSpec {
            name: t.name.clone(),
            files,
            read: task_source::read_options(t),
            objective: Objective::Supervised(render),
            shuffle_window: SHUFFLE_WINDOW,
        });
        rates.push(tr.rate);
    }
    if let Some(c4) = stage.c4.as_ref().filter(|c| c.rate > 0.0) {
        let src = c4_ref(&c4.source, "train")?;
        let files = locate(&src, roots).map_err(data_err)?;
        tasks.push(TaskSpec {
            name: C4.into(),
            files: files.into_iter().map(Into::into).collect(),
            read: task_source::source_read_options(Some(&c4.source)),
            objective: Objective::SpanCorruption {
                spec: SpanCorruption {
                    noise_density: c4.noise_density,
                    mean_noise_span_length: c4.mean_noise_span_length,
                    ..SpanCorruption::t5()
                },
                text_field: "text".into(),
            },
            shuffle_window: SHUFFLE_WINDOW,
        });
        rates.push(c4.rate);
    }
    if tasks.is_empty() {
        return Err(Error::Input(format!(
            "stage `{}` trains on nothing: every rate is zero",
            stage.name
        )));
    }
    let micro = (train.batch / train.accumulate.max(1)).max(1);
    Ok(PipelineSpec {
        tasks,
        rates,
        seed: train.seed,
        batch_size: micro as usize,
        lengths: Lengths {
            inputs: train.inputs as usize,
            targets: train.targets as usize,
        },
        batching: if train.pack {
            Batching::Pack
        } else {
            // Buckets of 16 keep short batches cheap on CPU.
            Batching::Pad { bucket: Some(16) }
        },
    })
}

/// Where C4's `split` is: the hub layout of an `hf` source, or the path
/// pattern a `source files` declares (relative to the data directory).
pub(crate) fn c4_ref(source: &exc_compiler::ir::Source, split: &str) -> Result<SourceRef> {
    use exc_compiler::ir::{Source, SplitFiles};
    let (dataset, config, revision, files) = match source {
        Source::Hf {
            dataset,
            config,
            revision,
            ..
        } => (
            Some(dataset.clone()),
            config.clone(),
            revision.clone(),
            Vec::new(),
        ),
        Source::Files { splits, .. } => match splits.get(split) {
            Some(SplitFiles::Pattern(p)) => (None, None, None, vec![p.clone()]),
            Some(SplitFiles::Columns(_)) => {
                return Err(Error::Input(format!(
                    "the `c4` source declares column files for `{split}`; span corruption \
                     reads one `text` per row: give one path pattern"
                )))
            }
            None => {
                return Err(Error::Input(format!(
                    "the `c4` source declares no `{split}` split: add `{split} = \"…\"` to it"
                )))
            }
        },
    };
    Ok(SourceRef {
        task: C4.into(),
        dataset,
        config,
        split: split.into(),
        files,
        revision,
    })
}

/// One rendered evaluation example.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EvalExample {
    pub input: String,
    pub target: String,
    pub references: Vec<String>,
    /// The record a record-target metric scores against (`references { … }`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_record: Option<serde_json::Value>,
}

/// Renders up to `limit` examples of `split` of `task`.
pub fn eval_examples(
    task: &Task,
    split: &str,
    roots: &DataRoots,
    limit: Option<usize>,
) -> Result<Vec<EvalExample>> {
    eval_split(task, split, roots, limit).map(|(exs, _)| exs)
}

/// Renders up to `limit` examples of `split` of `task`, with what became
/// of the rows read on the way (filtered, dropped by a join).
pub fn eval_split(
    task: &Task,
    split: &str,
    roots: &DataRoots,
    limit: Option<usize>,
) -> Result<(Vec<EvalExample>, RowCounts)> {
    let mut rows = task_source::open_split(task, split, roots).map_err(data_err)?;
    let mut out = Vec::new();
    let mut counts = RowCounts::default();
    while let Some(row) = rows.next() {
        let row = row.map_err(data_err)?;
        counts.rows += 1;
        let exs = exc_compiler::render::render_row(task, &row, split).map_err(|e| {
            let place = rows.last_place().map_or_else(String::new, |(f, n)| {
                format!(" at `{}`, row {n}", f.describe())
            });
            Error::Input(format!(
                "task `{}` ({split}): cannot render the row{place}: {e}",
                task.name
            ))
        })?;
        if exs.is_empty() {
            counts.filtered += 1;
        }
        for e in exs {
            out.push(EvalExample {
                input: e.input,
                target: e.target,
                references: e.references,
                reference_record: e.reference_record,
            });
        }
        if limit.is_some_and(|l| out.len() >= l) {
            out.truncate(limit.unwrap_or(usize::MAX));
            break;
        }
    }
    counts.unmatched = rows.dropped();
    Ok((out, counts))
}

/// The (task, split) pairs `stage` reads: the training split of each task
/// it trains on, and its evaluation (or selection) splits of every task.
pub fn task_splits(stage: &StagePlan) -> Vec<(String, String)> {
    let mut want: Vec<(String, String)> = Vec::new();
    if stage.train.is_some() {
        for tr in stage.tasks.iter().filter(|t| t.rate > 0.0) {
            want.push((tr.task.clone(), "train".into()));
        }
    }
    for split in &stage.splits {
        for tr in &stage.tasks {
            want.push((tr.task.clone(), split.clone()));
        }
    }
    want
}

/// Checks that every split every stage reads can be found; returns one
/// message per task that misses data (its splits, the stages reading
/// them, the first error), and last, when hub data is missing, the
/// `exc fetch` command that gets all of it (empty when all is there).
pub fn check_sources(plan: &Plan, stages: &[StagePlan], roots: &DataRoots) -> Vec<String> {
    // (task, missing splits, stages, first error), in the order first met.
    let mut per_task: Vec<(String, Vec<String>, Vec<String>, String)> = Vec::new();
    let mut record = |task: &str, split: &str, stage: &str, e: Error| match per_task
        .iter_mut()
        .find(|t| t.0 == task)
    {
        Some(t) => {
            for (list, v) in [(&mut t.1, split), (&mut t.2, stage)] {
                if !list.iter().any(|x| x == v) {
                    list.push(v.to_string());
                }
            }
        }
        None => per_task.push((
            task.to_string(),
            vec![split.to_string()],
            vec![stage.to_string()],
            e.to_string(),
        )),
    };
    let mut hub = false;
    for stage in stages {
        if stage.train.is_some() {
            if let Some(c4) = stage.c4.as_ref().filter(|c| c.rate > 0.0) {
                let found =
                    c4_ref(&c4.source, "train").and_then(|r| locate(&r, roots).map_err(data_err));
                if let Err(e) = found {
                    hub |= matches!(c4.source, exc_compiler::ir::Source::Hf { .. });
                    record(C4, "train", &stage.name, e);
                }
            }
        }
        for (name, split) in task_splits(stage) {
            let task = plan_task(plan, &name);
            let res =
                task.and_then(|t| task_source::locate_split(t, &split, roots).map_err(data_err));
            if let Err(e) = res {
                hub |= plan.tasks.get(&name).is_some_and(|t| {
                    matches!(t.source, Some(exc_compiler::ir::Source::Hf { .. }))
                        || t.joins
                            .iter()
                            .any(|j| matches!(j.source, exc_compiler::ir::Source::Hf { .. }))
                });
                record(&name, &split, &stage.name, e);
            }
        }
    }
    let mut missing: Vec<String> = per_task
        .into_iter()
        .map(|(task, splits, stages, e)| {
            format!(
                "task `{task}` [{}] (stage {}): {e}",
                splits.join(", "),
                stages
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    if hub {
        missing.push(format!(
            "get the hub data with `exc fetch {} --name {}` (into the hub cache, where exc finds it with no flag; `--dry-run` first shows the sizes)",
            plan.file, plan.mixture
        ));
    }
    missing
}

/// The most frequent target of up to 2000 training examples: the trivial
/// baseline the report sets the model's scores against.
pub fn majority_target(task: &Task, roots: &DataRoots) -> Option<String> {
    let exs = eval_examples(task, "train", roots, Some(2000)).ok()?;
    let mut counts: indexmap::IndexMap<&str, usize> = indexmap::IndexMap::new();
    for e in &exs {
        *counts.entry(e.target.as_str()).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(t, _)| t.to_string())
}
