//! `{if TEST then A else B}` and the functions promptsource templates need
//! (`split`, `words`, `replace` with fields, `default` over a missing
//! element): rendered on rows, and refused with a help line when mistyped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use exc_compiler::check_task::check_task_text;
use exc_compiler::render::render_row;
use serde_json::json;

const FIELDS: &str = "fields { question: text, answers: list<text>, label: class[no, yes], score: float, \
     n: int, title: text?, span1_text: text, span2_text: text, flag: bool, tags: list<class[a, b, c]> }";

fn row() -> serde_json::Value {
    json!({"question": "is it blue", "answers": [], "label": 1, "score": 3.5, "n": 0, "title": null,
           "span1_text": "Mark", "span2_text": "He", "flag": true, "tags": [0, 2]})
}

fn render(input: &str, row: &serde_json::Value) -> String {
    let src = format!("task t {{ {FIELDS} input \"{input}\" target question metrics accuracy }}");
    let (tasks, diags) = check_task_text(&src, "t.task");
    assert!(diags.is_empty(), "{input}: {diags:?}");
    render_row(tasks.values().next().unwrap(), row, "train").unwrap()[0]
        .input
        .clone()
}

fn refused(input: &str) -> String {
    let src = format!("task t {{ {FIELDS} input \"{input}\" target question metrics accuracy }}");
    let (_, diags) = check_task_text(&src, "t.task");
    assert_eq!(diags.len(), 1, "{input}: {diags:?}");
    format!(
        "{} | {}",
        diags[0].message,
        diags[0].help.clone().unwrap_or_default()
    )
}

#[test]
fn a_class_compares_with_its_names_and_ids() {
    let r = row();
    assert_eq!(
        render("{if label == 'yes' then 'positive' else 'negative'}", &r),
        "positive"
    );
    assert_eq!(render("{if label != 'yes' then 'a' else 'b'}", &r), "b");
    assert_eq!(render("{if label == 0 then 'a' else 'b'}", &r), "b");
    assert_eq!(render("{if label | id >= 1 then 'a' else 'b'}", &r), "a");
    let e = refused("{if label == 'yse' then 'a' else 'b'}");
    assert!(
        e.contains("not a class of `label`") && e.contains("yes"),
        "{e}"
    );
}

#[test]
fn numbers_are_ordered_and_nothing_else() {
    let r = row();
    assert_eq!(
        render("{if score > 2.5 then 'high' else 'low'}", &r),
        "high"
    );
    assert_eq!(
        render("{if n <= 0 and score < 4 then 'x' else 'y'}", &r),
        "x"
    );
    let e = refused("{if question > 'a' then 'a' else 'b'}");
    assert!(e.contains("only numbers are ordered"), "{e}");
    let e = refused("{if n then 'a' else 'b'}");
    assert!(
        e.contains("neither true nor false") && e.contains("`n > 0`"),
        "{e}"
    );
    let e = refused("{if score == 'high' then 'a' else 'b'}");
    assert!(e.contains("cannot be compared"), "{e}");
}

#[test]
fn emptiness_presence_and_membership() {
    let mut r = row();
    assert_eq!(
        render("{if answers then answers | first else 'unanswerable'}", &r),
        "unanswerable"
    );
    assert_eq!(
        render("{if not answers then 'none' else 'some'}", &r),
        "none"
    );
    assert_eq!(
        render(
            "{if title then 'Title: {title}. ' else ''}Q: {question}",
            &r
        ),
        "Q: is it blue"
    );
    r["title"] = json!("Sky");
    r["answers"] = json!(["yes", "no"]);
    assert_eq!(
        render(
            "{if title then 'Title: {title}. ' else ''}Q: {question}",
            &r
        ),
        "Title: Sky. Q: is it blue"
    );
    assert_eq!(
        render("{if answers then answers | first else 'unanswerable'}", &r),
        "yes"
    );
    assert_eq!(
        render("{if label in ['no', 'yes'] then 'in' else 'out'}", &r),
        "in"
    );
    assert_eq!(
        render("{if tags | first == 'a' then 'a first' else 'other'}", &r),
        "a first"
    );
}

#[test]
fn fields_compare_with_fields_and_conditionals_nest() {
    let r = row();
    assert_eq!(
        render(
            "{if span1_text == span2_text then 'same' else 'different'}",
            &r
        ),
        "different"
    );
    assert_eq!(
        render("{if span2_text in question then 'a' else 'b'}", &r),
        "b"
    );
    assert_eq!(
        render(
            "{if flag then (if score > 3 then 'big' else 'small') else 'off'}",
            &r
        ),
        "big"
    );
    assert_eq!(
        render(
            "{if (n == 1 or flag) and not answers then 'x' else 'y'}",
            &r
        ),
        "x"
    );
    let e = refused("{if title == null or question == null then 'a' else 'b'}");
    assert!(e.contains("never absent"), "{e}");
}

#[test]
fn default_catches_a_missing_element() {
    let r = row();
    assert_eq!(
        render("{answers[0] | default('unanswerable')}", &r),
        "unanswerable"
    );
    assert_eq!(render("{answers | first | default('none')}", &r), "none");
    assert_eq!(render("{answers | at(n) | default('none')}", &r), "none");
    // Without `default`, a missing element stops the row, as before.
    let src =
        format!("task t {{ {FIELDS} input \"{{answers[0]}}\" target question metrics accuracy }}");
    let (tasks, _) = check_task_text(&src, "t.task");
    assert!(render_row(tasks.values().next().unwrap(), &r, "train").is_err());
}

