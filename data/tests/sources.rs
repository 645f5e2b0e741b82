//! Every source kind reads real-shaped files built here, and bad files give
//! errors that name the file and line.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may panic

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use exc_data::source::locate::{locate, DataRoots, SourceRef};
use exc_data::source::{ReadOptions, RowReader, SourceFiles, SourcePosition};
use exc_data::DataError;
use flate2::write::GzEncoder;
use serde_json::{json, Value};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("exc-data-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rows(path: &Path, opts: &ReadOptions) -> Vec<Value> {
    RowReader::open(path, opts)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn jsonl_plain_and_multi_member_gzip() {
    let dir = tmp("jsonl");
    let a = "{\"text\": \"one\"}\n\n{\"text\": \"two\"}\n";
    let b = "{\"text\": \"three\"}\n";
    std::fs::write(dir.join("a.jsonl"), a).unwrap();
    // Two gzip members back to back, as C4 shards and `cat`ed files have.
    let mut two = gz(a.as_bytes());
    two.extend(gz(b.as_bytes()));
    std::fs::write(dir.join("c4-train.00000-of-00002.json.gz"), &two).unwrap();
    let plain = rows(&dir.join("a.jsonl"), &ReadOptions::default());
    assert_eq!(plain, vec![json!({"text": "one"}), json!({"text": "two"})]);
    let opts = ReadOptions {
        format: Some(exc_data::source::Format::Jsonl),
        ..ReadOptions::default()
    };
    let zipped = rows(&dir.join("c4-train.00000-of-00002.json.gz"), &opts);
    assert_eq!(zipped.len(), 3);
    assert_eq!(zipped[2], json!({"text": "three"}));
}

#[test]
fn bad_jsonl_names_file_and_line() {
    let dir = tmp("badjsonl");
    let p = dir.join("bad.jsonl");
    std::fs::write(&p, "{\"a\": 1}\n{\"a\": \n").unwrap();
    let out: Vec<_> = RowReader::open(&p, &ReadOptions::default())
        .unwrap()
        .collect();
    let err = out[1].as_ref().unwrap_err().to_string();
    assert!(err.contains("bad.jsonl") && err.contains("line 2"), "{err}");
    std::fs::write(&p, "[1, 2]\n").unwrap();
    let err = RowReader::open(&p, &ReadOptions::default())
        .unwrap()
        .next()
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(err.contains("expected a JSON object"), "{err}");
}

#[test]
fn tsv_is_strict_and_keeps_bare_quotes() {
    let dir = tmp("tsv");
    let p = dir.join("dev.tsv");
    std::fs::write(
        &p,
        "\u{feff}label\tsentence\n1\t\" a quoted\tstart\n0\tplain\n",
    )
    .unwrap();
    // Line 2 has three fields: an error naming the file and line.
    let out: Vec<_> = RowReader::open(&p, &ReadOptions::default())
        .unwrap()
        .collect();
    let err = out[0].as_ref().unwrap_err().to_string();
    assert!(err.contains("dev.tsv") && err.contains("line 2"), "{err}");
    assert!(err.contains("expected 2 fields"), "{err}");
    assert_eq!(
        out[1].as_ref().unwrap(),
        &json!({"label": "0", "sentence": "plain"})
    );

    std::fs::write(&p, "label\tsentence\n1\t\" bare quote\n").unwrap();
    assert_eq!(
        rows(&p, &ReadOptions::default()),
        vec![json!({"label": "1", "sentence": "\" bare quote"})]
    );
}

#[test]
fn csv_honours_quotes() {
    let dir = tmp("csv");
    let p = dir.join("train.csv");
    std::fs::write(&p, "a,b\n\"x, y\",\"say \"\"hi\"\"\"\n").unwrap();
    assert_eq!(
        rows(&p, &ReadOptions::default()),
        vec![json!({"a": "x, y", "b": "say \"hi\""})]
    );
    std::fs::write(&p, "a,b\n1,2,3\n").unwrap();
    let err = RowReader::open(&p, &ReadOptions::default())
        .unwrap()
        .next()
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, DataError::Malformed { line: 2, .. }), "{err}");
}

