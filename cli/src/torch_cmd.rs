//! Commands that need libtorch (`run`, `report`, `env`, `bench`, `generate`,
//! `score`) live in a second executable, `exc-torch`, installed beside
//! `exc`. `exc` itself never links libtorch, so `check`, `plan`, `render`,
//! `metric`, `tokenize` and `lsp` start in milliseconds and a few MB instead
//! of loading ~450 MB of shared libraries they never use.
//!
//! `exc run …` replaces itself with `exc-torch run …` (same process id, so
//! torchrun, SLURM and signals see one process), passing every argument on
//! untouched: `exc-torch` parses them, `--help` included.

use std::ffi::OsString;
use std::path::PathBuf;

/// The name of the second executable, beside `exc`.
pub const EXE: &str = "exc-torch";

/// The arguments of a forwarded command, unparsed: `exc-torch` parses them.
#[derive(clap::Args)]
#[command(disable_help_flag = true)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    args: Vec<OsString>,
}

/// Where `exc-torch` should be: in the directory of the running `exc`.
fn locate() -> Result<PathBuf, String> {
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot find the running exc executable: {e}"))?;
    Ok(exe.with_file_name(EXE))
}

/// Runs `exc-torch COMMAND ARGS…` in place of this process (on Unix; elsewhere
/// as a child whose exit status is ours).
pub fn forward(command: &str, args: &Args) -> std::process::ExitCode {
    let exe = match locate() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    if !exe.is_file() {
        eprintln!(
            "error: `exc {command}` needs libtorch, which this exc leaves to `{EXE}`, and there is no `{}`",
            exe.display()
        );
        eprintln!(
            "  help: build both with libtorch: `source scripts/libtorch.sh && cargo build --release` \
             (an exc built with --no-default-features has no {EXE}); install `{EXE}` in the same directory as `exc`"
        );
        return std::process::ExitCode::from(2);
    }
    let mut cmd = std::process::Command::new(&exe);
    cmd.arg(command).args(&args.args);
    run(cmd, &exe)
}

#[cfg(unix)]
fn run(mut cmd: std::process::Command, exe: &std::path::Path) -> std::process::ExitCode {
    use std::os::unix::process::CommandExt as _;
    // `exec` only returns on failure.
    let e = cmd.arg0("exc").exec();
    eprintln!("error: cannot start `{}`: {e}", exe.display());
    std::process::ExitCode::from(2)
}

#[cfg(not(unix))]
fn run(mut cmd: std::process::Command, exe: &std::path::Path) -> std::process::ExitCode {
    match cmd.status() {
        Ok(s) => std::process::ExitCode::from(s.code().unwrap_or(1).clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("error: cannot start `{}`: {e}", exe.display());
            std::process::ExitCode::from(2)
        }
    }
}
