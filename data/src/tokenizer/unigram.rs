//! A dedicated SentencePiece Unigram encoder: the same ids as the
//! `tokenizers` pipeline that transformers' `T5Converter` builds (our
//! goldens), several times faster.
//!
//! What it reproduces, step by step, and why each step is shaped so:
//! 1. Special tokens (`</s>`, `<pad>`, `<unk>`, `<extra_id_N>`) are cut out of
//!    the raw text first, leftmost-longest, as `tokenizers`' added vocabulary
//!    does; each piece of text between them is encoded on its own.
//! 2. The precompiled charsmap (`charsmap.rs`), then trailing
//!    whitespace is stripped and runs of spaces collapse to one `▁` (what
//!    transformers adds so that the fast tokenizer matches sentencepiece's
//!    `remove_extra_whitespaces`).
//! 3. Metaspace: spaces become `▁`, a `▁` is prepended unless the text
//!    already starts with one, and the text is cut before every `▁` into
//!    words; each word gets its own lattice (pieces never cross a `▁` in
//!    T5's vocabulary, but we cut anyway so that any vocabulary behaves as in
//!    `tokenizers`).
//! 4. Viterbi over each word as sentencepiece's `EncodeOptimized` does it:
//!    at every character, every piece starting there (a double-array trie,
//!    `trie.rs`) relaxes the node where it ends; where no piece covers
//!    exactly one character, an unknown node of one character with score
//!    `min_score - 10` does. Ties keep the first candidate (shorter pieces are
//!    tried first). On the best path, consecutive unknown nodes merge into one
//!    `<unk>` (or byte pieces when the model has byte fallback).
//!
//! [`FastUnigram::from_tokenizer`] reads this configuration from a
//! `tokenizers::Tokenizer` and refuses any other (another normaliser, added
//! tokens that strip or are normalised, truncation...), so the caller can
//! keep the general path for those.

use std::cell::RefCell;

use aho_corasick::{AhoCorasick, MatchKind};
use serde_json::Value;
use tokenizers::models::ModelWrapper;
use tokenizers::{Model, Tokenizer};

use super::charsmap::CharsMap;
use super::trie::PieceTrie;

/// `▁` in UTF-8.
const META: [u8; 3] = [0xe2, 0x96, 0x81];
/// sentencepiece's (and `tokenizers`') penalty for an unknown character.
const UNK_PENALTY: f64 = 10.0;
const NO_NODE: u32 = u32::MAX;

/// The fast Unigram encoder.
#[derive(Clone, Debug)]
pub struct FastUnigram {
    trie: PieceTrie,
    scores: Vec<f64>,
    unk: u32,
    unk_score: f64,
    /// `<0xNN>` ids when the model falls back to bytes for unknown text.
    byte_ids: Option<Vec<Option<u32>>>,
    charsmap: Option<CharsMap>,
    strip_right: bool,
    collapse_spaces: bool,
    /// Special/added tokens matched whole in raw text, and their ids.
    specials: Option<(AhoCorasick, Vec<u32>)>,
}

