//! Types of fields and of template expressions: AST type syntax -> [`Type`],
//! and the typing of `path | fn(...)` chains against a task's fields.

use crate::ast::{self, Segment, TypeExpr, Value};
use crate::diagnostic::{suggestion, Diagnostic};
use crate::ir::{ArgRef, Expr, Func, MapPart, Step, Type, Zipped};
use crate::source::Spanned;
use indexmap::IndexMap;

const PRIMS: &[&str] = &["text", "int", "float", "bool", "class", "list"];

pub const FUNCTIONS: &[&str] = &[
    "lower",
    "upper",
    "strip",
    "join",
    "replace",
    "sub",
    "first",
    "last",
    "len",
    "str",
    "default",
    "id",
    "names",
    "round",
    "round_even",
    "fixed",
    "words",
    "at",
    "slice",
    "mark",
    "entities",
    "map",
    "nonempty",
    "lookup",
];

/// Field declarations -> an ordered record, reporting unknown types and duplicates.
pub fn record(fields: &[ast::FieldDecl], diags: &mut Vec<Diagnostic>) -> IndexMap<String, Type> {
    let mut out = IndexMap::new();
    let mut first_at = IndexMap::new();
    for f in fields {
        if let Some(prev) = first_at.get(&f.name.node) {
            diags.push(
                Diagnostic::error(
                    "exc::check::duplicate_field",
                    format!("field `{}` is declared twice", f.name.node),
                    f.name.span,
                )
                .label("second declaration")
                .related(*prev, "first declared here")
                .help("remove one of the declarations"),
            );
            continue;
        }
        first_at.insert(f.name.node.clone(), f.name.span);
        out.insert(f.name.node.clone(), type_of(&f.ty, diags));
    }
    out
}

fn type_of(t: &Spanned<TypeExpr>, diags: &mut Vec<Diagnostic>) -> Type {
    match &t.node {
        TypeExpr::Prim(p) => match p.as_str() {
            "text" | "string" | "str" => Type::Text,
            "int" => Type::Int,
            "float" => Type::Float,
            "bool" => Type::Bool,
            other => {
                diags.push(
                    Diagnostic::error(
                        "exc::check::unknown_type",
                        format!("unknown type `{other}`"),
                        t.span,
                    )
                    .label("not a type")
                    .help(suggestion(other, PRIMS.iter().copied()).unwrap_or_else(|| {
                        "types are text, int, float, bool, class[a, b], list<T>, { field: T } and T?"
                            .into()
                    })),
                );
                Type::Text
            }
        },
        TypeExpr::Class(names) => {
            if names.is_empty() {
                diags.push(
                    Diagnostic::error(
                        "exc::check::empty_class",
                        "a class type needs label names",
                        t.span,
                    )
                    .help("list the names in id order: `class[entailment, not_entailment]`"),
                );
            }
            Type::Class {
                names: names.iter().map(|n| n.node.clone()).collect(),
            }
        }
        TypeExpr::List(of) => Type::List {
            of: Box::new(type_of(of, diags)),
        },
        TypeExpr::Record(fields) => Type::Record {
            fields: record(fields, diags),
        },
        TypeExpr::Optional(of) => Type::Optional {
            of: Box::new(type_of(of, diags)),
        },
    }
}

/// Names in scope for expressions: the fields plus the `each` names.
pub struct Scope<'a> {
    pub fields: &'a IndexMap<String, Type>,
    pub vars: Vec<(String, Type)>,
}

impl Scope<'_> {
    fn lookup(&self, name: &str) -> Option<Type> {
        self.vars
            .iter()
            .find(|(v, _)| v == name)
            .map(|(_, t)| t.clone())
            .or_else(|| self.fields.get(name).cloned())
    }

    /// The type a dotted path reaches (`label.span.start`), if it is valid.
    pub(crate) fn lookup_path(&self, text: &str) -> Option<Type> {
        let segs: Vec<Segment> = crate::ir::path_steps(text)
            .into_iter()
            .map(|s| match s {
                Step::Field(f) => Segment::Field(f),
                Step::Index(i) => Segment::Index(i),
            })
            .collect();
        let path = Spanned::new(ast::Path(segs), crate::source::Span::default());
        path_type(&path, self).ok()
    }

    pub(crate) fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.fields.keys().map(String::as_str).collect();
        names.extend(self.vars.iter().map(|(v, _)| v.as_str()));
        names
    }
}

