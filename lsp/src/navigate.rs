//! Go-to-definition and hover over the references `refs` finds.

use crate::analysis::{canonical, KnownTasks, Project};
use crate::refs::{self, Target};
use crate::text::{self, Encoding};
use exc_compiler::ast::Item;
use exc_compiler::ir::Task;
use exc_compiler::source::Span;
use lsp_types::{Hover, HoverContents, Location, MarkupContent, MarkupKind, Position, Range};
use std::fmt::Write as _;
use std::path::Path;

/// The reference at `offset` of the file at `path`, with the project that read it.
fn target_at<'a>(
    projects: &'a [Project],
    path: &Path,
    offset: usize,
) -> Option<(&'a Project, Span, Target)> {
    projects.iter().find_map(|p| {
        let id = p.file_id(path)?;
        let file = p.compilation.loaded.file(id)?;
        let dir = path.parent().unwrap_or(Path::new("/"));
        let all = refs::references(file, dir);
        let (span, target) = refs::at(&all, offset)?;
        Some((p, *span, target.clone()))
    })
}

/// Where a task, mixture, directory or included file is defined.
pub fn definition(
    projects: &[Project],
    path: &Path,
    offset: usize,
    enc: Encoding,
) -> Option<Location> {
    let (p, _, target) = target_at(projects, path, offset)?;
    match target {
        Target::Task(name) => declaration(p, enc, |item| match item {
            Item::Task(t) if t.name.node == name => Some(t.name.span),
            _ => None,
        }),
        Target::Mixture(name) => declaration(p, enc, |item| match item {
            Item::Mixture(m) if m.name.node == name => Some(m.name.span),
            _ => None,
        }),
        Target::Dir(dir) | Target::File(dir) => {
            let dir = canonical(&dir);
            let uri = text::path_to_uri(&dir).filter(|_| dir.exists())?;
            Some(Location::new(
                uri,
                Range::new(Position::new(0, 0), Position::new(0, 0)),
            ))
        }
        Target::Metric(_) => None,
    }
}

fn declaration(
    p: &Project,
    enc: Encoding,
    find: impl Fn(&Item) -> Option<Span>,
) -> Option<Location> {
    let span = p
        .compilation
        .loaded
        .files
        .iter()
        .filter_map(|(_, f)| f.as_ref())
        .flat_map(|f| f.items.iter())
        .find_map(find)?;
    p.location(span, enc)
}

/// A task's rendered samples, or a metric's options, as Markdown.
pub fn hover(
    projects: &[Project],
    known: &KnownTasks,
    path: &Path,
    offset: usize,
    enc: Encoding,
) -> Option<Hover> {
    let (p, span, target) = target_at(projects, path, offset)?;
    let value = match target {
        Target::Task(name) => {
            let task = p
                .compilation
                .tasks
                .get(&name)
                .or_else(|| known.0.get(&name))?;
            task_markdown(task)
        }
        Target::Metric(name) => metric_markdown(&name)?,
        Target::Mixture(name) => mixture_markdown(p, &name)?,
        Target::Dir(_) | Target::File(_) => return None,
    };
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        }),
        range: Some(text::range(p.text(span.file), span.start, span.end, enc)),
    })
}

/// How many samples a hover shows: enough to see the template's shape.
const SAMPLES_SHOWN: usize = 2;

pub fn task_markdown(task: &Task) -> String {
    let mut s = format!("**task `{}`**", task.name);
    let about: Vec<String> = [("family", &task.family), ("collection", &task.collection)]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} `{v}`")))
        .chain(std::iter::once(format!("in `{}`", task.file)))
        .collect();
    let _ = write!(s, " — {}", about.join(", "));
    if let Some(d) = &task.description {
        let _ = write!(s, "\n\n{d}");
    }
    let metrics: Vec<&str> = task.metrics.iter().map(|m| m.name.as_str()).collect();
    if !metrics.is_empty() {
        let _ = write!(s, "\n\nmetrics: {}", metrics.join(", "));
    }
    if task.is_abstract {
        s.push_str("\n\nabstract: other tasks extend it");
    }
    let mut shown = 0;
    for row in &task.samples {
        let examples = match exc_compiler::render::render_row(task, row, "train") {
            Ok(e) => e,
            Err(e) => {
                let _ = write!(s, "\n\nsample does not render: {}", e.message);
                continue;
            }
        };
        for ex in examples.iter().take(SAMPLES_SHOWN.saturating_sub(shown)) {
            shown += 1;
            let _ = write!(
                s,
                "\n\n---\nsample {shown}\n\n```text\ninput:  {}\ntarget: {}\n```",
                ex.input, ex.target
            );
        }
    }
    if task.samples.is_empty() {
        s.push_str("\n\nno `sample` rows: add one to see what the model reads");
    }
    s
}

pub fn metric_markdown(name: &str) -> Option<String> {
    let spec = exc_metrics::metric(name)?;
    let mut s = format!("**metric `{}`**", spec.name);
    if !spec.aliases.is_empty() {
        let _ = write!(s, " (also `{}`)", spec.aliases.join("`, `"));
    }
    let _ = write!(s, "\n\n{}\n\ntargets: {}", spec.summary, spec.targets);
    if !spec.kinds.is_empty() {
        let kinds: Vec<&str> = spec.kinds.iter().map(|k| k.describe()).collect();
        let _ = write!(
            s,
            "\n\nscores a task whose target is {}",
            kinds.join(" or ")
        );
    }
    if spec.options.is_empty() {
        s.push_str("\n\nno options");
    } else {
        s.push_str("\n\n| option | takes | default | meaning |\n|---|---|---|---|");
        for o in spec.options {
            let default = o.default.unwrap_or("");
            let _ = write!(
                s,
                "\n| `{}` | {} | `{default}` | {} |",
                o.name,
                o.kind.describe(),
                o.help
            );
        }
    }
    Some(s)
}

fn mixture_markdown(p: &Project, name: &str) -> Option<String> {
    let plan = p.compilation.plans.iter().find(|pl| pl.mixture == name)?;
    let mut s = format!("**mixture `{name}`**");
    if let Some(d) = &plan.description {
        let _ = write!(s, "\n\n{d}");
    }
    let _ = write!(s, "\n\n{} tasks", plan.tasks.len());
    let _ = write!(s, "; `exc plan` shows their sizes and rates");
    Some(s)
}
