//! What a metric returns: its scores and facts ([`Report`]), or why it
//! could not score ([`MetricError`]). Every layer of the crate (options,
//! target shapes, the metrics, the table) speaks these two types.

use indexmap::IndexMap;

/// Why a metric could not be computed. `row` fields are 0-based example
/// indices; the command turns them into file lines.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricError {
    /// The name is not in the table.
    #[error("unknown metric `{0}`")]
    UnknownMetric(String),
    /// An option the metric does not take.
    #[error("metric `{metric}` has no option `{option}`")]
    UnknownOption {
        /// Metric name.
        metric: String,
        /// Option given.
        option: String,
    },
    /// An option value that does not parse.
    #[error("option `{option}`: {message}")]
    BadOption {
        /// Option name.
        option: String,
        /// What is wrong.
        message: String,
    },
    /// A target row of the wrong shape.
    #[error("target {}: {message}", row + 1)]
    BadTarget {
        /// 0-based example index.
        row: usize,
        /// What is wrong.
        message: String,
    },
    /// A prediction row the metric cannot use at all.
    #[error("prediction {}: {message}", row + 1)]
    BadPrediction {
        /// 0-based example index.
        row: usize,
        /// What is wrong.
        message: String,
    },
    /// Predictions and targets differ in count.
    #[error("{predictions} predictions but {targets} targets")]
    LengthMismatch {
        /// Number of predictions.
        predictions: usize,
        /// Number of targets.
        targets: usize,
    },
    /// No examples.
    #[error("no examples to score")]
    Empty,
    /// Inputs the reference implementation also rejects.
    #[error("{0}")]
    Undefined(String),
}

/// Whether a score key is a metric's result rather than a diagnostic beside
/// it (BLEU's brevity penalty, n-gram precisions and lengths; the count of
/// invalid predictions). Checkpoint selection and summaries average only
/// results.
pub fn is_headline(key: &str) -> bool {
    !(matches!(key, "bp" | "sys_len" | "ref_len" | "invalid_predictions")
        || key.starts_with("precision_"))
}

/// Scores (x100 where T5 scales) plus string facts such as BLEU's signature.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// Named scores in a stable order.
    pub scores: IndexMap<String, f64>,
    /// Named strings: signatures, rows of invalid predictions.
    pub info: IndexMap<String, String>,
}

impl Report {
    pub(crate) fn score(mut self, k: impl Into<String>, v: f64) -> Self {
        self.scores.insert(k.into(), v);
        self
    }

    /// Records predictions that were not valid labels/numbers.
    pub(crate) fn invalid(mut self, rows: &[usize]) -> Self {
        self.scores
            .insert("invalid_predictions".into(), rows.len() as f64);
        if !rows.is_empty() {
            let shown: Vec<String> = rows.iter().take(20).map(|r| (r + 1).to_string()).collect();
            let more = if rows.len() > 20 { ", ..." } else { "" };
            self.info.insert(
                "invalid_prediction_rows".into(),
                format!("{}{more}", shown.join(", ")),
            );
        }
        self
    }
}
