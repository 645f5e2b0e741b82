//! Reads a SentencePiece `spiece.model` and turns it into a `tokenizers`
//! pipeline the way transformers' `T5Converter` does.
//!
//! The model file is a protobuf (`sentencepiece_model.proto`); we decode only
//! the fields the conversion needs with a small hand-written wire-format
//! reader rather than pulling in a protobuf code generator.

use tokenizers::models::unigram::Unigram;
use tokenizers::normalizers::{
    precompiled::Precompiled, replace::Replace, strip::Strip, NormalizerWrapper, Sequence,
};
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{AddedToken, Tokenizer};

/// SentencePiece piece types (`ModelProto.SentencePiece.Type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PieceType {
    /// An ordinary piece.
    Normal,
    /// The unknown piece.
    Unknown,
    /// A control symbol such as `</s>` (never produced from text).
    Control,
    /// A user-defined symbol (always matched as a whole).
    UserDefined,
    /// Unused.
    Unused,
    /// A byte-fallback piece `<0xNN>`.
    Byte,
}

impl PieceType {
    fn from_proto(v: u64) -> Self {
        match v {
            2 => PieceType::Unknown,
            3 => PieceType::Control,
            4 => PieceType::UserDefined,
            5 => PieceType::Unused,
            6 => PieceType::Byte,
            _ => PieceType::Normal,
        }
    }
}

/// One vocabulary entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Piece {
    /// The piece text (with `▁` for spaces).
    pub piece: String,
    /// Its unigram log-probability.
    pub score: f32,
    /// Its type.
    pub kind: PieceType,
}

/// The parts of a SentencePiece model that the T5 conversion uses.
#[derive(Clone, Debug, Default)]
pub struct SpmModel {
    /// Pieces in id order.
    pub pieces: Vec<Piece>,
    /// `TrainerSpec.model_type` (1 = unigram, 2 = BPE).
    pub model_type: u64,
    /// `TrainerSpec.unk_id`.
    pub unk_id: u64,
    /// `TrainerSpec.byte_fallback`.
    pub byte_fallback: bool,
    /// `NormalizerSpec.precompiled_charsmap` (may be empty).
    pub precompiled_charsmap: Vec<u8>,
}

/// A cursor over protobuf wire format.
struct Wire<'a> {
    buf: &'a [u8],
    pos: usize,
}

enum Value<'a> {
    Varint(u64),
    Fixed32(u32),
    Fixed64,
    Bytes(&'a [u8]),
}

impl<'a> Wire<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Wire { buf, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut out = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.pos).ok_or("truncated varint")?;
            self.pos += 1;
            out |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(out);
            }
        }
        Err("varint longer than 10 bytes".into())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).ok_or("length overflow")?;
        let s = self.buf.get(self.pos..end).ok_or("truncated field")?;
        self.pos = end;
        Ok(s)
    }

    /// The next (field number, value), or None at the end.
    fn next_field(&mut self) -> Result<Option<(u64, Value<'a>)>, String> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Value::Fixed64
            }
            2 => {
                let n = usize::try_from(self.varint()?).map_err(|_| "length overflow")?;
                Value::Bytes(self.take(n)?)
            }
            5 => {
                let b = self.take(4)?;
                Value::Fixed32(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            t => return Err(format!("unsupported wire type {t}")),
        };
        Ok(Some((key >> 3, value)))
    }
}

fn parse_piece(buf: &[u8]) -> Result<Piece, String> {
    let mut w = Wire::new(buf);
    let mut piece = Piece {
        piece: String::new(),
        score: 0.0,
        kind: PieceType::Normal,
    };
    while let Some((field, value)) = w.next_field()? {
        match (field, value) {
            (1, Value::Bytes(b)) => {
                piece.piece = String::from_utf8(b.to_vec()).map_err(|_| "piece is not UTF-8")?
            }
            (2, Value::Fixed32(bits)) => piece.score = f32::from_bits(bits),
            (3, Value::Varint(v)) => piece.kind = PieceType::from_proto(v),
            _ => {}
        }
    }
    Ok(piece)
}

