//! The pipeline is deterministic and resumable: N batches straight equal
//! k batches, save the cursor (through JSON), restore in a new pipeline,
//! then N-k batches. Uses the T5 vocabulary and text in `fixtures/data`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may panic

mod common;
use common::{fixture_data, tokenizer};

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use exc_data::objective::span::SpanCorruption;
use exc_data::objective::supervised::Lengths;
use exc_data::pack::{Batch, Batching};
use exc_data::pipeline::{Objective, Pipeline, PipelineCursor, PipelineSpec, TaskSpec};
use exc_data::source::ReadOptions;
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("exc-data-pipe-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut a = std::fs::File::create(dir.join("rte.jsonl")).unwrap();
    for i in 0..23 {
        writeln!(a, r#"{{"premise": "premise number {i} is long enough", "hypothesis": "h {i}", "label": {}}}"#, i % 2).unwrap();
    }
    let mut b = std::fs::File::create(dir.join("cola.tsv")).unwrap();
    writeln!(b, "sentence\tlabel").unwrap();
    for i in 0..7 {
        writeln!(b, "the {i} cat sat\t{}", i % 2).unwrap();
    }
    let text = std::fs::read_to_string(fixture_data("text/wiki_00.txt")).unwrap();
    for shard in 0..2 {
        let f = std::fs::File::create(dir.join(format!("c4-train.{shard:05}-of-00002.json.gz")))
            .unwrap();
        let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        for line in text
            .lines()
            .skip(shard * 100)
            .take(100)
            .filter(|l| !l.is_empty())
        {
            writeln!(gz, "{}", serde_json::json!({ "text": line })).unwrap();
        }
        gz.finish().unwrap();
    }
    dir
}

fn spec(dir: &std::path::Path, batching: Batching) -> PipelineSpec {
    let rte = Objective::Supervised(Arc::new(|row: &Value| {
        Ok(vec![(
            format!(
                "rte hypothesis: {} premise: {}",
                row["hypothesis"].as_str().unwrap_or(""),
                row["premise"].as_str().unwrap_or("")
            ),
            if row["label"] == 0 {
                "entailment".into()
            } else {
                "not_entailment".into()
            },
        )])
    }));
    let cola = Objective::Supervised(Arc::new(|row: &Value| {
        Ok(vec![(
            format!("cola sentence: {}", row["sentence"].as_str().unwrap_or("")),
            row["label"].as_str().unwrap_or("").to_string(),
        )])
    }));
    let c4 = Objective::SpanCorruption {
        spec: SpanCorruption {
            concat_documents: 8,
            ..SpanCorruption::t5()
        },
        text_field: "text".into(),
    };
    let task = |name: &str, files: Vec<PathBuf>, objective, window| TaskSpec {
        name: name.into(),
        files: files.into_iter().map(Into::into).collect(),
        read: ReadOptions::default(),
        objective,
        shuffle_window: window,
    };
    let mut shards: Vec<PathBuf> = (0..2)
        .map(|s| dir.join(format!("c4-train.{s:05}-of-00002.json.gz")))
        .collect();
    shards.sort();
    let mut c4_task = task("c4", shards, c4, 16);
    c4_task.read.format = Some(exc_data::source::Format::Jsonl);
    PipelineSpec {
        tasks: vec![
            task("rte", vec![dir.join("rte.jsonl")], rte, 5),
            task("cola", vec![dir.join("cola.tsv")], cola, 4),
            c4_task,
        ],
        rates: vec![1.0, 1.0, 2.0],
        seed: 42,
        batch_size: 3,
        lengths: Lengths {
            inputs: 64,
            targets: 20,
        },
        batching,
    }
}

fn run(p: &mut Pipeline, n: usize) -> Vec<Batch> {
    (0..n).map(|_| p.next_batch().unwrap()).collect()
}

fn check_resume(batching: Batching, n: usize, k: usize) {
    let tok = tokenizer();
    let dir = fixture(&format!("{batching:?}-{k}").replace(['{', '}', ' ', ':'], ""));
    let spec = spec(&dir, batching);
    let mut straight = Pipeline::new(&spec, tok.clone(), None).unwrap();
    let all = run(&mut straight, n);

    let mut first = Pipeline::new(&spec, tok.clone(), None).unwrap();
    let head = run(&mut first, k);
    let saved = serde_json::to_string(&first.cursor()).unwrap();
    drop(first);
    let cursor: PipelineCursor = serde_json::from_str(&saved).unwrap();
    let mut resumed = Pipeline::new(&spec, tok, Some(&cursor)).unwrap();
    let tail = run(&mut resumed, n - k);
    assert_eq!(head, all[..k].to_vec());
    assert_eq!(tail, all[k..].to_vec(), "resumed after {k} batches");
    assert!(
        saved.len() < 64 * 1024,
        "cursor is small: {} bytes",
        saved.len()
    );
}

#[test]
fn resume_packed_at_several_points() {
    // 40 batches of 3 rows cycle the small tasks through several epochs and
    // cross C4 shard and group boundaries.
    for k in [1, 7, 23] {
        check_resume(Batching::Pack, 40, k);
    }
}

#[test]
fn resume_padded() {
    check_resume(Batching::Pad { bucket: Some(16) }, 30, 11);
}

#[test]
fn batches_are_well_formed_and_worker_thread_matches() {
    let tok = tokenizer();
    let dir = fixture("shape");
    let spec = spec(&dir, Batching::Pack);
    let mut p = Pipeline::new(&spec, tok.clone(), None).unwrap();
    let direct = run(&mut p, 10);
    for b in &direct {
        assert_eq!(b.encoder_input_tokens.len(), 3 * 64);
        assert_eq!(b.decoder_target_tokens.len(), 3 * 20);
        // Every example ends with EOS (1) right before its segment ends.
        for r in 0..3 {
            let row = &b.decoder_target_tokens[r * 20..(r + 1) * 20];
            let seg = &b.decoder_segment_ids[r * 20..(r + 1) * 20];
            for i in 0..20 {
                let last = i + 1 == 20 || seg[i + 1] != seg[i];
                if seg[i] > 0 && last {
                    assert_eq!(row[i], 1);
                }
            }
        }
    }
    let rx = Pipeline::new(&spec, tok, None).unwrap().spawn(2);
    let threaded: Vec<Batch> = rx.iter().take(10).map(|r| r.unwrap().0).collect();
    assert_eq!(threaded, direct);
    assert!(p
        .truncation()
        .iter()
        .any(|(n, c)| n == "rte" && c.examples > 0));
}

/// Tokenizer workers change nothing: the same batches and cursors as one
/// thread, and a cursor saved by either kind of pipeline resumes in the other.
#[test]
fn worker_pool_gives_the_same_batches_and_cursors() {
    let tok = tokenizer();
    let dir = fixture("workers");
    let spec = spec(&dir, Batching::Pack);
    let (n, k) = (40, 13);
    let mut one = Pipeline::new(&spec, tok.clone(), None).unwrap();
    let mut many = Pipeline::new(&spec, tok.clone(), None)
        .unwrap()
        .with_workers(3);
    let mut cursors = Vec::new();
    for i in 0..n {
        assert_eq!(
            one.next_batch().unwrap(),
            many.next_batch().unwrap(),
            "batch {i}"
        );
        assert_eq!(one.cursor(), many.cursor(), "cursor after batch {i}");
        cursors.push(many.cursor());
    }
    let all = run(&mut Pipeline::new(&spec, tok.clone(), None).unwrap(), n + 5);
    // Saved by the pooled pipeline, resumed with and without workers.
    for workers in [0, 2] {
        let mut resumed = Pipeline::new(&spec, tok.clone(), Some(&cursors[k - 1]))
            .unwrap()
            .with_workers(workers);
        assert_eq!(
            run(&mut resumed, n + 5 - k),
            all[k..].to_vec(),
            "workers {workers}"
        );
    }
    // spawn_with_workers: the same stream, cursors included.
    let rx = Pipeline::new(&spec, tok, None)
        .unwrap()
        .spawn_with_workers(2, 2);
    for (i, item) in rx.iter().take(n).enumerate() {
        let (batch, cursor) = item.unwrap();
        assert_eq!(batch, all[i], "spawned batch {i}");
        assert_eq!(cursor, cursors[i], "spawned cursor {i}");
    }
}

/// A row the renderer refuses stops the pipeline with an error that names
/// its file and row, although rows are shuffled within windows and rendered
/// on worker threads.
#[test]
fn a_row_that_does_not_render_is_named_by_file_and_row() {
    let tok = tokenizer();
    let dir = fixture("render-error");
    // rte.jsonl line n + 1 holds "premise number n …"; windows of 5 rows.
    for bad in [0usize, 3, 11, 17, 22] {
        let mut spec = spec(&dir, Batching::Pack);
        let needle = format!("number {bad} ");
        spec.tasks[0].objective = Objective::Supervised(Arc::new(move |row: &Value| {
            let premise = row["premise"].as_str().unwrap_or("");
            if premise.contains(&needle) {
                return Err(format!("`premise` holds {premise:?}"));
            }
            Ok(vec![(premise.to_string(), "x".to_string())])
        }));
        for workers in [0, 2] {
            let mut p = Pipeline::new(&spec, tok.clone(), None)
                .unwrap()
                .with_workers(workers);
            let err = (0..200)
                .find_map(|_| p.next_batch().err())
                .expect("the bad row is reached");
            let msg = err.to_string();
            let place = format!("rte.jsonl`, row {}:", bad + 1);
            assert!(msg.contains(&place), "row {bad}, workers {workers}: {msg}");
            assert!(
                msg.contains("task `rte`") && msg.contains(&format!("number {bad} ")),
                "{msg}"
            );
        }
    }
}
