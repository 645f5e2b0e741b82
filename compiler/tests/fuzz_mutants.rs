//! A bounded, deterministic mutation fuzzer over the catalog's own files
//! (every `.task` and `.exmix` under tasks/, examples/ and tests/fixtures/):
//! byte flips, deletions, duplications, splices between two catalog files,
//! deep nesting, huge numbers, names and lines, and invalid UTF-8. Each
//! mutant is checked as `exc check` checks it and every diagnostic is
//! rendered as the CLI renders it; the test asserts no panic, no stack
//! overflow (each mutant runs on a default-stack thread named after it), a
//! line and column on every error, and a time bound per mutant.
//!
//! `EXC_FUZZ_MUTANTS` (default 600) and `EXC_FUZZ_SEED` widen the run;
//! `EXC_FUZZ_WRITE=dir` only writes the mutants there (for running them
//! through the `exc` binary, as scripts/fuzz_round.sh does). The
//! coverage-guided version is the cargo-fuzz target in fuzz/.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Per mutant, generous for a debug build on a loaded 2-core machine.
const BOUND: Duration = Duration::from_secs(10);

/// splitmix64: a fixed seed gives the same mutants on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The catalog's files, sorted, as (path relative to the root, bytes).
fn corpus() -> Vec<(String, Vec<u8>)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "task" || x == "exmix") {
                out.push(p);
            }
        }
    }
    let mut paths = Vec::new();
    for d in ["tasks", "examples", "tests/fixtures"] {
        walk(&root().join(d), &mut paths);
    }
    paths.sort();
    let base = root();
    paths
        .iter()
        .map(|p| {
            let rel = p
                .strip_prefix(&base)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, std::fs::read(p).unwrap())
        })
        .collect()
}

/// One mutation of `text` (another catalog file at hand for splicing);
/// returns the mutant and what was done, for the failure message.
fn mutate(rng: &mut Rng, text: &[u8], other: &[u8]) -> (Vec<u8>, String) {
    let mut t = text.to_vec();
    let at = rng.below(t.len() + 1);
    let kind = rng.below(12);
    let what = match kind {
        0 | 1 => {
            let n = 1 + rng.below(8);
            for _ in 0..n {
                let i = rng.below(t.len());
                if let Some(b) = t.get_mut(i) {
                    *b ^= 1 << rng.below(8);
                }
            }
            format!("{n} bit flips")
        }
        2 => {
            let len = rng.below(200).min(t.len() - at.min(t.len()));
            t.drain(at..at + len);
            format!("deleted {len} bytes at {at}")
        }
        3 => {
            let len = rng.below(200).min(t.len() - at.min(t.len()));
            let copy = t[at..at + len].to_vec();
            let times = 1 + rng.below(50);
            for _ in 0..times {
                t.splice(at..at, copy.iter().copied());
            }
            format!("duplicated {len} bytes at {at} {times} times")
        }
        4 | 5 => {
            let from = rng.below(other.len() + 1);
            t.truncate(at);
            t.extend_from_slice(&other[from..]);
            format!("spliced at {at} with another file from {from}")
        }
        6 => {
            let open = ["[", "{a: ", "list<", "{ a: ", "("][rng.below(5)];
            let depth = [40, 3_000, 30_000][rng.below(3)];
            let ins = open.repeat(depth);
            t.splice(at..at, ins.bytes());
            format!("{depth} x `{open}` at {at}")
        }
        7 => {
            let ins = [
                "9".repeat(100_000),
                format!("1e{}", "9".repeat(50)),
                "-0.0e-999999".into(),
                "18446744073709551617".into(),
            ][rng.below(4)]
            .clone();
            t.splice(at..at, ins.bytes());
            format!("number of {} bytes at {at}", ins.len())
        }
        8 => {
            let ins = "x".repeat(1 + rng.below(300_000));
            t.splice(at..at, ins.bytes());
            format!("name of {} bytes at {at}", ins.len())
        }
        9 => {
            let ins = " ".repeat(60_000 + rng.below(100_000));
            t.splice(at..at, ins.bytes());
            format!("{} spaces at {at}", ins.len())
        }
        10 => {
            let bad: &[u8] =
                [&b"\xff"[..], b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\x00"][rng.below(5)];
            t.splice(at..at, bad.iter().copied());
            format!("bytes {bad:02x?} at {at}")
        }
        _ => {
            // A catalog token in a random place: keeps mutants near the grammar.
            let words = [
                "{",
                "}",
                "\"",
                "'",
                "[",
                "]",
                "{{",
                "}}",
                "|",
                "map('{",
                "input \"{",
                "fixed(99999)",
                "#",
                "\n",
            ];
            let w = words[rng.below(words.len())];
            t.splice(at..at, w.bytes());
            format!("`{}` at {at}", w.escape_debug())
        }
    };
    (t, what)
}

/// A scratch project: `exc.toml`, and tasks/glue for mixtures to use.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("exc-fuzz-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tasks/glue")).unwrap();
    std::fs::write(dir.join("exc.toml"), "").unwrap();
    for e in std::fs::read_dir(root().join("tasks/glue"))
        .unwrap()
        .flatten()
    {
        std::fs::copy(e.path(), dir.join("tasks/glue").join(e.file_name())).unwrap();
    }
    dir
}

