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

/// A float renders as Python's `repr` writes it (promptsource and T5's
/// preprocessors format with Python): positional for decimal exponents
/// -4..16, scientific outside. The expected strings are
/// `python3 -c 'print(repr(x))'` of each value (CPython 3.11).
#[test]
fn floats_render_as_python_writes_them() {
    let src = r#"task t { fields { x: float } input "x={x}" target "t" metrics accuracy }"#;
    let cases = [
        (0.0_f64, "0.0"),
        (-0.0_f64, "-0.0"),
        (1.0_f64, "1.0"),
        (0.5_f64, "0.5"),
        (1e-07_f64, "1e-07"),
        (0.0001_f64, "0.0001"),
        (1e-05_f64, "1e-05"),
        (123456789.0_f64, "123456789.0"),
        (1000000000000000.0_f64, "1000000000000000.0"),
        (9999999999999998.0_f64, "9999999999999998.0"),
        (1e+16_f64, "1e+16"),
        (1.5e+16_f64, "1.5e+16"),
        (1.2345678901234568e+17_f64, "1.2345678901234568e+17"),
        (3.8_f64, "3.8"),
        (2.675_f64, "2.675"),
        (1e+300_f64, "1e+300"),
        (5e-324_f64, "5e-324"),
        (0.30000000000000004_f64, "0.30000000000000004"),
        (-2.5e-05_f64, "-2.5e-05"),
        (1e+22_f64, "1e+22"),
    ];
    for (x, want) in cases {
        let ex = render(src, json!({ "x": x })).unwrap();
        assert_eq!(ex[0].input, format!("x={want}"), "{x:e}");
    }
}
