//! Completion from the text before the cursor, so that it works while the
//! buffer does not parse (as it mostly does not, mid-word): keywords of the
//! enclosing block, field names and functions inside a template's `{…}`,
//! metric names after `metrics` and a metric's options inside its `(…)`
//! (both from the metric specs), postprocessors after `postprocess`, task names after `select`, `exclude` and
//! `extends`, and the settings of `train`, `c4` and `model` blocks.

use crate::analysis::KnownTasks;
use exc_compiler::ir::Type;
use lsp_types::{CompletionItem, CompletionItemKind};

/// Entries of a task and of a mixture, and what starts a file: the
/// compiler's own lists.
pub use exc_compiler::{MIXTURE_KEYWORDS, TASK_KEYWORDS, TOP_KEYWORDS};
/// Entries of a stage (`stage_entry`).
pub const STAGE_KEYWORDS: &[&str] = &[
    "from",
    "select",
    "exclude",
    "subset",
    "rates",
    "c4",
    "train",
    "splits",
    "per_task",
    "last_checkpoint",
];

/// What the text before the cursor is inside of.
#[derive(Debug, Default, PartialEq)]
struct Context {
    /// The line of each open `{`, up to the brace, outermost first.
    blocks: Vec<String>,
    /// The text of the string the cursor is in, up to the cursor.
    string: Option<String>,
}

/// Scans `before` (the buffer up to the cursor) for open braces and strings,
/// skipping `//` comments.
fn context(before: &str) -> Context {
    let mut cx = Context::default();
    let mut line_start = 0;
    let mut string: Option<usize> = None;
    let mut chars = before.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if string.is_some() {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => string = None,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => string = Some(i + 1),
            '/' if chars.peek().map(|(_, c)| *c) == Some('/') => {
                // A comment runs to the end of its line.
                for (j, c) in chars.by_ref() {
                    if c == '\n' {
                        line_start = j + 1;
                        break;
                    }
                }
            }
            '\n' => line_start = i + 1,
            '{' => cx
                .blocks
                .push(before.get(line_start..i).unwrap_or("").trim().to_string()),
            '}' => {
                cx.blocks.pop();
            }
            _ => {}
        }
    }
    cx.string = string.map(|s| before.get(s..).unwrap_or("").to_string());
    cx
}

/// The word of the block's head line that names it (`task NAME`, `abstract task NAME`).
fn task_name(head: &str) -> Option<&str> {
    let mut words = head.split_whitespace();
    loop {
        match words.next()? {
            "abstract" => continue,
            "task" => return words.next(),
            _ => return None,
        }
    }
}

fn first_word(s: &str) -> &str {
    s.split_whitespace().next().unwrap_or("")
}

fn item(label: &str, kind: CompletionItemKind, detail: Option<String>) -> CompletionItem {
    CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail,
        ..CompletionItem::default()
    }
}

fn keywords(list: &[&str]) -> Vec<CompletionItem> {
    list.iter()
        .map(|k| item(k, CompletionItemKind::KEYWORD, None))
        .collect()
}

/// Completions at the end of `before`, the buffer's text up to the cursor.
pub fn complete(before: &str, known: &KnownTasks) -> Vec<CompletionItem> {
    let cx = context(before);
    let task = cx.blocks.first().and_then(|h| task_name(h));
    if let Some(s) = &cx.string {
        return match (hole(s), task) {
            (Some(h), Some(task)) => in_hole(h, known.0.get(task).map(|t| &t.fields)),
            _ => Vec::new(),
        };
    }
    // The statement so far: this line after its last `{`, and its last
    // comma-separated part (`train { steps 10, ba|`: `steps 10,` and ``).
    let line = before.rsplit('\n').next().unwrap_or("");
    let word_start = line
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.' || c == '-'))
        .map_or(0, |i| i + 1);
    let upto = line.get(..word_start).unwrap_or("");
    let after_brace = upto.rsplit('{').next().unwrap_or("").trim();
    let lead = first_word(after_brace);
    let statement = after_brace.rsplit(',').next().unwrap_or("").trim();
    let in_list = after_brace.ends_with(',');
    match lead {
        "metrics" if task.is_some() => {
            return match open_call(upto) {
                Some((metric, args)) => metric_options(metric, args),
                None => metrics(),
            }
        }
        "postprocess" if task.is_some() => return postprocessors(),
        "select" | "exclude" if task.is_none() => return tasks(known),
        _ => {}
    }
    if statement.split_whitespace().last() == Some("extends") {
        return if lead == "mixture" {
            Vec::new()
        } else {
            tasks(known)
        };
    }
    if !statement.is_empty() && !in_list {
        return Vec::new();
    }
    let block = cx.blocks.last().map_or("", |h| first_word(h));
    match (cx.blocks.len(), block) {
        (0, _) => keywords(TOP_KEYWORDS),
        (1, "task" | "abstract") => keywords(TASK_KEYWORDS),
        (1, "mixture") => keywords(MIXTURE_KEYWORDS),
        (_, "pretrain" | "finetune" | "evaluate") => keywords(STAGE_KEYWORDS),
        (_, "train") => keywords(exc_compiler::lower_settings::TRAIN_KEYS),
        (_, "c4") => keywords(exc_compiler::lower_settings::C4_KEYS),
        (_, "model") => keywords(exc_compiler::lower_settings::MODEL_KEYS),
        _ => Vec::new(),
    }
}

