//! The T5 encoder-decoder: stacks of blocks, masks, the LM head and a KV
//! cache for incremental decoding.
//!
//! Inputs are int64 token ids `[batch, len]` with optional 0/1 (or bool)
//! padding masks; outputs are hidden states or logits `[batch, len, vocab]`.
//! Variables are created under HF's names (`encoder.block.0.layer.0.
//! SelfAttention.q.weight`, ...) so checkpoints map one to one.

// `t += x` is an in-place add on tch tensors, which breaks autograd when `t`
// is saved for backward; keep the out-of-place `t = t + x`.
#![allow(clippy::assign_op_pattern)]

use tch::{nn, Kind, Tensor};

use super::config::T5Config;
use super::layers::{Attention, AttentionImpl, Buckets, FeedForward, KeyValue, NormImpl, RmsNorm};
use crate::error::{Error, Result};

/// One block: self-attention, cross-attention (decoder only), feed-forward;
/// each sub-layer is pre-norm with a residual connection.
#[derive(Debug)]
struct Block {
    self_attn: Attention,
    self_norm: RmsNorm,
    cross: Option<(Attention, RmsNorm)>,
    ffn: FeedForward,
    ffn_norm: RmsNorm,
}

#[derive(Debug)]
struct Stack {
    blocks: Vec<Block>,
    final_norm: RmsNorm,
    buckets: Buckets,
    dropout: f64,
}

impl Stack {
    fn new(p: &nn::Path, cfg: &T5Config, decoder: bool) -> Result<Self> {
        let (gated, act) = cfg.ffn()?;
        let layers = if decoder {
            cfg.decoder_layers()
        } else {
            cfg.num_layers
        };
        let f = cfg.initializer_factor;
        let mut blocks = Vec::new();
        for i in 0..layers {
            let b = p / "block" / i / "layer";
            let bias = (i == 0).then_some(cfg.relative_attention_num_buckets);
            let self_attn = Attention::new(
                &(&b / 0 / "SelfAttention"),
                cfg.d_model,
                cfg.num_heads,
                cfg.d_kv,
                bias,
                cfg.dropout_rate,
                f,
            );
            let self_norm = RmsNorm::new(
                &(&b / 0 / "layer_norm"),
                cfg.d_model,
                cfg.layer_norm_epsilon,
            );
            let ff_idx = if decoder { 2 } else { 1 };
            let cross = decoder.then(|| {
                let a = Attention::new(
                    &(&b / 1 / "EncDecAttention"),
                    cfg.d_model,
                    cfg.num_heads,
                    cfg.d_kv,
                    None,
                    cfg.dropout_rate,
                    f,
                );
                (
                    a,
                    RmsNorm::new(
                        &(&b / 1 / "layer_norm"),
                        cfg.d_model,
                        cfg.layer_norm_epsilon,
                    ),
                )
            });
            let ffn = FeedForward::new(
                &(&b / ff_idx / "DenseReluDense"),
                cfg.d_model,
                cfg.d_ff,
                gated,
                act,
                cfg.dropout_rate,
                f,
            );
            let ffn_norm = RmsNorm::new(
                &(&b / ff_idx / "layer_norm"),
                cfg.d_model,
                cfg.layer_norm_epsilon,
            );
            blocks.push(Block {
                self_attn,
                self_norm,
                cross,
                ffn,
                ffn_norm,
            });
        }
        Ok(Stack {
            blocks,
            final_norm: RmsNorm::new(
                &(p / "final_layer_norm"),
                cfg.d_model,
                cfg.layer_norm_epsilon,
            ),
            buckets: Buckets {
                bidirectional: !decoder,
                num: cfg.relative_attention_num_buckets,
                max_distance: cfg.relative_attention_max_distance,
            },
            dropout: cfg.dropout_rate,
        })
    }

