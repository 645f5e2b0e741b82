//! A pest failure -> one diagnostic: what was expected and what was found,
//! and where the text shows the cause, that instead: a string or a template
//! hole left open (shown where it opened, not where the parser gave up
//! lines later), a misspelt keyword, or a keyword run into the next word.

use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::grammar::{Rule, MAX_NESTING, MIXTURE_KEYWORDS, TASK_KEYWORDS, TOP_KEYWORDS};
use crate::source::{FileId, Span};

const TASK_ENTRY: &str = "a task entry (`input`, `target`, …)";
const MIXTURE_ENTRY: &str = "a mixture entry (`select`, `rates`, …)";
const ITEM: &str = "`task`, `mixture` or `include`";
const HOLE_END: &str = "`}` to end the hole";

pub(crate) fn syntax_error(file: FileId, text: &str, err: &pest::error::Error<Rule>) -> Diagnostic {
    let (start, end) = match err.location {
        pest::error::InputLocation::Pos(p) => (p, p),
        pest::error::InputLocation::Span((s, e)) => (s, e),
    };
    // pest stops, rather than overflow the stack, where the text nests
    // deeper than the thread's stack allows ("stack limit reached").
    if let pest::error::ErrorVariant::CustomError { message } = &err.variant {
        let at = text
            .get(..start)
            .map_or(0, |t| t.char_indices().last().map_or(0, |(i, _)| i));
        let d = too_deep(Span::new(file, at, start.max(at + 1).min(text.len())));
        return Diagnostic {
            message: format!("{} (the parser stopped: {message})", d.message),
            ..d
        };
    }
    let word = word_at(text, start);
    // Underline the word at the error, if any, so the excerpt points at it.
    let end = end.max(start + word.len());
    let expected = expected(err);
    let found = if word.is_empty() {
        text.get(start..)
            .and_then(|t| t.chars().next())
            .map_or("end of file".to_string(), |c| format!("`{c}`"))
    } else {
        format!("`{word}`")
    };
    let message = if expected.is_empty() {
        format!("unexpected {found}")
    } else {
        format!("expected {}, found {found}", expected.join(" or "))
    };
    let at = Span::new(file, start, end);
    let scan = scan(text, start);
    if let Some(d) = unclosed_string(file, text, &scan, at, &message) {
        return d;
    }
    if let Some(d) = crate::check_template::jinja_spelling(file, text, start) {
        return d;
    }
    if expected.iter().any(|e| e == HOLE_END) {
        if let Some(d) = unclosed_hole(file, &scan, at, &found) {
            return d;
        }
    }
    Diagnostic::error("exc::syntax::unexpected", message, at)
        .label("here")
        .help(
            crate::check_template::cond_help(text, start)
                .or_else(|| keyword_help(&word, &expected))
                .unwrap_or_else(|| {
                    "see grammar/README.md for the language; every entry starts with a keyword"
                        .to_string()
                }),
        )
}

/// The identifier-like word starting at byte `start`, if any.
fn word_at(text: &str, start: usize) -> String {
    text.get(start..)
        .unwrap_or("")
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// What pest expected, in words, each once.
fn expected(err: &pest::error::Error<Rule>) -> Vec<String> {
    match &err.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            let mut names: Vec<String> = positives
                .iter()
                .filter_map(|r| rule_name(*r))
                .map(str::to_string)
                .collect();
            names.sort();
            names.dedup();
            names
        }
        pest::error::ErrorVariant::CustomError { .. } => Vec::new(),
    }
}

fn rule_name(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::task_entry | Rule::collection | Rule::family => TASK_ENTRY,
        Rule::mix_entry
        | Rule::uses
        | Rule::select
        | Rule::exclude
        | Rule::subset
        | Rule::rates
        | Rule::c4
        | Rule::model
        | Rule::train
        | Rule::stage_kind
        | Rule::sweep => MIXTURE_ENTRY,
        Rule::string | Rule::template => "a string",
        Rule::number | Rule::int => "a number",
        Rule::ident | Rule::bare => "a name",
        Rule::expr | Rule::path | Rule::zip_list => "a field path",
        Rule::zip_head => "`zip(name = list, …)`",
        Rule::hole_end => HOLE_END,
        Rule::literal | Rule::set_value => "a value",
        Rule::type_expr | Rule::prim_type => "a type",
        Rule::call | Rule::call_value => "a function",
        Rule::selector | Rule::sel_glob | Rule::sel_keyed => "a task selector",
        Rule::EOI => "end of file",
        Rule::file | Rule::item | Rule::task | Rule::mixture | Rule::include => ITEM,
        Rule::split_map => "`{ split = \"…\" }`",
        Rule::setting => "a setting",
        Rule::cmp_op => "a comparison",
        _ => return None,
    })
}

