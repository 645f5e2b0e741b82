//! Packed batches (several examples per row, seqio-style, from
//! `exc_data::pack::Batcher`) against each example run alone through
//! `Seq2SeqBatch::from_padded`: logits of every segment, the token-mean
//! loss and every parameter's gradient, for each attention kernel the
//! device offers.
//!
//! Weights are the committed tiny T5.1.1 (`golden/t5_1_1_tiny`, dropout 0)
//! and the examples are fixed token lists, so nothing depends on libtorch's
//! RNG (tests on other threads share it).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{assert_close, model_dir};
use exc_data::objective::Example;
use exc_data::pack::{Batch, Batcher, Batching};
use exc_runtime::checkpoint::{self, Loaded};
use exc_runtime::model::{seq2seq_loss, AttentionImpl, LossConfig, Seq2SeqBatch};
use exc_runtime::optim;
use tch::{Device, Kind, Tensor};

const INPUTS: usize = 24;
const TARGETS: usize = 12;

/// A deterministic example: tokens in 2..96 (the tiny vocabulary, no pad
/// and no EOS inside), then EOS (1).
fn example(salt: i32, n_in: usize, n_tg: usize) -> Example {
    let toks = |n: usize, s: i32| -> Vec<i32> {
        let mut v: Vec<i32> = (0..n as i32 - 1)
            .map(|k| 2 + (s * 31 + k * 17 + k * k * 7) % 94)
            .collect();
        v.push(1);
        v
    };
    Example {
        inputs: toks(n_in, salt),
        targets: toks(n_tg, salt + 100),
    }
}

/// Five examples that next-fit into two rows of 24 / 12: row 0 holds
/// (9, 4) and (15, 6), so its encoder has no padding while its decoder has
/// two padding positions (a decoder padding query with no encoder padding
/// key to look at); row 1 holds (5, 3), (8, 5), (3, 2).
fn examples() -> Vec<Example> {
    vec![
        example(1, 9, 4),
        example(2, 15, 6),
        example(3, 5, 3),
        example(4, 8, 5),
        example(5, 3, 2),
    ]
}

fn batch(mode: Batching, exs: &[Example]) -> Batch {
    let mut b = Batcher::new(2, INPUTS, TARGETS, mode);
    let mut out: Vec<Batch> = exs.iter().filter_map(|ex| b.push(ex.clone())).collect();
    out.extend(b.flush());
    assert_eq!(out.len(), 1, "the examples make one batch");
    out.pop().unwrap()
}

fn model(imp: AttentionImpl, device: Device) -> Loaded {
    let mut l = checkpoint::load_model(&model_dir("t5_1_1_tiny"), device, Kind::Float).unwrap();
    l.model.set_attention(imp);
    l
}

fn alone(ex: &Example, device: Device) -> Seq2SeqBatch {
    let t = |v: &[i32]| {
        Tensor::from_slice(v)
            .to_kind(Kind::Int64)
            .view([1, -1])
            .to_device(device)
    };
    Seq2SeqBatch::from_padded(&t(&ex.inputs), &t(&ex.targets), 0, 0)
}

/// (row, first decoder position, length) of each example of a packed batch.
fn spans(b: &Batch) -> Vec<(i64, i64, i64)> {
    let mut out = Vec::new();
    for r in 0..b.batch_size {
        let row = &b.decoder_segment_ids[r * b.targets_length..(r + 1) * b.targets_length];
        let mut start = 0;
        while start < row.len() && row[start] != 0 {
            let end = start
                + row[start..]
                    .iter()
                    .take_while(|&&s| s == row[start])
                    .count();
            out.push((r as i64, start as i64, (end - start) as i64));
            start = end;
        }
    }
    out
}

fn backends(device: Device) -> Vec<AttentionImpl> {
    let mut v = vec![AttentionImpl::Math, AttentionImpl::Sdpa];
    if device.is_cuda() {
        v.push(AttentionImpl::MemEfficient);
    }
    v
}