    fn position_bias(&self, q_len: i64, k_len: i64, offset: i64, kind: Kind) -> Result<Tensor> {
        let first = self.blocks.first().ok_or_else(|| {
            crate::error::Error::Config("a stack needs at least one layer".into())
        })?;
        Ok(first
            .self_attn
            .position_bias(q_len, k_len, offset, self.buckets, kind))
    }

    /// Runs the blocks. `cross` holds the encoder keys/values per layer
    /// (decoder only); `cache` collects and extends self-attention keys/values.
    fn forward(
        &self,
        x: &Tensor,
        self_bias: &Tensor,
        cross: Option<(&[KeyValue], &Tensor)>,
        mut cache: Option<&mut Vec<KeyValue>>,
        train: bool,
    ) -> Tensor {
        let mut h = x.dropout(self.dropout, train);
        for (i, blk) in self.blocks.iter().enumerate() {
            let n = blk.self_norm.forward(&h);
            let fresh = blk.self_attn.key_value(&n);
            let attn_out = match cache.as_deref_mut() {
                Some(c) => {
                    let kv = match c.get(i) {
                        Some(old) => KeyValue {
                            k: Tensor::cat(&[&old.k, &fresh.k], 2),
                            v: Tensor::cat(&[&old.v, &fresh.v], 2),
                        },
                        None => fresh,
                    };
                    let out = blk.self_attn.attend(&n, &kv, self_bias, train);
                    if i < c.len() {
                        c[i] = kv;
                    } else {
                        c.push(kv);
                    }
                    out
                }
                None => blk.self_attn.attend(&n, &fresh, self_bias, train),
            };
            h = h + attn_out.dropout(self.dropout, train);
            if let (Some((attn, norm)), Some((kvs, bias))) = (&blk.cross, cross) {
                if let Some(ckv) = kvs.get(i) {
                    let a = attn.attend(&norm.forward(&h), ckv, bias, train);
                    h = h + a.dropout(self.dropout, train);
                }
            }
            let f = blk.ffn.forward(&blk.ffn_norm.forward(&h), train);
            h = h + f.dropout(self.dropout, train);
        }
        self.final_norm.forward(&h).dropout(self.dropout, train)
    }
}

/// Turns a keep-mask (`true`/1 = attend) broadcastable to `[b, 1, q, k]`
/// into the additive bias transformers uses: 0 or the dtype's minimum.
fn additive(keep: &Tensor, kind: Kind) -> Tensor {
    let min = match kind {
        Kind::BFloat16 => -3.3895313892515355e38,
        Kind::Half => -65504.0,
        Kind::Double => f64::MIN,
        _ => f64::from(f32::MIN),
    };
    keep.to_kind(Kind::Bool).logical_not().to_kind(kind) * min
}

/// `[b, k]` padding mask -> `[b, 1, 1, k]` keep-mask.
fn key_mask(mask: &Tensor) -> Tensor {
    mask.to_kind(Kind::Bool).unsqueeze(1).unsqueeze(1)
}

/// Self-attention keep-mask `[b, 1, n, n]` of packed rows from segment ids
/// `[b, n]` (1-based example number, 0 = padding): query i sees key j when
/// `seg_i == seg_j`.
///
/// For a real query (`seg_i != 0`) that is exactly "same example, key not
/// padding". A padding query sees the padding keys, itself at least, so no
/// row of the mask is ever empty: a fully masked row is a softmax over
/// nothing, which some kernels and dtypes turn into NaN (and NaN times a
/// zero gradient is still NaN in backward). What padding queries compute
/// never reaches a real position: no real query sees a padding key, and the
/// loss ignores padding positions.
pub fn segment_self_mask(segments: &Tensor) -> Tensor {
    segments
        .unsqueeze(2)
        .eq_tensor(&segments.unsqueeze(1))
        .unsqueeze(1)
}

