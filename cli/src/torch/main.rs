//! `exc-torch`: the commands of `exc` that need libtorch. Users type `exc run
//! …`; `exc` (which never links libtorch, see `cli/src/torch_cmd.rs`) replaces
//! itself with this executable, installed beside it, with the same arguments.
//! Exit codes as `exc`'s: 0 ok, 1 invalid input, 2 usage or I/O error.

use clap::{Parser, Subcommand};
use std::io::Write as _;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "exc",
    version,
    about = "The libtorch commands of exc (run through `exc`: `exc run`, `exc env`, …)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train and evaluate a mixture into a run directory (default: the CPU quickstart)
    Run(exc_runtime::run::RunArgs),
    /// Aggregate run directories into tables and plots
    Report(exc_runtime::run::ReportArgs),
    /// Report libtorch's version, CUDA/cuDNN, devices and threads
    Env,
    /// Measure training speed: real pre-training steps, FLOPs, MFU, a step breakdown
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Generate outputs with a T5 checkpoint, one input per line (or JSONL)
    Generate(exc_runtime::cli::GenerateArgs),
    /// Print each target's negative log-likelihood under a T5 checkpoint
    Score(exc_runtime::cli::ScoreArgs),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// T5.1.1 pre-training steps on span-corrupted text, against transformers in the same run
    Train(exc_runtime::bench::TrainArgs),
}

/// A line on stdout that ends quietly when stdout is closed early.
fn outln(s: impl std::fmt::Display) {
    if writeln!(std::io::stdout(), "{s}").is_err() {
        std::process::exit(0);
    }
}

/// Errors from the runtime are usage or input errors: print them plainly.
fn report<E: std::fmt::Display>(result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
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
    match cli.command {
        Command::Env => {
            if write!(std::io::stdout(), "{}", exc_runtime::env::report()).is_err() {
                std::process::exit(0);
            }
            ExitCode::SUCCESS
        }
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
                Ok(0) => ExitCode::SUCCESS,
                Ok(code) => ExitCode::from(code.clamp(1, 255) as u8),
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Run(a) => match exc_runtime::guard::libtorch(|| exc_runtime::run::run(&a)) {
            Ok(outcome) => {
                // Rank 0 of a data-parallel group speaks for it.
                for dir in outcome
                    .run_dirs
                    .iter()
                    .filter(|_| exc_runtime::dist::is_writer())
                {
                    outln(dir.display());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        },
        Command::Report(a) => match exc_runtime::run::report(&a) {
            Ok(path) => {
                outln(path.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        },
        Command::Bench(BenchCommand::Train(a)) => {
            report(exc_runtime::guard::libtorch(|| exc_runtime::bench::run(&a)))
        }
        Command::Generate(a) => report(exc_runtime::guard::libtorch(|| {
            exc_runtime::cli::run_generate(&a)
        })),
        Command::Score(a) => report(exc_runtime::guard::libtorch(|| {
            exc_runtime::cli::run_score(&a)
        })),
    }
}