#[test]
fn text_lines_and_json_documents() {
    let dir = tmp("text");
    let p = dir.join("doc.txt");
    std::fs::write(&p, "first line\r\nsecond\n").unwrap();
    assert_eq!(
        rows(&p, &ReadOptions::default()),
        vec![json!({"text": "first line"}), json!({"text": "second"})]
    );
    let p = dir.join("squad.json");
    std::fs::write(&p, r#"{"version": 2, "data": [{"q": "a"}, {"q": "b"}]}"#).unwrap();
    assert_eq!(rows(&p, &ReadOptions::default()).len(), 2);
}

fn write_parquet(path: &Path, texts: &[&str]) {
    use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    let schema = Arc::new(
        parse_message_type(
            "message row { REQUIRED BYTE_ARRAY sentence (UTF8); REQUIRED INT64 label; }",
        )
        .unwrap(),
    );
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(parquet::basic::Compression::SNAPPY)
            .build(),
    );
    let file = std::fs::File::create(path).unwrap();
    let mut w = SerializedFileWriter::new(file, schema, props).unwrap();
    let mut rg = w.next_row_group().unwrap();
    let mut col = rg.next_column().unwrap().unwrap();
    let vals: Vec<ByteArray> = texts.iter().map(|t| ByteArray::from(*t)).collect();
    col.typed::<ByteArrayType>()
        .write_batch(&vals, None, None)
        .unwrap();
    col.close().unwrap();
    let mut col = rg.next_column().unwrap().unwrap();
    let labels: Vec<i64> = (0..texts.len() as i64).collect();
    col.typed::<Int64Type>()
        .write_batch(&labels, None, None)
        .unwrap();
    col.close().unwrap();
    rg.close().unwrap();
    w.close().unwrap();
}

#[test]
fn parquet_rows_become_objects() {
    let dir = tmp("parquet");
    let p = dir.join("0000.parquet");
    write_parquet(&p, &["a b", "c d"]);
    assert_eq!(
        rows(&p, &ReadOptions::default()),
        vec![
            json!({"sentence": "a b", "label": 0}),
            json!({"sentence": "c d", "label": 1})
        ]
    );
    std::fs::write(&p, b"not parquet").unwrap();
    let err = RowReader::open(&p, &ReadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("0000.parquet"), "{err}");
}

#[test]
fn hub_cache_and_converted_parquet_layouts() {
    let cache = tmp("hub");
    let repo = cache.join("datasets--nyu-mll--glue");
    let snap = repo.join("snapshots/abc123");
    std::fs::create_dir_all(snap.join("rte/train")).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), "abc123\n").unwrap();
    write_parquet(&snap.join("rte/train/0000.parquet"), &["x"]);
    write_parquet(&snap.join("rte/train/0001.parquet"), &["y"]);
    let src = SourceRef {
        task: "glue_rte".into(),
        dataset: Some("nyu-mll/glue".into()),
        config: Some("rte".into()),
        split: "train".into(),
        files: vec![],
        revision: None,
    };
    let roots = DataRoots {
        data_dir: None,
        hf_cache: Some(cache.clone()),
    };
    let files = locate(&src, &roots).unwrap();
    assert_eq!(files.len(), 2);
    let all: Vec<Value> = SourceFiles::new(files, ReadOptions::default())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(all.len(), 2);

    // A --data-dir holding converted parquet wins over the cache.
    let data = tmp("datadir");
    std::fs::create_dir_all(data.join("glue/rte/train")).unwrap();
    write_parquet(&data.join("glue/rte/train/0000.parquet"), &["z"]);
    let roots = DataRoots {
        data_dir: Some(data.clone()),
        hf_cache: Some(cache),
    };
    let files = locate(&src, &roots).unwrap();
    assert_eq!(files, vec![data.join("glue/rte/train/0000.parquet")]);
}

