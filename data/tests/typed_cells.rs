//! A string where the declaration says a number is never read quietly:
//! TSV and CSV cells (text by nature) are converted to their declared types
//! as the reader reads them, and JSON or parquet data that holds `"1"` in a
//! class or int field is refused by rendering, naming the field and what to
//! do (issue 18: "`"1"` read as class 1").

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may panic

mod common;
use common::{all, task, tmp, write};

use exc_compiler::render::render_row;

const FIELDS: &str = "fields { text: text, n: int, score: float?, label: class[no, yes] }";

fn rendered(src: &str, dir: &std::path::Path) -> Vec<Result<(String, String), String>> {
    let t = task(src);
    all(&t, "train", dir)
        .iter()
        .map(|row| {
            render_row(&t, row, "train")
                .map(|mut e| {
                    let e = e.remove(0);
                    (e.input, e.target)
                })
                .map_err(|e| e.message)
        })
        .collect()
}

#[test]
fn tsv_cells_are_read_as_their_declared_types() {
    let dir = tmp("typed_cells", "tsv");
    write(
        &dir.join("t.tsv"),
        "text\tn\tscore\tlabel\nhello\t12\t0.5\t1\nbye\t3\t\tno\n",
    );
    let src = format!(
        r#"task t {{ source files tsv {{ train = "t.tsv" }} {FIELDS}
  input "{{text}} {{n}} {{score | default('none')}}" target label metrics accuracy }}"#
    );
    let out = rendered(&src, &dir);
    assert_eq!(
        out,
        vec![
            Ok(("hello 12 0.5".to_string(), "yes".to_string())),
            Ok(("bye 3 none".to_string(), "no".to_string())),
        ]
    );
}

#[test]
fn json_strings_in_number_and_class_fields_are_refused() {
    let dir = tmp("typed_cells", "jsonl");
    let rows = [
        r#"{"text": "a", "n": 1, "score": 0.5, "label": 1}"#,
        r#"{"text": "b", "n": 2, "score": null, "label": "1"}"#,
        r#"{"text": "c", "n": "12", "score": 0.5, "label": "no"}"#,
        r#"{"text": "d", "n": 3, "score": "0.5", "label": "yes"}"#,
        r#"{"text": "e", "n": 4, "score": "", "label": "yes"}"#,
    ];
    write(&dir.join("t.jsonl"), &(rows.join("\n") + "\n"));
    let src = format!(
        r#"task t {{ source files jsonl {{ train = "t.jsonl" }} {FIELDS}
  input "{{text}} {{n}} {{score | default('none')}}" target label metrics accuracy }}"#
    );
    let out = rendered(&src, &dir);
    assert_eq!(out[0], Ok(("a 1 0.5".to_string(), "yes".to_string())));
    let e = out[1].as_ref().unwrap_err();
    assert!(
        e.contains("`label` is \"1\", which is not one of class[no, yes]")
            && e.contains("not read as a class id"),
        "{e}"
    );
    let e = out[2].as_ref().unwrap_err();
    assert!(
        e.contains("`n` should be an int, found the text \"12\"") && e.contains("declare"),
        "{e}"
    );
    let e = out[3].as_ref().unwrap_err();
    assert!(
        e.contains("`score` should be a float, found the text \"0.5\""),
        "{e}"
    );
    // An empty JSON string is not an absent value either.
    let e = out[4].as_ref().unwrap_err();
    assert!(
        e.contains("`score` should be a float, found the text \"\""),
        "{e}"
    );
}

#[test]
fn a_class_whose_names_spell_numbers_reads_them_as_names() {
    let dir = tmp("typed_cells", "names");
    write(&dir.join("t.csv"), "text,label\nx,1\ny,0\n");
    let src = r#"task t { source files csv { train = "t.csv" }
  fields { text: text, label: class["1", "0"] }
  input "{text}" target label metrics accuracy }"#;
    let out = rendered(src, &dir);
    assert_eq!(
        out,
        vec![
            Ok(("x".to_string(), "1".to_string())),
            Ok(("y".to_string(), "0".to_string())),
        ]
    );
}

#[test]
fn a_joined_field_is_read_as_the_main_rows_declaration() {
    let dir = tmp("typed_cells", "join");
    write(&dir.join("main.jsonl"), "{\"id\": 1}\n{\"id\": 2}\n");
    write(&dir.join("labels.tsv"), "key\tlabel\n1\t1\n2\tno\n");
    let src = r#"task t { source files jsonl { train = "main.jsonl" }
    join files tsv { train = "labels.tsv" } on id = key { label = label }
  fields { id: int, label: class[no, yes] }
  input "row {id}" target label metrics accuracy }"#;
    let out = rendered(src, &dir);
    assert_eq!(
        out,
        vec![
            Ok(("row 1".to_string(), "yes".to_string())),
            Ok(("row 2".to_string(), "no".to_string())),
        ]
    );
}
