//! `exc import`: prompts researchers already have -> exc `.task` files.
//!
//! ```no_run
//! let yaml = std::fs::read_to_string("templates/super_glue/rte/templates.yaml").unwrap();
//! let templates = exc_import::promptsource::read(&yaml).unwrap();
//! let rows = vec![serde_json::json!({"premise": "…", "hypothesis": "…", "idx": 0, "label": 1})];
//! let fields = exc_import::fields::infer(&rows).unwrap();
//! for spec in exc_import::promptsource::tasks("super_glue/rte", &templates, Some(&fields)) {
//!     println!("{}", spec.render());
//! }
//! ```
//!
//! Stages, one module each: [`jinja`] (template text -> AST), [`to_exc`]
//! (AST -> exc template text), [`prompt`] (the whole-prompt rules of
//! promptsource and lm-eval: `|||`, strip, guards), [`fields`] (rows ->
//! field types), [`promptsource`] and [`lm_eval`] (their files -> task
//! specs) and [`task_file`] (a spec -> `.task` text).

pub mod fields;
pub mod jinja;
pub mod lm_eval;
pub mod prompt;
pub mod promptsource;
pub mod task_file;
pub mod to_exc;