/// Cross-attention keep-mask `[b, 1, q, k]` of packed rows: decoder query i
/// sees encoder key j when `dec_i == enc_j` and `enc_j != 0`. A decoder
/// padding query (`dec_i == 0`) sees every key instead, so that its row is
/// never empty even when the encoder row has no padding (see
/// [`segment_self_mask`]); nothing real ever reads what it computes.
pub fn segment_cross_mask(dec_segments: &Tensor, enc_segments: &Tensor) -> Tensor {
    let d = dec_segments.unsqueeze(2);
    let e = enc_segments.unsqueeze(1);
    let same = d.eq_tensor(&e).logical_and(&e.ne(0));
    same.logical_or(&d.eq(0)).unsqueeze(1)
}

/// Decoder state for incremental decoding: self-attention keys/values grown
/// one step at a time, and the encoder keys/values computed once.
#[derive(Debug)]
pub struct DecoderCache {
    self_kv: Vec<KeyValue>,
    cross_kv: Vec<KeyValue>,
    /// Number of decoder positions already processed.
    pub len: i64,
}

impl DecoderCache {
    /// Keeps the batch rows `index` (beam search reorders hypotheses).
    pub fn select(&self, index: &Tensor) -> DecoderCache {
        DecoderCache {
            self_kv: self.self_kv.iter().map(|kv| kv.select(index)).collect(),
            cross_kv: self.cross_kv.iter().map(|kv| kv.select(index)).collect(),
            len: self.len,
        }
    }
}

/// The full model (transformers' `T5ForConditionalGeneration`).
#[derive(Debug)]
pub struct T5 {
    pub cfg: T5Config,
    shared: Tensor,
    encoder: Stack,
    decoder: Stack,
    lm_head: Option<Tensor>,
    /// The kernels every layer uses (set together by `set_attention` and
    /// `set_norm`), kept so that a caller can switch and restore them.
    attention: AttentionImpl,
    norm: NormImpl,
}

impl T5 {
    /// Creates the variables under `p` (randomly initialised as transformers
    /// does; load a checkpoint over them with [`crate::checkpoint`]).
    pub fn new(p: &nn::Path, cfg: &T5Config) -> Result<Self> {
        cfg.validate()?;
        let f = cfg.initializer_factor;
        let emb_init = nn::Init::Randn {
            mean: 0.0,
            stdev: f,
        };
        let shared = (p / "shared").var("weight", &[cfg.vocab_size, cfg.d_model], emb_init);
        let lm_head = (!cfg.tie_word_embeddings)
            .then(|| (p / "lm_head").var("weight", &[cfg.vocab_size, cfg.d_model], emb_init));
        Ok(T5 {
            cfg: cfg.clone(),
            shared,
            encoder: Stack::new(&(p / "encoder"), cfg, false)?,
            decoder: Stack::new(&(p / "decoder"), cfg, true)?,
            lm_head,
            attention: AttentionImpl::default(),
            norm: NormImpl::default(),
        })
    }

    /// Selects the attention kernels of every layer (default: the math
    /// path the parity goldens check; see [`AttentionImpl`]).
    pub fn set_attention(&mut self, imp: AttentionImpl) {
        self.attention = imp;
        for stack in [&mut self.encoder, &mut self.decoder] {
            for blk in &mut stack.blocks {
                blk.self_attn.set_impl(imp);
                if let Some((a, _)) = &mut blk.cross {
                    a.set_impl(imp);
                }
            }
        }
    }

    /// Selects the RMS norm kernels of every layer (default: the
    /// composite path the parity goldens check; see [`NormImpl`]).
    pub fn set_norm(&mut self, imp: NormImpl) {
        self.norm = imp;
        for stack in [&mut self.encoder, &mut self.decoder] {
            stack.final_norm.set_impl(imp);
            for blk in &mut stack.blocks {
                blk.self_norm.set_impl(imp);
                blk.ffn_norm.set_impl(imp);
                if let Some((_, n)) = &mut blk.cross {
                    n.set_impl(imp);
                }
            }
        }
    }

