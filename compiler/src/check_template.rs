//! Checks of a template's text that its parse cannot make: habits from
//! Jinja that would otherwise render wrong text without an error.

use crate::ast;
use crate::diagnostic::Diagnostic;
use crate::source::Span;

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
