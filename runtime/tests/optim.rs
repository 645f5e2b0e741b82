//! Optimizer parity with transformers' Adafactor and torch's AdamW on the
//! goldens of runtime/golden/gen.py, and exact state save/restore.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{assert_close, golden, model_dir};
use exc_runtime::checkpoint;
use exc_runtime::model::{seq2seq_loss, shift_right, LossConfig, Seq2SeqBatch};
use exc_runtime::optim::{self, Adafactor, AdafactorConfig, AdamW, AdamWConfig, OptimState};
use tch::{Device, Kind};

const STEPS: i64 = 3;

fn hf_adafactor() -> AdafactorConfig {
    // transformers' Adafactor factors every matrix.
    AdafactorConfig {
        min_dim_size_to_factor: 0,
        ..AdafactorConfig::default()
    }
}

fn load() -> checkpoint::Loaded {
    checkpoint::load_model(&model_dir("t5_1_1_tiny"), Device::Cpu, Kind::Float).unwrap()
}

fn train_step(l: &checkpoint::Loaded, g: &common::Golden) {
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
    optim::zero_grad(&l.vs).unwrap();
    let logits = l.model.forward(&b, true).unwrap();
    seq2seq_loss(&logits, &b.labels, LossConfig::default())
        .loss
        .backward();
}

#[test]
fn adafactor_update_rule_matches_transformers() {
    // Feed transformers' own gradients so only the update rule is compared.
    let l = load();
    let g = golden("t5_1_1_tiny");
    let mut opt = Adafactor::new(&l.vs, hf_adafactor());
    let params = optim::named_params(&l.vs);
    // One real backward pass creates every gradient tensor; then overwrite.
    train_step(&l, &g);
    for step in 1..=STEPS {
        tch::no_grad(|| {
            for (name, p) in &params {
                p.grad()
                    .copy_(&g.get(&format!("adafactor.grad{step}.{name}")));
            }
        });
        opt.step(0.01).unwrap();
        for (name, p) in &params {
            assert_close(
                &format!("adafactor step {step} {name}"),
                p,
                &g.get(&format!("adafactor.param{step}.{name}")),
                1e-6,
            );
        }
    }
}

#[test]
fn adafactor_training_matches_transformers() {
    let l = load();
    let g = golden("t5_1_1_tiny");
    let mut opt = Adafactor::new(&l.vs, hf_adafactor());
    for step in 1..=STEPS {
        train_step(&l, &g);
        opt.step(0.01).unwrap();
        for (name, p) in optim::named_params(&l.vs) {
            assert_close(
                &format!("adafactor train {step} {name}"),
                &p,
                &g.get(&format!("adafactor.param{step}.{name}")),
                1e-5,
            );
        }
    }
}

#[test]
fn adamw_training_matches_torch() {
    let l = load();
    let g = golden("t5_1_1_tiny");
    let mut opt = AdamW::new(
        &l.vs,
        AdamWConfig {
            weight_decay: 0.01,
            ..AdamWConfig::default()
        },
    );
    for step in 1..=STEPS {
        train_step(&l, &g);
        opt.step(1e-3);
        for (name, p) in optim::named_params(&l.vs) {
            assert_close(
                &format!("adamw train {step} {name}"),
                &p,
                &g.get(&format!("adamw.param{step}.{name}")),
                1e-5,
            );
        }
    }
}

