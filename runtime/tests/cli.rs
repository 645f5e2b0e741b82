//! `exc generate` / `exc score` front ends on the tiny golden model with
//! the real T5 tokenizer (ids beyond the tiny vocabulary are dropped).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;

use exc_runtime::cli::{generate_to, score_to, GenerateArgs, ScoreArgs};

/// T5's `tokenizer.json` in the repository's `fixtures/data`.
fn tokenizer() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/data/t5_tokenizer/tokenizer.json");
    if !p.is_file() {
        panic!(
            "fixture {} is missing: it ships in the repository under fixtures/data",
            p.display()
        );
    }
    p
}

#[test]
fn generate_and_score_print_one_line_per_input() {
    // The tiny model's vocabulary is 96 ids, so use a tokenizer.json that
    // only needs to exist.
    let tok = tokenizer();
    let model = common::model_dir("t5_1_1_tiny");
    let args = GenerateArgs {
        model: model.clone(),
        tokenizer: Some(tok.clone()),
        beams: 2,
        max_length: 5,
        length_penalty: 0.6,
        input: None,
        batch_size: 2,
        device: Some("cpu".into()),
    };
    let mut out = Vec::new();
    // Token ids of real words exceed the tiny vocabulary: use characters
    // whose pieces are small ids (punctuation and `</s>`).
    generate_to(
        &args,
        &[",".into(), r#"{"input": "."}"#.into(), ", .".into()],
        &mut out,
    )
    .unwrap();
    assert_eq!(String::from_utf8(out).unwrap().lines().count(), 3);
    let sargs = ScoreArgs {
        model,
        tokenizer: Some(tok),
        input: PathBuf::new(),
        batch_size: 4,
        device: Some("cpu".into()),
    };
    let mut out = Vec::new();
    score_to(
        &sargs,
        &[r#"{"input": ",", "target": "."}"#.into()],
        &mut out,
    )
    .unwrap();
    let line = String::from_utf8(out).unwrap();
    let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert!(v["sum_nll"].as_f64().unwrap() > 0.0, "{line}");
    // "." is `▁`, `.`, `</s>` in the T5 vocabulary.
    assert_eq!(v["tokens"].as_i64(), Some(3));
}
