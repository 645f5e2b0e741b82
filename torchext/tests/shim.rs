//! The shim's correctness on CPU: each multi-tensor op gives what the same
//! op tensor by tensor gives (bit for bit: on CPU libtorch runs the same
//! per-tensor kernels), and errors come back as errors. The op counter has
//! its own test binary (`ops.rs`): it counts every thread's ops.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use exc_torchext::{
    clear_grads, device_memory, empty_cache, foreach_add_, foreach_copy_, foreach_mul_,
    foreach_norm, foreach_zero_, reset_peak_memory, set_grads,
};
use tch::{Device, Kind, Tensor};

/// Tensors of several shapes and kinds, like a model's gradients.
fn tensors(kind: Kind, seed: i64) -> Vec<Tensor> {
    tch::manual_seed(seed);
    [vec![7, 5], vec![130], vec![3, 4, 5], vec![1], vec![64, 33]]
        .iter()
        .map(|s| Tensor::randn(s.as_slice(), (Kind::Float, Device::Cpu)).to_kind(kind))
        .collect()
}

fn deep_copy(ts: &[Tensor]) -> Vec<Tensor> {
    ts.iter().map(Tensor::copy).collect()
}

fn assert_same(a: &[Tensor], b: &[Tensor]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.size(), y.size());
        assert_eq!(x.kind(), y.kind());
        assert!(x.equal(y), "{x:?} != {y:?}");
    }
}

#[test]
fn zero_clears_every_tensor() {
    let ts = tensors(Kind::BFloat16, 1);
    foreach_zero_(&ts).unwrap();
    for t in &ts {
        assert_eq!(t.abs().sum(Kind::Float).double_value(&[]), 0.0);
    }
}

#[test]
fn copy_matches_copy_per_tensor_and_casts() {
    let src = tensors(Kind::Float, 2);
    let dst = tensors(Kind::BFloat16, 3);
    let want = deep_copy(&dst);
    for (d, s) in want.iter().zip(&src) {
        let mut d = d.shallow_clone();
        d.copy_(s);
    }
    foreach_copy_(&dst, &src).unwrap();
    assert_same(&dst, &want);
}

#[test]
fn mul_by_a_device_scalar_matches_per_tensor() {
    for kind in [Kind::Float, Kind::BFloat16] {
        let ts = tensors(kind, 4);
        let want = deep_copy(&ts);
        let factor = Tensor::from(0.37f32);
        for t in &want {
            let mut t = t.shallow_clone();
            let _ = t.g_mul_(&factor);
        }
        foreach_mul_(&ts, &factor).unwrap();
        assert_same(&ts, &want);
    }
}

#[test]
fn add_matches_per_tensor_with_alpha() {
    let dst = tensors(Kind::Float, 5);
    let other = tensors(Kind::Float, 6);
    let want = deep_copy(&dst);
    for (d, o) in want.iter().zip(&other) {
        let mut d = d.shallow_clone();
        let _ = d.g_add_(&(o * 0.5));
    }
    foreach_add_(&dst, &other, 0.5).unwrap();
    for (a, b) in dst.iter().zip(&want) {
        // a + 0.5*o fused against a + (0.5*o) rounded: within one float ulp.
        let diff = (a - b).abs().max().double_value(&[]);
        assert!(diff <= 1e-6, "{diff}");
    }
}

#[test]
fn norm_matches_per_tensor_in_float32() {
    for kind in [Kind::Float, Kind::BFloat16] {
        let ts = tensors(kind, 7);
        let norms = foreach_norm(&ts, 2.0).unwrap();
        assert_eq!(norms.len(), ts.len());
        for (n, t) in norms.iter().zip(&ts) {
            assert_eq!(n.kind(), Kind::Float);
            assert_eq!(n.dim(), 0);
            let want = t
                .to_kind(Kind::Float)
                .square()
                .sum(Kind::Float)
                .sqrt()
                .double_value(&[]);
            let got = n.double_value(&[]);
            assert!(
                (got - want).abs() <= 1e-5 * want.max(1.0),
                "{got} vs {want}"
            );
        }
    }
}

