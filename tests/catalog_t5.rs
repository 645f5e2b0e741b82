//! Parity with T5's own preprocessors: the catalog's T5-format tasks render
//! real rows exactly as T5 does. `tasks/golden/t5_formats.jsonl` holds T5's
//! output (t5/data/preprocessors.py as t5/data/tasks.py registers it, run by
//! TensorFlow; `tasks/golden/gen.py` writes it, `tasks/golden/README.md` says
//! with which versions). No Python runs here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

mod common;

use exc_compiler::render::render_row;
use serde_json::Value as Json;

const GOLDEN: &str = include_str!("../tasks/golden/t5_formats.jsonl");

/// Every (task, split) the golden file must hold, with at least this many rows:
/// a regenerated file that lost a task fails here instead of passing quietly.
const COVERAGE: &[(&str, &str, usize)] = &[
    ("glue_rte", "validation", 30),
    ("glue_rte", "test", 1),
    ("glue_mrpc", "validation", 6),
    ("glue_mrpc", "test", 1),
    ("glue_stsb", "validation", 9),
    ("glue_stsb", "test", 1),
    ("super_glue_rte", "validation", 30),
    ("super_glue_rte", "test", 1),
    ("super_glue_wsc", "validation", 104),
    ("super_glue_wsc", "train", 104),
    ("squad_v1", "train", 5),
    ("squad_v1", "validation", 8),
    ("wmt16_en_ro", "train", 10),
    ("wmt16_en_ro", "validation", 16),
    ("xsum", "validation", 10),
];

fn text(v: &Json) -> Option<&str> {
    v.as_str()
}

#[test]
fn catalog_renders_rows_as_t5_preprocesses_them() {
    let c = common::catalog();

    let mut lines = GOLDEN.lines();
    let header: Json = serde_json::from_str(lines.next().expect("an empty golden file")).unwrap();
    assert!(
        header["versions"]["t5"].is_string(),
        "the golden file's first line names the versions it came from: {header}"
    );

    let mut mismatches = Vec::new();
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (n, line) in lines.enumerate() {
        let g: Json = serde_json::from_str(line).unwrap();
        let task_name = text(&g["task"]).unwrap();
        let split = text(&g["split"]).unwrap();
        let at = format!("{task_name} {split} (golden line {})", n + 2);
        let row_no = counts
            .entry((task_name.to_string(), split.to_string()))
            .or_default();
        *row_no += 1;
        let Some(task) = c.tasks.get(task_name) else {
            mismatches.push(format!("{at}: no task `{task_name}` in tasks/"));
            continue;
        };
        let examples = match render_row(task, &g["row"], split) {
            Ok(e) => e,
            Err(e) => {
                mismatches.push(format!("{at}: the row does not render: {}", e.message));
                continue;
            }
        };
        if g["inputs"].is_null() {
            // T5 drops the row (WSC training keeps the correct referent only).
            if !examples.is_empty() {
                mismatches.push(format!(
                    "{at}: T5 drops this row, exc renders {} example(s), the first {:?}",
                    examples.len(),
                    examples[0].input
                ));
            }
            continue;
        }
        let [ex] = examples.as_slice() else {
            mismatches.push(format!(
                "{at}: T5 gives one example, exc {}",
                examples.len()
            ));
            continue;
        };
        let (inputs, targets) = (text(&g["inputs"]).unwrap(), text(&g["targets"]).unwrap());
        if ex.input != inputs {
            mismatches.push(format!(
                "{at}: input\n    t5:  {inputs:?}\n    exc: {:?}",
                ex.input
            ));
        }
        if ex.target != targets {
            mismatches.push(format!(
                "{at}: target\n    t5:  {targets:?}\n    exc: {:?}",
                ex.target
            ));
        }
        if let Some(refs) = g.get("references") {
            let refs: Vec<String> = serde_json::from_value(refs.clone()).unwrap();
            if ex.references != refs {
                mismatches.push(format!(
                    "{at}: references\n    t5:  {refs:?}\n    exc: {:?}",
                    ex.references
                ));
            }
        }
        if let Some(record) = g.get("reference_record") {
            if ex.reference_record.as_ref() != Some(record) {
                mismatches.push(format!(
                    "{at}: reference record\n    t5:  {record}\n    exc: {:?}",
                    ex.reference_record
                ));
            }
        }
    }

    for (task, split, at_least) in COVERAGE {
        let have = counts
            .get(&(task.to_string(), split.to_string()))
            .copied()
            .unwrap_or(0);
        if have < *at_least {
            mismatches.push(format!(
                "{task} {split}: the golden file holds {have} rows, expected at least {at_least}"
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} difference(s) from T5 (tasks/golden/t5_formats.jsonl):\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
