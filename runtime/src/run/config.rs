//! `config.json`: the settings a run resolved when it started, and what
//! `exc run --resume` takes from its command line.
//!
//! Paths are recorded absolute (with the directory the run started in, which
//! the plan's own relative paths, `model hf "dir"` and `from "dir"`, are
//! read against), so that a run resumes from any directory. A resumed run
//! continues its frozen plan as it started; each flag of `exc run`, given
//! with `--resume`:
//!
//! - taken and recorded (`changed_on_resume`): `--data-dir` (data may have
//!   moved), `--tokenizer` (it may have moved too, but must be the same
//!   file: its sha256 is checked), `--device` (precision `auto` and
//!   `--kernels auto` follow the device, so a run moved to another device
//!   goes on, but is not byte-identical to one that stayed) and
//!   `--log-every` (only logging; default: the recorded value);
//! - taken for this process only: `--quiet` and the hidden `--stop-after`;
//! - refused unless it repeats what the run recorded, since it would change
//!   what the run trains or how it selects and scores: the mixture file,
//!   `--name`, `--out`, `--steps`, `--set` (all of them, in order, as the
//!   frozen plan's `overrides` recorded them), `--eval-limit` and `--kernels`.
//!
//! Configs of older runs recorded `data_dir`, `tokenizer` and
//! `mixture_file` as given, relative to a directory they did not record;
//! on resume such a path is looked for under the current directory, then
//! under each directory above the run's ([`locate_relative`]).

use std::path::{Path, PathBuf};

use exc_compiler::plan::Plan;
use exc_data::source::locate::DataRoots;
use indexmap::IndexMap;

use super::{data, RunArgs};
use crate::error::{Error, Result};

/// Steps between log lines when neither the command line nor the run says.
pub const LOG_EVERY: u64 = 10;

pub use super::runfiles::{Change, Parallel, Resolved};

impl Resolved {
    /// A path of the plan (`model hf "dir"`, `from "dir"`), read against
    /// the directory the run started in.
    /// A hub model id (`model hf "org/name"`) with no directory of that name
    /// is read from the hub cache ([`crate::hub_model`]).
    pub fn plan_path(&self, p: &str) -> PathBuf {
        let local = match &self.started_in {
            Some(base) => base.join(p),
            None => PathBuf::from(p),
        };
        crate::hub_model::locate(p, local)
    }

    /// Records the tokenizer file `file` as loaded and checks it against
    /// the sha256 the run recorded (recording it when there is none yet).
    pub fn pin_tokenizer(&mut self, file: &Path, run_dir: &Path) -> Result<()> {
        let hash = super::ckpt::hash_file(file)?;
        if let Some(recorded) = &self.tokenizer_sha256 {
            if *recorded != hash {
                return Err(Error::Input(format!(
                    "the tokenizer `{}` is not the one the run in `{}` started with (sha256 \
                     {hash}, recorded {recorded}): a resumed run must tokenize as it started\n  \
                     help: pass `--tokenizer` with the file the run started with",
                    file.display(),
                    run_dir.display()
                )));
            }
        }
        self.tokenizer = absolute(file)?;
        self.tokenizer_sha256 = Some(hash);
        Ok(())
    }
}

/// `p` made absolute: canonical when it exists, else against the current
/// directory.
pub fn absolute(p: &Path) -> Result<PathBuf> {
    match p.canonicalize() {
        Ok(c) => Ok(c),
        Err(_) => std::path::absolute(p).map_err(|e| Error::io(p, e)),
    }
}

/// The settings of a new run, with absolute paths. The tokenizer's file
/// and hash are pinned once it is loaded ([`Resolved::pin_tokenizer`]).
pub fn fresh(
    args: &RunArgs,
    mixture: &Path,
    data_dir: Option<&Path>,
    tokenizer: &Path,
    device: String,
) -> Result<Resolved> {
    let cwd = std::env::current_dir().map_err(|e| Error::io(Path::new("."), e))?;
    Ok(Resolved {
        run: String::new(),
        params: IndexMap::new(),
        mixture_file: Some(absolute(mixture)?),
        data_dir: data_dir.map(absolute).transpose()?,
        tokenizer: absolute(tokenizer)?,
        tokenizer_sha256: None,
        started_in: Some(cwd),
        device,
        steps_override: args.steps,
        overrides: args.set.iter().map(|s| s.trim().to_string()).collect(),
        eval_limit: args.eval_limit,
        log_every: args.log_every.unwrap_or(LOG_EVERY),
        kernels: args.kernels.unwrap_or_default(),
        precision: IndexMap::new(),
        changed_on_resume: Vec::new(),
        exc_version: env!("CARGO_PKG_VERSION").into(),
        parallel: None,
    })
}

/// The `config.json` of the run in `dir`.
pub fn recorded(dir: &Path) -> Result<Resolved> {
    super::read_json(&dir.join("config.json"))
}

