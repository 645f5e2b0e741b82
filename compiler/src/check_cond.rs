//! `{if TEST then A else B}`: typing a conditional's test and branches. A
//! test compares values that can be equal (text with text or a class name,
//! numbers with numbers, bools with bools), orders numbers only, and tests a
//! bare value only where truth is plain (a bool, a text or list being
//! non-empty, an optional value being present); anything else is refused
//! when the task is checked, with the spelling that works.

use crate::ast::{self, CmpOp, Value};
use crate::diagnostic::{suggestion, Diagnostic};
use crate::ir::{self, Branch, Operand, Part, Test, Type};
use crate::types::{self, Scope};

pub fn cond(c: &ast::Cond, scope: &Scope<'_>) -> Result<ir::Cond, Diagnostic> {
    Ok(ir::Cond {
        test: test(&c.test, scope)?,
        then: branch(&c.then, scope)?,
        otherwise: branch(&c.otherwise, scope)?,
    })
}

fn branch(b: &ast::Branch, scope: &Scope<'_>) -> Result<Branch, Diagnostic> {
    Ok(match b {
        ast::Branch::Template(t) => Branch::Template(template_parts(t, scope)?),
        ast::Branch::Expr(e) => {
            let (x, ty) = types::expr(e, scope)?;
            types::check_hole(&ty, e)?;
            Branch::Expr(x)
        }
        ast::Branch::Cond(c) => Branch::Cond(Box::new(cond(c, scope)?)),
    })
}

/// A quoted branch's text and holes.
fn template_parts(t: &ast::Template, scope: &Scope<'_>) -> Result<Vec<Part>, Diagnostic> {
    if let Some(d) = crate::check_template::double_braces(t).into_iter().next() {
        return Err(d);
    }
    t.parts
        .iter()
        .map(|p| {
            Ok(match p {
                ast::TemplatePart::Text(s) => Part::Text(s.clone()),
                ast::TemplatePart::Hole(e) => {
                    let (x, ty) = types::expr(e, scope)?;
                    types::check_hole(&ty, e)?;
                    Part::Hole(x)
                }
                ast::TemplatePart::Cond(c) => Part::Cond(Box::new(cond(c, scope)?)),
            })
        })
        .collect()
}

fn test(t: &ast::Test, scope: &Scope<'_>) -> Result<Test, Diagnostic> {
    Ok(match t {
        ast::Test::Or(items) => Test::Or {
            any: items
                .iter()
                .map(|i| test(i, scope))
                .collect::<Result<_, _>>()?,
        },
        ast::Test::And(items) => Test::And {
            all: items
                .iter()
                .map(|i| test(i, scope))
                .collect::<Result<_, _>>()?,
        },
        ast::Test::Not(inner) => Test::Not {
            not: Box::new(test(inner, scope)?),
        },
        ast::Test::Is(e) => {
            let (expr, ty) = types::expr(e, scope)?;
            let plain = matches!(ty, Type::Optional { .. })
                || matches!(ty, Type::Bool | Type::Text | Type::List { .. });
            if !plain {
                return Err(Diagnostic::error(
                    "exc::check::bad_test",
                    format!("`{}` is {}, which is neither true nor false", expr.text, ty.describe()),
                    e.span,
                )
                .label("not a test")
                .help(format!(
                    "a bare test takes a bool, a text or a list (non-empty) or an optional value (present); compare it instead: `{} == …`{}",
                    expr.text,
                    if matches!(ty, Type::Int | Type::Float) { format!(" or `{} > 0`", expr.text) } else { String::new() }
                )));
            }
            Test::Is { expr }
        }
        ast::Test::Cmp(left, op, right) => {
            let (l, lt) = types::expr(left, scope)?;
            let right = operand(&l, &lt, *op, right, scope, left.span)?;
            Test::Cmp {
                left: l,
                op: *op,
                right,
            }
        }
        ast::Test::In(item, list) => {
            let (l, lt) = types::expr(item, scope)?;
            let list = membership(&l, &lt, list, scope, item.span)?;
            Test::In { item: l, list }
        }
    })
}

fn mismatch(
    left: &ir::Expr,
    lt: &Type,
    what: &str,
    at: crate::source::Span,
    help: String,
) -> Diagnostic {
    Diagnostic::error(
        "exc::check::bad_test",
        format!(
            "`{}` is {}, which cannot be compared with {what}",
            left.text,
            lt.describe()
        ),
        at,
    )
    .label("compared here")
    .help(help)
}

fn numeric(t: &Type) -> bool {
    matches!(t, Type::Int | Type::Float)
}

fn textual(t: &Type) -> bool {
    matches!(t, Type::Text | Type::Class { .. })
}

