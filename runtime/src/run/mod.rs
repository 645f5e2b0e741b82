//! `exc run`: executes a mixture's plan — pre-training, fine-tuning and
//! evaluation stages — into a run directory that can be trusted, resumed and
//! compared.
//!
//! ```text
//! RUN_DIR/
//!   plan.json  plan.sha256   the frozen plan (hashed) the run executes
//!   config.json              resolved settings: data dir, tokenizer, device, overrides
//!   metrics.jsonl            step, loss, LR, tokens/s, data-wait share; validation loss per task
//!                            (and, once, the tasks it leaves out and why)
//!   <stage>/checkpoints/step-N/   HF weights + optimizer + data cursor, committed atomically
//!   <stage>/DONE             written when the stage finished; `data`: each task's rows
//!                            read, dropped (filter, join) and truncated
//!   eval/<task>/<split>.predictions.jsonl, <split>.scores.json (`rows`: read, dropped)
//!   report.md                per-task table
//! ```
//!
//! A sweep (several runs in the plan) gets one such directory per point,
//! under the sweep's directory; `exc report` ([`report`]) aggregates them.
//! Data enters through [`data`] (plan -> exc-data pipeline), weights through
//! [`train`], scores through [`eval`]; [`ckpt`] owns the checkpoint format.

pub mod ckpt;
pub mod config;
pub mod data;
pub mod eval;
pub mod kernels;
pub mod lock;
mod progress;
pub mod provenance;
pub mod report;
mod report_curves;
mod report_grid;
mod report_runs;
mod report_svg;
pub mod runfiles;
pub mod tensorboard;
pub mod train;
mod trainer;
mod window;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use exc_compiler::plan::{Init, Plan, RunPlan, StageKind};
use exc_data::source::locate::DataRoots;
use exc_data::T5Tokenizer;
use tch::Device;

use crate::error::{Error, Result};
pub use config::Resolved;
pub use report::{report, ReportArgs};

/// The mixture `exc run` runs when given none.
pub const QUICKSTART: &str = "examples/quickstart/quickstart.exmix";

/// `exc run`: train and evaluate a mixture into a run directory.
///
/// With `--resume`, the run goes on with its frozen plan and recorded
/// settings: `--data-dir`, `--tokenizer` (the same file, moved),
/// `--device` and `--log-every` may change them (and are recorded);
/// `--steps`, `--eval-limit`, `--kernels`, `--name`, `--out` and a mixture
/// are refused unless they repeat what the run recorded ([`config`]).
#[derive(Debug, Clone, Default, clap::Args)]
#[command(
    after_help = "With --resume DIR the run continues its frozen plan and the settings \
in DIR/config.json, from any directory. --data-dir and --tokenizer say where the data and the \
tokenizer are now (the tokenizer must be the same file); --device and --log-every may change; \
--steps, --set, --eval-limit, --kernels, --name, --out and MIXTURE are refused unless they repeat what \
the run recorded. A run that already finished is left as it is."
)]
pub struct RunArgs {
    /// The .exmix file (default: the CPU quickstart, examples/quickstart/quickstart.exmix).
    pub mixture: Option<PathBuf>,
    /// Which mixture, when the file holds several.
    #[arg(long)]
    pub name: Option<String>,
    /// Where task data is looked for first (`DIR/TASK/SPLIT.jsonl`, ...);
    /// default: `data/` beside the mixture file when it exists. With
    /// --resume: where the run's data is now (recorded).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The run directory (default: runs/<mixture>).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Continue the interrupted run in this directory (its frozen plan and
    /// recorded settings are used).
    #[arg(long, conflicts_with = "mixture")]
    pub resume: Option<PathBuf>,
    /// spiece.model or tokenizer.json (default: beside the mixture, then in
    /// the data dir). With --resume: where the run's tokenizer is now.
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// `cpu`, `cuda` or `cuda:N` (default: cuda when available; with
    /// --resume, the run's device).
    #[arg(long)]
    pub device: Option<String>,
    /// Override the steps of every training stage (the plan is re-hashed).
    /// Refused with --resume unless it repeats the run's.
    #[arg(long)]
    pub steps: Option<u64>,
    /// Override a setting of the mixture, written as in its block
    /// (repeatable): `train.lr=rsqrt(peak=0.005,warmup=1000)`, `c4.ratio=4`,
    /// `model.dropout_rate=0`, `finetune.train.steps=500`. Checked as the
    /// file's own value; the plan records it (and is re-hashed). Refused
    /// with --resume unless it repeats the run's.
    #[arg(long = "set", value_name = "BLOCK.KEY=VALUE")]
    pub set: Vec<String>,
    /// Score at most this many examples per task and split. Refused with
    /// --resume unless it repeats the run's.
    #[arg(long)]
    pub eval_limit: Option<usize>,
    /// Steps between lines of metrics.jsonl and log lines (default: 10;
    /// with --resume, the run's).
    #[arg(long)]
    pub log_every: Option<u64>,
    /// Stop after this training step, as an interruption would (for tests).
    #[arg(long, hide = true)]
    pub stop_after: Option<u64>,
    /// No progress bar or log lines.
    #[arg(long, short)]
    pub quiet: bool,
    /// Training kernels: `auto` uses the fast attention and norm kernels on
    /// CUDA where they pass a check on the device; `reference` always uses
    /// transformers' math (what the parity tests check). Default: `auto`;
    /// with --resume, the run's (another is refused).
    #[arg(long, value_enum)]
    pub kernels: Option<kernels::KernelChoice>,
    /// Start N ranks of this run on this machine (data parallelism: Gloo on
    /// CPU, NCCL on CUDA, one GPU each), or `gpu` for one per visible GPU.
    /// torchrun and srun start ranks themselves: see the README.
    #[arg(long, value_name = "N")]
    pub nproc: Option<String>,
    /// Seconds a rank waits for the others (joining, each collective)
    /// before the group stops with an error (default: EXC_DIST_TIMEOUT,
    /// else 1800).
    #[arg(long, value_name = "SECS")]
    pub dist_timeout: Option<f64>,
}

