//! The training pipeline counts the rows it does not train on: rows a
//! task's `filter` drops and rows a join drops (`unmatched drop`), next to
//! the rows it read; the counts travel in the cursor, so a resumed stream
//! counts what an uninterrupted one does. A task that drops every row is an
//! error naming it, not a stream that reads its data for ever. Uses the
//! T5 vocabulary in `fixtures/data`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may panic

mod common;
use common::{tmp, tokenizer};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use exc_compiler::check_task::check_task_text;
use exc_compiler::ir::Task;
use exc_data::objective::supervised::Lengths;
use exc_data::pack::Batching;
use exc_data::pipeline::{
    Objective, Pipeline, PipelineCursor, PipelineSpec, Renderer, RowCounts, TaskSpec,
};
use exc_data::source::locate::DataRoots;
use exc_data::task_source::{locate_split, read_options};
use exc_data::DataError;

/// Rows `id` 0..20 of which ids 0, 5, 10, 15 have no joined row and the odd
/// ones `keep: false`: 16 rows survive the join, 8 of them the filter.
fn data(name: &str) -> PathBuf {
    let dir = tmp("dropped", name);
    let main: String = (0..20)
        .map(|i| format!("{}\n", serde_json::json!({"id": i, "keep": i % 2 == 0})))
        .collect();
    std::fs::write(dir.join("main.jsonl"), main).unwrap();
    let joined: String = (0..20)
        .filter(|i| i % 5 != 0)
        .map(|i| {
            format!(
                "{}\n",
                serde_json::json!({"key": i, "word": format!("w{i}")})
            )
        })
        .collect();
    std::fs::write(dir.join("words.jsonl"), joined).unwrap();
    dir
}

fn task(filter: &str) -> Task {
    let src = format!(
        r#"task t {{
  source files jsonl {{ train = "main.jsonl" }}
    join files jsonl {{ train = "words.jsonl" }} on id = key {{ word = word }} unmatched drop
  fields {{ id: int, keep: bool, word: text }}
  {filter}
  input "say {{word}}" target word metrics accuracy
}}"#
    );
    let (tasks, diags) = check_task_text(&src, "t.task");
    assert!(diags.is_empty(), "{diags:?}");
    tasks.into_values().next().unwrap()
}

fn spec(t: &Task, dir: &Path, window: usize) -> PipelineSpec {
    let roots = DataRoots {
        data_dir: Some(dir.to_path_buf()),
        hf_cache: None,
    };
    let owned = t.clone();
    let render: Renderer = Arc::new(move |row| {
        exc_compiler::render::render_row(&owned, row, "train")
            .map(|exs| exs.into_iter().map(|e| (e.input, e.target)).collect())
            .map_err(|e| e.message)
    });
    PipelineSpec {
        tasks: vec![TaskSpec {
            name: t.name.clone(),
            files: locate_split(t, "train", &roots).unwrap(),
            read: read_options(t),
            objective: Objective::Supervised(render),
            shuffle_window: window,
        }],
        rates: vec![1.0],
        seed: 7,
        batch_size: 2,
        lengths: Lengths {
            inputs: 16,
            targets: 8,
        },
        batching: Batching::Pad { bucket: None },
    }
}

fn counts(c: &PipelineCursor) -> RowCounts {
    c.counts().next().unwrap().1
}

#[test]
fn filtered_and_unmatched_rows_are_counted_and_survive_a_resume() {
    let tok = tokenizer();
    let dir = data("counts");
    let t = task("filter keep");
    for window in [1, 6, 1024] {
        let spec = spec(&t, &dir, window);
        // 4 batches of 2: the 8 examples of the first epoch.
        let mut straight = Pipeline::new(&spec, tok.clone(), None).unwrap();
        let mut cursors = Vec::new();
        for _ in 0..12 {
            straight.next_batch().unwrap();
            cursors.push(straight.cursor());
        }
        let first_epoch = &cursors[3];
        let c = counts(first_epoch);
        // The counts run through the unit being emitted: the 8th example's
        // row is counted (and the filtered rows read before it).
        assert!(c.rows <= 16, "window {window}: {c:?}");
        assert_eq!(c.rows - c.filtered, 8, "window {window}: {c:?}");
        // A join's drops are counted as a window is read.
        assert!(c.unmatched <= 4, "window {window}: {c:?}");
        if window == 1024 {
            assert_eq!(c.unmatched, 4, "{c:?}");
        }
        // Three epochs in: 24 examples, the rows of three epochs.
        let c = counts(&cursors[11]);
        assert_eq!(c.rows - c.filtered, 24, "window {window}: {c:?}");
        assert!(c.read() >= 40 && c.read() <= 60, "window {window}: {c:?}");
        assert_eq!(straight.row_counts()[0].1, c);
        // Resumed after 5 batches (mid-epoch) through JSON: the same counts after 12.
        let saved = serde_json::to_string(&cursors[4]).unwrap();
        let cursor: PipelineCursor = serde_json::from_str(&saved).unwrap();
        for workers in [0, 2] {
            let mut resumed = Pipeline::new(&spec, tok.clone(), Some(&cursor))
                .unwrap()
                .with_workers(workers);
            for _ in 5..12 {
                resumed.next_batch().unwrap();
            }
            assert_eq!(
                resumed.cursor(),
                cursors[11],
                "window {window}, workers {workers}"
            );
        }
    }
}

