//! Types of fields and of template expressions: AST type syntax -> [`Type`],
//! and the typing of `path | fn(...)` chains against a task's fields.

use crate::ast::{self, Segment, TypeExpr};
use crate::diagnostic::{suggestion, Diagnostic};
use crate::ir::{Expr, Step, Type, Zipped};
use crate::source::Spanned;
use indexmap::IndexMap;

const PRIMS: &[&str] = &["text", "int", "float", "bool", "class", "list"];

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
    pub(crate) fn lookup(&self, name: &str) -> Option<Type> {
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
    let mut texts = Vec::new();
    let (path, zip, mut ty) = match &e.head {
        ast::Head::Path(p) => (steps(&p.node), Vec::new(), path_type(p, scope)?),
        ast::Head::Texts(items) => {
            texts = items.iter().map(|t| t.node.clone()).collect();
            let of = Box::new(Type::Text);
            (Vec::new(), Vec::new(), Type::List { of })
        }
        ast::Head::Zip(lists) => {
            let (zip, ty) = zip_type(lists, e, scope)?;
            (Vec::new(), zip, ty)
        }
    };
    let mut calls = Vec::new();
    for call in &e.calls {
        let (f, t) = crate::funcs::check(call, &ty, scope)?;
        calls.push(f);
        ty = t;
    }
    Ok((
        Expr {
            text: expr_text(e),
            path,
            zip,
            texts,
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