/// What a finished `exc run` produced.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// One directory per run of the plan (one unless it is a sweep).
    pub run_dirs: Vec<PathBuf>,
}

pub(crate) fn device_name(d: Device) -> String {
    match d {
        Device::Cuda(n) => format!("cuda:{n}"),
        _ => "cpu".into(),
    }
}

/// What each training stage of `run` trains in on `device`.
fn precisions(run: &RunPlan, device: Device) -> indexmap::IndexMap<String, String> {
    let mut out = indexmap::IndexMap::new();
    for s in &run.stages {
        let Some(t) = &s.train else { continue };
        let p = if train::trains_in_bf16(t, device) {
            "bf16"
        } else {
            "fp32"
        };
        out.insert(s.name.clone(), p.to_string());
    }
    out
}

fn compile_plan(path: &Path, name: Option<&str>, set: &[String]) -> Result<Plan> {
    let sets = exc_compiler::Sets {
        args: set,
        only: name,
    };
    let c = exc_compiler::compile_set(&[path.to_path_buf()], &sets);
    // Rendered as `exc check` renders them, with the excerpt: a `--set`
    // argument's mistake is shown in the argument.
    for d in &c.diagnostics {
        eprintln!("{:?}", d.to_report(&c.loaded.sources));
    }
    if c.errors() > 0 {
        return Err(Error::Input(format!(
            "`{}` has {} error(s); nothing was run",
            path.display(),
            c.errors()
        )));
    }
    let mut plans = c.plans;
    let found = match name {
        Some(n) => plans.into_iter().find(|p| p.mixture == n),
        None if plans.len() == 1 => plans.pop(),
        None => {
            let names: Vec<String> = plans.iter().map(|p| format!("`{}`", p.mixture)).collect();
            return Err(Error::Input(format!(
                "`{}` holds several mixtures ({}); pick one with --name",
                path.display(),
                names.join(", ")
            )));
        }
    };
    found.ok_or_else(|| Error::Input(format!("no mixture to run in `{}`", path.display())))
}

fn find_tokenizer(
    args: &RunArgs,
    mixture: Option<&Path>,
    data_dir: Option<&Path>,
) -> Result<PathBuf> {
    if let Some(t) = &args.tokenizer {
        return Ok(t.clone());
    }
    let dirs = [mixture.and_then(Path::parent), data_dir];
    for dir in dirs.into_iter().flatten() {
        for name in ["tokenizer.json", "spiece.model"] {
            if dir.join(name).is_file() {
                return Ok(dir.join(name));
            }
        }
    }
    Err(Error::Input(
        "no tokenizer found beside the mixture or in the data dir; pass --tokenizer \
         (a T5 spiece.model or tokenizer.json)"
            .into(),
    ))
}

