//! Metrics by name, so that `.task` files and `exc metric` can name them.
//!
//! Every metric takes the predictions as strings (one per example), the
//! targets as JSON values (a string, a list of strings, or an object for the
//! grouped metrics) and string options, and returns named scores x100 as T5
//! reports them. [`METRICS`] is the single source of names, target kinds,
//! options and scoring functions; `exc metric --list` prints it, the
//! compiler checks `.task` files with it, evaluation scores through it.

use serde_json::Value;

/// The options `compute` takes, here too for callers that name them by the
/// registry.
pub use crate::options::Options;
use crate::options::{bad, opt, opt_none, OptionKind, OptionSpec};
use crate::report::{MetricError, Report};
use crate::score_class as class;
use crate::score_group as grouped;
use crate::score_text as gen;
use crate::spec::{MetricSpec, TargetKind};

use OptionKind::{Bool, Count, Labels, Number};
use TargetKind::{Class, Number as Num, Text};

const STRIP: OptionSpec = opt(
    "strip",
    Bool,
    "false",
    "strip whitespace from predictions and targets",
);
const LOWERCASE: OptionSpec = opt(
    "lowercase",
    Bool,
    "false",
    "lowercase predictions and targets",
);
const LABEL_IDS: OptionSpec = opt_none(
    "labels",
    Labels,
    "comma-separated labels, id = position; default: integer ids",
);
const NUM_CLASSES: OptionSpec = opt_none(
    "num_classes",
    Count { min: 1 },
    "number of classes (default: number of labels)",
);
const TOKENIZE: OptionKind = OptionKind::OneOf(&["13a", "intl", "none"]);
const SMOOTH: OptionKind = OptionKind::OneOf(&["none", "floor", "add-k", "exp"]);
const SMOOTH_VALUE: OptionSpec = opt_none(
    "smooth_value",
    Number {
        min: 0.0,
        max: f64::INFINITY,
    },
    "value for floor/add-k",
);
const BLEU_LOWERCASE: OptionSpec = opt("lowercase", Bool, "false", "lowercase before tokenizing");
const UNIT: OptionKind = Number { min: 0.0, max: 1.0 };
const ROUGE_TYPES: OptionKind = OptionKind::List {
    valid: gen::is_rouge_type,
    expected: "rougeN, rougeL or rougeLsum",
};

/// A text metric's options: none.
const NONE: &[OptionSpec] = &[];
/// Scores text.
const TEXT: &[TargetKind] = &[Text];
/// Scores class labels.
const CLASS: &[TargetKind] = &[Class];