/// Per-thread buffers, so that encoding allocates nothing in steady state.
#[derive(Default)]
struct Scratch {
    norm: String,
    meta: Vec<u8>,
    score: Vec<f64>,
    start: Vec<u32>,
    id: Vec<u32>,
    path: Vec<(u32, u32, u32)>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl FastUnigram {
    /// Reads the model, normaliser, pre-tokenizer and added tokens of `tok`;
    /// an error says which part this encoder does not reproduce.
    pub fn from_tokenizer(tok: &Tokenizer) -> Result<Self, String> {
        let ModelWrapper::Unigram(model) = tok.get_model() else {
            return Err("the model is not Unigram".into());
        };
        if tok.get_truncation().is_some() || tok.get_padding().is_some() {
            return Err("truncation or padding is configured".into());
        }
        if tok.get_encode_special_tokens() {
            return Err("special tokens are encoded as text".into());
        }
        let mut scores = Vec::with_capacity(model.get_vocab_size());
        let mut pieces = Vec::with_capacity(model.get_vocab_size());
        for (id, (piece, score)) in model.iter().enumerate() {
            let id = u32::try_from(id).map_err(|_| "vocabulary too large")?;
            pieces.push((piece.as_bytes(), id));
            scores.push(*score);
        }
        let trie = PieceTrie::build(pieces)?;
        let model_json = serde_json::to_value(model).map_err(|e| e.to_string())?;
        let unk = model_json
            .get("unk_id")
            .and_then(Value::as_u64)
            .and_then(|u| u32::try_from(u).ok())
            .filter(|&u| (u as usize) < scores.len())
            .ok_or("the model has no unknown piece")?;
        let byte_ids = model.byte_fallback().then(|| {
            (0..=255u8)
                .map(|b| trie.get(format!("<0x{b:02X}>").as_bytes()))
                .collect()
        });

        let (charsmap, strip_right, collapse_spaces) = normalizer(tok)?;
        let pre = serde_json::to_value(tok.get_pre_tokenizer()).map_err(|e| e.to_string())?;
        let metaspace = pre.get("type").and_then(Value::as_str) == Some("Metaspace")
            && pre.get("replacement").and_then(Value::as_str) == Some("\u{2581}")
            && pre.get("prepend_scheme").and_then(Value::as_str) == Some("always")
            && pre.get("split").and_then(Value::as_bool) == Some(true);
        if !metaspace {
            return Err(format!(
                "pre-tokenizer {pre} is not Metaspace(▁, always, split)"
            ));
        }

        let mut added: Vec<(u32, String)> = Vec::new();
        for (id, t) in tok.get_added_tokens_decoder() {
            if t.normalized || t.lstrip || t.rstrip || t.single_word {
                return Err(format!(
                    "added token `{}` is normalized or strips",
                    t.content
                ));
            }
            if !t.content.is_empty() {
                added.push((id, t.content));
            }
        }
        added.sort();
        let specials = if added.is_empty() {
            None
        } else {
            let ac = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(added.iter().map(|(_, c)| c))
                .map_err(|e| e.to_string())?;
            Some((ac, added.into_iter().map(|(id, _)| id).collect()))
        };
        Ok(FastUnigram {
            trie,
            unk,
            unk_score: model.min_score - UNK_PENALTY,
            scores,
            byte_ids,
            charsmap,
            strip_right,
            collapse_spaces,
            specials,
        })
    }

    /// Appends the ids of `text` to `out`.
    pub fn encode_into(&self, text: &str, out: &mut Vec<i32>) {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut s) => self.encode_with(text, &mut s, out),
            // Only reachable by re-entrance; fresh buffers are still correct.
            Err(_) => self.encode_with(text, &mut Scratch::default(), out),
        })
    }

    fn encode_with(&self, text: &str, s: &mut Scratch, out: &mut Vec<i32>) {
        let Some((ac, ids)) = &self.specials else {
            self.segment(text, s, out);
            return;
        };
        let mut last = 0;
        for m in ac.find_iter(text) {
            self.segment(&text[last..m.start()], s, out);
            out.push(ids[m.pattern().as_usize()] as i32);
            last = m.end();
        }
        self.segment(&text[last..], s, out);
    }

    /// Steps 2-4 for one stretch of text without special tokens.
    fn segment(&self, text: &str, s: &mut Scratch, out: &mut Vec<i32>) {
        if text.is_empty() {
            return;
        }
        s.norm.clear();
        match &self.charsmap {
            Some(map) => map.normalize_into(text, &mut s.norm),
            None => s.norm.push_str(text),
        }
        let mut norm: &str = &s.norm;
        if self.strip_right {
            norm = norm.trim_end();
        }
        let bytes = norm.as_bytes();
        if bytes.is_empty() {
            return;
        }
        s.meta.clear();
        if bytes[0] != b' ' && !bytes.starts_with(&META) {
            s.meta.extend_from_slice(&META);
        }
        let mut prev_space = false;
        for &b in bytes {
            if b == b' ' {
                if !(self.collapse_spaces && prev_space) {
                    s.meta.extend_from_slice(&META);
                }
                prev_space = true;
            } else {
                s.meta.push(b);
                prev_space = false;
            }
        }
        let meta = std::mem::take(&mut s.meta);
        // Words start at every `▁` (a lone lead byte 0xE2 starts one, since
        // it cannot be a continuation byte).
        let mut start = 0;
        let mut i = 1;
        while i < meta.len() {
            if meta[i] == META[0] && meta[i..].starts_with(&META) && i > start {
                self.viterbi(&meta[start..i], s, out);
                start = i;
                i += META.len();
            } else {
                i += 1;
            }
        }
        self.viterbi(&meta[start..], s, out);
        s.meta = meta;
    }

    /// Step 4 for one word (valid UTF-8, non-empty).
    fn viterbi(&self, word: &[u8], s: &mut Scratch, out: &mut Vec<i32>) {
        let n = word.len();
        s.score.clear();
        s.score.resize(n + 1, 0.0);
        s.start.clear();
        s.start.resize(n + 1, NO_NODE);
        s.id.clear();
        s.id.resize(n + 1, 0);
        let mut pos = 0;
        while pos < n {
            let here = s.score[pos];
            let char_len = utf8_len(word[pos]);
            let mut single = false;
            let (score, start, id) = (&mut s.score, &mut s.start, &mut s.id);
            self.trie.prefixes(&word[pos..], |len, piece| {
                let end = pos + len;
                let cand = self.scores[piece as usize] + here;
                if start[end] == NO_NODE || cand > score[end] {
                    score[end] = cand;
                    start[end] = pos as u32;
                    id[end] = piece;
                }
                single |= len == char_len;
            });
            if !single {
                let end = (pos + char_len).min(n);
                let cand = self.unk_score + here;
                if start[end] == NO_NODE || cand > score[end] {
                    score[end] = cand;
                    start[end] = pos as u32;
                    id[end] = self.unk;
                }
            }
            pos += char_len;
        }
        // Back from the end, then forwards, merging runs of unknown nodes.
        s.path.clear();
        let mut end = n;
        while end > 0 {
            let begin = s.start[end];
            if begin == NO_NODE {
                break; // unreachable for valid UTF-8: every character has a node
            }
            s.path.push((begin, end as u32, s.id[end]));
            end = begin as usize;
        }
        let mut k = s.path.len();
        while k > 0 {
            k -= 1;
            let (begin, mut stop, id) = s.path[k];
            if id != self.unk {
                out.push(id as i32);
                continue;
            }
            while k > 0 && s.path[k - 1].2 == self.unk {
                k -= 1;
                stop = s.path[k].1;
            }
            self.push_unknown(&word[begin as usize..stop as usize], out);
        }
    }

    /// A merged run of unknown nodes: its own piece if it is one (only the
    /// `<unk>` piece itself can be), else bytes or `<unk>`, as `tokenizers`
    /// maps it.
    fn push_unknown(&self, text: &[u8], out: &mut Vec<i32>) {
        if let Some(id) = self.trie.get(text) {
            out.push(id as i32);
            return;
        }
        if let Some(bytes) = &self.byte_ids {
            let ids: Option<Vec<u32>> = text.iter().map(|&b| bytes[usize::from(b)]).collect();
            if let Some(ids) = ids {
                out.extend(ids.into_iter().map(|i| i as i32));
                return;
            }
        }
        out.push(self.unk as i32);
    }
}

