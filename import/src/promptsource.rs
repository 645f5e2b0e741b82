//! promptsource's `templates.yaml` (`!Template` entries) -> task specs.

use crate::fields::Ty;
use crate::task_file::{task_name, TaskSpec};
use crate::to_exc::Ctx;
use indexmap::IndexMap;
use serde_yaml::Value;
use std::collections::HashMap;

/// promptsource truncates every `{{ … }}` to this many characters.
pub const TEXT_VAR_LENGTH: usize = 2048;

/// promptsource names datasets by their old hub ids; where one moved under
/// an organisation, its id now (the ones known here).
pub fn hub_id(dataset: &str) -> Option<&'static str> {
    Some(match dataset {
        "glue" => "nyu-mll/glue",
        "super_glue" => "aps/super_glue",
        "squad" => "rajpurkar/squad",
        "squad_v2" => "rajpurkar/squad_v2",
        "xsum" => "EdinburghNLP/xsum",
        _ => return None,
    })
}

/// One `!Template`.
#[derive(Debug, Clone)]
pub struct Template {
    pub id: String,
    pub name: String,
    pub jinja: String,
    pub answer_choices: Option<String>,
    pub metrics: Vec<String>,
}

fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => untag(&t.value),
        v => v,
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    untag(v)
        .get(key)
        .and_then(|x| untag(x).as_str())
        .map(str::to_string)
}

/// The templates of one `templates.yaml`, in their file's order.
pub fn read(yaml: &str) -> Result<Vec<Template>, String> {
    let doc: Value =
        serde_yaml::from_str(yaml).map_err(|e| format!("not promptsource YAML: {e}"))?;
    let Some(Value::Mapping(ts)) = untag(&doc).get("templates").map(untag) else {
        return Err("no `templates` mapping".into());
    };
    let mut out = Vec::new();
    for (id, t) in ts {
        let metrics = untag(t)
            .get("metadata")
            .and_then(|m| untag(m).get("metrics"))
            .and_then(|m| untag(m).as_sequence())
            .map(|s| {
                s.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        out.push(Template {
            id: id.as_str().unwrap_or_default().to_string(),
            name: text(t, "name").unwrap_or_default(),
            jinja: text(t, "jinja").ok_or("a template without `jinja`")?,
            answer_choices: text(t, "answer_choices"),
            metrics,
        });
    }
    Ok(out)
}

/// promptsource's metric names -> exc's (`None`: no counterpart).
pub fn metric(name: &str) -> Option<&'static str> {
    Some(match name {
        "Accuracy" => "accuracy",
        "BLEU" => "bleu",
        "ROUGE" => "rouge",
        "Squad" => "squad",
        "Pearson Correlation" => "pearson_corrcoef",
        "Spearman Correlation" => "spearman_corrcoef",
        _ => return None,
    })
}

/// A template's fixed answer choices (`yes ||| no`); `None` when they are
/// computed per row (`{{ … }}` in them).
pub fn fixed_choices(t: &Template) -> Option<Vec<String>> {
    let a = t.answer_choices.as_deref()?;
    if a.contains("{{") || a.contains("{%") {
        return None;
    }
    Some(a.split("|||").map(|c| c.trim().to_string()).collect())
}

/// One `.task` per template. `dataset` is promptsource's `DATASET[/CONFIG]`.
pub fn tasks(
    dataset: &str,
    templates: &[Template],
    fields: Option<&IndexMap<String, Ty>>,
) -> Vec<TaskSpec> {
    let (hub, config) = match dataset.split_once('/') {
        Some((d, c)) => (d, Some(c)),
        None => (dataset, None),
    };
    let hub = hub_id(hub).unwrap_or(hub);
    let source = match config {
        Some(c) => format!("source hf \"{hub}\" config \"{c}\" {{ train = \"train\", validation = \"validation\" }}"),
        None => format!("source hf \"{hub}\" {{ train = \"train\", validation = \"validation\" }}"),
    };
    let empty = IndexMap::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    templates
        .iter()
        .map(|t| {
            let mut name = task_name(&[dataset, &t.name]);
            let n = seen.entry(name.clone()).or_insert(0);
            *n += 1;
            if *n > 1 {
                name = format!("{name}_{n}");
            }
            let guessed = match fields {
                Some(_) => None,
                None => crate::jinja::parse(&t.jinja).ok().map(|n| crate::fields::guess(&n)),
            };
            let fields = fields.or(guessed.as_ref());
            let mut ctx = Ctx {
                fields: fields.unwrap_or(&empty),
                choices: fixed_choices(t),
                truncate: Some(TEXT_VAR_LENGTH),
                sets: HashMap::new(),
            };
            let prompt = match (&t.answer_choices, &ctx.choices) {
                (Some(a), None) => Err(format!("answer choices computed per row (`{a}`)")),
                _ => crate::prompt::promptsource(&t.jinja, &mut ctx),
            };
            let mut metrics = Vec::new();
            let mut metric_todos = Vec::new();
            for m in &t.metrics {
                match metric(m) {
                    Some(e) if !metrics.contains(&e.to_string()) => metrics.push(e.to_string()),
                    Some(_) => {}
                    None => metric_todos.push(format!("the metric `{m}` has no exc counterpart")),
                }
            }
            let mut provenance = vec![
                format!("Imported by `exc import promptsource {dataset}` from promptsource's templates.yaml:"),
                format!("template \"{}\" (id {}).", t.name, t.id),
            ];
            if let Some(a) = &t.answer_choices {
                provenance.push(format!("answer_choices: {a}"));
            }
            TaskSpec {
                name,
                provenance,
                original: t.jinja.clone(),
                source: source.clone(),
                fields: fields.cloned(),
                guessed: guessed.is_some(),
                prompt,
                metrics,
                metric_todos,
            }
        })
        .collect()
}
