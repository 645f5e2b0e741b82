//! `lookup`: a key through a table of keys and values. Each list is a list
//! field of the row (ARC's `choices.label`) or written out in the task, so a
//! text column with a fixed set of values maps through a literal table:
//! `answer | lookup({ "1": "option1", "2": "option2", "": null })` (WinoGrande),
//! `answer | lookup(["A", "B", "C", "D"], options)` (RACE).
//!
//! Written values make the result a class over them (so rank classification
//! and `label_to_id` know the choices, as with `names`); a `null` value marks
//! a key as unlabelled, the class id -1 that renders as `<unk>`.

use super::{arg, bad_arg, fail, not_mine, Cx, Def};
use crate::ast::{self, Value};
use crate::diagnostic::Diagnostic;
use crate::ir::{Func, Table, Type};
use crate::render::{to_text, RenderError, V};
use crate::source::{Span, Spanned};
use crate::types::{is_scalar, Scope};

const FORMS: &str = "`lookup({ \"1\": \"option1\", \"2\": \"option2\" })`, or `lookup(keys, values)` where each is a list field or a list such as `[\"A\", \"B\"]`";

pub(super) const LOOKUP: Def = Def {
    name: "lookup",
    usage: "key | lookup(keys, values), key | lookup({ 'k': 'v' })",
    takes: is_scalar,
    wants: "a scalar key",
    sees_null: false,
    check: |c| {
        let (keys, values, out) = lookup_args(c.call, c.scope)?;
        Ok((Func::Lookup { keys, values }, out))
    },
    eval: eval_lookup,
};

fn eval_lookup(f: &Func, v: V, cx: &Cx<'_>) -> Result<V, RenderError> {
    let Func::Lookup { keys, values } = f else {
        return Err(not_mine(f, cx));
    };
    let key = to_text(&v, cx.text)?;
    let (ks, vs) = (table(cx, keys)?, table(cx, values)?);
    let mut found = None;
    for (i, k) in ks.iter().enumerate() {
        if to_text(k, cx.text)? == key {
            found = Some(i);
            break;
        }
    }
    let Some(i) = found else {
        return fail(
            cx,
            format!(
                "\"{key}\" is not among the keys {}",
                show_table(keys, &ks, cx)?
            ),
        );
    };
    let len = vs.len();
    match (values, vs.into_iter().nth(i)) {
        // Written values are a class over them; `null` is unlabelled (-1).
        (Table::Literal(written), Some(x)) => {
            let names = class_names(written);
            let id = match &x {
                V::Text(t) => names.iter().position(|n| n == t).map_or(-1, |p| p as i64),
                _ => -1,
            };
            Ok(V::Class { id, names })
        }
        (Table::Field(_), Some(x)) => Ok(x),
        (_, None) => fail(
            cx,
            format!("\"{key}\" is key {i} but the values have {len}"),
        ),
    }
}

/// A `lookup` list: a list field of the row, or the task's own list (text).
fn table(cx: &Cx<'_>, t: &Table) -> Result<Vec<V>, RenderError> {
    match t {
        Table::Literal(items) => Ok(items
            .iter()
            .map(|s| s.as_ref().map_or(V::Null, |s| V::Text(s.clone())))
            .collect()),
        Table::Field(p) => match cx.env.field(p)? {
            V::List(items) => Ok(items),
            _ => fail(cx, format!("`{p}` is not a list")),
        },
    }
}

/// The keys in an error: the field's name and values, or the written list.
fn show_table(t: &Table, keys: &[V], cx: &Cx<'_>) -> Result<String, RenderError> {
    let quoted = keys
        .iter()
        .map(|k| to_text(k, cx.text).map(|k| format!("\"{k}\"")))
        .collect::<Result<Vec<_>, _>>()?
        .join(", ");
    Ok(match t {
        Table::Field(p) => format!("of `{p}` ({quoted})"),
        Table::Literal(_) => quoted,
    })
}

