//! Model FLOPs of one T5 training example, and the bf16 peaks of the cards
//! that utilisation is measured against.
//!
//! How we count (the convention of the project's performance anchors, so
//! that our utilisation figures compare with nanoT5's and T5X's):
//! - every matmul costs 2 FLOPs per weight per token it is applied to;
//! - the embedding lookup is free, the LM head is a matmul over the padded
//!   vocabulary (32128 rows);
//! - attention scores count both `Q K^T` and `weights V`
//!   (2 * q_len * k_len * heads * d_kv each), over the full square even in
//!   the causal decoder (the kernels compute it);
//! - norms, activations, softmax, the loss and the optimizer are not counted;
//! - a training step is the forward pass times 3 (backward = 2 x forward).
//!
//! Lengths are the padded batch shape (the work the device does), so
//! padding is counted as work: use full-length batches to keep MFU honest.
//! This gives 425.9 GFLOP per T5.1.1-base example at 512/114 and 1467.7 for
//! T5.1.1-large, the anchors in the guide; `6 * params * tokens` would give
//! about twice as much for T5 because most parameters see only one stack.

use crate::model::T5Config;

/// Forward FLOPs of one example, by part.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForwardFlops {
    /// Encoder projections and feed-forward blocks.
    pub encoder: f64,
    /// Cross-attention keys and values (computed from encoder tokens).
    pub cross_kv: f64,
    /// Decoder projections (self q/k/v/o, cross q/o) and feed-forward.
    pub decoder: f64,
    /// The LM head.
    pub lm_head: f64,
    /// `Q K^T` and `weights V` in every attention layer.
    pub attention: f64,
}

impl ForwardFlops {
    pub fn total(&self) -> f64 {
        self.encoder + self.cross_kv + self.decoder + self.lm_head + self.attention
    }

    /// Training FLOPs of one example: forward x 3.
    pub fn train(&self) -> f64 {
        3.0 * self.total()
    }
}

/// Counts the forward FLOPs of one example with `inputs` encoder and
/// `targets` decoder positions.
pub fn forward_flops(cfg: &T5Config, inputs: i64, targets: i64) -> ForwardFlops {
    let gated = cfg.ffn().map(|(g, _)| g).unwrap_or(false);
    let d = cfg.d_model as f64;
    let inner = (cfg.num_heads * cfg.d_kv) as f64;
    let ffn = if gated { 3.0 } else { 2.0 } * d * cfg.d_ff as f64;
    let (le, ld) = (inputs as f64, targets as f64);
    let (ne, nd) = (cfg.num_layers as f64, cfg.decoder_layers() as f64);
    // 2 FLOPs per weight per token.
    let encoder = 2.0 * le * ne * (4.0 * d * inner + ffn);
    let cross_kv = 2.0 * le * nd * (2.0 * d * inner);
    // Self-attention q, k, v, o and cross-attention q, o per decoder token.
    let decoder = 2.0 * ld * nd * (6.0 * d * inner + ffn);
    let lm_head = 2.0 * ld * d * cfg.vocab_size as f64;
    // Two matmuls of 2 * q * k * inner per attention layer.
    let scores = |q: f64, k: f64| 2.0 * 2.0 * q * k * inner;
    let attention = ne * scores(le, le) + nd * (scores(ld, ld) + scores(ld, le));
    ForwardFlops {
        encoder,
        cross_kv,
        decoder,
        lm_head,
        attention,
    }
}

/// Dense bf16 peak (TFLOP/s, no sparsity) of a GPU by the name
/// `nvidia-smi` reports; `None` for cards not in the table. Vendor data
/// sheets; the SXM parts first because "H100" alone most often means SXM.
pub fn bf16_peak_tflops(device_name: &str) -> Option<f64> {
    let n = device_name.to_ascii_lowercase();
    // (substring, peak): the first match wins, so specific names come first.
    const TABLE: &[(&str, f64)] = &[
        ("h100 pcie", 756.0),
        ("h100 nvl", 835.0),
        ("gh200", 989.0),
        ("h200", 989.0),
        ("h100", 989.0),
        ("h800", 989.0),
        ("b200", 2250.0),
        ("a100", 312.0),
        ("a800", 312.0),
        ("l40s", 362.0),
        ("l4", 121.0),
    ];
    TABLE
        .iter()
        .find(|(key, _)| n.contains(key))
        .map(|&(_, peak)| peak)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gflop(x: f64) -> f64 {
        x / 1e9
    }

    #[test]
    fn base_matches_the_426_gflop_anchor_part_by_part() {
        let cfg = T5Config::t5_1_1("base").unwrap();
        let f = forward_flops(&cfg, 512, 114);
        // The guide's breakdown: encoder 87, cross K/V 14.5, decoder 22.6,
        // LM head 5.6, attention scores 12.3; forward 142; train 426.
        let parts = [
            (f.encoder, 87.0),
            (f.cross_kv, 14.5),
            (f.decoder, 22.6),
            (f.lm_head, 5.6),
            (f.attention, 12.3),
            (f.total(), 142.0),
            (f.train(), 426.0),
        ];
        for (got, want) in parts {
            assert!(
                (gflop(got) - want).abs() / want < 0.01,
                "{} vs {want}",
                gflop(got)
            );
        }
    }

    #[test]
    fn large_matches_the_1468_gflop_anchor() {
        let cfg = T5Config::t5_1_1("large").unwrap();
        let got = gflop(forward_flops(&cfg, 512, 114).train());
        assert!((got - 1468.0).abs() < 1.0, "{got}");
    }

    #[test]
    fn six_n_t_overstates_t5() {
        // The reason we do not use 6 * params * tokens.
        let cfg = T5Config::t5_1_1("base").unwrap();
        let six_nt = 6.0 * cfg.num_parameters() as f64 * (512.0 + 114.0);
        let ours = forward_flops(&cfg, 512, 114).train();
        assert!(six_nt / ours > 1.9, "{}", six_nt / ours);
    }

    #[test]
    fn peaks_by_name() {
        assert_eq!(bf16_peak_tflops("NVIDIA H100 80GB HBM3"), Some(989.0));
        assert_eq!(bf16_peak_tflops("NVIDIA H100 PCIe"), Some(756.0));
        assert_eq!(bf16_peak_tflops("NVIDIA H200"), Some(989.0));
        assert_eq!(bf16_peak_tflops("NVIDIA A100-SXM4-80GB"), Some(312.0));
        assert_eq!(bf16_peak_tflops("cpu"), None);
    }
}
