//! Diagnostics are data (code, message, span, help) until the CLI renders
//! them; [`Diagnostic::to_report`] is the one place that turns them into miette
//! reports with the source excerpt.

use crate::excerpt;
use crate::source::{SourceMap, Span};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found in the user's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable code, e.g. `exc::check::unknown_field`.
    pub code: &'static str,
    pub severity: Severity,
    /// Lowercase, no trailing period, user input in backticks.
    pub message: String,
    /// Where; `None` for problems with no place in a file (e.g. a missing file).
    pub span: Option<Span>,
    /// What the primary span shows.
    pub label: String,
    pub help: Option<String>,
    /// Other places worth showing (e.g. the first definition of a duplicate).
    pub related: Vec<(Span, String)>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>, span: Span) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            span: Some(span),
            label: String::new(),
            help: None,
            related: Vec::new(),
        }
    }

    /// An error with no place in a file.
    pub fn global(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            span: None,
            ..Diagnostic::error(code, message, Span::default())
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>, span: Span) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message, span)
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn maybe_help(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    pub fn related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.related.push((span, label.into()));
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `path:line:col` of the primary span, for one-line output.
    pub fn location(&self, sources: &SourceMap) -> String {
        match self.span.and_then(|s| sources.get(s.file).map(|f| (s, f))) {
            Some((span, file)) => {
                let (line, col) = sources.line_col(span.file, span.start);
                format!("{}:{line}:{col}", file.path.display())
            }
            None => String::new(),
        }
    }

    /// A miette report carrying the file's text, so the handler can show the
    /// excerpt. Long lines and long spans are cut to a window and long
    /// quoted input is shortened ([`crate::excerpt`]).
    pub fn to_report(&self, sources: &SourceMap) -> miette::Report {
        let file = self.span.and_then(|s| sources.get(s.file).map(|f| (s, f)));
        let window = file.map(|(span, f)| {
            let spans: Vec<_> = std::iter::once(span)
                .chain(self.related.iter().map(|(r, _)| *r))
                .filter(|r| r.file == span.file)
                .map(|r| (r.start, r.end))
                .collect();
            let name = f.path.display().to_string();
            match excerpt::lines(&f.text, &spans) {
                Some((from, to)) => excerpt::Window::lines(name, &f.text, from, to),
                None => excerpt::Window::new(name, &f.text, span.start),
            }
        });
        // A label's place in what is shown: the file, or the window.
        let place = |start: usize, end: usize| window.as_ref().and_then(|w| w.map(start, end));
        let mut labels = Vec::new();
        let mut elsewhere = Vec::new();
        if let Some((span, _)) = file {
            let label = (!self.label.is_empty()).then(|| excerpt::shorten(&self.label));
            if let Some(at) = place(span.start, span.end) {
                labels.push(miette::LabeledSpan::new_primary_with_span(label, at));
            }
            for (rel, text) in &self.related {
                match place(rel.start, rel.end).filter(|_| rel.file == span.file) {
                    Some(at) => labels.push(miette::LabeledSpan::new_with_span(
                        Some(excerpt::shorten(text)),
                        at,
                    )),
                    None => elsewhere.push((rel, text)),
                }
            }
        } else {
            elsewhere.extend(self.related.iter().map(|(r, t)| (r, t)));
        }
        let mut help = self.help.as_deref().map(excerpt::shorten);
        // Related places outside the excerpt are named in the help.
        for (rel, text) in elsewhere {
            let at = Diagnostic {
                span: Some(*rel),
                ..self.clone()
            }
            .location(sources);
            let line = format!("{}: {at}", excerpt::shorten(text));
            help = Some(match help {
                Some(h) => format!("{h}\n{line}"),
                None => line,
            });
        }
        let report = Rendered {
            code: self.code,
            severity: self.severity,
            message: excerpt::shorten(&self.message),
            help,
            labels,
        };
        match window {
            Some(w) => miette::Report::new(report).with_source_code(w),
            None => miette::Report::new(report),
        }
    }
}

#[derive(Debug)]
struct Rendered {
    code: &'static str,
    severity: Severity,
    message: String,
    help: Option<String>,
    labels: Vec<miette::LabeledSpan>,
}

impl fmt::Display for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Rendered {}

impl miette::Diagnostic for Rendered {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h.clone()) as Box<dyn fmt::Display>)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
}

/// The closest candidate by edit distance, if it is close enough to be a typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let len = word.chars().count();
    let limit = (len / 3).max(1);
    candidates
        .into_iter()
        // The distance is at least the difference in length; skipping those
        // keeps a megabyte-long name from building a megabyte-wide table.
        .filter(|c| c.chars().count().abs_diff(len) <= limit)
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

/// "did you mean `x`?" when a close candidate exists.
pub fn suggestion<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    did_you_mean(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// Optimal-string-alignment distance: like Levenshtein, plus adjacent swaps
/// (`flaot` is one edit from `float`).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("sentense1", ["sentence1", "label"]),
            Some("sentence1")
        );
        assert_eq!(did_you_mean("zzz", ["sentence1", "label"]), None);
        assert_eq!(did_you_mean("flaot", ["float", "text"]), Some("float"));
    }
}