fn devices() -> Vec<Device> {
    let mut v = vec![Device::Cpu];
    if tch::Cuda::is_available() {
        v.push(Device::Cuda(0));
    }
    v
}

fn grads(l: &Loaded) -> Vec<(String, Tensor)> {
    optim::named_params(&l.vs)
        .into_iter()
        .map(|(n, p)| (n, p.grad().to_device(Device::Cpu).copy()))
        .collect()
}

fn assert_finite(what: &str, t: &Tensor) {
    let ok = t.isfinite().all().int64_value(&[]) == 1;
    assert!(ok, "{what} has NaN or inf");
}

#[test]
fn the_batcher_packs_as_the_tests_assume() {
    let b = batch(Batching::Pack, &examples());
    assert_eq!(
        spans(&b),
        vec![(0, 0, 4), (0, 4, 6), (1, 0, 3), (1, 3, 5), (1, 8, 2)]
    );
    assert!(b.encoder_segment_ids[..INPUTS].iter().all(|&s| s != 0));
    assert_eq!(b.decoder_segment_ids[TARGETS - 1], 0);
}

#[test]
fn packed_logits_loss_and_gradients_match_examples_alone() {
    let exs = examples();
    let packed = batch(Batching::Pack, &exs);
    let places = spans(&packed);
    for device in devices() {
        for imp in backends(device) {
            let tag = format!("{device:?} {}", imp.name());
            let l = model(imp, device);

            // Packed: one forward, the summed token loss backward.
            let sb = Seq2SeqBatch::from_packed(&packed, device).unwrap();
            let logits = l.model.forward(&sb, true).unwrap();
            assert_finite(&format!("{tag} packed logits (padding included)"), &logits);
            let out = seq2seq_loss(&logits, &sb.labels, LossConfig::default());
            optim::zero_grad(&l.vs).unwrap();
            out.nll_sum.backward();
            let g_packed = grads(&l);
            for (n, g) in &g_packed {
                assert_finite(&format!("{tag} packed grad {n}"), g);
            }
            let logits = logits.detach().to_device(Device::Cpu);

            // Alone: one forward per example, gradients accumulated.
            optim::zero_grad(&l.vs).unwrap();
            let (mut nll, mut tokens) = (0.0, 0.0);
            for (i, (ex, &(row, start, len))) in exs.iter().zip(&places).enumerate() {
                let b1 = alone(ex, device);
                let lg = l.model.forward(&b1, true).unwrap();
                let o = seq2seq_loss(&lg, &b1.labels, LossConfig::default());
                o.nll_sum.backward();
                nll += o.nll_sum.double_value(&[]);
                tokens += o.tokens.double_value(&[]);
                let want = lg.detach().to_device(Device::Cpu).get(0);
                let got = logits.get(row).narrow(0, start, len);
                assert_close(&format!("{tag} example {i} logits"), &got, &want, 1e-5);
            }
            let g_alone = grads(&l);

            assert_eq!(out.tokens.double_value(&[]), tokens, "{tag} counted tokens");
            let (lp, la) = (out.loss.double_value(&[]), nll / tokens);
            eprintln!("{tag} loss packed {lp:.7} alone {la:.7}");
            assert!(
                (lp - la).abs() < 1e-5 * la.max(1.0),
                "{tag} loss {lp} vs {la}"
            );

            let mut saw_bias = 0;
            for ((n, a), (_, b)) in g_packed.iter().zip(&g_alone) {
                let scale = b.abs().max().double_value(&[]);
                let diff = (a - b).abs().max().double_value(&[]);
                eprintln!("{tag} grad {n}: max abs diff {diff:.2e}, max |grad| {scale:.2e}");
                assert!(diff <= 1e-5 * scale.max(1.0), "{tag} grad {n}: {diff:.2e}");
                if n.contains("relative_attention_bias") {
                    assert!(b.abs().max().double_value(&[]) > 0.0, "{n} has no gradient");
                    saw_bias += 1;
                }
            }
            assert_eq!(saw_bias, 2, "both position tables compared");
        }
    }
}