/// The type a path reaches, or a diagnostic at the path.
pub fn path_type(path: &Spanned<ast::Path>, scope: &Scope<'_>) -> Result<Type, Diagnostic> {
    let mut segs = path.node.0.iter();
    let Some(Segment::Field(root)) = segs.next() else {
        return Err(Diagnostic::error(
            "exc::check::bad_path",
            "a path must start with a field name",
            path.span,
        ));
    };
    let mut ty = scope.lookup(root).ok_or_else(|| {
        let names = scope.names();
        Diagnostic::error(
            "exc::check::unknown_field",
            format!("`{root}` is not a field of this task"),
            path.span,
        )
        .label("unknown field")
        .help(
            suggestion(root, names.iter().copied())
                .unwrap_or_else(|| format!("the fields are: {}", names.join(", "))),
        )
    })?;
    let mut walked = root.clone();
    for seg in segs {
        ty = step(&ty, seg).ok_or_else(|| {
            let what = match seg {
                Segment::Field(f) => format!("`{walked}` has no field `{f}`"),
                Segment::Index(i) => format!("`{walked}` cannot be indexed with `[{i}]`"),
            };
            let help = match (ty.strip_optional(), seg) {
                (Type::Record { fields }, Segment::Field(f)) => {
                    suggestion(f, fields.keys().map(String::as_str)).unwrap_or_else(|| {
                        format!(
                            "its fields are: {}",
                            fields.keys().cloned().collect::<Vec<_>>().join(", ")
                        )
                    })
                }
                _ => format!("`{walked}` is {}", ty.describe()),
            };
            Diagnostic::error("exc::check::bad_path", what, path.span)
                .label("here")
                .help(help)
        })?;
        match seg {
            Segment::Field(f) => walked = format!("{walked}.{f}"),
            Segment::Index(i) => walked = format!("{walked}[{i}]"),
        }
    }
    Ok(ty)
}

fn step(ty: &Type, seg: &Segment) -> Option<Type> {
    match (ty, seg) {
        (Type::Optional { of }, _) => step(of, seg).map(|t| match t {
            Type::Optional { .. } => t,
            t => Type::Optional { of: Box::new(t) },
        }),
        (Type::Record { fields }, Segment::Field(f)) => fields.get(f).cloned(),
        (Type::List { of }, Segment::Index(_)) => Some((**of).clone()),
        // `answers.text` on a list of records: the list of each record's field (HF Sequence).
        (Type::List { of }, Segment::Field(_)) => {
            step(of, seg).map(|t| Type::List { of: Box::new(t) })
        }
        _ => None,
    }
}

/// Type an expression and lower it to IR.
pub fn expr(e: &ast::Expr, scope: &Scope<'_>) -> Result<(Expr, Type), Diagnostic> {
    let (path, zip, mut ty) = match &e.head {
        ast::Head::Path(p) => (steps(&p.node), Vec::new(), path_type(p, scope)?),
        ast::Head::Zip(lists) => {
            let (zip, ty) = zip_type(lists, e, scope)?;
            (Vec::new(), zip, ty)
        }
    };
    let mut calls = Vec::new();
    for call in &e.calls {
        let (f, t) = apply(call, &ty, scope)?;
        calls.push(f);
        ty = t;
    }
    Ok((
        Expr {
            text: expr_text(e),
            path,
            zip,
            calls,
        },
        ty,
    ))
}

fn steps(path: &ast::Path) -> Vec<Step> {
    path.0
        .iter()
        .map(|s| match s {
            Segment::Field(f) => Step::Field(f.clone()),
            Segment::Index(i) => Step::Index(*i),
        })
        .collect()
}