/// Refuses the flags that would change what the resumed run in `dir`
/// trains, selects or scores, unless they repeat what it recorded.
pub fn refuse_changes(args: &RunArgs, rec: &Resolved, dir: &Path, plan: &Plan) -> Result<()> {
    if !rec.run.is_empty() && plan.runs.len() > 1 {
        let sweep = dir.parent().unwrap_or(dir);
        return Err(Error::Input(format!(
            "`{}` is the run `{}` of a sweep: its runs are resumed together\n  help: `exc run \
             --resume {}`",
            dir.display(),
            rec.run,
            sweep.display()
        )));
    }
    let refuse = |flag: &str, given: String, recorded: String, why: &str| {
        Err(Error::Input(format!(
            "`{flag} {given}` cannot be given with `--resume`: the run in `{}` recorded \
             {recorded}, and {why}\n  help: leave out `{flag}` to continue the run as it \
             started, or start a new run with it (another `--out`)",
            dir.display()
        )))
    };
    if let Some(m) = &args.mixture {
        let same = rec
            .mixture_file
            .as_deref()
            .and_then(|r| located(r, dir, Path::is_file))
            .is_some_and(|r| absolute(m).is_ok_and(|m| m == r));
        if !same {
            return refuse(
                "MIXTURE",
                format!("`{}`", m.display()),
                format!("the frozen plan of mixture `{}`", plan.mixture),
                "a resumed run continues its frozen plan: the mixture is not compiled again",
            );
        }
    }
    if let Some(n) = args.name.as_ref().filter(|n| **n != plan.mixture) {
        return refuse(
            "--name",
            n.clone(),
            format!("the mixture `{}`", plan.mixture),
            "a resumed run continues its frozen plan",
        );
    }
    if let Some(o) = &args.out {
        if absolute(o)? != absolute(dir)? {
            return refuse(
                "--out",
                o.display().to_string(),
                "its own directory".into(),
                "`--resume` names the run directory",
            );
        }
    }
    let set: Vec<String> = args.set.iter().map(|s| s.trim().to_string()).collect();
    if !set.is_empty() && set != plan.overrides {
        let shown = |v: &[String]| {
            v.iter()
                .map(|s| format!("`--set {s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return refuse(
            "--set",
            set.join(" --set "),
            if plan.overrides.is_empty() {
                "no `--set`".into()
            } else {
                shown(&plan.overrides)
            },
            "a resumed run continues its frozen plan: a setting changed half-way would \
             leave a run that neither plan describes",
        );
    }
    if args.steps.is_some() && args.steps != rec.steps_override {
        return refuse(
            "--steps",
            opt(args.steps),
            or_plan(rec.steps_override, "--steps", "the plan's own steps"),
            "a resumed run trains the steps of its frozen plan",
        );
    }
    if args.eval_limit.is_some() && args.eval_limit != rec.eval_limit {
        return refuse(
            "--eval-limit",
            opt(args.eval_limit),
            or_plan(rec.eval_limit, "--eval-limit", "no `--eval-limit`"),
            "its checkpoints are selected and its tasks scored on the examples it started with",
        );
    }
    if let Some(k) = args.kernels.filter(|k| *k != rec.kernels) {
        return refuse(
            "--kernels",
            k.name().into(),
            format!("`--kernels {}`", rec.kernels.name()),
            "the kernels decide the training arithmetic: the run would not go on as it started",
        );
    }
    Ok(())
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn or_plan<T: std::fmt::Display>(v: Option<T>, flag: &str, none: &str) -> String {
    match v {
        Some(v) => format!("`{flag} {v}`"),
        None => none.into(),
    }
}

/// The settings the resumed run in `dir` goes on with: what it recorded,
/// with its relative paths found ([`locate_relative`]) and the command
/// line's `--data-dir`, `--tokenizer`, `--device` and `--log-every`
/// applied and recorded in `changed_on_resume`.
pub fn resumed(args: &RunArgs, mut rec: Resolved, dir: &Path, plan: &Plan) -> Result<Resolved> {
    let was = rec.clone();
    rec.data_dir = match (&args.data_dir, &was.data_dir) {
        (Some(d), _) => Some(absolute(d)?),
        (None, Some(d)) if d.is_relative() => Some(relative_data_dir(d, dir, plan)?),
        (None, d) => d.clone(),
    };
    rec.tokenizer = match &args.tokenizer {
        Some(t) => absolute(t)?,
        None => recorded_tokenizer(&was.tokenizer, dir)?,
    };
    // Only a record: the plan was frozen from it.
    if let Some(m) = &was.mixture_file {
        rec.mixture_file = located(m, dir, Path::is_file).or_else(|| Some(m.clone()));
    }
    if let Some(d) = &args.device {
        rec.device = super::device_name(crate::env::parse_device(Some(d))?);
    }
    rec.log_every = args.log_every.unwrap_or(was.log_every);
    // Checked before anything is said or run: another tokenizer would
    // change every batch.
    let tok = crate::tokenizer::load(&rec.tokenizer)?;
    rec.pin_tokenizer(tok.path(), dir)?;
    let changes = changes(&was, &rec);
    if !args.quiet {
        for c in &changes {
            eprintln!(
                "note: resuming with {} {} (the run recorded {})",
                c.setting,
                shown(&c.now),
                shown(&c.was)
            );
        }
    }
    rec.changed_on_resume.extend(changes);
    Ok(rec)
}

fn shown(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => format!("`{s}`"),
        serde_json::Value::Null => "none".into(),
        v => format!("`{v}`"),
    }
}

/// The settings that differ between `was` and `now`.
fn changes(was: &Resolved, now: &Resolved) -> Vec<Change> {
    let json = |r: &Resolved| serde_json::to_value(r).unwrap_or_default();
    let (a, b) = (json(was), json(now));
    [
        "data_dir",
        "tokenizer",
        "mixture_file",
        "device",
        "log_every",
    ]
    .into_iter()
    .filter(|k| a[k] != b[k])
    .map(|k| Change {
        setting: k.into(),
        was: a[k].clone(),
        now: b[k].clone(),
    })
    .collect()
}

/// The data dir an older config recorded relative to where the run
/// started: the first place it could be that holds every source the plan
/// reads.
fn relative_data_dir(d: &Path, dir: &Path, plan: &Plan) -> Result<PathBuf> {
    let stages: Vec<_> = plan.runs.iter().flat_map(|r| r.stages.clone()).collect();
    let complete = |p: &Path| {
        p.is_dir()
            && data::check_sources(plan, &stages, &DataRoots::from_env(Some(p.to_path_buf())))
                .is_empty()
    };
    locate_relative(d, dir, complete).map_err(|looked| not_found("data dir", d, dir, &looked))
}

/// The recorded tokenizer, found when an older config recorded it relative.
fn recorded_tokenizer(t: &Path, dir: &Path) -> Result<PathBuf> {
    if t.is_relative() {
        return locate_relative(t, dir, Path::exists)
            .map_err(|looked| not_found("tokenizer", t, dir, &looked));
    }
    if !t.exists() {
        return Err(Error::Input(format!(
            "the tokenizer `{}` the run in `{}` recorded is gone\n  help: pass `--tokenizer` \
             with where it is now",
            t.display(),
            dir.display()
        )));
    }
    Ok(t.to_path_buf())
}

/// The tokenizer the exc run holding `checkpoint` recorded, if the
/// checkpoint lies in a run directory (found by walking up to the nearest
/// directory with `plan.json` and `config.json`).
pub fn run_tokenizer(checkpoint: &Path) -> Option<Result<PathBuf>> {
    let start = absolute(checkpoint).ok()?;
    let dir = start
        .ancestors()
        .find(|d| d.join("plan.json").is_file() && d.join("config.json").is_file())?;
    Some(recorded(dir).and_then(|rec| recorded_tokenizer(&rec.tokenizer, dir)))
}

/// `rel` under the current directory, else under each directory above
/// `run_dir`, nearest first: the first where `fits` holds. An older
/// `config.json` recorded its paths relative to the directory the run
/// started in, which is one of these when the run directory was made
/// under it (`runs/<mixture>` by default). Err: the places looked.
pub fn locate_relative(
    rel: &Path,
    run_dir: &Path,
    fits: impl Fn(&Path) -> bool,
) -> Result<PathBuf, Vec<PathBuf>> {
    let mut looked: Vec<PathBuf> = Vec::new();
    let cwd = std::env::current_dir().ok();
    let above = absolute(run_dir).ok();
    let bases = cwd.into_iter().chain(
        above
            .iter()
            .flat_map(|d| d.ancestors().skip(1).map(Path::to_path_buf)),
    );
    for base in bases {
        let p = base.join(rel);
        if looked.contains(&p) {
            continue;
        }
        if fits(&p) {
            return absolute(&p).map_err(|_| looked);
        }
        looked.push(p);
    }
    Err(looked)
}

/// `p` as it is now: itself when absolute, else found by [`locate_relative`].
fn located(p: &Path, run_dir: &Path, fits: impl Fn(&Path) -> bool) -> Option<PathBuf> {
    if p.is_absolute() {
        return Some(p.to_path_buf());
    }
    locate_relative(p, run_dir, fits).ok()
}

fn not_found(what: &str, rel: &Path, dir: &Path, looked: &[PathBuf]) -> Error {
    let flag = if what == "tokenizer" {
        "--tokenizer"
    } else {
        "--data-dir"
    };
    let shown: Vec<String> = looked
        .iter()
        .take(6)
        .map(|p| format!("`{}`", p.display()))
        .collect();
    Error::Input(format!(
        "the run in `{}` recorded its {what} as `{}`, relative to the directory it started \
         in, and it is not under the current directory or above the run (looked in {}{})\n  \
         help: pass `{flag}` with where it is now",
        dir.display(),
        rel.display(),
        shown.join(", "),
        if looked.len() > shown.len() {
            ", …"
        } else {
            ""
        }
    ))
}
