//! The op counter. One test in this binary: the counter sees every
//! thread's ops, so no other test may run beside it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use exc_torchext::{count_ops, foreach_zero_};
use tch::{Device, Kind, Tensor};

#[test]
fn counts_leaves_multi_tensor_ops_and_host_reads() {
    let ts: Vec<Tensor> = (1..=5)
        .map(|n| Tensor::ones([n, 3], (Kind::Float, Device::Cpu)))
        .collect();

    // Nothing dispatched, nothing counted; ops before counting are not seen.
    let _ = &ts[0] + 1.0;
    let (_, none) = count_ops(|| ()).unwrap();
    assert_eq!(none.all, 0);
    assert_eq!(none.compute(), 0);

    // One elementwise op: one leaf that computes.
    let (_, add) = count_ops(|| &ts[0] + &ts[1].narrow(0, 0, 1)).unwrap();
    assert_eq!(add.leaf("aten::add"), 1);
    assert_eq!(add.compute(), 1);

    // Zeroing tensor by tensor: one launch per tensor.
    let (_, per_tensor) = count_ops(|| {
        for t in &ts {
            let _ = t.shallow_clone().zero_();
        }
    })
    .unwrap();
    assert_eq!(per_tensor.compute(), ts.len() as u64);

    // The multi-tensor op counts once, as on CUDA, although on CPU it runs
    // the per-tensor op inside for each tensor.
    let (_, multi) = count_ops(|| foreach_zero_(&ts).unwrap()).unwrap();
    assert_eq!(multi.leaf("aten::_foreach_zero_"), 1);
    assert_eq!(multi.compute(), 1);
    assert!(multi.all > 1, "the per-tensor ops inside are dispatched too");
    for t in &ts {
        assert_eq!(t.sum(Kind::Float).double_value(&[]), 0.0);
    }

    // Views launch nothing.
    let (_, views) = count_ops(|| ts[2].narrow(0, 1, 1).unsqueeze(0).transpose(0, 1)).unwrap();
    assert!(views.all >= 3);
    assert_eq!(views.compute(), 0);

    // A value read back to the host is a host read; the arithmetic is not.
    let (v, reads) = count_ops(|| ts[4].sum(Kind::Float).double_value(&[])).unwrap();
    assert_eq!(v, 0.0);
    assert_eq!(reads.host_reads(), 1);
    assert_eq!(per_tensor.host_reads(), 0);
    assert_eq!(reads.top(1)[0].1, 1);
}
