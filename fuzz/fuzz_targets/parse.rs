//! Arbitrary bytes through what `exc check` does with a file: the UTF-8
//! check, the parser, the task checks, and every diagnostic rendered as the
//! CLI renders it (the renderer is where a column past 65,535 used to
//! panic). They may reject the input, but must never panic, overflow the
//! stack or leave an error without a place. Seed the corpus with the
//! catalog (`fuzz/seed.sh`), then `cargo +nightly fuzz run parse` from the
//! repo root. `compiler/tests/fuzz_mutants.rs` runs a bounded,
//! deterministic mutation round of the same kind in every test run.
#![no_main]

use exc_compiler::source::SourceMap;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Invalid UTF-8 is reported by the loader; the parser sees valid text.
    let text = String::from_utf8_lossy(data).into_owned();
    let mut sources = SourceMap::default();
    let id = sources.add("fuzz.task".into(), text.clone());
    let mut diags = Vec::new();
    match exc_compiler::syntax::parse(id, &text) {
        Ok(file) => {
            let decls: Vec<_> = file
                .items
                .iter()
                .filter_map(|i| match i {
                    exc_compiler::ast::Item::Task(t) => Some(exc_compiler::check_task::Declared {
                        decl: t,
                        file: "fuzz.task".into(),
                    }),
                    _ => None,
                })
                .collect();
            let _ = exc_compiler::check_task::check_tasks(&decls, &mut diags);
        }
        Err(d) => diags.push(d),
    }
    let handler = miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::none());
    for d in &diags {
        assert!(!d.is_error() || d.span.is_some(), "an error without a place: {}", d.message);
        let mut shown = String::new();
        let _ = handler.render_report(&mut shown, d.to_report(&sources).as_ref());
    }
});
