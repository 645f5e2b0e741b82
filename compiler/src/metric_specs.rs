//! What the language knows about metrics: their names, aliases and options
//! come from the metric library's registry (`exc_metrics::registry`, the
//! single source of truth); this module adds which target kinds each scores.

use crate::ir::TargetKind;
use exc_metrics::registry::{metric_info, MetricInfo, METRICS};

use TargetKind::{Class, Number, Text};

/// Target kinds each metric (by canonical name) can score; absent means any.
const KINDS: &[(&str, &[TargetKind])] = &[
    ("f1", &[Class]),
    ("f1_with_invalid", &[Class]),
    ("mean_multiclass_f1", &[Class]),
    ("matthews_corrcoef", &[Class]),
    ("pearson_corrcoef", &[Number]),
    ("spearman_corrcoef", &[Number]),
    ("squad", &[Text]),
    ("trivia_qa", &[Text]),
    ("record", &[Text]),
    ("multirc", &[Class]),
    ("wsc_simple", &[Text]),
    ("bleu", &[Text]),
    ("sentence_bleu", &[Text]),
    ("rouge", &[Text]),
    ("meteor", &[Text]),
    ("mrr10", &[Text]),
    ("conll_exact_match", &[Text]),
    ("rank_classification", &[Class]),
];

/// Metrics whose targets are records, with the fields each reads: a task
/// scored by one declares `references { field: EXPR, … }`, and a task that
/// declares such references uses only these metrics.
pub const RECORD_TARGETS: &[(&str, &[&str])] = &[
    ("wsc_simple", &["referent", "label"]),
    ("record", &["group", "value"]),
    ("multirc", &["group", "value"]),
];

/// The fields a metric's record targets need; `None` for metrics scored
/// against text.
pub fn record_fields(canonical: &str) -> Option<&'static [&'static str]> {
    RECORD_TARGETS
        .iter()
        .find(|(n, _)| *n == canonical)
        .map(|(_, f)| *f)
}

/// A metric as the checker sees it.
pub struct MetricSpec {
    pub info: &'static MetricInfo,
    /// Target kinds the metric can score; empty means any.
    pub kinds: &'static [TargetKind],
}

pub fn metric(name: &str) -> Option<MetricSpec> {
    let info = metric_info(name)?;
    let kinds = KINDS
        .iter()
        .find(|(n, _)| *n == info.name)
        .map_or(&[][..], |(_, k)| *k);
    Some(MetricSpec { info, kinds })
}

/// Every name and alias, for suggestions.
pub fn metric_names() -> impl Iterator<Item = &'static str> {
    METRICS
        .iter()
        .flat_map(|m| std::iter::once(m.name).chain(m.aliases.iter().copied()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_target_names_a_registry_metric() {
        for (name, _) in RECORD_TARGETS {
            let info = metric_info(name)
                .unwrap_or_else(|| panic!("`{name}` is not in the metric registry"));
            assert_eq!(info.name, *name, "use the canonical name");
        }
    }

    #[test]
    fn every_kind_entry_names_a_registry_metric() {
        for (name, _) in KINDS {
            let info = metric_info(name)
                .unwrap_or_else(|| panic!("`{name}` is not in the metric registry"));
            assert_eq!(info.name, *name, "use the canonical name");
        }
    }
}
