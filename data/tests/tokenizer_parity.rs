//! Parity of our tokenizers with transformers and sentencepiece on real text.
//!
//! Goldens come from `golden/gen_tokenizer.py`; this test needs no Python. It
//! reads the real T5 vocabulary and English text the repository ships in
//! `fixtures/data` and fails, naming the file, if one is missing.
//!
//! `T5Tokenizer::encode` runs our own Unigram encoder; every golden is also
//! checked on the `tokenizers` path (`encode_reference`), and the two are
//! compared on every line and paragraph of the fixture text and on random
//! text built from awkward fragments.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may panic

use std::path::PathBuf;

use exc_data::T5Tokenizer;

mod common;
use common::fixture_data;

/// A file of the T5 tokenizer in `fixtures/data/t5_tokenizer`.
fn fixture_tokenizer(name: &str) -> PathBuf {
    fixture_data(&format!("t5_tokenizer/{name}"))
}

struct Case {
    text: String,
    /// What transformers' T5TokenizerFast gives: tokenizer.json's ids.
    fast: Vec<i32>,
    /// What Python sentencepiece gives (plus `</s>`).
    spm: Vec<i32>,
}

fn cases() -> Vec<Case> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden/tokenizer.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let ids = |k: &str| -> Option<Vec<i32>> {
                v.get(k).map(|a| {
                    a.as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_i64().unwrap() as i32)
                        .collect()
                })
            };
            let hf = ids("hf").unwrap();
            Case {
                text: v["text"].as_str().unwrap().to_string(),
                fast: ids("json").unwrap_or_else(|| hf.clone()),
                spm: ids("spm").unwrap_or(hf),
            }
        })
        .collect()
}

fn check(tok: &T5Tokenizer) {
    let cases = cases();
    assert!(cases.len() > 1000, "golden file too small");
    let mut spm_same = 0;
    for c in &cases {
        let ids = tok.encode_with_eos(&c.text).unwrap();
        assert_eq!(ids, c.fast, "text {:?}", c.text);
        // The `tokenizers` path stays pinned to the goldens too.
        let mut reference = tok.encode_reference(&c.text).unwrap();
        reference.push(tok.eos_id());
        assert_eq!(reference, c.fast, "reference path, text {:?}", c.text);
        if ids == c.spm {
            spm_same += 1;
        }
    }
    // sentencepiece knows no sentinels or special tokens in text: the only
    // cases where it may differ are those that contain `<...>` markers.
    for c in cases.iter().filter(|c| !c.text.contains('<')) {
        assert_eq!(
            tok.encode_with_eos(&c.text).unwrap(),
            c.spm,
            "spm {:?}",
            c.text
        );
    }
    assert!(spm_same + 4 >= cases.len());
}

#[test]
fn spiece_model_converter_matches_transformers_and_sentencepiece() {
    let path = fixture_tokenizer("spiece.model");
    let tok = T5Tokenizer::from_file(path).unwrap();
    assert_eq!(tok.vocab_size(), 32100);
    assert_eq!(tok.sentinel(0), Some(32099));
    assert_eq!(tok.sentinel(99), Some(32000));
    assert_eq!((tok.pad_id(), tok.eos_id(), tok.unk_id()), (0, 1, 2));
    check(&tok);
}

#[test]
fn tokenizer_json_matches_transformers_and_sentencepiece() {
    let path = fixture_tokenizer("tokenizer.json");
    let tok = T5Tokenizer::from_file(path).unwrap();
    assert_eq!(tok.vocab_size(), 32100);
    check(&tok);
}

#[test]
fn decode_round_trips_plain_text() {
    let path = fixture_tokenizer("spiece.model");
    let tok = T5Tokenizer::from_file(path).unwrap();
    let ids = tok.encode_with_eos("The cat sat on the mat.").unwrap();
    assert_eq!(tok.decode(&ids, true).unwrap(), "The cat sat on the mat.");
    assert_eq!(
        tok.pieces("Hello world").unwrap(),
        vec!["\u{2581}Hello", "\u{2581}world"]
    );
}

#[test]
fn garbage_model_is_an_error_naming_the_file() {
    let err = T5Tokenizer::from_spm_bytes(b"\x0a\x05abc", "bad.model").unwrap_err();
    assert!(err.to_string().contains("bad.model"), "{err}");
}

