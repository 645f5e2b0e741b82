//! The benchmark's figures, derived once and printed as a table (and
//! serialised as JSON for the GPU script's summary).

use std::fmt::Write;

use super::flops;
use super::reference::RefResult;
use super::step::{Breakdown, StepOps};
use super::TrainArgs;
use crate::kernel_check::NormCheck;
use crate::model::{AttentionImpl, NormImpl, T5Config};

/// What the run measured, before derivation.
pub struct Inputs<'a> {
    pub args: &'a TrainArgs,
    pub cfg: &'a T5Config,
    pub device: String,
    pub attention: AttentionImpl,
    pub attention_check: Option<(f64, f64)>,
    pub norm: NormImpl,
    pub norm_check: Option<NormCheck>,
    /// Fast kernels refused by their checks, and what was measured instead.
    pub kernel_notes: Vec<String>,
    pub optimizer_groups: usize,
    pub warmup_s: f64,
    pub timed_s: f64,
    pub data_wait_s: f64,
    pub breakdown: Breakdown,
    pub ops: Option<StepOps>,
    pub losses: Vec<f64>,
    pub peak_mem: Option<(u64, &'static str)>,
    pub allocator: Option<AllocatorPeaks>,
    pub peak_tflops: Option<f64>,
    pub threads: i32,
}

/// The caching allocator's peaks over the run (`torch.cuda.max_memory_*`),
/// read through the shim: tensors' bytes, and what the allocator reserved
/// from the device (which decides whether a batch fits; nvidia-smi's figure
/// adds the CUDA context and libraries).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct AllocatorPeaks {
    pub peak_allocated_bytes: u64,
    pub peak_reserved_bytes: u64,
}

/// One reference next to ours.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RefLine {
    pub result: RefResult,
    /// Reference step time / ours: above 1 means exc is faster.
    pub speedup: f64,
    /// Largest |loss difference| over the steps both ran.
    pub max_loss_diff: f64,
}

/// The derived figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub model: String,
    pub parameters: i64,
    pub device: String,
    pub precision: super::Precision,
    pub attention: &'static str,
    /// (max |output diff|, bias-gradient relative diff) against math.
    pub attention_check: Option<(f64, f64)>,
    pub norm: &'static str,
    /// Relative errors of the fused and composite RMS norms against float32.
    pub norm_check: Option<NormCheck>,
    /// Fast kernels refused by their checks, and what was measured instead.
    pub kernel_notes: Vec<String>,
    pub optimizer_groups: usize,
    pub threads: i32,
    pub batch: usize,
    pub inputs: usize,
    pub targets: usize,
    pub steps: usize,
    pub warmup: usize,
    pub breakdown_steps: usize,
    pub warmup_s: f64,
    pub step_s: f64,
    pub examples_per_s: f64,
    /// Encoder plus decoder positions (padded shape) per second.
    pub tokens_per_s: f64,
    pub data_wait_share: f64,
    pub peak_memory_bytes: Option<u64>,
    pub peak_memory_kind: Option<&'static str>,
    /// The caching allocator's peaks (CUDA).
    pub allocator: Option<AllocatorPeaks>,
    pub train_gflop_per_example: f64,
    pub achieved_tflops: f64,
    pub peak_tflops: Option<f64>,
    pub mfu: Option<f64>,
    pub breakdown: Breakdown,
    /// ATen ops of one step, part by part (`exc_torchext::count_ops`).
    pub ops: Option<StepOps>,
    pub losses: Vec<f64>,
    pub references: Vec<RefLine>,
    /// References that failed (mode: why); the others still ran.
    pub reference_errors: Vec<String>,
}

