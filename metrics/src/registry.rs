//! Metrics by name, so that `.task` files and `exc metric` can name them.
//!
//! Every metric takes the predictions as strings (one per example), the
//! targets as JSON values (a string, a list of strings, or an object for the
//! grouped metrics) and string options, and returns named scores x100 as T5
//! reports them. The table below is the single source of names, options and
//! input shapes; `exc metric --list` prints it.

use indexmap::IndexMap;
use serde_json::Value;
use std::collections::BTreeMap;

use crate::adapters;

/// What one metric accepts, for `--list` and for option checking.
#[derive(Debug)]
pub struct MetricInfo {
    /// Canonical name.
    pub name: &'static str,
    /// Other names accepted for it.
    pub aliases: &'static [&'static str],
    /// One-line description, including the reference it matches.
    pub summary: &'static str,
    /// The shape of one target (reference) row.
    pub targets: &'static str,
    /// `(option, default, meaning)`.
    pub options: &'static [(&'static str, &'static str, &'static str)],
}

const CLEAN: [(&str, &str, &str); 2] = [
    (
        "strip",
        "false",
        "strip whitespace from predictions and targets",
    ),
    ("lowercase", "false", "lowercase predictions and targets"),
];

macro_rules! opts {
    ($($o:expr),* $(,)?) => { &[$($o),*] };
}

