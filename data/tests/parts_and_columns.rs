//! A task's source read from real small files: `parts` add which part a row
//! came from and are read in turn; line-aligned column files pair their
//! lines, and files that do not pair up are errors naming both.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may panic

mod common;
use common::{all, roots, task, tmp, write};

use exc_data::source::{line_count, ReadOptions, SourceFile, SourceFiles};
use exc_data::task_source::{locate_split, open_split};
use exc_data::DataError;
use serde_json::{json, Value};

const GPT2: &str = r#"task d {
  source files jsonl parts label { human = "webtext", machine = "small-117M" } { train = "gpt2/{label}.train.jsonl" }
  fields { text: text, label: class[human, machine] }
  input "{text}" target label metrics accuracy
}"#;

#[test]
fn each_row_carries_its_part_and_parts_are_read_in_turn() {
    let dir = tmp("parts", "gpt2");
    write(
        &dir.join("gpt2/webtext.train.jsonl"),
        "{\"text\": \"h1\"}\n{\"text\": \"h2\"}\n{\"text\": \"h3\"}\n",
    );
    write(
        &dir.join("gpt2/small-117M.train.jsonl"),
        "{\"text\": \"m1\"}\n",
    );
    let rows = all(&task(GPT2), "train", &dir);
    assert_eq!(
        rows,
        [
            json!({"text": "h1", "label": "human"}),
            json!({"text": "m1", "label": "machine"}),
            json!({"text": "h2", "label": "human"}),
            json!({"text": "h3", "label": "human"}),
        ]
    );
}

#[test]
fn a_stream_of_parts_resumes_where_it_stopped() {
    let dir = tmp("parts", "resume");
    write(
        &dir.join("gpt2/webtext.train.jsonl"),
        "{\"text\": \"h1\"}\n{\"text\": \"h2\"}\n{\"text\": \"h3\"}\n",
    );
    write(
        &dir.join("gpt2/small-117M.train.jsonl"),
        "{\"text\": \"m1\"}\n{\"text\": \"m2\"}\n",
    );
    let t = task(GPT2);
    let files = locate_split(&t, "train", &roots(&dir)).unwrap();
    let mut straight = SourceFiles::new(files.clone(), ReadOptions::default()).unwrap();
    let first: Vec<Value> = straight.by_ref().take(3).map(Result::unwrap).collect();
    assert_eq!(first.len(), 3);
    let pos = straight.position();
    let (file, row) = straight.last_place().unwrap();
    assert_eq!(
        (file.path.file_name().unwrap(), row),
        ("webtext.train.jsonl".as_ref(), 2)
    );
    let rest: Vec<Value> = straight.map(Result::unwrap).collect();
    let resumed: Vec<Value> = SourceFiles::at(files, ReadOptions::default(), pos)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(resumed, rest);
    assert_eq!(rest.len(), 2);
}

#[test]
fn a_row_that_already_has_the_part_field_is_an_error() {
    let dir = tmp("parts", "clash");
    write(
        &dir.join("gpt2/webtext.train.jsonl"),
        "{\"text\": \"h1\", \"label\": 1}\n",
    );
    write(
        &dir.join("gpt2/small-117M.train.jsonl"),
        "{\"text\": \"m1\"}\n",
    );
    let first = open_split(&task(GPT2), "train", &roots(&dir))
        .unwrap()
        .next()
        .unwrap();
    let e = first.unwrap_err().to_string();
    assert!(e.contains("webtext.train.jsonl` line 1"), "{e}");
    assert!(e.contains("already has a field `label`"), "{e}");
}

#[test]
fn one_file_found_for_two_parts_is_refused() {
    // Without the parts' own files, both fall back to `DATA_DIR/TASK/train.jsonl`.
    let dir = tmp("parts", "twice");
    write(&dir.join("d/train.jsonl"), "{\"text\": \"x\"}\n");
    let e = locate_split(&task(GPT2), "train", &roots(&dir)).unwrap_err();
    assert!(matches!(e, DataError::Config(_)), "{e}");
    assert!(e.to_string().contains("read twice"), "{e}");
}

const SHAKESPEARE: &str = r#"task s {
  source files text { train = { modern: "sh/train.modern", original: "sh/train.original" } }
  fields { modern: text, original: text }
  input "{modern}" target original metrics bleu
}"#;

