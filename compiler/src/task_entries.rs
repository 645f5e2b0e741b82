//! Single task entries -> IR: `metrics` (checked against the metric
//! registry and the target kind) and `decode`. `source` is `check_source`.

use crate::ast::{self, Value};
use crate::diagnostic::{suggestion, Diagnostic};
use crate::ir::{Decode, Metric, TargetKind};
use crate::metric_specs;
use crate::value;
use indexmap::IndexMap;

pub(crate) fn metric(
    c: &ast::Call,
    kind: TargetKind,
    diags: &mut Vec<Diagnostic>,
) -> Option<Metric> {
    let Some(spec) = metric_specs::metric(&c.name.node) else {
        diags.push(
            Diagnostic::error(
                "exc::check::unknown_metric",
                format!("unknown metric `{}`", c.name.node),
                c.name.span,
            )
            .label("not a metric")
            .help(
                suggestion(&c.name.node, metric_specs::metric_names()).unwrap_or_else(|| {
                    format!(
                        "`exc metric --list` shows them all: {}",
                        metric_specs::metric_names().collect::<Vec<_>>().join(", ")
                    )
                }),
            ),
        );
        return None;
    };
    let name = spec.info.name;
    if !spec.kinds.is_empty() && !spec.kinds.contains(&kind) {
        let wants: Vec<&str> = spec
            .kinds
            .iter()
            .map(|k| metric_specs::kind_name(*k))
            .collect();
        diags.push(
            Diagnostic::error(
                "exc::check::metric_target_mismatch",
                format!(
                    "metric `{}` scores {}, but this task's target is {}",
                    c.name.node,
                    wants.join(" or "),
                    metric_specs::kind_name(kind)
                ),
                c.span,
            )
            .label("does not fit the target")
            .help(match spec.kinds.first() {
                Some(TargetKind::Number) => {
                    "add `postprocess string_to_float` if the target is a number written as text"
                }
                Some(TargetKind::Class) => {
                    "make the target a class field (`label: class[...]`), or use `accuracy`"
                }
                _ => "use a metric for this kind of target",
            }),
        );
        return None;
    }
    let mut options = IndexMap::new();
    for a in &c.args {
        let Some(n) = &a.name else {
            diags.push(
                Diagnostic::error(
                    "exc::check::bad_argument",
                    format!("options of `{name}` are named"),
                    a.value.span,
                )
                .label("unnamed")
                .help("write `name = value`"),
            );
            continue;
        };
        let Some((_, default, _)) = spec.info.options.iter().find(|(o, _, _)| *o == n.node) else {
            let names: Vec<&str> = spec.info.options.iter().map(|(o, _, _)| *o).collect();
            diags.push(
                Diagnostic::error(
                    "exc::check::unknown_metric_option",
                    format!("metric `{name}` has no option `{}`", n.node),
                    n.span,
                )
                .label("unknown option")
                .help(
                    suggestion(&n.node, names.iter().copied()).unwrap_or_else(|| {
                        if names.is_empty() {
                            format!("`{name}` takes no options")
                        } else {
                            format!("its options are: {}", names.join(", "))
                        }
                    }),
                ),
            );
            continue;
        };
        // The registry takes options as strings; a boolean option must be given as one.
        let is_bool = matches!(*default, "true" | "false");
        let text = match &a.value.node {
            Value::Bool(b) => Some(b.to_string()),
            Value::Str(s) | Value::Word(s) if !is_bool => Some(s.clone()),
            Value::Num(_) if !is_bool => Some(value::show(&a.value.node)),
            _ => None,
        };
        let Some(text) = text else {
            diags.push(
                Diagnostic::error(
                    "exc::check::bad_argument",
                    format!(
                        "option `{}` of `{name}` takes {}",
                        n.node,
                        if is_bool { "true or false" } else { "a value" }
                    ),
                    a.value.span,
                )
                .label("here")
                .help(format!(
                    "`exc metric --list` describes the options of `{name}`"
                )),
            );
            continue;
        };
        // Values are checked by the metric itself: score one trivial example and
        // report an option it rejects (other errors only say the probe was too trivial).
        let mut probe = exc_metrics::registry::Options::default();
        probe.0.insert(n.node.clone(), text.clone());
        let probe_result = exc_metrics::registry::compute(
            name,
            &["a".to_string()],
            &[serde_json::json!("a")],
            &probe,
        );
        if let Err(e @ exc_metrics::registry::MetricError::BadOption { .. }) = probe_result {
            diags.push(
                Diagnostic::error(
                    "exc::check::bad_argument",
                    format!("bad value for option `{}` of `{name}`", n.node),
                    a.value.span,
                )
                .label("here")
                .help(e.to_string()),
            );
            continue;
        }
        options.insert(n.node.clone(), serde_json::Value::String(text));
    }
    Some(Metric {
        name: name.to_string(),
        options,
    })
}

/// Metrics that score class ids: their `labels` option maps a text to its id.
const CLASS_ID_METRICS: &[&str] = &[
    "f1",
    "f1_with_invalid",
    "mean_multiclass_f1",
    "matthews_corrcoef",
];

/// Gives a class-id metric of a class target the class names as `labels`
/// (id = position, as T5's `label_to_id` postprocessing does) when the task
/// names none: without them the metric would read the rendered class names
/// as integer ids and fail on every row (F1), or count each distinct invalid
/// prediction as its own class (MCC) where T5 maps them all to one.
/// `Err` with the name when one holds a comma, which the comma-separated
/// `labels` cannot carry.
pub(crate) fn class_labels(m: &mut Metric, names: &[String]) -> Result<(), String> {
    if !CLASS_ID_METRICS.contains(&m.name.as_str()) || m.options.contains_key("labels") {
        return Ok(());
    }
    if let Some(n) = names.iter().find(|n| n.contains(',')) {
        return Err(n.clone());
    }
    m.options
        .insert("labels".into(), serde_json::Value::String(names.join(",")));
    Ok(())
}

pub(crate) fn decode(c: &ast::Call, kind: TargetKind, diags: &mut Vec<Diagnostic>) -> Decode {
    let num = |name: &str, pos: usize, default: f64| {
        c.args
            .iter()
            .find(|a| a.name.as_ref().is_some_and(|n| n.node == name))
            .or_else(|| c.args.iter().filter(|a| a.name.is_none()).nth(pos))
            .and_then(|a| match a.value.node {
                Value::Num(n) => Some(n.value),
                _ => None,
            })
            .unwrap_or(default)
    };
    match c.name.node.as_str() {
        "greedy" => Decode::Greedy,
        "beam" => Decode::Beam {
            size: num("size", 0, 4.0).max(1.0) as usize,
            alpha: num("alpha", 1, 0.6),
        },
        "rank_classification" if kind == TargetKind::Class => Decode::RankClassification,
        "rank_classification" => {
            diags.push(
                Diagnostic::error(
                    "exc::check::metric_target_mismatch",
                    "rank classification needs a class-label target",
                    c.span,
                )
                .label("target is not a class")
                .help("declare the target field as `class[...]`"),
            );
            Decode::Greedy
        }
        other => {
            diags.push(
                Diagnostic::error(
                    "exc::check::unknown_decode",
                    format!("unknown decoding `{other}`"),
                    c.name.span,
                )
                .label("not a decoding method")
                .help("use `greedy`, `beam(size = 4, alpha = 0.6)` or `rank_classification`"),
            );
            Decode::Greedy
        }
    }
}