/// Every metric, in `--list` order.
pub static METRICS: &[MetricSpec] = &[
    MetricSpec { name: "accuracy", aliases: &[], summary: "fraction of predictions equal to the target (sklearn accuracy_score)", targets: "label string", kinds: &[], record_fields: None, class_ids: false,
        options: &[opt_none("labels", Labels, "comma-separated labels; unknown predictions are counted"), STRIP, LOWERCASE], score: class::accuracy },
    MetricSpec { name: "sequence_accuracy", aliases: &["exact_match"], summary: "whole-sequence exact match (T5 sequence_accuracy)", targets: "string", kinds: &[], record_fields: None, class_ids: false,
        options: &[STRIP, LOWERCASE], score: class::sequence_accuracy },
    MetricSpec { name: "f1", aliases: &["f1_binary"], summary: "binary F1 of class 1 (sklearn f1_score)", targets: "label string or 0/1", kinds: CLASS, record_fields: None, class_ids: true,
        options: &[LABEL_IDS, STRIP, LOWERCASE], score: class::f1 },
    MetricSpec { name: "f1_with_invalid", aliases: &[], summary: "binary F1, invalid predictions count as wrong (T5 f1_score_with_invalid)", targets: "label string or 0/1", kinds: CLASS, record_fields: None, class_ids: true,
        options: &[LABEL_IDS, STRIP, LOWERCASE], score: class::f1_with_invalid },
    MetricSpec { name: "mean_multiclass_f1", aliases: &["macro_f1"], summary: "unweighted mean of per-class F1 (T5 mean_multiclass_f1)", targets: "label string or class id", kinds: CLASS, record_fields: None, class_ids: true,
        options: &[opt_none("labels", Labels, "comma-separated labels, id = position"), NUM_CLASSES, STRIP, LOWERCASE], score: class::mean_multiclass_f1 },
    MetricSpec { name: "matthews_corrcoef", aliases: &["matthews", "mcc"], summary: "Matthews correlation (sklearn matthews_corrcoef)", targets: "label string", kinds: CLASS, record_fields: None, class_ids: true,
        options: &[opt_none("labels", Labels, "comma-separated labels; unknown predictions become one invalid class"), STRIP, LOWERCASE], score: class::matthews_corrcoef },
    MetricSpec { name: "pearson_corrcoef", aliases: &["pearson"], summary: "Pearson r (scipy.stats.pearsonr)", targets: "number", kinds: &[Num], record_fields: None, class_ids: false,
        options: NONE, score: class::pearson_corrcoef },
    MetricSpec { name: "spearman_corrcoef", aliases: &["spearman"], summary: "Spearman rho with average ranks for ties (scipy.stats.spearmanr)", targets: "number", kinds: &[Num], record_fields: None, class_ids: false,
        options: NONE, score: class::spearman_corrcoef },
    MetricSpec { name: "squad", aliases: &[], summary: "SQuAD exact match and F1, max over answers (T5 squad)", targets: "string or list of answer strings", kinds: TEXT, record_fields: None, class_ids: false,
        options: NONE, score: gen::squad },
    MetricSpec { name: "trivia_qa", aliases: &[], summary: "EM and F1 with TriviaQA normalisation (T5 trivia_qa)", targets: "string or list of answer strings", kinds: TEXT, record_fields: None, class_ids: false,
        options: NONE, score: gen::trivia_qa },
    MetricSpec { name: "record", aliases: &[], summary: "ReCoRD: first row per group, then SQuAD EM/F1 (T5 deduplicate_metric(squad))", targets: "{\"group\": id, \"value\": [answers]}", kinds: TEXT, record_fields: Some(&["group", "value"]), class_ids: false,
        options: NONE, score: grouped::record },
    MetricSpec { name: "multirc", aliases: &[], summary: "MultiRC: F1 over all answers and exact match per question (T5)", targets: "{\"group\": question id, \"value\": label}", kinds: CLASS, record_fields: Some(&["group", "value"]), class_ids: false,
        options: &[opt("labels", Labels, "False,True", "labels for ids 0 and 1"), STRIP, LOWERCASE], score: grouped::multirc },
    MetricSpec { name: "wsc_simple", aliases: &[], summary: "WSC: 1 where the prediction names the referent (lowercased, determiners dropped, word sets equal or nested), 0 where not, -1 when empty; accuracy against the label (T5 wsc_simple postprocessor + accuracy)", targets: "{\"referent\": candidate text, \"label\": 0 or 1}", kinds: TEXT, record_fields: Some(&["referent", "label"]), class_ids: false,
        options: NONE, score: grouped::wsc_simple },
    MetricSpec { name: "mean_group_metric", aliases: &[], summary: "mean of an inner metric over groups (T5 mean_group_metric)", targets: "{\"group\": id, \"value\": target}", kinds: &[], record_fields: None, class_ids: false,
        options: &[opt("metric", OptionKind::Metric, "all_match", "the inner metric; its options pass through")], score: grouped::mean_group },
    MetricSpec { name: "all_match", aliases: &[], summary: "100 if every prediction equals its target, else 0 (T5 all_match)", targets: "string", kinds: &[], record_fields: None, class_ids: false,
        options: &[STRIP, LOWERCASE], score: class::all_match },
    MetricSpec { name: "bleu", aliases: &["corpus_bleu"], summary: "corpus BLEU (sacrebleu 2.6 corpus_bleu; T5 settings by default)", targets: "string or list of reference strings", kinds: TEXT, record_fields: None, class_ids: false,
        options: &[opt("tokenize", TOKENIZE, "intl", "13a, intl or none"), opt("smooth_method", SMOOTH, "exp", "none, floor, add-k or exp"), SMOOTH_VALUE, BLEU_LOWERCASE, opt("use_effective_order", Bool, "false", "average only over orders with n-grams")], score: gen::bleu },
    MetricSpec { name: "sentence_bleu", aliases: &[], summary: "mean of per-sentence BLEU (sacrebleu sentence_bleu)", targets: "string or list of reference strings", kinds: TEXT, record_fields: None, class_ids: false,
        options: &[opt("tokenize", TOKENIZE, "13a", "13a, intl or none"), opt("smooth_method", SMOOTH, "exp", "none, floor, add-k or exp"), SMOOTH_VALUE, BLEU_LOWERCASE, opt("use_effective_order", Bool, "true", "average only over orders with n-grams")], score: gen::sentence_bleu },
    MetricSpec { name: "rouge", aliases: &[], summary: "mean ROUGE F-measure over examples (rouge_score 0.1.2; T5 rouge without bootstrap)", targets: "string", kinds: TEXT, record_fields: None, class_ids: false,
        options: &[opt("rouge_types", ROUGE_TYPES, "rouge1,rouge2,rougeLsum", "comma-separated rougeN, rougeL, rougeLsum"), opt("use_stemmer", Bool, "false", "NLTK Porter stemmer on tokens longer than 3"), opt("prepare_summary", Bool, "true", "T5's \" . \" -> \" .\\n\" before scoring")], score: gen::rouge },
    MetricSpec { name: "mrr10", aliases: &["ms_marco_mrr", "mrr@10"], summary: "MS MARCO MRR@10 (msmarco_eval compute_metrics)", targets: "relevant passage id or list of ids; predictions: JSON list or whitespace-separated ranked ids", kinds: TEXT, record_fields: None, class_ids: false,
        options: NONE, score: gen::mrr10 },
    MetricSpec { name: "conll_exact_match", aliases: &["ner_exact_match"], summary: "sentence-level exact match of whitespace-tokenized tag/entity sequences", targets: "string", kinds: TEXT, record_fields: None, class_ids: false,
        options: NONE, score: class::conll_exact_match },
    MetricSpec { name: "rank_classification", aliases: &[], summary: "accuracy (and F1/AUC) of the best-scored choice (T5 rank_classification)", targets: "{\"idx\": [input, choice], \"is_correct\": bool, \"weight\": 1, \"length\": 1}; predictions: log-likelihood per line", kinds: CLASS, record_fields: None, class_ids: false,
        options: &[opt_none("num_classes", Count { min: 1 }, "choices per example; empty = variable"), opt("normalize_by_target_length", Bool, "false", "divide scores by target length")], score: grouped::rank_classification },
    MetricSpec { name: "meteor", aliases: &[], summary: "METEOR as nltk meteor_score (exact, Porter stem, WordNet synonyms when wordnet= is given)", targets: "string or list of reference strings", kinds: TEXT, record_fields: None, class_ids: false,
        options: &[opt("alpha", UNIT, "0.9", "precision/recall weight"), opt("beta", Number { min: 0.0, max: f64::INFINITY }, "3", "fragmentation exponent"), opt("gamma", UNIT, "0.5", "fragmentation weight"), opt_none("wordnet", OptionKind::Directory, "directory of WordNet 3.0 dict files (index.*, data.*, *.exc)")], score: gen::meteor },
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

/// The metric a name or alias names.
pub fn metric(name: &str) -> Option<&'static MetricSpec> {
    METRICS.iter().find(|m| m.is_named(name))
}

