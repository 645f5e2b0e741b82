//! `exc bench train`: real pre-training steps (span-corrupted text through
//! the exc-data pipeline, T5.1.1, Adafactor) timed on CPU or GPU, with the
//! model-FLOPs utilisation ([`flops`]), a device-synchronised breakdown of
//! a step, peak memory, and the same model, weights and batches trained by
//! transformers (eager and torch.compile) in the same run for the ratio.
//!
//! The front end is [`TrainArgs`] + [`run`]; `runtime/bench/README.md` says
//! how the figures are made and which were measured where.

pub mod data;
pub mod flops;
pub mod mem;
pub mod reference;
mod report;
pub mod step;

use std::path::PathBuf;
use std::time::Instant;

use tch::{Device, Kind};

use crate::error::{Error, Result};
use crate::model::{AttentionImpl, NormImpl, T5Config};
pub use reference::RefMode;
pub use report::Report;
pub use step::{Breakdown, Precision};

/// Attention kernels as the command line names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AttentionArg {
    Math,
    Sdpa,
    MemEfficient,
}

impl From<AttentionArg> for AttentionImpl {
    fn from(a: AttentionArg) -> Self {
        match a {
            AttentionArg::Math => AttentionImpl::Math,
            AttentionArg::Sdpa => AttentionImpl::Sdpa,
            AttentionArg::MemEfficient => AttentionImpl::MemEfficient,
        }
    }
}

/// RMS norm kernels as the command line names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NormArg {
    Composite,
    Fused,
}

impl From<NormArg> for NormImpl {
    fn from(a: NormArg) -> Self {
        match a {
            NormArg::Composite => NormImpl::Composite,
            NormArg::Fused => NormImpl::Fused,
        }
    }
}

/// `exc bench train`: time real pre-training steps.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainArgs {
    /// t5.1.1-small|base|large|xl|xxl, or a Hugging Face config.json.
    #[arg(long, default_value = "t5.1.1-base")]
    pub model: String,
    /// Examples per step.
    #[arg(long, default_value_t = 128)]
    pub batch: usize,
    /// Encoder length.
    #[arg(long, default_value_t = 512)]
    pub inputs: usize,
    /// Decoder length (span corruption of 512 inputs needs 114).
    #[arg(long, default_value_t = 114)]
    pub targets: usize,
    /// Timed steps.
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// Untimed steps first (allocator, cuBLAS and kernel set-up).
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// Device-synchronised steps for the breakdown, after the timed ones.
    #[arg(long, default_value_t = 3)]
    pub breakdown_steps: usize,
    /// `cpu`, `cuda` or `cuda:N` (default: cuda when available).
    #[arg(long)]
    pub device: Option<String>,
    #[arg(long, value_enum, default_value = "bf16")]
    pub precision: Precision,
    /// Attention kernels (default: mem-efficient on CUDA, math on CPU).
    #[arg(long, value_enum)]
    pub attention: Option<AttentionArg>,
    /// RMS norm kernels (default: fused on CUDA, composite on CPU).
    #[arg(long, value_enum)]
    pub norm: Option<NormArg>,
    /// Update Adafactor tensor by tensor (the unoptimised path on CUDA;
    /// on CPU tensor by tensor is the default anyway).
    #[arg(long, conflicts_with = "group_by_shape")]
    pub per_tensor_optimizer: bool,
    /// Update Adafactor's same-shape tensors as one stacked tensor also on
    /// CPU (the default on CUDA), e.g. to count its ops.
    #[arg(long)]
    pub group_by_shape: bool,
    /// Skip the step whose ATen ops are counted (after the breakdown).
    #[arg(long)]
    pub no_op_count: bool,
    /// Constant learning rate (ExT5: 0.01 for the first 10k steps).
    #[arg(long, default_value_t = 0.01)]
    pub lr: f64,
    /// Dropout (T5.1.1 pre-trains without).
    #[arg(long, default_value_t = 0.0)]
    pub dropout: f64,
    /// Seed of the weights and the data order.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Text files or folders of *.txt (default: $EXC_BENCH_TEXT).
    #[arg(long)]
    pub text: Vec<PathBuf>,
    /// SentencePiece model (default: $EXC_BENCH_TOKENIZER).
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// Intra-op threads on CPU (default: libtorch's choice).
    #[arg(long)]
    pub threads: Option<i32>,
    /// bf16 peak of the device in TFLOP/s (default: from the GPU's name).
    #[arg(long)]
    pub peak_tflops: Option<f64>,
    /// Also train transformers' T5 on the same weights and batches.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub reference: Vec<RefMode>,
    /// Python with torch and transformers (default: $EXC_TORCH_PYTHON, python3).
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Where the reference's weights and batches go (default: a temp dir).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Also write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

