//! `exc import` through the binary: the files it writes for the parity
//! corpus's sources check with `exc check`, with or without rows to type
//! their fields, and what it cannot translate is a TODO naming the reason.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("import/golden")
}

fn fresh(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("exc-import-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("exc.toml"), "").unwrap();
    dir
}

fn exc(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_exc"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("exc runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn promptsource_templates_import_into_tasks_that_check() {
    let dir = fresh("ps");
    let from = golden().join("promptsource");
    let rows = golden().join("rows/super_glue_wsc.jsonl");
    let out = exc(
        &[
            "import",
            "promptsource",
            "super_glue/wsc.fixed",
            "--from",
            from.to_str().unwrap(),
            "--data",
            rows.to_str().unwrap(),
            "--out",
            "tasks",
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("10 of 10 prompts translated"),
        "{}",
        text(&out.stderr)
    );
    let written =
        std::fs::read_to_string(dir.join("tasks/super_glue_wsc_fixed_in_other_words.task"))
            .unwrap();
    assert!(
        written.contains("{text | split(' ') | slice(span2_index) | join(' ') | replace(span2_text, span1_text) | truncate(2048)}"),
        "{written}"
    );
    let check = exc(&["check", "--no-time", "tasks"], &dir);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    assert!(
        text(&check.stderr).contains("checked 10 tasks"),
        "{}",
        text(&check.stderr)
    );

    // A second import does not overwrite without `--force`.
    let again = exc(
        &[
            "import",
            "promptsource",
            "super_glue/wsc.fixed",
            "GPT-3 Style",
            "--from",
            from.to_str().unwrap(),
            "--data",
            rows.to_str().unwrap(),
            "--out",
            "tasks",
        ],
        &dir,
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("`--force` replaces it"),
        "{}",
        text(&again.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn what_cannot_be_translated_is_a_todo_with_the_reason() {
    let dir = fresh("todo");
    let yaml = golden().join("lm_eval/super_glue/wsc/default.yaml");
    let rows = golden().join("rows/super_glue_wsc.jsonl");
    let out = exc(
        &[
            "import",
            "lm-eval",
            yaml.to_str().unwrap(),
            "--data",
            rows.to_str().unwrap(),
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(dir.join("wsc.task")).unwrap();
    assert!(
        written.contains("// TODO(exc import): not translated: `doc_to_text` is Python code")
            && written
                .contains("//   doc_to_text: !function \"preprocess_wsc.default_doc_to_text\""),
        "{written}"
    );
    // Without rows the fields' types are guessed from the template, with a TODO.
    let no_rows = exc(
        &[
            "import",
            "promptsource",
            "glue/rte",
            "imply",
            "--from",
            golden().join("promptsource").to_str().unwrap(),
        ],
        &dir,
    );
    assert_eq!(no_rows.status.code(), Some(0), "{}", text(&no_rows.stderr));
    assert!(
        text(&no_rows.stderr).contains("types are guessed from the template"),
        "{}",
        text(&no_rows.stderr)
    );
    let written = std::fs::read_to_string(dir.join("glue_rte_imply.task")).unwrap();
    assert!(
        written.contains("fields { sentence1: text, sentence2: text, label: int }"),
        "{written}"
    );
    let check = exc(&["check", "--no-time", "."], &dir);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unknown_template_lists_the_names() {
    let dir = fresh("names");
    let out = exc(
        &[
            "import",
            "promptsource",
            "glue/rte",
            "nope",
            "--from",
            golden().join("promptsource").to_str().unwrap(),
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no template `nope`; the templates are `mean`, `does the claim"),
        "{}",
        text(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