    /// The attention kernels every layer uses.
    pub fn attention(&self) -> AttentionImpl {
        self.attention
    }

    /// The RMS norm kernels every layer uses.
    pub fn norm(&self) -> NormImpl {
        self.norm
    }

    fn embed(&self, ids: &Tensor) -> Tensor {
        Tensor::embedding(&self.shared, ids, -1, false, false)
    }

    /// Encoder hidden states `[b, n, d_model]`; `mask` is `[b, n]`, 1 = token.
    pub fn encode(&self, ids: &Tensor, mask: Option<&Tensor>, train: bool) -> Result<Tensor> {
        self.encode_keep(ids, mask.map(key_mask).as_ref(), train)
    }

    /// Encoder hidden states of packed rows: `segments` `[b, n]` holds each
    /// position's 1-based example number (0 = padding), and attention stays
    /// within an example (see [`segment_self_mask`]).
    pub fn encode_packed(&self, ids: &Tensor, segments: &Tensor, train: bool) -> Result<Tensor> {
        self.encode_keep(ids, Some(&segment_self_mask(segments)), train)
    }

    /// The encoder with a keep-mask broadcastable to `[b, 1, n, n]`.
    fn encode_keep(&self, ids: &Tensor, keep: Option<&Tensor>, train: bool) -> Result<Tensor> {
        let n = ids.size().last().copied().unwrap_or(0);
        let x = self.embed(ids);
        // Relative positions of the row, also for packed rows (as T5X does):
        // within one example, row distances are the example's own distances,
        // and pairs across examples are masked, so each example gets exactly
        // the bias it would get alone. The bias stays `[1, h, n, n]`, shared
        // by the batch.
        let mut bias = self.encoder.position_bias(n, n, 0, x.kind())?;
        if let Some(k) = keep {
            bias = bias + additive(k, x.kind());
        }
        Ok(self.encoder.forward(&x, &bias, None, None, train))
    }

    fn cross_kv(&self, enc: &Tensor) -> Vec<KeyValue> {
        self.decoder
            .blocks
            .iter()
            .filter_map(|b| b.cross.as_ref().map(|(a, _)| a.key_value(enc)))
            .collect()
    }

    fn cross_bias(enc: &Tensor, keep: Option<&Tensor>) -> Tensor {
        match keep {
            Some(k) => additive(k, enc.kind()),
            None => Tensor::zeros([1, 1, 1, 1], (enc.kind(), enc.device())),
        }
    }

    /// Decoder hidden states for a whole target sequence (teacher forcing).
    pub fn decode(
        &self,
        ids: &Tensor,
        mask: Option<&Tensor>,
        enc: &Tensor,
        enc_mask: Option<&Tensor>,
        train: bool,
    ) -> Result<Tensor> {
        let keep = mask.map(key_mask);
        let cross = enc_mask.map(key_mask);
        self.decode_keep(ids, keep.as_ref(), enc, cross.as_ref(), train)
    }

    /// Decoder hidden states of packed rows (teacher forcing): `segments`
    /// `[b, n]` and `enc_segments` `[b, m]` are the decoder's and the
    /// encoder's example numbers (0 = padding). Self-attention is causal
    /// within an example; cross-attention sees that example's encoder
    /// positions only. `ids` are already shifted within each example.
    pub fn decode_packed(
        &self,
        ids: &Tensor,
        segments: &Tensor,
        enc: &Tensor,
        enc_segments: &Tensor,
        train: bool,
    ) -> Result<Tensor> {
        let keep = segment_self_mask(segments);
        let cross = segment_cross_mask(segments, enc_segments);
        self.decode_keep(ids, Some(&keep), enc, Some(&cross), train)
    }