/// Bytes of the UTF-8 character that starts with `lead`.
#[inline]
fn utf8_len(lead: u8) -> usize {
    match lead {
        0x00..=0x7f => 1,
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        _ => 2,
    }
}

/// (charsmap, strip right, collapse space runs) from the tokenizer's
/// normaliser, which must be a subsequence of
/// `Precompiled, Strip(right), Replace(" {2,}" -> "▁")`.
fn normalizer(tok: &Tokenizer) -> Result<(Option<CharsMap>, bool, bool), String> {
    let json = serde_json::to_value(tok.get_normalizer()).map_err(|e| e.to_string())?;
    let steps: Vec<Value> = match json.get("type").and_then(Value::as_str) {
        None if json.is_null() => Vec::new(),
        Some("Sequence") => json
            .get("normalizers")
            .and_then(Value::as_array)
            .cloned()
            .ok_or("normalizer sequence without normalizers")?,
        _ => vec![json],
    };
    let (mut charsmap, mut strip, mut collapse) = (None, false, false);
    let mut stage = 0;
    for step in &steps {
        let kind = step.get("type").and_then(Value::as_str).unwrap_or("");
        let this = match kind {
            "Precompiled" => {
                let b64 = step
                    .get("precompiled_charsmap")
                    .and_then(Value::as_str)
                    .ok_or("Precompiled without a charsmap")?;
                let blob = base64_decode(b64)?;
                if !blob.is_empty() {
                    charsmap = Some(CharsMap::parse(&blob)?);
                }
                1
            }
            "Strip"
                if step.get("strip_left").and_then(Value::as_bool) == Some(false)
                    && step.get("strip_right").and_then(Value::as_bool) == Some(true) =>
            {
                strip = true;
                2
            }
            "Replace"
                if step.pointer("/pattern/Regex").and_then(Value::as_str) == Some(" {2,}")
                    && step.get("content").and_then(Value::as_str) == Some("\u{2581}") =>
            {
                collapse = true;
                3
            }
            _ => return Err(format!("normalizer step {step} is not supported")),
        };
        if this <= stage {
            return Err("normalizer steps out of the expected order".into());
        }
        stage = this;
    }
    Ok((charsmap, strip, collapse))
}

/// Standard base64 (with or without padding), as `tokenizers` serialises the
/// charsmap.
fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return Err("precompiled charsmap: bad base64".into()),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn base64_round_trip() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVsbG8h").unwrap(), b"hello!");
        assert_eq!(base64_decode("").unwrap(), b"");
        assert!(base64_decode("a*").is_err());
    }

    #[test]
    fn utf8_lengths() {
        for c in ['a', 'é', '▁', '😀'] {
            let mut b = [0; 4];
            assert_eq!(utf8_len(c.encode_utf8(&mut b).as_bytes()[0]), c.len_utf8());
        }
    }
}
