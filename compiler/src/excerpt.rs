//! What a diagnostic quotes of the user's text, capped. A rendered error
//! shows a few short lines; on a file with a megabyte-long line (or a span
//! over thousands of lines) the renderer would print all of it, slowly, and
//! miette panics on an underline wider than 65,535 columns. Such errors get a
//! one-line window around where the span starts instead, with the true line
//! and column in the header and gutter.

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

/// Longest line (in bytes) quoted whole; longer ones are cut to a window.
pub const MAX_LINE: usize = 400;
/// Longest span (in bytes) underlined whole.
const MAX_SPAN: usize = 4000;
/// Bytes shown before and after the start of the span in a window.
const BEFORE: usize = 80;
const AFTER: usize = 160;
/// Longest quoted user input (in characters) in a message, a label or a help.
const MAX_QUOTE: usize = 80;
const ELLIPSIS: &str = "…";

/// The lines labels at these spans show — from the line before the first
/// to the line after the last, as the renderer merges nearby labels into
/// one excerpt with every line between them — if they can be quoted whole:
/// no span is long and no line in them is.
pub fn lines(text: &str, spans: &[(usize, usize)]) -> Option<(usize, usize)> {
    let first = spans.iter().map(|s| s.0).min()?;
    let last = spans.iter().map(|s| s.1).max().unwrap_or(first);
    if spans.iter().any(|(s, e)| e.saturating_sub(*s) > MAX_SPAN) {
        return None;
    }
    let from = line_start(text, line_start(text, first).saturating_sub(1));
    // Through the newline of the line after: the renderer shows an empty one.
    let to = (line_end(text, line_end(text, last) + 1) + 1).min(text.len());
    let region = text.get(from..to)?;
    region
        .split('\n')
        .all(|l| l.len() <= MAX_LINE)
        .then_some((from, to))
}

/// Part of a file as miette source code that reports the file's own line
/// and column numbers: whole lines (the renderer then reads only them, not
/// the file from its start for every label), or one line cut to a window
/// around a span.
pub struct Window {
    name: String,
    text: String,
    /// 0-based line of the window in the file.
    line: usize,
    /// File byte offsets of the window's text (without the ellipses).
    from: usize,
    to: usize,
    /// Bytes of the ellipsis in front of the window (0 if none).
    prefix: usize,
    /// Byte column of `from` in its line.
    column: usize,
}

impl Window {
    /// Whole lines `from..to` of `text` (`from` at a line start).
    pub fn lines(name: String, text: &str, from: usize, to: usize) -> Self {
        Window {
            name,
            text: text.get(from..to).unwrap_or("").to_string(),
            line: text.get(..from).map_or(0, |t| t.matches('\n').count()),
            from,
            to,
            prefix: 0,
            column: 0,
        }
    }

    /// A window of the line holding byte `start` of `text`.
    pub fn new(name: String, text: &str, start: usize) -> Self {
        let start = floor(text, start.min(text.len()));
        let (ls, le) = (line_start(text, start), line_end(text, start));
        let from = floor(text, start.saturating_sub(BEFORE).max(ls));
        let to = floor(text, (start + AFTER).min(le)).max(start);
        let prefix = if from > ls { ELLIPSIS } else { "" };
        let suffix = if to < le { ELLIPSIS } else { "" };
        let shown = format!("{prefix}{}{suffix}", text.get(from..to).unwrap_or(""));
        Window {
            name,
            text: shown,
            line: text.get(..ls).map_or(0, |t| t.matches('\n').count()),
            from,
            to,
            prefix: prefix.len(),
            column: from - ls,
        }
    }

    /// The part of the file span `start..end` inside the window, in window
    /// offsets; `None` when it starts outside.
    pub fn map(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        if start < self.from || start > self.to {
            return None;
        }
        Some((
            start - self.from + self.prefix,
            end.min(self.to).saturating_sub(start),
        ))
    }
}

impl SourceCode for Window {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self.text.as_str().read_span(span, before, after)?;
        let column = (inner.column() + self.column).saturating_sub(self.prefix);
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.line,
            column,
            inner.line_count(),
        )))
    }
}

/// `text` with every backtick-quoted part longer than [`MAX_QUOTE`]
/// characters shortened, and the whole capped, so that a diagnostic about a
/// megabyte-long name does not print the name.
pub fn shorten(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        let quoted = i % 2 == 1;
        let n = part.chars().count();
        if (quoted && n > MAX_QUOTE) || n > 20 * MAX_QUOTE {
            out.extend(part.chars().take(MAX_QUOTE / 2));
            out.push_str(&format!("{ELLIPSIS}({n} characters)"));
        } else {
            out.push_str(part);
        }
    }
    out
}

fn line_start(text: &str, at: usize) -> usize {
    text.get(..at)
        .and_then(|t| t.rfind('\n'))
        .map_or(0, |i| i + 1)
}

fn line_end(text: &str, at: usize) -> usize {
    let at = at.min(text.len());
    text.get(at..)
        .and_then(|t| t.find('\n'))
        .map_or(text.len(), |i| at + i)
}

/// The nearest char boundary at or before `at`.
fn floor(text: &str, mut at: usize) -> usize {
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_keep_file_positions() {
        let text = format!("a\n{}X{}\nb", "y".repeat(100_000), "z".repeat(100_000));
        let at = 2 + 100_000;
        assert_eq!(lines(&text, &[(at, at + 1)]), None);
        assert_eq!(lines("a\nb\nc\nd\ne", &[(4, 5)]), Some((2, 8)));
        // A long line between two labels is shown when they merge.
        assert_eq!(lines(&text, &[(0, 1), (text.len() - 1, text.len())]), None);
        let w = Window::new("f".into(), &text, at);
        assert!(w.text.len() < BEFORE + AFTER + 10);
        let (s, len) = w.map(at, at + 1).unwrap();
        assert_eq!(&w.text[s..s + len], "X");
        let c = w.read_span(&(s, len).into(), 0, 0).unwrap();
        assert_eq!((c.line(), c.column()), (1, 100_000));
        assert_eq!(w.map(0, 1), None);
    }

    #[test]
    fn long_quotes_are_shortened() {
        let long = "a".repeat(1_000_000);
        let s = shorten(&format!("unknown `{long}` here"));
        assert!(s.len() < 200, "{s}");
        assert!(s.starts_with("unknown `aaa") && s.ends_with("(1000000 characters)` here"));
        assert_eq!(shorten("keep `short` ones"), "keep `short` ones");
    }
}