fn write_json(path: &Path, v: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(v).map_err(|e| Error::Input(e.to_string()))?;
    crate::checkpoint::write_atomic(path, text.as_bytes())
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Input(format!("`{}`: {e}", path.display())))
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "=.-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Runs (or resumes) every run of a mixture's plan.
pub fn run(args: &RunArgs) -> Result<RunOutcome> {
    let world = crate::dist::World::from_env()?;
    // A group torchrun (or SLURM) restarted after a failure goes on from
    // the run its first attempt started, as `--resume` would.
    let restarted = match &args.resume {
        None if world.restart > 0 => {
            let (_, root, _) = start(args, false, &mut None)?;
            root.join("plan.json").is_file().then_some(root)
        }
        _ => None,
    };
    // Rank 0 holds the run directory's lock from here to the end; a fresh
    // run takes it in `start`, before it looks for an earlier run there.
    let mut held = None;
    let (plan, root, mut base) = match args.resume.as_ref().or(restarted.as_ref()) {
        Some(dir) => match resume(args, dir, world.rank == 0, &mut held)? {
            Resume::Finished(outcome) => return Ok(outcome),
            Resume::GoOn(go_on) => {
                let (plan, base) = *go_on;
                (plan, dir.clone(), base)
            }
        },
        None => start(args, world.rank == 0, &mut held)?,
    };
    if let (Some(dir), 0) = (&restarted, world.rank) {
        if !args.quiet {
            eprintln!(
                "restart {} of the group: resuming the run in `{}`",
                world.restart,
                dir.display()
            );
        }
    }
    // Under data parallelism CUDA means this rank's GPU (its local rank).
    let device = world.device(crate::env::parse_device(Some(&base.device))?);
    let timeout = match args.dist_timeout {
        Some(t) if t.is_finite() && t > 0.0 => std::time::Duration::from_secs_f64(t),
        Some(t) => {
            return Err(Error::Input(format!(
                "--dist-timeout {t}: give a positive number of seconds"
            )))
        }
        None => crate::dist::timeout()?,
    };
    let dist = crate::dist::init(&world, device, timeout)?;
    if world.rank > 0 {
        // Rank 0 locked the directory before the group formed.
        lock::check_held(&root)?;
    }
    base.parallel = dist.map(|d| config::Parallel {
        world_size: d.world.world,
        backend: d.backend.clone(),
        launcher: launcher_name(d.world.launcher),
    });
    let writer = crate::dist::is_writer();
    // Recomputed on every resume: `auto` follows the device of this process.
    base.precision = Default::default();
    let roots = DataRoots::from_env(base.data_dir.clone());
    check_data(&plan, &roots, args.resume.is_some().then_some(&base))?;
    check_models(&plan, &base)?;
    let tok = crate::tokenizer::load(&base.tokenizer)?;
    base.pin_tokenizer(tok.path(), &root)?;
    if writer {
        std::fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
        freeze_plan(&root, &plan)?;
        write_json(&root.join("config.json"), &base)?;
        record_hub_commits(&plan, &roots, &base, &root)?;
    }
    let mut run_dirs = Vec::new();
    for rp in &plan.runs {
        let dir = run_dir(&plan, &root, rp);
        let resolved = Resolved {
            run: rp.name.clone(),
            params: rp.params.clone(),
            precision: precisions(rp, device),
            ..base.clone()
        };
        let ctx = RunCtx {
            plan: &plan,
            run: rp,
            dir: &dir,
            roots: &roots,
            tok: tok.clone(),
            device,
            args,
            resolved: &resolved,
            kernels: std::cell::RefCell::new(kernels::KernelPicker::new(base.kernels, device)),
        };
        run_one(&ctx)?;
        run_dirs.push(dir);
    }
    if summarized(&plan) && writer {
        report::report(&ReportArgs {
            dirs: vec![root.clone()],
            out: None,
        })?;
    }
    Ok(RunOutcome { run_dirs })
}

/// Whether the run gets a `summary.md` over its sweep's points: a sweep
/// whose runs evaluate something (one that only trains has no scores to
/// compare; each point's `report.md` still shows its losses).
fn summarized(plan: &Plan) -> bool {
    plan.runs.len() > 1
        && plan
            .runs
            .iter()
            .any(|r| r.stages.iter().any(|s| s.kind == StageKind::Evaluate))
}

/// The directory of run `rp` of `plan`: the root itself, or one per
/// point of a sweep.
fn run_dir(plan: &Plan, root: &Path, rp: &RunPlan) -> PathBuf {
    if plan.runs.len() == 1 {
        root.to_path_buf()
    } else {
        root.join(sanitize(&rp.name))
    }
}

/// The launcher as `config.json` and `DONE` record it (its serde name).
fn launcher_name(l: crate::dist::Launcher) -> String {
    serde_json::to_value(l)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Writes `plan.json` and `plan.sha256` into `dir` unless a resumed run
/// froze them there already: that file is kept as it was written, since
/// this exc might write some value of an older plan in another form, which
/// its hash would no longer match.
fn freeze_plan(dir: &Path, plan: &Plan) -> Result<()> {
    if !dir.join("plan.json").is_file() {
        write_json(&dir.join("plan.json"), plan)?;
    }
    crate::checkpoint::write_atomic(&dir.join("plan.sha256"), plan.hash.as_bytes())
}

/// A new run: the mixture compiled into its plan, its settings resolved.
/// `writer`: whether this process writes the run directory (rank 0); the
/// other ranks of a group do not look for an earlier run there, since rank
/// 0 may already have started this one.
fn start(
    args: &RunArgs,
    writer: bool,
    held: &mut Option<lock::RunLock>,
) -> Result<(Plan, PathBuf, Resolved)> {
    let mixture = args
        .mixture
        .clone()
        .unwrap_or_else(|| PathBuf::from(QUICKSTART));
    let mut plan = compile_plan(&mixture, args.name.as_deref(), &args.set)?;
    if let Some(steps) = args.steps {
        for s in plan.runs.iter_mut().flat_map(|r| r.stages.iter_mut()) {
            if let Some(t) = s.train.as_mut() {
                t.steps = steps;
            }
        }
        plan = plan.seal();
    }
    let data_dir = args.data_dir.clone().or_else(|| {
        let d = mixture.parent()?.join("data");
        d.is_dir().then_some(d)
    });
    let tokenizer = find_tokenizer(args, Some(&mixture), data_dir.as_deref())?;
    let root = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(sanitize(&plan.mixture)));
    if writer {
        // Locked before looking: of two runs started at once with one
        // --out, the second is refused here instead of overwriting.
        *held = Some(lock::acquire(&root)?);
    }
    if writer && root.join("plan.json").exists() {
        return Err(Error::Input(format!(
            "`{}` already holds a run; continue it with `exc run --resume {}` or pick \
             another --out",
            root.display(),
            root.display()
        )));
    }
    let device = device_name(crate::env::parse_device(args.device.as_deref())?);
    let base = config::fresh(args, &mixture, data_dir.as_deref(), &tokenizer, device)?;
    Ok((plan, root, base))
}

