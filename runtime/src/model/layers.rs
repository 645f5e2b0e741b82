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

/// How the RMS norm is computed. Both give T5's norm with the mean of
/// squares in float32; they differ in kernels and, for bf16, in rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NormImpl {
    /// Square, mean, rsqrt, scale, one op each: transformers'
    /// `T5LayerNorm` op for op (the normalised activations are rounded to
    /// the weight's dtype before the weight multiplies them), and what the
    /// parity goldens are checked with.
    #[default]
    Composite,
    /// libtorch's `rms_norm`, which runs its fused kernel
    /// (`_fused_rms_norm`, forward and backward) on CUDA: one pass over the
    /// activations instead of about six. The weight multiplies in float32
    /// and the result is rounded once, so bf16 outputs can differ from
    /// `Composite` by one bf16 rounding step.
    Fused,
}

impl NormImpl {
    pub fn name(self) -> &'static str {
        match self {
            NormImpl::Composite => "composite",
            NormImpl::Fused => "fused",
        }
    }
}

/// T5's layer norm: scale only, root mean square only.
#[derive(Debug)]
pub struct RmsNorm {
    weight: Tensor,
    eps: f64,
    imp: NormImpl,
}

impl RmsNorm {
    pub fn new(p: &nn::Path, d: i64, eps: f64) -> Self {
        RmsNorm {
            weight: p.var("weight", &[d], nn::Init::Const(1.0)),
            eps,
            imp: NormImpl::Composite,
        }
    }

    pub fn set_impl(&mut self, imp: NormImpl) {
        self.imp = imp;
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        if self.imp == NormImpl::Fused {
            let d = self.weight.size();
            return x.rms_norm(d.as_slice(), Some(&self.weight), self.eps);
        }
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

/// How attention weights are computed. All three give T5's attention
/// (additive float bias, scale 1, softmax in float32); they differ in the
/// kernels and therefore in speed and memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AttentionImpl {
    /// `matmul`, `+ bias`, float32 `softmax`, `matmul`: transformers' eager
    /// path op for op, and what the parity goldens are checked with.
    #[default]
    Math,
    /// `scaled_dot_product_attention` with the bias as a float mask and
    /// scale 1; libtorch picks the backend (on CPU, with a bias that needs a
    /// gradient, it picks its math kernel).
    Sdpa,
    /// `_scaled_dot_product_efficient_attention` called directly (CUDA
    /// only): the memory-efficient kernel returns the bias gradient, which
    /// the relative position table needs; cuDNN attention, which libtorch's
    /// own choice prefers on sm90, does not, and flash takes no bias.
    MemEfficient,
}

impl AttentionImpl {
    pub fn name(self) -> &'static str {
        match self {
            AttentionImpl::Math => "math",
            AttentionImpl::Sdpa => "sdpa",
            AttentionImpl::MemEfficient => "mem-efficient",
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
    imp: AttentionImpl,
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
            imp: AttentionImpl::Math,
        }
    }

    /// Selects the attention kernels (see [`AttentionImpl`]).
    pub fn set_impl(&mut self, imp: AttentionImpl) {
        self.imp = imp;
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
        let p = if train { self.dropout } else { 0.0 };
        let out = attention(&q, &kv.k, &kv.v, bias, p, self.imp);
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
        // Contiguous: the permuted embedding has its key dimension at stride
        // `heads`, which the memory-efficient kernel refuses and which every
        // bias sum (the masks are added to it) would inherit.
        Tensor::embedding(table, &b, -1, false, false)
            .permute([2, 0, 1])
            .contiguous()
            .unsqueeze(0)
            .to_kind(kind)
    }
}

