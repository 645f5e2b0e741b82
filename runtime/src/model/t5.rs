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
use super::layers::{Attention, AttentionImpl, Buckets, FeedForward, KeyValue, RmsNorm};
use crate::error::Result;

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
        })
    }

    /// Selects the attention kernels of every layer (default: the math
    /// path the parity goldens check; see [`AttentionImpl`]).
    pub fn set_attention(&mut self, imp: AttentionImpl) {
        for stack in [&mut self.encoder, &mut self.decoder] {
            for blk in &mut stack.blocks {
                blk.self_attn.set_impl(imp);
                if let Some((a, _)) = &mut blk.cross {
                    a.set_impl(imp);
                }
            }
        }
    }

    fn embed(&self, ids: &Tensor) -> Tensor {
        Tensor::embedding(&self.shared, ids, -1, false, false)
    }

    /// Encoder hidden states `[b, n, d_model]`; `mask` is `[b, n]`, 1 = token.
    pub fn encode(&self, ids: &Tensor, mask: Option<&Tensor>, train: bool) -> Result<Tensor> {
        let n = ids.size().last().copied().unwrap_or(0);
        let x = self.embed(ids);
        let mut bias = self.encoder.position_bias(n, n, 0, x.kind())?;
        if let Some(m) = mask {
            bias = bias + additive(&key_mask(m), x.kind());
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

    fn cross_bias(enc: &Tensor, enc_mask: Option<&Tensor>) -> Tensor {
        match enc_mask {
            Some(m) => additive(&key_mask(m), enc.kind()),
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
        let n = ids.size().last().copied().unwrap_or(0);
        let x = self.embed(ids);
        let dev = x.device();
        let causal = Tensor::ones([n, n], (Kind::Bool, dev))
            .tril(0)
            .unsqueeze(0)
            .unsqueeze(0);
        let keep = match mask {
            Some(m) => causal.logical_and(&key_mask(m)),
            None => causal,
        };
        let bias = self.decoder.position_bias(n, n, 0, x.kind())? + additive(&keep, x.kind());
        let kvs = self.cross_kv(enc);
        let cb = Self::cross_bias(enc, enc_mask);
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

    /// Logits for a teacher-forced batch.
    pub fn forward(&self, batch: &Seq2SeqBatch, train: bool) -> Result<Tensor> {
        let enc = self.encode(&batch.input_ids, batch.input_mask.as_ref(), train)?;
        let dec = self.decode(
            &batch.decoder_input_ids,
            batch.decoder_mask.as_ref(),
            &enc,
            batch.input_mask.as_ref(),
            train,
        )?;
        Ok(self.logits(&dec))
    }
}

/// A padded encoder-decoder batch. `labels` uses -100 (any negative id)
/// for positions that do not count in the loss, as transformers does.
#[derive(Debug)]
pub struct Seq2SeqBatch {
    pub input_ids: Tensor,
    pub input_mask: Option<Tensor>,
    pub decoder_input_ids: Tensor,
    pub decoder_mask: Option<Tensor>,
    pub labels: Tensor,
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
        }
    }

    pub fn to_device(&self, device: tch::Device) -> Seq2SeqBatch {
        Seq2SeqBatch {
            input_ids: self.input_ids.to_device(device),
            input_mask: self.input_mask.as_ref().map(|m| m.to_device(device)),
            decoder_input_ids: self.decoder_input_ids.to_device(device),
            decoder_mask: self.decoder_mask.as_ref().map(|m| m.to_device(device)),
            labels: self.labels.to_device(device),
        }
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