/// The right side of `left OP right`, checked against the left's type.
fn operand(
    l: &ir::Expr,
    lt: &Type,
    op: CmpOp,
    right: &ast::Operand,
    scope: &Scope<'_>,
    at: crate::source::Span,
) -> Result<Operand, Diagnostic> {
    let inner = lt.strip_optional();
    let ordering = !matches!(op, CmpOp::Eq | CmpOp::Ne);
    if ordering && !numeric(inner) {
        return Err(mismatch(
            l,
            lt,
            "`<`, `<=`, `>` or `>=`",
            at,
            "only numbers are ordered; compare text with `==` or `!=`, or a class label by its id: `label | id > 0`".into(),
        ));
    }
    match right {
        ast::Operand::Value(v) => {
            literal_fits(l, lt, &v.node, ordering, v.span)?;
            Ok(Operand::Literal(crate::value::to_json(&v.node)))
        }
        ast::Operand::Expr(e) => {
            let (r, rt) = types::expr(e, scope)?;
            let rs = rt.strip_optional();
            let fits = (numeric(inner) && numeric(rs))
                || (!ordering && textual(inner) && textual(rs))
                || (!ordering && inner == &Type::Bool && rs == &Type::Bool);
            if !fits {
                return Err(mismatch(
                    l,
                    lt,
                    &format!("`{}` ({})", r.text, rt.describe()),
                    e.span,
                    "compare text with text or a class, numbers with numbers, bools with bools; `| str` makes a scalar text".into(),
                ));
            }
            Ok(Operand::Expr(r))
        }
    }
}

/// Whether a written value can equal (or be ordered against) the left side.
fn literal_fits(
    l: &ir::Expr,
    lt: &Type,
    v: &Value,
    ordering: bool,
    at: crate::source::Span,
) -> Result<(), Diagnostic> {
    let inner = lt.strip_optional();
    let ok = match (inner, v) {
        (_, Value::Null) if !ordering => {
            if matches!(lt, Type::Optional { .. }) {
                return Ok(());
            }
            return Err(mismatch(
                l,
                lt,
                "`null`",
                at,
                format!(
                    "`{}` is never absent: it is not declared optional (`?`)",
                    l.text
                ),
            ));
        }
        (Type::Class { names }, Value::Str(s) | Value::Word(s)) if !ordering => {
            if names.contains(s) {
                return Ok(());
            }
            return Err(Diagnostic::error(
                "exc::check::bad_test",
                format!("\"{s}\" is not a class of `{}` ({})", l.text, lt.describe()),
                at,
            )
            .label("not one of the names")
            .help(
                suggestion(s, names.iter().map(String::as_str))
                    .unwrap_or_else(|| format!("the names are: {}", names.join(", "))),
            ));
        }
        (Type::Text, Value::Str(_)) => !ordering,
        (Type::Int | Type::Float | Type::Class { .. }, Value::Num(_)) => true,
        (Type::Bool, Value::Bool(_)) => !ordering,
        _ => false,
    };
    if ok {
        return Ok(());
    }
    Err(mismatch(
        l,
        lt,
        &format!("`{}`", crate::value::show(v)),
        at,
        match inner {
            Type::Text => "compare text with a quoted string: `answer == 'yes'`".into(),
            Type::Class { .. } => "compare a class label with one of its names or its id".into(),
            Type::Int | Type::Float => "compare a number with a number: `label > 0`".into(),
            Type::Bool => "compare a bool with `true` or `false`, or test it bare".into(),
            _ => "a list or record is tested bare (non-empty) or with `in`".into(),
        },
    ))
}

/// `item in [a, b]`, `item in list_field`, `'word' in text_field`.
fn membership(
    l: &ir::Expr,
    lt: &Type,
    list: &ast::Operand,
    scope: &Scope<'_>,
    at: crate::source::Span,
) -> Result<Operand, Diagnostic> {
    match list {
        ast::Operand::Value(v) => match &v.node {
            Value::List(items) => {
                for item in items {
                    literal_fits(l, lt, &item.node, false, item.span)?;
                }
                Ok(Operand::Literal(crate::value::to_json(&v.node)))
            }
            other => Err(mismatch(
                l,
                lt,
                &format!("`in {}`", crate::value::show(other)),
                v.span,
                "`in` takes a written list (`label in ['a', 'b']`), a list field or a text field"
                    .into(),
            )),
        },
        ast::Operand::Expr(e) => {
            let (r, rt) = types::expr(e, scope)?;
            let inner = lt.strip_optional();
            let fits = match rt.strip_optional() {
                Type::List { of } => {
                    let of = of.strip_optional();
                    (textual(inner) && textual(of))
                        || (numeric(inner) && numeric(of))
                        || (inner == &Type::Bool && of == &Type::Bool)
                }
                Type::Text => textual(inner),
                _ => false,
            };
            if !fits {
                return Err(mismatch(
                    l,
                    lt,
                    &format!("`in {}` ({})", r.text, rt.describe()),
                    at,
                    "`in` looks for a value in a list of its kind, or a text in a text".into(),
                ));
            }
            Ok(Operand::Expr(r))
        }
    }
}
