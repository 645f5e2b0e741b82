//! The SDPA attention path against the math path (the parity reference)
//! on the tiny transformers goldens: logits and every parameter's gradient,
//! the relative position tables' included (a fused kernel that dropped the
//! bias gradient would show there).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{assert_close, golden, model_dir};
use exc_runtime::checkpoint;
use exc_runtime::model::{seq2seq_loss, shift_right, AttentionImpl, LossConfig, Seq2SeqBatch};
use exc_runtime::optim;
use tch::{Device, Kind, Tensor};

/// Logits and (name, gradient) pairs of one backward pass with `imp`.
fn run(name: &str, imp: AttentionImpl) -> (Tensor, Vec<(String, Tensor)>) {
    let mut l = checkpoint::load_model(&model_dir(name), Device::Cpu, Kind::Float).unwrap();
    l.model.set_attention(imp);
    let g = golden(name);
    let labels = g.get("labels");
    let b = Seq2SeqBatch {
        input_ids: g.get("input_ids"),
        input_mask: Some(g.get("input_mask")),
        decoder_input_ids: shift_right(&labels, 0, 0),
        decoder_mask: None,
        labels,
        input_segments: None,
        decoder_segments: None,
    };
    let logits = l.model.forward(&b, true).unwrap();
    seq2seq_loss(&logits, &b.labels, LossConfig::default())
        .loss
        .backward();
    let grads = optim::named_params(&l.vs)
        .into_iter()
        .map(|(n, p)| (n, p.grad().copy()))
        .collect();
    (logits.detach(), grads)
}

#[test]
fn sdpa_matches_math_on_the_goldens() {
    for name in ["t5_1_1_tiny", "t5_tiny"] {
        let (l1, g1) = run(name, AttentionImpl::Math);
        let (l2, g2) = run(name, AttentionImpl::Sdpa);
        assert_close(&format!("{name} sdpa logits"), &l2, &l1, 1e-5);
        assert_close(
            &format!("{name} sdpa logits vs golden"),
            &l2,
            &golden(name).get("logits"),
            1e-5,
        );
        let mut saw_bias = false;
        for ((n, a), (_, b)) in g1.iter().zip(g2.iter()) {
            assert_close(&format!("{name} grad {n}"), b, a, 1e-5);
            if n.contains("relative_attention_bias") {
                saw_bias = true;
                assert!(a.abs().max().double_value(&[]) > 0.0, "{n} has no gradient");
            }
        }
        assert!(saw_bias);
    }
}
