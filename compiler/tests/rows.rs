//! What a data row's values may be: a null where the declared type is not
//! optional is an error (never an empty target, trained); quiet conversions
//! are refused where the declared type says otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use exc_compiler::check_task::check_task_text;
use exc_compiler::ir::Task;
use exc_compiler::render::{render_row, Example, RenderError};
use serde_json::json;

fn task(src: &str) -> Task {
    let (tasks, diags) = check_task_text(src, "t.task");
    assert!(diags.is_empty(), "{diags:?}");
    tasks.into_values().next().unwrap()
}

fn render(src: &str, row: serde_json::Value) -> Result<Vec<Example>, RenderError> {
    render_row(&task(src), &row, "train")
}

const CLASS: &str = r#"task t { fields { premise: text, label: class[entailment, contradiction] } input "rte: {premise}" target label metrics accuracy }"#;

#[test]
fn a_null_label_is_an_error_not_an_empty_target() {
    let e = render(CLASS, json!({"premise": "p", "label": null})).unwrap_err();
    assert!(
        e.message.contains("`label` is null")
            && e.message.contains("`class[entailment, contradiction]?`")
            && e.message.contains("filter label"),
        "{e}"
    );
}

#[test]
fn a_null_text_is_an_error_not_empty_text() {
    let e = render(CLASS, json!({"premise": null, "label": 0})).unwrap_err();
    assert!(e.message.contains("`premise` is null"), "{e}");
}

#[test]
fn an_optional_null_is_absent_and_its_filter_drops_the_row() {
    let src = r#"task t { fields { premise: text?, label: class[entailment, contradiction]? } filter label input "rte: {premise}" target label metrics accuracy }"#;
    assert_eq!(
        render(src, json!({"premise": null, "label": null})).unwrap(),
        vec![]
    );
    let ex = render(src, json!({"premise": null, "label": 1})).unwrap();
    assert_eq!(
        (ex[0].input.as_str(), ex[0].target.as_str()),
        ("rte: ", "contradiction")
    );
}
