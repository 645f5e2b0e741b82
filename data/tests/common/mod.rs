//! Helpers of the data crate's tests: a fresh temporary directory, files
//! written into it, inline tasks, reading a split, T5's tokenizer.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::sync::Arc;

use exc_compiler::check_task::check_task_text;
use exc_compiler::ir::Task;
use exc_data::source::locate::DataRoots;
use exc_data::task_source::open_split;
use exc_data::T5Tokenizer;
use serde_json::Value;

/// An empty directory for one test (`prefix` names the test binary).
pub fn tmp(prefix: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("exc-{prefix}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The one task of `src`, which must check without diagnostics.
pub fn task(src: &str) -> Task {
    let (tasks, diags) = check_task_text(src, "t.task");
    assert!(diags.is_empty(), "{diags:?}");
    tasks.into_values().next().unwrap()
}

/// Data found under `dir` only (no hub cache).
pub fn roots(dir: &Path) -> DataRoots {
    DataRoots {
        data_dir: Some(dir.to_path_buf()),
        hf_cache: None,
    }
}

/// Every row of `split`.
pub fn all(task: &Task, split: &str, dir: &Path) -> Vec<Value> {
    open_split(task, split, &roots(dir))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// A file or directory under the repository's `fixtures/data` (the real rows
/// and T5 vocabulary the tests read); panics, naming it, if it is missing.
pub fn fixture_data(rel: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/data")
        .join(rel);
    if !p.exists() {
        panic!(
            "fixture {} is missing: it ships in the repository under fixtures/data",
            p.display()
        );
    }
    p
}

/// T5's tokenizer (`fixtures/data/t5_tokenizer/spiece.model`).
pub fn tokenizer() -> Arc<T5Tokenizer> {
    Arc::new(T5Tokenizer::from_file(fixture_data("t5_tokenizer/spiece.model")).unwrap())
}