fn model_config(name: &str, dropout: f64) -> Result<T5Config> {
    let path = PathBuf::from(name);
    let mut cfg = if name.ends_with(".json") || path.is_file() {
        T5Config::from_json_file(&path)?
    } else {
        T5Config::t5_1_1(name)?
    };
    cfg.dropout_rate = dropout;
    Ok(cfg)
}

fn env_path(v: &str) -> Option<PathBuf> {
    std::env::var_os(v)
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
}

/// Runs the benchmark and prints its report; the references run after
/// exc's figures are printed and saved, so a reference that fails or is
/// stopped leaves them intact.
pub fn run(args: &TrainArgs) -> Result<()> {
    let (mut report, plan) = bench(args)?;
    print!("{}", report.render());
    save(&report, args)?;
    if let Some(r) = plan {
        if crate::env::parse_device(args.device.as_deref())?.is_cuda() {
            // exc's model is gone, but the caching allocator still holds its
            // memory; the reference is another process and needs it.
            exc_torchext::empty_cache()?;
        }
        for &mode in &args.reference {
            // One failed reference (out of memory, a compile error) leaves
            // the others to run.
            match reference::run(&r, mode) {
                Ok(res) => {
                    report.add_reference(res);
                    print!("{}", report.render_reference(report.references.len() - 1));
                }
                Err(e) => {
                    eprintln!("warning: the {} reference failed: {e}", mode.name());
                    report
                        .reference_errors
                        .push(format!("{}: {e}", mode.name()));
                }
            }
            save(&report, args)?;
        }
        if args.work_dir.is_none() {
            let _ = std::fs::remove_dir_all(&r.work_dir);
        }
    }
    Ok(())
}

/// A fast kernel refused by its check (`why`): an error when it was asked
/// for by name (`asked`; `flag` says what to pass instead), else a note
/// that the bench measures `instead`.
fn fall_back(
    why: String,
    asked: bool,
    flag: &str,
    instead: &str,
    notes: &mut Vec<String>,
) -> Result<()> {
    if asked {
        return Err(Error::Input(format!("{why}; use {flag}")));
    }
    eprintln!("note: {why}; measuring {instead}");
    notes.push(format!("{why}; measured {instead}"));
    Ok(())
}

fn save(report: &Report, args: &TrainArgs) -> Result<()> {
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(report)
            .map_err(|e| Error::Input(format!("cannot encode the report: {e}")))?;
        std::fs::write(path, text).map_err(|e| Error::io(path, e))?;
    }
    Ok(())
}