    /// The decoder with a self-attention keep-mask (on top of the causal
    /// one) broadcastable to `[b, 1, n, n]` and a cross-attention keep-mask
    /// broadcastable to `[b, 1, n, m]`.
    fn decode_keep(
        &self,
        ids: &Tensor,
        keep: Option<&Tensor>,
        enc: &Tensor,
        cross: Option<&Tensor>,
        train: bool,
    ) -> Result<Tensor> {
        let n = ids.size().last().copied().unwrap_or(0);
        let x = self.embed(ids);
        let dev = x.device();
        let causal = Tensor::ones([n, n], (Kind::Bool, dev))
            .tril(0)
            .unsqueeze(0)
            .unsqueeze(0);
        let keep = match keep {
            Some(k) => causal.logical_and(k),
            None => causal,
        };
        // Row positions, packed or not: see `encode_keep`.
        let bias = self.decoder.position_bias(n, n, 0, x.kind())? + additive(&keep, x.kind());
        let kvs = self.cross_kv(enc);
        let cb = Self::cross_bias(enc, cross);
        Ok(self
            .decoder
            .forward(&x, &bias, Some((&kvs, &cb)), None, train))
    }

    /// Starts incremental decoding over the encoder output `enc`.
    pub fn start_cache(&self, enc: &Tensor) -> DecoderCache {
        DecoderCache {
            self_kv: Vec::new(),
            cross_kv: self.cross_kv(enc),
            len: 0,
        }
    }

    /// Logits `[b, n, vocab]` for the next `ids` (`[b, n]`, usually n = 1)
    /// given the cache, which is extended by these positions.
    pub fn decode_step(
        &self,
        ids: &Tensor,
        cache: &mut DecoderCache,
        enc_mask: Option<&Tensor>,
    ) -> Result<Tensor> {
        let n = ids.size().last().copied().unwrap_or(0);
        let x = self.embed(ids);
        let dev = x.device();
        let total = cache.len + n;
        // Query i (absolute position len+i) sees keys 0..=len+i.
        let causal = Tensor::ones([n, total], (Kind::Bool, dev))
            .tril(cache.len)
            .unsqueeze(0)
            .unsqueeze(0);
        let bias = self.decoder.position_bias(n, total, cache.len, x.kind())?
            + additive(&causal, x.kind());
        let cb = match enc_mask {
            Some(m) => additive(&key_mask(m), x.kind()),
            None => Tensor::zeros([1, 1, 1, 1], (x.kind(), dev)),
        };
        let h = self.decoder.forward(
            &x,
            &bias,
            Some((&cache.cross_kv, &cb)),
            Some(&mut cache.self_kv),
            false,
        );
        cache.len = total;
        Ok(self.logits(&h))
    }

    /// The LM head; tied models scale by `d_model ** -0.5` first (original T5).
    pub fn logits(&self, hidden: &Tensor) -> Tensor {
        let h = if self.cfg.scales_decoder_output() {
            hidden * (self.cfg.d_model as f64).powf(-0.5)
        } else {
            hidden.shallow_clone()
        };
        h.linear::<Tensor>(self.lm_head.as_ref().unwrap_or(&self.shared), None)
    }

    /// Logits for a teacher-forced batch: packed rows when the batch has
    /// segment ids (both stacks' or neither), padded rows otherwise.
    pub fn forward(&self, batch: &Seq2SeqBatch, train: bool) -> Result<Tensor> {
        let dec = match (&batch.input_segments, &batch.decoder_segments) {
            (Some(es), Some(ds)) => {
                let enc = self.encode_packed(&batch.input_ids, es, train)?;
                self.decode_packed(&batch.decoder_input_ids, ds, &enc, es, train)?
            }
            (None, None) => {
                let enc = self.encode(&batch.input_ids, batch.input_mask.as_ref(), train)?;
                self.decode(
                    &batch.decoder_input_ids,
                    batch.decoder_mask.as_ref(),
                    &enc,
                    batch.input_mask.as_ref(),
                    train,
                )?
            }
            _ => {
                return Err(Error::Input(
                    "a packed batch needs segment ids for both the encoder and the decoder".into(),
                ))
            }
        };
        Ok(self.logits(&dec))
    }
}

