//! Damaged and empty files: a stream stops at its first error that ends it
//! (one error, the rows before it counted, never a run of phantom failed
//! rows), a truncated parquet file is named with what is wrong, and an
//! empty file is refused with the one error `exc run` and `exc check --data`
//! share.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use exc_data::source::{ReadOptions, SourceFiles};
use exc_data::DataError;
use flate2::write::GzEncoder;

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("exc-damaged-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// 200 JSONL rows, gzipped, cut in half.
fn half_a_gzip(dir: &std::path::Path) -> PathBuf {
    let text: String = (0..200)
        .map(|i| {
            format!(
                "{{\"text\": \"row {i} with some words to compress {}\"}}\n",
                i * 7919
            )
        })
        .collect();
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(text.as_bytes()).unwrap();
    let bytes = e.finish().unwrap();
    let path = dir.join("train.jsonl.gz");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    path
}

#[test]
fn a_gzip_cut_in_half_gives_its_rows_then_one_error() {
    let dir = tmp("gzip");
    let path = half_a_gzip(&dir);
    let items: Vec<_> = SourceFiles::new(vec![path.clone()], ReadOptions::default())
        .unwrap()
        .take(1000)
        .collect();
    let ok = items.iter().filter(|r| r.is_ok()).count();
    let errors: Vec<&DataError> = items.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(ok > 0 && ok < 200, "{ok} rows");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(items.last().unwrap().is_err(), "the error ends the stream");
    let e = errors[0];
    assert!(
        matches!(e, DataError::Truncated { .. }) && e.ends_stream(),
        "{e:?}"
    );
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    assert!(e.help().unwrap().contains("cut short"));
}

/// A small parquet file (one text column, `rows` rows).
fn write_parquet(path: &std::path::Path, rows: usize) {
    use parquet::data_type::{ByteArray, ByteArrayType};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    let schema =
        Arc::new(parse_message_type("message row { REQUIRED BYTE_ARRAY text (UTF8); }").unwrap());
    let props = Arc::new(WriterProperties::builder().build());
    let file = std::fs::File::create(path).unwrap();
    let mut w = SerializedFileWriter::new(file, schema, props).unwrap();
    let mut rg = w.next_row_group().unwrap();
    let mut col = rg.next_column().unwrap().unwrap();
    let vals: Vec<ByteArray> = (0..rows)
        .map(|i| ByteArray::from(format!("row {i}").as_str()))
        .collect();
    col.typed::<ByteArrayType>()
        .write_batch(&vals, None, None)
        .unwrap();
    col.close().unwrap();
    rg.close().unwrap();
    w.close().unwrap();
}

#[test]
fn a_truncated_parquet_file_is_named_with_what_is_wrong() {
    let dir = tmp("parquet");
    let path = dir.join("train.parquet");
    write_parquet(&path, 50);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let items: Vec<_> = SourceFiles::new(vec![path.clone()], ReadOptions::default())
        .unwrap()
        .take(10)
        .collect();
    assert_eq!(items.len(), 1, "one error, no rows: {items:?}");
    let e = items[0].as_ref().unwrap_err();
    let m = e.to_string();
    assert!(
        m.starts_with(&format!("`{}`", path.display())) && m.contains("cut short"),
        "{m}"
    );
    assert!(e.ends_stream());
}

#[test]
fn an_empty_file_has_the_runs_error() {
    let e = DataError::no_rows("data/glue/rte/train.jsonl");
    assert_eq!(
        e.to_string(),
        "source `data/glue/rte/train.jsonl` has no rows: the file is empty (or holds blank lines only)"
    );
    assert!(e.ends_stream());
}
