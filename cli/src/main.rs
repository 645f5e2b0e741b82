//! The `exc` command line: parses arguments and calls into the compiler and
//! runtime crates. Exit codes: 0 ok, 1 invalid input, 2 usage or I/O error.

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
mod plan_cmd;
mod render_cmd;

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
    #[cfg(feature = "runtime")]
    Run(exc_runtime::run::RunArgs),
    /// Aggregate run directories into tables and plots
    #[cfg(feature = "runtime")]
    Report(exc_runtime::run::ReportArgs),
    /// Validate .task and .exmix files and directories
    Check(check_cmd::Args),
    /// Fetch the hub data and models a mixture (or tasks) read into the hub cache
    Fetch(fetch_cmd::Args),
    /// Resolve a mixture into its plan: tasks, sizes, rates, C4 share, epochs
    Plan(plan_cmd::Args),
    /// Render a task's examples as model inputs and targets
    Render(render_cmd::Args),
    /// Score a predictions file against references with a named metric
    Metric(exc_metrics::command::MetricArgs),
    /// Show the tokens a tokenizer makes of each input line
    Tokenize(exc_data::command::TokenizeArgs),
    /// Report libtorch's version, CUDA/cuDNN, devices and threads
    #[cfg(feature = "runtime")]
    Env,
    /// Measure training speed: real pre-training steps, FLOPs, MFU, a step breakdown
    #[cfg(feature = "runtime")]
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Generate outputs with a T5 checkpoint, one input per line (or JSONL)
    #[cfg(feature = "runtime")]
    Generate(exc_runtime::cli::GenerateArgs),
    /// Print each target's negative log-likelihood under a T5 checkpoint
    #[cfg(feature = "runtime")]
    Score(exc_runtime::cli::ScoreArgs),
}

#[cfg(feature = "runtime")]
#[derive(Subcommand)]
enum BenchCommand {
    /// T5.1.1 pre-training steps on span-corrupted text, against transformers in the same run
    Train(exc_runtime::bench::TrainArgs),
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
        Command::Metric(a) => report(exc_metrics::command::run(&a)),
        Command::Tokenize(a) => report(exc_data::command::run(&a)),
        #[cfg(feature = "runtime")]
        Command::Env => {
            out!("{}", exc_runtime::env::report());
            Outcome::Ok
        }
        #[cfg(feature = "runtime")]
        Command::Run(a) if a.nproc.is_some() => {
            let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
            let n = a.nproc.as_deref().unwrap_or("1");
            let ranks = exc_runtime::launch::parse_nproc(n).and_then(|n| {
                exc_runtime::launch::launch(
                    n,
                    &exc_runtime::launch::without_nproc(&args),
                    a.dist_timeout,
                )
            });
            match ranks {
                Ok(0) => Outcome::Ok,
                Ok(code) => return ExitCode::from(code.clamp(1, 255) as u8),
                Err(e) => {
                    eprintln!("error: {e}");
                    Outcome::Invalid
                }
            }
        }
        #[cfg(feature = "runtime")]
        Command::Run(a) => match exc_runtime::guard::libtorch(|| exc_runtime::run::run(&a)) {
            Ok(outcome) => {
                // Rank 0 of a data-parallel group speaks for it.
                for dir in outcome
                    .run_dirs
                    .iter()
                    .filter(|_| exc_runtime::dist::is_writer())
                {
                    outln!("{}", dir.display());
                }
                Outcome::Ok
            }
            Err(e) => {
                eprintln!("error: {e}");
                Outcome::Invalid
            }
        },
        #[cfg(feature = "runtime")]
        Command::Report(a) => match exc_runtime::run::report(&a) {
            Ok(path) => {
                outln!("{}", path.display());
                Outcome::Ok
            }
            Err(e) => {
                eprintln!("error: {e}");
                Outcome::Invalid
            }
        },
        #[cfg(feature = "runtime")]
        Command::Bench(BenchCommand::Train(a)) => {
            report(exc_runtime::guard::libtorch(|| exc_runtime::bench::run(&a)))
        }
        #[cfg(feature = "runtime")]
        Command::Generate(a) => report(exc_runtime::guard::libtorch(|| {
            exc_runtime::cli::run_generate(&a)
        })),
        #[cfg(feature = "runtime")]
        Command::Score(a) => report(exc_runtime::guard::libtorch(|| {
            exc_runtime::cli::run_score(&a)
        })),
    };
    match outcome {
        Outcome::Ok => ExitCode::SUCCESS,
        Outcome::Invalid => ExitCode::from(1),
        Outcome::Usage => ExitCode::from(2),
    }
}
