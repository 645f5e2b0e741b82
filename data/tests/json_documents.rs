//! Whole JSON documents: SQuAD's own nested layout read as one row per
//! question with `rows "data.paragraphs.qas"` (real files from
//! `fixtures/data/squad`), the layouts read before (a top-level array, a
//! `data` array, JSON lines saved as `.json`) unchanged, and every record
//! the path cannot pass through an error with its file, line and place.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may panic (`common`'s too)

mod common;
use common::{all, fixture_data, task, tmp, write};

use std::path::Path;

use exc_compiler::render::render_row;
use exc_data::source::{Format, ReadOptions, RowReader, SourceFiles};
use exc_data::DataError;
use serde_json::{json, Value};

fn json_opts(rows: Option<&str>) -> ReadOptions {
    ReadOptions {
        format: Some(Format::Json),
        rows: rows.map(|r| r.split('.').map(str::to_string).collect()),
        ..ReadOptions::default()
    }
}

fn read(path: &Path, rows: Option<&str>) -> Vec<Result<Value, DataError>> {
    RowReader::open(path, &json_opts(rows))
        .expect("the file opens")
        .collect()
}

fn ok_rows(path: &Path, rows: Option<&str>) -> Vec<Value> {
    read(path, rows)
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("every row reads")
}

fn errors(items: &[Result<Value, DataError>]) -> Vec<String> {
    items
        .iter()
        .filter_map(|r| r.as_ref().err().map(ToString::to_string))
        .collect()
}

