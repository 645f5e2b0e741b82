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
}

pub fn run(args: &Args) -> crate::Outcome {
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
    diagnostics::outcome(&c)
}
