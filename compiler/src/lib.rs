//! The exc compiler: `.task` and `.exmix` text -> checked IR -> plan JSON.
//!
//! ```no_run
//! let c = exc_compiler::compile(&["examples/quickstart/quickstart.exmix".into()]);
//! for d in &c.diagnostics {
//!     eprintln!("{:?}", d.to_report(&c.loaded.sources));
//! }
//! if let Some(plan) = c.plans.first() {
//!     println!("{}", plan.to_json());
//! }
//! ```
//!
//! Stages, one module each: [`syntax`] (pest -> [`ast`]), [`check_task`] and
//! [`types`] (tasks -> [`ir`]), [`lower`] (mixture -> [`plan`]), with
//! [`render`] evaluating templates over rows for `exc render` and the runtime.

// Diagnostics are large values on a cold path; boxing them buys nothing.
#![allow(clippy::result_large_err)]

pub mod ast;
pub mod check_cond;
mod check_scoring;
pub mod check_source;
pub mod check_task;
mod check_template;
pub mod diagnostic;
mod excerpt;
mod extends;
pub mod funcs;
mod grammar;
pub mod ir;
pub mod load;
pub mod lower;
pub mod lower_rates;
pub mod lower_settings;
pub mod overrides;
pub mod plan;
pub mod range;
pub mod rates;
pub mod render;
pub mod settings;
pub mod source;
pub mod syntax;
mod syntax_error;
/// The keywords that start an entry of a task, of a mixture, and of a file
/// (the parser's expectations and the language server's completions).
pub use grammar::{MIXTURE_KEYWORDS, TASK_KEYWORDS, TOP_KEYWORDS};
pub mod task_entries;
pub mod train_settings;
pub mod types;
pub mod value;

use ast::{Item, MixEntry, MixtureDecl};
use diagnostic::Diagnostic;
use indexmap::IndexMap;
use ir::Task;
use load::Loaded;
use plan::Plan;
use source::{FileId, Spanned};
use std::path::{Path, PathBuf};

/// Everything one compiler run produced.
pub struct Compilation {
    pub loaded: Loaded,
    /// Tasks that checked cleanly, by name (abstract ones included).
    pub tasks: IndexMap<String, std::sync::Arc<Task>>,
    /// Number of task declarations read, including ones with errors.
    pub task_count: usize,
    pub mixture_count: usize,
    /// One plan per mixture that checked cleanly.
    pub plans: Vec<Plan>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Compilation {
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub fn warnings(&self) -> usize {
        self.diagnostics.len() - self.errors()
    }

    /// Whether a problem was reading files rather than their content.
    pub fn has_io_error(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.code.starts_with("exc::io::"))
    }
}

/// Check files and directories; lower every mixture found into a plan.
pub fn compile(paths: &[PathBuf]) -> Compilation {
    compile_with(paths, std::collections::HashMap::new())
}

/// [`compile`], reading the texts in `overlay` (by canonical path) instead of
/// those files on disk: the language server checks unsaved buffers.
pub fn compile_with(
    paths: &[PathBuf],
    overlay: std::collections::HashMap<PathBuf, String>,
) -> Compilation {
    compile_inner(paths, overlay, &Sets::default())
}

/// Settings from the command line (`--set`, see [`overrides`]) for the
/// mixtures of the files given, or only for the one named `only`.
#[derive(Debug, Clone, Default)]
pub struct Sets<'a> {
    pub args: &'a [String],
    pub only: Option<&'a str>,
}

/// [`compile`] with the command line's `--set` overrides applied to the
/// mixtures of `paths` (not to those of `use`d directories); each plan
/// they reach records them in `overrides`, which changes its hash.
pub fn compile_set(paths: &[PathBuf], sets: &Sets<'_>) -> Compilation {
    compile_inner(paths, std::collections::HashMap::new(), sets)
}