#[test]
fn text_splits_into_lists_and_fields_are_arguments() {
    let r = row();
    assert_eq!(
        render("{question | split | slice(1, 3) | join('_')}", &r),
        "it_blue"
    );
    assert_eq!(render("{question | words | at(2)}", &r), "blue");
    assert_eq!(render("{question | split(' i') | len}", &r), "2");
    assert_eq!(render("{question | words(2)}", &r), "is it");
    assert_eq!(
        render("{span2_text | replace(span2_text, span1_text)}", &r),
        "Mark"
    );
    assert_eq!(
        render("{question | replace('blue', span1_text)}", &r),
        "is it Mark"
    );
}

#[test]
fn label_arithmetic_keeps_ints_whole() {
    let r = row();
    assert_eq!(render("{label | id | add(1)} stars", &r), "2 stars");
    assert_eq!(render("{n | add(-3)}", &r), "-3");
    assert_eq!(render("{score | mul(2)}", &r), "7.0");
    assert_eq!(render("{n | add(0.5)}", &r), "0.5");
}

#[test]
fn choice_is_the_same_for_a_row_and_seed() {
    let src = format!("task t {{ {FIELDS} input \"{{tags | choice}} {{question | words | choice}}\" target question metrics accuracy }}");
    let (tasks, diags) = check_task_text(&src, "t.task");
    assert!(diags.is_empty(), "{diags:?}");
    let task = tasks.values().next().unwrap();
    let once = |seed| {
        exc_compiler::render::render_row_seeded(task, &row(), "train", seed).unwrap()[0]
            .input
            .clone()
    };
    assert_eq!(once(7), once(7));
    // Over seeds, every element is picked some time.
    let picks: std::collections::BTreeSet<String> = (0..64).map(once).collect();
    assert!(picks.len() > 3, "{picks:?}");
    for p in &picks {
        let (tag, word) = p.split_once(' ').unwrap();
        assert!(
            ["a", "c"].contains(&tag) && ["is", "it", "blue"].contains(&word),
            "{p}"
        );
    }
}

#[test]
fn conditionals_inside_map_templates_read_each_element() {
    let src = r#"task t { fields { choices: list<{ text: text, correct: bool }> }
        input "{choices | map('{text}{if correct then \' (right)\' else \'\'}') | join(', ')}"
        target "x" metrics accuracy }"#;
    let (tasks, diags) = check_task_text(src, "t.task");
    assert!(diags.is_empty(), "{diags:?}");
    let row = json!({"choices": [{"text": "a", "correct": false}, {"text": "b", "correct": true}]});
    let ex = render_row(tasks.values().next().unwrap(), &row, "train").unwrap();
    assert_eq!(ex[0].input, "a, b (right)");
    let bad = src.replace("if correct then", "if text > 1 then");
    let (_, diags) = check_task_text(&bad, "t.task");
    assert!(
        diags[0]
            .help
            .as_deref()
            .unwrap()
            .contains("only numbers are ordered"),
        "{diags:?}"
    );
}

#[test]
fn choice_draws_among_strings_written_out() {
    // promptsource's `{% set seq = ['a', 'b'] %}{{ seq | choice }}` and
    // `{{ ["Question", "Problem"] | choice }}`.
    let r = row();
    let got = render("{['Question', 'Problem'] | choice}: {question}", &r);
    assert!(
        got == "Question: is it blue" || got == "Problem: is it blue",
        "{got}"
    );
    assert_eq!(
        got,
        render("{['Question', 'Problem'] | choice}: {question}", &r)
    );
    // A written list is a list of text: joined, counted, indexed by a field.
    assert_eq!(render("{['a', 'b\\'s'] | join(' + ')}", &r), "a + b's");
    assert_eq!(render("{['x', 'y', 'z'] | len}", &r), "3");
    assert_eq!(render("{['no', 'yes'] | at(n)}", &r), "no");
    let e = refused("{['a', 'b']}");
    assert!(e.contains("list"), "{e}");
}

#[test]
fn most_frequent_keeps_the_answers_most_annotators_gave() {
    let src = "task t { fields { answers: list<text> } input \"{answers | most_frequent | join(' / ')}\" target \"{answers | most_frequent | first}\" metrics squad }";
    let (tasks, diags) = check_task_text(src, "t.task");
    assert!(diags.is_empty(), "{diags:?}");
    let task = tasks.values().next().unwrap();
    let ex = &render_row(task, &json!({"answers": ["Denver Broncos", "Broncos", "Denver Broncos", "Broncos", "the Broncos"]}), "train").unwrap()[0];
    // Ties keep the order of first occurrence, as Python's Counter does.
    assert_eq!(ex.input, "Denver Broncos / Broncos");
    assert_eq!(ex.target, "Denver Broncos");
    let ex = &render_row(task, &json!({"answers": ["a"]}), "train").unwrap()[0];
    assert_eq!(ex.input, "a");
}
