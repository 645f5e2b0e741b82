//! Every task in tasks/ renders its `sample` rows; the rendered examples are
//! snapshots, so a change to a template shows up in review.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use exc_compiler::render::render_row;

#[test]
fn every_task_renders_its_samples() {
    let c = common::catalog();
    let mut without_samples = Vec::new();
    for task in c.tasks.values().filter(|t| !t.is_abstract) {
        if task.samples.is_empty() {
            without_samples.push(task.name.clone());
            continue;
        }
        let mut text = format!("# {} ({})\n", task.name, task.file);
        for (i, row) in task.samples.iter().enumerate() {
            for split in ["train", "validation"] {
                let examples = render_row(task, row, split).unwrap();
                for ex in examples {
                    text.push_str(&format!(
                        "\n[sample {i}, {split}]\ninput:  {}\ntarget: {}\nreferences: {:?}\n",
                        ex.input, ex.target, ex.references
                    ));
                    if let Some(r) = &ex.reference_record {
                        text.push_str(&format!("reference record: {r}\n"));
                    }
                }
            }
        }
        insta::assert_snapshot!(format!("task__{}", task.name), text);
    }
    assert!(
        without_samples.is_empty(),
        "tasks without a sample row: {without_samples:?}"
    );
}
