//! An imported prompt -> the text of a `.task` file. What could not be
//! translated is written as a commented `TODO` with the original and the
//! reason: the file still checks, and nothing is dropped silently.

use crate::fields::{declare, Ty};
use crate::prompt::Prompt;
use indexmap::IndexMap;

/// Everything one `.task` file says.
pub struct TaskSpec {
    pub name: String,
    /// Where the prompt came from (comment lines, without `//`).
    pub provenance: Vec<String>,
    /// The original prompt text, quoted in a comment.
    pub original: String,
    /// `source …` line.
    pub source: String,
    /// Typed fields; `None` when neither rows nor the template tell them.
    pub fields: Option<IndexMap<String, Ty>>,
    /// The fields were guessed from the template, not read off rows.
    pub guessed: bool,
    pub prompt: Result<Prompt, String>,
    pub metrics: Vec<String>,
    /// Metrics of the original that exc lacks: TODO lines.
    pub metric_todos: Vec<String>,
}

/// A name exc accepts: lowercase words joined by `_`.
pub fn task_name(parts: &[&str]) -> String {
    let mut out = String::new();
    for c in parts.join("_").chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_string();
    if out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out
    } else {
        format!("t_{out}")
    }
}

fn comment(out: &mut String, indent: &str, text: &str) {
    for line in text.split('\n') {
        out.push_str(indent);
        out.push_str("//   ");
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

impl TaskSpec {
    pub fn render(&self) -> String {
        let mut out = String::new();
        for p in &self.provenance {
            out.push_str(&format!("// {p}\n"));
        }
        out.push_str("// The original:\n");
        comment(&mut out, "", &self.original);
        let (prompt, fields) = match (&self.prompt, &self.fields) {
            (Ok(p), Some(f)) => (p, f),
            (Err(why), _) => {
                out.push_str(&format!("// TODO(exc import): not translated: {why}\n"));
                return out;
            }
            (Ok(_), None) => {
                out.push_str(
                    "// TODO(exc import): not written: the fields are unknown; give `--data ROWS.jsonl` \
                     (rows of the dataset) so that they can be typed\n",
                );
                return out;
            }
        };
        if self.guessed {
            out.push_str(
                "// TODO(exc import): the fields' types are guessed from the template; check them \
                 against the dataset (`--data ROWS.jsonl` reads them off rows)\n",
            );
        }
        out.push_str(&format!("task {} {{\n", self.name));
        out.push_str(&format!("  {}\n", self.source));
        let fs: Vec<String> = fields
            .iter()
            .map(|(k, t)| format!("{k}: {}", declare(t)))
            .collect();
        out.push_str(&format!("  fields {{ {} }}\n", fs.join(", ")));
        if let Some(f) = &prompt.filter {
            out.push_str(&format!("  filter {f}\n"));
        }
        out.push_str(&format!("  input {}\n", prompt.input.quoted('"')));
        out.push_str(&format!("  target {}\n", prompt.target.quoted('"')));
        for t in &self.metric_todos {
            out.push_str(&format!("  // TODO(exc import): {t}\n"));
        }
        // Correlations read the predicted text as a number.
        if self.metrics.iter().any(|m| m.contains("corrcoef")) {
            out.push_str("  postprocess string_to_float\n");
        }
        if self.metrics.is_empty() {
            out.push_str("  metrics sequence_accuracy  // TODO(exc import): the original names no metric exc has\n");
        } else {
            out.push_str(&format!("  metrics {}\n", self.metrics.join(", ")));
        }
        out.push_str("}\n");
        out
    }
}