/// The text of the template hole the cursor is in, if it is in one.
fn hole(string: &str) -> Option<&str> {
    let open = string.rfind('{')?;
    let inside = string.get(open + 1..)?;
    (!inside.contains('}')).then_some(inside)
}

/// Inside `{…}`: functions after a `|`, else the fields (and fields of
/// records, after `field.`).
fn in_hole(hole: &str, fields: Option<&indexmap::IndexMap<String, Type>>) -> Vec<CompletionItem> {
    if hole.contains('|') {
        return exc_compiler::funcs::names()
            .map(|f| item(f, CompletionItemKind::FUNCTION, None))
            .collect();
    }
    let Some(mut fields) = fields else {
        return Vec::new();
    };
    let path = hole.trim_start();
    let mut steps: Vec<&str> = path.split('.').collect();
    steps.pop();
    for step in steps {
        let step = step.split('[').next().unwrap_or(step);
        match fields.get(step).map(record_fields) {
            Some(Some(inner)) => fields = inner,
            _ => return Vec::new(),
        }
    }
    fields
        .iter()
        .map(|(name, ty)| item(name, CompletionItemKind::FIELD, Some(ty.describe())))
        .collect()
}

/// The fields of a record, or of a list's or optional's records.
fn record_fields(ty: &Type) -> Option<&indexmap::IndexMap<String, Type>> {
    match ty {
        Type::Record { fields } => Some(fields),
        Type::List { of } | Type::Optional { of } => record_fields(of),
        _ => None,
    }
}

fn metrics() -> Vec<CompletionItem> {
    exc_metrics::METRICS
        .iter()
        .flat_map(|m| {
            std::iter::once(m.name)
                .chain(m.aliases.iter().copied())
                .map(|n| {
                    item(
                        n,
                        CompletionItemKind::ENUM_MEMBER,
                        Some(m.summary.to_string()),
                    )
                })
        })
        .collect()
}

/// Inside an unclosed `name(…` before the cursor: the name and the text
/// after the parenthesis.
fn open_call(upto: &str) -> Option<(&str, &str)> {
    let open = upto.rfind('(')?;
    let args = upto.get(open + 1..)?;
    if args.contains(')') {
        return None;
    }
    let head = upto.get(..open)?.trim_end();
    let name = head
        .rsplit(|c: char| c.is_whitespace() || c == ',')
        .next()
        .filter(|n| !n.is_empty())?;
    Some((name, args))
}

/// A metric's options (from its spec), where an option name may start.
fn metric_options(metric: &str, args: &str) -> Vec<CompletionItem> {
    let typing_value = !args.rsplit(',').next().unwrap_or("").trim().is_empty();
    let Some(spec) = exc_metrics::metric(metric).filter(|_| !typing_value) else {
        return Vec::new();
    };
    spec.options
        .iter()
        .map(|o| {
            let default = o
                .default
                .map(|d| format!(", default `{d}`"))
                .unwrap_or_default();
            let detail = format!("{}{default}: {}", o.kind.describe(), o.help);
            item(o.name, CompletionItemKind::PROPERTY, Some(detail))
        })
        .collect()
}

