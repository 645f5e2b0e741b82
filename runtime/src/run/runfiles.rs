//! The records a run directory holds, as types: what the training loop and
//! evaluation write, `--resume` and `exc report` read back. One definition
//! per file kind; the field order is the order of the keys on disk, and a
//! field older runs lack is optional or defaults, so their files still read.
//!
//! `config.json` ([`Resolved`]), `<stage>/DONE` ([`StageDone`]: a trained
//! or an evaluated stage; [`TrainDone`] also for a `per_task` unit),
//! `checkpoints/step-N/COMMIT` ([`CommitFile`]) and `state.json`
//! ([`TrainState`]), `metrics.jsonl` ([`MetricsLine`]) and
//! `eval/<task>/<split>.scores.json` ([`ScoresFile`], each metric's
//! [`Score`]) with `<split>.predictions.jsonl` ([`PredictionLine`]); what became of a
//! task's rows ([`RowsRecord`]) is in `DONE` and `scores.json` alike.

use std::collections::BTreeMap;
use std::path::PathBuf;

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize};

use super::kernels::KernelChoice;

/// Resolved settings, written to `config.json` and read back on resume.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Resolved {
    pub run: String,
    pub params: IndexMap<String, serde_json::Value>,
    pub mixture_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    /// The tokenizer file (a directory given is resolved to its file).
    pub tokenizer: PathBuf,
    /// Its sha256: a resume may find the tokenizer elsewhere, never another one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer_sha256: Option<String>,
    /// The directory the run started in: the plan's relative paths are read
    /// against it. Absent in configs of older runs (then: the current one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_in: Option<PathBuf>,
    pub device: String,
    pub steps_override: Option<u64>,
    /// The `--set` arguments the plan was made with (the plan records them too).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
    pub eval_limit: Option<usize>,
    pub log_every: u64,
    /// Absent in configs of older runs, which resumed with `auto`.
    #[serde(default)]
    pub kernels: KernelChoice,
    /// The precision each training stage trains in on this device (`bf16`
    /// with float32 master weights, or `fp32`): the plan's `auto` resolved.
    #[serde(default)]
    pub precision: IndexMap<String, String>,
    /// What each resume changed, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed_on_resume: Vec<Change>,
    pub exc_version: String,
    /// The data-parallel group this process last ran in (world size,
    /// backend, launcher); absent for a single process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel: Option<Parallel>,
}

/// How many processes trained the run, over which backend, started how.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Parallel {
    pub world_size: usize,
    pub backend: String,
    pub launcher: String,
}

/// One setting a resume changed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Change {
    pub setting: String,
    pub was: serde_json::Value,
    pub now: serde_json::Value,
}

/// What became of one task's rows: rows read, dropped by the filter,
/// dropped by a join (`unmatched drop`), examples made and, for training,
/// what truncation cut (`data::counts`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RowsRecord {
    pub rows_read: u64,
    pub dropped_by_filter: u64,
    pub dropped_unmatched: u64,
    pub examples: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs_truncated: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets_truncated: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens_dropped: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_tokens_dropped: Option<u64>,
}

/// Each task's [`RowsRecord`], in the order the tasks were met.
pub type TaskRows = IndexMap<String, RowsRecord>;

/// `<stage>/DONE` of a training stage (and of each `per_task` unit,
/// `<stage>/<task>/DONE`, which records only `step` and `data`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainDone {
    /// The last step trained.
    pub step: u64,
    /// Per task, the weights to evaluate it with (its best checkpoint when
    /// the stage selects), relative to the run directory.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub task_weights: IndexMap<String, String>,
    /// Each task's rows as of the last batch (absent in runs before it
    /// was recorded; `null` in a `per_task` unit that read none).
    #[serde(default, deserialize_with = "null_as_default")]
    pub data: TaskRows,
    /// The kernels the stage trained with in this process (absent when
    /// every unit was done already).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernels: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel: Option<Parallel>,
    /// On CUDA: the caching allocator's peaks while the stage trained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_memory: Option<PeakMemory>,
    /// The final weights, relative to the run directory (absent for
    /// `per_task`, which trains one model per task).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<String>,
    /// The split the stage selected checkpoints on, when it selects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_on: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PeakMemory {
    pub allocated_bytes: u64,
    pub reserved_bytes: u64,
}

