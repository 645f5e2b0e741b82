//! `truncate` against Jinja's own filter: compiler/golden/truncate.jsonl,
//! written by compiler/golden/gen_truncate.py with jinja2 3.1.6.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use exc_compiler::check_task::check_task_text;
use exc_compiler::render::render_row;

#[test]
fn truncate_matches_jinja() {
    let golden = include_str!("../golden/truncate.jsonl");
    let mut n = 0;
    for line in golden.lines() {
        let g: serde_json::Value = serde_json::from_str(line).unwrap();
        let leeway = match g["leeway"].as_u64() {
            Some(l) => format!(", leeway = {l}"),
            None => String::new(),
        };
        let src = format!(
            "task t {{ fields {{ s: text }} input \"{{s | truncate({}, {}, '{}'{leeway})}}\" target s metrics accuracy }}",
            g["length"], g["killwords"], g["end"].as_str().unwrap()
        );
        let (tasks, diags) = check_task_text(&src, "t.task");
        assert!(diags.is_empty(), "{src}: {diags:?}");
        let task = tasks.values().next().unwrap();
        let ex = render_row(task, &serde_json::json!({ "s": g["text"] }), "train").unwrap();
        assert_eq!(ex[0].input, g["out"].as_str().unwrap(), "{line}");
        n += 1;
    }
    assert_eq!(n, 63);
}

#[test]
fn truncate_refuses_a_length_shorter_than_its_end() {
    let (_, diags) = check_task_text(
        "task t { fields { s: text } input \"{s | truncate(2)}\" target s metrics accuracy }",
        "t.task",
    );
    assert_eq!(diags.len(), 1);
    assert!(diags[0]
        .help
        .as_deref()
        .unwrap()
        .contains("at least the length of `end`"));
}