fn postprocessors() -> Vec<CompletionItem> {
    exc_metrics::postprocess::Postprocessor::ALL
        .iter()
        .map(|(n, _)| item(n, CompletionItemKind::FUNCTION, None))
        .collect()
}

fn tasks(known: &KnownTasks) -> Vec<CompletionItem> {
    let mut names: Vec<_> = known.0.values().filter(|t| !t.is_abstract).collect();
    names.sort_by(|a, b| a.name.cmp(&b.name));
    names
        .into_iter()
        .map(|t| {
            let detail = t.family.as_ref().map(|f| format!("family {f}"));
            item(&t.name, CompletionItemKind::REFERENCE, detail)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(items: &[CompletionItem]) -> Vec<&str> {
        items.iter().map(|i| i.label.as_str()).collect()
    }

    fn known() -> KnownTasks {
        let text = r#"
task t {
  fields { question: text, answers: { text: list<text>, start: int } }
  input "q: {question}"
  target "{answers.text | first}"
  metrics bleu
}"#;
        let (tasks, diags) = exc_compiler::check_task::check_task_text(text, "t.task");
        assert!(diags.is_empty(), "{diags:?}");
        KnownTasks(tasks.into_iter().map(|(n, t)| (n, t.into())).collect())
    }

    #[test]
    fn metric_options_come_from_the_spec() {
        let k = known();
        let m = complete("task t {\n  metrics rouge, bleu(tok", &k);
        assert_eq!(
            labels(&m),
            [
                "tokenize",
                "smooth_method",
                "smooth_value",
                "lowercase",
                "use_effective_order"
            ]
        );
        assert!(m[0]
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("13a, intl or none"));
        let after = complete("task t {\n  metrics bleu(tokenize = \"13a\", ", &k);
        assert_eq!(labels(&after).len(), 5);
        assert!(complete("task t {\n  metrics bleu(tokenize = ", &k).is_empty());
        assert!(labels(&complete(
            "task t {\n  metrics bleu(tokenize = 13a), ro",
            &k
        ))
        .contains(&"rouge"));
        let post = complete("task t {\n  postprocess strip | ", &k);
        assert_eq!(
            labels(&post),
            ["strip", "lower", "string_to_float", "label_to_id"]
        );
    }

    #[test]
    fn keywords_follow_the_enclosing_block() {
        let k = known();
        assert_eq!(labels(&complete("", &k)), TOP_KEYWORDS);
        assert_eq!(labels(&complete("task t {\n  in", &k)), TASK_KEYWORDS);
        assert_eq!(labels(&complete("mixture m {\n  ", &k)), MIXTURE_KEYWORDS);
        let train = complete("mixture m {\n  train { steps 10, ba", &k);
        assert!(labels(&train).contains(&"batch"));
        let stage = complete("mixture m {\n finetune f {\n  fr", &k);
        assert_eq!(labels(&stage), STAGE_KEYWORDS);
        // After a setting's key comes its value, not another key.
        assert!(complete("mixture m {\n  train { steps ", &k).is_empty());
        // A closed block and a commented brace do not count.
        assert_eq!(labels(&complete("task t { }\n// {\n", &k)), TOP_KEYWORDS);
    }

    #[test]
    fn holes_complete_fields_then_functions() {
        let k = known();
        let fields = complete("task t {\n  input \"q: {qu", &k);
        assert_eq!(labels(&fields), ["question", "answers"]);
        let nested = complete("task t {\n  input \"q: {answers.", &k);
        assert_eq!(labels(&nested), ["text", "start"]);
        let funcs = complete("task t {\n  target \"{answers.text | fi", &k);
        assert!(labels(&funcs).contains(&"first"));
        // Outside a hole, a string completes nothing.
        assert!(complete("task t {\n  input \"q: {question} and ", &k).is_empty());
    }

    #[test]
    fn metrics_and_task_names() {
        let k = known();
        let m = complete("task t {\n  metrics accuracy, bl", &k);
        assert!(labels(&m).contains(&"bleu"));
        let t = complete("mixture m {\n  select ", &k);
        assert_eq!(labels(&t), ["t"]);
        let e = complete("task u extends ", &k);
        assert_eq!(labels(&e), ["t"]);
    }
}
