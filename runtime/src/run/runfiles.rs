//! The records a run directory holds, as types: what the training loop and
//! evaluation write, `--resume` and `exc report` read back. One definition
//! per file kind; the field order is the order of the keys on disk.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

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
    /// Rows read, dropped (filter, join) and truncated (`data::counts_json`).
    #[serde(default)]
    pub rows: serde_json::Value,
    /// How predictions were decoded (the plan's `decode` of the task).
    #[serde(default)]
    pub decode: serde_json::Value,
    /// The checkpoint directory whose predictions were scored.
    #[serde(default)]
    pub weights: Option<String>,
    /// Per metric key: a number, `{"undefined": why}` where the reference
    /// leaves the score undefined, or `{"error": why}`.
    pub scores: IndexMap<String, serde_json::Value>,
    /// The majority-class baseline: its one prediction and its scores.
    #[serde(default)]
    pub baseline: Option<Baseline>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub prediction: String,
    pub scores: IndexMap<String, serde_json::Value>,
}

/// Reads a `scores.json`, saying what is wrong with one that cannot be read.
pub fn read_scores(path: &std::path::Path) -> Result<ScoresFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("`{}`: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("`{}`: {e}", path.display()))
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
}
