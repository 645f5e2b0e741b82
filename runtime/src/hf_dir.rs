//! What makes a checkpoint a complete Hugging Face model directory besides
//! its weights and `config.json`: the tokenizer it was trained with, in the
//! files transformers reads for T5, and `generation_config.json`. With them
//! `AutoTokenizer.from_pretrained(checkpoint)` gives the ids exc trained on
//! (without them transformers 5 silently builds a 104-token tokenizer that
//! turns text into unknown ids), and `generate` stops where exc's does.

use std::path::Path;

use exc_data::T5Tokenizer;
use serde_json::{json, Value};

use crate::checkpoint::write_atomic;
use crate::error::{Error, Result};

/// The files [`write_tokenizer`] writes (`spiece.model` only when the
/// tokenizer was read from one).
pub const TOKENIZER_FILES: [&str; 4] = [
    "spiece.model",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
];

/// The sentinel tokens (`<extra_id_N>`) the vocabulary holds, in order.
fn extra_ids(tok: &T5Tokenizer) -> Vec<String> {
    (0..)
        .map(|i| format!("<extra_id_{i}>"))
        .take_while(|t| tok.inner().token_to_id(t).is_some())
        .collect()
}

/// `tokenizer_config.json` as transformers 5 writes it for T5 (its
/// `save_pretrained` of the T5 tokenizer; `runtime/golden/gen_hf_dir.py`
/// checks transformers reads it back).
fn tokenizer_config(extra: &[String]) -> Value {
    json!({
        "add_prefix_space": true,
        "backend": "tokenizers",
        "clean_up_tokenization_spaces": true,
        "eos_token": "</s>",
        "extra_ids": extra.len(),
        "extra_special_tokens": extra,
        "legacy": true,
        "model_max_length": 512,
        "pad_token": "<pad>",
        "tokenizer_class": "T5Tokenizer",
        "unk_token": "<unk>",
    })
}

/// `special_tokens_map.json`, which transformers 4 reads (5 no longer
/// writes it but ignores it), so that older installs load the tokens too.
fn special_tokens_map(extra: &[String]) -> Value {
    let token = |t: &str| json!({"content": t, "lstrip": false, "normalized": false, "rstrip": false, "single_word": false});
    json!({
        "additional_special_tokens": extra,
        "eos_token": token("</s>"),
        "pad_token": token("<pad>"),
        "unk_token": token("<unk>"),
    })
}

/// `generation_config.json` for a T5: decoding starts from `<pad>` and
/// stops at `</s>`, as exc's own decoding does.
fn generation_config(tok: &T5Tokenizer) -> Value {
    json!({
        "decoder_start_token_id": 0,
        "eos_token_id": tok.eos_id(),
        "pad_token_id": 0,
    })
}

fn write_json(path: &Path, v: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(v)
        .map_err(|e| Error::Checkpoint(format!("`{}`: {e}", path.display())))?;
    write_atomic(path, text.as_bytes())
}

/// Writes `tok` into the model directory `dir`: the SentencePiece model it
/// was read from (if it was), its `tokenizer.json`, the two JSON files
/// transformers reads beside them, and `generation_config.json`.
pub fn write_tokenizer(dir: &Path, tok: &T5Tokenizer) -> Result<()> {
    let src = tok.path();
    let bytes = std::fs::read(src).map_err(|e| Error::io(src, e))?;
    // As the tokenizer was read: JSON starts with `{`, else SentencePiece.
    let is_json = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if is_json {
        write_atomic(&dir.join("tokenizer.json"), &bytes)?;
    } else {
        write_atomic(&dir.join("spiece.model"), &bytes)?;
        let text = tok
            .inner()
            .to_string(false)
            .map_err(|e| Error::Tokenizer(format!("cannot encode tokenizer.json: {e}")))?;
        write_atomic(&dir.join("tokenizer.json"), text.as_bytes())?;
    }
    let extra = extra_ids(tok);
    write_json(
        &dir.join("tokenizer_config.json"),
        &tokenizer_config(&extra),
    )?;
    write_json(
        &dir.join("special_tokens_map.json"),
        &special_tokens_map(&extra),
    )?;
    write_json(&dir.join("generation_config.json"), &generation_config(tok))
}
