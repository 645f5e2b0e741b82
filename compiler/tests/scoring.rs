//! A task's `metrics` and `postprocess`, checked against the metric specs
//! (`exc_metrics::METRICS`): option values by their typed schema, a
//! `mean_group_metric`'s inner metric and the options it passes through,
//! and only the postprocessors evaluation applies.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use exc_compiler::check_task::check_task_text;
use exc_compiler::diagnostic::Diagnostic;
use exc_compiler::ir::{TargetKind, Task};

const TEXT: &str =
    r#"fields { document: text, summary: text } input "summarize: {document}" target summary"#;
const CLASS: &str =
    r#"fields { premise: text, label: class[yes, no] } input "{premise}" target label"#;

fn check(body: &str) -> (Option<Task>, Vec<Diagnostic>) {
    let (tasks, diags) = check_task_text(&format!("task t {{ {body} }}"), "t.task");
    (tasks.into_values().next(), diags)
}

fn errors(body: &str) -> Vec<(String, String)> {
    let (_, diags) = check(body);
    assert!(!diags.is_empty(), "`{body}` checked cleanly");
    diags
        .into_iter()
        .map(|d| (d.message, d.help.unwrap_or_default()))
        .collect()
}

fn clean(body: &str) -> Task {
    let (task, diags) = check(body);
    assert!(diags.is_empty(), "{diags:?}");
    task.unwrap()
}

#[test]
fn option_values_are_checked_by_their_kind() {
    let e = errors(&format!("{TEXT} metrics bleu(tokenize = \"latin\")"));
    assert_eq!(e[0].0, "bad value for option `tokenize` of `bleu`");
    assert_eq!(
        e[0].1,
        "option `tokenize`: `latin` is not 13a, intl or none"
    );

    let e = errors(&format!("{TEXT} metrics meteor(alpha = 2)"));
    assert_eq!(e[0].1, "option `alpha`: `2` is not between 0 and 1");

    let e = errors(&format!(
        "{TEXT} metrics rouge(rouge_types = \"rouge1,rougeX\")"
    ));
    assert_eq!(
        e[0].1,
        "option `rouge_types`: `rougeX` is not rougeN, rougeL or rougeLsum"
    );

    let e = errors(&format!("{TEXT} metrics rouge(use_stemmer = \"yes\")"));
    assert_eq!(
        e[0].0,
        "option `use_stemmer` of `rouge` takes true or false"
    );

    let e = errors(&format!("{CLASS} metrics macro_f1(num_classes = 0)"));
    assert_eq!(e[0].1, "option `num_classes`: `0` is less than 1");
}

#[test]
fn good_options_reach_the_plan_as_the_metric_reads_them() {
    let t = clean(&format!(
        "{TEXT} metrics rouge(use_stemmer = true, rouge_types = \"rougeL\"), meteor(alpha = 0.5), bleu(smooth_method = floor, smooth_value = 0.1)"
    ));
    let opts: Vec<String> = t
        .metrics
        .iter()
        .map(|m| serde_json::to_string(&m.options).unwrap())
        .collect();
    assert_eq!(
        opts,
        [
            r#"{"use_stemmer":"true","rouge_types":"rougeL"}"#,
            r#"{"alpha":"0.5"}"#,
            r#"{"smooth_method":"floor","smooth_value":"0.1"}"#,
        ]
    );
}

#[test]
fn mean_group_metric_takes_its_inner_metrics_options() {
    let group = r#"fields { q: text, a: text } input "{q}" target a"#;
    let t = clean(&format!(
        "{group} metrics mean_group_metric(metric = sequence_accuracy, lowercase = true)"
    ));
    assert_eq!(t.metrics[0].options["lowercase"], "true");

    let e = errors(&format!(
        "{group} metrics mean_group_metric(metric = squad, lowercase = true)"
    ));
    assert_eq!(
        e[0].0,
        "metric `mean_group_metric` has no option `lowercase`"
    );

    let e = errors(&format!("{group} metrics mean_group_metric(metric = nope)"));
    assert_eq!(e[0].1, "option `metric`: `nope` is not a metric");

    let e = errors(&format!(
        "{group} metrics mean_group_metric(metric = mean_group_metric)"
    ));
    assert_eq!(
        e[0].1,
        "option `metric`: mean_group_metric cannot nest itself"
    );
}

#[test]
fn every_metric_is_accepted_for_the_kinds_its_spec_names() {
    for spec in exc_metrics::METRICS {
        if spec.record_fields.is_some() {
            continue; // need `references { … }`; `record_metrics_need_their_fields`
        }
        let fits_class = spec.fits(TargetKind::Class);
        let fits_text = spec.fits(TargetKind::Text);
        let (_, d) = check(&format!("{CLASS} metrics {}", spec.name));
        assert_eq!(
            d.is_empty(),
            fits_class,
            "{} on a class target: {d:?}",
            spec.name
        );
        let (_, d) = check(&format!("{TEXT} metrics {}", spec.name));
        assert_eq!(
            d.is_empty(),
            fits_text,
            "{} on a text target: {d:?}",
            spec.name
        );
    }
}

#[test]
fn record_metrics_need_their_fields() {
    let wsc =
        r#"fields { text: text, span1_text: text, label: bool } input "{text}" target span1_text"#;
    clean(&format!(
        "{wsc} references {{ referent: span1_text, label: label }} metrics wsc_simple"
    ));
    let e = errors(&format!(
        "{wsc} references {{ referent: span1_text }} metrics wsc_simple"
    ));
    assert_eq!(e[0].0, "metric `wsc_simple` needs reference field `label`");
}

#[test]
fn class_id_metrics_get_the_class_names_as_labels() {
    let t = clean(&format!("{CLASS} metrics f1, accuracy, matthews"));
    assert_eq!(t.metrics[0].options["labels"], "yes,no");
    assert!(t.metrics[1].options.is_empty());
    assert_eq!(t.metrics[2].options["labels"], "yes,no");
}

#[test]
fn only_postprocessors_evaluation_applies_are_accepted() {
    // `squad_answer` was accepted once and did nothing at evaluation.
    let e = errors(&format!(
        "{TEXT} postprocess strip | squad_answer metrics squad"
    ));
    assert_eq!(e[0].0, "unknown postprocessor `squad_answer`");
    let t = clean(&format!(
        "{TEXT} postprocess strip | lower | string_to_float metrics pearson"
    ));
    assert_eq!(t.target_kind, TargetKind::Number);
    let names: Vec<&str> = t.postprocess.iter().map(|p| p.name.as_str()).collect();
    assert!(exc_metrics::postprocess::steps(&names).is_ok());
}