enum Resume {
    /// Every run of the plan had finished: nothing was done.
    Finished(RunOutcome),
    /// The frozen plan and the settings to go on with (boxed: a plan is large).
    GoOn(Box<(Plan, Resolved)>),
}

/// Reads the frozen plan and settings of the run in `dir`, refuses flags
/// that would change it, and says so when it has already finished.
fn resume(
    args: &RunArgs,
    dir: &Path,
    writer: bool,
    held: &mut Option<lock::RunLock>,
) -> Result<Resume> {
    let plan_file = dir.join("plan.json");
    if writer && dir.is_dir() {
        // A run still alive in `dir` keeps it: resuming now would race it.
        *held = Some(lock::acquire(dir)?);
    }
    let text = std::fs::read_to_string(&plan_file).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Input(format!(
                "`{}` holds no run to resume (no `plan.json`)\n  help: pass the directory \
                 `exc run` wrote, `runs/<mixture>` unless `--out` said otherwise",
                dir.display()
            ))
        } else {
            Error::io(&plan_file, e)
        }
    })?;
    let plan = Plan::from_json(&text).map_err(Error::Input)?;
    // Checked on the file's bytes: an older exc may have written a value in
    // another form than this one would (`exc_compiler::train_settings`).
    if !Plan::hash_matches(&text) {
        return Err(Error::Input(format!(
            "`{}` does not match its hash: the frozen plan was edited",
            plan_file.display()
        )));
    }
    let rec = config::recorded(dir)?;
    config::refuse_changes(args, &rec, dir, &plan)?;
    if let Some(reports) = finished_reports(&plan, dir) {
        if !args.quiet {
            let shown: Vec<String> = reports
                .iter()
                .map(|r| format!("`{}`", r.display()))
                .collect();
            eprintln!(
                "the run in `{}` was already complete; nothing to resume. Its report: {}",
                dir.display(),
                shown.join(", ")
            );
        }
        let run_dirs = plan.runs.iter().map(|rp| run_dir(&plan, dir, rp)).collect();
        return Ok(Resume::Finished(RunOutcome { run_dirs }));
    }
    let base = config::resumed(args, rec, dir, &plan)?;
    Ok(Resume::GoOn(Box::new((plan, base))))
}

/// The reports of a run in `root` every stage of which finished (and
/// wrote its report), or None while something is left to do.
fn finished_reports(plan: &Plan, root: &Path) -> Option<Vec<PathBuf>> {
    let mut reports = Vec::new();
    for rp in &plan.runs {
        let dir = run_dir(plan, root, rp);
        let done = rp
            .stages
            .iter()
            .all(|s| dir.join(&s.name).join("DONE").is_file());
        let report = dir.join("report.md");
        if !done || !report.is_file() {
            return None;
        }
        reports.push(report);
    }
    if summarized(plan) {
        reports.insert(0, root.join("summary.md"));
    }
    Some(reports)
}

/// Every model the plan starts from (`model hf`) is a local directory or in
/// the hub cache, before any training starts.
fn check_models(plan: &Plan, base: &Resolved) -> Result<()> {
    let models =
        std::iter::once(&plan.model).chain(plan.runs.iter().filter_map(|r| r.model.as_ref()));
    for init in models.filter_map(|m| m.init.as_ref()) {
        let hint = format!(
            "`exc fetch {}` (it fetches the models a mixture names)",
            plan.file
        );
        crate::hub_model::check(init, &base.plan_path(init), &hint)?;
    }
    Ok(())
}

