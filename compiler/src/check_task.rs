//! Task declarations -> checked [`ir::Task`]s: resolves `extends`, types the
//! templates against the fields, checks metrics against the target, and
//! type-checks and renders every `sample`. Collects every diagnostic.

use crate::ast::{self, TaskDecl, TaskEntry, Value};
use crate::diagnostic::{suggestion, Diagnostic};
use crate::ir::{self, Decode, FileFormat, Metric, Part, Source, Target, TargetKind, Task, Type};
use crate::metric_specs;
use crate::render::render_row;
use crate::source::{Span, Spanned};
use crate::types::{self, Scope};
use crate::value::{self, to_json};

use indexmap::IndexMap;

/// A declaration with the file it came from (path relative to the project root).
pub struct Declared<'a> {
    pub decl: &'a TaskDecl,
    pub file: String,
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
    let fields = find(entries, |e| match e {
        TaskEntry::Fields(f) => Some(f),
        _ => None,
    })
    .map(|(f, _)| types::record(f, diags))
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
    let (target_ir, mut kind, choices) = match target {
        Some((ast::TargetDecl::Template(t), _)) => {
            let tpl = template(t, &scope, diags);
            // A template that is one hole has that hole's kind.
            let kind = match t.parts.as_slice() {
                [ast::TemplatePart::Hole(e)] => {
                    types::expr(e, &scope).ok().map(|(_, ty)| kind_of(&ty))
                }
                _ => None,
            };
            (
                tpl.map(Target::Template),
                kind.unwrap_or(TargetKind::Text),
                None,
            )
        }
        Some((ast::TargetDecl::Expr(e), _)) => match types::expr(e, &scope) {
            Ok((x, ty)) => {
                if let Err(err) = types::check_hole(&ty, e) {
                    diags.push(err);
                }
                let choices = match ty.strip_optional() {
                    Type::Class { names } => Some(names.clone()),
                    Type::Bool => Some(vec!["False".into(), "True".into()]),
                    _ => None,
                };
                (Some(Target::Expr(x)), kind_of(&ty), choices)
            }
            Err(err) => {
                diags.push(err);
                (None, TargetKind::Text, None)
            }
        },
        None => (None, TargetKind::Text, None),
    };

    let references = find(entries, |e| match e {
        TaskEntry::References(x) => Some(x),
        _ => None,
    })
    .and_then(|(e, _)| match types::expr(e, &scope) {
        Ok((x, _)) => Some(x),
        Err(err) => {
            diags.push(err);
            None
        }
    });

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
        Some((calls, _)) => calls
            .iter()
            .filter_map(|c| metric(c, kind, diags))
            .collect(),
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

    let source = find(entries, |e| match e {
        TaskEntry::Source(s) => Some(s),
        _ => None,
    })
    .and_then(|(s, _)| source_of(s, diags));

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
            } else {
                lengths.insert(k.node.clone(), v.node.max(0.0) as u64);
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
        fields,
        filters,
        each: each_ir,
        input,
        target,
        target_kind: kind,
        references,
        postprocess,
        metrics,
        decode,
        lengths,
        examples,
        choices,
        samples: Vec::new(),
        is_abstract: decl.is_abstract,
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
    let mut ok = true;
    for p in &t.parts {
        match p {
            ast::TemplatePart::Text(s) => parts.push(Part::Text(s.clone())),
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

fn metric(c: &ast::Call, kind: TargetKind, diags: &mut Vec<Diagnostic>) -> Option<Metric> {
    let Some(spec) = metric_specs::metric(&c.name.node) else {
        diags.push(
            Diagnostic::error(
                "exc::check::unknown_metric",
                format!("unknown metric `{}`", c.name.node),
                c.name.span,
            )
            .label("not a metric")
            .help(
                suggestion(&c.name.node, metric_specs::metric_names()).unwrap_or_else(|| {
                    format!(
                        "`exc metric --list` shows them all: {}",
                        metric_specs::metric_names().collect::<Vec<_>>().join(", ")
                    )
                }),
            ),
        );
        return None;
    };
    let name = spec.info.name;
    if !spec.kinds.is_empty() && !spec.kinds.contains(&kind) {
        let wants: Vec<&str> = spec
            .kinds
            .iter()
            .map(|k| metric_specs::kind_name(*k))
            .collect();
        diags.push(
            Diagnostic::error(
                "exc::check::metric_target_mismatch",
                format!(
                    "metric `{}` scores {}, but this task's target is {}",
                    c.name.node,
                    wants.join(" or "),
                    metric_specs::kind_name(kind)
                ),
                c.span,
            )
            .label("does not fit the target")
            .help(match spec.kinds.first() {
                Some(TargetKind::Number) => {
                    "add `postprocess string_to_float` if the target is a number written as text"
                }
                Some(TargetKind::Class) => {
                    "make the target a class field (`label: class[...]`), or use `accuracy`"
                }
                _ => "use a metric for this kind of target",
            }),
        );
        return None;
    }
    let mut options = IndexMap::new();
    for a in &c.args {
        let Some(n) = &a.name else {
            diags.push(
                Diagnostic::error(
                    "exc::check::bad_argument",
                    format!("options of `{name}` are named"),
                    a.value.span,
                )
                .label("unnamed")
                .help("write `name = value`"),
            );
            continue;
        };
        let Some((_, default, _)) = spec.info.options.iter().find(|(o, _, _)| *o == n.node) else {
            let names: Vec<&str> = spec.info.options.iter().map(|(o, _, _)| *o).collect();
            diags.push(
                Diagnostic::error(
                    "exc::check::unknown_metric_option",
                    format!("metric `{name}` has no option `{}`", n.node),
                    n.span,
                )
                .label("unknown option")
                .help(
                    suggestion(&n.node, names.iter().copied()).unwrap_or_else(|| {
                        if names.is_empty() {
                            format!("`{name}` takes no options")
                        } else {
                            format!("its options are: {}", names.join(", "))
                        }
                    }),
                ),
            );
            continue;
        };
        // The registry takes options as strings; a boolean option must be given as one.
        let is_bool = matches!(*default, "true" | "false");
        let text = match &a.value.node {
            Value::Bool(b) => Some(b.to_string()),
            Value::Str(s) | Value::Word(s) if !is_bool => Some(s.clone()),
            Value::Num(_) if !is_bool => Some(value::show(&a.value.node)),
            _ => None,
        };
        let Some(text) = text else {
            diags.push(
                Diagnostic::error(
                    "exc::check::bad_argument",
                    format!(
                        "option `{}` of `{name}` takes {}",
                        n.node,
                        if is_bool { "true or false" } else { "a value" }
                    ),
                    a.value.span,
                )
                .label("here")
                .help(format!(
                    "`exc metric --list` describes the options of `{name}`"
                )),
            );
            continue;
        };
        // Values are checked by the metric itself: score one trivial example and
        // report an option it rejects (other errors only say the probe was too trivial).
        let mut probe = exc_metrics::registry::Options::default();
        probe.0.insert(n.node.clone(), text.clone());
        let probe_result = exc_metrics::registry::compute(
            name,
            &["a".to_string()],
            &[serde_json::json!("a")],
            &probe,
        );
        if let Err(e @ exc_metrics::registry::MetricError::BadOption { .. }) = probe_result {
            diags.push(
                Diagnostic::error(
                    "exc::check::bad_argument",
                    format!("bad value for option `{}` of `{name}`", n.node),
                    a.value.span,
                )
                .label("here")
                .help(e.to_string()),
            );
            continue;
        }
        options.insert(n.node.clone(), serde_json::Value::String(text));
    }
    Some(Metric {
        name: name.to_string(),
        options,
    })
}

fn decode(c: &ast::Call, kind: TargetKind, diags: &mut Vec<Diagnostic>) -> Decode {
    let num = |name: &str, pos: usize, default: f64| {
        c.args
            .iter()
            .find(|a| a.name.as_ref().is_some_and(|n| n.node == name))
            .or_else(|| c.args.iter().filter(|a| a.name.is_none()).nth(pos))
            .and_then(|a| match a.value.node {
                Value::Num(n) => Some(n.value),
                _ => None,
            })
            .unwrap_or(default)
    };
    match c.name.node.as_str() {
        "greedy" => Decode::Greedy,
        "beam" => Decode::Beam {
            size: num("size", 0, 4.0).max(1.0) as usize,
            alpha: num("alpha", 1, 0.6),
        },
        "rank_classification" if kind == TargetKind::Class => Decode::RankClassification,
        "rank_classification" => {
            diags.push(
                Diagnostic::error(
                    "exc::check::metric_target_mismatch",
                    "rank classification needs a class-label target",
                    c.span,
                )
                .label("target is not a class")
                .help("declare the target field as `class[...]`"),
            );
            Decode::Greedy
        }
        other => {
            diags.push(
                Diagnostic::error(
                    "exc::check::unknown_decode",
                    format!("unknown decoding `{other}`"),
                    c.name.span,
                )
                .label("not a decoding method")
                .help("use `greedy`, `beam(size = 4, alpha = 0.6)` or `rank_classification`"),
            );
            Decode::Greedy
        }
    }
}

pub fn source_of(s: &ast::SourceDecl, diags: &mut Vec<Diagnostic>) -> Option<Source> {
    let splits = |list: &[(ast::Name, Spanned<String>)]| -> IndexMap<String, String> {
        list.iter()
            .map(|(k, v)| (k.node.clone(), v.node.clone()))
            .collect()
    };
    match s {
        ast::SourceDecl::Hf {
            dataset,
            config,
            revision,
            splits: sp,
        } => {
            if !dataset.node.contains('/') && !dataset.node.is_empty() {
                diags.push(
                    Diagnostic::warning(
                        "exc::check::hf_id_without_org",
                        format!("hub id `{}` has no organisation", dataset.node),
                        dataset.span,
                    )
                    .label("legacy id")
                    .help("most canonical datasets moved under an organisation, e.g. `glue` is now `nyu-mll/glue`"),
                );
            }
            Some(Source::Hf {
                dataset: dataset.node.clone(),
                config: config.as_ref().map(|c| c.node.clone()),
                revision: revision.as_ref().map(|c| c.node.clone()),
                splits: splits(sp),
            })
        }
        ast::SourceDecl::Files {
            format,
            columns,
            header,
            quoting,
            splits: sp,
        } => {
            let Some(fmt) = FileFormat::parse(&format.node) else {
                diags.push(
                    Diagnostic::error(
                        "exc::check::unknown_format",
                        format!("unknown file format `{}`", format.node),
                        format.span,
                    )
                    .label("not a format")
                    .help(format!("the formats are: {}", FileFormat::NAMES.join(", "))),
                );
                return None;
            };
            for (_, path) in sp {
                if escapes(&path.node) {
                    diags.push(
                        Diagnostic::error(
                            "exc::check::path_escapes_root",
                            format!("`{}` points outside the data directory", path.node),
                            path.span,
                        )
                        .label("escapes with `..`")
                        .help("source paths are relative to the data directory (`--data-dir`); use an absolute path to read elsewhere"),
                    );
                }
            }
            Some(Source::Files {
                format: fmt,
                columns: columns
                    .as_ref()
                    .map(|c| c.iter().map(|n| n.node.clone()).collect()),
                header: header.unwrap_or(true),
                quoting: quoting.unwrap_or(!matches!(fmt, FileFormat::Tsv)),
                splits: splits(sp),
            })
        }
    }
}

/// Whether a relative path climbs above its base with `..`.
pub fn escapes(path: &str) -> bool {
    if std::path::Path::new(path).is_absolute() {
        return false;
    }
    let mut depth: i64 = 0;
    for part in path.split(['/', '\\']) {
        match part {
            ".." => depth -= 1,
            "" | "." => {}
            _ => depth += 1,
        }
        if depth < 0 {
            return true;
        }
    }
    false
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
