//! The transformers reference, run in the same benchmark: the exc side
//! saves its initial weights (HF layout) and the batches it trained on,
//! then runs `hf_reference.py` (carried inside the binary) eagerly and/or
//! with torch.compile, and reads back its timings and losses. Same config,
//! same weights, same batches: the loss curves should agree too.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use exc_data::pack::Batch;
use tch::{Device, Tensor};

use crate::error::{Error, Result};

/// The script, written next to the batches when a reference runs.
const SCRIPT: &str = include_str!("../../bench/hf_reference.py");

/// How transformers runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RefMode {
    Eager,
    Compile,
}

impl RefMode {
    pub fn name(self) -> &'static str {
        match self {
            RefMode::Eager => "eager",
            RefMode::Compile => "compile",
        }
    }
}

/// What the reference reports (`EXC_REF_RESULT` line of the script).
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct RefResult {
    pub mode: String,
    pub attn: String,
    pub device: String,
    pub torch: String,
    pub threads: i64,
    pub step_s: f64,
    pub warmup_s: f64,
    pub losses: Vec<f64>,
    pub breakdown: RefBreakdown,
    pub peak_allocated_bytes: Option<u64>,
    pub peak_reserved_bytes: Option<u64>,
    pub peak_rss_bytes: Option<u64>,
    /// The SDPA backend torch picks there for a biased T5 attention.
    #[serde(default)]
    pub sdpa_backend: Option<String>,
    /// The norm of the position-bias table's first gradient: 0 when the
    /// attention backend returns the bias no gradient.
    #[serde(default)]
    pub bias_grad_norm: Option<f64>,
}

#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct RefBreakdown {
    pub forward: f64,
    pub backward: f64,
    pub optimizer: f64,
}

/// Writes the batches as `[k, batch, len]` int64 tensors in the names
/// transformers' forward takes.
pub fn write_batches(batches: &[Batch], path: &Path) -> Result<()> {
    let per: Vec<crate::model::Seq2SeqBatch> = batches
        .iter()
        .map(|b| super::data::to_tensors(b, Device::Cpu))
        .collect();
    let stack = |f: &dyn Fn(&crate::model::Seq2SeqBatch) -> Tensor| -> Tensor {
        Tensor::stack(&per.iter().map(f).collect::<Vec<_>>(), 0)
    };
    let mask = |b: &crate::model::Seq2SeqBatch| {
        b.input_mask
            .as_ref()
            .map_or_else(|| b.input_ids.ones_like(), |m| m.shallow_clone())
    };
    let named = [
        ("input_ids", stack(&|b| b.input_ids.shallow_clone())),
        ("attention_mask", stack(&mask)),
        (
            "decoder_input_ids",
            stack(&|b| b.decoder_input_ids.shallow_clone()),
        ),
        ("labels", stack(&|b| b.labels.shallow_clone())),
    ];
    Tensor::write_safetensors(&named, path)?;
    Ok(())
}

/// Everything a reference run needs besides the mode.
#[derive(Debug, Clone)]
pub struct RefRun {
    pub python: PathBuf,
    pub work_dir: PathBuf,
    pub model_dir: PathBuf,
    pub batches: PathBuf,
    pub steps: usize,
    pub warmup: usize,
    pub breakdown_steps: usize,
    pub device: String,
    pub precision: &'static str,
    pub threads: i32,
    pub lr: f64,
}

/// Runs the script once; its stderr passes through (compile logs, errors).
pub fn run(r: &RefRun, mode: RefMode) -> Result<RefResult> {
    let script = r.work_dir.join("hf_reference.py");
    std::fs::write(&script, SCRIPT).map_err(|e| Error::io(&script, e))?;
    let mut cmd = Command::new(&r.python);
    cmd.arg(&script)
        .arg("--model-dir")
        .arg(&r.model_dir)
        .arg("--batches")
        .arg(&r.batches)
        .args(["--steps", &r.steps.to_string()])
        .args(["--warmup", &r.warmup.to_string()])
        .args(["--breakdown-steps", &r.breakdown_steps.to_string()])
        .args(["--device", &r.device])
        .args(["--precision", r.precision])
        .args(["--mode", mode.name()])
        .args(["--threads", &r.threads.to_string()])
        .args(["--lr", &r.lr.to_string()])
        .env("PYTHONUNBUFFERED", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let out = cmd.output().map_err(|e| {
        Error::Input(format!(
            "cannot run {} for the transformers reference: {e} (set --python)",
            r.python.display()
        ))
    })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("EXC_REF_RESULT "))
        .ok_or_else(|| {
            Error::Input(format!(
                "the transformers reference ({}) gave no result (exit {}); its output:\n{text}",
                mode.name(),
                out.status
            ))
        })?;
    serde_json::from_str(line)
        .map_err(|e| Error::Input(format!("cannot read the reference's result: {e}")))
}