/// Every metric, in `--list` order.
pub static METRICS: &[MetricInfo] = &[
    MetricInfo { name: "accuracy", aliases: &[], summary: "fraction of predictions equal to the target (sklearn accuracy_score)", targets: "label string", options: opts![("labels", "", "comma-separated labels; unknown predictions are counted"), CLEAN[0], CLEAN[1]] },
    MetricInfo { name: "sequence_accuracy", aliases: &["exact_match"], summary: "whole-sequence exact match (T5 sequence_accuracy)", targets: "string", options: opts![CLEAN[0], CLEAN[1]] },
    MetricInfo { name: "f1", aliases: &["f1_binary"], summary: "binary F1 of class 1 (sklearn f1_score)", targets: "label string or 0/1", options: opts![("labels", "", "comma-separated labels, id = position; default: integer ids"), CLEAN[0], CLEAN[1]] },
    MetricInfo { name: "f1_with_invalid", aliases: &[], summary: "binary F1, invalid predictions count as wrong (T5 f1_score_with_invalid)", targets: "label string or 0/1", options: opts![("labels", "", "comma-separated labels, id = position; default: integer ids"), CLEAN[0], CLEAN[1]] },
    MetricInfo { name: "mean_multiclass_f1", aliases: &["macro_f1"], summary: "unweighted mean of per-class F1 (T5 mean_multiclass_f1)", targets: "label string or class id", options: opts![("labels", "", "comma-separated labels, id = position"), ("num_classes", "", "number of classes (default: number of labels)"), CLEAN[0], CLEAN[1]] },
    MetricInfo { name: "matthews_corrcoef", aliases: &["matthews", "mcc"], summary: "Matthews correlation (sklearn matthews_corrcoef)", targets: "label string", options: opts![("labels", "", "comma-separated labels; unknown predictions become one invalid class"), CLEAN[0], CLEAN[1]] },
    MetricInfo { name: "pearson_corrcoef", aliases: &["pearson"], summary: "Pearson r (scipy.stats.pearsonr)", targets: "number", options: opts![] },
    MetricInfo { name: "spearman_corrcoef", aliases: &["spearman"], summary: "Spearman rho with average ranks for ties (scipy.stats.spearmanr)", targets: "number", options: opts![] },
    MetricInfo { name: "squad", aliases: &[], summary: "SQuAD exact match and F1, max over answers (T5 squad)", targets: "string or list of answer strings", options: opts![] },
    MetricInfo { name: "trivia_qa", aliases: &[], summary: "EM and F1 with TriviaQA normalisation (T5 trivia_qa)", targets: "string or list of answer strings", options: opts![] },
    MetricInfo { name: "record", aliases: &[], summary: "ReCoRD: first row per group, then SQuAD EM/F1 (T5 deduplicate_metric(squad))", targets: "{\"group\": id, \"value\": [answers]}", options: opts![] },
    MetricInfo { name: "multirc", aliases: &[], summary: "MultiRC: F1 over all answers and exact match per question (T5)", targets: "{\"group\": question id, \"value\": label}", options: opts![("labels", "False,True", "labels for ids 0 and 1"), CLEAN[0], CLEAN[1]] },
    MetricInfo { name: "wsc_simple", aliases: &[], summary: "WSC: 1 where the prediction names the referent (lowercased, determiners dropped, word sets equal or nested), 0 where not, -1 when empty; accuracy against the label (T5 wsc_simple postprocessor + accuracy)", targets: "{\"referent\": candidate text, \"label\": 0 or 1}", options: opts![] },
    MetricInfo { name: "mean_group_metric", aliases: &[], summary: "mean of an inner metric over groups (T5 mean_group_metric)", targets: "{\"group\": id, \"value\": target}", options: opts![("metric", "all_match", "the inner metric; its options pass through")] },
    MetricInfo { name: "all_match", aliases: &[], summary: "100 if every prediction equals its target, else 0 (T5 all_match)", targets: "string", options: opts![CLEAN[0], CLEAN[1]] },
    MetricInfo { name: "bleu", aliases: &["corpus_bleu"], summary: "corpus BLEU (sacrebleu 2.6 corpus_bleu; T5 settings by default)", targets: "string or list of reference strings", options: opts![("tokenize", "intl", "13a, intl or none"), ("smooth_method", "exp", "none, floor, add-k or exp"), ("smooth_value", "", "value for floor/add-k"), ("lowercase", "false", "lowercase before tokenizing"), ("use_effective_order", "false", "average only over orders with n-grams")] },
    MetricInfo { name: "sentence_bleu", aliases: &[], summary: "mean of per-sentence BLEU (sacrebleu sentence_bleu)", targets: "string or list of reference strings", options: opts![("tokenize", "13a", "13a, intl or none"), ("smooth_method", "exp", "none, floor, add-k or exp"), ("smooth_value", "", "value for floor/add-k"), ("lowercase", "false", "lowercase before tokenizing"), ("use_effective_order", "true", "average only over orders with n-grams")] },
    MetricInfo { name: "rouge", aliases: &[], summary: "mean ROUGE F-measure over examples (rouge_score 0.1.2; T5 rouge without bootstrap)", targets: "string", options: opts![("rouge_types", "rouge1,rouge2,rougeLsum", "comma-separated rougeN, rougeL, rougeLsum"), ("use_stemmer", "false", "NLTK Porter stemmer on tokens longer than 3"), ("prepare_summary", "true", "T5's \" . \" -> \" .\\n\" before scoring")] },
    MetricInfo { name: "mrr10", aliases: &["ms_marco_mrr", "mrr@10"], summary: "MS MARCO MRR@10 (msmarco_eval compute_metrics)", targets: "relevant passage id or list of ids; predictions: JSON list or whitespace-separated ranked ids", options: opts![] },
    MetricInfo { name: "conll_exact_match", aliases: &["ner_exact_match"], summary: "sentence-level exact match of whitespace-tokenized tag/entity sequences", targets: "string", options: opts![] },
    MetricInfo { name: "rank_classification", aliases: &[], summary: "accuracy (and F1/AUC) of the best-scored choice (T5 rank_classification)", targets: "{\"idx\": [input, choice], \"is_correct\": bool, \"weight\": 1, \"length\": 1}; predictions: log-likelihood per line", options: opts![("num_classes", "", "choices per example; empty = variable"), ("normalize_by_target_length", "false", "divide scores by target length")] },
    MetricInfo { name: "meteor", aliases: &[], summary: "METEOR as nltk meteor_score (exact, Porter stem, WordNet synonyms when wordnet= is given)", targets: "string or list of reference strings", options: opts![("alpha", "0.9", "precision/recall weight"), ("beta", "3", "fragmentation exponent"), ("gamma", "0.5", "fragmentation weight"), ("wordnet", "", "directory of WordNet 3.0 dict files (index.*, data.*, *.exc)")] },
];