/// The questions of a SQuAD-layout file, counted independently of exc.
fn questions(path: &Path) -> Vec<(String, String, String)> {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = Vec::new();
    for article in doc["data"].as_array().unwrap() {
        for para in article["paragraphs"].as_array().unwrap() {
            for qa in para["qas"].as_array().unwrap() {
                out.push((
                    qa["id"].as_str().unwrap().to_string(),
                    article["title"].as_str().unwrap().to_string(),
                    para["context"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    out
}

#[test]
fn squad_v1_1_gives_one_row_per_question_with_title_and_context() {
    let path = fixture_data("squad/squad_v1.1_train_sample.json");
    let rows = ok_rows(&path, Some("data.paragraphs.qas"));
    let expected = questions(&path);
    assert_eq!(rows.len(), expected.len());
    assert_eq!(rows.len(), 5);
    for (row, (id, title, context)) in rows.iter().zip(&expected) {
        assert_eq!(row["id"], id.as_str());
        assert_eq!(row["title"], title.as_str());
        assert_eq!(row["context"], context.as_str());
        assert!(row["question"].is_string() && row["answers"].is_array());
        // The lists the path went through are not copied into rows.
        assert!(row.get("paragraphs").is_none() && row.get("qas").is_none());
    }
    assert_eq!(rows[0]["id"], "5733be284776f41900661182");
    assert_eq!(
        rows[0]["answers"][0],
        json!({"answer_start": 515, "text": "Saint Bernadette Soubirous"})
    );
}

/// SQuAD v2.0 writes `qas` before `context`: a record's fields after its
/// list still reach its rows. The document's own `version` does not.
#[test]
fn squad_v2_fields_after_the_list_reach_the_rows() {
    let path = fixture_data("squad/squad_v2.0_dev_small.json");
    let rows = ok_rows(&path, Some("data.paragraphs.qas"));
    let expected = questions(&path);
    assert_eq!(rows.len(), 14);
    for (row, (id, title, context)) in rows.iter().zip(&expected) {
        assert_eq!(
            (&row["id"], &row["title"], &row["context"]),
            (&json!(id), &json!(title), &json!(context))
        );
        assert!(row["is_impossible"].is_boolean());
        assert!(row.get("version").is_none());
    }
}

/// The task's `rows` reaches the reader through the plan, and the rows
/// render as SQuAD rows do.
#[test]
fn a_task_reads_squads_own_file() {
    let dir = tmp("jsondoc", "task");
    let text = std::fs::read_to_string(fixture_data("squad/squad_v1.1_train_sample.json")).unwrap();
    write(&dir.join("squad/train-v1.1.json"), &text);
    let t = task(
        r#"task squad_doc {
          source files json rows "data.paragraphs.qas" { train = "squad/train-v1.1.json" }
          fields { id: text, title: text, context: text, question: text, answers: list<{ text: text, answer_start: int }> }
          input "question: {question} title: {title}"
          target answers.text[0]
          metrics squad
        }"#,
    );
    let rows = all(&t, "train", &dir);
    assert_eq!(rows.len(), 5);
    let ex = render_row(&t, &rows[0], "train").unwrap();
    assert_eq!(
        ex[0].input,
        "question: To whom did the Virgin Mary allegedly appear in 1858 in Lourdes France? \
         title: University_of_Notre_Dame"
    );
    assert_eq!(ex[0].target, "Saint Bernadette Soubirous");
}

#[test]
fn arrays_and_data_arrays_read_as_before() {
    let dir = tmp("jsondoc", "layouts");
    let flat = fixture_data("squad/squad_v2_flat_sample.json");
    let rows = ok_rows(&flat, None);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&flat).unwrap()).unwrap();
    assert_eq!(&Value::Array(rows), &doc["data"]);

    let p = dir.join("array.json");
    write(&p, "[\n  {\"a\": 1},\n  {\"a\": 2}\n]\n");
    assert_eq!(ok_rows(&p, None), [json!({"a": 1}), json!({"a": 2})]);
    // Format guessed from the name, as hub files are read.
    let guessed: Vec<Value> = RowReader::open(&p, &ReadOptions::default())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(guessed.len(), 2);

    // An object without a `data` list is one row.
    let p = dir.join("one.json");
    write(&p, "{\"a\": 1,\n \"data\": \"x\"}");
    assert_eq!(ok_rows(&p, None), [json!({"a": 1, "data": "x"})]);
    write(&p, "{\"a\": 1, \"b\": [1, 2]}\n\n");
    assert_eq!(ok_rows(&p, None), [json!({"a": 1, "b": [1, 2]})]);

    // An empty document has no rows (the source's `no_rows` says so).
    write(&p, "\n  \n");
    assert!(read(&p, None).is_empty());
    write(&p, "[]");
    assert!(read(&p, None).is_empty());
}

/// JSON lines saved as `.json` (C4's `c4-*.json.gz`) read as JSONL, with
/// their lines' numbers; reopened at a position they pass rows unparsed.
#[test]
fn json_lines_saved_as_json_read_as_jsonl() {
    let dir = tmp("jsondoc", "lines");
    let p = dir.join("rows.json");
    write(
        &p,
        "\n{\"text\": \"a\"}\n{\"text\": \"b\", \"data\": [1]}\n\n{\"text\": \"c\"}\n",
    );
    assert_eq!(
        ok_rows(&p, None),
        [
            json!({"text": "a"}),
            json!({"text": "b", "data": [1]}),
            json!({"text": "c"})
        ]
    );
    write(&p, "{\"text\": \"a\"}\n{\"text\": \n");
    let items = read(&p, None);
    assert!(items[0].is_ok());
    let err = items[1].as_ref().unwrap_err().to_string();
    assert!(err.contains("rows.json") && err.contains("line 2"), "{err}");

    let gz = dir.join("c4-train.00000-of-00001.json.gz");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(
        &mut e,
        b"{\"text\": \"x\"}\n{\"text\": \"y\"}\n{\"text\": \"z\"}\n",
    )
    .unwrap();
    std::fs::write(&gz, e.finish().unwrap()).unwrap();
    let opts = ReadOptions::default();
    let mut straight = SourceFiles::new(vec![gz.clone()], opts.clone()).unwrap();
    straight.next().unwrap().unwrap();
    let pos = straight.position();
    let rest: Vec<Value> = straight.map(Result::unwrap).collect();
    let resumed: Vec<Value> = SourceFiles::at(vec![gz], opts, pos)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rest, resumed);
    assert_eq!(resumed, [json!({"text": "y"}), json!({"text": "z"})]);
}

/// A document reopened at a position gives the rows after it.
#[test]
fn a_document_reopens_at_a_position() {
    let path = fixture_data("squad/squad_v2.0_dev_small.json");
    let opts = json_opts(Some("data.paragraphs.qas"));
    let mut straight = SourceFiles::new(vec![path.clone()], opts.clone()).unwrap();
    let _: Vec<Value> = straight.by_ref().take(6).map(Result::unwrap).collect();
    let pos = straight.position();
    let rest: Vec<Value> = straight.map(Result::unwrap).collect();
    let resumed: Vec<Value> = SourceFiles::at(vec![path], opts, pos)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rest.len(), 8);
    assert_eq!(rest, resumed);
}

/// A record the path cannot pass through is an error naming the file, its
/// line and its place, and the records around it still give their rows.
#[test]
fn a_record_without_the_list_is_an_error_not_a_gap() {
    let dir = tmp("jsondoc", "missing");
    let p = dir.join("doc.json");
    write(
        &p,
        r#"{"data": [
  {"title": "a", "paragraphs": [{"context": "c", "qas": [{"q": 1}]}]},
  {"title": "b", "paragraph": [{"context": "c", "qas": [{"q": 2}]}]},
  {"title": "c", "paragraphs": [{"context": "c", "qas": {"q": 3}}]},
  {"title": "d", "paragraphs": ["text"]},
  {"title": "e", "paragraphs": [{"context": "c", "qas": [{"q": 5}, 6]}]}
]}
"#,
    );
    let items = read(&p, Some("data.paragraphs.qas"));
    let got: Vec<Value> = items
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .cloned()
        .collect();
    assert_eq!(
        got,
        [
            json!({"q": 1, "context": "c", "title": "a"}),
            json!({"q": 5, "context": "c", "title": "e"})
        ]
    );
    let errs = errors(&items);
    assert_eq!(errs.len(), 4, "{errs:?}");
    for (e, (line, what)) in errs.iter().zip([
        (3, "`data[1]` has no `paragraphs` list"),
        (
            4,
            "`data[2].paragraphs[0].qas` is a record, not a list of records",
        ),
        (
            5,
            "`data[3].paragraphs[0]` is text, not a record with a `qas` list",
        ),
        (
            6,
            "row `data[4].paragraphs[0].qas[1]` is not a JSON object (it is a number)",
        ),
    ]) {
        assert!(e.contains("doc.json"), "{e}");
        assert!(e.contains(&format!("line {line}:")), "{e}");
        assert!(e.contains(what), "{e}");
    }
    assert!(
        errs[0].contains("its fields: `title`, `paragraph`"),
        "{}",
        errs[0]
    );
}

