//! Parity with transformers' T5 on the committed goldens of
//! runtime/golden/gen.py: forward passes, losses, checkpoint round trips.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{assert_close, golden, model_dir};
use exc_runtime::checkpoint;
use exc_runtime::model::{seq2seq_loss, shift_right, LossConfig, Seq2SeqBatch};
use tch::{Device, Kind, Tensor};

fn batch(g: &common::Golden) -> Seq2SeqBatch {
    let labels = g.get("labels");
    Seq2SeqBatch {
        input_ids: g.get("input_ids"),
        input_mask: Some(g.get("input_mask")),
        decoder_input_ids: shift_right(&labels, 0, 0),
        decoder_mask: None,
        labels,
        input_segments: None,
        decoder_segments: None,
    }
}

fn forward_matches(name: &str) {
    let loaded = checkpoint::load_model(&model_dir(name), Device::Cpu, Kind::Float).unwrap();
    assert!(
        loaded.report.unexpected.is_empty(),
        "{:?}",
        loaded.report.unexpected
    );
    let g = golden(name);
    let b = batch(&g);
    let m = &loaded.model;
    let enc = m
        .encode(&b.input_ids, b.input_mask.as_ref(), false)
        .unwrap();
    assert_close(
        &format!("{name} encoder"),
        &enc,
        &g.get("encoder_out"),
        1e-5,
    );
    let logits = m.forward(&b, false).unwrap();
    assert_close(&format!("{name} logits"), &logits, &g.get("logits"), 1e-5);
    let loss = seq2seq_loss(&logits, &b.labels, LossConfig::default()).loss;
    assert_close(
        &format!("{name} loss"),
        &loss.reshape([1]),
        &g.get("loss"),
        1e-5,
    );
}

#[test]
fn t5_1_1_forward_matches_transformers() {
    forward_matches("t5_1_1_tiny");
}

#[test]
fn t5_tied_forward_matches_transformers() {
    forward_matches("t5_tiny");
}

#[test]
fn incremental_decoding_matches_full_forward() {
    let loaded =
        checkpoint::load_model(&model_dir("t5_1_1_tiny"), Device::Cpu, Kind::Float).unwrap();
    let g = golden("t5_1_1_tiny");
    let b = batch(&g);
    let m = &loaded.model;
    let full = m.forward(&b, false).unwrap();
    let enc = m
        .encode(&b.input_ids, b.input_mask.as_ref(), false)
        .unwrap();
    let mut cache = m.start_cache(&enc);
    let n = b.decoder_input_ids.size()[1];
    let steps: Vec<Tensor> = (0..n)
        .map(|i| {
            m.decode_step(
                &b.decoder_input_ids.narrow(1, i, 1),
                &mut cache,
                b.input_mask.as_ref(),
            )
            .unwrap()
        })
        .collect();
    assert_close("cached decoding", &Tensor::cat(&steps, 1), &full, 1e-5);
}

#[test]
fn saved_checkpoint_reloads_identically() {
    let loaded =
        checkpoint::load_model(&model_dir("t5_1_1_tiny"), Device::Cpu, Kind::Float).unwrap();
    // EXC_SAVE_DIR keeps the checkpoint for `python runtime/golden/gen.py --check DIR`.
    let dir = std::env::var("EXC_SAVE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir().join(format!("exc-save-{}", std::process::id())));
    checkpoint::save_model(&loaded.vs, &loaded.model.cfg, &dir).unwrap();
    let again = checkpoint::load_model(&dir, Device::Cpu, Kind::Float).unwrap();
    let g = golden("t5_1_1_tiny");
    let b = batch(&g);
    let a = loaded.model.forward(&b, false).unwrap();
    let c = again.model.forward(&b, false).unwrap();
    assert_eq!((&a - &c).abs().max().double_value(&[]), 0.0);
    let meta = checkpoint::read_metadata(&dir.join(checkpoint::WEIGHTS)).unwrap();
    assert_eq!(meta.get("format").map(String::as_str), Some("pt"));
    checkpoint::write_safetensors(
        &dir.join("exc_logits.safetensors"),
        &[("logits".to_string(), c)],
        &Default::default(),
    )
    .unwrap();
    if std::env::var("EXC_SAVE_DIR").is_err() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn pickle_checkpoints_are_refused() {
    let dir = std::env::temp_dir().join(format!("exc-pickle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("pytorch_model.bin"), b"not loaded").unwrap();
    let err = checkpoint::weight_files(&dir).unwrap_err().to_string();
    assert!(err.contains("pickle"), "{err}");
    let err = checkpoint::weight_files(&dir.join("pytorch_model.bin"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("pickle"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_and_unexpected_tensors_are_named() {
    let dir = model_dir("t5_1_1_tiny");
    let mut tensors = checkpoint::read_tensors(&dir).unwrap();
    tensors.remove("decoder.final_layer_norm.weight");
    tensors.insert(
        "encoder.extra.weight".into(),
        Tensor::zeros([2], (Kind::Float, Device::Cpu)),
    );
    let cfg = exc_runtime::model::T5Config::from_json_file(&dir.join("config.json")).unwrap();
    let vs = tch::nn::VarStore::new(Device::Cpu);
    let _m = exc_runtime::model::T5::new(&vs.root(), &cfg).unwrap();
    let err = checkpoint::load_into(&vs, &tensors)
        .unwrap_err()
        .to_string();
    assert!(err.contains("decoder.final_layer_norm.weight"), "{err}");
    assert!(err.contains("encoder.extra.weight"), "{err}");
}

/// libtorch's fused RMS norm (`NormImpl::Fused`, the bench's default on
/// CUDA) gives transformers' logits too, and the bench's own check of it
/// finds it within float32 rounding, and no less accurate than the
/// composite path in bf16.
#[test]
fn fused_norm_matches_transformers() {
    use exc_runtime::kernel_check::check_norm;
    use exc_runtime::model::NormImpl;
    let name = "t5_1_1_tiny";
    let mut loaded = checkpoint::load_model(&model_dir(name), Device::Cpu, Kind::Float).unwrap();
    loaded.model.set_norm(NormImpl::Fused);
    let g = golden(name);
    let logits = loaded.model.forward(&batch(&g), false).unwrap();
    assert_close(&format!("{name} logits"), &logits, &g.get("logits"), 1e-5);

    let fp32 = check_norm(Device::Cpu, Kind::Float);
    assert!(fp32.fused.iter().all(|e| *e < 1e-5), "{fp32:?}");
    assert!(fp32.ok());
    // In bf16 the fused path is no further from float32 than the composite.
    let bf16 = check_norm(Device::Cpu, Kind::BFloat16);
    assert!(bf16.ok(), "{bf16:?}");
    assert!(
        bf16.composite.iter().all(|e| *e > 0.0),
        "bf16 rounds: {bf16:?}"
    );
}
