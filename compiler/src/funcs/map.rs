//! `map('…')`: each list element through a small template.

use super::{arg, bad_arg, fail, list, not_mine, str_arg, Cx, Def};
use crate::ast;
use crate::diagnostic::{suggestion, Diagnostic};
use crate::ir::{Func, MapPart, Type};
use crate::render::{from_json, to_text, Env, RenderError, V};
use crate::types::{check_hole, expr, is_scalar, Scope};
use serde_json::Value as Json;

pub(super) const MAP: Def = Def {
    name: "map",
    usage: "list | map('{} ({name})')",
    takes: list,
    wants: "a list",
    sees_null: false,
    check: |c| {
        let Type::List { of } = c.ty else {
            return Err(super::mismatch(c.call, c.ty, "a list"));
        };
        let parts = map_parts(c.call, of, c.scope)?;
        Ok((
            Func::Map { parts },
            Type::List {
                of: Box::new(Type::Text),
            },
        ))
    },
    eval: eval_map,
};

/// Parse and check a `map` template against the list's element type. `{}`,
/// `{0}` and `{field}` (a scalar field of the element) read the element;
/// any other hole is an expression typed with the element's fields in scope
/// ahead of the `each` names and the row's fields.
fn map_parts(call: &ast::Call, elem: &Type, scope: &Scope<'_>) -> Result<Vec<MapPart>, Diagnostic> {
    let template = str_arg(call, 0, "template")?;
    // Where the template's text starts in the file (after the quote); exact
    // unless the string holds escapes, and then still inside the string.
    let (file, base) = match arg(call, 0, "template") {
        Some(v) => (v.span.file, v.span.start + 1),
        None => (call.span.file, call.span.start),
    };
    let elem = elem.strip_optional();
    let mut vars: Vec<(String, Type)> = match elem {
        Type::Record { fields } => fields.iter().map(|(k, t)| (k.clone(), t.clone())).collect(),
        _ => Vec::new(),
    };
    vars.extend(scope.vars.iter().cloned());
    let inner = Scope {
        fields: scope.fields,
        vars,
    };
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut chars = template.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|&(_, c)| c) == Some('{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek().map(|&(_, c)| c) == Some('}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                // The hole runs to the first `}` outside a quoted string.
                let from = chars.peek().map_or(template.len(), |&(i, _)| i);
                let mut to = None;
                let mut quote: Option<char> = None;
                while let Some((i, k)) = chars.next() {
                    match (quote, k) {
                        (Some(_), '\\') => {
                            chars.next();
                        }
                        (Some(q), k) if k == q => quote = None,
                        (None, '\'' | '"') => quote = Some(k),
                        (None, '}') => {
                            to = Some(i);
                            break;
                        }
                        _ => {}
                    }
                }
                let Some(to) = to else {
                    return Err(bad_arg(call, &format!("`{template}` has an unclosed `{{`")));
                };
                if !text.is_empty() {
                    parts.push(MapPart::Text(std::mem::take(&mut text)));
                }
                let raw = template.get(from..to).unwrap_or("");
                let key = raw.trim();
                let key_at = base + from + (raw.len() - raw.trim_start().len());
                parts.push(map_hole(call, key, key_at, file, elem, &inner)?);
            }
            '}' => {
                return Err(bad_arg(
                    call,
                    &format!("`{template}` has a `}}` without `{{`"),
                ))
            }
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        parts.push(MapPart::Text(text));
    }
    Ok(parts)
}

