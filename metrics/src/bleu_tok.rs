//! sacrebleu's `13a` and `intl` tokenizers (sacrebleu 2.x).
//!
//! Python's `re.sub` scans the original string left to right and never lets
//! matches overlap; each rule below is a hand-written scanner with the same
//! behaviour, so `"a.,b"` tokenizes exactly as in sacrebleu.

use crate::text::{is_number, is_punct, is_py_space, is_symbol, py_collapse_spaces};

/// Which tokenizer BLEU runs before counting n-grams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tokenizer {
    /// `13a`, sacrebleu's default (mteval-v13a).
    T13a,
    /// `intl`, mteval-v14 international; T5's choice.
    Intl,
    /// `none`: whitespace splitting only.
    None,
}

impl Tokenizer {
    /// Parses a sacrebleu tokenizer name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "13a" => Some(Self::T13a),
            "intl" => Some(Self::Intl),
            "none" => Some(Self::None),
            _ => None,
        }
    }

    /// The name in sacrebleu's signature.
    pub fn signature(&self) -> &'static str {
        match self {
            Self::T13a => "13a",
            Self::Intl => "intl",
            Self::None => "none",
        }
    }

    /// Tokenizes one (already right-stripped) line.
    pub fn tokenize(&self, line: &str) -> String {
        match self {
            Self::T13a => tok_13a(line),
            Self::Intl => tok_intl(line),
            Self::None => line.to_string(),
        }
    }
}

/// Applies a two-character rule `(A)(B) -> repl` the way `re.sub` does.
fn sub_pairs(
    chars: &[char],
    first: impl Fn(char) -> bool,
    second: impl Fn(char) -> bool,
    emit: impl Fn(&mut Vec<char>, char, char),
) -> Vec<char> {
    let mut out = Vec::with_capacity(chars.len() + chars.len() / 2);
    let mut i = 0;
    while i < chars.len() {
        if i + 1 < chars.len() && first(chars[i]) && second(chars[i + 1]) {
            emit(&mut out, chars[i], chars[i + 1]);
            i += 2;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// The character class of TokenizerRegexp's first rule:
/// `[\{-\~\[-\` -\&\(-\+\:-\@\/]`.
fn is_13a_symbol(c: char) -> bool {
    matches!(c, '{'..='~' | '['..='`' | ' '..='&' | '('..='+' | ':'..='@' | '/')
}

fn tok_13a(line: &str) -> String {
    let mut line = line.replace("<skipped>", "");
    line = line.replace("-\n", "");
    line = line.replace('\n', " ");
    if line.contains('&') {
        line = line
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">");
    }
    let padded = format!(" {line} ");
    // Rule 1: pad every symbol with spaces.
    let mut chars: Vec<char> = Vec::with_capacity(padded.len() * 2);
    for c in padded.chars() {
        if is_13a_symbol(c) {
            chars.extend([' ', c, ' ']);
        } else {
            chars.push(c);
        }
    }
    let digit = |c: char| c.is_ascii_digit();
    let dot_comma = |c: char| c == '.' || c == ',';
    // Rule 2: `([^0-9])([\.,])` -> `\1 \2 `.
    let chars = sub_pairs(
        &chars,
        |c| !digit(c),
        dot_comma,
        |o, a, b| o.extend([a, ' ', b, ' ']),
    );
    // Rule 3: `([\.,])([^0-9])` -> ` \1 \2`.
    let chars = sub_pairs(
        &chars,
        dot_comma,
        |c| !digit(c),
        |o, a, b| o.extend([' ', a, ' ', b]),
    );
    // Rule 4: `([0-9])(-)` -> `\1 \2 `.
    let chars = sub_pairs(
        &chars,
        digit,
        |c| c == '-',
        |o, a, b| o.extend([a, ' ', b, ' ']),
    );
    collapse(&chars)
}

fn tok_intl(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    // `(\P{N})(\p{P})` -> `\1 \2 `.
    let chars = sub_pairs(
        &chars,
        |c| !is_number(c),
        is_punct,
        |o, a, b| o.extend([a, ' ', b, ' ']),
    );
    // `(\p{P})(\P{N})` -> ` \1 \2`.
    let chars = sub_pairs(
        &chars,
        is_punct,
        |c| !is_number(c),
        |o, a, b| o.extend([' ', a, ' ', b]),
    );
    // `(\p{S})` -> ` \1 `.
    let mut out: Vec<char> = Vec::with_capacity(chars.len());
    for c in chars {
        if is_symbol(c) {
            out.extend([' ', c, ' ']);
        } else {
            out.push(c);
        }
    }
    collapse(&out)
}

fn collapse(chars: &[char]) -> String {
    let s: String = chars.iter().collect();
    if s.chars().any(is_py_space) {
        py_collapse_spaces(&s)
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t13a_examples() {
        assert_eq!(
            tok_13a("Hello, world. 3.5 1,000 a-b 3-4"),
            "Hello , world . 3.5 1,000 a-b 3 - 4"
        );
        assert_eq!(tok_13a("&quot;x&quot;"), "\" x \"");
    }

    #[test]
    fn intl_examples() {
        assert_eq!(
            tok_intl("Hello, world. 3.5 1,000 $5"),
            "Hello , world . 3.5 1,000 $ 5"
        );
        assert_eq!(tok_intl("in 2021."), "in 2021.");
    }
}