/// Mixtures `use` paths relative to where they lie; point them at tasks/glue.
fn retarget(rel: &str, text: &[u8]) -> Vec<u8> {
    if !rel.ends_with(".exmix") {
        return text.to_vec();
    }
    let s = String::from_utf8_lossy(text);
    s.lines()
        .map(|l| match l.trim_start().strip_prefix("use ") {
            Some(_) => "  use \"tasks/glue\"".to_string(),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes()
}

/// Check one mutant file; the errors that have no line and column.
fn check_one(path: PathBuf, name: String) -> std::thread::Result<Vec<String>> {
    std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            let c = exc_compiler::compile(&[path]);
            let handler =
                miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::none());
            let mut unplaced = Vec::new();
            for d in &c.diagnostics {
                let mut shown = String::new();
                handler
                    .render_report(&mut shown, d.to_report(&c.loaded.sources).as_ref())
                    .unwrap();
                assert!(
                    shown.len() < 20_000,
                    "{} renders {} bytes",
                    d.code,
                    shown.len()
                );
                if d.is_error() && d.location(&c.loaded.sources).is_empty() {
                    unplaced.push(format!("{}: {}", d.code, d.message));
                }
            }
            unplaced
        })
        .unwrap()
        .join()
}

#[test]
fn catalog_mutants_never_panic_and_every_error_is_located() {
    let n: usize = std::env::var("EXC_FUZZ_MUTANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    let seed: u64 = std::env::var("EXC_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(18);
    let write_to = std::env::var_os("EXC_FUZZ_WRITE").map(PathBuf::from);
    let files = corpus();
    assert!(
        files.len() > 50,
        "the catalog is the corpus: {} files",
        files.len()
    );
    let dir = scratch(&seed.to_string());
    let mut rng = Rng(seed);
    let (mut slowest, mut slowest_what) = (Duration::ZERO, String::new());
    let mut failures = Vec::new();
    for i in 0..n {
        let (rel, text) = &files[rng.below(files.len())];
        let other = &files[rng.below(files.len())].1;
        let (mut mutant, mut what) = mutate(&mut rng, &retarget(rel, text), other);
        // Sometimes a second mutation on top of the first.
        if rng.below(4) == 0 {
            let (m, w) = mutate(&mut rng, &mutant, other);
            (mutant, what) = (m, format!("{what}, then {w}"));
        }
        let ext = if rel.ends_with(".exmix") {
            "exmix"
        } else {
            "task"
        };
        let desc = format!("mutant {i} (seed {seed}) of {rel}: {what}");
        if let Some(out) = &write_to {
            std::fs::create_dir_all(out).unwrap();
            std::fs::write(out.join(format!("m{i:05}.{ext}")), &mutant).unwrap();
            continue;
        }
        let path = dir.join(format!("m.{ext}"));
        std::fs::write(&path, &mutant).unwrap();
        let t = Instant::now();
        match check_one(path, desc.clone()) {
            Err(_) => failures.push(format!("{desc}: panicked")),
            Ok(unplaced) if !unplaced.is_empty() => {
                failures.push(format!("{desc}: errors without a place: {unplaced:?}"));
            }
            Ok(_) => {}
        }
        let took = t.elapsed();
        if took > slowest {
            (slowest, slowest_what) = (took, desc.clone());
        }
        if took > BOUND {
            failures.push(format!("{desc}: took {took:?}"));
        }
        if !failures.is_empty() {
            // Keep the failing mutant to reproduce with `exc check`.
            let keep = std::env::temp_dir().join(format!("exc-fuzz-failure-{i}.{ext}"));
            std::fs::write(&keep, &mutant).unwrap();
            failures.push(format!("kept as {}", keep.display()));
            break;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("{n} mutants; slowest {slowest:?}: {slowest_what}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
