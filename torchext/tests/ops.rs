//! The op counter. One test in this binary: the counter sees every
//! thread's ops, so no other test may run beside it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use exc_torchext::{count_ops, foreach_zero_};
use tch::{Device, Kind, Tensor};

#[test]
fn counts_calls_multi_tensor_ops_backward_and_host_reads() {
    let ts: Vec<Tensor> = (1..=5)
        .map(|n| Tensor::ones([n, 3], (Kind::Float, Device::Cpu)))
        .collect();

    // Nothing dispatched, nothing counted; ops before counting are not seen.
    let _ = &ts[0] + 1.0;
    let (_, none) = count_ops(|| ()).unwrap();
    assert_eq!((none.all, none.launches(), none.host_reads), (0, 0, 0));

    // One elementwise op: one call.
    let (_, add) = count_ops(|| &ts[0] + &ts[1].narrow(0, 0, 1)).unwrap();
    assert_eq!(add.calls_of("aten::add"), 1);
    assert_eq!(add.launches(), 1, "{add:?}");

    // A matmul counts once, whatever it dispatches inside.
    let (_, mm) = count_ops(|| ts[2].matmul(&ts[2].tr())).unwrap();
    assert_eq!(mm.launches(), 1, "{mm:?}");

    // Zeroing tensor by tensor: one call per tensor.
    let (_, per_tensor) = count_ops(|| {
        for t in &ts {
            let _ = t.shallow_clone().zero_();
        }
    })
    .unwrap();
    assert_eq!(per_tensor.launches(), ts.len() as u64);

    // The multi-tensor op is one call, although on CPU it runs the
    // per-tensor op for each tensor inside.
    let (_, multi) = count_ops(|| foreach_zero_(&ts).unwrap()).unwrap();
    assert_eq!(multi.calls_of("aten::_foreach_zero_"), 1);
    assert_eq!(multi.launches(), 1);
    assert!(
        multi.all > ts.len() as u64,
        "the per-tensor ops inside are dispatched too"
    );
    for t in &ts {
        assert_eq!(t.sum(Kind::Float).double_value(&[]), 0.0);
    }

    // Views and conversions to the same kind launch nothing; a real
    // conversion does.
    let (_, views) = count_ops(|| {
        let v = ts[2].narrow(0, 1, 1).unsqueeze(0).transpose(0, 1);
        let same = v.to_kind(Kind::Float);
        (v, same)
    })
    .unwrap();
    assert!(views.all >= 4);
    assert_eq!(views.launches(), 0, "{views:?}");
    let (_, cast) = count_ops(|| ts[2].to_kind(Kind::BFloat16)).unwrap();
    assert_eq!(cast.launches(), 1, "{cast:?}");

    // Backward: the ops each autograd node calls are counted (a mul's
    // backward multiplies; the leaf's gradient is accumulated), the nodes
    // themselves are not.
    let w = Tensor::ones([4], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    let loss = (&w * 3.0).sum(Kind::Float);
    let (_, back) = count_ops(|| loss.backward()).unwrap();
    assert!(back.launches() >= 1, "{back:?}");
    assert!(
        back.calls.keys().all(|k| !k.starts_with("autograd::")),
        "{back:?}"
    );

    // A value read back to the host is a host read; the arithmetic is not.
    let (v, reads) = count_ops(|| ts[4].sum(Kind::Float).double_value(&[])).unwrap();
    assert_eq!(v, 0.0);
    assert_eq!(reads.host_reads, 1);
    assert_eq!(per_tensor.host_reads, 0);
    assert_eq!(reads.top(1)[0].0, "aten::sum");
}