impl Report {
    pub fn new(i: Inputs) -> Report {
        let a = i.args;
        let step_s = i.timed_s / a.steps.max(1) as f64;
        let examples_per_s = a.batch as f64 / step_s;
        let f = flops::forward_flops(i.cfg, a.inputs as i64, a.targets as i64).train();
        let achieved = f * examples_per_s / 1e12;
        Report {
            model: a.model.clone(),
            parameters: i.cfg.num_parameters(),
            device: i.device,
            precision: a.precision,
            attention: i.attention.name(),
            attention_check: i.attention_check,
            norm: i.norm.name(),
            norm_check: i.norm_check,
            kernel_notes: i.kernel_notes,
            optimizer_groups: i.optimizer_groups,
            threads: i.threads,
            batch: a.batch,
            inputs: a.inputs,
            targets: a.targets,
            steps: a.steps,
            warmup: a.warmup,
            breakdown_steps: a.breakdown_steps,
            warmup_s: i.warmup_s,
            step_s,
            examples_per_s,
            tokens_per_s: examples_per_s * (a.inputs + a.targets) as f64,
            data_wait_share: i.data_wait_s / i.timed_s.max(1e-12),
            peak_memory_bytes: i.peak_mem.map(|m| m.0),
            peak_memory_kind: i.peak_mem.map(|m| m.1),
            allocator: i.allocator,
            train_gflop_per_example: f / 1e9,
            achieved_tflops: achieved,
            peak_tflops: i.peak_tflops,
            mfu: i.peak_tflops.map(|p| achieved / p),
            breakdown: i.breakdown,
            ops: i.ops,
            losses: i.losses,
            references: Vec::new(),
            reference_errors: Vec::new(),
        }
    }

    /// The human-readable table.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let ms = |x: f64| format!("{:.1} ms", x * 1e3);
        let _ = writeln!(
            s,
            "exc bench train: {} ({:.1}M parameters) on {}, {:?}, attention {}, norm {}, \
             Adafactor in {} update groups, {} threads",
            self.model,
            self.parameters as f64 / 1e6,
            self.device,
            self.precision,
            self.attention,
            self.norm,
            self.optimizer_groups,
            self.threads
        );
        if let Some((out, grad)) = self.attention_check {
            let _ = writeln!(
                s,
                "  attention check vs math: max |out diff| {out:.2e}, bias grad rel. diff {grad:.2e}"
            );
        }
        for n in &self.kernel_notes {
            let _ = writeln!(s, "  refused: {n}");
        }
        if let Some(c) = self.norm_check {
            let [fo, fi, fw] = c.fused;
            let [co, ci, cw] = c.composite;
            let _ = writeln!(
                s,
                "  norm check vs float32 (relative; output, input grad, weight grad): \
                 fused {fo:.1e}, {fi:.1e}, {fw:.1e}; composite {co:.1e}, {ci:.1e}, {cw:.1e}"
            );
        }
        s.push_str(&self.render_throughput());
        let b = &self.breakdown;
        let total = b.total().max(1e-12);
        let _ = writeln!(
            s,
            "  one step, device-synchronised ({} total):",
            ms(b.total())
        );
        for (name, x) in [
            ("data", b.data),
            ("forward", b.forward),
            ("backward", b.backward),
            ("optimizer", b.optimizer),
        ] {
            let _ = writeln!(
                s,
                "    {name:<10} {:>10} {:>5.1}%",
                ms(x),
                100.0 * x / total
            );
        }
        if let Some(ops) = &self.ops {
            s.push_str(&render_ops(ops));
        }
        let _ = writeln!(s, "  loss (first steps) {}", show(&self.losses));
        for k in 0..self.references.len() {
            s.push_str(&self.render_reference(k));
        }
        s
    }

    /// Step time, throughput, data wait, memory, FLOPs and MFU.
    fn render_throughput(&self) -> String {
        let mut s = String::new();
        let ms = |x: f64| format!("{:.1} ms", x * 1e3);
        let _ = writeln!(
            s,
            "  batch {} x {}/{} tokens, {} timed steps after {} warm-up ({:.1} s)",
            self.batch, self.inputs, self.targets, self.steps, self.warmup, self.warmup_s
        );
        let _ = writeln!(s, "  step time        {}", ms(self.step_s));
        let _ = writeln!(s, "  examples/s       {:.2}", self.examples_per_s);
        let _ = writeln!(
            s,
            "  tokens/s         {:.0} (encoder + decoder positions)",
            self.tokens_per_s
        );
        let _ = writeln!(
            s,
            "  data wait        {:.1}% of the timed steps",
            100.0 * self.data_wait_share
        );
        if let Some(a) = self.allocator {
            let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
            let _ = writeln!(
                s,
                "  allocator peak   {:.2} GiB allocated, {:.2} GiB reserved (caching allocator)",
                gib(a.peak_allocated_bytes),
                gib(a.peak_reserved_bytes)
            );
        }
        match (self.peak_memory_bytes, self.peak_memory_kind) {
            (Some(b), Some(k)) => {
                let _ = writeln!(
                    s,
                    "  peak memory      {:.2} GiB ({k})",
                    b as f64 / (1u64 << 30) as f64
                );
            }
            _ if self.allocator.is_some() => {}
            _ => {
                let _ = writeln!(s, "  peak memory      not measured (no nvidia-smi)");
            }
        }
        let _ = writeln!(
            s,
            "  model FLOPs      {:.1} GFLOP/example (3 x forward, see bench/flops.rs); {:.2} TFLOP/s",
            self.train_gflop_per_example, self.achieved_tflops
        );
        match (self.mfu, self.peak_tflops) {
            (Some(m), Some(p)) => {
                let _ = writeln!(
                    s,
                    "  MFU              {:.1}% of {p:.0} TFLOP/s bf16 peak",
                    100.0 * m
                );
            }
            _ => {
                let _ = writeln!(
                    s,
                    "  MFU              n/a (no bf16 peak known for this device; --peak-tflops)"
                );
            }
        }
        s
    }

    /// Adds a reference run and its comparison with ours.
    pub fn add_reference(&mut self, r: RefResult) {
        let max_loss_diff = r
            .losses
            .iter()
            .zip(&self.losses)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        self.references.push(RefLine {
            speedup: r.step_s / self.step_s,
            max_loss_diff,
            result: r,
        });
    }

    /// The lines of reference `k`.
    pub fn render_reference(&self, k: usize) -> String {
        let mut s = String::new();
        let Some(r) = self.references.get(k) else {
            return s;
        };
        let ms = |x: f64| format!("{:.1} ms", x * 1e3);
        let x = &r.result;
        let _ = writeln!(
            s,
            "  transformers {} ({} attention, torch {}): step {}, exc is {:.2}x its speed; \
             fwd/bwd/opt {}/{}/{}; max |loss diff| {:.4}",
            x.mode,
            x.attn,
            x.torch,
            ms(x.step_s),
            r.speedup,
            ms(x.breakdown.forward),
            ms(x.breakdown.backward),
            ms(x.breakdown.optimizer),
            r.max_loss_diff
        );
        let _ = writeln!(s, "    its loss (first steps) {}", show(&x.losses));
        if let Some(b) = &x.sdpa_backend {
            let _ = writeln!(s, "    its SDPA backend for a biased attention: {b}");
        }
        if let Some(g) = x.bias_grad_norm {
            let dropped = if g == 0.0 {
                " (zero: its attention drops the position bias's gradient)"
            } else {
                ""
            };
            let _ = writeln!(
                s,
                "    its position-bias gradient norm, step 1: {g:.3e}{dropped}"
            );
        }
        s
    }
}