/// `zip(name = list, …)`: a list of records, one field per list, each the
/// list's element type. Optional if any list is. The lists' lengths can only
/// be compared per row, so `render` does that.
fn zip_type(
    lists: &[ast::ZipList],
    e: &ast::Expr,
    scope: &Scope<'_>,
) -> Result<(Vec<Zipped>, Type), Diagnostic> {
    let example = "`zip(label = choices.label, text = choices.text)`";
    if lists.len() < 2 {
        return Err(Diagnostic::error(
            "exc::check::bad_argument",
            "`zip` needs at least two lists",
            e.span,
        )
        .label("one list")
        .help(format!("zip walks parallel lists in step: {example}")));
    }
    let mut fields = IndexMap::new();
    let mut first_at: IndexMap<String, crate::source::Span> = IndexMap::new();
    let mut zipped = Vec::new();
    let mut optional = false;
    for l in lists {
        let span = l.name.as_ref().map_or(l.path.span, |n| n.span);
        let Some(name) = l.field_name() else {
            return Err(Diagnostic::error(
                "exc::check::bad_argument",
                format!("`{}` needs a name in `zip`", l.path.node),
                l.path.span,
            )
            .label("no field name to take")
            .help(format!("name it: `zip(items = {}, …)`", l.path.node)));
        };
        if let Some(prev) = first_at.get(name) {
            return Err(Diagnostic::error(
                "exc::check::duplicate_field",
                format!("`zip` names two lists `{name}`"),
                span,
            )
            .label("second list with this name")
            .related(*prev, "first named here")
            .help("each list gives the records one field; name them apart: `zip(a = …, b = …)`, then `{a}` and `{b}` in `map`"));
        }
        let ty = path_type(&l.path, scope)?;
        let Type::List { of } = ty.strip_optional() else {
            return Err(Diagnostic::error(
                "exc::check::not_a_list",
                format!(
                    "`zip` walks lists, but `{}` is {}",
                    l.path.node,
                    ty.describe()
                ),
                l.path.span,
            )
            .label("not a list")
            .help(format!("give `zip` list fields: {example}")));
        };
        optional |= matches!(ty, Type::Optional { .. });
        first_at.insert(name.to_string(), span);
        fields.insert(name.to_string(), (**of).clone());
        zipped.push(Zipped {
            name: name.to_string(),
            text: l.path.node.to_string(),
            path: steps(&l.path.node),
        });
    }
    let list = Type::List {
        of: Box::new(Type::Record { fields }),
    };
    let ty = if optional {
        Type::Optional { of: Box::new(list) }
    } else {
        list
    };
    Ok((zipped, ty))
}

pub(crate) fn is_scalar(t: &Type) -> bool {
    matches!(
        t.strip_optional(),
        Type::Text | Type::Int | Type::Float | Type::Bool | Type::Class { .. }
    )
}