/// The metric that `spec`'s option of kind `Metric` names (given, else its
/// default): `mean_group_metric`'s inner metric. `None` for a metric
/// without such an option.
pub fn inner_metric(
    spec: &MetricSpec,
    given: Option<&str>,
) -> Result<Option<&'static MetricSpec>, MetricError> {
    let Some(o) = spec
        .options
        .iter()
        .find(|o| matches!(o.kind, OptionKind::Metric))
    else {
        return Ok(None);
    };
    let name = given.filter(|v| !v.is_empty()).or(o.default).unwrap_or("");
    let inner = metric(name).ok_or_else(|| bad(o.name, format!("`{name}` is not a metric")))?;
    if inner
        .options
        .iter()
        .any(|x| matches!(x.kind, OptionKind::Metric))
    {
        return Err(bad(o.name, format!("{} cannot nest itself", spec.name)));
    }
    Ok(Some(inner))
}

/// The inner metric named by the options' `metric`, if `spec` takes one.
fn inner_of(
    spec: &MetricSpec,
    options: &Options,
) -> Result<Option<&'static MetricSpec>, MetricError> {
    let given = spec
        .options
        .iter()
        .find(|o| matches!(o.kind, OptionKind::Metric))
        .and_then(|o| options.get(o.name));
    inner_metric(spec, given)
}

