//! The runtime's only contact with tokenization: a `tokenizer.json` read
//! with the `tokenizers` crate, text to ids (with T5's `</s>` from the
//! post-processor) and ids back to text. The data pipeline (crate
//! exc-data) owns the full tokenizer story; swap this out behind these
//! three functions when it lands.

use std::path::Path;

use tokenizers::Tokenizer;

use crate::error::{Error, Result};

/// Reads a Hugging Face `tokenizer.json`.
pub fn load(path: &Path) -> Result<Tokenizer> {
    Tokenizer::from_file(path).map_err(|e| Error::Tokenizer(format!("`{}`: {e}", path.display())))
}

/// Token ids of `text`, with special tokens (T5 appends `</s>`).
pub fn encode(tok: &Tokenizer, text: &str) -> Result<Vec<i64>> {
    let enc = tok
        .encode(text, true)
        .map_err(|e| Error::Tokenizer(e.to_string()))?;
    Ok(enc.get_ids().iter().map(|&i| i64::from(i)).collect())
}

/// Text of `ids`, special tokens and ids beyond the vocabulary dropped
/// (T5's embedding has 32128 rows for 32100 pieces, so a model can emit them).
pub fn decode(tok: &Tokenizer, ids: &[i64]) -> Result<String> {
    let vocab = tok.get_vocab_size(true) as i64;
    let ids: Vec<u32> = ids
        .iter()
        .filter(|&&i| (0..vocab).contains(&i))
        .map(|&i| i as u32)
        .collect();
    tok.decode(&ids, true)
        .map_err(|e| Error::Tokenizer(e.to_string()))
}
