//! `exc plan MIXTURE [--format table|json]`

use crate::diagnostics;
use exc_compiler::plan::{Plan, StageKind};
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Table,
    Json,
}

#[derive(clap::Args)]
pub struct Args {
    /// The .exmix file
    mixture: PathBuf,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Which mixture, when the file holds several
    #[arg(long)]
    name: Option<String>,
    /// Write the plan JSON here (atomically) as well
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Override a setting of the mixture, written as in its block:
    /// `train.lr=rsqrt(peak=0.005,warmup=1000)`, `c4.ratio=4`,
    /// `model.dropout_rate=0`, `finetune.train.steps=500` (repeatable)
    #[arg(long = "set", value_name = "BLOCK.KEY=VALUE")]
    set: Vec<String>,
}

pub fn run(args: &Args) -> crate::Outcome {
    let sets = exc_compiler::Sets {
        args: &args.set,
        only: args.name.as_deref(),
    };
    let c = exc_compiler::compile_set(std::slice::from_ref(&args.mixture), &sets);
    diagnostics::print(&c);
    if c.errors() > 0 {
        eprintln!(
            "failed: {}",
            diagnostics::plural(c.errors(), "error", "errors")
        );
        return diagnostics::outcome(&c);
    }
    let plans: Vec<&Plan> = c
        .plans
        .iter()
        .filter(|p| args.name.as_ref().is_none_or(|n| &p.mixture == n))
        .collect();
    let plan = match plans.as_slice() {
        [one] => *one,
        [] => {
            eprintln!(
                "error: no mixture {}in `{}`",
                args.name
                    .as_ref()
                    .map_or(String::new(), |n| format!("named `{n}` ")),
                args.mixture.display()
            );
            eprintln!("  help: a mixture file holds `mixture NAME {{ … }}`");
            return crate::Outcome::Usage;
        }
        // Tables of several mixtures read fine one after another; JSON is one plan.
        many if matches!(args.format, Format::Table) && args.output.is_none() => {
            for (i, plan) in many.iter().enumerate() {
                if i > 0 {
                    outln!();
                }
                out!("{}", table(plan));
            }
            return crate::Outcome::Ok;
        }
        many => {
            let names: Vec<&str> = many.iter().map(|p| p.mixture.as_str()).collect();
            eprintln!(
                "error: `{}` holds {} mixtures: {}",
                args.mixture.display(),
                many.len(),
                names.join(", ")
            );
            eprintln!("  help: a plan file holds one mixture: pick it with --name");
            return crate::Outcome::Usage;
        }
    };
    if let Some(out) = &args.output {
        if let Err(e) = write_atomic(out, plan.to_json().as_bytes()) {
            eprintln!("error: cannot write `{}`: {e}", out.display());
            return crate::Outcome::Usage;
        }
    }
    match args.format {
        Format::Json => outln!("{}", plan.to_json()),
        Format::Table => out!("{}", table(plan)),
    }
    crate::Outcome::Ok
}

fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("plan")
    ));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// `model NAME[ from INIT][, N parameters]`.
fn model_line(model: &exc_compiler::plan::ModelPlan) -> String {
    let params = model
        .config
        .as_ref()
        .map(|c| format!(", {:.1}M parameters", c.parameters() as f64 / 1e6))
        .unwrap_or_default();
    let init = model
        .init
        .as_ref()
        .map(|i| format!(" from {i}"))
        .unwrap_or_default();
    format!("model {}{init}{params}", model.name)
}

/// The human view of a plan: one table per stage of each run.
pub fn table(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "mixture {} ({})  plan {}",
        plan.mixture,
        plan.file,
        plan.hash.get(..12).unwrap_or("")
    );
    for o in &plan.overrides {
        let _ = writeln!(out, "--set {o}");
    }
    let _ = writeln!(out, "{}", model_line(&plan.model));
    for run in &plan.runs {
        if plan.runs.len() > 1 {
            let _ = writeln!(out, "\nrun {}", run.name);
        }
        if let Some(m) = &run.model {
            let _ = writeln!(out, "{}", model_line(m));
        }
        for stage in &run.stages {
            let _ = writeln!(out);
            stage_line(&mut out, stage);
            if stage.kind == StageKind::Evaluate {
                for t in &stage.tasks {
                    let _ = writeln!(out, "  {}", t.task);
                }
                continue;
            }
            rates_table(&mut out, stage);
        }
    }
    out
}

