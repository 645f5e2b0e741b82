//! How long `exc check` takes over the whole catalog and the examples (a
//! benchmark, not a test: `cargo bench --no-default-features --bench check`,
//! or `cargo bench --bench check` for the default build).
//!
//! Two figures: the compiler in this process (`exc_compiler::compile`), and
//! the whole `exc check tasks/ examples/` process as a user runs it — start,
//! loading its libraries, checking, printing, exit — with its peak resident
//! memory (the binary reports its `VmHWM` when `EXC_PEAK_RSS` is set). There
//! is no reference tool that checks the same files.

#![allow(clippy::expect_used)]

use std::process::Command;
use std::time::Instant;

const RUNS: usize = 20;

fn summary(mut ms: Vec<f64>) -> String {
    ms.sort_by(f64::total_cmp);
    format!(
        "median {:.1} ms, min {:.1} ms, max {:.1} ms over {} runs",
        ms[ms.len() / 2],
        ms[0],
        ms[ms.len() - 1],
        ms.len()
    )
}

fn main() {
    let root = env!("CARGO_MANIFEST_DIR");
    let paths = vec![
        format!("{root}/tasks").into(),
        format!("{root}/examples").into(),
    ];
    // Warm the file cache once, then measure.
    let first = exc_compiler::compile(&paths);
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        let c = exc_compiler::compile(&paths);
        times.push(start.elapsed().as_secs_f64() * 1e3);
        assert_eq!(c.errors(), first.errors());
    }
    println!(
        "exc check tasks/ examples/: {} tasks, {} mixtures, {} files, {} errors",
        first.task_count,
        first.mixture_count,
        first.loaded.sources.len(),
        first.errors()
    );
    let per_task = {
        let mut t = times.clone();
        t.sort_by(f64::total_cmp);
        t[RUNS / 2] / first.task_count.max(1) as f64
    };
    println!(
        "  in process:    {} ({per_task:.3} ms per task)",
        summary(times)
    );

    let exe = env!("CARGO_BIN_EXE_exc");
    let mut wall = Vec::with_capacity(RUNS);
    let mut peak_kb = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        let out = Command::new(exe)
            .args(["check", "tasks/", "examples/"])
            .current_dir(root)
            .env("EXC_PEAK_RSS", "1")
            .output()
            .expect("run exc");
        wall.push(start.elapsed().as_secs_f64() * 1e3);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        let kb = stderr
            .lines()
            .find_map(|l| l.strip_prefix("peak RSS: "))
            .and_then(|v| v.trim_end_matches(" kB").trim().parse::<u64>().ok())
            .expect("exc reports its peak RSS");
        peak_kb.push(kb);
    }
    peak_kb.sort_unstable();
    println!("  whole process: {} ({exe})", summary(wall));
    println!(
        "  peak RSS:      median {:.1} MB, max {:.1} MB",
        peak_kb[RUNS / 2] as f64 / 1024.0,
        peak_kb[RUNS - 1] as f64 / 1024.0
    );
}