/// Attention weights applied to `v`: `softmax(q k^T + bias) v` with no
/// `1/sqrt(d_kv)` (Mesh TF folds it into the initialisation of q).
/// `q`, `k`, `v` are `[b, heads, len, d_kv]`; `bias` broadcasts to
/// `[b, heads, q_len, k_len]`; `dropout` applies to the weights.
pub fn attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    bias: &Tensor,
    dropout: f64,
    imp: AttentionImpl,
) -> Tensor {
    match imp {
        AttentionImpl::Math => {
            let scores = q.matmul(&k.transpose(-1, -2)) + bias;
            scores
                .softmax(-1, Kind::Float)
                .to_kind(q.kind())
                .dropout(dropout, dropout > 0.0)
                .matmul(v)
        }
        AttentionImpl::Sdpa => Tensor::scaled_dot_product_attention(
            q,
            k,
            v,
            Some(bias.to_kind(q.kind())),
            dropout,
            false,
            1.0,
            false,
        ),
        AttentionImpl::MemEfficient => {
            let bias = efficient_bias(bias, q, k);
            // The log-sum-exp is what the backward kernel needs.
            let grad = q.requires_grad() || bias.requires_grad();
            let (out, _, _, _) = Tensor::internal_scaled_dot_product_efficient_attention(
                q,
                k,
                v,
                Some(&bias),
                grad,
                dropout,
                false,
                1.0,
            );
            out
        }
    }
}

/// The bias as the memory-efficient kernel requires it, which the public
/// `scaled_dot_product_attention` would do for us (libtorch's
/// `preprocess_mask`): the key dimension at stride 1 and every other stride
/// a multiple of 16 elements (a contiguous copy, padded on the key
/// dimension and sliced back), expanded to `[b, h, q, k]`. The kernel
/// checks the strides, not only the length, and throws on a bias it cannot
/// read.
fn efficient_bias(bias: &Tensor, q: &Tensor, k: &Tensor) -> Tensor {
    let (b, h, nq, _) = q.size4().unwrap_or((0, 0, 0, 0));
    let nk = k.size().get(2).copied().unwrap_or(0);
    let bias = bias.to_kind(q.kind());
    let bias = if efficient_aligned(&bias) {
        bias
    } else {
        // Contiguous first: a pad keeps a permuted input's layout.
        let pad = (EFFICIENT_ALIGN - nk % EFFICIENT_ALIGN) % EFFICIENT_ALIGN;
        bias.contiguous()
            .constant_pad_nd([0, pad])
            .narrow(-1, 0, nk)
    };
    bias.expand([b, h, nq, nk], false)
}

/// The alignment, in elements, of the memory-efficient kernel's bias rows.
const EFFICIENT_ALIGN: i64 = 16;