/// A stage's line: kind, start, tasks, training shape, selection.
fn stage_line(out: &mut String, stage: &exc_compiler::plan::StagePlan) {
    let from = stage
        .from
        .as_ref()
        .map(|f| match f {
            exc_compiler::plan::Init::Stage(s) => format!(" from stage {s}"),
            exc_compiler::plan::Init::Path(p) => format!(" from {p}"),
        })
        .unwrap_or_default();
    let _ = write!(
        out,
        "stage {} ({}){from}: {}",
        stage.name,
        stage.kind.name(),
        diagnostics::plural(stage.tasks.len(), "task", "tasks")
    );
    if let Some(t) = &stage.train {
        let _ = write!(
            out,
            ", {} x batch {}, inputs {} / targets {}, rates {}",
            diagnostics::plural(t.steps as usize, "step", "steps"),
            t.batch,
            t.inputs,
            t.targets,
            stage.rates
        );
        if t.pack {
            let _ = write!(out, ", packed");
        }
    }
    if stage.kind == StageKind::Finetune {
        // What a fine-tune stage's splits are for: choosing checkpoints.
        if stage.last_checkpoint {
            let _ = write!(out, ", keeps its last checkpoint (no selection)");
        } else {
            let _ = write!(out, ", selects checkpoints on {}", stage.splits.join(", "));
        }
    } else if stage.kind == StageKind::Evaluate || !stage.splits.is_empty() {
        let _ = write!(out, ", splits {}", stage.splits.join(", "));
    }
    let _ = writeln!(out);
}

/// A training stage's tasks with their sizes, rates and epochs, C4's
/// share, and the total.
fn rates_table(out: &mut String, stage: &exc_compiler::plan::StagePlan) {
    let c4_label = "c4 (span corruption)";
    let c4_width = if stage.c4.is_some() {
        c4_label.len()
    } else {
        5
    };
    let width = stage
        .tasks
        .iter()
        .map(|t| t.task.len())
        .max()
        .unwrap_or(4)
        .max(c4_width);
    let _ = writeln!(
        out,
        "  {:<width$}  {:>12}  {:>12}  {:>8}  {:>9}",
        "task", "size", "capped", "rate %", "epochs"
    );
    for t in &stage.tasks {
        let size = t.examples.map_or("-".into(), group);
        let capped = t.capped.map_or("-".into(), |c| group(c.round() as u64));
        let epochs = t.epochs.map_or("-".into(), |e| {
            if e >= 0.01 || e == 0.0 {
                format!("{e:.2}")
            } else {
                format!("{e:.1e}")
            }
        });
        let _ = writeln!(
            out,
            "  {:<width$}  {size:>12}  {capped:>12}  {:>8.3}  {epochs:>9}",
            t.task,
            t.rate * 100.0
        );
    }
    if let Some(c4) = &stage.c4 {
        let _ = writeln!(
            out,
            "  {:<width$}  {:>12}  {:>12}  {:>8.3}  {:>9}   ratio R = {}, noise {}, mean span {}",
            c4_label,
            "-",
            "-",
            c4.rate * 100.0,
            "-",
            c4.ratio,
            c4.noise_density,
            c4.mean_noise_span_length
        );
    }
    let total: f64 =
        stage.tasks.iter().map(|t| t.rate).sum::<f64>() + stage.c4.as_ref().map_or(0.0, |c| c.rate);
    let examples: u64 = stage.tasks.iter().filter_map(|t| t.examples).sum();
    let _ = writeln!(
        out,
        "  {:<width$}  {:>12}  {:>12}  {:>8.3}",
        "total",
        group(examples),
        "",
        total * 100.0
    );
    if stage.train.as_ref().is_some_and(|t| t.pack) {
        let _ = writeln!(
            out,
            "  (epochs count one example per batch row; packing fits several short ones into a row, so this stage reads more)"
        );
    }
}

/// 18085040 -> "18,085,040"
fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
