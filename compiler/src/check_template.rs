//! Checks of a template's text that its parse cannot make: habits from
//! Jinja that would otherwise render wrong text without an error.

use crate::ast;
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};

/// `{{field}}` (Jinja's hole) parses as the escaped braces `{` `}` around
/// text, and would render the literal `{field}`: an error naming exc's
/// one-brace hole. A literal `{name}` is written `\{name\}`.
pub fn double_braces(t: &ast::Template) -> Vec<Diagnostic> {
    let raw = t.text.as_bytes();
    // The template's text starts after its opening quote.
    let base = t.span.start + 1;
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'\\' => i += 2,
            b'{' if raw.get(i + 1) == Some(&b'{') => {
                let inner_from = i + 2;
                let close = t.text[inner_from..].find("}}").map(|c| inner_from + c);
                match close {
                    Some(end) if looks_like_hole(&t.text[inner_from..end]) => {
                        let inner = t.text[inner_from..end].trim();
                        out.push(
                            Diagnostic::error(
                                "exc::check::double_brace_hole",
                                format!(
                                    "`{{{{{inner}}}}}` renders the literal text `{{{inner}}}`, not the field"
                                ),
                                Span::new(t.span.file, base + i, base + end + 2),
                            )
                            .label("Jinja's hole")
                            .help(format!(
                                "exc's holes take one brace: `{{{inner}}}`; for the literal text write `\\{{{inner}\\}}`"
                            )),
                        );
                        i = end + 2;
                    }
                    _ => i += 2,
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// Whether `{{…}}`'s inside reads as a field path with functions.
fn looks_like_hole(inner: &str) -> bool {
    let inner = inner.trim();
    let head = inner.split('|').next().unwrap_or("").trim();
    let mut chars = head.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']'))
        && !inner.contains(['{', '}'])
}

/// A parse error inside a hole at byte `at` that is Jinja's spelling of
/// something exc writes otherwise: a method call (`{question.lower()}`,
/// exc's `{question | lower}`) or a subscript with a key (`{x["en"]}`,
/// exc's `{x.en}`). The diagnostic names exc's spelling.
pub(crate) fn jinja_spelling(file: FileId, text: &str, at: usize) -> Option<Diagnostic> {
    let before = text.get(..at)?;
    let after = text.get(at..)?;
    // The path before the error, back to the hole's start.
    let path_start = before
        .rfind(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '.' | '[' | ']')))
        .map_or(0, |i| i + 1);
    let path = before.get(path_start..)?;
    if after.starts_with('(') {
        let (head, method) = path.rsplit_once('.')?;
        if head.is_empty() || method.is_empty() {
            return None;
        }
        let close = after.find(')')?;
        let args = after.get(1..close)?.trim();
        let exc = if args.is_empty() {
            method.to_string()
        } else {
            format!("{method}({args})")
        };
        let known = crate::funcs::names().any(|n| n == method);
        let help = if known {
            format!("exc applies functions with `|`: write `{head} | {exc}`")
        } else {
            format!(
                "exc applies functions with `|` (`{head} | lower`), and has no `{method}`; the functions are: {}",
                crate::funcs::names().collect::<Vec<_>>().join(", ")
            )
        };
        return Some(
            Diagnostic::error(
                "exc::syntax::jinja_method",
                format!("`.{method}(…)` is Jinja's method call, not exc's"),
                Span::new(file, path_start + head.len(), at + close + 1),
            )
            .label("a method call")
            .help(help),
        );
    }
    let head = path.strip_suffix('[')?;
    // Inside a template's double quotes the key's quotes are escaped.
    let escaped = usize::from(after.starts_with('\\'));
    let quoted = after.get(escaped..)?;
    let quote = quoted.chars().next().filter(|c| matches!(c, '"' | '\''))?;
    let key_len = quoted.get(1..)?.find(quote)?;
    let key = quoted.get(1..1 + key_len)?.trim_end_matches('\\');
    let close = at + escaped + key_len + 2;
    let close = close + usize::from(text.get(close..)?.starts_with(']'));
    if head.is_empty() || key.is_empty() {
        return None;
    }
    Some(
        Diagnostic::error(
            "exc::syntax::jinja_subscript",
            format!("`{head}[\"{key}\"]` is Jinja's subscript, not exc's"),
            Span::new(file, path_start, close),
        )
        .label("a key in brackets")
        .help(format!(
            "exc reads a record's field with a dot: write `{head}.{key}` (brackets take list positions: `{head}[0]`)"
        )),
    )
}

/// The help for a parse error inside a conditional hole (`{if …`): its form.
pub(crate) fn cond_help(text: &str, at: usize) -> Option<String> {
    let before = text.get(..at)?;
    let open = before.rfind('{')?;
    let hole = before.get(open + 1..)?.trim_start();
    let is_cond = hole
        .strip_prefix("if")
        .is_some_and(|rest| rest.starts_with(char::is_whitespace) || rest.starts_with('('));
    is_cond.then(|| {
        "a conditional is `{if TEST then A else B}`, both branches given: \
         `{if label == 'yes' then 'positive' else 'negative'}`; tests compare with \
         `==`, `!=`, `<`, `<=`, `>`, `>=` or `in`, combine with `and`, `or`, `not`, \
         and a branch is a quoted template, an expression or another conditional"
            .to_string()
    })
}
