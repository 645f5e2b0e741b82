//! A task's `join` read from small files in the layouts the data comes in:
//! KILT TriviaQA rows (`id`, `input: ""`, `output`) get TriviaQA's
//! `question` by `id` = `question_id`, split by split; unmatched rows are
//! dropped and counted or stop the reading with their place; two joined
//! rows with one key are an error naming both.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may panic

mod common;
use common::{roots, task, tmp, write};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use exc_compiler::check_task::check_task_text;
use exc_compiler::ir::Task;
use exc_compiler::render::render_row;
use exc_data::source::{ReadOptions, SourceFiles};
use exc_data::task_source::{locate_split, open_split};
use exc_data::DataError;
use serde_json::{json, Value};

/// The catalog's `kilt_triviaqa`, as `tasks/kilt/kilt.task` declares it.
fn kilt_triviaqa() -> Task {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tasks/kilt/kilt.task");
    let text = std::fs::read_to_string(path).unwrap();
    let (mut tasks, diags) = check_task_text(&text, "tasks/kilt/kilt.task");
    assert!(diags.is_empty(), "{diags:?}");
    tasks.shift_remove("kilt_triviaqa").unwrap()
}

/// TriviaQA `unfiltered.nocontext` as the hub's parquet holds it (the
/// columns a join reads, and one it does not).
fn write_trivia_qa(path: &Path, rows: &[(&str, &str)]) {
    use parquet::data_type::{ByteArray, ByteArrayType};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let schema = Arc::new(
        parse_message_type(
            "message row { REQUIRED BYTE_ARRAY question (UTF8); REQUIRED BYTE_ARRAY question_id (UTF8); REQUIRED BYTE_ARRAY question_source (UTF8); }",
        )
        .unwrap(),
    );
    let props = Arc::new(WriterProperties::builder().build());
    let file = std::fs::File::create(path).unwrap();
    let mut w = SerializedFileWriter::new(file, schema, props).unwrap();
    let mut rg = w.next_row_group().unwrap();
    let columns: [Vec<&str>; 3] = [
        rows.iter().map(|r| r.1).collect(),
        rows.iter().map(|r| r.0).collect(),
        rows.iter()
            .map(|_| "http://www.triviacountry.com/")
            .collect(),
    ];
    for values in columns {
        let mut col = rg.next_column().unwrap().unwrap();
        let vals: Vec<ByteArray> = values.iter().map(|t| ByteArray::from(*t)).collect();
        col.typed::<ByteArrayType>()
            .write_batch(&vals, None, None)
            .unwrap();
        col.close().unwrap();
    }
    rg.close().unwrap();
    w.close().unwrap();
}

/// KILT rows as the loader gives them: no question, `input` "".
fn kilt_row(id: &str, answer: &str) -> String {
    format!(
        "{}\n",
        json!({"id": id, "input": "", "output": [{"answer": answer}]})
    )
}

/// A data directory with KILT TriviaQA's train split (three rows, the
/// second without a TriviaQA question) and TriviaQA's.
fn kilt_data(name: &str) -> PathBuf {
    let dir = tmp("joins", name);
    write(
        &dir.join("kilt_triviaqa/train.jsonl"),
        &[
            kilt_row("tc_19", "Big Bill Broonzy"),
            kilt_row("dpql_0", "nowhere"),
            kilt_row("tc_0", "Harry Truman"),
        ]
        .concat(),
    );
    write_trivia_qa(
        &dir.join("trivia_qa/unfiltered.nocontext/train/0000.parquet"),
        &[
            (
                "tc_0",
                "Who was President when the first Peanuts cartoon was published?",
            ),
            ("tc_19", "How is musician William Lee Conley better known?"),
            (
                "tc_406",
                "What Pulitzer Prize-winning novelist worked as a hod carrier?",
            ),
        ],
    );
    dir
}

#[test]
fn kilt_triviaqa_renders_the_joined_question_and_drops_the_unmatched_row() {
    let dir = kilt_data("kilt");
    let t = kilt_triviaqa();
    let mut rows = open_split(&t, "train", &roots(&dir)).unwrap();
    let read: Vec<Value> = rows.by_ref().collect::<Result<_, _>>().unwrap();
    assert_eq!(rows.dropped(), 1);
    assert_eq!(
        read.iter().map(|r| r["input"].clone()).collect::<Vec<_>>(),
        [
            json!("How is musician William Lee Conley better known?"),
            json!("Who was President when the first Peanuts cartoon was published?"),
        ]
    );
    let ex = render_row(&t, &read[0], "train").unwrap();
    assert_eq!(
        ex[0].input,
        "triviaqa question: How is musician William Lee Conley better known?"
    );
    assert_eq!(ex[0].target, "Big Bill Broonzy");
}

