//! Arbitrary text through the parser and the task checks: they may reject it,
//! but must never panic. Run with `cargo +nightly fuzz run parse` from the repo root.
#![no_main]

use exc_compiler::source::FileId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(file) = exc_compiler::syntax::parse(FileId(0), text) {
            let decls: Vec<_> = file
                .items
                .iter()
                .filter_map(|i| match i {
                    exc_compiler::ast::Item::Task(t) => Some(exc_compiler::check_task::Declared { decl: t, file: "fuzz.task".into() }),
                    _ => None,
                })
                .collect();
            let mut diags = Vec::new();
            let _ = exc_compiler::check_task::check_tasks(&decls, &mut diags);
        }
    }
});
