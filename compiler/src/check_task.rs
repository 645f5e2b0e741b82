//! Task declarations -> checked [`ir::Task`]s: resolves `extends`, types the
//! templates against the fields, checks metrics against the target, and
//! type-checks and renders every `sample`. Collects every diagnostic.

use crate::ast::{self, TaskDecl, TaskEntry, Value};
use crate::check_source::{check_part_field, joins_of, source_of};
use crate::diagnostic::{suggestion, Diagnostic};
use crate::ir::{self, Decode, Metric, Part, Target, TargetKind, Task, Type};
use crate::metric_specs;
use crate::render::render_row;
use crate::source::{Span, Spanned};
use crate::task_entries::{decode, metric};
use crate::types::{self, Scope};
use crate::value::{self, to_json};

use indexmap::IndexMap;

/// A declaration with the file it came from (path relative to the project root).
pub struct Declared<'a> {
    pub decl: &'a TaskDecl,
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
    let tasks = check_tasks(&decls, &mut diags);
    (tasks, diags)
}

/// Check all task declarations. Returns the tasks that checked cleanly.
pub fn check_tasks(decls: &[Declared<'_>], diags: &mut Vec<Diagnostic>) -> IndexMap<String, Task> {
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
    let mut out = IndexMap::new();
    for (name, d) in &by_name {
        let Some(entries) = merged_entries(d.decl, &by_name, diags, &mut Vec::new()) else {
            continue;
        };
        let before = diags.len();
        let task = build(d, &entries, diags);
        if diags[before..].iter().all(|x| !x.is_error()) {
            if let Some(task) = task {
                out.insert((*name).to_string(), task);
            }
        }
    }
    out
}

/// Entries after `extends`: the parent's, with the child's replacing the
/// same keyword; `filter`s add up; `fields` merge by name.
fn merged_entries(
    decl: &TaskDecl,
    all: &IndexMap<&str, &Declared<'_>>,
    diags: &mut Vec<Diagnostic>,
    chain: &mut Vec<String>,
) -> Option<Vec<Spanned<TaskEntry>>> {
    chain.push(decl.name.node.clone());
    let mut entries = match &decl.extends {
        None => Vec::new(),
        Some(parent) => {
            if chain.contains(&parent.node) {
                diags.push(
                    Diagnostic::error(
                        "exc::check::extends_cycle",
                        format!(
                            "`{}` extends itself through {}",
                            decl.name.node,
                            chain.join(" -> ")
                        ),
                        parent.span,
                    )
                    .label("cycle closes here")
                    .help("break the cycle: a task may extend only tasks that do not extend it"),
                );
                return None;
            }
            let Some(p) = all.get(parent.node.as_str()) else {
                diags.push(
                    Diagnostic::error(
                        "exc::check::unknown_task",
                        format!(
                            "`{}` extends unknown task `{}`",
                            decl.name.node, parent.node
                        ),
                        parent.span,
                    )
                    .label("not defined")
                    .maybe_help(suggestion(&parent.node, all.keys().copied())),
                );
                return None;
            };
            merged_entries(p.decl, all, diags, chain)?
        }
    };
    let own = &decl.entries;
    check_repeats(own, diags);
    let child_has_samples = own.iter().any(|e| matches!(e.node, TaskEntry::Sample(_)));
    if child_has_samples {
        entries.retain(|e| !matches!(e.node, TaskEntry::Sample(_)));
    }
    for e in own {
        match &e.node {
            TaskEntry::Filter(_) | TaskEntry::Sample(_) => entries.push(e.clone()),
            TaskEntry::Fields(fields) => {
                let mut merged: Vec<ast::FieldDecl> = entries
                    .iter()
                    .find_map(|x| match &x.node {
                        TaskEntry::Fields(f) => Some(f.clone()),
                        _ => None,
                    })
                    .unwrap_or_default();
                for f in fields {
                    match merged.iter_mut().find(|m| m.name.node == f.name.node) {
                        Some(m) => *m = f.clone(),
                        None => merged.push(f.clone()),
                    }
                }
                entries.retain(|x| !matches!(x.node, TaskEntry::Fields(_)));
                entries.push(Spanned::new(TaskEntry::Fields(merged), e.span));
            }
            other => {
                let kw = other.keyword();
                entries.retain(|x| x.node.keyword() != kw);
                entries.push(e.clone());
            }
        }
    }
    chain.pop();
    Some(entries)
}

/// A metric that scores records (`wsc_simple`) needs `references { … }` with
/// its fields; a metric that scores text cannot read such references.
fn check_record_targets(
    c: &ast::Call,
    fields: Option<&IndexMap<String, ir::Expr>>,
    refs_span: Option<Span>,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(spec) = metric_specs::metric(&c.name.node) else {
        return; // reported by `metric`
    };
    let name = spec.info.name;
    match (metric_specs::record_fields(name), fields) {
        (Some(want), Some(have)) => {
            let missing: Vec<&str> = want
                .iter()
                .copied()
                .filter(|f| !have.contains_key(*f))
                .collect();
            if !missing.is_empty() {
                let mut d = Diagnostic::error(
                    "exc::check::missing_reference_field",
                    format!(
                        "metric `{name}` needs reference field{} {}",
                        if missing.len() > 1 { "s" } else { "" },
                        missing
                            .iter()
                            .map(|f| format!("`{f}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    c.span,
                )
                .label("scores records")
                .help(format!("add them: {}", references_hint(want)));
                if let Some(s) = refs_span {
                    d = d.related(s, "references declared here");
                }
                diags.push(d);
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
            let mut d = Diagnostic::error(
                "exc::check::metric_target_mismatch",
                format!("metric `{name}` scores text, but `references {{ … }}` gives it records"),
                c.span,
            )
            .label("does not read records")
            .help("use `references EXPR` (a list of answers) with this metric, or a metric that reads records (`wsc_simple`)");
            if let Some(s) = refs_span {
                d = d.related(s, "references declared here");
            }
            diags.push(d);
        }
        (None, None) => {}
    }
}

/// `references { a: …, b: … }` for the fields a record metric wants.
fn references_hint(want: &[&str]) -> String {
    let fields: Vec<String> = want.iter().map(|f| format!("{f}: …")).collect();
    format!("`references {{ {} }}`", fields.join(", "))
}

fn check_repeats(entries: &[Spanned<TaskEntry>], diags: &mut Vec<Diagnostic>) {
    let mut seen: IndexMap<&str, Span> = IndexMap::new();
    for e in entries {
        let kw = e.node.keyword();
        if matches!(kw, "filter" | "sample") {
            continue;
        }
        if let Some(prev) = seen.get(kw) {
            diags.push(
                Diagnostic::error(
                    "exc::check::duplicate_entry",
                    format!("`{kw}` is given twice in one task"),
                    e.span,
                )
                .label("repeated")
                .related(*prev, "first given here")
                .help(format!("keep one `{kw}`; use `extends` to vary a task")),
            );
        } else {
            seen.insert(kw, e.span);
        }
    }
}

fn find<'a, T>(
    entries: &'a [Spanned<TaskEntry>],
    f: impl Fn(&'a TaskEntry) -> Option<T>,
) -> Option<(T, Span)> {
    entries
        .iter()
        .rev()
        .find_map(|e| f(&e.node).map(|x| (x, e.span)))
}

fn build(
    d: &Declared<'_>,
    entries: &[Spanned<TaskEntry>],
    diags: &mut Vec<Diagnostic>,
) -> Option<Task> {
    let decl = d.decl;
    let name = decl.name.node.clone();
    let declared = find(entries, |e| match e {
        TaskEntry::Fields(f) => Some(f),
        _ => None,
    });
    let fields = declared
        .map(|(f, _)| types::record(f, diags))
        .unwrap_or_default();
    let field_spans: Vec<(String, crate::source::Span)> = declared
        .map(|(f, _)| {
            f.iter()
                .map(|x| (x.name.node.clone(), x.name.span))
                .collect()
        })
        .unwrap_or_default();

    let each = find(entries, |e| match e {
        TaskEntry::Each(x) => Some(x),
        _ => None,
    })
    .map(|(x, _)| x);
    let scope0 = Scope {
        fields: &fields,
        vars: Vec::new(),
    };
    let mut each_ir = None;
    let mut vars = Vec::new();
    if let Some(each) = each {
        match types::path_type(&each.path, &scope0) {
            Ok(t) => match t.strip_optional() {
                Type::List { of } => {
                    vars.push((each.var.node.clone(), (**of).clone()));
                    if let Some(i) = &each.index {
                        vars.push((i.node.clone(), Type::Int));
                    }
                    each_ir = Some(ir::Each {
                        var: each.var.node.clone(),
                        index: each.index.as_ref().map(|i| i.node.clone()),
                        path: steps(&each.path.node),
                        only_split: each.only_split.as_ref().map(|s| s.node.clone()),
                    });
                }
                other => diags.push(
                    Diagnostic::error(
                        "exc::check::not_a_list",
                        format!(
                            "`each` needs a list, but `{}` is {}",
                            each.path.node,
                            other.describe()
                        ),
                        each.path.span,
                    )
                    .label("not a list")
                    .help("`each x in field` makes one example per element of a list field"),
                ),
            },
            Err(e) => diags.push(e),
        }
    }
    let scope = Scope {
        fields: &fields,
        vars,
    };

    let mut filters = Vec::new();
    for e in entries {
        if let TaskEntry::Filter(f) = &e.node {
            match types::expr(&f.expr, &scope0) {
                Ok((expr, _)) => filters.push(ir::Filter {
                    expr,
                    cmp: f.cmp.as_ref().map(|(op, v)| (*op, to_json(&v.node))),
                    only_split: f.only_split.as_ref().map(|s| s.node.clone()),
                }),
                Err(e) => diags.push(e),
            }
        }
    }

    let input = find(entries, |e| match e {
        TaskEntry::Input(t) => Some(t),
        _ => None,
    });
    let target = find(entries, |e| match e {
        TaskEntry::Target(t) => Some(t),
        _ => None,
    });
    if !decl.is_abstract {
        for (missing, what) in [(input.is_none(), "input"), (target.is_none(), "target")] {
            if missing {
                diags.push(
                    Diagnostic::error(
                        "exc::check::missing_entry",
                        format!("task `{name}` has no `{what}`"),
                        decl.name.span,
                    )
                    .label(format!("needs `{what}`"))
                    .help(match what {
                        "input" => {
                            "add an input template, e.g. `input \"rte sentence1: {sentence1}\"`"
                        }
                        _ => "add a target, e.g. `target label` or `target \"{answer}\"`",
                    }),
                );
            }
        }
    }
    let input_ir = input.and_then(|(t, _)| template(t, &scope, diags));
    // `class_names`: what a class target renders to, for the metrics that
    // need class ids; `choices` (the task's) only for an expression target.
    let (target_ir, mut kind, choices, class_names) = match target {
        Some((ast::TargetDecl::Template(t), _)) => {
            let tpl = template(t, &scope, diags);
            // A template that is one hole has that hole's kind.
            let hole = match t.parts.as_slice() {
                [ast::TemplatePart::Hole(e)] => types::expr(e, &scope).ok().map(|(_, ty)| ty),
                _ => None,
            };
            (
                tpl.map(Target::Template),
                hole.as_ref().map_or(TargetKind::Text, kind_of),
                None,
                hole.as_ref().and_then(class_choices),
            )
        }
        Some((ast::TargetDecl::Expr(e), _)) => match types::expr(e, &scope) {
            Ok((x, ty)) => {
                if let Err(err) = types::check_hole(&ty, e) {
                    diags.push(err);
                }
                let choices = class_choices(&ty);
                (
                    Some(Target::Expr(x)),
                    kind_of(&ty),
                    choices.clone(),
                    choices,
                )
            }
            Err(err) => {
                diags.push(err);
                (None, TargetKind::Text, None, None)
            }
        },
        None => (None, TargetKind::Text, None, None),
    };

    let (mut references, mut reference_fields) = (None, None);
    let references_decl = find(entries, |e| match e {
        TaskEntry::References(x) => Some(x),
        _ => None,
    });
    match references_decl {
        Some((ast::ReferencesDecl::Expr(e), _)) => match types::expr(e, &scope) {
            Ok((x, _)) => references = Some(x),
            Err(err) => diags.push(err),
        },
        Some((ast::ReferencesDecl::Record(fs), _)) => {
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
                match types::expr(e, &scope) {
                    Ok((x, _)) => {
                        out.insert(k.node.clone(), x);
                    }
                    Err(err) => diags.push(err),
                }
            }
            reference_fields = Some(out);
        }
        None => {}
    }

    let mut postprocess = Vec::new();
    if let Some((calls, _)) = find(entries, |e| match e {
        TaskEntry::Postprocess(c) => Some(c),
        _ => None,
    }) {
        for c in calls {
            match metric_specs::POSTPROCESSORS
                .iter()
                .find(|(n, _)| *n == c.name.node)
            {
                Some((n, k)) => {
                    if let Some(k) = k {
                        kind = *k;
                    }
                    postprocess.push(Metric {
                        name: (*n).to_string(),
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
                    .help(
                        suggestion(
                            &c.name.node,
                            metric_specs::POSTPROCESSORS.iter().map(|(n, _)| *n),
                        )
                        .unwrap_or_else(|| {
                            let names: Vec<_> = metric_specs::POSTPROCESSORS
                                .iter()
                                .map(|(n, _)| *n)
                                .collect();
                            format!("the postprocessors are: {}", names.join(", "))
                        }),
                    ),
                ),
            }
        }
    }

    let metrics = match find(entries, |e| match e {
        TaskEntry::Metrics(c) => Some(c),
        _ => None,
    }) {
        Some((calls, _)) => {
            if !decl.is_abstract {
                let refs_span = references_decl.map(|(_, s)| s);
                for c in calls {
                    check_record_targets(c, reference_fields.as_ref(), refs_span, diags);
                }
            }
            let mut metrics: Vec<Metric> = calls
                .iter()
                .filter_map(|c| metric(c, kind, diags))
                .collect();
            if let Some(names) = class_names.as_deref().filter(|_| kind == TargetKind::Class) {
                for m in &mut metrics {
                    if let Err(n) = crate::task_entries::class_labels(m, names) {
                        diags.push(
                            Diagnostic::error(
                                "exc::check::bad_argument",
                                format!(
                                    "metric `{}` scores class ids, but class `{n}` has a comma, \
                                     which its `labels` cannot hold",
                                    m.name
                                ),
                                decl.name.span,
                            )
                            .label("in this task")
                            .help("rename the class without a comma, or use `accuracy`"),
                        );
                    }
                }
            }
            metrics
        }
        None => {
            if !decl.is_abstract {
                diags.push(
                    Diagnostic::error(
                        "exc::check::missing_entry",
                        format!("task `{name}` has no `metrics`"),
                        decl.name.span,
                    )
                    .label("needs `metrics`")
                    .help("name how it is scored, e.g. `metrics accuracy`"),
                );
            }
            Vec::new()
        }
    };

    let decode = match find(entries, |e| match e {
        TaskEntry::Decode(c) => Some(c),
        _ => None,
    }) {
        Some((c, _)) => decode(c, kind, diags),
        None => Decode::Greedy,
    };

    let source_entry = find(entries, |e| match e {
        TaskEntry::Source(s) => Some(s),
        _ => None,
    })
    .map(|(s, _)| s);
    let source = source_entry.and_then(|s| {
        check_part_field(&s.source, &fields, diags);
        source_of(&s.source, diags)
    });
    let joins = source_entry
        .map(|s| joins_of(&s.joins, source.as_ref(), &fields, diags))
        .unwrap_or_default();

    let examples = find(entries, |e| match e {
        TaskEntry::Examples(n) => Some(n),
        _ => None,
    })
    .and_then(|(n, _)| {
        if n.is_int && n.value >= 0.0 {
            Some(n.value as u64)
        } else {
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
    });

    let mut lengths = IndexMap::new();
    if let Some((ls, _)) = find(entries, |e| match e {
        TaskEntry::Lengths(l) => Some(l),
        _ => None,
    }) {
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
    }

    let one = |f: fn(&TaskEntry) -> Option<&Spanned<String>>| {
        find(entries, f).map(|(n, _)| n.node.clone())
    };
    let (Some(input), Some(target)) = (input_ir, target_ir) else {
        if decl.is_abstract {
            return None;
        }
        return None;
    };
    let mut task = Task {
        name,
        collection: one(|e| match e {
            TaskEntry::Collection(n) => Some(n),
            _ => None,
        }),
        family: one(|e| match e {
            TaskEntry::Family(n) => Some(n),
            _ => None,
        }),
        description: find(entries, |e| match e {
            TaskEntry::Description(s) => Some(s.clone()),
            _ => None,
        })
        .map(|(s, _)| s),
        file: d.file.clone(),
        source,
        joins,
        fields,
        filters,
        each: each_ir,
        input,
        target,
        target_kind: kind,
        references,
        reference_fields,
        postprocess,
        metrics,
        decode,
        lengths,
        examples,
        choices,
        samples: Vec::new(),
        is_abstract: decl.is_abstract,
        declared_at: IndexMap::new(),
        field_spans,
    };
    for e in entries {
        if let TaskEntry::Sample(s) = &e.node {
            if check_sample(&task, s, diags) {
                task.samples.push(to_json(&s.node));
            }
        }
    }
    Some(task)
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
