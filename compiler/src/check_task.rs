//! Task declarations -> checked [`ir::Task`]s: resolves `extends` into one
//! [`TaskEntries`] per task, then checks it section by section: types the
//! templates against the fields, checks scoring against the target
//! (`check_scoring`), and type-checks and renders every `sample`. Collects
//! every diagnostic.

use crate::ast::{self, Value};
use crate::check_scoring::{self, Scoring};
use crate::check_source::{check_part_field, joins_of, source_of};
use crate::diagnostic::Diagnostic;
use crate::extends::lineage;
use crate::ir::{self, Decode, Part, Target, TargetKind, Task, Type};
use crate::render::render_row;
use crate::source::Spanned;
use crate::task_entries::{check_repeats, TaskEntries};
use crate::types::{self, Scope};
use crate::value::{self, to_json};

use indexmap::IndexMap;

/// A declaration with the file it came from (path relative to the project root).
pub struct Declared<'a> {
    pub decl: &'a ast::TaskDecl,
    pub file: String,
}

/// Checks the tasks of one `.task` text, as if read from `file`: the tasks
/// that checked cleanly and every diagnostic (a syntax error is one). For
/// tools and tests that hold a task in a string; `crate::compile` reads
/// files, includes and mixtures.
pub fn check_task_text(text: &str, file: &str) -> (IndexMap<String, Task>, Vec<Diagnostic>) {
    let parsed = match crate::syntax::parse(crate::source::FileId(0), text) {
        Ok(f) => f,
        Err(d) => return (IndexMap::new(), vec![d]),
    };
    let decls: Vec<Declared<'_>> = parsed
        .items
        .iter()
        .filter_map(|i| match i {
            ast::Item::Task(t) => Some(Declared {
                decl: t,
                file: file.to_string(),
            }),
            _ => None,
        })
        .collect();
    let mut diags = Vec::new();
    let tasks = check_tasks(&decls, &mut diags)
        .into_iter()
        .map(|(name, t)| (name, std::sync::Arc::unwrap_or_clone(t)))
        .collect();
    (tasks, diags)
}