/// "did you mean `target`?" for a misspelt keyword, or the keyword and the
/// word run together (`targetlabel`: `target label`), among the keywords
/// that fit where the word is.
fn keyword_help(word: &str, expected: &[String]) -> Option<String> {
    if word.is_empty() {
        return None;
    }
    let mut keywords: Vec<&str> = Vec::new();
    for (what, list) in [
        (TASK_ENTRY, TASK_KEYWORDS),
        (MIXTURE_ENTRY, MIXTURE_KEYWORDS),
        (ITEM, TOP_KEYWORDS),
    ] {
        if expected.iter().any(|e| e == what) {
            keywords.extend(list);
        }
    }
    if keywords.is_empty() {
        keywords = [TASK_KEYWORDS, MIXTURE_KEYWORDS, TOP_KEYWORDS].concat();
    }
    if let Some(k) = did_you_mean(word, keywords.iter().copied()) {
        return Some(format!("did you mean `{k}`?"));
    }
    let (k, rest) = keywords
        .iter()
        .filter_map(|k| word.strip_prefix(k).map(|rest| (*k, rest)))
        .filter(|(_, rest)| !rest.is_empty())
        .max_by_key(|(k, _)| k.len())?;
    Some(format!(
        "a keyword ends at a space: did you mean `{k} {rest}`?"
    ))
}

/// A string or hole open at a position of the text.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Open {
    Str { at: usize, quote: char },
    Hole { at: usize },
}

/// The text's strings and template holes up to a position, as a lexer that
/// knows only comments, quotes, escapes and braces sees them: reliable
/// where the parser is lost, because it needs no grammar.
#[derive(Debug, Default)]
struct Scan {
    /// Open at the position, innermost last.
    open: Vec<Open>,
    /// The last string that ran over a line break before the position:
    /// where it opened, and where it closed (`None`: still open).
    multiline: Option<(usize, Option<usize>)>,
}

fn scan(text: &str, upto: usize) -> Scan {
    let mut s = Scan::default();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if i >= upto {
            break;
        }
        match s.open.last().copied() {
            // Outside strings, or inside a hole (where quotes start strings
            // and braces nest, as in `lookup({ … })`).
            None | Some(Open::Hole { .. }) => {
                let comment =
                    c == '#' || (c == '/' && chars.peek().is_some_and(|(_, n)| *n == '/'));
                if s.open.is_empty() && comment {
                    while chars.next_if(|(_, n)| *n != '\n').is_some() {}
                } else if c == '"' || c == '\'' {
                    s.open.push(Open::Str { at: i, quote: c });
                } else if c == '{' && !s.open.is_empty() {
                    s.open.push(Open::Hole { at: i });
                } else if c == '}' && !s.open.is_empty() {
                    s.open.pop();
                }
            }
            Some(Open::Str { at, quote }) => {
                let next = chars.peek().map(|(_, n)| *n);
                let doubled = (c == '{' || c == '}') && next == Some(c);
                if c == '\\' || doubled {
                    chars.next();
                } else if c == quote {
                    s.open.pop();
                    if let Some((open_at, None)) = s.multiline {
                        if open_at == at {
                            s.multiline = Some((at, Some(i)));
                        }
                    }
                } else if c == '{' {
                    s.open.push(Open::Hole { at: i });
                } else if c == '\n' {
                    s.multiline = Some((at, None));
                }
            }
        }
        // A line break inside a hole is inside its string too.
        if c == '\n' && matches!(s.open.last(), Some(Open::Hole { .. })) {
            if let Some(Open::Str { at, .. }) =
                s.open.iter().rev().find(|o| matches!(o, Open::Str { .. }))
            {
                s.multiline = Some((*at, None));
            }
        }
    }
    s
}