/// An encoder-decoder batch, padded (one example per row) or packed
/// (several per row, seqio-style). `labels` uses -100 (any negative id)
/// for positions that do not count in the loss, as transformers does.
///
/// With segment ids (`[b, n]` int64, 1-based example number within the row,
/// 0 = padding; both stacks' or neither) the model keeps attention within
/// each example and the masks are not used; see [`Seq2SeqBatch::from_packed`].
#[derive(Debug)]
pub struct Seq2SeqBatch {
    pub input_ids: Tensor,
    pub input_mask: Option<Tensor>,
    pub decoder_input_ids: Tensor,
    pub decoder_mask: Option<Tensor>,
    pub labels: Tensor,
    /// Encoder segment ids of packed rows.
    pub input_segments: Option<Tensor>,
    /// Decoder segment ids of packed rows.
    pub decoder_segments: Option<Tensor>,
}

impl Seq2SeqBatch {
    /// Builds a batch from padded inputs and targets: masks from `pad_id`,
    /// decoder inputs by shifting targets right behind `start_id`, labels
    /// with -100 at padding.
    pub fn from_padded(
        inputs: &Tensor,
        targets: &Tensor,
        pad_id: i64,
        start_id: i64,
    ) -> Seq2SeqBatch {
        let input_mask = inputs.ne(pad_id).to_kind(Kind::Int64);
        let target_mask = targets.ne(pad_id);
        let labels = targets.masked_fill(&target_mask.logical_not(), -100);
        Seq2SeqBatch {
            input_ids: inputs.shallow_clone(),
            input_mask: Some(input_mask),
            decoder_input_ids: shift_right(&labels, start_id, pad_id),
            decoder_mask: None,
            labels,
            input_segments: None,
            decoder_segments: None,
        }
    }

    /// A data-pipeline batch (packed or padded) as tensors on `device`:
    /// token ids as they are (the decoder inputs are already shifted right
    /// within each example, so they are not shifted again), labels = the
    /// targets with -100 where the loss weight is 0, segment ids from the
    /// batch's, and `input_mask` = encoder segment > 0 for code that only
    /// looks at the mask. A padded batch has one segment per row, for which
    /// the segment masks equal the padding masks.
    pub fn from_packed(batch: &exc_data::pack::Batch, device: tch::Device) -> Result<Seq2SeqBatch> {
        let (n, li, lt) = (batch.batch_size, batch.inputs_length, batch.targets_length);
        let enc = |name: &str, v: &[i32]| flat_ids(name, v, n, li, device);
        let dec = |name: &str, v: &[i32]| flat_ids(name, v, n, lt, device);
        let input_segments = enc("encoder_segment_ids", &batch.encoder_segment_ids)?;
        let weights = dec("decoder_loss_weights", &batch.decoder_loss_weights)?;
        let targets = dec("decoder_target_tokens", &batch.decoder_target_tokens)?;
        Ok(Seq2SeqBatch {
            input_ids: enc("encoder_input_tokens", &batch.encoder_input_tokens)?,
            input_mask: Some(input_segments.gt(0).to_kind(Kind::Int64)),
            decoder_input_ids: dec("decoder_input_tokens", &batch.decoder_input_tokens)?,
            decoder_mask: None,
            labels: targets.masked_fill(&weights.eq(0), -100),
            input_segments: Some(input_segments),
            decoder_segments: Some(dec("decoder_segment_ids", &batch.decoder_segment_ids)?),
        })
    }

    pub fn to_device(&self, device: tch::Device) -> Seq2SeqBatch {
        let opt = |t: &Option<Tensor>| t.as_ref().map(|m| m.to_device(device));
        Seq2SeqBatch {
            input_ids: self.input_ids.to_device(device),
            input_mask: opt(&self.input_mask),
            decoder_input_ids: self.decoder_input_ids.to_device(device),
            decoder_mask: opt(&self.decoder_mask),
            labels: self.labels.to_device(device),
            input_segments: opt(&self.input_segments),
            decoder_segments: opt(&self.decoder_segments),
        }
    }
}