/// Writes the hub commits the run reads into `RUN_DIR/hub.lock`, and warns
/// when the mixture's lock file names other commits than the cache holds.
fn record_hub_commits(plan: &Plan, roots: &DataRoots, base: &Resolved, root: &Path) -> Result<()> {
    let models: Vec<PathBuf> = std::iter::once(&plan.model)
        .chain(plan.runs.iter().filter_map(|r| r.model.as_ref()))
        .filter_map(|m| m.init.as_deref())
        .map(|init| crate::hub_model::locate(init, base.plan_path(init)))
        .collect();
    let reads = provenance::hub_reads(plan, roots, &models);
    if reads.is_empty() {
        return Ok(());
    }
    let path = root.join("hub.lock");
    provenance::lock_of(&reads)
        .write(&path)
        .map_err(|e| Error::Input(e.to_string()))?;
    let Some(mixture) = &base.mixture_file else {
        return Ok(());
    };
    let lock_path = exc_hub::lock::LockFile::path_for(mixture);
    // A run reads what the cache holds either way; a lock it cannot read
    // is said, not passed over (`exc fetch --locked` refuses it).
    let lock = match exc_hub::lock::LockFile::read(&lock_path) {
        Ok(lock) => lock,
        Err(e) => {
            eprintln!("warning: the run's hub commits are not compared with the lock: {e}");
            return Ok(());
        }
    };
    // As the user would type them: relative to where exc runs.
    let here = std::env::current_dir().unwrap_or_default();
    let shown = |p: &Path| p.strip_prefix(&here).unwrap_or(p).display().to_string();
    let moved = provenance::against_lock(&reads, &lock, Path::new(&shown(&lock_path)));
    // A warning, not progress: `--quiet` does not hide it.
    if !moved.is_empty() {
        eprintln!(
            "warning: the run reads other hub commits than the mixture's lock file names:\n  {}\n  \
             help: `exc fetch {} --locked` fetches the locked commits (`exc fetch` without \
             --locked moves the lock to what the hub serves now); the run goes on with what \
             the cache holds, recorded in `{}`",
            moved.join("\n  "),
            shown(mixture),
            shown(&path)
        );
    }
    Ok(())
}

/// Locates every source of every stage before any training starts. A
/// fine-tune stage's `splits` (the compiler's default: validation) are its
/// selection splits, so they are checked here too. `resumed`: the settings
/// of a resumed run, whose data may have moved since it started.
fn check_data(plan: &Plan, roots: &DataRoots, resumed: Option<&Resolved>) -> Result<()> {
    let stages: Vec<_> = plan.runs.iter().flat_map(|r| r.stages.clone()).collect();
    let missing = data::check_sources(plan, &stages, roots);
    if missing.is_empty() {
        return Ok(());
    }
    let selecting = stages
        .iter()
        .any(|s| s.kind == StageKind::Finetune && !s.last_checkpoint);
    let hint = if selecting {
        "\n(a fine-tune stage scores each checkpoint on its `splits`, validation by \
         default, to choose the best one per task: give it data for that split, name \
         a split the task has with `splits …` in the stage, or say `last_checkpoint` in \
         the stage to evaluate with its last checkpoint instead)"
    } else {
        ""
    };
    let moved = match resumed {
        Some(r) => format!(
            "\n  help: the run reads its data from {}; if the data moved, pass `--data-dir` \
             with `--resume`",
            r.data_dir
                .as_ref()
                .map_or("the hub cache".to_string(), |d| format!(
                    "`{}`",
                    d.display()
                ))
        ),
        None => String::new(),
    };
    Err(Error::Input(format!(
        "missing data; nothing was run:\n  {}{hint}{moved}",
        missing.join("\n  ")
    )))
}

struct RunCtx<'a> {
    plan: &'a Plan,
    run: &'a RunPlan,
    dir: &'a Path,
    roots: &'a DataRoots,
    tok: Arc<T5Tokenizer>,
    device: Device,
    args: &'a RunArgs,
    resolved: &'a Resolved,
    kernels: std::cell::RefCell<kernels::KernelPicker>,
}

/// The split a fine-tuning stage selects its checkpoints on: its first
/// `splits` entry (the compiler defaults it to validation). Every
/// checkpoint is scored with the tasks' metrics on it, and each task is
/// evaluated with its best one, as Appendix B reports "the best checkpoint
/// per task". Pre-training never selects: the paper fine-tunes from the
/// final pre-training checkpoint; nor does a `last_checkpoint` stage.
pub fn selection_split(run: &RunPlan, index: usize) -> Option<String> {
    let stage = run.stages.get(index)?;
    (stage.kind == StageKind::Finetune && !stage.last_checkpoint).then(|| {
        stage
            .splits
            .first()
            .cloned()
            .unwrap_or_else(|| "validation".into())
    })
}

/// What a finished training stage left: its final weights (none when it
/// trained one model per task) and, per task, the weights to evaluate that
/// task with (its best checkpoint on validation when the stage selected).
struct StageWeights {
    last: Option<PathBuf>,
    per_task: indexmap::IndexMap<String, PathBuf>,
}