#[test]
fn an_old_cursor_without_counts_still_resumes() {
    let tok = tokenizer();
    let dir = data("old-cursor");
    let t = task("filter keep");
    let spec = spec(&t, &dir, 6);
    let mut p = Pipeline::new(&spec, tok.clone(), None).unwrap();
    p.next_batch().unwrap();
    let mut v = serde_json::to_value(p.cursor()).unwrap();
    for task in v["tasks"].as_array_mut().unwrap() {
        task.as_object_mut().unwrap().remove("row_counts");
        task["rows"].as_object_mut().unwrap().remove("unmatched");
    }
    let old: PipelineCursor = serde_json::from_value(v).unwrap();
    let mut resumed = Pipeline::new(&spec, tok, Some(&old)).unwrap();
    let before = p.next_batch().unwrap();
    assert_eq!(resumed.next_batch().unwrap(), before);
}

#[test]
fn a_filter_that_drops_every_row_is_an_error_not_an_endless_stream() {
    let tok = tokenizer();
    let dir = data("all-filtered");
    let t = task("filter id > 100");
    for workers in [0, 2] {
        let mut p = Pipeline::new(&spec(&t, &dir, 6), tok.clone(), None)
            .unwrap()
            .with_workers(workers);
        let err = p.next_batch().unwrap_err();
        let DataError::AllDropped {
            task,
            split,
            counts,
        } = &err
        else {
            panic!("workers {workers}: {err}");
        };
        assert_eq!((task.as_str(), split.as_str()), ("t", "train"));
        // Stopped within three passes over the 16 rows the join keeps.
        assert!(counts.rows >= 16 && counts.rows <= 48, "{counts:?}");
        assert_eq!(counts.rows, counts.filtered, "{counts:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("task `t` (train): every row was dropped"),
            "{msg}"
        );
    }
}

#[test]
fn a_join_that_drops_every_row_is_an_error_naming_the_join() {
    let tok = tokenizer();
    let dir = data("all-unmatched");
    std::fs::write(dir.join("words.jsonl"), "{\"key\": 99, \"word\": \"w\"}\n").unwrap();
    let t = task("");
    let err = Pipeline::new(&spec(&t, &dir, 6), tok, None)
        .and_then(|mut p| p.next_batch())
        .unwrap_err();
    let DataError::AllDropped { counts, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(counts.unmatched, 20, "{counts:?}");
    assert!(err.to_string().contains("20 had no joined row"), "{err}");
}

/// A class task over `rows.jsonl`, where every fourth row's label is null.
fn null_label_task(dir: &Path, label: &str, filter: &str) -> Task {
    let rows: String = (0..20)
        .map(|i| {
            let label = if i % 4 == 1 {
                serde_json::Value::Null
            } else {
                serde_json::json!(i % 2)
            };
            format!("{}\n", serde_json::json!({"id": i, "label": label}))
        })
        .collect();
    std::fs::write(dir.join("rows.jsonl"), rows).unwrap();
    let src = format!(
        r#"task t {{
  source files jsonl {{ train = "rows.jsonl" }}
  fields {{ id: int, label: {label} }}
  {filter}
  input "row {{id}}" target label metrics accuracy
}}"#
    );
    let (tasks, diags) = check_task_text(&src, "t.task");
    assert!(diags.is_empty(), "{diags:?}");
    tasks.into_values().next().unwrap()
}

/// The run's data pipeline applies the policy `exc check --data` and
/// `exc render` do (one `render_row`): a null label where the class is not
/// optional stops it, naming the file and row, instead of training an
/// empty target; declared optional and filtered, such rows are counted.
#[test]
fn a_null_label_stops_the_run_and_a_filtered_one_is_counted() {
    let tok = tokenizer();
    let dir = tmp("dropped", "null-label");
    let t = null_label_task(&dir, "class[no, yes]", "");
    let strict = spec(&t, &dir, 1);
    let mut p = Pipeline::new(&strict, tok.clone(), None).unwrap();
    let err = (0..10).find_map(|_| p.next_batch().err()).unwrap();
    let msg = err.to_string();
    assert!(
        msg.contains("rows.jsonl") && msg.contains("row 2") && msg.contains("`label` is null"),
        "{msg}"
    );

    let t = null_label_task(&dir, "class[no, yes]?", "filter label != null");
    let filtered = spec(&t, &dir, 1);
    let mut p = Pipeline::new(&filtered, tok, None).unwrap();
    for _ in 0..7 {
        p.next_batch().unwrap();
    }
    // 15 labelled rows in 20: 14 examples take at most 19 rows, of which
    // the null ones (every fourth) were filtered and counted.
    let c = counts(&p.cursor());
    assert_eq!(c.rows - c.filtered, 14, "{c:?}");
    assert_eq!(c.filtered, (c.rows + 2) / 4, "{c:?}");
}