/// Runs exc's side of the benchmark: its report, and what a reference
/// run needs (the initial weights and the batches, written to the work dir).
pub fn bench(args: &TrainArgs) -> Result<(Report, Option<reference::RefRun>)> {
    let dev = crate::env::parse_device(args.device.as_deref())?;
    if let Some(n) = args.threads {
        tch::set_num_threads(n);
    }
    let cfg = model_config(&args.model, args.dropout)?;
    if !dev.is_cuda() && std::env::var_os("OMP_WAIT_POLICY").is_none() {
        // Measured here: on 2 shared cores, spinning OpenMP threads made
        // steps up to 6x slower whenever the pipeline thread or another
        // process wanted a core.
        eprintln!("note: on a shared CPU set OMP_WAIT_POLICY=PASSIVE (read at start-up) for stable timings");
    }
    let gpu_index = match dev {
        Device::Cuda(i) => Some(i),
        _ => None,
    };
    if gpu_index.is_some() && args.precision == Precision::Fp32 {
        // TF32 for fp32 matmuls (torch.set_float32_matmul_precision("high")).
        exc_torchext::set_tf32_matmul(true)?;
    }
    // Before the first CUDA call, so that the baseline excludes our context.
    let sampler = gpu_index.and_then(mem::GpuSampler::start);
    let k = pick_kernels(args, dev)?;
    let rx = start_batches(args)?;
    let setup = step::StepSetup {
        cfg: cfg.clone(),
        device: dev,
        precision: args.precision,
        attention: k.attention,
        norm: k.norm,
        grouping: if args.per_tensor_optimizer {
            crate::optim::Grouping::Never
        } else if args.group_by_shape {
            crate::optim::Grouping::Always
        } else {
            crate::optim::Grouping::Auto
        },
        seed: args.seed as i64,
    };
    let work_dir = match &args.work_dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("exc-bench-{}", std::process::id())),
    };
    let with_ref = !args.reference.is_empty();
    let model_dir = work_dir.join("init");
    let mut trainer = step::Trainer::new(&setup, with_ref.then_some(model_dir.as_path()))?;

    // The reference repeats every step on the same batches.
    let keep = if with_ref {
        args.warmup + args.steps + args.breakdown_steps
    } else {
        0
    };
    let mut kept = Vec::with_capacity(keep);
    let mut fetch = |wait: &mut f64| -> Result<crate::model::Seq2SeqBatch> {
        let t = Instant::now();
        let b = data::next(&rx)?;
        *wait += t.elapsed().as_secs_f64();
        let tensors = data::to_tensors(&b, dev);
        if kept.len() < keep {
            kept.push(b);
        }
        Ok(tensors)
    };
    let run = run_steps(args, dev, &mut trainer, &mut fetch)?;
    // The caching allocator's own peaks (CUDA; none on CPU).
    let allocator = gpu_index.and_then(|i| exc_torchext::device_memory(i).ok());
    let peak_mem = match &sampler {
        Some(s) => Some((s.peak_bytes(), "device memory in use (nvidia-smi, sampled)")),
        None if dev.is_cuda() => None,
        None => mem::peak_rss_bytes().map(|b| (b, "peak RSS of the process")),
    };
    let device_name = match gpu_index {
        Some(i) => mem::gpu_query(i).map_or_else(|| format!("cuda:{i}"), |(n, _)| n),
        None => "cpu".to_string(),
    };
    let peak_tflops = args
        .peak_tflops
        .or_else(|| flops::bf16_peak_tflops(&device_name));
    drop(sampler);

    let plan = if with_ref {
        Some(reference_run(
            args, &work_dir, &model_dir, &kept, gpu_index,
        )?)
    } else {
        None
    };
    let report = Report::new(report::Inputs {
        args,
        cfg: &cfg,
        device: device_name,
        attention: k.attention,
        attention_check: k.attention_check,
        norm: k.norm,
        norm_check: k.norm_check,
        kernel_notes: k.notes,
        optimizer_groups: trainer.opt.group_count(),
        warmup_s: run.warmup_s,
        timed_s: run.timed_s,
        data_wait_s: run.data_wait_s,
        breakdown: Breakdown::mean(&run.parts),
        ops: run.ops,
        losses: run.losses,
        peak_mem,
        allocator: allocator.map(|m| report::AllocatorPeaks {
            peak_allocated_bytes: m.peak_allocated,
            peak_reserved_bytes: m.peak_reserved,
        }),
        peak_tflops,
        threads: tch::get_num_threads(),
    });
    Ok((report, plan))
}

/// The kernels the bench measures, each checked on the device first.
struct Kernels {
    attention: AttentionImpl,
    attention_check: Option<(f64, f64)>,
    norm: NormImpl,
    norm_check: Option<crate::kernel_check::NormCheck>,
    /// Fast kernels refused by their checks, and what is measured instead.
    notes: Vec<String>,
}

/// A fast kernel that fails its check: an error when asked for by name,
/// else the bench measures the reference kernel instead and says so (as
/// `exc run --kernels auto` does).
fn pick_kernels(args: &TrainArgs, dev: Device) -> Result<Kernels> {
    let kind = match args.precision {
        Precision::Fp32 => Kind::Float,
        Precision::Bf16 => Kind::BFloat16,
    };
    let mut attention: AttentionImpl = match args.attention {
        Some(a) => a.into(),
        None if dev.is_cuda() => AttentionImpl::MemEfficient,
        None => AttentionImpl::Math,
    };
    if attention == AttentionImpl::MemEfficient && !dev.is_cuda() {
        return Err(Error::Input(
            "--attention mem-efficient needs a CUDA device".into(),
        ));
    }
    let mut notes = Vec::new();
    let mut attention_check = None;
    if attention != AttentionImpl::Math {
        let (figures, refused) = crate::kernel_check::verify_attention(attention, dev, kind);
        attention_check = figures;
        if let Some(why) = refused {
            let asked = args.attention.is_some();
            fall_back(why, asked, "--attention math", "math attention", &mut notes)?;
            attention = AttentionImpl::Math;
        }
    }
    let mut norm: NormImpl = match args.norm {
        Some(n) => n.into(),
        None if dev.is_cuda() => NormImpl::Fused,
        None => NormImpl::Composite,
    };
    let mut norm_check = None;
    if norm != NormImpl::Composite {
        let (figures, refused) = crate::kernel_check::verify_norm(dev, kind);
        norm_check = figures;
        if let Some(why) = refused {
            let asked = args.norm.is_some();
            fall_back(
                why,
                asked,
                "--norm composite",
                "the composite norm",
                &mut notes,
            )?;
            norm = NormImpl::Composite;
        }
    }
    Ok(Kernels {
        attention,
        attention_check,
        norm,
        norm_check,
        notes,
    })
}