/// Check all task declarations. Returns the tasks that checked cleanly.
pub fn check_tasks(
    decls: &[Declared<'_>],
    diags: &mut Vec<Diagnostic>,
) -> IndexMap<String, std::sync::Arc<Task>> {
    let mut by_name: IndexMap<&str, &Declared<'_>> = IndexMap::new();
    for d in decls {
        let name = d.decl.name.node.as_str();
        if let Some(prev) = by_name.get(name) {
            diags.push(
                Diagnostic::error(
                    "exc::check::duplicate_task",
                    format!("task `{name}` is defined twice"),
                    d.decl.name.span,
                )
                .label("second definition")
                .related(prev.decl.name.span, "first defined here")
                .help("task names are global across all loaded files: rename one"),
            );
            continue;
        }
        by_name.insert(name, d);
    }
    let all: Vec<&ast::TaskDecl> = by_name.values().map(|d| d.decl).collect();
    let mut out = IndexMap::new();
    for (name, d) in &by_name {
        let Some(chain) = lineage(d.decl, &all, diags) else {
            continue;
        };
        let mut entries = TaskEntries::default();
        for decl in chain {
            check_repeats(&decl.entries, diags);
            entries = entries.extended_by(&decl.entries);
        }
        let before = diags.len();
        let task = build(d, &entries, diags);
        if diags[before..].iter().all(|x| !x.is_error()) {
            if let Some(task) = task {
                out.insert((*name).to_string(), std::sync::Arc::new(task));
            }
        }
    }
    out
}

/// What a task's target is, once checked.
struct CheckedTarget {
    ir: Option<Target>,
    kind: TargetKind,
    /// The task's `choices`: the class names of an expression target.
    choices: Option<Vec<String>>,
    /// What a class target renders to, for the metrics that need class ids.
    class_names: Option<Vec<String>>,
}

/// `references`: an expression (answers), or a record for record metrics.
#[derive(Default)]
struct CheckedReferences {
    expr: Option<ir::Expr>,
    fields: Option<IndexMap<String, ir::Expr>>,
}

/// One task's sections, checked in turn. The order of the checks is the
/// order of their diagnostics.
fn build(d: &Declared<'_>, e: &TaskEntries, diags: &mut Vec<Diagnostic>) -> Option<Task> {
    let decl = d.decl;
    let fields = e
        .fields
        .as_ref()
        .map(|f| types::record(f, diags))
        .unwrap_or_default();
    let field_spans = e
        .fields
        .iter()
        .flatten()
        .map(|x| (x.name.node.clone(), x.name.span))
        .collect();
    let scope0 = Scope {
        fields: &fields,
        vars: Vec::new(),
    };
    let (each, vars) = e
        .each
        .as_ref()
        .map(|x| each_of(x, &scope0, diags))
        .unwrap_or_default();
    let scope = Scope {
        fields: &fields,
        vars,
    };
    let filters = filters_of(&e.filters, &scope0, diags);
    if !decl.is_abstract {
        require_input_and_target(decl, e, diags);
    }
    let input = e.input.as_ref().and_then(|t| template(t, &scope, diags));
    let target = target_of(e.target.as_ref(), &scope, diags);
    let refs = e
        .references
        .as_ref()
        .map(|r| references_of(&r.node, &scope, diags))
        .unwrap_or_default();
    let (postprocess, produced) = e
        .postprocess
        .as_ref()
        .map(|c| check_scoring::postprocess(c, diags))
        .unwrap_or_default();
    let kind = produced.unwrap_or(target.kind);
    let scoring = Scoring {
        kind,
        class_names: target.class_names.as_deref(),
        reference_fields: refs.fields.as_ref(),
        references_span: e.references.as_ref().map(|r| r.span),
        is_abstract: decl.is_abstract,
        task_span: decl.name.span,
    };
    let metrics = metrics_of(decl, e.metrics.as_deref(), &scoring, diags);
    let decode = e
        .decode
        .as_ref()
        .map_or(Decode::Greedy, |c| check_scoring::decode(c, kind, diags));
    let (source, joins) = e
        .source
        .as_ref()
        .map(|s| task_source(s, &fields, diags))
        .unwrap_or_default();
    let examples = e.examples.as_ref().and_then(|n| examples_of(n, diags));
    let lengths = e
        .lengths
        .as_ref()
        .map(|l| lengths_of(l, diags))
        .unwrap_or_default();
    let (Some(input), Some(target_ir)) = (input, target.ir) else {
        return None;
    };
    let mut task = Task {
        name: decl.name.node.clone(),
        collection: e.collection.as_ref().map(|n| n.node.clone()),
        family: e.family.as_ref().map(|n| n.node.clone()),
        description: e.description.clone(),
        file: d.file.clone(),
        source,
        joins,
        fields,
        filters,
        each,
        input,
        target: target_ir,
        target_kind: kind,
        references: refs.expr,
        reference_fields: refs.fields,
        postprocess,
        metrics,
        decode,
        lengths,
        examples,
        choices: target.choices,
        samples: Vec::new(),
        is_abstract: decl.is_abstract,
        declared_at: IndexMap::new(),
        field_spans,
    };
    for s in &e.samples {
        if check_sample(&task, s, diags) {
            task.samples.push(to_json(&s.node));
        }
    }
    Some(task)
}

/// `metrics`, which every task that is not abstract gives.
fn metrics_of(
    decl: &ast::TaskDecl,
    calls: Option<&[ast::Call]>,
    scoring: &Scoring<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<ir::Metric> {
    match calls {
        Some(calls) => check_scoring::metrics(calls, scoring, diags),
        None => {
            if !decl.is_abstract {
                let help = "name how it is scored, e.g. `metrics accuracy`";
                diags.push(missing(decl, "metrics", help));
            }
            Vec::new()
        }
    }
}

/// `source …` and its joins.
fn task_source(
    s: &ast::SourceEntry,
    fields: &IndexMap<String, Type>,
    diags: &mut Vec<Diagnostic>,
) -> (Option<ir::Source>, Vec<ir::Join>) {
    check_part_field(&s.source, fields, diags);
    let source = source_of(&s.source, diags);
    let joins = joins_of(&s.joins, source.as_ref(), fields, diags);
    (source, joins)
}

fn missing(decl: &ast::TaskDecl, what: &str, help: &str) -> Diagnostic {
    Diagnostic::error(
        "exc::check::missing_entry",
        format!("task `{}` has no `{what}`", decl.name.node),
        decl.name.span,
    )
    .label(format!("needs `{what}`"))
    .help(help.to_string())
}

fn require_input_and_target(decl: &ast::TaskDecl, e: &TaskEntries, diags: &mut Vec<Diagnostic>) {
    if e.input.is_none() {
        diags.push(missing(
            decl,
            "input",
            "add an input template, e.g. `input \"rte sentence1: {sentence1}\"`",
        ));
    }
    if e.target.is_none() {
        diags.push(missing(
            decl,
            "target",
            "add a target, e.g. `target label` or `target \"{answer}\"`",
        ));
    }
}

/// `each x[, i] in path`: the IR and the variables it binds.
fn each_of(
    each: &ast::EachDecl,
    scope: &Scope<'_>,
    diags: &mut Vec<Diagnostic>,
) -> (Option<ir::Each>, Vec<(String, Type)>) {
    let t = match types::path_type(&each.path, scope) {
        Ok(t) => t,
        Err(e) => {
            diags.push(e);
            return (None, Vec::new());
        }
    };
    let Type::List { of } = t.strip_optional() else {
        diags.push(
            Diagnostic::error(
                "exc::check::not_a_list",
                format!(
                    "`each` needs a list, but `{}` is {}",
                    each.path.node,
                    t.strip_optional().describe()
                ),
                each.path.span,
            )
            .label("not a list")
            .help("`each x in field` makes one example per element of a list field"),
        );
        return (None, Vec::new());
    };
    let mut vars = vec![(each.var.node.clone(), (**of).clone())];
    if let Some(i) = &each.index {
        vars.push((i.node.clone(), Type::Int));
    }
    let ir = ir::Each {
        var: each.var.node.clone(),
        index: each.index.as_ref().map(|i| i.node.clone()),
        path: steps(&each.path.node),
        only_split: each.only_split.as_ref().map(|s| s.node.clone()),
    };
    (Some(ir), vars)
}

fn filters_of(
    filters: &[ast::FilterDecl],
    scope: &Scope<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<ir::Filter> {
    let mut out = Vec::new();
    for f in filters {
        match types::expr(&f.expr, scope) {
            Ok((expr, _)) => out.push(ir::Filter {
                expr,
                cmp: f.cmp.as_ref().map(|(op, v)| (*op, to_json(&v.node))),
                only_split: f.only_split.as_ref().map(|s| s.node.clone()),
            }),
            Err(e) => diags.push(e),
        }
    }
    out
}

fn target_of(
    target: Option<&ast::TargetDecl>,
    scope: &Scope<'_>,
    diags: &mut Vec<Diagnostic>,
) -> CheckedTarget {
    let none = CheckedTarget {
        ir: None,
        kind: TargetKind::Text,
        choices: None,
        class_names: None,
    };
    match target {
        Some(ast::TargetDecl::Template(t)) => {
            let tpl = template(t, scope, diags);
            // A template that is one hole has that hole's kind.
            let hole = match t.parts.as_slice() {
                [ast::TemplatePart::Hole(e)] => types::expr(e, scope).ok().map(|(_, ty)| ty),
                _ => None,
            };
            CheckedTarget {
                ir: tpl.map(Target::Template),
                kind: hole.as_ref().map_or(TargetKind::Text, kind_of),
                choices: None,
                class_names: hole.as_ref().and_then(class_choices),
            }
        }
        Some(ast::TargetDecl::Expr(e)) => match types::expr(e, scope) {
            Ok((x, ty)) => {
                if let Err(err) = types::check_hole(&ty, e) {
                    diags.push(err);
                }
                let choices = class_choices(&ty);
                CheckedTarget {
                    ir: Some(Target::Expr(x)),
                    kind: kind_of(&ty),
                    choices: choices.clone(),
                    class_names: choices,
                }
            }
            Err(err) => {
                diags.push(err);
                none
            }
        },
        None => none,
    }
}

fn references_of(
    r: &ast::ReferencesDecl,
    scope: &Scope<'_>,
    diags: &mut Vec<Diagnostic>,
) -> CheckedReferences {
    let fs = match r {
        ast::ReferencesDecl::Expr(e) => {
            return match types::expr(e, scope) {
                Ok((x, _)) => CheckedReferences {
                    expr: Some(x),
                    fields: None,
                },
                Err(err) => {
                    diags.push(err);
                    CheckedReferences::default()
                }
            };
        }
        ast::ReferencesDecl::Record(fs) => fs,
    };
    let mut out: IndexMap<String, ir::Expr> = IndexMap::new();
    for (k, e) in fs {
        if out.contains_key(&k.node) {
            diags.push(
                Diagnostic::error(
                    "exc::check::duplicate_reference_field",
                    format!("reference field `{}` is given twice", k.node),
                    k.span,
                )
                .label("repeated")
                .help("give each field of `references { … }` once"),
            );
            continue;
        }
        match types::expr(e, scope) {
            Ok((x, _)) => {
                out.insert(k.node.clone(), x);
            }
            Err(err) => diags.push(err),
        }
    }
    CheckedReferences {
        expr: None,
        fields: Some(out),
    }
}

fn examples_of(n: &Spanned<ast::Number>, diags: &mut Vec<Diagnostic>) -> Option<u64> {
    if n.is_int && n.value >= 0.0 {
        return Some(n.value as u64);
    }
    diags.push(
        Diagnostic::error(
            "exc::check::bad_number",
            "`examples` must be a whole number of training examples",
            n.span,
        )
        .label("not a count")
        .help("write the training-set size, e.g. `examples 2490`"),
    );
    None
}

fn lengths_of(
    ls: &[(ast::Name, Spanned<f64>)],
    diags: &mut Vec<Diagnostic>,
) -> IndexMap<String, u64> {
    let mut lengths = IndexMap::new();
    for (k, v) in ls {
        if !matches!(k.node.as_str(), "inputs" | "targets") {
            diags.push(
                Diagnostic::error(
                    "exc::check::unknown_setting",
                    format!("unknown length `{}`", k.node),
                    k.span,
                )
                .label("not a length")
                .help("the lengths are `inputs` and `targets` (in tokens)"),
            );
        } else if v.node.fract() == 0.0 && v.node >= 1.0 {
            lengths.insert(k.node.clone(), v.node as u64);
        } else {
            diags.push(
                Diagnostic::error(
                    "exc::check::out_of_range",
                    format!(
                        "`{}` in `lengths` must be a whole number of tokens, at least 1, not `{}`",
                        k.node,
                        crate::range::number_text(v.node)
                    ),
                    v.span,
                )
                .label("not a token count")
                .help("e.g. `lengths { inputs 512, targets 114 }`"),
            );
        }
    }
    lengths
}

/// The names a class (or bool) target renders to, in id order.
fn class_choices(ty: &Type) -> Option<Vec<String>> {
    match ty.strip_optional() {
        Type::Class { names } => Some(names.clone()),
        Type::Bool => Some(vec!["False".into(), "True".into()]),
        _ => None,
    }
}

fn kind_of(ty: &Type) -> TargetKind {
    match ty.strip_optional() {
        Type::Class { .. } | Type::Bool => TargetKind::Class,
        Type::Int | Type::Float => TargetKind::Number,
        _ => TargetKind::Text,
    }
}

fn steps(p: &ast::Path) -> Vec<ir::Step> {
    p.0.iter()
        .map(|s| match s {
            ast::Segment::Field(f) => ir::Step::Field(f.clone()),
            ast::Segment::Index(i) => ir::Step::Index(*i),
        })
        .collect()
}

fn template(
    t: &ast::Template,
    scope: &Scope<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Option<ir::Template> {
    let mut parts = Vec::new();
    let jinja = crate::check_template::double_braces(t);
    let mut ok = jinja.is_empty();
    diags.extend(jinja);
    for p in &t.parts {
        match p {
            ast::TemplatePart::Text(s) => parts.push(Part::Text(s.clone())),
            ast::TemplatePart::Cond(c) => match crate::check_cond::cond(c, scope) {
                Ok(c) => parts.push(Part::Cond(Box::new(c))),
                Err(err) => {
                    diags.push(err);
                    ok = false;
                }
            },
            ast::TemplatePart::Hole(e) => match types::expr(e, scope) {
                Ok((x, ty)) => {
                    if let Err(err) = types::check_hole(&ty, e) {
                        diags.push(err);
                        ok = false;
                    }
                    parts.push(Part::Hole(x));
                }
                Err(err) => {
                    diags.push(err);
                    ok = false;
                }
            },
        }
    }
    ok.then(|| ir::Template {
        text: t.text.clone(),
        parts,
    })
}

fn check_sample(task: &Task, s: &Spanned<Value>, diags: &mut Vec<Diagnostic>) -> bool {
    let before = diags.len();
    value::check_against(
        &s.node,
        s.span,
        &Type::Record {
            fields: task.fields.clone(),
        },
        "",
        diags,
    );
    if diags.len() > before {
        return false;
    }
    let row = to_json(&s.node);
    let split = task
        .each
        .as_ref()
        .and_then(|e| e.only_split.clone())
        .unwrap_or_else(|| "train".into());
    match render_row(task, &row, &split) {
        Ok(_) => true,
        Err(e) => {
            diags.push(
                Diagnostic::error(
                    "exc::check::sample_render",
                    format!("sample cannot be rendered: {}", e.message),
                    s.span,
                )
                .label("this sample")
                .help("fix the sample row or the template so that every placeholder has a value"),
            );
            false
        }
    }
}
