//! Hostile input through the real `exc check` (issue 18), in a subprocess,
//! so that a panic (exit 101) or a stack overflow (a signal) fails the test
//! with its exit status instead of taking the test harness down.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::{Duration, Instant};

/// `exc check` on one file in a fresh project: (exit code, stderr, time).
fn check(name: &str, text: &[u8]) -> (Option<i32>, String, Duration) {
    let dir = std::env::temp_dir().join(format!("exc-hostile-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("exc.toml"), "").unwrap();
    std::fs::write(dir.join("t.task"), text).unwrap();
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_exc"))
        .args(["check", "--no-time", "t.task"])
        .current_dir(&dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("exc runs");
    let took = t.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        took,
    )
}

#[test]
fn hostile_files_get_one_short_located_error() {
    let mut not_utf8 = b"task t {\n  description \"caf".to_vec();
    not_utf8.extend_from_slice(b"\xe9\"\n}\n");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "column",
            format!("task t {{{} bogus }}\n", " ".repeat(70_000)).into_bytes(),
            "t.task:1:70010",
        ),
        (
            "deep sample",
            format!(
                "task t {{\n  sample {}1{}\n}}\n",
                "{a: ".repeat(20_000),
                "}".repeat(20_000)
            )
            .into_bytes(),
            "exc::syntax::too_deep",
        ),
        (
            "deep list type",
            format!(
                "task t {{\n  fields {{ a: {}text{} }}\n}}\n",
                "list<".repeat(20_000),
                ">".repeat(20_000)
            )
            .into_bytes(),
            "exc::syntax::too_deep",
        ),
        (
            "megabyte name",
            format!("task {} {{ bogus }}\n", "a".repeat(1 << 20)).into_bytes(),
            "t.task:1:1048585",
        ),
        ("not utf-8", not_utf8, "t.task:2:19"),
    ];
    for (name, text, expect) in cases {
        let (code, stderr, took) = check(name, &text);
        assert!(
            matches!(code, Some(1 | 2)),
            "{name}: exit {code:?}\n{}",
            &stderr[..stderr.len().min(2000)]
        );
        assert!(
            stderr.contains(expect),
            "{name}: no `{expect}` in\n{stderr}"
        );
        assert!(
            stderr.contains("t.task:"),
            "{name}: the error names no line:\n{stderr}"
        );
        assert!(
            stderr.len() < 4000,
            "{name}: {} bytes of error",
            stderr.len()
        );
        // Generous for a debug build; release figures are in HACKING.md.
        assert!(took < Duration::from_secs(20), "{name}: {took:?}");
    }
}
