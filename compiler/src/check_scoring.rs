//! How a task is scored -> IR: `postprocess`, `metrics` and `decode`,
//! checked against the metric library's specs (`exc_metrics::MetricSpec`:
//! names, the target kinds each fits, the record fields it reads, its
//! typed option schema) and the task's target kind.

use crate::ast::{self, Value};
use crate::diagnostic::{suggestion, Diagnostic};
use crate::ir::{self, Decode, Metric, TargetKind};
use crate::source::Span;
use crate::value;
use exc_metrics::postprocess::Postprocessor;
use exc_metrics::{MetricSpec, OptionKind};
use indexmap::IndexMap;

/// The postprocessors, checked, and the target kind the last one that
/// changes it produces (`None`: the target's own kind).
pub(crate) fn postprocess(
    calls: &[ast::Call],
    diags: &mut Vec<Diagnostic>,
) -> (Vec<Metric>, Option<TargetKind>) {
    let names = || Postprocessor::ALL.iter().map(|(n, _)| *n);
    let mut out = Vec::new();
    let mut kind = None;
    for c in calls {
        match Postprocessor::named(&c.name.node) {
            Some(p) => {
                kind = p.produces().or(kind);
                out.push(Metric {
                    name: c.name.node.clone(),
                    options: IndexMap::new(),
                });
            }
            None => diags.push(
                Diagnostic::error(
                    "exc::check::unknown_postprocessor",
                    format!("unknown postprocessor `{}`", c.name.node),
                    c.name.span,
                )
                .label("not a postprocessor")
                .help(suggestion(&c.name.node, names()).unwrap_or_else(|| {
                    let all: Vec<_> = names().collect();
                    format!("the postprocessors are: {}", all.join(", "))
                })),
            ),
        }
    }
    (out, kind)
}

/// The task's `metrics`: record targets first (each metric against the
/// `references { … }` fields), then each metric, then class labels.
pub(crate) struct Scoring<'a> {
    pub kind: TargetKind,
    /// What a class target renders to, in id order.
    pub class_names: Option<&'a [String]>,
    pub reference_fields: Option<&'a IndexMap<String, ir::Expr>>,
    pub references_span: Option<Span>,
    pub is_abstract: bool,
    pub task_span: Span,
}

pub(crate) fn metrics(
    calls: &[ast::Call],
    s: &Scoring<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Metric> {
    if !s.is_abstract {
        for c in calls {
            check_record_targets(c, s.reference_fields, s.references_span, diags);
        }
    }
    let mut metrics: Vec<Metric> = calls
        .iter()
        .filter_map(|c| metric(c, s.kind, diags))
        .collect();
    let Some(names) = s.class_names.filter(|_| s.kind == TargetKind::Class) else {
        return metrics;
    };
    for m in &mut metrics {
        if let Err(n) = class_labels(m, names) {
            diags.push(
                Diagnostic::error(
                    "exc::check::bad_argument",
                    format!(
                        "metric `{}` scores class ids, but class `{n}` has a comma, \
                         which its `labels` cannot hold",
                        m.name
                    ),
                    s.task_span,
                )
                .label("in this task")
                .help("rename the class without a comma, or use `accuracy`"),
            );
        }
    }
    metrics
}

fn metric_names() -> impl Iterator<Item = &'static str> {
    exc_metrics::known_metrics().iter().copied()
}

fn metric(c: &ast::Call, kind: TargetKind, diags: &mut Vec<Diagnostic>) -> Option<Metric> {
    let Some(spec) = exc_metrics::metric(&c.name.node) else {
        diags.push(
            Diagnostic::error(
                "exc::check::unknown_metric",
                format!("unknown metric `{}`", c.name.node),
                c.name.span,
            )
            .label("not a metric")
            .help(suggestion(&c.name.node, metric_names()).unwrap_or_else(|| {
                format!(
                    "`exc metric --list` shows them all: {}",
                    metric_names().collect::<Vec<_>>().join(", ")
                )
            })),
        );
        return None;
    };
    if !spec.fits(kind) {
        diags.push(target_mismatch(c, spec, kind));
        return None;
    }
    let inner = inner_metric(c, spec, diags)?;
    let mut options = IndexMap::new();
    for a in &c.args {
        if let Some((name, text)) = option(a, spec, inner, diags) {
            options.insert(name, serde_json::Value::String(text));
        }
    }
    Some(Metric {
        name: spec.name.to_string(),
        options,
    })
}

fn target_mismatch(c: &ast::Call, spec: &MetricSpec, kind: TargetKind) -> Diagnostic {
    let wants: Vec<&str> = spec.kinds.iter().map(|k| k.describe()).collect();
    Diagnostic::error(
        "exc::check::metric_target_mismatch",
        format!(
            "metric `{}` scores {}, but this task's target is {}",
            c.name.node,
            wants.join(" or "),
            kind.describe()
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
    })
}

