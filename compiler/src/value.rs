//! Literal values written in the language (samples, options, sweeps): to JSON,
//! back to text, and checked against a field type.

use crate::ast::Value;
use crate::diagnostic::{suggestion, Diagnostic};
use crate::ir::Type;
use crate::source::Span;

pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Str(s) | Value::Word(s) => J::String(s.clone()),
        Value::Var(s) => J::String(format!("${s}")),
        Value::Num(n) if n.is_int && n.value.abs() < 9.0e15 => J::from(n.value as i64),
        Value::Num(n) => serde_json::Number::from_f64(n.value).map_or(J::Null, J::Number),
        Value::Bool(b) => J::Bool(*b),
        Value::Null => J::Null,
        Value::List(items) => J::Array(items.iter().map(|x| to_json(&x.node)).collect()),
        Value::Record(entries) => J::Object(
            entries
                .iter()
                .map(|(k, x)| (k.node.clone(), to_json(&x.node)))
                .collect(),
        ),
    }
}

/// The value as it would be written.
pub fn show(v: &Value) -> String {
    match v {
        Value::Str(s) => format!("{s:?}"),
        Value::Word(s) => s.clone(),
        Value::Var(s) => format!("${s}"),
        Value::Num(n) if n.is_int => format!("{}", n.value as i64),
        Value::Num(n) => format!("{}", n.value),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        Value::List(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|x| show(&x.node))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Record(entries) => format!(
            "{{ {} }}",
            entries
                .iter()
                .map(|(k, x)| format!("{}: {}", show_key(&k.node), show(&x.node)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A record key as it can be written back: bare when it is a name (`label`),
/// quoted otherwise (`"1"`, `""`).
fn show_key(k: &str) -> String {
    let mut chars = k.chars();
    let name = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if name {
        k.to_string()
    } else {
        format!("{k:?}")
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Str(_) => "a string",
        Value::Word(_) => "a bare word",
        Value::Var(_) => "a variable",
        Value::Num(n) if n.is_int => "an int",
        Value::Num(_) => "a float",
        Value::Bool(_) => "a bool",
        Value::Null => "null",
        Value::List(_) => "a list",
        Value::Record(_) => "a record",
    }
}

/// Check a sample value against the schema, reporting each mismatch at its place.
pub fn check_against(v: &Value, span: Span, ty: &Type, at: &str, diags: &mut Vec<Diagnostic>) {
    let mismatch = |diags: &mut Vec<Diagnostic>| {
        let name = if at.is_empty() { "the sample" } else { at };
        diags.push(
            Diagnostic::error(
                "exc::check::sample_mismatch",
                format!(
                    "`{name}` should be {}, but the sample has {}",
                    ty.describe(),
                    kind(v)
                ),
                span,
            )
            .label(format!("expected {}", ty.describe()))
            .help("samples are rows in the dataset's own schema, as declared in `fields`"),
        );
    };
    match (ty, v) {
        (Type::Optional { .. }, Value::Null) => {}
        (Type::Optional { of }, _) => check_against(v, span, of, at, diags),
        (Type::Text, Value::Str(_))
        | (Type::Int, Value::Num(crate::ast::Number { is_int: true, .. }))
        | (Type::Float, Value::Num(_))
        | (Type::Bool, Value::Bool(_)) => {}
        (Type::Class { names }, Value::Num(n)) => {
            let ok = n.is_int
                && (n.value == -1.0 || (n.value >= 0.0 && (n.value as usize) < names.len()));
            if !ok {
                diags.push(
                    Diagnostic::error(
                        "exc::check::sample_mismatch",
                        format!("`{at}` is {}, not a class id of {}", show(v), ty.describe()),
                        span,
                    )
                    .label("no such class")
                    .help(format!(
                        "class ids run from 0 to {} (-1 means unlabelled)",
                        names.len().saturating_sub(1)
                    )),
                );
            }
        }
        (Type::Class { names }, Value::Str(s)) if names.contains(s) => {}
        (Type::List { of }, Value::List(items)) => {
            for (i, item) in items.iter().enumerate() {
                check_against(&item.node, item.span, of, &format!("{at}[{i}]"), diags);
            }
        }
        (Type::Record { fields }, Value::Record(entries)) => {
            for (k, x) in entries {
                let path = if at.is_empty() {
                    k.node.clone()
                } else {
                    format!("{at}.{}", k.node)
                };
                match fields.get(&k.node) {
                    Some(t) => check_against(&x.node, x.span, t, &path, diags),
                    None => diags.push(
                        Diagnostic::error(
                            "exc::check::sample_mismatch",
                            format!("the sample has `{path}`, which is not a declared field"),
                            k.span,
                        )
                        .label("unknown field")
                        .help(
                            suggestion(&k.node, fields.keys().map(String::as_str)).unwrap_or_else(
                                || "declare it in `fields`, or remove it from the sample".into(),
                            ),
                        ),
                    ),
                }
            }
            for (name, t) in fields {
                let present = entries.iter().any(|(k, _)| &k.node == name);
                if !present && !matches!(t, Type::Optional { .. }) {
                    let path = if at.is_empty() {
                        name.clone()
                    } else {
                        format!("{at}.{name}")
                    };
                    diags.push(
                        Diagnostic::error(
                            "exc::check::sample_mismatch",
                            format!("the sample has no `{path}`"),
                            span,
                        )
                        .label("missing field")
                        .help(format!(
                            "add `{name}: …`, or declare the field optional (`{name}: {}?`)",
                            t.describe()
                        )),
                    );
                }
            }
        }
        _ => mismatch(diags),
    }
}
