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

/// T5's tokenizer from `../shared` (None, with a SKIP note, without it).
pub fn tokenizer() -> Option<Arc<T5Tokenizer>> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/t5_tokenizer/spiece.model");
    if !p.is_file() {
        eprintln!("SKIP: {} not found", p.display());
        return None;
    }
    Some(Arc::new(T5Tokenizer::from_file(p).unwrap()))
}
