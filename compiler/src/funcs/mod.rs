//! The template functions (`{question | lower}`, `label | names('no', 'yes')`),
//! each defined once, as jaq defines its filters: one [`Def`] per name in
//! [`FUNCS`], holding what the function takes (its signature), the checker
//! that types its call and resolves its arguments into an [`ir::Func`] (the
//! form the plan carries), and the evaluator that applies that `Func` to a
//! value of a row. `types` checks a chain of calls through this table and
//! `render` evaluates it through the same table.

mod list;
mod lookup;
mod map;
mod number;
mod text;

use crate::ast::{self, Value};
use crate::diagnostic::{suggestion, Diagnostic};
use crate::ir::{ArgRef, FieldPath, Func, TextArg, Type};
use crate::render::{Env, RenderError, V};
use crate::source::Spanned;
use crate::types::{is_scalar, Scope};

/// One template function.
pub(crate) struct Def {
    pub name: &'static str,
    /// How it is called, for messages and the grammar reference.
    pub usage: &'static str,
    /// Which input types it takes (the optional mark stripped) ...
    pub takes: fn(&Type) -> bool,
    /// ... said as "`name` needs {wants}" when the input is another type.
    pub wants: &'static str,
    /// Whether an absent (null) input reaches the evaluator (`default`),
    /// rather than passing through absent, and the result is then no
    /// longer optional.
    pub sees_null: bool,
    pub check: fn(&Call<'_>) -> Result<(Func, Type), Diagnostic>,
    pub eval: fn(&Func, V, &Cx<'_>) -> Result<V, RenderError>,
}

/// A call being checked: the call, its input type (optional mark stripped)
/// and the names in scope.
pub(crate) struct Call<'a> {
    pub call: &'a ast::Call,
    pub ty: &'a Type,
    pub scope: &'a Scope<'a>,
}

/// A function being evaluated: the row's scope, the expression's text (for
/// messages), and whether a later `default` turns a missing element into
/// its value (`answers[0] | default('none')`).
pub(crate) struct Cx<'a> {
    pub env: &'a Env<'a>,
    pub text: &'a str,
    pub lenient: bool,
}

/// Every function, in the order the reference lists them.
pub(crate) const FUNCS: &[Def] = &[
    text::LOWER,
    text::UPPER,
    text::STRIP,
    text::LSTRIP,
    text::RSTRIP,
    list::JOIN,
    text::REPLACE,
    text::SUB,
    text::TRUNCATE,
    text::SPLIT,
    list::FIRST,
    list::LAST,
    list::LEN,
    text::STR,
    number::DEFAULT,
    number::ID,
    number::NAMES,
    number::ROUND,
    number::ROUND_EVEN,
    number::FIXED,
    number::ADD,
    number::MUL,
    list::CHOICE,
    text::WORDS,
    list::AT,
    list::SLICE,
    text::MARK,
    list::ENTITIES,
    map::MAP,
    list::NONEMPTY,
    list::MOST_FREQUENT,
    lookup::LOOKUP,
];

pub(crate) fn def(name: &str) -> Option<&'static Def> {
    FUNCS.iter().find(|d| d.name == name)
}

pub fn names() -> impl Iterator<Item = &'static str> {
    FUNCS.iter().map(|d| d.name)
}

/// Each function's name and how it is called (`text | replace('from', 'to')`),
/// in the reference's order: what grammar/README.md lists.
pub fn usages() -> impl Iterator<Item = (&'static str, &'static str)> {
    FUNCS.iter().map(|d| (d.name, d.usage))
}

/// Type one call of a chain whose value so far has type `ty`.
pub(crate) fn check(
    call: &ast::Call,
    ty: &Type,
    scope: &Scope<'_>,
) -> Result<(Func, Type), Diagnostic> {
    let name = call.name.node.as_str();
    let Some(d) = def(name) else {
        let all: Vec<&str> = names().collect();
        return Err(Diagnostic::error(
            "exc::check::unknown_function",
            format!("unknown function `{name}`"),
            call.name.span,
        )
        .label("not a function")
        .help(
            suggestion(name, all.iter().copied())
                .unwrap_or_else(|| format!("the functions are: {}", all.join(", "))),
        ));
    };
    let inner = ty.strip_optional();
    if !(d.takes)(inner) {
        return Err(mismatch(call, ty, d.wants));
    }
    let (func, out) = (d.check)(&Call {
        call,
        ty: inner,
        scope,
    })?;
    // A function over an optional value keeps it optional, unless it
    // replaces the absent value (`default`).
    let out = match ty {
        Type::Optional { .. } if !d.sees_null => Type::Optional { of: Box::new(out) },
        _ => out,
    };
    Ok((func, out))
}

/// Apply a checked function to a value.
pub(crate) fn eval(f: &Func, v: V, cx: &Cx<'_>) -> Result<V, RenderError> {
    let Some(d) = def(f.name()) else {
        return Err(RenderError::new(format!(
            "`{}`: unknown function `{}`",
            cx.text,
            f.name()
        )));
    };
    if matches!(v, V::Null) && !d.sees_null {
        return Ok(V::Null);
    }
    (d.eval)(f, v, cx)
}

