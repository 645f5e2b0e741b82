//! The building blocks of T5: RMS layer norm, the (gated) feed-forward
//! block and multi-head attention with T5's relative position buckets.
//!
//! Every numeric detail follows transformers' `modeling_t5.py`, which is
//! what the parity goldens check: no `1/sqrt(d)` in attention, softmax in
//! float32, layer norm without mean subtraction or bias, computed in float32.

use tch::{nn, Kind, Tensor};

use super::config::Activation;

/// Input and output names and sizes of a bias-free projection; the weight is
/// `[out, in]` as in `torch.nn.Linear`.
fn linear(p: &nn::Path, name: &str, d_in: i64, d_out: i64, std: f64) -> Tensor {
    (p / name).var(
        "weight",
        &[d_out, d_in],
        nn::Init::Randn {
            mean: 0.0,
            stdev: std,
        },
    )
}

/// T5's layer norm: scale only, root mean square only.
#[derive(Debug)]
pub struct RmsNorm {
    weight: Tensor,
    eps: f64,
}

impl RmsNorm {
    pub fn new(p: &nn::Path, d: i64, eps: f64) -> Self {
        RmsNorm {
            weight: p.var("weight", &[d], nn::Init::Const(1.0)),
            eps,
        }
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        // The variance in float32 even for bf16 activations, as T5 does.
        let var = x
            .to_kind(Kind::Float)
            .square()
            .mean_dim(-1, true, Kind::Float);
        let y = x.to_kind(Kind::Float) * (var + self.eps).rsqrt();
        y.to_kind(self.weight.kind()) * &self.weight
    }
}

/// The position-wise feed-forward block (`DenseReluDense`).
#[derive(Debug)]
pub struct FeedForward {
    /// `wi` (plain) or `wi_0` (gated: the activated half).
    wi: Tensor,
    /// `wi_1`, the linear half of a gated block.
    wi_gate: Option<Tensor>,
    wo: Tensor,
    act: Activation,
    dropout: f64,
}

impl FeedForward {
    pub fn new(
        p: &nn::Path,
        d_model: i64,
        d_ff: i64,
        gated: bool,
        act: Activation,
        dropout: f64,
        factor: f64,
    ) -> Self {
        let in_std = factor * (d_model as f64).powf(-0.5);
        let out_std = factor * (d_ff as f64).powf(-0.5);
        let (wi, wi_gate) = if gated {
            (
                linear(p, "wi_0", d_model, d_ff, in_std),
                Some(linear(p, "wi_1", d_model, d_ff, in_std)),
            )
        } else {
            (linear(p, "wi", d_model, d_ff, in_std), None)
        };
        let wo = linear(p, "wo", d_ff, d_model, out_std);
        FeedForward {
            wi,
            wi_gate,
            wo,
            act,
            dropout,
        }
    }

    pub fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        let h = activate(&x.linear::<Tensor>(&self.wi, None), self.act);
        let h = match &self.wi_gate {
            Some(g) => h * x.linear::<Tensor>(g, None),
            None => h,
        };
        h.dropout(self.dropout, train)
            .linear::<Tensor>(&self.wo, None)
    }
}

fn activate(x: &Tensor, act: Activation) -> Tensor {
    match act {
        Activation::Relu => x.relu(),
        Activation::GeluTanh => x.gelu("tanh"),
        Activation::Gelu => x.gelu("none"),
        Activation::Silu => x.silu(),
    }
}

/// Cached keys and values of one attention layer, `[batch, heads, len, d_kv]`.
#[derive(Debug)]
pub struct KeyValue {
    pub k: Tensor,
    pub v: Tensor,
}

impl KeyValue {
    /// Keeps the rows `index` (beam search reorders hypotheses).
    pub fn select(&self, index: &Tensor) -> KeyValue {
        KeyValue {
            k: self.k.index_select(0, index),
            v: self.v.index_select(0, index),
        }
    }
}

/// Multi-head attention; block 0 of each stack also owns the relative
/// position bias table that all its layers share.
#[derive(Debug)]
pub struct Attention {
    q: Tensor,
    k: Tensor,
    v: Tensor,
    o: Tensor,
    rel_bias: Option<Tensor>,
    heads: i64,
    d_kv: i64,
    dropout: f64,
}

/// How positions turn into buckets for one stack.
#[derive(Debug, Clone, Copy)]
pub struct Buckets {
    pub bidirectional: bool,
    pub num: i64,
    pub max_distance: i64,
}