/// Every metric name and alias a `.task` file may use.
pub fn known_metrics() -> &'static [&'static str] {
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        METRICS
            .iter()
            .flat_map(|m| std::iter::once(m.name).chain(m.aliases.iter().copied()))
            .collect()
    })
}

/// The table entry for a name or alias.
pub fn metric_info(name: &str) -> Option<&'static MetricInfo> {
    METRICS
        .iter()
        .find(|m| m.name == name || m.aliases.contains(&name))
}

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

/// String options (`k=v` on the command line, a map in `.task` files).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Options(pub BTreeMap<String, String>);

impl Options {
    /// Parses `k=v` strings.
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self, MetricError> {
        let mut m = BTreeMap::new();
        for it in items {
            let it = it.as_ref();
            let Some((k, v)) = it.split_once('=') else {
                return Err(MetricError::BadOption {
                    option: it.to_string(),
                    message: "expected `key=value`".into(),
                });
            };
            m.insert(k.trim().to_string(), v.trim().to_string());
        }
        Ok(Self(m))
    }

    /// A raw value, absent or empty meaning "not given".
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// A boolean (`true/false/1/0/yes/no`).
    pub fn bool(&self, k: &str, default: bool) -> Result<bool, MetricError> {
        match self.get(k) {
            None => Ok(default),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => Err(bad(k, format!("`{v}` is not true or false"))),
            },
        }
    }

    /// A float.
    pub fn f64(&self, k: &str) -> Result<Option<f64>, MetricError> {
        self.get(k)
            .map(|v| {
                v.parse::<f64>()
                    .map_err(|_| bad(k, format!("`{v}` is not a number")))
            })
            .transpose()
    }

    /// A non-negative integer.
    pub fn usize(&self, k: &str) -> Result<Option<usize>, MetricError> {
        self.get(k)
            .map(|v| {
                v.parse::<usize>()
                    .map_err(|_| bad(k, format!("`{v}` is not a count")))
            })
            .transpose()
    }

    /// A comma-separated list.
    pub fn list(&self, k: &str) -> Option<Vec<String>> {
        self.get(k)
            .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
    }
}

pub(crate) fn bad(option: &str, message: String) -> MetricError {
    MetricError::BadOption {
        option: option.to_string(),
        message,
    }
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

/// Resolves `name` and rejects options it does not take, before any input
/// is read.
pub fn check_options(name: &str, options: &Options) -> Result<&'static MetricInfo, MetricError> {
    let info = metric_info(name).ok_or_else(|| MetricError::UnknownMetric(name.to_string()))?;
    // mean_group_metric forwards unknown options to its inner metric.
    if info.name != "mean_group_metric" {
        for k in options.0.keys() {
            if !info.options.iter().any(|(o, _, _)| o == k) {
                return Err(MetricError::UnknownOption {
                    metric: info.name.to_string(),
                    option: k.clone(),
                });
            }
        }
    }
    Ok(info)
}

/// Computes metric `name` over paired predictions and targets.
pub fn compute(
    name: &str,
    predictions: &[String],
    targets: &[Value],
    options: &Options,
) -> Result<Report, MetricError> {
    let info = check_options(name, options)?;
    if predictions.len() != targets.len() {
        return Err(MetricError::LengthMismatch {
            predictions: predictions.len(),
            targets: targets.len(),
        });
    }
    if predictions.is_empty() {
        return Err(MetricError::Empty);
    }
    adapters::dispatch(info.name, predictions, targets, options)
}
