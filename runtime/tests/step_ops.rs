//! What one training step dispatches, counted with the shim's op counter
//! (`exc_torchext::count_ops`): on a GPU each counted call is about one
//! kernel launch, so this is how a CPU run checks the launch savings of
//! issue 8 and that a step never reads a value back to the host. One test
//! in this binary: the counter sees every thread's ops.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use exc_runtime::bench::step::{StepSetup, Trainer};
use exc_runtime::bench::Precision;
use exc_runtime::model::{
    seq2seq_loss, AttentionImpl, LossConfig, NormImpl, Seq2SeqBatch, T5Config,
};
use exc_runtime::optim::{self, Grouping};
use tch::{Device, Kind, Tensor};

fn trainer(grouping: Grouping) -> Trainer {
    let cfg = T5Config::from_json_file(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/bench/t5-cpu-small.json"
    )))
    .unwrap();
    Trainer::new(
        &StepSetup {
            cfg,
            device: Device::Cpu,
            precision: Precision::Bf16,
            attention: AttentionImpl::Math,
            norm: NormImpl::Composite,
            grouping,
            seed: 3,
        },
        None,
    )
    .unwrap()
}

fn batch() -> Seq2SeqBatch {
    let ids = |n: i64, salt: i64| {
        ((Tensor::arange(2 * n, (Kind::Int64, Device::Cpu)) * 37 + salt).remainder(900) + 5)
            .view([2, n])
    };
    Seq2SeqBatch::from_padded(&ids(24, 1), &ids(8, 2), 0, 0)
}

#[test]
fn a_step_reads_nothing_back_and_the_optimizer_launches_per_group() {
    let mut grouped = trainer(Grouping::Always);
    let mut per_tensor = trainer(Grouping::Never);
    let tensors = optim::named_params(&grouped.vs).len() as u64;
    let groups = grouped.opt.group_count() as u64;
    assert!(
        groups < tensors / 5,
        "{groups} groups for {tensors} tensors"
    );

    let g = grouped.counted_step(0.01, || Ok(batch())).unwrap();
    let p = per_tensor.counted_step(0.01, || Ok(batch())).unwrap();
    for (name, part) in g.parts().into_iter().chain(p.parts()) {
        assert_eq!(part.host_reads, 0, "{name} reads from the device: {part:?}");
    }
    // The model's part does not depend on the optimizer.
    assert_eq!(g.forward.launches, p.forward.launches);
    assert_eq!(g.backward.launches, p.backward.launches);
    // Adafactor: about 25 calls per stacked group plus one multi-tensor
    // copy, against about 25 per tensor.
    assert!(g.optimizer.launches <= 30 * groups, "{:?}", g.optimizer);
    assert!(p.optimizer.launches >= 20 * tensors, "{:?}", p.optimizer);
    // Gradients are removed, not zeroed: nothing to launch.
    assert_eq!(g.zero_grad.launches, 0, "{:?}", g.zero_grad);
    // With the gradients removed, backward writes each parameter's gradient
    // once; into gradients that exist (zeroed ones, as before) it adds one
    // `add_` per parameter.
    let backward = |t: &mut Trainer, remove: bool| {
        if remove {
            optim::zero_grad(&t.vs).unwrap();
        }
        let b = batch();
        let logits = t.model.forward(&b, true).unwrap();
        let loss = seq2seq_loss(&logits, &b.labels, LossConfig::default()).loss;
        exc_torchext::count_ops(|| loss.backward()).unwrap().1
    };
    // The counted step left its gradients removed; a backward fills them.
    let removed = backward(&mut grouped, true);
    assert_eq!(removed.launches(), g.backward.launches, "{removed:?}");
    let into_existing = backward(&mut grouped, false);
    assert_eq!(
        into_existing.calls_of("aten::add_"),
        removed.calls_of("aten::add_") + tensors,
        "{into_existing:?}"
    );

    // Clipping: multi-tensor norms and scaling, a few calls for any model.
    let _loss = grouped.step(&batch(), 0.01).unwrap();
    let (norm, clip) = exc_torchext::count_ops(|| optim::clip_grad_norm(&grouped.vs, 1.0)).unwrap();
    assert!(norm.unwrap().is_some());
    assert_eq!(clip.host_reads, 0, "{clip:?}");
    assert!(clip.launches() <= 10, "{clip:?}");
    assert_eq!(clip.calls_of("aten::_foreach_norm"), 1, "{clip:?}");
    assert_eq!(clip.calls_of("aten::_foreach_mul_"), 1, "{clip:?}");
}