impl SpmModel {
    /// Decodes a serialized `ModelProto`.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let mut model = SpmModel {
            model_type: 1,
            ..SpmModel::default()
        };
        let mut w = Wire::new(bytes);
        while let Some((field, value)) = w.next_field()? {
            match (field, value) {
                (1, Value::Bytes(b)) => model.pieces.push(parse_piece(b)?),
                (2, Value::Bytes(b)) => {
                    let mut t = Wire::new(b);
                    while let Some((f, v)) = t.next_field()? {
                        match (f, v) {
                            (3, Value::Varint(v)) => model.model_type = v,
                            (35, Value::Varint(v)) => model.byte_fallback = v != 0,
                            (40, Value::Varint(v)) => model.unk_id = v,
                            _ => {}
                        }
                    }
                }
                (3, Value::Bytes(b)) => {
                    let mut n = Wire::new(b);
                    while let Some((f, v)) = n.next_field()? {
                        if let (2, Value::Bytes(map)) = (f, v) {
                            model.precompiled_charsmap = map.to_vec();
                        }
                    }
                }
                _ => {}
            }
        }
        if model.pieces.is_empty() {
            return Err("no pieces: not a SentencePiece model".into());
        }
        Ok(model)
    }

    /// Builds the T5 fast tokenizer: Unigram over the pieces plus `extra_ids`
    /// sentinels (`<extra_id_{n-1}>` first, so `<extra_id_0>` is the last id),
    /// the same normalizer, pre-tokenizer and `$A </s>` post-processor as
    /// transformers' `T5Converter`.
    pub fn to_t5_tokenizer(&self, extra_ids: usize) -> Result<Tokenizer, String> {
        if self.model_type != 1 {
            return Err(format!(
                "model type {} is not unigram; only T5-style unigram models are supported",
                self.model_type
            ));
        }
        let mut vocab: Vec<(String, f64)> = self
            .pieces
            .iter()
            .map(|p| (p.piece.clone(), f64::from(p.score)))
            .collect();
        vocab.extend(
            (0..extra_ids)
                .rev()
                .map(|i| (format!("<extra_id_{i}>"), 0.0)),
        );
        let unk = usize::try_from(self.unk_id).map_err(|_| "unk id overflow")?;
        let model = Unigram::from(vocab, Some(unk), self.byte_fallback)
            .map_err(|e| format!("unigram: {e}"))?;
        let mut tok = Tokenizer::new(model);

        let mut norms: Vec<NormalizerWrapper> = Vec::new();
        if !self.precompiled_charsmap.is_empty() {
            let pre = Precompiled::from(&self.precompiled_charsmap)
                .map_err(|e| format!("precompiled charsmap: {e}"))?;
            norms.push(pre.into());
        }
        // Strip right and collapse space runs: what transformers does so that
        // the fast tokenizer matches sentencepiece's remove_extra_whitespaces.
        norms.push(Strip::new(false, true).into());
        let replace = Replace::new(
            tokenizers::normalizers::replace::ReplacePattern::Regex(" {2,}".into()),
            "\u{2581}",
        )
        .map_err(|e| format!("replace: {e}"))?;
        norms.push(replace.into());
        tok.with_normalizer(Some(Sequence::new(norms)));
        let meta = Metaspace::new('\u{2581}', PrependScheme::Always, true);
        tok.with_pre_tokenizer(Some(meta.clone()));
        tok.with_decoder(Some(meta));

        let eos = self
            .pieces
            .iter()
            .position(|p| p.piece == "</s>")
            .ok_or("the model has no `</s>` piece")?;
        let eos = u32::try_from(eos).map_err(|_| "eos id overflow")?;
        let post = TemplateProcessing::builder()
            .try_single("$A </s>")
            .and_then(|b| b.try_pair("$A </s> $B </s>"))
            .map_err(|e| format!("template: {e}"))?
            .special_tokens(vec![("</s>", eos)])
            .build()
            .map_err(|e| format!("template: {e}"))?;
        tok.with_post_processor(Some(post));

        // Control and user-defined pieces, then the sentinels and <unk>, are
        // matched whole in text (transformers adds them as added tokens).
        let mut specials: Vec<AddedToken> = Vec::new();
        let mut user: Vec<AddedToken> = Vec::new();
        for p in &self.pieces {
            match p.kind {
                PieceType::Control | PieceType::Unknown => {
                    specials.push(AddedToken::from(p.piece.clone(), true))
                }
                PieceType::UserDefined => {
                    user.push(AddedToken::from(p.piece.clone(), false).normalized(false))
                }
                _ => {}
            }
        }
        specials.extend(
            (0..extra_ids)
                .rev()
                .map(|i| AddedToken::from(format!("<extra_id_{i}>"), true)),
        );
        tok.add_special_tokens(&specials);
        tok.add_tokens(&user);
        Ok(tok)
    }
}