/// One hole of a `map` template; `at` is where `key` starts in the file.
fn map_hole(
    call: &ast::Call,
    key: &str,
    at: usize,
    file: crate::source::FileId,
    elem: &Type,
    scope: &Scope<'_>,
) -> Result<MapPart, Diagnostic> {
    if key.is_empty() {
        if !is_scalar(elem) {
            return Err(bad_arg(
                call,
                &format!(
                    "`{{}}` needs scalar elements, these are {}",
                    elem.describe()
                ),
            ));
        }
        return Ok(MapPart::Whole);
    }
    if let Ok(i) = key.parse::<usize>() {
        return match elem {
            Type::List { of } if is_scalar(of) => Ok(MapPart::Index(i)),
            _ => Err(bad_arg(
                call,
                &format!(
                    "`{{{i}}}` indexes into each element, but they are {}",
                    elem.describe()
                ),
            )),
        };
    }
    // A scalar field of the element, as before holes took expressions.
    if let Type::Record { fields } = elem {
        if fields.get(key).is_some_and(is_scalar) {
            return Ok(MapPart::Field(key.to_string()));
        }
    }
    // A bare name neither the element nor the row has: say what the elements are.
    // At the hole, so a misspelt `zip` name is shown where it is used.
    let bare = key.chars().all(|c| c.is_alphanumeric() || c == '_');
    if bare && scope.lookup(key).is_none() {
        let span = crate::source::Span::new(file, at, at + key.len());
        let (message, help) = match elem {
            Type::Record { fields } => {
                let names: Vec<&str> = fields.keys().map(String::as_str).collect();
                (
                    format!("the elements have no field `{key}`"),
                    suggestion(key, names.iter().copied())
                        .unwrap_or_else(|| format!("their fields are: {}", names.join(", "))),
                )
            }
            _ => (
                format!(
                    "`{{{key}}}` names a field, but the elements are {}",
                    elem.describe()
                ),
                match elem {
                    Type::List { .. } => "write `{0}`, `{1}`, … for its items".to_string(),
                    _ => "write `{}` for the element itself".to_string(),
                },
            ),
        };
        return Err(
            Diagnostic::error("exc::check::unknown_field", message, span)
                .label("not a field of the elements")
                .help(help),
        );
    }
    match crate::syntax::parse_hole(file, at, key)? {
        ast::TemplatePart::Hole(e) => {
            let (lowered, ty) = expr(&e, scope)?;
            check_hole(&ty, &e)?;
            Ok(MapPart::Hole(lowered))
        }
        ast::TemplatePart::Cond(c) => {
            Ok(MapPart::Cond(Box::new(crate::check_cond::cond(&c, scope)?)))
        }
        ast::TemplatePart::Text(t) => Ok(MapPart::Text(t)),
    }
}

fn eval_map(f: &Func, v: V, cx: &Cx<'_>) -> Result<V, RenderError> {
    let Func::Map { parts } = f else {
        return Err(not_mine(f, cx));
    };
    let V::List(items) = v else {
        return fail(cx, "`map` needs a list");
    };
    let env = cx.env;
    let has_holes = parts
        .iter()
        .any(|p| matches!(p, MapPart::Hole(_) | MapPart::Cond(_)));
    let mut out = Vec::with_capacity(items.len());
    for item in &items {
        // Holes see the element's fields ahead of `each` names and the row.
        let inner = has_holes.then(|| {
            let mut vars: Vec<(&str, Json, Type)> = match item {
                V::Record(j, Type::Record { fields }) => fields
                    .iter()
                    .map(|(k, t)| {
                        (
                            k.as_str(),
                            j.get(k).cloned().unwrap_or(Json::Null),
                            t.clone(),
                        )
                    })
                    .collect(),
                _ => Vec::new(),
            };
            vars.extend(env.vars.iter().cloned());
            Env {
                task: env.task,
                row: env.row,
                vars,
                seed: env.seed,
            }
        });
        let mut s = String::new();
        for p in parts {
            match p {
                MapPart::Text(t) => s.push_str(t),
                MapPart::Whole => s.push_str(&to_text(item, cx.text)?),
                MapPart::Index(i) => match item {
                    V::List(xs) => match xs.get(*i) {
                        Some(x) => s.push_str(&to_text(x, cx.text)?),
                        None => return fail(cx, format!("element has no position {i}")),
                    },
                    _ => return fail(cx, format!("`{{{i}}}` needs list elements")),
                },
                MapPart::Field(f) => match item {
                    // Through the declared type, so a class field shows its name.
                    V::Record(j, Type::Record { fields }) => {
                        let field_ty = fields.get(f).cloned().unwrap_or(Type::Text);
                        let v = from_json(j.get(f).unwrap_or(&Json::Null), &field_ty, f)?;
                        s.push_str(&to_text(&v, cx.text)?);
                    }
                    _ => return fail(cx, format!("`{{{f}}}` needs record elements")),
                },
                MapPart::Hole(e) => match &inner {
                    Some(inner) => s.push_str(&to_text(&inner.eval(e)?, &e.text)?),
                    None => return fail(cx, format!("no scope for `{{{}}}`", e.text)),
                },
                MapPart::Cond(c) => match &inner {
                    Some(inner) => s.push_str(&inner.cond(c)?),
                    None => return fail(cx, "no scope for a conditional"),
                },
            }
        }
        out.push(V::Text(s));
    }
    Ok(V::List(out))
}
