//! The runtime's tokenizer: exc-data's `T5Tokenizer`, loaded here for
//! `exc run`, `exc generate` and `exc score` alike, from a `spiece.model` or
//! a `tokenizer.json`, and the text/id conversions generate and score need.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use exc_data::T5Tokenizer;

use crate::error::Result;
use crate::run::data::data_err;

/// Loads a `spiece.model` or `tokenizer.json` (a directory: the one it
/// holds), once per process: building the SentencePiece trie takes
/// seconds, and sweeps and tests run many runs in one process.
pub fn load(path: &Path) -> Result<Arc<T5Tokenizer>> {
    type Cache = std::sync::Mutex<Vec<(PathBuf, Arc<T5Tokenizer>)>>;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    if let Some(t) = cache
        .lock()
        .ok()
        .and_then(|c| c.iter().find(|(p, _)| *p == key).map(|(_, t)| t.clone()))
    {
        return Ok(t);
    }
    let tok = Arc::new(T5Tokenizer::from_file(path).map_err(data_err)?);
    if let Ok(mut c) = cache.lock() {
        c.push((key, tok.clone()));
    }
    Ok(tok)
}

/// Token ids of `text` followed by `</s>`, as the model saw its inputs
/// and targets in training.
pub fn encode(tok: &T5Tokenizer, text: &str) -> Result<Vec<i64>> {
    let ids = tok.encode_with_eos(text).map_err(data_err)?;
    Ok(ids.into_iter().map(i64::from).collect())
}

/// Text of `ids`, special tokens and ids beyond the vocabulary dropped
/// (T5's embedding has 32128 rows for 32100 pieces, so a model can emit them).
pub fn decode(tok: &T5Tokenizer, ids: &[i64]) -> Result<String> {
    // An id that does not fit an i32 is beyond the vocabulary too.
    let ids: Vec<i32> = ids
        .iter()
        .map(|&i| i32::try_from(i).unwrap_or(-1))
        .collect();
    tok.decode(&ids, true).map_err(data_err)
}
