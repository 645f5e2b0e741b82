//! Target (and prediction) shapes: the uniform inputs (strings and JSON
//! targets) read as what a metric computes on: texts, answer lists, groups,
//! class ids, numbers. Shape errors name the row.

use serde_json::Value;

use crate::classify::INVALID;
use crate::options::Opts;
use crate::postprocess::{parse_float, Clean, LabelMap};
use crate::report::MetricError;

/// Targets, predictions, and the rows whose prediction was not valid.
pub(crate) type Columns<T> = Result<(Vec<T>, Vec<T>, Vec<usize>), MetricError>;

pub(crate) fn bad_target(row: usize, message: impl Into<String>) -> MetricError {
    MetricError::BadTarget {
        row,
        message: message.into(),
    }
}

/// A target as one string: JSON strings as is, numbers and booleans as
/// written (so `1` and `"1"` agree).
pub(crate) fn text(row: usize, v: &Value) -> Result<String, MetricError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(if *b { "True" } else { "False" }.to_string()),
        _ => Err(bad_target(row, "expected a string")),
    }
}

/// Every target as one string, through `f`.
pub(crate) fn all_texts(
    targets: &[Value],
    f: impl Fn(String) -> String,
) -> Result<Vec<String>, MetricError> {
    targets
        .iter()
        .enumerate()
        .map(|(i, v)| text(i, v).map(&f))
        .collect()
}

/// A target as a list of strings (a single string is a list of one).
pub(crate) fn texts(row: usize, v: &Value) -> Result<Vec<String>, MetricError> {
    match v {
        Value::Array(a) => a.iter().map(|x| text(row, x)).collect(),
        _ => Ok(vec![text(row, v)?]),
    }
}

/// Every target as a list of strings.
pub(crate) fn all_lists(targets: &[Value]) -> Result<Vec<Vec<String>>, MetricError> {
    targets
        .iter()
        .enumerate()
        .map(|(i, v)| texts(i, v))
        .collect()
}

/// A non-empty list of gold answers.
pub(crate) fn answers(row: usize, v: &Value) -> Result<Vec<String>, MetricError> {
    let a = texts(row, v)?;
    if a.is_empty() {
        return Err(bad_target(row, "no gold answers"));
    }
    Ok(a)
}

/// A grouped target `{"group": g, "value": v}`; the group is compared by its
/// JSON text so that numbers and strings both work.
pub(crate) fn group(row: usize, v: &Value) -> Result<(String, Value), MetricError> {
    let o = v
        .as_object()
        .ok_or_else(|| bad_target(row, "expected an object with `group` and `value`"))?;
    let g = o
        .get("group")
        .ok_or_else(|| bad_target(row, "missing `group`"))?;
    let val = o
        .get("value")
        .or_else(|| o.get("answers"))
        .ok_or_else(|| bad_target(row, "missing `value`"))?;
    Ok((g.to_string(), val.clone()))
}

pub(crate) fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The `strip` and `lowercase` options.
pub(crate) fn clean(o: &Opts<'_>) -> Result<Clean, MetricError> {
    Ok(Clean {
        strip: o.bool("strip")?,
        lowercase: o.bool("lowercase")?,
    })
}

/// Targets and predictions as class ids: through `labels` when given, else
/// as integers. Unknown targets are errors; unknown predictions become
/// [`INVALID`] and are returned for reporting.
pub(crate) fn class_ids(preds: &[String], targets: &[Value], o: &Opts<'_>) -> Columns<i64> {
    let c = clean(o)?;
    let labels = o.list("labels").map(|l| LabelMap::new(&l, c));
    let lookup = |s: &str| match &labels {
        Some(m) => m.id(s),
        None => c.apply(s).trim().parse::<i64>().ok(),
    };
    let mut t = Vec::with_capacity(targets.len());
    for (row, v) in targets.iter().enumerate() {
        let s = text(row, v)?;
        let id = lookup(&s).ok_or_else(|| match &labels {
            Some(m) => bad_target(
                row,
                format!("`{s}` is not one of labels `{}`", m.labels().join(",")),
            ),
            None => bad_target(row, format!("`{s}` is not a class id; give labels=...")),
        })?;
        t.push(id);
    }
    let mut p = Vec::with_capacity(preds.len());
    let mut unknown = Vec::new();
    for (row, s) in preds.iter().enumerate() {
        match lookup(s) {
            Some(id) => p.push(id),
            None => {
                p.push(INVALID);
                unknown.push(row);
            }
        }
    }
    Ok((t, p, unknown))
}

/// Targets and predictions as numbers; an unparsable prediction is T5's
/// `string_to_float` default, -1, and is returned for reporting.
pub(crate) fn floats(preds: &[String], targets: &[Value]) -> Columns<f64> {
    let mut t = Vec::new();
    for (row, v) in targets.iter().enumerate() {
        let x = match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => parse_float(s),
            _ => None,
        };
        t.push(x.ok_or_else(|| bad_target(row, "expected a number"))?);
    }
    let mut p = Vec::new();
    let mut unknown = Vec::new();
    for (row, s) in preds.iter().enumerate() {
        p.push(parse_float(s).unwrap_or_else(|| {
            unknown.push(row);
            -1.0
        }));
    }
    Ok((t, p, unknown))
}

/// Ranked ids from a prediction line: a JSON list, or whitespace/comma
/// separated ids.
pub(crate) fn id_list(p: &str) -> Vec<String> {
    if let Ok(Value::Array(a)) = serde_json::from_str::<Value>(p) {
        return a
            .iter()
            .map(|x| match x {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
    }
    p.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}
