//! lm-evaluation-harness task YAML -> task specs: `doc_to_text` and
//! `doc_to_target` (a feature's name or a Jinja template, with
//! `doc_to_choice` naming an int target's choices), the hub source and the
//! metrics. `!function` entries are Python: written as TODOs.

use crate::fields::Ty;
use crate::prompt::{lm_eval, Prompt};
use crate::task_file::{task_name, TaskSpec};
use crate::to_exc::{string_arg, Ctx, Piece, Tpl};
use indexmap::IndexMap;
use serde_yaml::{Mapping, Value};
use std::collections::HashMap;
use std::path::Path;

/// A task YAML with its `include`s merged under it (the file's own keys win).
pub fn read(path: &Path) -> Result<Mapping, String> {
    read_depth(path, 0)
}

fn read_depth(path: &Path, depth: usize) -> Result<Mapping, String> {
    if depth > 8 {
        return Err(format!("`{}`: includes nest too deep", path.display()));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let doc: Value =
        serde_yaml::from_str(&text).map_err(|e| format!("`{}`: not YAML: {e}", path.display()))?;
    let Value::Mapping(mut m) = doc else {
        return Err(format!("`{}` is not a mapping", path.display()));
    };
    if let Some(Value::String(inc)) = m.remove("include") {
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut base = read_depth(&dir.join(inc), depth + 1)?;
        for (k, v) in m {
            base.insert(k, v);
        }
        m = base;
    }
    Ok(m)
}

fn s<'a>(m: &'a Mapping, key: &str) -> Option<&'a str> {
    m.get(key).and_then(Value::as_str)
}

/// lm-eval's metric names -> exc's.
fn metric(name: &str) -> Option<&'static str> {
    Some(match name {
        "acc" | "accuracy" => "accuracy",
        "f1" => "f1",
        "exact_match" => "sequence_accuracy",
        "bleu" => "bleu",
        _ => return None,
    })
}

/// The `.task` of one lm-eval task YAML (`file` names it in the comments).
pub fn task(cfg: &Mapping, file: &str, fields: Option<&IndexMap<String, Ty>>) -> TaskSpec {
    let empty = IndexMap::new();
    let guessed = match fields {
        Some(_) => None,
        None => Some(guess(cfg)),
    };
    let fields = fields.or(guessed.as_ref());
    let fs = fields.unwrap_or(&empty);
    let name = task_name(&[s(cfg, "task").unwrap_or("lm_eval_task")]);
    let source = source_line(cfg);

    let choices: Option<Vec<String>> =
        cfg.get("doc_to_choice")
            .and_then(Value::as_sequence)
            .map(|l| {
                l.iter()
                    .map(|c| c.as_str().map(str::to_string).unwrap_or_default())
                    .collect()
            });
    let mut ctx = Ctx {
        fields: fs,
        choices: choices.clone(),
        truncate: None,
        sets: HashMap::new(),
    };
    let part = |key: &str, ctx: &mut Ctx<'_>| -> Result<Tpl, String> {
        match cfg.get(key) {
            Some(Value::String(t)) if fs.contains_key(t.as_str()) => {
                let hole = match (fs.get(t.as_str()), &choices) {
                    (Some(Ty::Int), Some(cs)) => {
                        let names: Vec<String> = cs.iter().map(|c| string_arg(c)).collect();
                        format!("{t} | names({})", names.join(", "))
                    }
                    (Some(Ty::Text), _) => t.clone(),
                    _ => {
                        return Err(format!(
                            "`{key}: {t}` names a field exc cannot write as it is"
                        ))
                    }
                };
                Ok(Tpl(vec![Piece::Hole(hole)]))
            }
            Some(Value::String(t)) => lm_eval(t, ctx),
            Some(Value::Tagged(t)) => Err(format!(
                "`{key}` is Python code (`{} {}`)",
                t.tag,
                t.value.as_str().unwrap_or("")
            )),
            Some(_) => Err(format!("`{key}` is neither a field nor a template")),
            None => Err(format!("no `{key}`")),
        }
    };
    let prompt = if cfg.get("doc_to_choice").is_some() && choices.is_none() {
        Err("`doc_to_choice` is computed per row".to_string())
    } else {
        part("doc_to_text", &mut ctx).and_then(|input| {
            Ok(Prompt {
                filter: None,
                input,
                target: part("doc_to_target", &mut ctx)?,
            })
        })
    };
    let (metrics, metric_todos) = metrics_of(cfg);
    let original = ["doc_to_text", "doc_to_target", "doc_to_choice"]
        .iter()
        .filter_map(|k| cfg.get(*k).map(|v| format!("{k}: {}", yaml_line(v))))
        .collect::<Vec<_>>()
        .join("\n");
    TaskSpec {
        name,
        provenance: vec![format!(
            "Imported by `exc import lm-eval` from lm-evaluation-harness's `{file}`."
        )],
        original,
        source,
        fields: fields.cloned(),
        guessed: guessed.is_some(),
        prompt,
        metrics,
        metric_todos,
    }
}