#[test]
fn the_document_must_hold_the_first_list() {
    let dir = tmp("jsondoc", "root");
    let p = dir.join("doc.json");
    write(&p, "{\n\"version\": \"1.1\",\n\"articles\": []\n}");
    let errs = errors(&read(&p, Some("data.paragraphs.qas")));
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].contains("the document has no `data` list")
            && errs[0].contains("`version`, `articles`")
            && errs[0].contains("line 1:"),
        "{}",
        errs[0]
    );
    write(&p, "{\"data\": 3}");
    let errs = errors(&read(&p, Some("data")));
    assert!(
        errs[0].contains("`data` is a number, not a list"),
        "{}",
        errs[0]
    );
    write(&p, "\"text\"");
    let errs = errors(&read(&p, Some("data")));
    assert!(errs[0].contains("the document is text"), "{}", errs[0]);
}

/// A top-level array under `rows`: its elements are the records the path
/// starts from.
#[test]
fn an_array_of_records_starts_the_path() {
    let dir = tmp("jsondoc", "array");
    let p = dir.join("doc.json");
    write(
        &p,
        r#"[{"title": "a", "tags": ["x"], "paragraphs": [{"context": "c", "qas": [{"q": 1}, {"q": 2}]}]}]"#,
    );
    assert_eq!(
        ok_rows(&p, Some("paragraphs.qas")),
        [
            json!({"q": 1, "context": "c", "title": "a", "tags": ["x"]}),
            json!({"q": 2, "context": "c", "title": "a", "tags": ["x"]})
        ]
    );
    // One step: the array's records' own lists.
    assert_eq!(
        ok_rows(&p, Some("paragraphs")),
        [json!({"context": "c", "qas": [{"q": 1}, {"q": 2}], "title": "a", "tags": ["x"]})]
    );
}