/// Whether the memory-efficient kernel can read `bias` as laid out
/// (libtorch's `aligned_tensor`; a broadcast dimension has stride 0).
fn efficient_aligned(bias: &Tensor) -> bool {
    let strides = bias.stride();
    match strides.split_last() {
        Some((&last, rest)) => last == 1 && rest.iter().all(|s| s % EFFICIENT_ALIGN == 0),
        None => false,
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

    /// The biases the model hands the memory-efficient kernel, as the
    /// kernel checks them: key stride 1, other strides multiples of 16, the
    /// values unchanged. A permuted embedding (the position bias before it
    /// was made contiguous) and a sum with a padding mask included.
    #[test]
    fn efficient_bias_is_laid_out_as_the_kernel_checks() {
        let opts = (Kind::Float, tch::Device::Cpu);
        for nk in [50i64, 64] {
            let q = Tensor::zeros([2, 4, 40, 8], opts);
            let k = Tensor::zeros([2, 4, nk, 8], opts);
            let permuted = Tensor::randn([40, nk, 4], opts)
                .permute([2, 0, 1])
                .unsqueeze(0);
            let mask = Tensor::arange(nk, opts).ge(nk - 3).view([1, 1, 1, nk]) * -1e9;
            let mask = mask.expand([2, 1, 1, nk], false);
            for bias in [
                permuted.shallow_clone(),
                &permuted + &mask,
                permuted.contiguous(),
            ] {
                let out = efficient_bias(&bias, &q, &k);
                assert!(
                    efficient_aligned(&out),
                    "nk {nk}: strides {:?}",
                    out.stride()
                );
                assert_eq!(out.size(), [2, 4, 40, nk]);
                let want = bias.expand([2, 4, 40, nk], false);
                assert!(out.equal(&want), "nk {nk}: values changed");
            }
        }
        // A permuted bias is not aligned as it comes; a contiguous 64-wide one is.
        let permuted = Tensor::zeros([40, 64, 4], opts)
            .permute([2, 0, 1])
            .unsqueeze(0);
        assert!(!efficient_aligned(&permuted));
        assert!(efficient_aligned(&permuted.contiguous()));
    }

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

    /// Output and the gradients of q and of the bias of `imp`, for a
    /// T5-shaped problem (bias with a batch-wide mask part and a trainable
    /// `[1, h, q, k]` part, as the encoder and decoder build it).
    /// Deterministic values in [-1, 1] without libtorch's RNG, which tests on
    /// other threads share: seeding it would not make two calls equal.
    fn det(shape: &[i64], salt: f64) -> Tensor {
        let n: i64 = shape.iter().product();
        (Tensor::arange(n, (Kind::Float, tch::Device::Cpu)) * 0.754_877_666 + salt)
            .sin()
            .view(shape)
    }

    fn run(imp: AttentionImpl, kind: Kind) -> (Tensor, Tensor, Tensor) {
        let q = det(&[2, 4, 9, 8], 0.1)
            .to_kind(kind)
            .set_requires_grad(true);
        let k = det(&[2, 4, 13, 8], 0.2).to_kind(kind);
        let v = det(&[2, 4, 13, 8], 0.3).to_kind(kind);
        let table = (det(&[1, 4, 9, 13], 0.4) * 3.0)
            .to_kind(kind)
            .set_requires_grad(true);
        // A fixed mask (two of every three keys kept): never a whole row masked,
        // where the kernels legitimately differ.
        let keep = Tensor::arange(13, (Kind::Int64, tch::Device::Cpu))
            .remainder(3)
            .ne(1)
            .view([1, 1, 1, 13])
            .repeat([2, 1, 1, 1]);
        let mask = keep.logical_not().to_kind(kind) * -1e30;
        let out = attention(&q, &k, &v, &(&table + mask), 0.0, imp);
        out.to_kind(Kind::Float)
            .square()
            .sum(Kind::Float)
            .backward();
        (
            out.to_kind(Kind::Float),
            q.grad().to_kind(Kind::Float),
            table.grad().to_kind(Kind::Float),
        )
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
        (a - b).abs().max().double_value(&[])
    }

    #[test]
    fn sdpa_matches_math_forward_and_bias_gradient() {
        let (o1, gq1, gb1) = run(AttentionImpl::Math, Kind::Float);
        let (o2, gq2, gb2) = run(AttentionImpl::Sdpa, Kind::Float);
        assert!(
            gb1.abs().max().double_value(&[]) > 1e-3,
            "the bias must get a gradient"
        );
        assert!(max_diff(&o1, &o2) < 1e-5, "{}", max_diff(&o1, &o2));
        assert!(max_diff(&gq1, &gq2) < 1e-4, "{}", max_diff(&gq1, &gq2));
        assert!(max_diff(&gb1, &gb2) < 1e-5, "{}", max_diff(&gb1, &gb2));
        // bf16: the same within bf16 rounding (8 bits of mantissa).
        let (o3, _, gb3) = run(AttentionImpl::Sdpa, Kind::BFloat16);
        assert!(max_diff(&o1, &o3) < 0.05, "{}", max_diff(&o1, &o3));
        let rel = max_diff(&gb1, &gb3) / gb1.abs().max().double_value(&[]);
        assert!(rel < 0.05, "{rel}");
    }

    #[test]
    fn cpu_sdpa_backend_choice_is_reported() {
        // 0 = math, 1 = flash, 2 = memory-efficient, 3 = cuDNN. On CPU a
        // bias that needs a gradient keeps libtorch on its math kernel.
        let opts = (Kind::Float, tch::Device::Cpu);
        let q = Tensor::randn([1, 2, 4, 8], opts);
        let bias = Tensor::zeros([1, 2, 4, 4], opts).set_requires_grad(true);
        let choice =
            Tensor::internal_fused_sdp_choice(&q, &q, &q, Some(&bias), 0.0, false, 1.0, false);
        assert_eq!(choice, 0);
    }
}