fn apply(call: &ast::Call, ty: &Type, scope: &Scope<'_>) -> Result<(Func, Type), Diagnostic> {
    let name = call.name.node.as_str();
    let mismatch = |wants: &str| {
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
    };
    let inner = ty.strip_optional();
    let stringy = matches!(inner, Type::Text | Type::Class { .. });
    let numeric = matches!(inner, Type::Int | Type::Float);
    let (func, out) = match name {
        "lower" | "upper" | "strip" if stringy => (
            match name {
                "lower" => Func::Lower,
                "upper" => Func::Upper,
                _ => Func::Strip,
            },
            Type::Text,
        ),
        "lower" | "upper" | "strip" => return Err(mismatch("text")),
        "replace" if stringy => {
            let from = str_arg(call, 0, "from")?;
            let to = str_arg(call, 1, "to")?;
            (Func::Replace { from, to }, Type::Text)
        }
        "replace" => return Err(mismatch("text")),
        "sub" if stringy => {
            let pattern = str_arg(call, 0, "pattern")?;
            let to = str_arg(call, 1, "to")?;
            if let Err(e) = regex::Regex::new(&pattern) {
                return Err(bad_arg(
                    call,
                    &format!("`{pattern}` is not a valid regular expression: {e}"),
                ));
            }
            (Func::Sub { pattern, to }, Type::Text)
        }
        "sub" => return Err(mismatch("text")),
        "words" if stringy => (
            Func::Words {
                n: num_arg(call, 0, "n")? as usize,
            },
            Type::Text,
        ),
        "words" => return Err(mismatch("text")),
        "join" => match inner {
            Type::List { of } if is_scalar(of) => {
                let sep = opt_str_arg(call, 0, "sep")?.unwrap_or_else(|| " ".into());
                (Func::Join { sep }, Type::Text)
            }
            _ => return Err(mismatch("a list of scalars")),
        },
        "first" | "last" => match inner {
            Type::List { of } => (
                if name == "first" {
                    Func::First
                } else {
                    Func::Last
                },
                (**of).clone(),
            ),
            _ => return Err(mismatch("a list")),
        },
        "len" => match inner {
            Type::List { .. } | Type::Text => (Func::Len, Type::Int),
            _ => return Err(mismatch("a list or text")),
        },
        "str" if is_scalar(inner) => (Func::Str, Type::Text),
        "str" => return Err(mismatch("a scalar")),
        "default" => {
            let value = str_arg(call, 0, "value")?;
            (Func::Default { value }, inner.clone())
        }
        "id" => match inner {
            Type::Class { .. } | Type::Bool => (Func::Id, Type::Int),
            _ => return Err(mismatch("a class label")),
        },
        "names" => {
            let names: Vec<String> = call
                .args
                .iter()
                .map(|a| match &a.value.node {
                    Value::Str(s) | Value::Word(s) => Ok(s.clone()),
                    _ => Err(bad_arg(
                        call,
                        "names are strings: `names(\"False\", \"True\")`",
                    )),
                })
                .collect::<Result<_, _>>()?;
            let needed = match inner {
                Type::Class { names } => names.len(),
                Type::Bool => 2,
                Type::Int => 0,
                _ => return Err(mismatch("a class label, bool or int")),
            };
            if names.len() < needed {
                return Err(Diagnostic::error(
                    "exc::check::label_map_incomplete",
                    format!(
                        "`names` maps {} of the {needed} classes of {}",
                        names.len(),
                        inner.describe()
                    ),
                    call.span,
                )
                .label("too few names")
                .help("give one name per class, in id order"));
            }
            (
                Func::Names {
                    names: names.clone(),
                },
                Type::Class { names },
            )
        }
        "round" if numeric => (
            Func::Round {
                step: num_arg(call, 0, "step")?,
            },
            Type::Float,
        ),
        "round" => return Err(mismatch("a number")),
        "round_even" if numeric => (
            Func::RoundEven {
                step: num_arg(call, 0, "step")?,
            },
            Type::Float,
        ),
        "round_even" => return Err(mismatch("a number")),
        "fixed" if numeric => (
            Func::Fixed {
                digits: fixed_digits(call)?,
            },
            Type::Text,
        ),
        "fixed" => return Err(mismatch("a number")),
        "at" => match inner {
            Type::List { of } => (
                Func::At {
                    index: ref_arg(call, 0, "index", scope, true)?,
                },
                (**of).clone(),
            ),
            _ => return Err(mismatch("a list")),
        },
        "slice" if stringy || matches!(inner, Type::List { .. }) => {
            let start = ref_arg(call, 0, "start", scope, true)?;
            let end = if arg(call, 1, "end").is_some() {
                Some(ref_arg(call, 1, "end", scope, true)?)
            } else {
                None
            };
            let out = if stringy { Type::Text } else { inner.clone() };
            (Func::Slice { start, end }, out)
        }
        "slice" => return Err(mismatch("text or a list")),
        "lookup" if is_scalar(inner) => {
            let (keys, values, out) = crate::tables::lookup_args(call, scope)?;
            (Func::Lookup { keys, values }, out)
        }
        "lookup" => return Err(mismatch("a scalar key")),
        "mark" if stringy => {
            let index = ref_arg(call, 0, "index", scope, true)?;
            // `mark(i)`, `mark(i, "[")`, `mark(i, word)`, `mark(i, word, "[")`:
            // a bare name is the field holding the expected word.
            let word = match arg(call, 1, "word").map(|v| &v.node) {
                Some(Value::Word(_)) => match ref_arg(call, 1, "word", scope, false)? {
                    ArgRef::Field(f)
                        if matches!(
                            scope.lookup_path(&f).as_ref().map(Type::strip_optional),
                            Some(Type::Text)
                        ) =>
                    {
                        Some(f)
                    }
                    ArgRef::Field(f) => {
                        return Err(bad_arg(
                            call,
                            &format!("`{f}` must be a text field: the word expected at the index"),
                        ))
                    }
                    ArgRef::Int(_) => None,
                },
                _ => None,
            };
            let mark_at = if word.is_some() { 2 } else { 1 };
            let mark = opt_str_arg(call, mark_at, "mark")?.unwrap_or_else(|| "*".into());
            (Func::Mark { index, word, mark }, Type::Text)
        }
        "mark" => return Err(mismatch("text")),
        "entities" => match inner {
            Type::List { of } if is_scalar(of) => {
                let ArgRef::Field(tags) = ref_arg(call, 0, "tags", scope, false)? else {
                    return Err(bad_arg(
                        call,
                        "`entities(tags)` names the field of BIO tags",
                    ));
                };
                match scope.lookup(&tags).as_ref().map(Type::strip_optional) {
                    Some(Type::List { of }) if is_scalar(of) => {}
                    _ => {
                        return Err(bad_arg(
                            call,
                            &format!("`{tags}` must be a list of tags (class labels or text) as long as the tokens"),
                        ))
                    }
                }
                (Func::Entities { tags }, Type::Text)
            }
            _ => return Err(mismatch("a list of tokens")),
        },
        "nonempty" => match inner {
            Type::List { .. } => (Func::Nonempty, inner.clone()),
            _ => return Err(mismatch("a list")),
        },
        "map" => match inner {
            Type::List { of } => {
                let parts = map_parts(call, of, scope)?;
                (
                    Func::Map { parts },
                    Type::List {
                        of: Box::new(Type::Text),
                    },
                )
            }
            _ => return Err(mismatch("a list")),
        },
        other => {
            return Err(Diagnostic::error(
                "exc::check::unknown_function",
                format!("unknown function `{other}`"),
                call.name.span,
            )
            .label("not a function")
            .help(
                suggestion(other, FUNCTIONS.iter().copied())
                    .unwrap_or_else(|| format!("the functions are: {}", FUNCTIONS.join(", "))),
            ));
        }
    };
    // A function over an optional value keeps it optional, except `default`.
    let out = match (ty, &func) {
        (Type::Optional { .. }, Func::Default { .. }) => out,
        (Type::Optional { .. }, _) => Type::Optional { of: Box::new(out) },
        _ => out,
    };
    Ok((func, out))
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

fn num_arg(call: &ast::Call, pos: usize, name: &str) -> Result<f64, Diagnostic> {
    match arg(call, pos, name).map(|v| &v.node) {
        Some(Value::Num(n)) if n.value >= 0.0 => Ok(n.value),
        _ => Err(bad_arg(
            call,
            &format!("`{}` needs a non-negative number `{name}`", call.name.node),
        )),
    }
}

/// Most decimals `fixed(N)` writes: a float has 17 significant digits, and
/// the formatter refuses a precision past 65,535.
const MAX_FIXED_DIGITS: usize = 100;

/// `fixed`'s number of decimals: a whole number up to [`MAX_FIXED_DIGITS`].
fn fixed_digits(call: &ast::Call) -> Result<usize, Diagnostic> {
    let n = num_arg(call, 0, "digits")?;
    if n.fract() != 0.0 || n > MAX_FIXED_DIGITS as f64 {
        return Err(bad_arg(
            call,
            &format!(
                "`fixed` takes a whole number of decimals from 0 to {MAX_FIXED_DIGITS}, not {n}"
            ),
        ));
    }
    Ok(n as usize)
}

/// Whether an expression of this type can stand in a template hole.
pub fn check_hole(ty: &Type, e: &ast::Expr) -> Result<(), Diagnostic> {
    if is_scalar(ty) {
        return Ok(());
    }
    let help = match ty.strip_optional() {
        Type::List { of } if matches!(of.strip_optional(), Type::Record { .. }) => format!(
            "write each element through a template, then join: `{{{} | map('…') | join(\" \")}}`",
            e.head
        ),
        Type::List { .. } => format!("join it into text: `{{{} | join(\", \")}}`", e.head),
        _ => "pick a field of it with `.name`".to_string(),
    };
    Err(Diagnostic::error(
        "exc::check::not_text",
        format!(
            "`{}` is {}, which cannot be used as text",
            e.head,
            ty.describe()
        ),
        e.span,
    )
    .label(ty.describe())
    .help(help))
}

/// A readable form of an expression for messages and the plan.
pub fn expr_text(e: &ast::Expr) -> String {
    let mut s = e.head.to_string();
    for c in &e.calls {
        s.push_str(" | ");
        s.push_str(&call_text(c));
    }
    s
}

/// `name(arg = value, …)` as written, without spans.
pub fn call_text(c: &ast::Call) -> String {
    if c.args.is_empty() {
        return c.name.node.clone();
    }
    let args: Vec<String> = c
        .args
        .iter()
        .map(|a| match &a.name {
            Some(n) => format!("{} = {}", n.node, crate::value::show(&a.value.node)),
            None => crate::value::show(&a.value.node),
        })
        .collect();
    format!("{}({})", c.name.node, args.join(", "))
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
                Ok(ArgRef::Field(w.clone()))
            }
            Some(t) => Err(bad_arg(
                call,
                &format!("`{w}` is {}, not a whole number", t.describe()),
            )),
            None => Err(bad_arg(
                call,
                &suggestion(w, scope.names().iter().copied()).map_or_else(
                    || format!("`{w}` is not a field of this task"),
                    |s| format!("`{w}` is not a field: {s}"),
                ),
            )),
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
    let e = crate::syntax::parse_hole(file, at, key)?;
    let (lowered, ty) = expr(&e, scope)?;
    check_hole(&ty, &e)?;
    Ok(MapPart::Hole(lowered))
}