/// The error of an evaluator handed another function's arguments, which
/// only a hand-edited plan can cause.
fn not_mine(f: &Func, cx: &Cx<'_>) -> RenderError {
    RenderError::new(format!(
        "`{}`: `{}` is not evaluated here (a damaged plan?)",
        cx.text,
        f.name()
    ))
}

pub(crate) fn mismatch(call: &ast::Call, ty: &Type, wants: &str) -> Diagnostic {
    let name = &call.name.node;
    Diagnostic::error(
        "exc::check::type_mismatch",
        format!("`{name}` needs {wants}, but its input is {}", ty.describe()),
        call.span,
    )
    .label(format!("applied to {}", ty.describe()))
    .help(if wants == "text" && is_scalar(ty) {
        format!("make it text first: `| str | {name}`")
    } else {
        "check the field's type in `fields`".to_string()
    })
}

fn stringy(t: &Type) -> bool {
    matches!(t, Type::Text | Type::Class { .. })
}

fn numeric(t: &Type) -> bool {
    matches!(t, Type::Int | Type::Float)
}

fn list(t: &Type) -> bool {
    matches!(t, Type::List { .. })
}

fn scalar_list(t: &Type) -> bool {
    matches!(t, Type::List { of } if is_scalar(of))
}

fn any(_: &Type) -> bool {
    true
}

pub(crate) fn bad_arg(call: &ast::Call, help: &str) -> Diagnostic {
    Diagnostic::error(
        "exc::check::bad_argument",
        format!("wrong arguments to `{}`", call.name.node),
        call.span,
    )
    .label("here")
    .help(help.to_string())
}

pub(crate) fn arg<'a>(call: &'a ast::Call, pos: usize, name: &str) -> Option<&'a Spanned<Value>> {
    call.args
        .iter()
        .find(|a| a.name.as_ref().is_some_and(|n| n.node == name))
        .or_else(|| call.args.iter().filter(|a| a.name.is_none()).nth(pos))
        .map(|a| &a.value)
}

fn opt_str_arg(call: &ast::Call, pos: usize, name: &str) -> Result<Option<String>, Diagnostic> {
    match arg(call, pos, name).map(|v| &v.node) {
        None => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad_arg(call, &format!("`{name}` is a string"))),
    }
}

fn str_arg(call: &ast::Call, pos: usize, name: &str) -> Result<String, Diagnostic> {
    opt_str_arg(call, pos, name)?.ok_or_else(|| {
        bad_arg(
            call,
            &format!("`{}` needs a string argument `{name}`", call.name.node),
        )
    })
}

/// A non-negative number no larger than `max`.
fn num_arg(call: &ast::Call, pos: usize, name: &str, max: f64) -> Result<f64, Diagnostic> {
    match arg(call, pos, name).map(|v| &v.node) {
        Some(Value::Num(n)) if n.value >= 0.0 && n.value <= max => Ok(n.value),
        Some(Value::Num(n)) if n.value > max => Err(bad_arg(
            call,
            &format!(
                "`{}` takes `{name}` up to {max}, not {}",
                call.name.node, n.value
            ),
        )),
        _ => Err(bad_arg(
            call,
            &format!("`{}` needs a non-negative number `{name}`", call.name.node),
        )),
    }
}

/// An argument that is a whole number or names a field (or `each` name) of
/// the row holding one; `int_only` asks that the field be an int or class.
fn ref_arg(
    call: &ast::Call,
    pos: usize,
    name: &str,
    scope: &Scope<'_>,
    int_only: bool,
) -> Result<ArgRef, Diagnostic> {
    match arg(call, pos, name).map(|v| &v.node) {
        Some(Value::Num(n)) if n.is_int && int_only => Ok(ArgRef::Int(n.value as i64)),
        Some(Value::Word(w)) => match scope.lookup_path(w) {
            Some(t)
                if !int_only || matches!(t.strip_optional(), Type::Int | Type::Class { .. }) =>
            {
                Ok(ArgRef::Field(FieldPath::parse(w)))
            }
            Some(t) => Err(bad_arg(
                call,
                &format!("`{w}` is {}, not a whole number", t.describe()),
            )),
            None => Err(unknown_field(call, w, scope)),
        },
        _ => Err(bad_arg(
            call,
            &format!(
                "`{}` takes `{name}`: a whole number or the name of a field",
                call.name.node
            ),
        )),
    }
}

pub(crate) fn unknown_field(call: &ast::Call, w: &str, scope: &Scope<'_>) -> Diagnostic {
    bad_arg(
        call,
        &suggestion(w, scope.names().iter().copied()).map_or_else(
            || format!("`{w}` is not a field of this task"),
            |s| format!("`{w}` is not a field: {s}"),
        ),
    )
}