#[test]
fn missing_source_names_the_places_and_exc_fetch() {
    let data = tmp("missing");
    let src = SourceRef {
        task: "super_glue_cb".into(),
        dataset: Some("aps/super_glue".into()),
        config: Some("cb".into()),
        split: "validation".into(),
        files: vec![],
        revision: None,
    };
    let roots = DataRoots {
        data_dir: Some(data.clone()),
        hf_cache: Some(data.join("hub")),
    };
    let err = locate(&src, &roots).unwrap_err();
    let msg = err.to_string();
    // One line: the first three places, and how many more.
    assert!(msg.contains("super_glue_cb"), "{msg}");
    assert!(msg.contains("validation.jsonl"), "{msg}");
    assert!(msg.contains(" more places"), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
    let exc_data::DataError::Missing { looked, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(looked
        .iter()
        .any(|p| p.ends_with("super_glue_cb/validation.parquet")));
    // The hub repo is not cached at all: that folder is the one place named.
    assert_eq!(
        looked.last(),
        Some(&data.join("hub/datasets--aps--super_glue"))
    );
    let help = err.help().unwrap();
    assert!(
        help.contains(
            "`aps/super_glue` config `cb` split `validation` is a hub dataset: `exc fetch`"
        ),
        "{help}"
    );
}

#[test]
fn source_position_resumes_across_files() {
    let dir = tmp("resume");
    let mut files = Vec::new();
    for f in 0..3 {
        let p = dir.join(format!("c4-train.{f:05}-of-00003.json.gz"));
        let body: String = (0..4)
            .map(|i| format!("{{\"text\": \"doc {f}-{i}\"}}\n"))
            .collect();
        std::fs::write(&p, gz(body.as_bytes())).unwrap();
        files.push(p);
    }
    let opts = ReadOptions::default();
    let mut straight = SourceFiles::new(files.clone(), opts.clone()).unwrap();
    let first: Vec<Value> = straight.by_ref().take(6).map(|r| r.unwrap()).collect();
    assert_eq!(first[5], json!({"text": "doc 1-1"}));
    let pos = straight.position();
    assert_eq!(pos, SourcePosition { file: 1, row: 2 });
    let rest: Vec<Value> = straight.map(|r| r.unwrap()).collect();
    let resumed: Vec<Value> = SourceFiles::at(files, opts, pos)
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(rest, resumed);
    assert_eq!(resumed.len(), 6);
}

#[test]
fn fixture_data_files_read() {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data");
    assert!(
        data.is_dir(),
        "fixture {} is missing: it ships in the repository under fixtures/data",
        data.display()
    );
    let opts = ReadOptions::default();
    let mrpc = rows(&data.join("glue/MRPC_dev_sample.tsv"), &opts);
    assert!(
        mrpc[0].get("Quality").is_some(),
        "BOM stripped from the header"
    );
    assert!(rows(&data.join("glue/STS-B_dev_sample.tsv"), &opts).len() >= 9);
    assert!(rows(&data.join("superglue/RTE_val.jsonl"), &opts).len() > 200);
    assert!(rows(&data.join("squad/squad_v2_flat_sample.json"), &opts).len() > 5);
    assert_eq!(rows(&data.join("text/botchan.txt"), &opts).len(), 4288);
}

/// A source's `revision` reads that snapshot of the hub cache and no other:
/// by a ref (`refs/v1`) or by commit; a revision not in the cache is missing,
/// with a fetch command for that revision.
#[test]
fn a_revision_reads_its_own_snapshot() {
    let cache = tmp("hub-rev");
    let repo = cache.join("datasets--nyu-mll--glue");
    for (snap, row) in [("abc123", "main"), ("def456", "older")] {
        let dir = repo.join("snapshots").join(snap).join("rte/train");
        std::fs::create_dir_all(&dir).unwrap();
        write_parquet(&dir.join("0000.parquet"), &[row]);
    }
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), "abc123\n").unwrap();
    std::fs::write(repo.join("refs/v1"), "def456\n").unwrap();
    let roots = DataRoots {
        data_dir: None,
        hf_cache: Some(cache.clone()),
    };
    let at = |revision: Option<&str>| SourceRef {
        task: "glue_rte".into(),
        dataset: Some("nyu-mll/glue".into()),
        config: Some("rte".into()),
        split: "train".into(),
        files: vec![],
        revision: revision.map(str::to_string),
    };
    let snapshot_of = |revision: Option<&str>| {
        let files = locate(&at(revision), &roots).unwrap();
        assert_eq!(files.len(), 1, "{files:?}");
        files[0]
            .components()
            .rev()
            .nth(3)
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .into_owned()
    };
    assert_eq!(snapshot_of(None), "abc123");
    assert_eq!(snapshot_of(Some("v1")), "def456");
    assert_eq!(snapshot_of(Some("def456")), "def456");
    let err = locate(&at(Some("0123abc")), &roots).unwrap_err();
    let help = err.help().unwrap_or_default().to_string();
    assert!(help.contains("at revision `0123abc`"), "{help}");
}

/// `columns` with a header row replaces its names and skips it; without
/// one every line is data; no header and no names is an error, not a
/// first row taken for names.
#[test]
fn columns_and_header_rows() {
    let dir = tmp("header");
    let p = dir.join("pairs.tsv");
    std::fs::write(&p, "question\tanswer\nwho\tme\nwhere\there\n").unwrap();
    let named = |header: bool| ReadOptions {
        columns: Some(vec!["q".into(), "a".into()]),
        header,
        ..ReadOptions::default()
    };
    assert_eq!(
        rows(&p, &named(true)),
        vec![
            json!({"q": "who", "a": "me"}),
            json!({"q": "where", "a": "here"})
        ]
    );
    assert_eq!(rows(&p, &named(false)).len(), 3);
    assert_eq!(
        rows(&p, &named(false))[0],
        json!({"q": "question", "a": "answer"})
    );
    assert_eq!(
        rows(&p, &ReadOptions::default())[0],
        json!({"question": "who", "answer": "me"})
    );
    let none = ReadOptions {
        header: false,
        ..ReadOptions::default()
    };
    let Err(err) = RowReader::open(&p, &none) else {
        panic!("a header-less file without names must be refused");
    };
    assert!(err.to_string().contains("columns"), "{err}");
}