/// `<stage>/DONE` of an evaluate stage.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvalDone {
    /// The number of tasks evaluated.
    pub evaluated: usize,
}

/// Any stage's `DONE`, as a reader meets it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StageDone {
    /// Boxed: it is large, and an evaluate stage's record is one number.
    Train(Box<TrainDone>),
    Evaluate(EvalDone),
}

/// Reads a stage's `DONE`; `None` when there is none (the stage has not
/// finished), an error naming the file when it cannot be read.
pub fn read_done(path: &std::path::Path) -> Result<Option<StageDone>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("`{}`: {e}", path.display())),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| format!("`{}`: {e}", path.display()))
}

/// A key that is there is `Some`, even when its value is `null`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

fn null_as_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `checkpoints/step-N/COMMIT`: the step and the sha256 of every file of
/// the checkpoint, written last; a checkpoint without it is not committed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommitFile {
    pub step: u64,
    pub files: BTreeMap<String, String>,
}

/// A checkpoint's `state.json`: what resuming needs besides the weights.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainState {
    /// Optimizer steps taken.
    pub step: u64,
    /// The data pipeline's cursor after the last batch of `step`.
    pub cursor: exc_data::pipeline::PipelineCursor,
    /// Target tokens trained on so far.
    pub tokens: u64,
    /// Mean validation loss at this step, when it was measured.
    pub eval_loss: Option<f64>,
    /// Per task, the selection score on validation at this step (the mean
    /// of the task's metrics), when the stage selects checkpoints by score.
    #[serde(default, skip_serializing_if = "indexmap::IndexMap::is_empty")]
    pub scores: indexmap::IndexMap<String, f64>,
    /// The precision the parameters trained in (`bf16` or `fp32`); the
    /// weights file holds float32 either way (the masters, in bf16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<String>,
}

/// A training window's line of `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainLine {
    pub stage: String,
    pub step: u64,
    /// Mean loss per target token over the window's steps.
    pub loss: f64,
    pub lr: f64,
    pub tokens_per_s: f64,
    /// Share of the window spent waiting for the data pipeline.
    pub data_wait: f64,
    /// Target tokens trained on since the stage began.
    pub tokens: u64,
    /// Data-parallel runs: share of the window rank 0 waited for the
    /// gradient allreduce after backward.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comm: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comm_bytes_per_step: Option<u64>,
    /// Share of the allreduce buckets launched while backward still ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comm_overlapped: Option<f64>,
    /// Stages of several tasks: each task's mean per-token NLL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_loss: Option<IndexMap<String, f64>>,
}

/// The validation loss per task at a step (`metrics.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidLossLine {
    pub stage: String,
    pub step: u64,
    pub valid_loss: IndexMap<String, f64>,
    pub valid_loss_mean: f64,
}

/// The tasks the validation loss leaves out, and why: logged once each
/// (`metrics.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeftOutLine {
    pub stage: String,
    pub step: u64,
    pub valid_loss_left_out: IndexMap<String, String>,
}

/// A checkpoint's selection scores per task (`metrics.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidScoreLine {
    pub stage: String,
    pub step: u64,
    pub split: String,
    pub valid_score: IndexMap<String, f64>,
}

/// Any line of `metrics.jsonl`, as a reader meets it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MetricsLine {
    Train(TrainLine),
    ValidLoss(ValidLossLine),
    LeftOut(LeftOutLine),
    ValidScore(ValidScoreLine),
}

impl MetricsLine {
    pub fn stage(&self) -> &str {
        match self {
            MetricsLine::Train(l) => &l.stage,
            MetricsLine::ValidLoss(l) => &l.stage,
            MetricsLine::LeftOut(l) => &l.stage,
            MetricsLine::ValidScore(l) => &l.stage,
        }
    }

    pub fn step(&self) -> u64 {
        match self {
            MetricsLine::Train(l) => l.step,
            MetricsLine::ValidLoss(l) => l.step,
            MetricsLine::LeftOut(l) => l.step,
            MetricsLine::ValidScore(l) => l.step,
        }
    }
}

