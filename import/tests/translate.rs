//! Single promptsource rules, each on a row built to exercise it, against
//! what `Template.apply` gives (promptsource 0.2.3
//! run on the same rows while writing these): the strip of each part
//! reaches whitespace inside field values, truncation comes before it, and
//! what has no exc counterpart is refused with the reason.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use exc_compiler::check_task::check_task_text;
use exc_compiler::render::render_row;
use exc_import::promptsource::{self, Template};
use serde_json::{json, Value as Json};

fn template(jinja: &str, choices: Option<&str>) -> Template {
    Template {
        id: "t".into(),
        name: "t".into(),
        jinja: jinja.into(),
        answer_choices: choices.map(str::to_string),
        metrics: vec!["Accuracy".into()],
    }
}

/// (input, target) as exc renders the imported template, or the TODO reason.
fn apply(jinja: &str, choices: Option<&str>, row: &Json) -> Result<(String, String), String> {
    let fields = exc_import::fields::infer(std::slice::from_ref(row)).unwrap();
    let spec = promptsource::tasks("d", &[template(jinja, choices)], Some(&fields)).remove(0);
    let text = spec.render();
    if let Err(why) = spec.prompt {
        assert!(
            text.contains(&format!("// TODO(exc import): not translated: {why}")),
            "{text}"
        );
        return Err(why);
    }
    let (tasks, diags) = check_task_text(&text, "t.task");
    assert!(diags.iter().all(|d| !d.is_error()), "{text}\n{diags:#?}");
    let ex = render_row(tasks.values().next().unwrap(), row, "train").unwrap();
    Ok((ex[0].input.clone(), ex[0].target.clone()))
}

#[test]
fn each_part_is_stripped_whitespace_of_values_included() {
    let row = json!({"a": "  padded ", "b": "\n value\t", "label": 1});
    assert_eq!(
        apply("{{a}} and {{b}} ||| {{b}}", None, &row).unwrap(),
        ("padded  and \n value".into(), "value".into())
    );
    // Inside `if` branches at an edge too.
    assert_eq!(
        apply(
            "{% if label == 1 %} {{a}}{% else %}x{% endif %} |||{{ answer_choices[label] }} ",
            Some("no ||| yes"),
            &row
        )
        .unwrap(),
        ("padded".into(), "yes".into())
    );
}

#[test]
fn long_values_are_truncated_as_jinja_does() {
    // 2054 characters: over 2048 + 5, so Jinja cuts to the last space
    // before 2045 and adds `...`.
    let long = format!("{} end", "word ".repeat(410));
    let row = json!({"a": long, "b": "x"});
    let (input, _) = apply("{{a}}|||{{b}}", None, &row).unwrap();
    let want = {
        let head: String = long.chars().take(2045).collect();
        format!("{}...", &head[..head.rfind(' ').unwrap()])
    };
    assert_eq!(input, want);
}

#[test]
fn a_guard_around_the_separator_is_a_filter() {
    let t = "{% if label == 1 %}\nParaphrase: {{a}}\n|||\n{{b}}\n{% endif %}";
    assert_eq!(
        apply(t, None, &json!({"a": "x", "b": "y", "label": 1})).unwrap(),
        ("Paraphrase: x".into(), "y".into())
    );
    let fields = exc_import::fields::infer(&[json!({"a": "x", "b": "y", "label": 0})]).unwrap();
    let spec = promptsource::tasks("d", &[template(t, None)], Some(&fields)).remove(0);
    let (tasks, _) = check_task_text(&spec.render(), "t.task");
    let ex = render_row(
        tasks.values().next().unwrap(),
        &json!({"a": "x", "b": "y", "label": 0}),
        "train",
    )
    .unwrap();
    assert!(ex.is_empty(), "the original renders no example of this row");
}

#[test]
fn what_has_no_counterpart_is_refused_with_the_reason() {
    let row = json!({"a": "x", "l": ["p", "q"]});
    let why = apply("{% for x in l %}{{x}}{% endfor %}|||{{a}}", None, &row).unwrap_err();
    assert!(why.contains("`{% for %}` has no exc counterpart"), "{why}");
    let why = apply("{{l}}|||{{a}}", None, &row).unwrap_err();
    assert!(why.contains("Python's repr"), "{why}");
    let why = apply("{{a}}", None, &row).unwrap_err();
    assert!(why.contains("no target"), "{why}");
    let why = apply("{{a}}|||{{ answer_choices[0] }}", Some("{{a}} ||| b"), &row).unwrap_err();
    assert!(why.contains("answer choices computed per row"), "{why}");
}