type Batches = std::sync::mpsc::Receiver<
    exc_data::Result<(exc_data::pack::Batch, exc_data::pipeline::PipelineCursor)>,
>;

/// The span-corruption pipeline over the bench's text, on its worker thread.
fn start_batches(args: &TrainArgs) -> Result<Batches> {
    let text = if args.text.is_empty() {
        env_path("EXC_BENCH_TEXT")
            .map(|p| vec![p])
            .unwrap_or_default()
    } else {
        args.text.clone()
    };
    let tokenizer = args
        .tokenizer
        .clone()
        .or_else(|| env_path("EXC_BENCH_TOKENIZER"))
        .ok_or_else(|| {
            Error::Input("give --tokenizer (spiece.model) or set EXC_BENCH_TOKENIZER".into())
        })?;
    let spec = data::spec(
        data::text_files(&text)?,
        args.batch,
        args.inputs,
        args.targets,
        args.seed,
    )?;
    data::start(&spec, &tokenizer)
}

/// What the steps measured: warm-up and timed wall time, the data wait
/// inside the timed steps, the synchronised breakdowns, the counted ops and
/// every step's loss.
struct StepRun {
    warmup_s: f64,
    timed_s: f64,
    data_wait_s: f64,
    parts: Vec<Breakdown>,
    ops: Option<step::StepOps>,
    losses: Vec<f64>,
}

/// Warm-up steps, timed steps, breakdown steps, then the counted step.
fn run_steps(
    args: &TrainArgs,
    dev: Device,
    trainer: &mut step::Trainer,
    fetch: &mut impl FnMut(&mut f64) -> Result<crate::model::Seq2SeqBatch>,
) -> Result<StepRun> {
    let mut losses = Vec::new();
    let t = Instant::now();
    let mut ignored = 0.0;
    for _ in 0..args.warmup {
        let b = fetch(&mut ignored)?;
        losses.push(trainer.step(&b, args.lr)?);
    }
    step::sync(dev);
    let warmup_s = t.elapsed().as_secs_f64();

    let mut data_wait_s = 0.0;
    let t = Instant::now();
    for _ in 0..args.steps {
        let b = fetch(&mut data_wait_s)?;
        losses.push(trainer.step(&b, args.lr)?);
    }
    step::sync(dev);
    let timed_s = t.elapsed().as_secs_f64();

    let mut parts = Vec::new();
    for _ in 0..args.breakdown_steps {
        let (bd, loss) = trainer.timed_step(args.lr, || fetch(&mut ignored))?;
        parts.push(bd);
        losses.push(loss);
    }
    // After the steps the reference repeats, so it changes no compared loss.
    let ops = if args.no_op_count {
        None
    } else {
        Some(trainer.counted_step(args.lr, || fetch(&mut ignored))?)
    };
    Ok(StepRun {
        warmup_s,
        timed_s,
        data_wait_s,
        parts,
        ops,
        losses: losses.iter().map(|l| l.double_value(&[])).collect(),
    })
}

/// What the reference run needs: the batches exc trained on (written
/// now), the initial weights (written by the trainer) and the settings.
fn reference_run(
    args: &TrainArgs,
    work_dir: &std::path::Path,
    model_dir: &std::path::Path,
    kept: &[exc_data::pack::Batch],
    gpu_index: Option<usize>,
) -> Result<reference::RefRun> {
    let batches = work_dir.join("batches.safetensors");
    reference::write_batches(kept, &batches)?;
    Ok(reference::RefRun {
        python: args
            .python
            .clone()
            .or_else(|| env_path("EXC_TORCH_PYTHON"))
            .unwrap_or_else(|| PathBuf::from("python3")),
        work_dir: work_dir.to_path_buf(),
        model_dir: model_dir.to_path_buf(),
        batches,
        steps: args.steps,
        warmup: args.warmup,
        breakdown_steps: args.breakdown_steps,
        device: match gpu_index {
            Some(i) => format!("cuda:{i}"),
            None => "cpu".into(),
        },
        precision: match args.precision {
            Precision::Fp32 => "fp32",
            Precision::Bf16 => "bf16",
        },
        threads: args.threads.unwrap_or_else(tch::get_num_threads),
        lr: args.lr,
    })
}
