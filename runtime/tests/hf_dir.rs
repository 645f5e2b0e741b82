//! A checkpoint exc writes is a complete Hugging Face model directory:
//! transformers loads its model, and `AutoTokenizer.from_pretrained` on it
//! gives the ids exc trained on. The goldens (`runtime/golden/hf_dir/`) are
//! transformers' own reading of the directory this file writes, made by
//! `runtime/golden/gen_hf_dir.py`; this test needs no Python.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use exc_runtime::checkpoint;
use exc_runtime::model::{T5Config, T5};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Writes the tiny T5.1.1 of `runtime/golden/t5_1_1_tiny` and the T5
/// tokenizer of `fixtures/` into `dir` as a training checkpoint holds them.
fn write_model_dir(dir: &Path) {
    let src = root().join("runtime/golden/t5_1_1_tiny");
    let cfg = T5Config::from_json_file(&src.join("config.json")).unwrap();
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let _model = T5::new(&vs.root(), &cfg).unwrap();
    let tensors = checkpoint::read_tensors(&src).unwrap();
    checkpoint::load_into(&vs, &tensors).unwrap();
    let mut named: Vec<(String, tch::Tensor)> = vs.variables().into_iter().collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    checkpoint::save_tensors(&named, &cfg, dir).unwrap();
    let tok = exc_runtime::tokenizer::load(&root().join("fixtures/data/t5_tokenizer/spiece.model"))
        .unwrap();
    exc_runtime::hf_dir::write_tokenizer(dir, &tok).unwrap();
}

/// For `runtime/golden/gen_hf_dir.py`: writes the directory it reads.
#[test]
#[ignore = "run by runtime/golden/gen_hf_dir.py, which sets EXC_HF_DIR_OUT"]
fn write_model_dir_for_the_golden_script() {
    let out = PathBuf::from(std::env::var("EXC_HF_DIR_OUT").expect("EXC_HF_DIR_OUT"));
    write_model_dir(&out);
}

#[test]
fn transformers_reads_the_tokenizer_and_model_exc_writes() {
    let golden: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("runtime/golden/hf_dir/transformers.json")).unwrap(),
    )
    .unwrap();
    let dir = std::env::temp_dir().join(format!("exc-hf-dir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    write_model_dir(&dir);
    // The files transformers found are the ones written now.
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(serde_json::json!(files), golden["files"]);
    assert_eq!(golden["tokenizer_class"], "T5Tokenizer");
    assert_eq!(golden["vocab_size"], 32100, "{golden}");
    assert_eq!(golden["missing_keys"], serde_json::json!([]), "{golden}");
    assert_eq!(golden["unexpected_keys"], serde_json::json!([]), "{golden}");
    // exc reading the directory back (its tokenizer.json) gives, with
    // `</s>`, the ids transformers gives.
    let tok = exc_data::T5Tokenizer::from_file(&dir).unwrap();
    let cases = golden["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let want: Vec<i32> = serde_json::from_value(case["ids"].clone()).unwrap();
        assert_eq!(tok.encode_with_eos(text).unwrap(), want, "{text:?}");
    }
    let gen: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("generation_config.json")).unwrap())
            .unwrap();
    for k in ["decoder_start_token_id", "eos_token_id", "pad_token_id"] {
        assert_eq!(gen[k], golden["generation_config"][k], "{k}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
