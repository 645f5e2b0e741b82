//! TF32 is a process-wide setting: its own test binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use exc_torchext::{set_tf32_matmul, tf32_matmul};
use tch::{Device, Kind, Tensor};

#[test]
fn tf32_switches_on_and_off_and_leaves_cpu_matmuls_alone() {
    assert!(!tf32_matmul(), "libtorch starts without TF32");
    let a = Tensor::randn([64, 64], (Kind::Float, Device::Cpu));
    let exact = a.matmul(&a);
    set_tf32_matmul(true).unwrap();
    assert!(tf32_matmul());
    assert!(a.matmul(&a).equal(&exact), "a CPU matmul changed");
    set_tf32_matmul(false).unwrap();
    assert!(!tf32_matmul());
}
