//! Evaluation metrics for exc, equal to the reference implementations that
//! T5 and the ExT5 paper report with (sacrebleu, rouge_score, scikit-learn,
//! scipy, the SQuAD and MS MARCO scripts, T5's `evaluation/metrics.py`).
//!
//! Metrics are pure functions of predictions and targets; nothing here
//! depends on libtorch. Callers normally go through the registry:
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

mod adapters;
pub mod bleu;
pub mod bleu_tok;
pub mod classify;
pub mod command;
pub mod corr;
pub mod meteor;
pub mod porter;
pub mod postprocess;
pub mod qa;
pub mod rank;
pub mod registry;
pub mod rouge;
pub mod text;
pub mod wordnet;
pub mod wsc;

pub use registry::{
    check_options, compute, is_headline, known_metrics, metric_info, MetricError, MetricInfo,
    Options, Report, METRICS,
};
