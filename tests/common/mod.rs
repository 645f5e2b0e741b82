//! What the root crate's integration tests share.

/// The catalog (`tasks/`), compiled; fails the test if it has errors.
pub fn catalog() -> exc_compiler::Compilation {
    let root = env!("CARGO_MANIFEST_DIR");
    let c = exc_compiler::compile(&[format!("{root}/tasks").into()]);
    let errors: Vec<String> = c
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{}: {}", d.location(&c.loaded.sources), d.message))
        .collect();
    assert!(
        errors.is_empty(),
        "tasks/ has errors:\n{}",
        errors.join("\n")
    );
    c
}