/// `eval/<task>/<split>.scores.json`: a task's scores on a split, with
/// what its rows became and the checkpoint that made the predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoresFile {
    pub task: String,
    pub split: String,
    /// Examples scored (absent in files of early runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub examples: Option<u64>,
    /// Rows read, dropped (filter, join) and examples (absent in files of
    /// early runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<RowsRecord>,
    /// How predictions were decoded (the plan's `decode` of the task).
    #[serde(default)]
    pub decode: serde_json::Value,
    /// The checkpoint directory whose predictions were scored.
    #[serde(default)]
    pub weights: Option<String>,
    /// Per metric key, its [`Score`].
    pub scores: Scores,
    /// The majority-class baseline: its one prediction and its scores.
    #[serde(default)]
    pub baseline: Option<Baseline>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub prediction: String,
    pub scores: Scores,
}

/// A task's scores on a split, per metric key (a metric may give several:
/// BLEU's lengths beside its score), in the order the metrics gave them.
pub type Scores = IndexMap<String, Score>;

/// One key of [`Scores`]: a number, or why there is none. Untagged, so the
/// file keeps the form it had when these were built with `json!`: `83.5`,
/// `{"undefined": "…"}`, `{"error": "…"}`, and `null` for a result that
/// is not a finite number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Score {
    /// A finite number (made by [`Score::of`], which never puts NaN here).
    Value(f64),
    /// The reference implementation leaves the score undefined on these
    /// predictions (a correlation of constant predictions): not a failure.
    Undefined { undefined: String },
    /// The metric could not score (a target of the wrong shape, …): the
    /// task's metric needs fixing.
    Error { error: String },
    /// A result that was NaN or infinite. JSON has no such numbers: exc
    /// wrote `null` for them before this type (`json!` of a NaN) and still
    /// does, and reads `null` back as this. Like `Undefined`, it is no
    /// score (`n/a` in reports, left out of selection and means).
    NotFinite,
}

impl Score {
    /// The score of a metric's result `v`.
    pub fn of(v: f64) -> Self {
        if v.is_finite() {
            Score::Value(v)
        } else {
            Score::NotFinite
        }
    }

    /// The number, when there is one (never NaN or infinite).
    pub fn value(&self) -> Option<f64> {
        match self {
            Score::Value(v) if v.is_finite() => Some(*v),
            _ => None,
        }
    }

    /// Why the metric failed, when it did (not when merely undefined).
    pub fn error(&self) -> Option<&str> {
        match self {
            Score::Error { error } => Some(error),
            _ => None,
        }
    }
}

/// A line of `eval/<task>/<split>.predictions.jsonl` (and of those a
/// selecting stage writes under `select/step-N/<task>/`): one example, its
/// prediction before postprocessing, and what it was scored against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionLine {
    pub input: String,
    pub target: String,
    pub references: Vec<String>,
    pub prediction: String,
    /// The record a record-target metric scores against (`references
    /// { … }` in the task), when the task has one (a `null` record reads
    /// back as `Some(Null)`, as it was written).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub reference_record: Option<serde_json::Value>,
}

/// The stage and step every line of `metrics.jsonl` has, whatever its kind
/// (a resume drops the lines of a stage past the step it resumes from).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LineAt {
    pub stage: String,
    pub step: u64,
}

/// Reads a JSON file of a run, saying which and what is wrong with one
/// that cannot be read.
fn read<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("`{}`: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("`{}`: {e}", path.display()))
}

/// Reads a `scores.json`.
pub fn read_scores(path: &std::path::Path) -> Result<ScoresFile, String> {
    read(path)
}

/// Reads the `config.json` of the run directory `dir`.
pub fn read_config(dir: &std::path::Path) -> Result<Resolved, String> {
    read(&dir.join("config.json"))
}