impl Attention {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        p: &nn::Path,
        d_model: i64,
        heads: i64,
        d_kv: i64,
        with_bias: Option<i64>,
        dropout: f64,
        factor: f64,
    ) -> Self {
        let inner = heads * d_kv;
        // transformers' _init_weights (Mesh TF's scheme).
        let q_std = factor * ((d_model * d_kv) as f64).powf(-0.5);
        let kv_std = factor * (d_model as f64).powf(-0.5);
        let o_std = factor * (inner as f64).powf(-0.5);
        let rel_bias = with_bias.map(|num| {
            (p / "relative_attention_bias").var(
                "weight",
                &[num, heads],
                nn::Init::Randn {
                    mean: 0.0,
                    stdev: kv_std,
                },
            )
        });
        Attention {
            q: linear(p, "q", d_model, inner, q_std),
            k: linear(p, "k", d_model, inner, kv_std),
            v: linear(p, "v", d_model, inner, kv_std),
            o: linear(p, "o", inner, d_model, o_std),
            rel_bias,
            heads,
            d_kv,
            dropout,
        }
    }

    /// `[b, len, heads*d_kv]` -> `[b, heads, len, d_kv]`.
    fn split(&self, x: &Tensor) -> Tensor {
        let (b, n, _) = x.size3().unwrap_or((0, 0, 0));
        x.view([b, n, self.heads, self.d_kv]).transpose(1, 2)
    }

    /// Keys and values of `source` (the encoder output for cross-attention).
    pub fn key_value(&self, source: &Tensor) -> KeyValue {
        KeyValue {
            k: self.split(&source.linear::<Tensor>(&self.k, None)),
            v: self.split(&source.linear::<Tensor>(&self.v, None)),
        }
    }

    /// Attends from `x` to `kv` with the additive `bias`
    /// (`[b or 1, heads or 1, q, k]`: relative positions plus masks).
    pub fn attend(&self, x: &Tensor, kv: &KeyValue, bias: &Tensor, train: bool) -> Tensor {
        let q = self.split(&x.linear::<Tensor>(&self.q, None));
        // No 1/sqrt(d_kv): Mesh TF folds it into the initialisation of q.
        let scores = q.matmul(&kv.k.transpose(-1, -2)) + bias;
        let weights = scores
            .softmax(-1, Kind::Float)
            .to_kind(q.kind())
            .dropout(self.dropout, train);
        let out = weights.matmul(&kv.v);
        let (b, _, n, _) = out.size4().unwrap_or((0, 0, 0, 0));
        out.transpose(1, 2)
            .contiguous()
            .view([b, n, self.heads * self.d_kv])
            .linear::<Tensor>(&self.o, None)
    }

    /// The relative position bias `[1, heads, q_len, k_len]` for queries at
    /// positions `offset..offset+q_len` and keys at `0..k_len`; zeros when
    /// this layer has no table.
    pub fn position_bias(
        &self,
        q_len: i64,
        k_len: i64,
        offset: i64,
        buckets: Buckets,
        kind: Kind,
    ) -> Tensor {
        let Some(table) = &self.rel_bias else {
            return Tensor::zeros([1, self.heads, q_len, k_len], (kind, self.q.device()));
        };
        let dev = table.device();
        let context = Tensor::arange_start(offset, offset + q_len, (Kind::Int64, dev)).unsqueeze(1);
        let memory = Tensor::arange(k_len, (Kind::Int64, dev)).unsqueeze(0);
        let b = relative_position_bucket(&(memory - context), buckets);
        Tensor::embedding(table, &b, -1, false, false)
            .permute([2, 0, 1])
            .unsqueeze(0)
            .to_kind(kind)
    }
}

/// T5's bucketing of `key - query` distances: exact buckets for small
/// distances, logarithmic ones up to `max_distance`, and (bidirectional)
/// separate halves for keys before and after the query. Tensor ops in the
/// same order as transformers so the float32 rounding of the log matches.
pub fn relative_position_bucket(relative: &Tensor, b: Buckets) -> Tensor {
    let mut num = b.num;
    let mut out = relative.zeros_like();
    let rel = if b.bidirectional {
        num /= 2;
        out += relative.gt(0).to_kind(Kind::Int64) * num;
        relative.abs()
    } else {
        -relative.clamp_max(0)
    };
    let max_exact = num / 2;
    let is_small = rel.lt(max_exact);
    let scale = (b.max_distance as f64 / max_exact as f64).ln();
    let large = ((rel.to_kind(Kind::Float) / max_exact as f64).log() / scale
        * (num - max_exact) as f64)
        .to_kind(Kind::Int64)
        + max_exact;
    let large = large.clamp_max(num - 1);
    out + rel.where_self(&is_small, &large)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_match_known_values() {
        // Hand-checked against transformers' _relative_position_bucket.
        let rel = Tensor::from_slice(&[-200i64, -20, -3, 0, 3, 20, 200]);
        let bi = relative_position_bucket(
            &rel,
            Buckets {
                bidirectional: true,
                num: 32,
                max_distance: 128,
            },
        );
        assert_eq!(
            Vec::<i64>::try_from(&bi).unwrap(),
            vec![15, 10, 3, 0, 19, 26, 31]
        );
        let uni = relative_position_bucket(
            &rel,
            Buckets {
                bidirectional: false,
                num: 32,
                max_distance: 128,
            },
        );
        assert_eq!(
            Vec::<i64>::try_from(&uni).unwrap(),
            vec![31, 17, 3, 0, 0, 0, 0]
        );
    }
}
