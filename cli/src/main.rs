//! The `exc` command line: parses arguments and calls into the compiler,
//! metrics and data crates; the commands that need libtorch run in the
//! second executable `exc-torch` (`torch_cmd.rs`, `torch/main.rs`), so this
//! one never loads it. Exit codes: 0 ok, 1 invalid input, 2 usage or I/O error.

/// `println!` that ends quietly when stdout is closed early (`exc render | head`).
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout(), $($t)*).is_err() {
            std::process::exit(0);
        }
    }};
}

/// `print!` with the same behaviour as [`outln!`].
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if write!(std::io::stdout(), $($t)*).is_err() {
            std::process::exit(0);
        }
    }};
}

mod check_cmd;
mod data_rows;
mod diagnostics;
mod fetch_cmd;
mod fetch_download;
mod fetch_plan;
mod import_cmd;
mod plan_cmd;
mod render_cmd;
mod torch_cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "exc",
    version,
    about = "Declare text-to-text tasks once, check them, and train T5.1.1 on mixtures of them"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train and evaluate a mixture into a run directory (default: the CPU quickstart)
    Run(torch_cmd::Args),
    /// Aggregate run directories into tables and plots
    Report(torch_cmd::Args),
    /// Validate .task and .exmix files and directories
    Check(check_cmd::Args),
    /// Fetch the hub data and models a mixture (or tasks) read into the hub cache
    Fetch(fetch_cmd::Args),
    /// Resolve a mixture into its plan: tasks, sizes, rates, C4 share, epochs
    Plan(plan_cmd::Args),
    /// Render a task's examples as model inputs and targets
    Render(render_cmd::Args),
    /// Write .task files from promptsource templates or lm-evaluation-harness task YAML
    Import(import_cmd::Args),
    /// Score a predictions file against references with a named metric
    Metric(exc_metrics::command::MetricArgs),
    /// Show the tokens a tokenizer makes of each input line
    Tokenize(exc_data::command::TokenizeArgs),
    /// Serve the Language Server Protocol on stdin/stdout (editors/ has the set-up)
    Lsp,
    /// Report libtorch's version, CUDA/cuDNN, devices and threads
    Env(torch_cmd::Args),
    /// Measure training speed: real pre-training steps, FLOPs, MFU, a step breakdown
    Bench(torch_cmd::Args),
    /// Generate outputs with a T5 checkpoint, one input per line (or JSONL)
    Generate(torch_cmd::Args),
    /// Print each target's negative log-likelihood under a T5 checkpoint
    Score(torch_cmd::Args),
}

/// The outcome of a command, mapped to the exit code.
pub enum Outcome {
    Ok,
    Invalid,
    Usage,
}

/// A count flag that 0 would turn into doing nothing (`--rows 0`, `-n 0`).
pub fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("0 would show nothing; give at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("not a count: {e}")),
    }
}

/// Errors from the library commands are usage or input errors: print them plainly.
fn report<E: std::fmt::Display>(result: Result<(), E>) -> Outcome {
    match result {
        Ok(()) => Outcome::Ok,
        Err(e) => {
            eprintln!("error: {e}");
            Outcome::Invalid
        }
    }
}

/// With `EXC_PEAK_RSS` set, the process's peak resident memory (Linux's
/// `VmHWM`) on stderr as it ends: `benches/check.rs` reports it.
fn peak_rss() {
    if std::env::var_os("EXC_PEAK_RSS").is_none() {
        return;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:")) {
        eprintln!("peak RSS: {}", line.trim_start_matches("VmHWM:").trim());
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    diagnostics::install_hook();
    let outcome = match cli.command {
        Command::Check(a) => check_cmd::run(&a),
        Command::Plan(a) => plan_cmd::run(&a),
        Command::Fetch(a) => fetch_cmd::run(&a),
        Command::Render(a) => render_cmd::run(&a),
        Command::Import(a) => import_cmd::run(&a),
        Command::Metric(a) => report(exc_metrics::command::run(&a)),
        Command::Tokenize(a) => report(exc_data::command::run(&a)),
        Command::Lsp => report(exc_lsp::run_stdio()),
        // libtorch's commands: `exc-torch` runs them (torch_cmd.rs).
        Command::Run(a) => return torch_cmd::forward("run", &a),
        Command::Report(a) => return torch_cmd::forward("report", &a),
        Command::Env(a) => return torch_cmd::forward("env", &a),
        Command::Bench(a) => return torch_cmd::forward("bench", &a),
        Command::Generate(a) => return torch_cmd::forward("generate", &a),
        Command::Score(a) => return torch_cmd::forward("score", &a),
    };
    peak_rss();
    match outcome {
        Outcome::Ok => ExitCode::SUCCESS,
        Outcome::Invalid => ExitCode::from(1),
        Outcome::Usage => ExitCode::from(2),
    }
}
