//! `exc import promptsource DATASET[/CONFIG] [TEMPLATE…]` and
//! `exc import lm-eval TASK_YAML…`: existing prompts -> `.task` files
//! (exc-import does the translating; this reads and writes the files).

use exc_import::fields;
use exc_import::task_file::TaskSpec;
use exc_import::{lm_eval, promptsource};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    from: Source,
    /// Where to write the .task files (created if missing)
    #[arg(long, short, default_value = ".", global = true)]
    out: PathBuf,
    /// Rows of the dataset (JSONL, one record a line, or a JSON list), read
    /// to type the fields; without them the types are guessed from the
    /// template, with a TODO to check them
    #[arg(long, global = true)]
    data: Option<PathBuf>,
    /// Replace .task files that already exist
    #[arg(long, global = true)]
    force: bool,
}

#[derive(clap::Subcommand)]
enum Source {
    /// promptsource templates: DATASET[/CONFIG] and, optionally, template names or ids
    Promptsource {
        dataset: String,
        templates: Vec<String>,
        /// promptsource's `templates` directory (or the package or sdist above
        /// it); default: the pip-installed promptsource's, found with python3
        #[arg(long = "from")]
        from: Option<PathBuf>,
    },
    /// lm-evaluation-harness task YAML files
    LmEval {
        #[arg(required = true)]
        yaml: Vec<PathBuf>,
    },
}

pub fn run(args: &Args) -> crate::Outcome {
    match import(args) {
        Ok(true) => crate::Outcome::Ok,
        Ok(false) => crate::Outcome::Invalid,
        Err(e) => {
            eprintln!("error: {e}");
            crate::Outcome::Usage
        }
    }
}

fn import(args: &Args) -> Result<bool, String> {
    let fields = match &args.data {
        Some(p) => {
            Some(fields::infer(&read_rows(p)?).map_err(|e| format!("`{}`: {e}", p.display()))?)
        }
        None => None,
    };
    let specs = match &args.from {
        Source::Promptsource {
            dataset,
            templates,
            from,
        } => {
            let yaml_path = templates_yaml(dataset, from.as_deref())?;
            let text = std::fs::read_to_string(&yaml_path)
                .map_err(|e| format!("cannot read `{}`: {e}", yaml_path.display()))?;
            let all =
                promptsource::read(&text).map_err(|e| format!("`{}`: {e}", yaml_path.display()))?;
            let chosen = select(&all, templates)?;
            promptsource::tasks(dataset, &chosen, fields.as_ref())
        }
        Source::LmEval { yaml } => {
            let mut specs = Vec::new();
            for p in yaml {
                let cfg = lm_eval::read(p)?;
                specs.push(lm_eval::task(
                    &cfg,
                    &p.display().to_string(),
                    fields.as_ref(),
                ));
            }
            specs
        }
    };
    write(&specs, args)
}

fn read_rows(p: &Path) -> Result<Vec<serde_json::Value>, String> {
    let text =
        std::fs::read_to_string(p).map_err(|e| format!("cannot read `{}`: {e}", p.display()))?;
    if let Ok(serde_json::Value::Array(rows)) = serde_json::from_str(&text) {
        return Ok(rows);
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| format!("`{}` line {}: {e}", p.display(), i + 1))
        })
        .collect()
}

/// `DATASET[/CONFIG]/templates.yaml` under the directory given, or under
/// the pip-installed promptsource's.
fn templates_yaml(dataset: &str, from: Option<&Path>) -> Result<PathBuf, String> {
    let roots: Vec<PathBuf> = match from {
        Some(d) => vec![
            d.to_path_buf(),
            d.join("templates"),
            d.join("promptsource").join("templates"),
        ],
        None => vec![installed_promptsource()?.join("templates")],
    };
    for r in &roots {
        let p = r.join(dataset).join("templates.yaml");
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(format!(
        "no `{dataset}/templates.yaml` under `{}`; `--from DIR` names promptsource's templates directory",
        roots.first().map(|r| r.display().to_string()).unwrap_or_default()
    ))
}

fn installed_promptsource() -> Result<PathBuf, String> {
    // find_spec locates the package without importing it.
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import importlib.util as u; s = u.find_spec('promptsource'); print(list(s.submodule_search_locations)[0] if s else '')",
        ])
        .output()
        .map_err(|e| format!("no `--from DIR` and python3 cannot be run to find promptsource: {e}"))?;
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if dir.is_empty() {
        return Err("promptsource is not installed for python3: give `--from DIR` (its `templates` directory)".into());
    }
    Ok(PathBuf::from(dir))
}

fn select(
    all: &[promptsource::Template],
    wanted: &[String],
) -> Result<Vec<promptsource::Template>, String> {
    if wanted.is_empty() {
        return Ok(all.to_vec());
    }
    wanted
        .iter()
        .map(|w| {
            all.iter()
                .find(|t| t.name == *w || t.id == *w)
                .cloned()
                .ok_or_else(|| {
                    let names: Vec<String> = all.iter().map(|t| format!("`{}`", t.name)).collect();
                    format!("no template `{w}`; the templates are {}", names.join(", "))
                })
        })
        .collect()
}

fn write(specs: &[TaskSpec], args: &Args) -> Result<bool, String> {
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create `{}`: {e}", args.out.display()))?;
    let mut todo = 0;
    for s in specs {
        let path = args.out.join(format!("{}.task", s.name));
        if path.exists() && !args.force {
            return Err(format!(
                "`{}` exists; `--force` replaces it",
                path.display()
            ));
        }
        std::fs::write(&path, s.render())
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
        match (&s.prompt, &s.fields) {
            (Err(why), _) => {
                todo += 1;
                eprintln!("{}: TODO: {why}", path.display());
            }
            (Ok(_), None) => {
                todo += 1;
                eprintln!(
                    "{}: TODO: no `--data` rows to type the fields",
                    path.display()
                );
            }
            (Ok(_), Some(_)) => {
                outln!("{}", path.display());
                if s.guessed {
                    eprintln!(
                        "{}: TODO: the fields' types are guessed from the template (`--data ROWS.jsonl` reads them off rows)",
                        path.display()
                    );
                }
            }
        }
        for t in &s.metric_todos {
            eprintln!("{}: TODO: {t}", path.display());
        }
    }
    eprintln!(
        "{} of {} prompts translated{}",
        specs.len() - todo,
        specs.len(),
        if todo > 0 {
            "; the rest are written as TODO comments with the original and the reason"
        } else {
            ""
        }
    );
    Ok(todo == 0)
}