fn stage_weights(dir: &Path, stage: &str) -> Result<StageWeights> {
    let done = dir.join(stage).join("DONE");
    let rec = match runfiles::read_done(&done).map_err(Error::Input)? {
        Some(runfiles::StageDone::Train(rec)) => *rec,
        Some(runfiles::StageDone::Evaluate(_)) => {
            return Err(Error::Input(format!(
                "stage `{stage}` evaluates; it trained no weights to start from"
            )))
        }
        None => {
            return Err(Error::Input(format!(
                "stage `{stage}` has not finished; no weights to start from"
            )))
        }
    };
    let last = rec.weights.map(|w| dir.join(w));
    let per_task: indexmap::IndexMap<String, PathBuf> = rec
        .task_weights
        .into_iter()
        .map(|(t, w)| (t, dir.join(w)))
        .collect();
    if last.is_none() && per_task.is_empty() {
        return Err(Error::Checkpoint(format!(
            "`{}` names no weights",
            done.display()
        )));
    }
    Ok(StageWeights { last, per_task })
}

/// The weights a training stage starts from when it names stage `stage`.
fn start_weights(dir: &Path, stage: &str) -> Result<PathBuf> {
    stage_weights(dir, stage)?.last.ok_or_else(|| {
        Error::Input(format!(
            "stage `{stage}` trained one model per task; start from one of them with \
             `from \"{}/{stage}/<task>/checkpoints/step-N\"`",
            dir.display()
        ))
    })
}

fn fresh_model(ctx: &RunCtx, dropout: f64, seed: u64) -> Result<train::Model> {
    let model = ctx.plan.model_of(ctx.run);
    let cfg = match (&model.init, &model.config) {
        (Some(init), None) => {
            let mut c = crate::model::T5Config::from_json_file(
                &ctx.resolved.plan_path(init).join("config.json"),
            )?;
            c.dropout_rate = dropout;
            c
        }
        _ => train::model_config(model, dropout)?,
    };
    tch::manual_seed(seed as i64);
    let mut m = train::Model::new(&cfg, ctx.device)?;
    if let Some(init) = &model.init {
        m.load(&ctx.resolved.plan_path(init))?;
    }
    Ok(m)
}