#[test]
fn rows_after_a_dropped_one_keep_their_places_and_resume() {
    let dir = kilt_data("resume");
    let t = kilt_triviaqa();
    let files = locate_split(&t, "train", &roots(&dir)).unwrap();
    let mut straight = SourceFiles::new(files.clone(), ReadOptions::default()).unwrap();
    straight.next().unwrap().unwrap();
    let pos = straight.position();
    let second = straight.next().unwrap().unwrap();
    // The dropped row 2 still counts: the second row returned is row 3.
    assert_eq!(straight.last_place().unwrap().1, 3);
    let mut resumed = SourceFiles::at(files, ReadOptions::default(), pos).unwrap();
    assert_eq!(resumed.next().unwrap().unwrap(), second);
    assert_eq!(resumed.last_place().unwrap().1, 3);
    assert!(resumed.next().is_none());
}

const STRICT: &str = r#"task t {
  source files jsonl { train = "kilt/train.jsonl" }
    join files jsonl { train = "tq/train.jsonl" } on id = question_id { input = question }
  fields { id: text, input: text }
  input "{input}" target id metrics accuracy
}"#;

#[test]
fn an_unmatched_row_stops_the_reading_by_default_with_its_place() {
    let dir = tmp("joins", "strict");
    write(
        &dir.join("kilt/train.jsonl"),
        &[kilt_row("tc_19", "a"), kilt_row("dpql_0", "b")].concat(),
    );
    write(
        &dir.join("tq/train.jsonl"),
        "{\"question_id\": \"tc_19\", \"question\": \"q?\"}\n",
    );
    let mut rows = open_split(&task(STRICT), "train", &roots(&dir)).unwrap();
    assert_eq!(rows.next().unwrap().unwrap()["input"], "q?");
    let e = rows.next().unwrap().unwrap_err();
    let DataError::Unmatched(u) = &e else {
        panic!("{e}")
    };
    assert_eq!(
        (&u.path, u.line, u.key.as_str()),
        (&dir.join("kilt/train.jsonl"), 2, "dpql_0")
    );
    assert!(e.to_string().contains("files `tq/train.jsonl`"), "{e}");
    assert!(e.help().unwrap().contains("unmatched drop"));
}

#[test]
fn two_joined_rows_with_one_key_are_an_error_naming_both() {
    let dir = tmp("joins", "duplicate");
    write(&dir.join("kilt/train.jsonl"), &kilt_row("tc_19", "a"));
    write(
        &dir.join("tq/train.jsonl"),
        "{\"question_id\": \"tc_19\", \"question\": \"q?\"}\n\
         {\"question_id\": \"tc_0\", \"question\": \"p?\"}\n\
         {\"question_id\": \"tc_19\", \"question\": \"again?\"}\n",
    );
    let e = open_split(&task(STRICT), "train", &roots(&dir))
        .unwrap()
        .next()
        .unwrap()
        .unwrap_err();
    let DataError::DuplicateKey(d) = &e else {
        panic!("{e}")
    };
    let (key, first, second) = (&d.key, &d.first, &d.second);
    assert_eq!(key, "tc_19");
    let file = dir.join("tq/train.jsonl").display().to_string();
    assert_eq!(first, &format!("`{file}` row 1"));
    assert_eq!(second, &format!("`{file}` row 3"));
    // A joined row without the copied field is an error too, not a null.
    write(
        &dir.join("tq/train.jsonl"),
        "{\"question_id\": \"tc_19\", \"text\": \"q?\"}\n",
    );
    let e = open_split(&task(STRICT), "train", &roots(&dir))
        .unwrap()
        .next()
        .unwrap()
        .unwrap_err();
    assert!(e.to_string().contains("has no field `question`"), "{e}");
}

#[test]
fn missing_data_names_the_joined_dataset() {
    let dir = tmp("joins", "missing");
    let t = kilt_triviaqa();
    // Neither source: the help for KILT also says how to get TriviaQA.
    let e = locate_split(&t, "train", &roots(&dir)).unwrap_err();
    let help = e.help().unwrap();
    assert!(help.contains("facebook/kilt_tasks"), "{help}");
    assert!(
        help.contains("`mandarjoshi/trivia_qa` config `unfiltered.nocontext` split `train`"),
        "{help}"
    );
    // KILT only: the error is TriviaQA's, named as the task's join.
    write(
        &dir.join("kilt_triviaqa/train.jsonl"),
        &kilt_row("tc_19", "a"),
    );
    let e = locate_split(&t, "train", &roots(&dir)).unwrap_err();
    let DataError::Missing { task, looked, help } = &e else {
        panic!("{e}")
    };
    assert_eq!(task, "kilt_triviaqa");
    assert!(
        looked
            .iter()
            .any(|p| p.ends_with("kilt_triviaqa/trivia_qa/train.jsonl")),
        "{looked:?}"
    );
    assert!(
        help.starts_with(
            "task `kilt_triviaqa` joins `mandarjoshi/trivia_qa` config `unfiltered.nocontext`"
        ),
        "{help}"
    );
    assert!(
        help.contains("is a hub dataset: `exc fetch` downloads it"),
        "{help}"
    );
}