/// Reads the frozen `plan.json` of the run directory `dir`.
pub fn read_plan(dir: &std::path::Path) -> Result<exc_compiler::plan::Plan, String> {
    let path = dir.join("plan.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("`{}`: {e}", path.display()))?;
    exc_compiler::plan::Plan::from_json(&text).map_err(|e| format!("`{}`: {e}", path.display()))
}

/// Reads `metrics.jsonl`: its lines in order, and how many could not be
/// read as any known line (a line cut by a crash, or written by a newer
/// exc), which readers report rather than skip unsaid.
pub fn read_metrics(path: &std::path::Path) -> std::io::Result<(Vec<MetricsLine>, usize)> {
    let text = std::fs::read_to_string(path)?;
    let mut lines = Vec::new();
    let mut unread = 0;
    for l in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str(l) {
            Ok(v) => lines.push(v),
            Err(_) => unread += 1,
        }
    }
    Ok((lines, unread))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn lines_keep_their_keys_and_order_and_read_back_as_their_kind() {
        let line = TrainLine {
            stage: "pretrain".into(),
            step: 4,
            loss: 2.5,
            lr: 0.01,
            tokens_per_s: 100.0,
            data_wait: 0.1,
            tokens: 512,
            comm: None,
            comm_bytes_per_step: None,
            comm_overlapped: None,
            task_loss: Some([("a".to_string(), 1.5)].into_iter().collect()),
        };
        let text = serde_json::to_string(&line).unwrap();
        assert_eq!(
            text,
            r#"{"stage":"pretrain","step":4,"loss":2.5,"lr":0.01,"tokens_per_s":100.0,"data_wait":0.1,"tokens":512,"task_loss":{"a":1.5}}"#
        );
        let back: MetricsLine = serde_json::from_str(&text).unwrap();
        assert_eq!(back, MetricsLine::Train(line));
        let score: MetricsLine = serde_json::from_str(
            r#"{"stage":"ft","step":2,"split":"validation","valid_score":{"t":50.0}}"#,
        )
        .unwrap();
        assert!(matches!(score, MetricsLine::ValidScore(_)));
        assert_eq!((score.stage(), score.step()), ("ft", 2));
        let left: MetricsLine = serde_json::from_str(
            r#"{"stage":"ft","step":2,"valid_loss_left_out":{"t":"no split"}}"#,
        )
        .unwrap();
        assert!(matches!(left, MetricsLine::LeftOut(_)));
    }

    /// `DONE` keeps the keys, order and layout the `json!` writer gave it,
    /// and the records of older runs still read.
    #[test]
    fn done_keeps_its_bytes_and_old_records_read() {
        let rows = RowsRecord {
            rows_read: 10,
            dropped_by_filter: 1,
            dropped_unmatched: 0,
            examples: 9,
            inputs_truncated: Some(2),
            targets_truncated: Some(0),
            input_tokens_dropped: Some(30),
            target_tokens_dropped: Some(0),
        };
        let done = TrainDone {
            step: 40,
            task_weights: [("t".to_string(), "s/checkpoints/step-00000040".to_string())]
                .into_iter()
                .collect(),
            data: [("t".to_string(), rows)].into_iter().collect(),
            kernels: Some("math attention, composite norm".into()),
            parallel: Some(Parallel {
                world_size: 2,
                backend: "gloo".into(),
                launcher: "torchrun".into(),
            }),
            peak_memory: None,
            weights: Some("s/checkpoints/step-00000040".into()),
            selected_on: Some("validation".into()),
        };
        let old = serde_json::json!({
            "step": 40,
            "task_weights": {"t": "s/checkpoints/step-00000040"},
            "data": {"t": {"rows_read": 10, "dropped_by_filter": 1, "dropped_unmatched": 0,
                "examples": 9, "inputs_truncated": 2, "targets_truncated": 0,
                "input_tokens_dropped": 30, "target_tokens_dropped": 0}},
            "kernels": "math attention, composite norm",
            "parallel": {"world_size": 2, "backend": "gloo", "launcher": "torchrun"},
            "weights": "s/checkpoints/step-00000040",
            "selected_on": "validation",
        });
        assert_eq!(
            serde_json::to_string_pretty(&done).unwrap(),
            serde_json::to_string_pretty(&old).unwrap()
        );
        let back: StageDone = serde_json::from_value(old).unwrap();
        assert_eq!(back, StageDone::Train(Box::new(done)));
        // A per_task unit's record, one that read no rows, one from before
        // rows were recorded, and an evaluate stage's.
        let unit: StageDone = serde_json::from_str(r#"{"step": 5, "data": null}"#).unwrap();
        assert!(matches!(unit, StageDone::Train(d) if d.step == 5 && d.data.is_empty()));
        let unit = TrainDone {
            step: 5,
            ..TrainDone::default()
        };
        assert_eq!(
            serde_json::to_string(&unit).unwrap(),
            r#"{"step":5,"data":{}}"#
        );
        let early: StageDone =
            serde_json::from_str(r#"{"step": 7, "task_weights": {"t": "w"}, "weights": "w"}"#)
                .unwrap();
        assert!(matches!(early, StageDone::Train(d) if d.weights.as_deref() == Some("w")));
        let eval: StageDone = serde_json::from_str(r#"{"evaluated": 3}"#).unwrap();
        assert_eq!(eval, StageDone::Evaluate(EvalDone { evaluated: 3 }));
    }

    /// `COMMIT` is written compact, its files in name order, as before.
    #[test]
    fn commit_keeps_its_bytes() {
        let c = CommitFile {
            step: 3,
            files: [("b".to_string(), "2".to_string()), ("a".into(), "1".into())]
                .into_iter()
                .collect(),
        };
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(text, r#"{"step":3,"files":{"a":"1","b":"2"}}"#);
        assert_eq!(serde_json::from_str::<CommitFile>(&text).unwrap(), c);
    }

    /// A `scores.json` as exc wrote it before [`Score`] (its scores built
    /// with `json!`: a number, an undefined and a failed metric, and `null`
    /// for a NaN) reads into the types and writes back byte for byte.
    #[test]
    fn an_old_scores_file_reads_and_keeps_its_bytes() {
        let old = r#"{
  "task": "stsb",
  "split": "validation",
  "examples": 4,
  "rows": {
    "rows_read": 5,
    "dropped_by_filter": 1,
    "dropped_unmatched": 0,
    "examples": 4
  },
  "decode": {
    "method": "greedy"
  },
  "weights": "/runs/r/ft/checkpoints/step-00000040",
  "scores": {
    "accuracy": 75.0,
    "pearson_corrcoef": {
      "undefined": "an input is constant"
    },
    "f1": {
      "error": "target 1: `yes` is not a class id"
    },
    "spearman_corrcoef": null,
    "bleu": 12.345678901234567
  },
  "baseline": {
    "prediction": "yes",
    "scores": {
      "accuracy": 50.0,
      "pearson_corrcoef": {
        "undefined": "an input is constant"
      }
    }
  }
}"#;
        // What the `json!` writer made of each kind of result.
        let by_json = serde_json::json!({
            "accuracy": 75.0,
            "pearson_corrcoef": {"undefined": "an input is constant"},
            "f1": {"error": "target 1: `yes` is not a class id"},
            "spearman_corrcoef": f64::NAN,
            "bleu": 12.345678901234567,
        });
        let s: ScoresFile = serde_json::from_str(old).unwrap();
        assert_eq!(
            serde_json::to_string(&s.scores).unwrap(),
            by_json.to_string()
        );
        assert_eq!(s.scores["accuracy"], Score::Value(75.0));
        assert_eq!(s.scores["accuracy"].value(), Some(75.0));
        assert_eq!(
            s.scores["pearson_corrcoef"],
            Score::Undefined {
                undefined: "an input is constant".into()
            }
        );
        assert_eq!(s.scores["pearson_corrcoef"].value(), None);
        assert_eq!(s.scores["pearson_corrcoef"].error(), None);
        assert_eq!(
            s.scores["f1"].error(),
            Some("target 1: `yes` is not a class id")
        );
        assert_eq!(s.scores["spearman_corrcoef"], Score::NotFinite);
        assert_eq!(s.scores["spearman_corrcoef"].value(), None);
        let base = s.baseline.as_ref().unwrap();
        assert_eq!(base.scores["accuracy"].value(), Some(50.0));
        assert_eq!(serde_json::to_string_pretty(&s).unwrap(), old);
        // A result that is not a finite number is written `null`, as the
        // `json!` writer wrote it, and reads back as what it is.
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let score = Score::of(v);
            assert_eq!(score, Score::NotFinite);
            let text = serde_json::to_string(&score).unwrap();
            assert_eq!(text, serde_json::json!(v).to_string());
            assert_eq!(serde_json::from_str::<Score>(&text).unwrap(), score);
        }
        // Files of early runs: no examples, rows, decode or weights.
        let early: ScoresFile =
            serde_json::from_str(r#"{"task": "t", "split": "test", "scores": {"accuracy": 100}}"#)
                .unwrap();
        assert_eq!(early.scores["accuracy"].value(), Some(100.0));
        // Anything else is no score exc writes: the file is unreadable,
        // not a score read as something it is not.
        assert!(serde_json::from_str::<Score>(r#""75""#).is_err());
        assert!(serde_json::from_str::<Score>(r#"{"why": "?"}"#).is_err());
    }

    /// A line of `predictions.jsonl` keeps the keys, order and bytes of the
    /// `json!` row it replaces, with a record-target's record and without.
    #[test]
    fn a_prediction_line_keeps_its_bytes() {
        let line = PredictionLine {
            input: "question: who? context: \"Ann\" said".into(),
            target: "Ann".into(),
            references: vec!["Ann".into(), "ann".into()],
            prediction: "Ann é".into(),
            reference_record: None,
        };
        let old = serde_json::json!({
            "input": line.input, "target": line.target, "references": line.references,
            "prediction": line.prediction,
        });
        let text = serde_json::to_string(&line).unwrap();
        assert_eq!(text, old.to_string());
        assert_eq!(
            text,
            r#"{"input":"question: who? context: \"Ann\" said","target":"Ann","references":["Ann","ann"],"prediction":"Ann é"}"#
        );
        assert_eq!(serde_json::from_str::<PredictionLine>(&text).unwrap(), line);
        let record = serde_json::json!({"idx": [0, 1], "is_correct": true});
        let with = PredictionLine {
            reference_record: Some(record.clone()),
            ..line
        };
        let mut old = old;
        old["reference_record"] = record;
        let text = serde_json::to_string(&with).unwrap();
        assert_eq!(text, old.to_string());
        assert!(text.ends_with(r#","reference_record":{"idx":[0,1],"is_correct":true}}"#));
        assert_eq!(serde_json::from_str::<PredictionLine>(&text).unwrap(), with);
        // A record that is `null` stays one.
        let null = PredictionLine {
            reference_record: Some(serde_json::Value::Null),
            ..with
        };
        let text = serde_json::to_string(&null).unwrap();
        assert!(text.ends_with(r#","reference_record":null}"#), "{text}");
        assert_eq!(serde_json::from_str::<PredictionLine>(&text).unwrap(), null);
    }

    /// A resume reads every line kind's stage and step, and nothing from a
    /// line cut short.
    #[test]
    fn every_metrics_line_has_a_stage_and_step() {
        for l in [
            r#"{"stage":"ft","step":2,"split":"validation","valid_score":{"t":50.0}}"#,
            r#"{"stage":"ft","step":2,"valid_loss_left_out":{"t":"no split"}}"#,
            r#"{"stage":"ft","step":2,"valid_loss":{"t":1.5},"valid_loss_mean":1.5}"#,
        ] {
            let at: LineAt = serde_json::from_str(l).unwrap();
            assert_eq!(
                at,
                LineAt {
                    stage: "ft".into(),
                    step: 2
                }
            );
        }
        assert!(serde_json::from_str::<LineAt>(r#"{"stage":"ft","st"#).is_err());
    }

    /// A `config.json` written before `kernels`, `precision`,
    /// `started_in` and the tokenizer's hash were recorded still reads.
    #[test]
    fn an_older_config_reads() {
        let old = r#"{"run": "main", "params": {}, "mixture_file": "m.exmix",
            "data_dir": null, "tokenizer": "spiece.model", "device": "cpu",
            "steps_override": null, "eval_limit": null, "log_every": 10,
            "exc_version": "0.1.0"}"#;
        let c: Resolved = serde_json::from_str(old).unwrap();
        assert_eq!(c.run, "main");
        assert_eq!(c.kernels, KernelChoice::default());
        assert!(c.precision.is_empty() && c.started_in.is_none());
    }
}