/// Every line, every blank-line-separated paragraph and every whole file of
/// the fixture text (`fixtures/data/text/*.txt`).
fn fixture_text_cases() -> Vec<String> {
    let dir = fixture_data("text");
    let mut out = Vec::new();
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("fixture {} cannot be read: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(
        files
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "txt")),
        "fixture {} holds no .txt file",
        dir.display()
    );
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "txt"))
    {
        let text = std::fs::read_to_string(f).unwrap();
        out.extend(text.lines().map(str::to_string));
        out.extend(text.split("\n\n").map(str::to_string));
        out.push(text);
    }
    out
}

fn fast_matches_reference(tok: &T5Tokenizer) {
    assert!(
        tok.is_fast(),
        "the fast encoder should take T5's configuration"
    );
    let cases = fixture_text_cases();
    for text in &cases {
        assert_eq!(
            tok.encode(text).unwrap(),
            tok.encode_reference(text).unwrap(),
            "text {text:?}"
        );
    }
    eprintln!("fast == reference on {} fixture-text cases", cases.len());
}

#[test]
fn fast_encoder_matches_tokenizers_on_fixture_text_spiece() {
    let path = fixture_tokenizer("spiece.model");
    fast_matches_reference(&T5Tokenizer::from_file(path).unwrap());
}

#[test]
fn fast_encoder_matches_tokenizers_on_fixture_text_json() {
    let path = fixture_tokenizer("tokenizer.json");
    fast_matches_reference(&T5Tokenizer::from_file(path).unwrap());
}

mod random_text {
    use super::*;
    use proptest::prelude::*;

    /// Fragments chosen to hit every branch: specials (whole and broken),
    /// space runs, CR LF, combining marks, charsmap rewrites (fullwidth,
    /// ligatures, NBSP, ideographic space), characters outside the
    /// vocabulary, a literal `▁`, emoji sequences and controls.
    const FRAGMENTS: &[&str] = &[
        "the",
        " cat",
        "sat",
        " ",
        "  ",
        "   ",
        "\t",
        "\n",
        "\r\n",
        "\r",
        "<extra_id_0>",
        "<extra_id_17>",
        "</s>",
        "<pad>",
        "<unk>",
        "<extra_id_",
        "<pa",
        "</",
        "\u{2581}",
        "e\u{301}",
        "\u{301}",
        "\u{ff21}\u{ff42}",
        "\u{fb01}",
        "\u{a0}",
        "\u{3000}",
        "\u{ff1c}pad\u{ff1e}",
        "\u{4e2d}\u{6587}",
        "\u{d55c}\u{3164}\u{3164}",
        "\u{1f469}\u{200d}\u{1f4bb}",
        "\u{1f1eb}\u{1f1f7}",
        "\u{0}",
        "\u{7f}",
        "\u{85}",
        "\u{200b}",
        "caf\u{e9}",
        "Z\u{fc}rich",
        "\u{2160}",
        "1\u{2044}2",
        "\u{0915}\u{094d}\u{0937}",
        "\u{600}x",
        ".",
        ",",
        "!?",
        "don't",
        "\u{201c}q\u{201d}",
    ];

    fn check_fast(tok: &T5Tokenizer, text: &str) {
        assert_eq!(
            tok.encode(text).unwrap(),
            tok.encode_reference(text).unwrap(),
            "text {text:?}"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn fast_encoder_matches_tokenizers_on_random_text(
            parts in proptest::collection::vec(0..FRAGMENTS.len(), 0..24),
            noise in "\\PC{0,12}",
        ) {
            let path = fixture_tokenizer("spiece.model");
            thread_local! {
                static TOK: std::cell::OnceCell<T5Tokenizer> = const { std::cell::OnceCell::new() };
            }
            let mut text: String = parts.iter().map(|&i| FRAGMENTS[i]).collect();
            let mid = text.char_indices().nth(parts.len() / 2).map_or(text.len(), |(i, _)| i);
            text.insert_str(mid, &noise);
            TOK.with(|t| check_fast(t.get_or_init(|| T5Tokenizer::from_file(&path).unwrap()), &text));
        }
    }
}