#[test]
fn errors_come_back_as_errors() {
    let a = tensors(Kind::Float, 8);
    let shorter = &a[..2];
    let err = foreach_copy_(&a, shorter).unwrap_err().to_string();
    assert!(err.contains("different lengths"), "{err}");
    // Shapes that do not broadcast: libtorch throws, the shim returns it.
    let wrong: Vec<Tensor> = a
        .iter()
        .map(|_| Tensor::zeros([2, 2], (Kind::Float, Device::Cpu)))
        .collect();
    let err = foreach_add_(&a, &wrong, 1.0).unwrap_err().to_string();
    assert!(err.contains("_foreach_add_"), "{err}");
    // The shim is still usable afterwards.
    foreach_zero_(&a).unwrap();
}

#[test]
fn empty_lists_are_no_ops() {
    foreach_zero_(&[]).unwrap();
    foreach_copy_(&[], &[]).unwrap();
    assert!(foreach_norm(&[], 2.0).unwrap().is_empty());
}

#[test]
fn cleared_gradients_are_written_afresh_by_the_next_backward() {
    let w = Tensor::ones([3], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    (&w * 2.0).sum(Kind::Float).backward();
    assert!(w.grad().defined());
    clear_grads(std::slice::from_ref(&w)).unwrap();
    assert!(!w.grad().defined());
    (&w * 5.0).sum(Kind::Float).backward();
    assert_eq!(Vec::<f32>::try_from(&w.grad()).unwrap(), vec![5.0; 3]);
}

#[test]
fn set_gradients_are_the_tensors_given_and_checked() {
    let w = Tensor::ones([2, 2], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    let g = Tensor::full([2, 2], 0.25, (Kind::Float, Device::Cpu));
    set_grads(std::slice::from_ref(&w), std::slice::from_ref(&g)).unwrap();
    assert!(w.grad().equal(&g));
    // The same storage: the next backward accumulates into it.
    (&w * 1.0).sum(Kind::Float).backward();
    assert_eq!(Vec::<f32>::try_from(&g.view([-1])).unwrap(), vec![1.25; 4]);
    let wrong = Tensor::zeros([3], (Kind::Float, Device::Cpu));
    let err = set_grads(std::slice::from_ref(&w), std::slice::from_ref(&wrong)).unwrap_err();
    assert!(err.to_string().contains("gradient"), "{err}");
}

#[test]
fn allocator_statistics_are_an_error_without_an_accelerator() {
    if tch::Cuda::is_available() {
        // Before any CUDA tensor (in a fresh process): the shim initialises
        // CUDA itself, as `exc run` asks before it builds the model.
        reset_peak_memory(0).unwrap();
        let t = Tensor::ones([1024, 1024], (Kind::Float, Device::Cuda(0)));
        let m = device_memory(0).unwrap();
        assert!(
            m.allocated >= 4 << 20 && m.peak_allocated >= m.allocated,
            "{m:?}"
        );
        assert!(
            m.reserved >= m.allocated && m.peak_reserved >= m.reserved,
            "{m:?}"
        );
        drop(t);
        reset_peak_memory(0).unwrap();
        let after = device_memory(0).unwrap();
        assert!(
            after.peak_allocated < m.peak_allocated,
            "{after:?} vs {m:?}"
        );
        empty_cache().unwrap();
        let emptied = device_memory(0).unwrap();
        assert!(emptied.reserved < m.reserved, "{emptied:?} vs {m:?}");
        return;
    }
    let err = device_memory(0).unwrap_err().to_string();
    assert!(
        err.contains("device memory") && !err.contains("unknown C++"),
        "{err}"
    );
    assert!(reset_peak_memory(0).is_err());
    assert!(empty_cache().is_err());
}