fn run_one(ctx: &RunCtx) -> Result<()> {
    let dir = ctx.dir;
    let writer = crate::dist::is_writer();
    if writer {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    if writer && dir.join("plan.json").exists() {
        let old: String = std::fs::read_to_string(dir.join("plan.sha256")).unwrap_or_default();
        if old.trim() != ctx.plan.hash {
            return Err(Error::Input(format!(
                "`{}` holds a run of another plan (hash {}); refusing to mix them",
                dir.display(),
                old.trim()
            )));
        }
    }
    if writer {
        freeze_plan(dir, ctx.plan)?;
        write_json(&dir.join("config.json"), ctx.resolved)?;
    }
    let metrics = dir.join("metrics.jsonl");
    let mut last_trained: Option<String> = None;
    for (index, stage) in ctx.run.stages.iter().enumerate() {
        let sdir = dir.join(&stage.name);
        let done = sdir.join("DONE");
        if done.exists() {
            if stage.kind != StageKind::Evaluate {
                last_trained = Some(stage.name.clone());
            }
            continue;
        }
        match stage.kind {
            StageKind::Pretrain | StageKind::Finetune => {
                let from = match &stage.from {
                    Some(Init::Stage(s)) => Some(start_weights(dir, s)?),
                    Some(Init::Path(p)) => Some(ctx.resolved.plan_path(p)),
                    None => None,
                };
                let select = selection_split(ctx.run, index).map(|split| train::Select {
                    split,
                    limit: ctx.resolved.eval_limit,
                });
                let record =
                    train_stage_units(ctx, stage, &sdir, from.as_deref(), select, &metrics)?;
                if writer {
                    write_json(&done, &record)?;
                }
                // The next stage reads what this one's DONE names.
                crate::dist::barrier(&format!("the end of stage `{}`", stage.name))?;
                last_trained = Some(stage.name.clone());
            }
            StageKind::Evaluate => {
                let weights = match &stage.from {
                    Some(Init::Stage(s)) => Some(stage_weights(dir, s)?),
                    Some(Init::Path(p)) => Some(StageWeights {
                        last: Some(ctx.resolved.plan_path(p)),
                        per_task: Default::default(),
                    }),
                    None => match &last_trained {
                        Some(s) => Some(stage_weights(dir, s)?),
                        None => ctx
                            .plan
                            .model_of(ctx.run)
                            .init
                            .as_ref()
                            .map(|p| StageWeights {
                                last: Some(ctx.resolved.plan_path(p)),
                                per_task: Default::default(),
                            }),
                    },
                };
                evaluate_stage(ctx, stage, weights.as_ref())?;
                if writer {
                    std::fs::create_dir_all(&sdir).map_err(|e| Error::io(&sdir, e))?;
                    let evaluated = stage.tasks.len();
                    write_json(&done, &runfiles::EvalDone { evaluated })?;
                }
                crate::dist::barrier(&format!("the end of stage `{}`", stage.name))?;
            }
        }
    }
    if !writer {
        return Ok(());
    }
    report::write_run_report(dir)?;
    if !ctx.args.quiet {
        eprintln!("run finished: {}", dir.join("report.md").display());
    }
    Ok(())
}

/// Trains a stage: one model on its mixture, or (`per_task`) one model
/// per task from the same start, each in `<stage>/<task>/`. Returns what
/// `DONE` records: the final weights (mixture) and each task's weights to
/// evaluate with (its best checkpoint when the stage selects).
fn train_stage_units(
    ctx: &RunCtx,
    stage: &exc_compiler::plan::StagePlan,
    sdir: &Path,
    from: Option<&Path>,
    select: Option<train::Select>,
    metrics: &Path,
) -> Result<runfiles::TrainDone> {
    let train = stage
        .train
        .as_ref()
        .ok_or_else(|| Error::Input(format!("stage `{}` has no training settings", stage.name)))?;
    let rel = |p: &Path| {
        p.strip_prefix(ctx.dir)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    };
    // On CUDA: the caching allocator's peaks while this stage trained.
    let gpu = match ctx.device {
        Device::Cuda(i) => Some(i),
        _ => None,
    };
    if let Some(i) = gpu {
        exc_torchext::reset_peak_memory(i)?;
    }
    let mut record = runfiles::TrainDone::default();
    // The kernels the models trained in this process used (none when every
    // unit was already done).
    let mut kernels_used = None;
    for (unit, udir) in stage_units(stage, sdir) {
        let unit_done = udir.join("DONE");
        let unit_record = match runfiles::read_done(&unit_done).map_err(Error::Input)? {
            // A unit of a `per_task` stage that finished before a resume.
            Some(runfiles::StageDone::Train(rec)) if stage.per_task => *rec,
            _ => {
                let unit_ctx = UnitCtx {
                    unit: &unit,
                    dir: &udir,
                    from,
                    select: &select,
                    metrics,
                };
                let (rec, kernels) = train_unit(ctx, train, &unit_ctx)?;
                kernels_used = Some(kernels);
                if stage.per_task && crate::dist::is_writer() {
                    write_json(&unit_done, &rec)?;
                }
                rec
            }
        };
        record.step = unit_record.step;
        record.data.extend(unit_record.data);
        let ckdir = udir.join("checkpoints");
        let final_weights = ckdir.join(ckpt::step_name(unit_record.step));
        let bests = ckpt::best_per_task(&ckdir);
        for tr in &unit.tasks {
            let w = match (&select, bests.get(&tr.task)) {
                (Some(_), Some(&b)) => ckdir.join(ckpt::step_name(b)),
                _ => final_weights.clone(),
            };
            record.task_weights.insert(tr.task.clone(), rel(&w));
        }
        if !stage.per_task {
            record.weights = Some(rel(&final_weights));
        }
    }
    if let Some(k) = kernels_used {
        record.kernels = Some(k);
        record.parallel = crate::dist::current().map(|d| config::Parallel {
            world_size: d.world.world,
            backend: d.backend.clone(),
            launcher: launcher_name(d.world.launcher),
        });
        record.peak_memory = gpu
            .and_then(|i| exc_torchext::device_memory(i).ok())
            .map(|m| runfiles::PeakMemory {
                allocated_bytes: m.peak_allocated,
                reserved_bytes: m.peak_reserved,
            });
    }
    record.selected_on = select.map(|s| s.split);
    Ok(record)
}

/// What a stage trains: itself, or (`per_task`) one unit per task, each
/// a stage of that task alone in its own directory.
fn stage_units(
    stage: &exc_compiler::plan::StagePlan,
    sdir: &Path,
) -> Vec<(exc_compiler::plan::StagePlan, PathBuf)> {
    if !stage.per_task {
        return vec![(stage.clone(), sdir.to_path_buf())];
    }
    stage
        .tasks
        .iter()
        .map(|tr| {
            let mut unit = stage.clone();
            unit.name = format!("{}/{}", stage.name, tr.task);
            unit.per_task = false;
            unit.c4 = None;
            unit.tasks = vec![exc_compiler::plan::TaskRate {
                rate: 1.0,
                epochs: None,
                ..tr.clone()
            }];
            (unit, sdir.join(sanitize(&tr.task)))
        })
        .collect()
}

/// One unit of a training stage ([`stage_units`]) and where it trains.
struct UnitCtx<'a> {
    unit: &'a exc_compiler::plan::StagePlan,
    dir: &'a Path,
    from: Option<&'a Path>,
    select: &'a Option<train::Select>,
    metrics: &'a Path,
}

