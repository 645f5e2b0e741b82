//! Evaluation metrics for exc, equal to the reference implementations that
//! T5 and the ExT5 paper report with (sacrebleu, rouge_score, scikit-learn,
//! scipy, the SQuAD and MS MARCO scripts, T5's `evaluation/metrics.py`).
//!
//! Metrics are pure functions of predictions and targets; nothing here
//! depends on libtorch. Each metric is one [`MetricSpec`] in
//! [`registry::METRICS`]: its name, the target kinds it fits, its option
//! schema and its scoring function. The layers, each using only those
//! before it: `report` (scores, errors), `options` (schema, typed reads),
//! `spec` (the spec type), `targets` (input shapes), the reference
//! modules (`bleu`, `rouge`, …), `score_*` (one function per metric),
//! `registry` (the table), `command` (`exc metric`). Callers normally go
//! through the registry:
//!
//! ```
//! use exc_metrics::{compute, Options};
//! use serde_json::json;
//!
//! let preds = vec!["yes".to_string(), "no".to_string()];
//! let targets = vec![json!("yes"), json!("yes")];
//! let report = compute("accuracy", &preds, &targets, &Options::default()).unwrap();
//! assert_eq!(report.scores["accuracy"], 50.0);
//! ```
//!
//! Scores are x100 like T5's. Golden parity tests live in `tests/` and read
//! JSON written by `golden/gen.py`; see the crate README.
#![forbid(unsafe_code)]

pub mod bleu;
pub mod bleu_tok;
pub mod classify;
pub mod command;
pub mod corr;
pub mod meteor;
pub mod options;
pub mod porter;
pub mod postprocess;
pub mod qa;
pub mod rank;
pub mod registry;
pub mod report;
pub mod rouge;
mod score_class;
mod score_group;
mod score_text;
pub mod spec;
mod targets;
pub mod text;
pub mod wordnet;
pub mod wsc;

pub use options::{OptionKind, OptionSpec, Options};
pub use registry::{check_options, compute, inner_metric, known_metrics, metric, METRICS};
pub use report::{is_headline, MetricError, Report};
pub use spec::{MetricSpec, TargetKind};
