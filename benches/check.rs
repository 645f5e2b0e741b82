//! How long `exc check` takes over the whole catalog and the examples (a
//! benchmark, not a test: `cargo bench --bench check`). Prints the time per
//! run and per task; there is no reference tool that checks the same files.

use std::time::Instant;

fn main() {
    let root = env!("CARGO_MANIFEST_DIR");
    let paths = vec![
        format!("{root}/tasks").into(),
        format!("{root}/examples").into(),
    ];
    // Warm the file cache once, then measure.
    let first = exc_compiler::compile(&paths);
    let runs = 20;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let c = exc_compiler::compile(&paths);
        times.push(start.elapsed().as_secs_f64() * 1e3);
        assert_eq!(c.errors(), first.errors());
    }
    times.sort_by(f64::total_cmp);
    let median = times[runs / 2];
    println!(
        "exc check tasks/ examples/: {} tasks, {} mixtures, {} files, {} errors",
        first.task_count,
        first.mixture_count,
        first.loaded.sources.len(),
        first.errors()
    );
    println!(
        "  median {median:.1} ms, min {:.1} ms, max {:.1} ms over {runs} runs ({:.3} ms per task)",
        times[0],
        times[runs - 1],
        median / first.task_count.max(1) as f64
    );
}
