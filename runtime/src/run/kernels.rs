//! Which attention and RMS-norm kernels `exc run` trains with.
//!
//! The reference kernels (math attention, composite norm) are transformers'
//! T5 op for op and what the parity goldens check; on a CPU they are also
//! what libtorch would pick. On CUDA, `--kernels auto` (the default) trains
//! with the faster kernels `exc bench train` measures: the memory-efficient
//! attention kernel (which returns the relative position bias its
//! gradient) and the fused RMS norm. Each is first checked on the device,
//! at the stage's precision, with the checks `exc bench` reports (`kernel_check`); a kernel that
//! fails its check is not used, and the run says so. A float32 stage on
//! CUDA also lets its matmuls use TF32 (`torch.set_float32_matmul_precision
//! ("high")`, as nanoT5 trains); bf16 stages have no float32 matmuls.
//! Evaluation always uses the reference kernels, without TF32.

use std::collections::HashMap;

use tch::{Device, Kind};

use crate::kernel_check::{verify_attention, verify_norm};
use crate::model::{AttentionImpl, NormImpl};

/// `exc run --kernels`, as `config.json` records it (`auto`, `reference`).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum KernelChoice {
    /// The fast kernels on CUDA where they pass their checks; the
    /// reference ones on CPU.
    #[default]
    Auto,
    /// Math attention and the composite norm everywhere.
    Reference,
}

impl KernelChoice {
    /// The name `--kernels` takes.
    pub fn name(self) -> &'static str {
        match self {
            KernelChoice::Auto => "auto",
            KernelChoice::Reference => "reference",
        }
    }
}

/// The kernels one training stage uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kernels {
    pub attention: AttentionImpl,
    pub norm: NormImpl,
    /// float32 matmuls may use TF32 (CUDA).
    pub tf32: bool,
}

impl Kernels {
    pub const REFERENCE: Kernels = Kernels {
        attention: AttentionImpl::Math,
        norm: NormImpl::Composite,
        tf32: false,
    };

    /// `mem-efficient attention, fused norm[, tf32 matmuls]`, as recorded
    /// in `DONE`.
    pub fn describe(&self) -> String {
        format!(
            "{} attention, {} norm{}",
            self.attention.name(),
            self.norm.name(),
            if self.tf32 { ", tf32 matmuls" } else { "" }
        )
    }
}

/// Chooses (and checks, once per precision) the kernels of a run.
#[derive(Debug)]
pub struct KernelPicker {
    choice: KernelChoice,
    device: Device,
    /// By whether the stage trains in bf16.
    chosen: HashMap<bool, Kernels>,
}

impl KernelPicker {
    pub fn new(choice: KernelChoice, device: Device) -> Self {
        KernelPicker {
            choice,
            device,
            chosen: HashMap::new(),
        }
    }

    /// The kernels for a stage that trains in bf16 (or not); `note` hears
    /// why a fast kernel was refused.
    pub fn pick(&mut self, bf16: bool, note: &mut dyn FnMut(String)) -> Kernels {
        if self.choice == KernelChoice::Reference || !self.device.is_cuda() {
            return Kernels::REFERENCE;
        }
        if let Some(k) = self.chosen.get(&bf16) {
            return *k;
        }
        let kind = if bf16 { Kind::BFloat16 } else { Kind::Float };
        let mut k = Kernels {
            attention: AttentionImpl::MemEfficient,
            norm: NormImpl::Fused,
            tf32: !bf16,
        };
        if let (_, Some(why)) = verify_attention(k.attention, self.device, kind) {
            note(format!("{why}; training with math attention"));
            k.attention = AttentionImpl::Math;
        }
        if let (_, Some(why)) = verify_norm(self.device, kind) {
            note(format!("{why}; training with the composite norm"));
            k.norm = NormImpl::Composite;
        }
        self.chosen.insert(bf16, k);
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cpu_trains_with_the_reference_kernels() {
        let mut notes = Vec::new();
        for choice in [KernelChoice::Auto, KernelChoice::Reference] {
            let mut p = KernelPicker::new(choice, Device::Cpu);
            for bf16 in [false, true] {
                assert_eq!(p.pick(bf16, &mut |n| notes.push(n)), Kernels::REFERENCE);
            }
        }
        assert!(notes.is_empty());
        assert_eq!(
            Kernels::REFERENCE.describe(),
            "math attention, composite norm"
        );
        let fp32_cuda = Kernels {
            attention: AttentionImpl::MemEfficient,
            norm: NormImpl::Fused,
            tf32: true,
        };
        assert_eq!(
            fp32_cuda.describe(),
            "mem-efficient attention, fused norm, tf32 matmuls"
        );
    }

    #[test]
    fn reference_is_kept_on_cuda_when_asked() {
        // No device is touched: `reference` decides before any check.
        let mut p = KernelPicker::new(KernelChoice::Reference, Device::Cuda(0));
        assert_eq!(p.pick(true, &mut |_| {}), Kernels::REFERENCE);
    }
}
