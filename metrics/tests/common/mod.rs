//! Shared helpers for the golden tests: loading files and comparing floats.
// Test helpers outside #[test] fns: panicking on a broken golden is the point.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;

use serde_json::Value;

/// Parses `metrics/golden/NAME`.
pub fn golden(name: &str) -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("golden")
        .join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

/// Relative tolerance for floating-point metrics (the 1e-9), with an
/// absolute floor of 1e-12 for values that are zero up to rounding.
pub fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()) + 1e-12
}

/// Strings of a JSON array.
#[allow(dead_code)] // not every test binary uses every helper
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}
