//! Reopening a source at a recorded position gives exactly the rows that
//! follow it, whether the reader passes rows without decoding them (JSONL,
//! text, parquet: whole row groups unread) or reads them (TSV).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may panic

mod common;
use common::{tmp, write};

use std::path::Path;
use std::sync::Arc;

use exc_data::source::{ReadOptions, SourceFiles, SourcePosition};
use serde_json::Value;

/// Every row, then for each position the rows read after reopening there.
fn check(files: Vec<std::path::PathBuf>, opts: ReadOptions) {
    let all: Vec<Value> = SourceFiles::new(files.clone(), opts.clone())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(all.len() >= 7, "{}", all.len());
    // Row positions within the first file, past its end too.
    let mut reader = SourceFiles::new(files.clone(), opts.clone()).unwrap();
    let mut positions = vec![reader.position()];
    while reader.next().is_some() {
        positions.push(reader.position());
    }
    for (k, pos) in positions.iter().enumerate() {
        let mut s = SourceFiles::at(files.clone(), opts.clone(), *pos).unwrap();
        assert_eq!(s.position(), *pos, "reopened at {pos:?}");
        let rest: Vec<Value> = s.by_ref().collect::<Result<_, _>>().unwrap();
        assert_eq!(rest, all[k..].to_vec(), "after {k} rows ({pos:?})");
    }
    // A position past the end of a file stops at its end.
    let past = SourcePosition {
        file: 0,
        row: 10_000,
    };
    let s = SourceFiles::at(files.clone(), opts, past).unwrap();
    assert!(s.position().row < 10_000);
}

#[test]
fn jsonl_with_blank_lines_reopens_at_each_row() {
    let dir = tmp("reopen", "jsonl");
    let a = dir.join("a.jsonl");
    let b = dir.join("b.jsonl");
    write(&a, "{\"x\": 1}\n\n{\"x\": 2}\n  \n{\"x\": 3}\n{\"x\": 4}\n");
    write(&b, "{\"x\": 5}\n{\"x\": 6}\n\n{\"x\": 7}\n");
    check(vec![a, b], ReadOptions::default());
}

#[test]
fn text_lines_reopen_at_each_row_blank_ones_included() {
    let dir = tmp("reopen", "text");
    let a = dir.join("a.txt");
    write(&a, "one\n\ntwo\nthree\n\nfour\nfive\n");
    check(vec![a], ReadOptions::default());
}

#[test]
fn tsv_reopens_at_each_row() {
    let dir = tmp("reopen", "tsv");
    let a = dir.join("a.tsv");
    write(&a, "x\ty\n1\ta\n2\tb\n3\tc\n4\td\n5\te\n6\tf\n7\tg\n");
    check(vec![a], ReadOptions::default());
}

/// A parquet file of three row groups (3, 2 and 4 rows).
fn write_groups(path: &Path) {
    use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    let schema = Arc::new(
        parse_message_type("message row { REQUIRED INT64 n; REQUIRED BYTE_ARRAY s (UTF8); }")
            .unwrap(),
    );
    let props = Arc::new(WriterProperties::builder().build());
    let mut w =
        SerializedFileWriter::new(std::fs::File::create(path).unwrap(), schema, props).unwrap();
    let mut n = 0i64;
    for size in [3, 2, 4] {
        let ns: Vec<i64> = (n..n + size).collect();
        let ss: Vec<ByteArray> = ns
            .iter()
            .map(|i| ByteArray::from(format!("row {i}").as_str()))
            .collect();
        let mut rg = w.next_row_group().unwrap();
        let mut col = rg.next_column().unwrap().unwrap();
        col.typed::<Int64Type>()
            .write_batch(&ns, None, None)
            .unwrap();
        col.close().unwrap();
        let mut col = rg.next_column().unwrap().unwrap();
        col.typed::<ByteArrayType>()
            .write_batch(&ss, None, None)
            .unwrap();
        col.close().unwrap();
        rg.close().unwrap();
        n += size;
    }
    w.close().unwrap();
}