fn show(l: &[f64]) -> String {
    l.iter()
        .take(6)
        .map(|x| format!("{x:.4}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The op counts of one step: launches (ops called that reach a kernel; on
/// a GPU about one launch each), host reads, and the most frequent ops.
fn render_ops(ops: &StepOps) -> String {
    let mut s = String::new();
    let total: u64 = ops.parts().iter().map(|(_, p)| p.launches).sum();
    let reads: u64 = ops.parts().iter().map(|(_, p)| p.host_reads).sum();
    let _ = writeln!(
        s,
        "  ATen ops of one step: {total} launches (ops called that reach a kernel), {reads} host reads"
    );
    let fallbacks: u64 = ops
        .parts()
        .iter()
        .map(|(_, p)| p.multi_tensor_fallbacks)
        .sum();
    let _ = writeln!(
        s,
        "    multi-tensor calls fell back to {fallbacks} per-tensor ops (always on CPU; on CUDA 0 = all fused)"
    );
    for (name, p) in ops.parts() {
        let top: Vec<String> = p.top.iter().map(|(op, n)| format!("{op} {n}")).collect();
        let _ = writeln!(
            s,
            "    {name:<10} {:>6} launches {:>3} reads  ({})",
            p.launches,
            p.host_reads,
            top.join(", ")
        );
    }
    s
}