fn line_of(text: &str, pos: usize) -> usize {
    text.get(..pos).map_or(0, |t| t.matches('\n').count()) + 1
}

/// A string that runs over a line break is, in practice, one whose closing
/// quote is missing: the parser then reads on into the next lines and gives
/// up far from the cause. Named when the parser stopped inside such a
/// string, or on the line where it finally closed.
fn unclosed_string(
    file: FileId,
    text: &str,
    scan: &Scan,
    at: Span,
    message: &str,
) -> Option<Diagnostic> {
    let (open_at, closed_at) = scan.multiline?;
    let still_open = scan
        .open
        .iter()
        .any(|o| matches!(o, Open::Str { at, .. } if *at == open_at));
    let closed_here = closed_at.is_some_and(|c| line_of(text, c) == line_of(text, at.start));
    if !(still_open || closed_here) {
        return None;
    }
    let line = line_of(text, open_at);
    Some(
        Diagnostic::error(
            "exc::syntax::unclosed_string",
            format!("the string opened on line {line} is not closed on its line"),
            Span::new(file, open_at, open_at + 1),
        )
        .label("this string runs past the end of its line")
        .related(at, format!("so the parser read on to here: {message}"))
        .help(format!(
            "close the string with its quote on line {line}; a line break inside a string is written `\\n`"
        )),
    )
}

/// A template hole without its `}`: shown at its `{`.
fn unclosed_hole(file: FileId, scan: &Scan, at: Span, found: &str) -> Option<Diagnostic> {
    let open_at = scan.open.iter().rev().find_map(|o| match o {
        Open::Hole { at } => Some(*at),
        Open::Str { .. } => None,
    })?;
    Some(
        Diagnostic::error(
            "exc::syntax::unclosed_hole",
            format!("the template hole opened here is not closed: expected `}}`, found {found}"),
            Span::new(file, open_at, open_at + 1),
        )
        .label("this `{` opens a hole")
        .related(at, "expected `}` here")
        .help(
            "a hole is a field and functions, `{sentence | lower}`; write `{{` for a literal `{`",
        ),
    )
}

/// A record, list or type nested past [`MAX_NESTING`], at the bracket that
/// goes one level too deep.
pub(crate) fn too_deep(at: Span) -> Diagnostic {
    Diagnostic::error(
        "exc::syntax::too_deep",
        format!("values and types nest at most {MAX_NESTING} levels deep"),
        at,
    )
    .label("one level too deep")
    .help("flatten the record, list or type: keep nested data in the data files, not in the task")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scan_follows_strings_holes_and_comments() {
        let text = "input \"a {b | join(', ')} c\" // \"x\n target \"{s";
        let s = scan(text, text.len());
        assert_eq!(s.open.len(), 2, "{s:?}");
        assert!(matches!(s.open[1], Open::Hole { .. }));
        assert_eq!(s.multiline, None);
        let text = "input \"{s}\n target s";
        let s = scan(text, text.len());
        assert_eq!(s.multiline, Some((6, None)));
        let text = "description \"abc\n input \"x";
        let s = scan(text, text.len() - 1);
        assert_eq!(s.multiline, Some((12, Some(24))));
    }

    #[test]
    fn braces_and_quotes_inside_holes_nest() {
        // A map template's own holes and strings, and a written table.
        let text =
            "input \"{acts | map('{act} = {v | join(\" , \")}')} {a | lookup({ \"1\": \"x\" })}\" ";
        let s = scan(text, text.len());
        assert!(s.open.is_empty(), "{s:?}");
        assert_eq!(s.multiline, None);
    }

    #[test]
    fn a_keyword_run_into_a_word_is_split() {
        let task = vec![TASK_ENTRY.to_string()];
        assert_eq!(
            keyword_help("targetlabel", &task).as_deref(),
            Some("a keyword ends at a space: did you mean `target label`?")
        );
        assert_eq!(
            keyword_help("targett", &task).as_deref(),
            Some("did you mean `target`?")
        );
        let top = vec![ITEM.to_string()];
        assert_eq!(
            keyword_help("taks", &top).as_deref(),
            Some("did you mean `task`?")
        );
        assert_eq!(keyword_help("zzz", &task), None);
    }
}
