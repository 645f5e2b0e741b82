//! `exc check PATH...`

use crate::diagnostics::{self, plural};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Files or directories (searched recursively for .task and .exmix)
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Leave the time out of the summary (for reproducible output)
    #[arg(long)]
    no_time: bool,
    /// Also read real rows of every task: from the hub cache, and from DIR when given
    // `--data-dir`, as `exc run` names it (and as the data's help says).
    // `--data` alone reads the hub cache only (what `exc fetch` fills).
    #[arg(long, visible_alias = "data-dir", value_name = "DIR", num_args = 0..=1)]
    data: Option<Option<PathBuf>>,
    /// Rows sampled per split with --data
    #[arg(long, default_value_t = 200, value_parser = crate::at_least_one)]
    rows: usize,
    /// With --data: report token lengths and truncation with this tokenizer
    #[arg(long)]
    tokenizer: Option<PathBuf>,
}

pub fn run(args: &Args) -> crate::Outcome {
    // Token lengths are measured on real rows: without them the tokenizer
    // would be read for nothing, and silently.
    if args.tokenizer.is_some() && args.data.is_none() {
        eprintln!("error: `--tokenizer` needs `--data`: token lengths are measured on the rows read from the data");
        eprintln!("  help: pass `--data DATA_DIR` as well, or leave `--tokenizer` out");
        return crate::Outcome::Usage;
    }
    let start = Instant::now();
    let c = exc_compiler::compile(&args.paths);
    let elapsed = start.elapsed();
    diagnostics::print(&c);
    let time = if args.no_time {
        String::new()
    } else {
        format!(" in {:.1} ms", elapsed.as_secs_f64() * 1e3)
    };
    let status = if c.errors() == 0 { "ok" } else { "failed" };
    eprintln!(
        "{status}: checked {}, {} in {}{time}: {}, {}",
        plural(c.task_count, "task", "tasks"),
        plural(c.mixture_count, "mixture", "mixtures"),
        plural(c.loaded.sources.len(), "file", "files"),
        plural(c.errors(), "error", "errors"),
        plural(c.warnings(), "warning", "warnings"),
    );
    if let Some(dir) = &args.data {
        if c.errors() > 0 {
            return diagnostics::outcome(&c);
        }
        let tasks: Vec<_> = c
            .tasks
            .values()
            .map(|t| &**t)
            .filter(|t| !t.is_abstract)
            .collect();
        let fetch = format!(
            "exc fetch {}",
            args.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" ")
        );
        let problems = crate::data_rows::check(
            &tasks,
            dir.clone(),
            args.rows,
            args.tokenizer.as_ref(),
            &fetch,
        );
        if problems > 0 {
            eprintln!(
                "failed: {} in the data",
                plural(problems, "problem", "problems")
            );
            return crate::Outcome::Invalid;
        }
        eprintln!(
            "ok: the data of {} renders",
            plural(tasks.len(), "task", "tasks")
        );
    }
    let outcome = diagnostics::outcome(&c);
    // The process exits next: freeing every plan of the catalog one by one
    // was a tenth of `exc check`'s time, for memory the exit returns anyway.
    std::mem::forget(c);
    outcome
}