/// The keys, the values and the type of the result.
fn lookup_args(call: &ast::Call, scope: &Scope<'_>) -> Result<(Table, Table, Type), Diagnostic> {
    let first = arg(call, 0, "keys");
    let second = arg(call, 1, "values");
    let (keys, values) = match (first.map(|v| &v.node), second) {
        // `lookup({ key: value, … })`: one record, the pairs side by side.
        (Some(Value::Record(pairs)), None) => {
            let keys: Vec<(Span, Lit)> = pairs
                .iter()
                .map(|(k, _)| (k.span, Lit::Text(k.node.clone())))
                .collect();
            let values = pairs
                .iter()
                .map(|(_, v)| (v.span, literal(&v.node)))
                .collect();
            (Arg::Literal(keys), Arg::Literal(values))
        }
        (Some(_), Some(values)) => (
            list_arg(call, first, "keys")?,
            list_arg(call, Some(values), "values")?,
        ),
        _ => return Err(bad_arg(call, &format!("`lookup` takes {FORMS}"))),
    };
    for a in [&keys, &values] {
        if let Arg::Field(f) = a {
            if scope.lookup_path(f).is_none() {
                return Err(super::unknown_field(call, f, scope));
            }
        }
    }
    let keys = match keys {
        Arg::Field(k) => {
            match scope.lookup_path(&k).as_ref().map(Type::strip_optional) {
                Some(Type::List { of }) if is_scalar(of) => {}
                _ => {
                    return Err(bad_arg(
                        call,
                        &format!("the keys `{k}` must be a list of scalars: {FORMS}"),
                    ))
                }
            }
            Table::Field(k.as_str().into())
        }
        Arg::Literal(items) => Table::Literal(literal_keys(call, &items)?),
    };
    let (values, out) = match values {
        Arg::Field(v) => match scope.lookup_path(&v).as_ref().map(Type::strip_optional) {
            Some(Type::List { of }) => (Table::Field(v.as_str().into()), (**of).clone()),
            _ => {
                return Err(bad_arg(
                    call,
                    &format!("the values `{v}` must be a list: {FORMS}"),
                ))
            }
        },
        Arg::Literal(items) => {
            let values = literal_values(call, &items, true)?;
            let names = class_names(&values);
            if names.is_empty() {
                return Err(bad_arg(
                    call,
                    "every value is `null`; give at least one text value",
                ));
            }
            (Table::Literal(values), Type::Class { names })
        }
    };
    if let (Table::Literal(k), Table::Literal(v)) = (&keys, &values) {
        if k.len() != v.len() {
            return Err(Diagnostic::error(
                "exc::check::table_length_mismatch",
                format!("`lookup` has {} keys but {} values", k.len(), v.len()),
                call.span,
            )
            .label("keys and values differ in number")
            .help("give one value per key, in the same order; a record keeps each pair together: `lookup({ \"1\": \"option1\", \"2\": \"option2\" })`"));
        }
    }
    Ok((keys, values, out))
}

enum Arg {
    Field(String),
    /// Each element's span and value.
    Literal(Vec<(Span, Lit)>),
}

/// A written table entry.
enum Lit {
    Text(String),
    Null,
    /// A list or record: not a table entry.
    Other,
}

/// The distinct non-null values, in order: the names of the result's class.
fn class_names(values: &[Option<String>]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for v in values.iter().flatten() {
        if !names.contains(v) {
            names.push(v.clone());
        }
    }
    names
}

fn list_arg(call: &ast::Call, v: Option<&Spanned<Value>>, name: &str) -> Result<Arg, Diagnostic> {
    match v.map(|v| &v.node) {
        Some(Value::Word(w)) => Ok(Arg::Field(w.clone())),
        Some(Value::List(items)) => Ok(Arg::Literal(
            items.iter().map(|x| (x.span, literal(&x.node))).collect(),
        )),
        _ => Err(bad_arg(
            call,
            &format!("`{name}` is a list field or a written-out list: {FORMS}"),
        )),
    }
}

/// A scalar literal as the text it matches and renders as (Python's `str`).
fn literal(v: &Value) -> Lit {
    match v {
        Value::Str(s) | Value::Word(s) => Lit::Text(s.clone()),
        Value::Num(n) if n.is_int => Lit::Text(format!("{}", n.value as i64)),
        Value::Num(n) => Lit::Text(n.value.to_string()),
        Value::Bool(b) => Lit::Text(if *b { "True" } else { "False" }.into()),
        Value::Null => Lit::Null,
        _ => Lit::Other,
    }
}

fn literal_keys(
    call: &ast::Call,
    items: &[(Span, Lit)],
) -> Result<Vec<Option<String>>, Diagnostic> {
    let keys = literal_values(call, items, false)?;
    for (i, k) in keys.iter().enumerate() {
        if let Some(j) = keys.iter().take(i).position(|p| p == k) {
            let span = |n: usize| items.get(n).map_or(call.span, |(s, _)| *s);
            return Err(Diagnostic::error(
                "exc::check::duplicate_key",
                format!(
                    "`lookup` has the key \"{}\" twice",
                    k.as_deref().unwrap_or("")
                ),
                span(i),
            )
            .label("second time")
            .related(span(j), "first here")
            .help("each key maps to one value; remove one of them"));
        }
    }
    Ok(keys)
}

/// The entries as text; `null` only where `nulls` (values, not keys).
fn literal_values(
    call: &ast::Call,
    items: &[(Span, Lit)],
    nulls: bool,
) -> Result<Vec<Option<String>>, Diagnostic> {
    if items.is_empty() {
        return Err(bad_arg(call, &format!("the table is empty: {FORMS}")));
    }
    items
        .iter()
        .map(|(span, lit)| match lit {
            Lit::Text(t) => Ok(Some(t.clone())),
            Lit::Null if nulls => Ok(None),
            _ => Err(Diagnostic::error(
                "exc::check::bad_argument",
                if nulls {
                    "a `lookup` value is a string, a number or `null` (unlabelled)"
                } else {
                    "a `lookup` key is a string or a number"
                },
                *span,
            )
            .label("not a table entry")
            .help(format!("write it as text: {FORMS}"))),
        })
        .collect()
}