/// The metric a `mean_group_metric(metric = …)` scores each group with,
/// whose options it takes too; `Some(None)` for other metrics.
fn inner_metric(
    c: &ast::Call,
    spec: &MetricSpec,
    diags: &mut Vec<Diagnostic>,
) -> Option<Option<&'static MetricSpec>> {
    let given = c.args.iter().find(|a| {
        a.name.as_ref().is_some_and(|n| {
            spec.option(&n.node, None)
                .is_some_and(|o| matches!(o.kind, OptionKind::Metric))
        })
    });
    let text = given.map(|a| match &a.value.node {
        Value::Str(s) | Value::Word(s) => s.clone(),
        other => value::show(other),
    });
    match exc_metrics::inner_metric(spec, text.as_deref()) {
        Ok(inner) => Some(inner),
        Err(e) => {
            let span = given.map_or(c.span, |a| a.value.span);
            diags.push(bad_value(spec.name, "metric", span, &e.to_string()));
            None
        }
    }
}

fn bad_value(metric: &str, option: &str, span: Span, why: &str) -> Diagnostic {
    Diagnostic::error(
        "exc::check::bad_argument",
        format!("bad value for option `{option}` of `{metric}`"),
        span,
    )
    .label("here")
    .help(why.to_string())
}

/// One `name = value` option, checked against the schema: its name, and
/// its value as the text the metric reads.
fn option(
    a: &ast::Arg,
    spec: &MetricSpec,
    inner: Option<&MetricSpec>,
    diags: &mut Vec<Diagnostic>,
) -> Option<(String, String)> {
    let name = spec.name;
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
        return None;
    };
    let Some(o) = spec.option(&n.node, inner) else {
        let names: Vec<&str> = spec
            .options
            .iter()
            .chain(inner.map_or(&[][..], |i| i.options))
            .map(|o| o.name)
            .collect();
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
        return None;
    };
    let is_bool = matches!(o.kind, OptionKind::Bool);
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
                    o.kind.describe()
                ),
                a.value.span,
            )
            .label("here")
            .help(format!(
                "`exc metric --list` describes the options of `{name}`"
            )),
        );
        return None;
    };
    // An empty value means "not given", as in `exc metric`.
    if let Err(why) = o
        .kind
        .check(&text)
        .or_else(|m| if text.is_empty() { Ok(()) } else { Err(m) })
    {
        let e = exc_metrics::MetricError::BadOption {
            option: n.node.clone(),
            message: why,
        };
        diags.push(bad_value(name, &n.node, a.value.span, &e.to_string()));
        return None;
    }
    Some((n.node.clone(), text))
}

/// Gives a class-id metric of a class target the class names as `labels`
/// (id = position, as T5's `label_to_id` postprocessing does) when the task
/// names none: without them the metric would read the rendered class names
/// as integer ids and fail on every row (F1), or count each distinct invalid
/// prediction as its own class (MCC) where T5 maps them all to one.
/// `Err` with the name when one holds a comma, which the comma-separated
/// `labels` cannot carry.
fn class_labels(m: &mut Metric, names: &[String]) -> Result<(), String> {
    let class_ids = exc_metrics::metric(&m.name).is_some_and(|s| s.class_ids);
    if !class_ids || m.options.contains_key("labels") {
        return Ok(());
    }
    if let Some(n) = names.iter().find(|n| n.contains(',')) {
        return Err(n.clone());
    }
    m.options
        .insert("labels".into(), serde_json::Value::String(names.join(",")));
    Ok(())
}

/// A metric that scores records (`wsc_simple`) needs `references { … }` with
/// its fields; a metric that scores text cannot read such references.
fn check_record_targets(
    c: &ast::Call,
    fields: Option<&IndexMap<String, ir::Expr>>,
    refs_span: Option<Span>,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(spec) = exc_metrics::metric(&c.name.node) else {
        return; // reported by `metric`
    };
    let name = spec.name;
    let related = |d: Diagnostic| match refs_span {
        Some(s) => d.related(s, "references declared here"),
        None => d,
    };
    match (spec.record_fields, fields) {
        (Some(want), Some(have)) => {
            let missing: Vec<String> = want
                .iter()
                .filter(|f| !have.contains_key(**f))
                .map(|f| format!("`{f}`"))
                .collect();
            if !missing.is_empty() {
                let d = Diagnostic::error(
                    "exc::check::missing_reference_field",
                    format!(
                        "metric `{name}` needs reference field{} {}",
                        if missing.len() > 1 { "s" } else { "" },
                        missing.join(", ")
                    ),
                    c.span,
                )
                .label("scores records")
                .help(format!("add them: {}", references_hint(want)));
                diags.push(related(d));
            }
        }
        (Some(want), None) => diags.push(
            Diagnostic::error(
                "exc::check::missing_reference_field",
                format!("metric `{name}` scores records, but the task has no `references {{ … }}`"),
                c.span,
            )
            .label("scores records")
            .help(format!("declare them: {}", references_hint(want))),
        ),
        (None, Some(_)) => {
            let d = Diagnostic::error(
                "exc::check::metric_target_mismatch",
                format!("metric `{name}` scores text, but `references {{ … }}` gives it records"),
                c.span,
            )
            .label("does not read records")
            .help("use `references EXPR` (a list of answers) with this metric, or a metric that reads records (`wsc_simple`)");
            diags.push(related(d));
        }
        (None, None) => {}
    }
}

/// `references { a: …, b: … }` for the fields a record metric wants.
fn references_hint(want: &[&str]) -> String {
    let fields: Vec<String> = want.iter().map(|f| format!("{f}: …")).collect();
    format!("`references {{ {} }}`", fields.join(", "))
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
