//! Helpers shared by the parity tests: golden files and tolerant comparison.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use tch::{Kind, Tensor};

pub fn model_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("golden")
        .join(name)
}

pub struct Golden(HashMap<String, Tensor>);

impl Golden {
    pub fn get(&self, k: &str) -> Tensor {
        self.0
            .get(k)
            .unwrap_or_else(|| panic!("golden has no `{k}`"))
            .shallow_clone()
    }
    pub fn has(&self, k: &str) -> bool {
        self.0.contains_key(k)
    }
}

pub fn golden(name: &str) -> Golden {
    let path = model_dir(name).join("golden.safetensors");
    Golden(
        Tensor::read_safetensors(path)
            .unwrap()
            .into_iter()
            .collect(),
    )
}

/// Asserts |a - b| <= tol * max(1, |b|) elementwise and prints the worst
/// absolute and relative gaps (the parity figures the notes quote).
pub fn assert_close(what: &str, a: &Tensor, b: &Tensor, tol: f64) {
    assert_eq!(a.size(), b.size(), "{what}: shapes differ");
    let a = a.to_kind(Kind::Double);
    let b = b.to_kind(Kind::Double);
    let diff = (&a - &b).abs();
    let max_abs = diff.max().double_value(&[]);
    let rel = (&diff / b.abs().clamp_min(1.0)).max().double_value(&[]);
    eprintln!("{what}: max abs diff {max_abs:.3e}, max rel diff {rel:.3e}");
    assert!(
        rel <= tol,
        "{what}: max relative diff {rel:.3e} > {tol:.1e}"
    );
}