/// The task's `source hf` line: the YAML's dataset, config and splits.
fn source_line(cfg: &Mapping) -> String {
    let mut source = format!("source hf \"{}\"", s(cfg, "dataset_path").unwrap_or("TODO"));
    if let Some(c) = s(cfg, "dataset_name") {
        source.push_str(&format!(" config \"{c}\""));
    }
    let splits: Vec<String> = [
        ("train", "training_split"),
        ("validation", "validation_split"),
        ("test", "test_split"),
    ]
    .iter()
    .filter_map(|(ours, key)| s(cfg, key).map(|v| format!("{ours} = \"{v}\"")))
    .collect();
    source.push_str(&format!(" {{ {} }}", splits.join(", ")));
    source
}

/// The exc metrics of the YAML's `metric_list`, and a TODO for each metric
/// or option exc has no counterpart for.
fn metrics_of(cfg: &Mapping) -> (Vec<String>, Vec<String>) {
    let mut metrics = Vec::new();
    let mut metric_todos = Vec::new();
    for m in cfg
        .get("metric_list")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        match m.get("metric") {
            Some(Value::String(n)) => match metric(n) {
                Some(e) if !metrics.contains(&e.to_string()) => {
                    metrics.push(e.to_string());
                    for opt in ["ignore_case", "ignore_punctuation"] {
                        if m.get(opt).and_then(Value::as_bool) == Some(true) {
                            metric_todos
                                .push(format!("`{n}` has `{opt}: true`, which `{e}` does not do"));
                        }
                    }
                }
                Some(_) => {}
                None => metric_todos.push(format!("the metric `{n}` has no exc counterpart")),
            },
            Some(other) => {
                metric_todos.push(format!("a metric written in Python: {}", yaml_line(other)))
            }
            None => {}
        }
    }
    (metrics, metric_todos)
}

/// Without rows: the fields `doc_to_text` and `doc_to_target` read (a
/// feature named as the target is an int when `doc_to_choice` lists the
/// choices it indexes).
fn guess(cfg: &Mapping) -> IndexMap<String, Ty> {
    let mut out = IndexMap::new();
    for key in ["doc_to_text", "doc_to_target"] {
        let Some(t) = s(cfg, key) else { continue };
        let is_name = !t.is_empty() && t.chars().all(|c| c.is_alphanumeric() || c == '_');
        if is_name && key == "doc_to_target" {
            let ty = if cfg
                .get("doc_to_choice")
                .and_then(Value::as_sequence)
                .is_some()
            {
                Ty::Int
            } else {
                Ty::Text
            };
            out.insert(t.to_string(), ty);
        } else if let Ok(nodes) = crate::jinja::parse(t) {
            for (k, v) in crate::fields::guess(&nodes) {
                let prev = out.get(&k).cloned();
                out.insert(k, crate::fields::merge(prev, v));
            }
        }
    }
    out
}

fn yaml_line(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Tagged(t) => format!("{} {}", t.tag, yaml_line(&t.value)),
        Value::Sequence(items) => format!(
            "[{}]",
            items.iter().map(yaml_line).collect::<Vec<_>>().join(", ")
        ),
        v => serde_yaml::to_string(v)
            .unwrap_or_default()
            .trim()
            .replace('\n', " "),
    }
}