#[test]
fn bf16_packed_steps_stay_finite() {
    // Padding positions included, forward and backward, on every kernel.
    let packed = batch(Batching::Pack, &examples());
    for device in devices() {
        for imp in backends(device) {
            let tag = format!("{device:?} {} bf16", imp.name());
            let mut l =
                checkpoint::load_model(&model_dir("t5_1_1_tiny"), device, Kind::BFloat16).unwrap();
            l.model.set_attention(imp);
            let sb = Seq2SeqBatch::from_packed(&packed, device).unwrap();
            let logits = l.model.forward(&sb, true).unwrap();
            assert_finite(&format!("{tag} logits"), &logits);
            let out = seq2seq_loss(&logits, &sb.labels, LossConfig::default());
            out.loss.backward();
            for (n, g) in grads(&l) {
                assert_finite(&format!("{tag} grad {n}"), &g);
            }
        }
    }
}

#[test]
fn padded_batches_through_from_packed_match_from_padded() {
    // One example per row: the segment masks equal the padding masks.
    let exs = examples();
    let l = model(AttentionImpl::Math, Device::Cpu);
    for chunk in exs.chunks(2) {
        let b = batch(Batching::Pad { bucket: None }, chunk);
        let sb = Seq2SeqBatch::from_packed(&b, Device::Cpu).unwrap();
        let view = |v: &[i32], n: usize| {
            Tensor::from_slice(v)
                .to_kind(Kind::Int64)
                .view([b.batch_size as i64, n as i64])
        };
        let padded = Seq2SeqBatch::from_padded(
            &view(&b.encoder_input_tokens, b.inputs_length),
            &view(&b.decoder_target_tokens, b.targets_length),
            0,
            0,
        );
        assert!(sb.labels.equal(&padded.labels));
        // Equal decoder inputs where tokens count; right after a target's
        // end `shift_right` puts its last token and the pipeline puts 0,
        // which nothing real attends to.
        let counted = sb.labels.ge(0);
        assert!(sb
            .decoder_input_ids
            .masked_select(&counted)
            .equal(&padded.decoder_input_ids.masked_select(&counted)));
        let a = l.model.forward(&sb, false).unwrap();
        let p = l.model.forward(&padded, false).unwrap();
        let diff = (a - p)
            .abs()
            .masked_select(&counted.unsqueeze(-1))
            .max()
            .double_value(&[]);
        assert!(diff < 1e-5, "{diff:.2e}");
    }
}

#[test]
fn from_packed_builds_the_tensors_and_checks_lengths() {
    let mut b = batch(Batching::Pack, &examples());
    let sb = Seq2SeqBatch::from_packed(&b, Device::Cpu).unwrap();
    let row = |t: &Tensor, r: i64| Vec::<i64>::try_from(t.get(r)).unwrap();
    // Row 1: (5, 3), (8, 5), (3, 2), then 2 padding positions.
    assert_eq!(
        row(sb.decoder_segments.as_ref().unwrap(), 1),
        vec![1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 0, 0]
    );
    let dec_in = row(&sb.decoder_input_ids, 1);
    assert_eq!(
        (dec_in[0], dec_in[3], dec_in[8]),
        (0, 0, 0),
        "not shifted again"
    );
    let labels = row(&sb.labels, 1);
    assert_eq!(&labels[10..], &[-100, -100]);
    assert_eq!(labels[9], 1);
    let mask = row(sb.input_mask.as_ref().unwrap(), 1);
    assert_eq!(mask.iter().sum::<i64>(), 16);

    // Segments for one stack only is refused rather than half-masked.
    let half = Seq2SeqBatch {
        decoder_segments: None,
        ..Seq2SeqBatch::from_packed(&b, Device::Cpu).unwrap()
    };
    let l = model(AttentionImpl::Math, Device::Cpu);
    assert!(l.model.forward(&half, false).is_err());

    b.decoder_loss_weights.pop();
    let err = Seq2SeqBatch::from_packed(&b, Device::Cpu).unwrap_err();
    assert!(err.to_string().contains("decoder_loss_weights"), "{err}");
}