fn compile_inner(
    paths: &[PathBuf],
    overlay: std::collections::HashMap<PathBuf, String>,
    sets: &Sets<'_>,
) -> Compilation {
    let root = paths
        .first()
        .map_or_else(|| PathBuf::from("."), |p| load::find_root(p));
    let mut diags = Vec::new();
    let mut loaded = Loaded::new(root);
    loaded.overlay = overlay;
    let mut given = Vec::new();
    for p in paths {
        given.extend(loaded.load_path(p, None, &mut diags));
    }
    let sets_parsed = overrides::parse(&mut loaded.sources, sets.args, &mut diags);
    // Mixtures name where their tasks come from; default to the project's tasks/.
    let mut uses: Vec<(PathBuf, Option<source::Span>)> = Vec::new();
    for (id, file) in &loaded.files {
        let Some(file) = file else { continue };
        let dir = loaded
            .sources
            .get(*id)
            .and_then(|f| f.path.parent())
            .map(Path::to_path_buf)
            .unwrap_or_default();
        for item in &file.items {
            if let Item::Mixture(m) = item {
                let mut any = false;
                for e in &m.entries {
                    if let MixEntry::Use(list) = &e.node {
                        any = true;
                        uses.extend(list.iter().map(|s| (dir.join(&s.node), Some(s.span))));
                    }
                }
                if !any && m.extends.is_none() {
                    uses.push((loaded.root.join("tasks"), None));
                }
            }
        }
    }
    for (path, span) in uses {
        if span.is_none() && !path.exists() {
            continue;
        }
        loaded.load_path(&path, span, &mut diags);
    }

    let mut decls = Vec::new();
    let mut mixtures: Vec<(FileId, &MixtureDecl)> = Vec::new();
    for (id, file) in &loaded.files {
        let Some(file) = file else { continue };
        for item in &file.items {
            match item {
                Item::Task(t) => decls.push(check_task::Declared {
                    decl: t,
                    file: loaded.relative(*id),
                }),
                Item::Mixture(m) => mixtures.push((*id, m)),
                Item::Include(_) => {}
            }
        }
    }
    let task_count = decls.len();
    let mut tasks = check_task::check_tasks(&decls, &mut diags);
    for t in tasks.values_mut() {
        // Each task is still held once here (plans share it afterwards).
        let t = std::sync::Arc::make_mut(t);
        for (name, span) in &t.field_spans {
            let (line, col) = loaded.sources.line_col(span.file, span.start);
            let at = format!("{}:{line}:{col}", loaded.relative(span.file));
            t.declared_at.insert(name.clone(), at);
        }
    }
    let mut plans = Vec::new();
    for (id, m) in &mixtures {
        let Some(mut entries) = mixture_entries(m, &mixtures, &mut diags) else {
            continue;
        };
        let overridden = !sets.args.is_empty()
            && given.contains(id)
            && sets.only.is_none_or(|n| n == m.name.node);
        if overridden {
            overrides::apply(&sets_parsed, m, &mut entries, &mut diags);
        }
        let input = lower::MixtureInput {
            decl: m,
            file: loaded.relative(*id),
            entries,
        };
        if let Some(mut plan) = lower::lower(&input, &tasks, &mut diags) {
            if overridden {
                plan.overrides = overrides::texts(&sets_parsed);
                plan = plan.seal();
            }
            plans.push(plan);
        }
    }
    let mixture_count = mixtures.len();
    drop(decls);
    Compilation {
        loaded,
        tasks,
        task_count,
        mixture_count,
        plans,
        diagnostics: dedupe(diags),
    }
}

fn dedupe(diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = Vec::with_capacity(diags.len());
    for d in diags {
        if !out.contains(&d) {
            out.push(d);
        }
    }
    out
}

/// A mixture's entries after `extends`: the parent's, with the child's
/// replacing entries of the same kind (each sweep by its variable).
fn mixture_entries(
    m: &MixtureDecl,
    all: &[(FileId, &MixtureDecl)],
    diags: &mut Vec<Diagnostic>,
) -> Option<Vec<Spanned<MixEntry>>> {
    let decls: Vec<&MixtureDecl> = all.iter().map(|(_, x)| *x).collect();
    let key = |e: &MixEntry| match e {
        MixEntry::Sweep { var, .. } => format!("sweep {}", var.node),
        MixEntry::Stage(_) => "stage".to_string(),
        other => format!("{:?}", std::mem::discriminant(other)),
    };
    let mut entries: Vec<Spanned<MixEntry>> = Vec::new();
    for decl in extends::lineage(m, &decls, diags)? {
        let own_keys: Vec<String> = decl.entries.iter().map(|e| key(&e.node)).collect();
        entries.retain(|e| !own_keys.contains(&key(&e.node)));
        entries.extend(decl.entries.iter().cloned());
    }
    Some(entries)
}