#[test]
fn optimizer_state_round_trips_exactly() {
    let dir = std::env::temp_dir().join(format!("exc-opt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let g = golden("t5_1_1_tiny");
    // Run A: 3 steps straight. Run B: 2 steps, save, restore into a fresh
    // optimizer over a reloaded model, 1 more step. Parameters must be equal.
    let a = load();
    let mut oa = Adafactor::new(
        &a.vs,
        AdafactorConfig {
            beta1: Some(0.9),
            ..hf_adafactor()
        },
    );
    for _ in 0..3 {
        train_step(&a, &g);
        oa.step(0.01).unwrap();
    }
    let b = load();
    let mut ob = Adafactor::new(
        &b.vs,
        AdafactorConfig {
            beta1: Some(0.9),
            ..hf_adafactor()
        },
    );
    for _ in 0..2 {
        train_step(&b, &g);
        ob.step(0.01).unwrap();
    }
    checkpoint::save_model(&b.vs, &b.model.cfg, &dir).unwrap();
    ob.save(&dir.join("optimizer.safetensors")).unwrap();
    let c = checkpoint::load_model(&dir, Device::Cpu, Kind::Float).unwrap();
    let mut oc = Adafactor::new(
        &c.vs,
        AdafactorConfig {
            beta1: Some(0.9),
            ..hf_adafactor()
        },
    );
    oc.restore(&dir.join("optimizer.safetensors")).unwrap();
    assert_eq!(oc.step_count(), 2);
    train_step(&c, &g);
    oc.step(0.01).unwrap();
    let pa = optim::named_params(&a.vs);
    let pc = optim::named_params(&c.vs);
    for ((name, x), (_, y)) in pa.iter().zip(pc.iter()) {
        assert!(x.equal(y), "{name} differs after resume");
    }
    let mut wrong = AdamW::new(&c.vs, AdamWConfig::default());
    assert!(wrong.restore(&dir.join("optimizer.safetensors")).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn clipping_bounds_the_global_norm() {
    let l = load();
    let g = golden("t5_1_1_tiny");
    train_step(&l, &g);
    let grads = |vs: &tch::nn::VarStore| -> Vec<tch::Tensor> {
        optim::named_params(vs)
            .into_iter()
            .map(|(_, t)| t.grad().copy())
            .collect()
    };
    let raw = grads(&l.vs);
    let before = optim::clip_grad_norm(&l.vs, 0.5)
        .unwrap()
        .unwrap()
        .double_value(&[]);
    assert!(before > 0.5);
    // Every gradient is scaled by the same factor.
    let scale = 0.5 / (before + 1e-6);
    for (g, r) in grads(&l.vs).iter().zip(&raw) {
        let diff = (g - r * scale).abs().max().double_value(&[]);
        assert!(diff < 1e-6, "{diff}");
    }
    let clipped = grads(&l.vs);
    let after = optim::clip_grad_norm(&l.vs, 1e9)
        .unwrap()
        .unwrap()
        .double_value(&[]);
    assert!((after - 0.5).abs() < 1e-4, "{after}");
    // Within bounds the gradients are left exactly as they were.
    for (g, c) in grads(&l.vs).iter().zip(&clipped) {
        assert!(g.equal(c));
    }
}

/// bf16 gradients of several micro-batches are summed in float32 and
/// rounded once; float32 parameters accumulate as autograd does.
#[test]
fn accumulation_sums_bf16_gradients_in_float32() {
    use tch::Tensor;
    let grads_of = |kind: Kind, micro: i64| -> (Tensor, Vec<Tensor>) {
        let mut vs = tch::nn::VarStore::new(Device::Cpu);
        let w = vs.root().var("w", &[64], tch::nn::Init::Const(0.0));
        tch::no_grad(|| {
            let mut w = w.shallow_clone();
            w.copy_(&(Tensor::arange(64, (Kind::Float, Device::Cpu)) * 0.37).sin());
        });
        if kind == Kind::BFloat16 {
            vs.bfloat16();
        }
        let x = |i: i64| (Tensor::arange(64, (Kind::Float, Device::Cpu)) * (0.11 + i as f64)).cos();
        // Each micro-batch's own gradient, alone.
        let mut alone = Vec::new();
        for i in 0..micro {
            optim::zero_grad(&vs).unwrap();
            let loss = (&w * x(i).to_kind(kind))
                .to_kind(Kind::Float)
                .sum(Kind::Float)
                * 3.7;
            (loss / micro as f64).backward();
            alone.push(w.grad().copy());
        }
        optim::zero_grad(&vs).unwrap();
        let mut acc = optim::Accumulation::new(&vs, micro);
        for i in 0..micro {
            let loss = (&w * x(i).to_kind(kind))
                .to_kind(Kind::Float)
                .sum(Kind::Float)
                * 3.7;
            acc.backward(&(loss / micro as f64)).unwrap();
        }
        acc.finish().unwrap();
        (w.grad().copy(), alone)
    };
    let (got, alone) = grads_of(Kind::BFloat16, 4);
    assert_eq!(got.kind(), Kind::BFloat16);
    let sum = alone
        .iter()
        .fold(Tensor::zeros([64], (Kind::Float, Device::Cpu)), |s, g| {
            s + g.to_kind(Kind::Float)
        });
    assert!(
        got.equal(&sum.to_kind(Kind::BFloat16)),
        "not the float32 sum rounded once"
    );
    // Summed in bf16 the result would differ somewhere.
    let naive = alone[1..].iter().fold(alone[0].copy(), |s, g| s + g);
    assert!(!got.equal(&naive), "the test does not tell the two apart");

    let (got, alone) = grads_of(Kind::Float, 3);
    let sum = alone[1..].iter().fold(alone[0].copy(), |s, g| s + g);
    let diff = (&got - &sum).abs().max().double_value(&[]);
    assert!(diff < 1e-6, "{diff}");
}
