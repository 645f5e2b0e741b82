//! `exc render TASK [--sample] [-n N] [--format text|jsonl]`

use crate::diagnostics::{self, plural};
use exc_compiler::ir::{Task, Unmatched};
use exc_compiler::render::{render_row, Example};
use std::path::PathBuf;

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Jsonl,
}

#[derive(clap::Args)]
pub struct Args {
    /// Task name (or glob, e.g. `glue_*`), looked up in --tasks
    task: String,
    /// Where the tasks are: files or directories
    #[arg(long, default_value = DEFAULT_TASKS)]
    tasks: Vec<PathBuf>,
    /// Render the task's own `sample` rows (the default)
    #[arg(long)]
    sample: bool,
    /// At most this many examples per task
    #[arg(short, default_value_t = 10, value_parser = crate::at_least_one)]
    n: usize,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Split the rows belong to (decides how `each … only SPLIT` explodes)
    #[arg(long, default_value = "train")]
    split: String,
    /// Render real rows from this data directory (and the HF cache) instead of samples
    // `--data-dir`, as `exc run` names it (and as the data's help says).
    #[arg(long, visible_alias = "data-dir", conflicts_with = "sample")]
    data: Option<PathBuf>,
}

const DEFAULT_TASKS: &str = "tasks";

/// A missing task directory is most often the default `tasks` outside the
/// project: say which flag names another, rather than the loader's general
/// help about paths inside files.
fn explain_missing_tasks(c: &mut exc_compiler::Compilation, args: &Args) {
    if args.tasks != [PathBuf::from(DEFAULT_TASKS)] {
        return;
    }
    for d in &mut c.diagnostics {
        if d.code == "exc::io::not_found" && d.span.is_none() {
            d.help = Some(format!(
                "`exc render` reads the tasks in `{DEFAULT_TASKS}` under the current directory: run it in the project root, or pass `--tasks DIR`"
            ));
        }
    }
}

pub fn run(args: &Args) -> crate::Outcome {
    let mut c = exc_compiler::compile(&args.tasks);
    explain_missing_tasks(&mut c, args);
    diagnostics::print(&c);
    if c.errors() > 0 {
        eprintln!(
            "failed: {}",
            diagnostics::plural(c.errors(), "error", "errors")
        );
        return diagnostics::outcome(&c);
    }
    let chosen: Vec<&Task> = c
        .tasks
        .values()
        .map(|t| &**t)
        .filter(|t| !t.is_abstract && exc_compiler::lower::glob(&args.task, &t.name))
        .collect();
    if chosen.is_empty() {
        eprintln!(
            "error: no task matches `{}` in {}",
            args.task,
            show_paths(&args.tasks)
        );
        if let Some(s) =
            exc_compiler::diagnostic::suggestion(&args.task, c.tasks.keys().map(String::as_str))
        {
            eprintln!("  help: {s}");
        }
        return crate::Outcome::Usage;
    }
    if let Some(dir) = &args.data {
        return render_data(&chosen, dir, args);
    }
    for task in chosen {
        let mut shown = 0;
        if matches!(args.format, Format::Text) {
            outln!(
                "== {} ({} sample{})",
                task.name,
                task.samples.len(),
                if task.samples.len() == 1 { "" } else { "s" }
            );
        }
        for row in &task.samples {
            let examples = match render_row(task, row, &args.split) {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("error: {}: {e}", task.name);
                    return crate::Outcome::Invalid;
                }
            };
            for ex in examples {
                if shown >= args.n {
                    break;
                }
                print_example(task, &ex, args.format);
                shown += 1;
            }
        }
    }
    crate::Outcome::Ok
}

fn print_example(task: &Task, ex: &Example, format: Format) {
    match format {
        Format::Jsonl => {
            let mut line = serde_json::json!({
                "task": task.name,
                "input": ex.input,
                "target": ex.target,
                "references": ex.references,
            });
            if let (Some(r), Some(o)) = (&ex.reference_record, line.as_object_mut()) {
                o.insert("reference_record".into(), r.clone());
            }
            outln!("{line}");
        }
        Format::Text => {
            outln!("input:  {}", ex.input);
            outln!("target: {}", ex.target);
            if ex.references.len() > 1 || ex.references.first() != Some(&ex.target) {
                outln!("references: {}", ex.references.join(" | "));
            }
            if let Some(r) = &ex.reference_record {
                outln!("scored against: {r}");
            }
            outln!();
        }
    }
}

fn show_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| format!("`{}`", p.display()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn render_data(tasks: &[&Task], dir: &std::path::Path, args: &Args) -> crate::Outcome {
    let roots = exc_data::source::locate::DataRoots::from_env(Some(dir.to_path_buf()));
    let mut failed = 0;
    for task in tasks {
        let (rendered, dropped, ended) =
            match crate::data_rows::render_split(task, &args.split, &roots, args.n) {
                Ok(r) => (r.rows, r.dropped, r.ended),
                Err(e) => {
                    eprintln!("error: {}: {e}", task.name);
                    return crate::Outcome::Usage;
                }
            };
        if matches!(args.format, Format::Text) {
            if task.joins.iter().all(|j| j.unmatched != Unmatched::Drop) {
                outln!(
                    "== {} ({}, {})",
                    task.name,
                    args.split,
                    plural(rendered.len(), "row", "rows")
                );
            } else {
                outln!(
                    "== {} ({}, {}; {dropped} dropped without a joined row)",
                    task.name,
                    args.split,
                    plural(rendered.len(), "row", "rows")
                );
            }
        }
        for r in rendered {
            match r.result {
                Ok(examples) => examples
                    .iter()
                    .for_each(|ex| print_example(task, ex, args.format)),
                Err(e) => {
                    failed += 1;
                    eprintln!("error: {}: {}: {e}", task.name, r.place);
                }
            }
        }
        if let Some(e) = ended {
            eprintln!("error: {}: reading stopped: {e}", task.name);
            return crate::Outcome::Invalid;
        }
    }
    if failed > 0 {
        eprintln!(
            "failed: {} could not be rendered",
            plural(failed, "row", "rows")
        );
        return crate::Outcome::Invalid;
    }
    crate::Outcome::Ok
}