/// A field of a record that a row (or a record below it) has too is an
/// error naming both: one would hide the other.
#[test]
fn a_field_both_a_row_and_its_record_have_is_an_error() {
    let dir = tmp("jsondoc", "clash");
    let p = dir.join("doc.json");
    write(
        &p,
        r#"{"data": [{"id": "a1", "qas": [{"id": "q1"}, {"q": 2}]}, {"id": "a2", "paras": [{"id": "p", "qas": []}]}]}"#,
    );
    let items = read(&p, Some("data.qas"));
    assert_eq!(items.len(), 3);
    let e = items[0].as_ref().unwrap_err().to_string();
    assert!(
        e.contains("row `data[0].qas[0]` has a field `id`, and so does its record `data[0]`"),
        "{e}"
    );
    assert_eq!(items[1].as_ref().unwrap(), &json!({"q": 2, "id": "a1"}));
    assert!(items[2].is_err());
    let items = read(&p, Some("data.paras.qas"));
    let errs = errors(&items);
    assert!(
        errs.iter()
            .any(|e| e.contains("`data[1].paras[0]` and `data[1]` both have a field `id`")),
        "{errs:?}"
    );
}

#[test]
fn a_broken_document_is_an_error_after_its_rows() {
    let dir = tmp("jsondoc", "broken");
    let p = dir.join("doc.json");
    // Cut short: the rows before the cut, then the file's end named.
    write(&p, "{\"data\": [\n{\"a\": 1},\n{\"a\": 2},\n{\"a\"");
    let items = read(&p, None);
    assert_eq!(items.len(), 3);
    assert!(items[1].is_ok());
    let err = items[2].as_ref().unwrap_err();
    assert!(matches!(err, DataError::Truncated { line: 4, .. }), "{err}");
    // Not JSON part-way.
    write(&p, "[\n{\"a\": 1},\n{\"a\": 2} x\n]");
    let items = read(&p, None);
    let err = items.last().unwrap().as_ref().unwrap_err();
    assert!(matches!(err, DataError::Malformed { line: 3, .. }), "{err}");
    // A second document after the first.
    write(&p, "{\"data\": [\n{\"a\": 1}\n]}\n{\"data\": []}\n");
    let items = read(&p, None);
    let err = items.last().unwrap().as_ref().unwrap_err().to_string();
    assert!(
        err.contains("line 4") && err.contains("more JSON follows"),
        "{err}"
    );
}

/// `rows` reads one document: JSON lines, or another format, refuse it.
#[test]
fn rows_need_a_json_document() {
    let dir = tmp("jsondoc", "rowsfmt");
    let p = dir.join("rows.json");
    write(&p, "{\"data\": [{\"a\": 1}]}\n{\"data\": []}\n");
    let err = RowReader::open(&p, &json_opts(Some("data")))
        .expect_err("JSON lines are refused under `rows`");
    assert!(err.to_string().contains("holds JSON lines"), "{err}");
    let p = dir.join("rows.jsonl");
    write(&p, "{\"a\": 1}\n");
    let opts = ReadOptions {
        format: Some(Format::Jsonl),
        ..json_opts(Some("data"))
    };
    let err = RowReader::open(&p, &opts).expect_err("JSONL is refused under `rows`");
    assert!(err.to_string().contains("read as jsonl"), "{err}");
}