/// Trains one unit with the kernels picked for its precision: what its
/// `DONE` records (its last step and rows), and the kernels it used.
fn train_unit(
    ctx: &RunCtx,
    train: &exc_compiler::plan::TrainPlan,
    u: &UnitCtx,
) -> Result<(runfiles::TrainDone, String)> {
    let mut model = fresh_model(ctx, train.dropout, train.seed)?;
    let quiet = ctx.args.quiet;
    let k = ctx
        .kernels
        .borrow_mut()
        .pick(train::trains_in_bf16(train, ctx.device), &mut |n| {
            if !quiet {
                eprintln!("note: {n}");
            }
        });
    model.model.set_attention(k.attention);
    model.model.set_norm(k.norm);
    // Process-wide: on for this stage's training only.
    exc_torchext::set_tf32_matmul(k.tf32)?;
    if let Some(w) = u.from {
        model.load(w)?;
    }
    let sctx = train::StageCtx {
        plan: ctx.plan,
        stage: u.unit,
        dir: u.dir,
        roots: ctx.roots,
        tok: ctx.tok.clone(),
        device: ctx.device,
        log_every: ctx.resolved.log_every.max(1),
        metrics: u.metrics,
        stop_after: ctx.args.stop_after,
        quiet: ctx.args.quiet,
        select: u.select.clone(),
        from: u.from,
    };
    let trained = train::train_stage(&sctx, model);
    exc_torchext::set_tf32_matmul(false)?;
    let trained = trained?;
    // Rank 0's checkpoints are read next.
    crate::dist::barrier(&format!("the end of training `{}`", u.unit.name))?;
    let record = runfiles::TrainDone {
        step: trained.final_step,
        data: trained.data.unwrap_or_default(),
        ..Default::default()
    };
    Ok((record, k.describe()))
}

fn evaluate_stage(
    ctx: &RunCtx,
    stage: &exc_compiler::plan::StagePlan,
    weights: Option<&StageWeights>,
) -> Result<()> {
    // Lengths: the longest training stage of the run decides, as the model saw them.
    let (inputs_len, targets_len) = ctx
        .run
        .stages
        .iter()
        .filter_map(|s| s.train.as_ref())
        .map(|t| (t.inputs as usize, t.targets as usize))
        .next_back()
        .unwrap_or((512, 114));
    let splits = if stage.splits.is_empty() {
        vec!["validation".to_string()]
    } else {
        stage.splits.clone()
    };
    // Each task is scored with its own weights (its best checkpoint when the
    // stage before selected); the model is reloaded only when they change.
    let mut loaded: Option<(Option<PathBuf>, train::Model)> = None;
    for tr in &stage.tasks {
        let task = data::plan_task(ctx.plan, &tr.task)?;
        let w: Option<PathBuf> = match weights {
            Some(sw) => match sw.per_task.get(&tr.task).or(sw.last.as_ref()) {
                Some(p) => Some(p.clone()),
                None => {
                    return Err(Error::Input(format!(
                        "stage `{}` evaluates `{}`, but the stage it reads trained one model \
                         per task and none for `{}`",
                        stage.name, tr.task, tr.task
                    )))
                }
            },
            None => None,
        };
        if loaded.as_ref().is_none_or(|(p, _)| *p != w) {
            let mut model = fresh_model(ctx, 0.0, 0)?;
            if let Some(p) = &w {
                model.load(p)?;
            }
            loaded = Some((w.clone(), model));
        }
        let Some((_, model)) = &loaded else {
            continue;
        };
        let ectx = eval::EvalCtx {
            model: &model.model,
            tok: &ctx.tok,
            device: ctx.device,
            roots: ctx.roots,
            limit: ctx.resolved.eval_limit,
            inputs_len,
            targets_len,
            weights: w.as_deref(),
            baseline: true,
        };
        for split in &splits {
            let out = ctx.dir.join("eval").join(sanitize(&tr.task));
            let r = tch::no_grad(|| eval::evaluate(&ectx, task, split, &out))?;
            if !ctx.args.quiet && crate::dist::is_writer() {
                let shown = serde_json::to_string(&r.scores).unwrap_or_default();
                eprintln!("eval {} {split}: {shown}", tr.task);
                let rows: runfiles::TaskRows = r
                    .rows
                    .iter()
                    .map(|c| (tr.task.clone(), c.clone()))
                    .collect();
                if let Some(note) = data::dropped_note(&rows) {
                    eprintln!("eval {} {split}: {note}", tr.task);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A resumed run keeps the `plan.json` an older exc froze, byte for
    /// byte, so that its hash still matches it on the next resume.
    #[test]
    fn a_frozen_plan_is_never_rewritten() {
        let old = include_str!("../../../tests/fixtures/old_plans/old_forms.plan.json");
        let dir = std::env::temp_dir().join(format!("exc-freeze-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("plan.json"), old).unwrap();
        let plan = Plan::from_json(old).unwrap();
        freeze_plan(&dir, &plan).unwrap();
        let kept = std::fs::read_to_string(dir.join("plan.json")).unwrap();
        assert_eq!(kept, old);
        assert!(Plan::hash_matches(&kept));
        assert_eq!(
            std::fs::read_to_string(dir.join("plan.sha256")).unwrap(),
            plan.hash
        );
        // A new run's plan is written.
        std::fs::remove_file(dir.join("plan.json")).unwrap();
        freeze_plan(&dir, &plan).unwrap();
        assert!(dir.join("plan.json").is_file());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