#[test]
fn parquet_reopens_at_each_row_across_row_groups() {
    let dir = tmp("reopen", "parquet");
    let a = dir.join("a.parquet");
    write_groups(&a);
    let meta = {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        SerializedFileReader::new(std::fs::File::open(&a).unwrap())
            .unwrap()
            .metadata()
            .num_row_groups()
    };
    assert_eq!(meta, 3, "the test needs several row groups");
    check(vec![a], ReadOptions::default());
}

/// A file of part `label`.
fn part_file(path: std::path::PathBuf, label: &str) -> exc_data::source::SourceFile {
    let mut fields = serde_json::Map::new();
    fields.insert("label".into(), Value::from(label));
    exc_data::source::SourceFile {
        path,
        fields,
        ..Default::default()
    }
}

#[test]
fn parts_read_in_turn_reopen_at_each_row_without_rereading() {
    let dir = tmp("reopen", "parts");
    let (a1, a2, b) = (
        dir.join("a1.jsonl"),
        dir.join("a2.jsonl"),
        dir.join("b.jsonl"),
    );
    // Part a: two files (3 rows with a blank line, then 1); part b: 7 rows,
    // so b goes on alone after a runs out.
    write(&a1, "{\"x\": \"a0\"}\n\n{\"x\": \"a1\"}\n{\"x\": \"a2\"}\n");
    write(&a2, "{\"x\": \"a3\"}\n");
    write(
        &b,
        &(0..7)
            .map(|i| format!("{{\"x\": \"b{i}\"}}\n"))
            .collect::<String>(),
    );
    let files = vec![
        part_file(a1.clone(), "a"),
        part_file(a2, "a"),
        part_file(b, "b"),
    ];
    let all: Vec<Value> = SourceFiles::new(files.clone(), ReadOptions::default())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let order: Vec<&str> = all.iter().map(|r| r["x"].as_str().unwrap()).collect();
    assert_eq!(
        order,
        ["a0", "b0", "a1", "b1", "a2", "b2", "a3", "b3", "b4", "b5", "b6"]
    );
    assert!(all
        .iter()
        .all(|r| r["label"].as_str() == r["x"].as_str().map(|x| &x[..1])));
    let mut reader = SourceFiles::new(files.clone(), ReadOptions::default()).unwrap();
    let mut positions = vec![reader.position()];
    while reader.next().is_some() {
        positions.push(reader.position());
    }
    for (k, pos) in positions.iter().enumerate() {
        let mut s = SourceFiles::at(files.clone(), ReadOptions::default(), *pos).unwrap();
        assert_eq!(s.position(), *pos);
        let rest: Vec<Value> = s.by_ref().collect::<Result<_, _>>().unwrap();
        assert_eq!(rest, all[k..].to_vec(), "after {k} rows");
    }
    // The rows before the position are passed, not parsed: a broken first
    // row of part a does not stop a reopening past it.
    write(&a1, "{not json\n\n{\"x\": \"a1\"}\n{\"x\": \"a2\"}\n");
    let rest: Vec<Value> = SourceFiles::at(files, ReadOptions::default(), positions[4])
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rest, all[4..].to_vec());
}

#[test]
fn parquet_reads_only_the_selected_columns() {
    let dir = tmp("reopen", "select");
    let a = dir.join("a.parquet");
    write_groups(&a);
    let opts = ReadOptions {
        select: Some(vec!["s".into(), "not_in_the_file".into()]),
        ..ReadOptions::default()
    };
    let rows: Vec<Value> = SourceFiles::new(vec![a.clone()], opts.clone())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 9);
    assert_eq!(rows[4], serde_json::json!({"s": "row 4"}));
    // Reopened with the selection, at each row.
    check(vec![a.clone()], opts);
    // Without one, every column.
    let all = SourceFiles::new(vec![a], ReadOptions::default())
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(all, serde_json::json!({"n": 0, "s": "row 0"}));
}