/// A flat row-major `[rows * len]` vector as an int64 `[rows, len]` tensor
/// on `device`.
fn flat_ids(name: &str, v: &[i32], rows: usize, len: usize, device: tch::Device) -> Result<Tensor> {
    if v.len() != rows * len {
        return Err(Error::Input(format!(
            "batch field {name} has {} values, not {rows} rows of {len}",
            v.len()
        )));
    }
    let t = Tensor::from_slice(v)
        .view([rows as i64, len as i64])
        .to_kind(Kind::Int64);
    Ok(ids_to_device(t, device))
}

/// A host tensor of ids on `device` without the host waiting: pinned
/// memory and a non-blocking copy, as the benchmark's data does (a copy
/// from pageable memory waits for every queued step first).
pub fn ids_to_device(t: Tensor, device: tch::Device) -> Tensor {
    match device {
        tch::Device::Cpu => t,
        d => t.pin_memory(d).to_device_(d, t.kind(), true, false),
    }
}

/// transformers' `_shift_right`: prepend the start id, drop the last label,
/// and turn ignored (-100) labels into padding.
pub fn shift_right(labels: &Tensor, start_id: i64, pad_id: i64) -> Tensor {
    let (b, n) = labels.size2().unwrap_or((0, 0));
    let start = Tensor::full([b, 1], start_id, (Kind::Int64, labels.device()));
    let shifted = Tensor::cat(&[start, labels.narrow(1, 0, (n - 1).max(0))], 1);
    shifted.masked_fill(&shifted.lt(0), pad_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(t: &Tensor) -> Vec<Vec<i64>> {
        let t = t.squeeze_dim(0).squeeze_dim(0).to_kind(Kind::Int64);
        let (n, _) = t.size2().unwrap_or((0, 0));
        (0..n)
            .map(|i| Vec::<i64>::try_from(t.get(i)).unwrap_or_default())
            .collect()
    }

    #[test]
    fn segment_masks_keep_examples_apart_and_no_row_empty() {
        let enc = Tensor::from_slice(&[1i64, 1, 2, 2, 2]).view([1, 5]);
        let dec = Tensor::from_slice(&[1i64, 2, 2, 0]).view([1, 4]);
        assert_eq!(
            rows(&segment_self_mask(&enc)),
            vec![
                vec![1, 1, 0, 0, 0],
                vec![1, 1, 0, 0, 0],
                vec![0, 0, 1, 1, 1],
                vec![0, 0, 1, 1, 1],
                vec![0, 0, 1, 1, 1],
            ]
        );
        // The decoder padding query (segment 0) sees the padding key (itself).
        assert_eq!(
            rows(&segment_self_mask(&dec)),
            vec![
                vec![1, 0, 0, 0],
                vec![0, 1, 1, 0],
                vec![0, 1, 1, 0],
                vec![0, 0, 0, 1],
            ]
        );
        // No encoder padding: the decoder padding query sees every key.
        assert_eq!(
            rows(&segment_cross_mask(&dec, &enc)),
            vec![
                vec![1, 1, 0, 0, 0],
                vec![0, 0, 1, 1, 1],
                vec![0, 0, 1, 1, 1],
                vec![1, 1, 1, 1, 1],
            ]
        );
        // Encoder padding is never seen by a real decoder query.
        let enc = Tensor::from_slice(&[1i64, 0]).view([1, 2]);
        let dec = Tensor::from_slice(&[1i64, 0]).view([1, 2]);
        assert_eq!(
            rows(&segment_cross_mask(&dec, &enc)),
            vec![vec![1, 0], vec![1, 1]]
        );
    }
}
