//! Sequence-to-sequence losses: token cross-entropy with optional label
//! smoothing and T5X's z-loss, averaged over the tokens that count.
//!
//! Labels follow transformers: a negative id (-100) marks a position that
//! does not count. A batch with no counted token gives a loss of exactly 0
//! (the denominator is clamped to 1), never NaN.

// `t += x` is an in-place add on tch tensors, which breaks autograd when `t`
// is saved for backward; keep the out-of-place `t = t + x`.
#![allow(clippy::assign_op_pattern)]

use tch::{Kind, Tensor};

/// Options of [`seq2seq_loss`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LossConfig {
    /// PyTorch's `label_smoothing`: the target distribution puts
    /// `1 - eps + eps / V` on the label and `eps / V` on every other class.
    pub label_smoothing: f64,
    /// T5X's auxiliary `z_loss * log(Z)^2` per token (T5X uses 1e-4).
    pub z_loss: f64,
}

/// The parts of a loss; `loss` is the one to differentiate.
#[derive(Debug)]
pub struct LossOutput {
    /// Mean over counted tokens of cross-entropy (+ z-loss).
    pub loss: Tensor,
    /// The same summed over counted tokens (what a step's loss is built of:
    /// micro-batches and ranks add their sums, divided by the step's tokens).
    pub sum: Tensor,
    /// Sum of the plain negative log-likelihood over counted tokens.
    pub nll_sum: Tensor,
    /// Number of counted tokens (float).
    pub tokens: Tensor,
    /// Plain negative log-likelihood per token `[b, n]`, 0 where not counted
    /// (detached: for reporting the loss per task).
    pub nll: Tensor,
}

/// Token-level loss for logits `[b, n, V]` and labels `[b, n]`.
pub fn seq2seq_loss(logits: &Tensor, labels: &Tensor, cfg: LossConfig) -> LossOutput {
    let logits = logits.to_kind(Kind::Float);
    let mask = labels.ge(0).to_kind(Kind::Float);
    let safe = labels.clamp_min(0).unsqueeze(-1);
    let log_z = logits.logsumexp([-1].as_slice(), false);
    let label_logit = logits.gather(-1, &safe, false).squeeze_dim(-1);
    let nll = &log_z - label_logit;
    let mut per_token = if cfg.label_smoothing > 0.0 {
        // -mean_c log p_c = log Z - mean_c logit_c
        let smooth = &log_z - logits.mean_dim(-1, false, Kind::Float);
        &nll * (1.0 - cfg.label_smoothing) + smooth * cfg.label_smoothing
    } else {
        nll.shallow_clone()
    };
    if cfg.z_loss > 0.0 {
        per_token = per_token + log_z.square() * cfg.z_loss;
    }
    let tokens = mask.sum(Kind::Float);
    let sum = (per_token * &mask).sum(Kind::Float);
    let loss = &sum / tokens.clamp_min(1.0);
    let nll = nll * &mask;
    LossOutput {
        loss,
        sum,
        nll_sum: nll.sum(Kind::Float),
        tokens,
        nll: nll.detach(),
    }
}

/// Per-sequence summed negative log-likelihood and counted-token numbers
/// (`[b]` each), for scoring and rank classification.
pub fn sequence_nll(logits: &Tensor, labels: &Tensor) -> (Tensor, Tensor) {
    let logp = logits.to_kind(Kind::Float).log_softmax(-1, Kind::Float);
    let mask = labels.ge(0).to_kind(Kind::Float);
    let picked = logp
        .gather(-1, &labels.clamp_min(0).unsqueeze(-1), false)
        .squeeze_dim(-1);
    let nll = -(picked * &mask).sum_dim_intlist(-1, false, Kind::Float);
    (nll, mask.sum_dim_intlist(-1, false, Kind::Float))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_padding_gives_zero_not_nan() {
        let logits = Tensor::randn([2, 3, 7], (Kind::Float, tch::Device::Cpu));
        let labels = Tensor::full([2, 3], -100, (Kind::Int64, tch::Device::Cpu));
        let cfg = LossConfig {
            label_smoothing: 0.1,
            z_loss: 1e-4,
        };
        let out = seq2seq_loss(&logits, &labels, cfg);
        assert_eq!(out.loss.double_value(&[]), 0.0);
        assert_eq!(out.tokens.double_value(&[]), 0.0);
    }

    #[test]
    fn smoothing_matches_pytorch_definition() {
        // Uniform logits: every term equals log V whatever the smoothing.
        let logits = Tensor::zeros([1, 2, 4], (Kind::Float, tch::Device::Cpu));
        let labels = Tensor::from_slice(&[1i64, -100]).view([1, 2]);
        let out = seq2seq_loss(
            &logits,
            &labels,
            LossConfig {
                label_smoothing: 0.3,
                z_loss: 0.0,
            },
        );
        assert!((out.loss.double_value(&[]) - 4f64.ln()).abs() < 1e-6);
    }
}
