//! Python string semantics that the reference implementations rely on.
//!
//! sacrebleu, rouge_score and the SQuAD scripts are written against Python's
//! `str.split()`, `str.lower()`, `re`'s `\w` and the `regex` module's Unicode
//! property classes. Rust's own predicates differ at the edges (Rust's
//! whitespace lacks U+001C..U+001F, Rust's alphanumeric includes combining
//! vowel signs), so every metric goes through these helpers instead.

use unicode_general_category::{get_general_category, GeneralCategory as G};

/// Python's `str.isspace()` (and so the separators of `str.split()`).
#[inline]
pub fn is_py_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n'
            | '\u{0b}'
            | '\u{0c}'
            | '\r'
            | '\u{1c}'..='\u{1f}'
            | ' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// Python's `str.split()` with no argument.
pub fn py_split(s: &str) -> impl Iterator<Item = &str> {
    s.split(is_py_space).filter(|t| !t.is_empty())
}

/// `" ".join(s.split())`.
pub fn py_collapse_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for tok in py_split(s) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(tok);
    }
    out
}

/// Python's `str.rstrip()` with no argument.
pub fn py_rstrip(s: &str) -> &str {
    s.trim_end_matches(is_py_space)
}

/// Python's `str.strip()` with no argument.
pub fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// Python's `str.lower()`: full Unicode lowercasing, including final sigma,
/// which Rust's `to_lowercase` also implements.
pub fn py_lower(s: &str) -> String {
    s.to_lowercase()
}

/// Unicode general category `N*` (`\p{N}` in the `regex` module).
#[inline]
pub fn is_number(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    matches!(
        get_general_category(c),
        G::DecimalNumber | G::LetterNumber | G::OtherNumber
    )
}

/// Unicode general category `P*` (`\p{P}`).
#[inline]
pub fn is_punct(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_punctuation() && !is_ascii_symbol(c);
    }
    matches!(
        get_general_category(c),
        G::ConnectorPunctuation
            | G::DashPunctuation
            | G::OpenPunctuation
            | G::ClosePunctuation
            | G::InitialPunctuation
            | G::FinalPunctuation
            | G::OtherPunctuation
    )
}

/// The ASCII characters in `S*` (Sm, Sc, Sk); the other ASCII punctuation
/// characters are `P*`. Checked against the general category in the tests.
#[inline]
fn is_ascii_symbol(c: char) -> bool {
    matches!(c, '$' | '+' | '<' | '=' | '>' | '^' | '`' | '|' | '~')
}

/// Unicode general category `S*` (`\p{S}`).
#[inline]
pub fn is_symbol(c: char) -> bool {
    if c.is_ascii() {
        return is_ascii_symbol(c);
    }
    matches!(
        get_general_category(c),
        G::MathSymbol | G::CurrencySymbol | G::ModifierSymbol | G::OtherSymbol
    )
}

/// Python's `str.isalnum()`: letters (`L*`) and numbers (`N*`). Unlike Rust's
/// `char::is_alphanumeric`, combining marks are not included.
#[inline]
pub fn is_py_alnum(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    matches!(
        get_general_category(c),
        G::UppercaseLetter
            | G::LowercaseLetter
            | G::TitlecaseLetter
            | G::ModifierLetter
            | G::OtherLetter
            | G::DecimalNumber
            | G::LetterNumber
            | G::OtherNumber
    )
}

/// Python `re`'s `\w` for `str` patterns.
#[inline]
pub fn is_py_word(c: char) -> bool {
    c == '_' || is_py_alnum(c)
}

/// Python's `string.punctuation`.
pub fn is_ascii_punct(c: char) -> bool {
    c.is_ascii_punctuation()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_matches_python() {
        let v: Vec<_> = py_split("a\u{1c}b\u{a0} c\u{200b}d").collect();
        assert_eq!(v, vec!["a", "b", "c\u{200b}d"]);
    }

    #[test]
    fn ascii_fast_paths_agree_with_categories() {
        for b in 0u8..128 {
            let c = b as char;
            let cat = get_general_category(c);
            let p = matches!(
                cat,
                G::ConnectorPunctuation
                    | G::DashPunctuation
                    | G::OpenPunctuation
                    | G::ClosePunctuation
                    | G::InitialPunctuation
                    | G::FinalPunctuation
                    | G::OtherPunctuation
            );
            let s = matches!(
                cat,
                G::MathSymbol | G::CurrencySymbol | G::ModifierSymbol | G::OtherSymbol
            );
            assert_eq!(is_punct(c), p, "{c:?}");
            assert_eq!(is_symbol(c), s, "{c:?}");
            assert_eq!(is_number(c), cat == G::DecimalNumber, "{c:?}");
        }
    }

    #[test]
    fn word_chars() {
        assert!(is_py_word('é'));
        assert!(!is_py_word('\u{301}'));
        assert!(is_py_word('٣'));
        assert!(!is_py_word('-'));
    }
}
