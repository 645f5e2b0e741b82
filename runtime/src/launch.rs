//! `exc run --nproc N`: starts N local ranks of the same command, with the
//! environment torchrun gives its workers, prefixes their output with the
//! rank, and stops the whole group when one fails.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How long the other ranks get to stop by themselves (they see the broken
/// group at their next collective) before they are killed.
const GRACE: Duration = Duration::from_secs(10);

/// The number of ranks `--nproc` asks for: a number, or `gpu` (one per
/// visible CUDA device).
pub fn parse_nproc(s: &str) -> Result<usize> {
    let n = if s == "gpu" {
        tch::Cuda::device_count().max(0) as usize
    } else {
        s.parse::<usize>().map_err(|_| {
            Error::Input(format!(
                "--nproc {s}: give a number of ranks, or `gpu` for one per GPU"
            ))
        })?
    };
    if n == 0 {
        return Err(Error::Input(format!(
            "--nproc {s}: no ranks to start{}",
            if s == "gpu" {
                " (no CUDA device is visible)"
            } else {
                ""
            }
        )));
    }
    Ok(n)
}

/// The command line without `--nproc N` / `--nproc=N` (what each rank runs).
pub fn without_nproc(args: &[OsString]) -> Vec<OsString> {
    let mut out = Vec::with_capacity(args.len());
    let mut skip = false;
    for a in args {
        if skip {
            skip = false;
            continue;
        }
        match a.to_str() {
            Some("--nproc") => skip = true,
            Some(s) if s.starts_with("--nproc=") => {}
            _ => out.push(a.clone()),
        }
    }
    out
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| {
        Error::Input(format!(
            "no free port on 127.0.0.1 for the group's store: {e}"
        ))
    })?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| Error::Input(e.to_string()))
}

/// Copies `from` line by line to our stdout or stderr with `[rank R] `
/// before each line (a carriage return also ends one: progress lines).
fn relay(
    rank: usize,
    from: impl Read + Send + 'static,
    to_err: bool,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut r = BufReader::new(from);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let text = String::from_utf8_lossy(&buf);
            for line in text.split(['\n', '\r']).filter(|l| !l.trim().is_empty()) {
                let out = format!("[rank {rank}] {line}\n");
                let _ = if to_err {
                    std::io::stderr().lock().write_all(out.as_bytes())
                } else {
                    std::io::stdout().lock().write_all(out.as_bytes())
                };
            }
        }
    })
}

/// Runs `args` (the command line after the program name, `--nproc`
/// removed) as `n` ranks of one group on this machine and waits for them.
/// The first rank to fail makes the others stop; its exit status is the
/// launcher's.
pub fn launch(n: usize, args: &[OsString], dist_timeout: Option<f64>) -> Result<i32> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::Input(format!("cannot find the exc executable to start: {e}")))?;
    let port = free_port()?;
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let threads = (cores / n).max(1).to_string();
    let mut children: Vec<Option<Child>> = Vec::with_capacity(n);
    let mut relays = Vec::new();
    for rank in 0..n {
        let mut cmd = Command::new(&exe);
        cmd.args(args)
            .env("RANK", rank.to_string())
            .env("WORLD_SIZE", n.to_string())
            .env("LOCAL_RANK", rank.to_string())
            .env("LOCAL_WORLD_SIZE", n.to_string())
            .env("MASTER_ADDR", "127.0.0.1")
            .env("MASTER_PORT", port.to_string())
            .env("EXC_LAUNCHER", "nproc")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // As torchrun does: the cores are shared out, not oversubscribed.
        if std::env::var_os("OMP_NUM_THREADS").is_none() {
            cmd.env("OMP_NUM_THREADS", &threads);
        }
        if let Some(t) = dist_timeout {
            cmd.env("EXC_DIST_TIMEOUT", t.to_string());
        }
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                stop_all(&mut children);
                return Err(Error::Input(format!("could not start rank {rank}: {e}")));
            }
        };
        if let Some(o) = child.stdout.take() {
            relays.push(relay(rank, o, false));
        }
        if let Some(e) = child.stderr.take() {
            relays.push(relay(rank, e, true));
        }
        children.push(Some(child));
    }
    let failed = wait_all(&mut children);
    for r in relays {
        let _ = r.join();
    }
    Ok(match failed {
        None => 0,
        Some((rank, status)) => {
            eprintln!(
                "exc run --nproc {n}: rank {rank} {}; the group was stopped (resume with \
                 `exc run --resume DIR --nproc {n}`, or at another world size)",
                describe(status)
            );
            status.code().unwrap_or(1).max(1)
        }
    })
}

fn describe(s: ExitStatus) -> String {
    match s.code() {
        Some(c) => format!("exited with status {c}"),
        None => format!("was killed ({s})"),
    }
}

/// Waits for every rank; after the first failure, gives the others
/// [`GRACE`] to stop by themselves, then kills them. Returns the first
/// failure.
fn wait_all(children: &mut [Option<Child>]) -> Option<(usize, ExitStatus)> {
    let mut failed: Option<(usize, ExitStatus, Instant)> = None;
    loop {
        let mut running = 0;
        for (rank, slot) in children.iter_mut().enumerate() {
            let Some(child) = slot else { continue };
            match child.try_wait() {
                Ok(Some(status)) => {
                    *slot = None;
                    if !status.success() && failed.is_none() {
                        failed = Some((rank, status, Instant::now()));
                    }
                }
                Ok(None) => running += 1,
                Err(_) => *slot = None,
            }
        }
        if running == 0 {
            return failed.map(|(r, s, _)| (r, s));
        }
        if let Some((_, _, at)) = failed {
            if at.elapsed() > GRACE {
                stop_all(children);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stop_all(children: &mut [Option<Child>]) {
    for c in children.iter_mut().flatten() {
        let _ = c.kill();
        let _ = c.wait();
    }
    for slot in children.iter_mut() {
        *slot = None;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn nproc_is_removed_from_the_command_line() {
        let args: Vec<OsString> = ["run", "m.exmix", "--nproc", "2", "--quiet", "--nproc=3"]
            .iter()
            .map(OsString::from)
            .collect();
        let kept: Vec<OsString> = ["run", "m.exmix", "--quiet"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(without_nproc(&args), kept);
    }

    #[test]
    fn nproc_values() {
        assert_eq!(parse_nproc("4").unwrap(), 4);
        assert!(parse_nproc("0").is_err());
        assert!(parse_nproc("two").is_err());
    }
}
