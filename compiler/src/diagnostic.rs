//! Diagnostics are data (code, message, span, help) until the CLI renders
//! them; [`Diagnostic::to_report`] is the one place that turns them into miette
//! reports with the source excerpt.

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

    /// A miette report carrying the file's text, so the handler can show the excerpt.
    pub fn to_report(&self, sources: &SourceMap) -> miette::Report {
        let file = self.span.and_then(|s| sources.get(s.file));
        let mut labels = Vec::new();
        if let (Some(span), Some(_)) = (self.span, file) {
            let label = (!self.label.is_empty()).then(|| self.label.clone());
            labels.push(miette::LabeledSpan::new_primary_with_span(
                label,
                (span.start, span.end.saturating_sub(span.start)),
            ));
            for (rel, text) in &self.related {
                if rel.file == span.file {
                    labels.push(miette::LabeledSpan::new_with_span(
                        Some(text.clone()),
                        (rel.start, rel.end.saturating_sub(rel.start)),
                    ));
                }
            }
        }
        let mut help = self.help.clone();
        // Related places in other files cannot share the excerpt: name them in the help.
        for (rel, text) in &self.related {
            if Some(rel.file) != self.span.map(|s| s.file) {
                let at = Diagnostic {
                    span: Some(*rel),
                    ..self.clone()
                }
                .location(sources);
                let line = format!("{text}: {at}");
                help = Some(match help {
                    Some(h) => format!("{h}\n{line}"),
                    None => line,
                });
            }
        }
        let report = Rendered {
            code: self.code,
            severity: self.severity,
            message: self.message.clone(),
            help,
            labels,
        };
        match file {
            Some(f) => miette::Report::new(report).with_source_code(miette::NamedSource::new(
                f.path.display().to_string(),
                f.text.to_string(),
            )),
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
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
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