/// Resolves `name` and rejects options it does not take, and values its
/// schema refuses, before any input is read.
pub fn check_options(name: &str, options: &Options) -> Result<&'static MetricSpec, MetricError> {
    let spec = metric(name).ok_or_else(|| MetricError::UnknownMetric(name.to_string()))?;
    let inner = inner_of(spec, options)?;
    spec.check_options(options, inner)?;
    Ok(spec)
}

/// Computes metric `name` over paired predictions and targets.
pub fn compute(
    name: &str,
    predictions: &[String],
    targets: &[Value],
    options: &Options,
) -> Result<Report, MetricError> {
    let spec = metric(name).ok_or_else(|| MetricError::UnknownMetric(name.to_string()))?;
    let inner = inner_of(spec, options)?;
    spec.run(predictions, targets, options, inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meteor::MeteorConfig;

    #[test]
    fn names_and_aliases_are_unique() {
        let mut all = known_metrics().to_vec();
        all.sort_unstable();
        let n = all.len();
        all.dedup();
        assert_eq!(all.len(), n);
    }

    #[test]
    fn every_default_is_a_value_of_its_kind() {
        for m in METRICS {
            for o in m.options {
                if let Some(d) = o.default.filter(|d| !d.is_empty()) {
                    assert!(o.kind.check(d).is_ok(), "{}.{}: `{d}`", m.name, o.name);
                }
                if matches!(o.kind, Bool) {
                    assert!(o.default.is_some(), "{}.{} has no default", m.name, o.name);
                }
            }
        }
    }

    #[test]
    fn meteor_schema_defaults_are_nltks() {
        let m = metric("meteor").unwrap();
        let d = MeteorConfig::default();
        for (k, v) in [("alpha", d.alpha), ("beta", d.beta), ("gamma", d.gamma)] {
            let s = m.option(k, None).unwrap().default.unwrap();
            assert_eq!(s.parse::<f64>().unwrap(), v, "{k}");
        }
    }

    #[test]
    fn record_metrics_score_records_and_class_id_metrics_take_labels() {
        for m in METRICS {
            if m.class_ids {
                assert!(m.option("labels", None).is_some(), "{}", m.name);
                assert_eq!(m.kinds, CLASS, "{}", m.name);
            }
        }
        assert_eq!(
            metric("wsc_simple").unwrap().record_fields,
            Some(&["referent", "label"][..])
        );
    }

    #[test]
    fn values_are_refused_by_the_schema_before_scoring() {
        let o = Options::parse(&["tokenize=latin"]).unwrap();
        let e = check_options("bleu", &o).unwrap_err();
        assert_eq!(
            e.to_string(),
            "option `tokenize`: `latin` is not 13a, intl or none"
        );
        let o = Options::parse(&["alpha=2"]).unwrap();
        assert!(check_options("meteor", &o).is_err());
        let o = Options::parse(&["metric=mean_group_metric"]).unwrap();
        let e = check_options("mean_group_metric", &o).unwrap_err();
        assert_eq!(
            e.to_string(),
            "option `metric`: mean_group_metric cannot nest itself"
        );
        // An inner metric's option passes through; an unknown one does not.
        let o = Options::parse(&["metric=accuracy", "labels=a,b"]).unwrap();
        assert!(check_options("mean_group_metric", &o).is_ok());
        let o = Options::parse(&["metric=accuracy", "tokenize=13a"]).unwrap();
        assert!(check_options("mean_group_metric", &o).is_err());
    }
}