/// A text argument: a string, or a bare name of a field of the row.
fn text_arg(
    call: &ast::Call,
    pos: usize,
    name: &str,
    scope: &Scope<'_>,
) -> Result<TextArg, Diagnostic> {
    match arg(call, pos, name).map(|v| &v.node) {
        Some(Value::Str(s)) => Ok(TextArg::Literal(s.clone())),
        Some(Value::Word(w)) => match scope.lookup_path(w) {
            Some(t) if is_scalar(&t) => Ok(TextArg::Field {
                field: FieldPath::parse(w),
            }),
            Some(t) => Err(bad_arg(
                call,
                &format!("`{w}` is {}, not text", t.describe()),
            )),
            None => Err(unknown_field(call, w, scope)),
        },
        _ => Err(bad_arg(
            call,
            &format!(
                "`{}` takes `{name}`: a string or the name of a text field",
                call.name.node
            ),
        )),
    }
}

/// A text argument's value for this row.
fn arg_text(cx: &Cx<'_>, a: &TextArg) -> Result<String, RenderError> {
    match a {
        TextArg::Literal(s) => Ok(s.clone()),
        TextArg::Field { field } => crate::render::to_text(&cx.env.field(field)?, cx.text),
    }
}

/// A function argument's value: a literal, or a field of the row.
fn arg_int(cx: &Cx<'_>, a: &ArgRef) -> Result<i64, RenderError> {
    match a {
        ArgRef::Int(i) => Ok(*i),
        ArgRef::Field(p) => match cx.env.field(p)? {
            V::Int(i) | V::Class { id: i, .. } => Ok(i),
            V::Bool(b) => Ok(i64::from(b)),
            _ => Err(RenderError::new(format!(
                "`{}`: `{p}` is not a whole number",
                cx.text
            ))),
        },
    }
}

/// A `slice` bound: a whole number, or `None` where the field is null.
fn arg_bound(cx: &Cx<'_>, a: &ArgRef) -> Result<Option<i64>, RenderError> {
    if let ArgRef::Field(p) = a {
        if let V::Null = cx.env.field(p)? {
            return Ok(None);
        }
    }
    arg_int(cx, a).map(Some)
}

fn fail<T>(cx: &Cx<'_>, message: impl std::fmt::Display) -> Result<T, RenderError> {
    Err(RenderError::new(format!("`{}`: {message}", cx.text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_match_the_plan_tag() {
        for (i, d) in FUNCS.iter().enumerate() {
            assert!(
                FUNCS.iter().skip(i + 1).all(|e| e.name != d.name),
                "{} twice",
                d.name
            );
        }
        let samples = [
            Func::Lower,
            Func::RoundEven { step: 0.2 },
            Func::Sub {
                pattern: crate::ir::Pattern::new("a").unwrap(),
                to: "b".into(),
            },
            Func::Entities { tags: "t".into() },
        ];
        for f in samples {
            let j = serde_json::to_value(&f).unwrap();
            assert_eq!(j["fn"], f.name());
            assert!(def(f.name()).is_some());
        }
    }

    /// A plan holds patterns and field paths as text, as before they were
    /// compiled; reading it compiles and parses them once, and a pattern
    /// that does not compile is refused when the plan is read, not per row.
    #[test]
    fn plans_keep_patterns_and_paths_as_text() {
        let sub: Func = serde_json::from_str(r#"{"fn":"sub","pattern":"a+","to":"b"}"#).unwrap();
        let Func::Sub { pattern, .. } = &sub else {
            panic!("{sub:?}")
        };
        assert!(pattern.regex.is_match("caat"));
        assert_eq!(
            serde_json::to_string(&sub).unwrap(),
            r#"{"fn":"sub","pattern":"a+","to":"b"}"#
        );
        let bad = serde_json::from_str::<Func>(r#"{"fn":"sub","pattern":"(","to":"b"}"#);
        assert!(bad.is_err());
        let at: Func =
            serde_json::from_str(r#"{"fn":"at","index":{"field":"label.span[1]"}}"#).unwrap();
        let Func::At {
            index: ArgRef::Field(p),
        } = &at
        else {
            panic!("{at:?}")
        };
        assert_eq!(
            p.steps,
            vec![
                crate::ir::Step::Field("label".into()),
                crate::ir::Step::Field("span".into()),
                crate::ir::Step::Index(1)
            ]
        );
        assert_eq!(
            serde_json::to_string(&at).unwrap(),
            r#"{"fn":"at","index":{"field":"label.span[1]"}}"#
        );
    }
}

#[cfg(test)]
mod docs {
    /// grammar/README.md names every function (`name(` or `` `name` ``).
    #[test]
    fn the_grammar_reference_lists_every_function() {
        let readme = include_str!("../../../grammar/README.md");
        for (name, _) in super::usages() {
            assert!(
                readme.contains(&format!("`{name}(")) || readme.contains(&format!("`{name}`")),
                "grammar/README.md does not document `{name}`"
            );
        }
    }
}
