//! What the language knows about metrics and postprocessors: their names,
//! options and which target kinds they score. The metric code itself lives in
//! the `exc-metrics` crate; a workspace test keeps the two name lists equal.

use crate::ir::TargetKind;

/// Option value kinds a metric accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptKind {
    Bool,
    Number,
    Word(&'static [&'static str]),
    Text,
}

pub struct MetricSpec {
    pub name: &'static str,
    /// Target kinds the metric can score; empty means any.
    pub kinds: &'static [TargetKind],
    pub options: &'static [(&'static str, OptKind)],
}

use TargetKind::{Class, Number, Text};

const BLEU_TOKENIZERS: &[&str] = &["13a", "intl", "none", "zh", "char"];

pub const METRICS: &[MetricSpec] = &[
    MetricSpec { name: "accuracy", kinds: &[], options: &[] },
    MetricSpec { name: "sequence_accuracy", kinds: &[], options: &[] },
    MetricSpec { name: "f1", kinds: &[Class], options: &[("average", OptKind::Word(&["binary", "macro", "micro"]))] },
    MetricSpec { name: "f1_with_invalid", kinds: &[Class], options: &[] },
    MetricSpec { name: "matthews_corrcoef", kinds: &[Class], options: &[] },
    MetricSpec { name: "pearson", kinds: &[Number], options: &[] },
    MetricSpec { name: "spearman", kinds: &[Number], options: &[] },
    MetricSpec { name: "squad", kinds: &[Text], options: &[] },
    MetricSpec { name: "trivia_qa", kinds: &[Text], options: &[] },
    MetricSpec { name: "multirc", kinds: &[Class], options: &[] },
    MetricSpec { name: "record", kinds: &[Text], options: &[] },
    MetricSpec { name: "bleu", kinds: &[Text], options: &[("tokenize", OptKind::Word(BLEU_TOKENIZERS)), ("lowercase", OptKind::Bool)] },
    MetricSpec { name: "sentence_bleu", kinds: &[Text], options: &[("tokenize", OptKind::Word(BLEU_TOKENIZERS))] },
    MetricSpec { name: "rouge", kinds: &[Text], options: &[("stemmer", OptKind::Bool), ("types", OptKind::Text)] },
    MetricSpec { name: "meteor", kinds: &[Text], options: &[] },
    MetricSpec { name: "mrr_at_10", kinds: &[Text], options: &[] },
    MetricSpec { name: "ner_exact_match", kinds: &[Text], options: &[] },
    MetricSpec { name: "rank_classification", kinds: &[Class], options: &[] },
    MetricSpec { name: "mean_group_metric", kinds: &[], options: &[("metric", OptKind::Text), ("group", OptKind::Text)] },
];

pub fn metric(name: &str) -> Option<&'static MetricSpec> {
    METRICS.iter().find(|m| m.name == name)
}

pub fn metric_names() -> impl Iterator<Item = &'static str> {
    METRICS.iter().map(|m| m.name)
}

/// Postprocessors applied to generated text (and targets) before scoring,
/// with the target kind they produce (`None`: unchanged).
pub const POSTPROCESSORS: &[(&str, Option<TargetKind>)] = &[
    ("strip", None),
    ("lower", None),
    ("string_to_float", Some(Number)),
    ("label_to_id", Some(Class)),
    ("squad_answer", None),
];

pub fn kind_name(kind: TargetKind) -> &'static str {
    match kind {
        Class => "a class label",
        Number => "a number",
        Text => "text",
    }
}
