//! `source` declarations: `parts` (which part a row came from) and
//! line-aligned column files, checked into the plan's `Source`, and the
//! mistakes each can hold.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use exc_compiler::check_task::check_task_text;
use exc_compiler::diagnostic::Diagnostic;
use exc_compiler::ir::{FileFormat, Source, SplitFiles, Task};
use exc_compiler::render::render_row;
use indexmap::IndexMap;

fn checked(task_src: &str) -> (IndexMap<String, Task>, Vec<Diagnostic>) {
    check_task_text(task_src, "t.task")
}

/// A task around `source` and `fields`, checked; the diagnostics' codes.
fn codes(source: &str, fields: &str) -> Vec<&'static str> {
    let src = format!(
        r#"task t {{ {source} fields {{ {fields} }} input "{{text}}" target text metrics accuracy }}"#
    );
    checked(&src).1.iter().map(|d| d.code).collect()
}

fn source(source: &str, fields: &str) -> Source {
    let src = format!(
        r#"task t {{ {source} fields {{ {fields} }} input "{{text}}" target text metrics accuracy }}"#
    );
    let (tasks, diags) = checked(&src);
    assert!(diags.is_empty(), "{diags:?}");
    tasks["t"].source.clone().unwrap()
}

#[test]
fn parts_of_a_hub_source_fill_the_config() {
    let s = source(
        r#"source hf "cardiffnlp/tweet_eval" config "stance_{target}" parts target [abortion, atheism] { train = "train" }"#,
        "text: text, target: class[abortion, atheism]",
    );
    let parts = s.parts().unwrap();
    assert_eq!(parts.field, "target");
    assert_eq!(
        parts.values.iter().collect::<Vec<_>>(),
        [
            (&"abortion".to_string(), &"abortion".to_string()),
            (&"atheism".to_string(), &"atheism".to_string())
        ]
    );
    assert_eq!(parts.fill("stance_{target}", "atheism"), "stance_atheism");
}

#[test]
fn parts_with_values_name_files() {
    let s = source(
        r#"source files jsonl parts label { human = "webtext", machine = "small-117M" } { train = "gpt2/{label}.train.jsonl" }"#,
        "text: text, label: class[human, machine]",
    );
    let Source::Files { parts, splits, .. } = s else {
        panic!("a files source")
    };
    let parts = parts.unwrap();
    assert_eq!(parts.values["machine"], "small-117M");
    assert_eq!(
        splits["train"],
        SplitFiles::Pattern("gpt2/{label}.train.jsonl".into())
    );
}

#[test]
fn a_part_field_may_be_text() {
    source(
        r#"source hf "o/d" config "{c}" parts c [a, b] { train = "train" }"#,
        "text: text, c: text",
    );
}

#[test]
fn the_part_field_must_be_declared_and_hold_every_part() {
    let src = r#"source hf "o/d" config "{c}" parts c [a, b] { train = "train" }"#;
    assert_eq!(codes(src, "text: text"), ["exc::check::part_field"]);
    assert_eq!(
        codes(src, "text: text, c: class[a]"),
        ["exc::check::part_field"]
    );
    assert_eq!(codes(src, "text: text, c: int"), ["exc::check::part_field"]);
}

#[test]
fn every_split_must_use_the_placeholder() {
    assert_eq!(
        codes(
            r#"source files jsonl parts c [a, b] { train = "{c}.train.jsonl", test = "test.jsonl" }"#,
            "text: text, c: class[a, b]",
        ),
        ["exc::check::part_unused"]
    );
    // A hub split may hold it instead of the config.
    assert!(codes(
        r#"source hf "o/d" parts r [r1, r2] { train = "train_{r}" }"#,
        "text: text, r: class[r1, r2]",
    )
    .is_empty());
}

#[test]
fn a_placeholder_must_name_the_parts() {
    assert_eq!(
        codes(
            r#"source files jsonl { train = "{model}.train.jsonl" }"#,
            "text: text"
        ),
        ["exc::check::unknown_placeholder"]
    );
    assert_eq!(
        codes(
            r#"source files jsonl parts c [a] { train = "{c}/{model}.jsonl" }"#,
            "text: text, c: class[a]"
        ),
        ["exc::check::unknown_placeholder"]
    );
}

#[test]
fn a_part_named_twice_is_an_error() {
    assert_eq!(
        codes(
            r#"source hf "o/d" config "{c}" parts c [a, a] { train = "train" }"#,
            "text: text, c: class[a]"
        ),
        ["exc::check::duplicate_entry"]
    );
}

