//! `join` on a source: another dataset's fields copied into each row by key,
//! split by split, checked against the task's `fields` into the plan's
//! `Join`, and the mistakes a join can hold.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use exc_compiler::check_task::check_task_text;
use exc_compiler::diagnostic::Diagnostic;
use exc_compiler::ir::{Join, Source, SplitFiles, Task, Unmatched};
use exc_compiler::render::render_row;
use indexmap::IndexMap;

const MAIN: &str = r#"source hf "facebook/kilt_tasks" config "triviaqa_support_only" { train = "train", validation = "validation" }"#;
const FIELDS: &str = "id: text, input: text, output: list<{ answer: text }>";

fn checked(src: &str) -> (IndexMap<String, Task>, Vec<Diagnostic>) {
    check_task_text(src, "t.task")
}

/// A KILT-like task whose source is `MAIN` followed by `join`.
fn with_join(join: &str, fields: &str) -> (IndexMap<String, Task>, Vec<Diagnostic>) {
    checked(&format!(
        r#"task t {{ {MAIN} {join}
             fields {{ {fields} }}
             input "triviaqa question: {{input}}" target output[0].answer metrics accuracy }}"#
    ))
}

fn join(join: &str) -> Join {
    let (tasks, diags) = with_join(join, FIELDS);
    assert!(diags.is_empty(), "{diags:?}");
    let joins = &tasks["t"].joins;
    assert_eq!(joins.len(), 1);
    joins[0].clone()
}

fn codes(join: &str, fields: &str) -> Vec<&'static str> {
    with_join(join, fields).1.iter().map(|d| d.code).collect()
}

#[test]
fn a_hub_join_without_splits_reads_the_splits_of_our_names() {
    let j = join(
        r#"join hf "mandarjoshi/trivia_qa" config "unfiltered.nocontext" on id = question_id { input = question } unmatched drop"#,
    );
    let Source::Hf {
        dataset,
        config,
        splits,
        ..
    } = &j.source
    else {
        panic!("a hub source")
    };
    assert_eq!(dataset, "mandarjoshi/trivia_qa");
    assert_eq!(config.as_deref(), Some("unfiltered.nocontext"));
    assert_eq!(
        splits.iter().collect::<Vec<_>>(),
        [
            (&"train".to_string(), &"train".to_string()),
            (&"validation".to_string(), &"validation".to_string())
        ]
    );
    assert_eq!((j.key.as_str(), j.on.as_str()), ("id", "question_id"));
    assert_eq!(j.set["input"], "question");
    assert_eq!(j.unmatched, Unmatched::Drop);
}

#[test]
fn unmatched_rows_are_an_error_unless_the_join_says_drop() {
    let j = join(r#"join hf "o/d" on id = question_id { input = question }"#);
    assert_eq!(j.unmatched, Unmatched::Error);
    let j = join(r#"join hf "o/d" on id = question_id { input = question } unmatched error"#);
    assert_eq!(j.unmatched, Unmatched::Error);
}

#[test]
fn a_join_maps_splits_and_may_read_files() {
    let j = join(
        r#"join hf "o/d" { train = "train_all", validation = "dev" } on id = qid { input = question }"#,
    );
    let Source::Hf { splits, .. } = &j.source else {
        panic!("a hub source")
    };
    assert_eq!(splits["validation"], "dev");
    let j = join(
        r#"join files jsonl { train = "tq/train.jsonl", validation = "tq/dev.jsonl" } on id = qid { input = question }"#,
    );
    let Source::Files { splits, .. } = &j.source else {
        panic!("a files source")
    };
    assert_eq!(
        splits["train"],
        SplitFiles::Pattern("tq/train.jsonl".into())
    );
}

#[test]
fn the_key_must_be_a_declared_text_or_int_field() {
    let j = r#"join hf "o/d" on qid = question_id { input = question }"#;
    assert_eq!(codes(j, FIELDS), ["exc::check::join_key"]);
    let j = r#"join hf "o/d" on output = question_id { input = question }"#;
    assert_eq!(codes(j, FIELDS), ["exc::check::join_key"]);
    // An int key (or an optional one) is fine.
    let j = r#"join hf "o/d" on n = question_id { input = question }"#;
    assert!(codes(j, &format!("{FIELDS}, n: int?")).is_empty());
}

#[test]
fn what_a_join_writes_must_be_declared_and_written_once() {
    let j = r#"join hf "o/d" on id = question_id { question = question }"#;
    assert_eq!(codes(j, FIELDS), ["exc::check::join_field"]);
    let j = r#"join hf "o/d" on id = question_id { }"#;
    assert_eq!(codes(j, FIELDS), ["exc::check::join_field"]);
    let j = r#"join hf "o/d" on id = question_id { input = question, input = q2 }"#;
    assert_eq!(codes(j, FIELDS), ["exc::check::duplicate_entry"]);
    // Across two joins too, with the first assignment shown.
    let j = r#"join hf "o/d" on id = question_id { input = question }
               join hf "o/e" on id = qid { input = text }"#;
    let (_, diags) = with_join(j, FIELDS);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].code, "exc::check::duplicate_entry");
    assert_eq!(diags[0].related.len(), 1);
}

#[test]
fn every_split_of_the_source_is_joined_and_no_other() {
    let j = r#"join hf "o/d" { train = "train" } on id = question_id { input = question }"#;
    assert_eq!(codes(j, FIELDS), ["exc::check::join_split"]);
    let j = r#"join hf "o/d" { train = "train", validation = "validation", test = "test" } on id = question_id { input = question }"#;
    assert_eq!(codes(j, FIELDS), ["exc::check::join_split"]);
}

#[test]
fn a_policy_is_drop_or_error_and_a_join_has_no_parts() {
    let j = r#"join hf "o/d" on id = question_id { input = question } unmatched skip"#;
    assert_eq!(codes(j, FIELDS), ["exc::check::join_unmatched"]);
    let j = r#"join hf "o/{p}" parts p [a, b] on id = question_id { input = question }"#;
    assert!(codes(j, FIELDS).contains(&"exc::check::join_source"));
}

#[test]
fn the_joined_fields_render_as_declared() {
    let (tasks, diags) = with_join(
        r#"join hf "mandarjoshi/trivia_qa" config "unfiltered.nocontext" on id = question_id { input = question } unmatched drop"#,
        FIELDS,
    );
    assert!(diags.is_empty(), "{diags:?}");
    // exc-data writes the joined `question` into `input`.
    let row = serde_json::json!({
        "id": "tc_19",
        "input": "How is musician William Lee Conley better known?",
        "output": [{"answer": "Big Bill Broonzy"}]
    });
    let ex = render_row(&tasks["t"], &row, "train").unwrap();
    assert_eq!(
        ex[0].input,
        "triviaqa question: How is musician William Lee Conley better known?"
    );
}

#[test]
fn plans_with_joins_round_trip() {
    let j = join(
        r#"join hf "mandarjoshi/trivia_qa" config "unfiltered.nocontext" on id = question_id { input = question } unmatched drop"#,
    );
    let json = serde_json::to_string(&j).unwrap();
    assert!(json.contains(r#""unmatched":"drop""#), "{json}");
    let back: Join = serde_json::from_str(&json).unwrap();
    assert_eq!(back, j);
}