#[test]
fn column_files_pair_their_lines() {
    let dir = tmp("parts", "columns");
    write(&dir.join("sh/train.modern"), "Hello .\n\nGoodbye .\n");
    write(
        &dir.join("sh/train.original"),
        "Good morrow .\n\nFarewell .",
    );
    let rows = all(&task(SHAKESPEARE), "train", &dir);
    assert_eq!(
        rows,
        [
            json!({"modern": "Hello .", "original": "Good morrow ."}),
            json!({"modern": "", "original": ""}),
            json!({"modern": "Goodbye .", "original": "Farewell ."}),
        ]
    );
}

#[test]
fn column_files_of_different_lengths_are_an_error_naming_both() {
    let dir = tmp("parts", "unaligned");
    write(&dir.join("sh/train.modern"), "a\nb\nc\n");
    write(&dir.join("sh/train.original"), "x\ny\n");
    let e = locate_split(&task(SHAKESPEARE), "train", &roots(&dir)).unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(
            e,
            DataError::Unaligned {
                short_lines: 2,
                long_lines: Some(3),
                line: 3,
                ..
            }
        ),
        "{msg}"
    );
    assert!(msg.contains("train.original` has 2 lines"), "{msg}");
    assert!(msg.contains("train.modern` has 3"), "{msg}");
    assert!(e.help().is_some());

    // Read without the check (the files changed after it): the reader stops
    // at the unpaired line with the same error, never drops it.
    let file = SourceFile {
        path: dir.join("sh/train.modern"),
        columns: vec![
            ("modern".into(), dir.join("sh/train.modern")),
            ("original".into(), dir.join("sh/train.original")),
        ],
        ..SourceFile::default()
    };
    let read: Vec<_> = SourceFiles::new(vec![file], ReadOptions::default())
        .unwrap()
        .collect();
    assert_eq!(read.len(), 3);
    assert!(read[0].is_ok() && read[1].is_ok());
    let last = read[2].as_ref().unwrap_err().to_string();
    assert!(last.contains("train.original` has 2 lines"), "{last}");
    assert!(last.contains("more (line 3)"), "{last}");
}

#[test]
fn a_missing_column_file_is_named() {
    let dir = tmp("parts", "missing");
    write(&dir.join("sh/train.modern"), "a\n");
    let e = locate_split(&task(SHAKESPEARE), "train", &roots(&dir)).unwrap_err();
    assert!(matches!(e, DataError::Missing { .. }), "{e}");
    assert!(e.to_string().contains("sh/train.original"), "{e}");
}

#[test]
fn line_counts_match_what_is_read() {
    let dir = tmp("parts", "count");
    for (text, n) in [
        ("", 0),
        ("a", 1),
        ("a\n", 1),
        ("a\n\nb", 3),
        ("a\r\nb\r\n", 2),
    ] {
        let p = dir.join("f.txt");
        std::fs::write(&p, text).unwrap();
        assert_eq!(line_count(&p).unwrap(), n, "{text:?}");
        let read = SourceFiles::new(vec![p.clone()], ReadOptions::default())
            .unwrap()
            .count();
        assert_eq!(read as u64, n, "{text:?}");
    }
}

#[test]
fn a_hub_source_with_parts_fills_the_config() {
    // Converted-parquet layout under the data dir: NAME/CONFIG/SPLIT/*.parquet
    // is what the hub gives; here JSONL under DATA_DIR/TASK/SPLIT is per
    // config, so the hub split holds the placeholder instead.
    let dir = tmp("parts", "hub");
    write(&dir.join("st/train_abortion.jsonl"), "{\"text\": \"a\"}\n");
    write(&dir.join("st/train_atheism.jsonl"), "{\"text\": \"b\"}\n");
    let t = task(
        r#"task st {
          source hf "o/d" parts target [abortion, atheism] { train = "train_{target}" }
          fields { text: text, target: class[abortion, atheism] }
          input "{target}: {text}" target text metrics accuracy
        }"#,
    );
    let rows = all(&t, "train", &dir);
    assert_eq!(
        rows,
        [
            json!({"text": "a", "target": "abortion"}),
            json!({"text": "b", "target": "atheism"}),
        ]
    );
}
