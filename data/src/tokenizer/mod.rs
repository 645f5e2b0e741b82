//! Text to token ids with the T5 vocabulary.
//!
//! Two ways in, one tokenizer out: a `tokenizer.json` read by the `tokenizers`
//! crate, or a SentencePiece `spiece.model` converted as transformers'
//! `T5Converter` converts it (see [`spm`]). Ids leave as `i32`, the type the
//! runtime puts in its tensors. EOS is not appended by [`T5Tokenizer::encode`]:
//! the objectives append it after truncation so that it is never cut off.
//!
//! Encoding goes through our own Unigram encoder ([`unigram`]) whenever the
//! loaded configuration is the one it reproduces (T5's, from either file);
//! the `tokenizers` pipeline stays for everything else (pieces, decoding,
//! other configurations) and as the reference in parity tests
//! ([`T5Tokenizer::encode_reference`]).

mod charsmap;
pub mod spm;
mod trie;
pub mod unigram;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{DataError, Result};

/// How many `<extra_id_N>` sentinels T5 vocabularies carry.
pub const T5_EXTRA_IDS: usize = 100;

/// A T5 tokenizer (Unigram over SentencePiece pieces plus sentinels).
#[derive(Clone)]
pub struct T5Tokenizer {
    inner: tokenizers::Tokenizer,
    /// The fast encoder, when it reproduces `inner`'s configuration.
    fast: Option<Arc<unigram::FastUnigram>>,
    path: PathBuf,
    eos: i32,
    pad: i32,
    unk: i32,
    vocab_size: usize,
}

impl std::fmt::Debug for T5Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("T5Tokenizer")
            .field("path", &self.path)
            .field("vocab_size", &self.vocab_size)
            .field("fast", &self.fast.is_some())
            .finish()
    }
}

impl T5Tokenizer {
    /// Loads `tokenizer.json` or `spiece.model`; a directory is searched for
    /// `tokenizer.json` first, then `spiece.model`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if path.is_dir() {
            for name in ["tokenizer.json", "spiece.model"] {
                let candidate = path.join(name);
                if candidate.is_file() {
                    return Self::from_file(candidate);
                }
            }
            return Err(tok_err(
                path,
                "directory has no `tokenizer.json` or `spiece.model`",
            ));
        }
        let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
        // Sniff rather than trust the extension: a JSON file starts with `{`.
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first == Some(&b'{') {
            let inner = tokenizers::Tokenizer::from_bytes(&bytes)
                .map_err(|e| tok_err(path, &e.to_string()))?;
            Self::wrap(inner, path)
        } else {
            Self::from_spm_bytes(&bytes, path)
        }
    }

    /// Converts a serialized SentencePiece model (as `spiece.model` holds it).
    pub fn from_spm_bytes(bytes: &[u8], path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let model = spm::SpmModel::parse(bytes).map_err(|e| tok_err(path, &e))?;
        let inner = model
            .to_t5_tokenizer(T5_EXTRA_IDS)
            .map_err(|e| tok_err(path, &e))?;
        Self::wrap(inner, path)
    }

    fn wrap(inner: tokenizers::Tokenizer, path: &Path) -> Result<Self> {
        let id = |t: &str| -> Result<i32> {
            inner
                .token_to_id(t)
                .and_then(|i| i32::try_from(i).ok())
                .ok_or_else(|| tok_err(path, &format!("vocabulary has no `{t}`")))
        };
        // Not an error when unsupported: the general path still encodes.
        let fast = unigram::FastUnigram::from_tokenizer(&inner)
            .ok()
            .map(Arc::new);
        Ok(T5Tokenizer {
            fast,
            eos: id("</s>")?,
            pad: id("<pad>")?,
            unk: id("<unk>")?,
            vocab_size: inner.get_vocab_size(true),
            inner,
            path: path.to_path_buf(),
        })
    }

    /// Token ids of `text`, without EOS.
    pub fn encode(&self, text: &str) -> Result<Vec<i32>> {
        match &self.fast {
            Some(fast) => {
                let mut ids = Vec::with_capacity(text.len() / 3 + 4);
                fast.encode_into(text, &mut ids);
                Ok(ids)
            }
            None => self.encode_reference(text),
        }
    }

    /// Whether [`Self::encode`] uses the fast Unigram encoder.
    pub fn is_fast(&self) -> bool {
        self.fast.is_some()
    }

    /// Token ids of `text` through the `tokenizers` pipeline (the reference
    /// the fast encoder is tested against).
    pub fn encode_reference(&self, text: &str) -> Result<Vec<i32>> {
        let enc = self
            .inner
            .encode_fast(text, false)
            .map_err(|e| tok_err(&self.path, &e.to_string()))?;
        Ok(enc.get_ids().iter().map(|&i| i as i32).collect())
    }

    /// Token ids of `text` followed by EOS, as transformers' T5 tokenizer gives them.
    pub fn encode_with_eos(&self, text: &str) -> Result<Vec<i32>> {
        let mut ids = self.encode(text)?;
        ids.push(self.eos);
        Ok(ids)
    }

    /// The pieces of `text` (without EOS), for showing users what a template becomes.
    pub fn pieces(&self, text: &str) -> Result<Vec<String>> {
        let enc = self
            .inner
            .encode(text, false)
            .map_err(|e| tok_err(&self.path, &e.to_string()))?;
        Ok(enc.get_tokens().to_vec())
    }

    /// Text of `ids`; special tokens (EOS, pad, sentinels) are dropped when `skip_special`.
    pub fn decode(&self, ids: &[i32], skip_special: bool) -> Result<String> {
        let ids: Vec<u32> = ids
            .iter()
            .filter(|&&i| i >= 0 && (i as usize) < self.vocab_size)
            .map(|&i| i as u32)
            .collect();
        self.inner
            .decode(&ids, skip_special)
            .map_err(|e| tok_err(&self.path, &e.to_string()))
    }

    /// The piece of one id, if the id is in the vocabulary.
    pub fn id_to_piece(&self, id: i32) -> Option<String> {
        u32::try_from(id)
            .ok()
            .and_then(|i| self.inner.id_to_token(i))
    }

    /// The id of `<extra_id_{n}>`, if the vocabulary has it.
    pub fn sentinel(&self, n: usize) -> Option<i32> {
        self.inner
            .token_to_id(&format!("<extra_id_{n}>"))
            .and_then(|i| i32::try_from(i).ok())
    }

    /// Vocabulary size including sentinels (32100 for T5).
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// The `</s>` id.
    pub fn eos_id(&self) -> i32 {
        self.eos
    }

    /// The `<pad>` id.
    pub fn pad_id(&self) -> i32 {
        self.pad
    }

    /// The `<unk>` id.
    pub fn unk_id(&self) -> i32 {
        self.unk
    }

    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The underlying `tokenizers` tokenizer (e.g. to save it as tokenizer.json).
    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }
}

fn tok_err(path: &Path, message: &str) -> DataError {
    DataError::Tokenizer {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}