#[test]
fn column_files_are_read_as_text() {
    let s = source(
        r#"source files text { train = { modern: "train.modern", original: "train.original" } }"#,
        "text: text, modern: text, original: text",
    );
    let Source::Files { splits, .. } = s else {
        panic!("a files source")
    };
    let SplitFiles::Columns(cols) = &splits["train"] else {
        panic!("columns")
    };
    assert_eq!(cols["modern"], "train.modern");
    assert_eq!(cols["original"], "train.original");
    assert_eq!(
        codes(
            r#"source files jsonl { train = { a: "a.jsonl", b: "b.jsonl" } }"#,
            "text: text"
        ),
        ["exc::check::column_files_format"]
    );
    assert_eq!(
        codes(
            r#"source files text { train = { a: "../a", b: "b" } }"#,
            "text: text"
        ),
        ["exc::check::path_escapes_root"]
    );
}

#[test]
fn a_part_renders_like_any_class_field() {
    let (tasks, diags) = checked(
        r#"task t { source hf "o/d" config "stance_{target}" parts target [abortion, atheism] { train = "train" }
           fields { text: text, target: class[abortion, atheism] }
           input "stance target: {target} tweet: {text}" target text metrics accuracy }"#,
    );
    assert!(diags.is_empty(), "{diags:?}");
    // exc-data adds the part's name to each row.
    let row = serde_json::json!({"text": "hi", "target": "atheism"});
    let ex = render_row(&tasks["t"], &row, "train").unwrap();
    assert_eq!(ex[0].input, "stance target: atheism tweet: hi");
}

#[test]
fn plans_with_parts_and_columns_round_trip() {
    for s in [
        source(
            r#"source hf "o/d" config "{c}" parts c [a, b] { train = "train" }"#,
            "text: text, c: text",
        ),
        source(
            r#"source files text { train = { x: "x.txt", y: "y.txt" }, test = "t.txt" }"#,
            "text: text",
        ),
    ] {
        let json = serde_json::to_string(&s).unwrap();
        let back: Source = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s, "{json}");
    }
}

/// `rows "a.b.c"` on a `json` source: the nested lists, in the plan; the
/// plan of a source without it has no `rows` field (its hash unchanged).
#[test]
fn rows_name_the_nested_lists_of_a_json_document() {
    let s = source(
        r#"source files json rows "data.paragraphs.qas" { train = "squad/train-v1.1.json" }"#,
        "text: text",
    );
    let Source::Files { format, rows, .. } = &s else {
        panic!("a files source")
    };
    assert_eq!(*format, FileFormat::Json);
    assert_eq!(
        rows.as_deref(),
        Some(&["data".to_string(), "paragraphs".into(), "qas".into()][..])
    );
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(
        json["rows"],
        serde_json::json!(["data", "paragraphs", "qas"])
    );
    assert_eq!(serde_json::from_value::<Source>(json).unwrap(), s);

    let plain = source(r#"source files json { train = "a.json" }"#, "text: text");
    let json = serde_json::to_value(&plain).unwrap();
    assert!(json.get("rows").is_none(), "{json}");
    assert_eq!(json["format"], "json");
    // Options come in any order, `rows` among them; a field may be named `rows`.
    source(
        r#"source files json parts p [a, b] rows "data" { train = "{p}.json" }"#,
        "text: text, p: text, rows: int",
    );
}

#[test]
fn rows_belong_to_json_sources_and_name_every_step() {
    for fmt in ["jsonl", "tsv", "csv", "parquet", "text"] {
        assert_eq!(
            codes(
                &format!(r#"source files {fmt} rows "data.qas" {{ train = "a" }}"#),
                "text: text"
            ),
            ["exc::check::rows_format"],
            "{fmt}"
        );
    }
    for path in ["", "data..qas", ".qas", "data."] {
        assert_eq!(
            codes(
                &format!(r#"source files json rows "{path}" {{ train = "a.json" }}"#),
                "text: text"
            ),
            ["exc::check::rows_path"],
            "{path}"
        );
    }
    let (_, diags) = checked(
        r#"task t { source files jsonl rows "data.paragraphs.qas" { train = "a.jsonl" } fields { text: text } input "{text}" target text metrics accuracy }"#,
    );
    let d = &diags[0];
    assert!(
        d.message.contains("the source's format is `jsonl`"),
        "{}",
        d.message
    );
    let help = d.help.as_deref().unwrap_or_default();
    assert!(
        help.contains(r#"source files json rows "data.paragraphs.qas""#),
        "{help}"
    );
    // The span is the path's.
    let src = r#"task t { source files jsonl rows "data.paragraphs.qas" { train = "a.jsonl" } fields { text: text } input "{text}" target text metrics accuracy }"#;
    let (_, diags) = checked(src);
    let span = diags[0].span.expect("a located diagnostic");
    assert_eq!(&src[span.start..span.end], r#""data.paragraphs.qas""#);
}

/// `rows` without its path is a syntax error.
#[test]
fn rows_without_a_path_is_a_syntax_error() {
    let (_, diags) = checked(
        r#"task t { source files json rows { train = "a.json" } fields { text: text } input "{text}" target text metrics accuracy }"#,
    );
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(
        diags[0].code.starts_with("exc::syntax"),
        "{}",
        diags[0].code
    );
}
