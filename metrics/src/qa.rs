//! Question-answering metrics as T5's `qa_utils` computes them: SQuAD and
//! TriviaQA answer normalisation, exact match and token F1 maximised over
//! the gold answers, and ReCoRD's deduplication by group.

use std::collections::HashMap;

use crate::text::{is_ascii_punct, is_py_word, py_collapse_spaces, py_split};

/// Which official normalisation to apply before comparing answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Normalization {
    /// SQuAD: ASCII punctuation is deleted.
    Squad,
    /// TriviaQA: ASCII punctuation and `‘’´`_` become spaces.
    TriviaQa,
}

/// `re.sub(r"\b(a|an|the)\b", " ", s)` with Python's Unicode `\w`.
fn remove_articles(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let boundary_before = i == 0 || !is_py_word(chars[i - 1]);
        let mut matched = 0;
        if boundary_before {
            // Python tries the alternatives in order; "a" fails the trailing
            // \b before "an" is tried, so the longest fitting one wins.
            for art in ["a", "an", "the"] {
                let n = art.len();
                let fits = chars.len() >= i + n
                    && chars[i..i + n].iter().copied().eq(art.chars())
                    && (i + n == chars.len() || !is_py_word(chars[i + n]));
                if fits {
                    matched = n;
                    break;
                }
            }
        }
        if matched > 0 {
            out.push(' ');
            i += matched;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// T5's `_normalize_answer` with the chosen punctuation handling.
pub fn normalize(text: &str, how: Normalization) -> String {
    let lower = text.to_lowercase();
    let replaced: String = match how {
        Normalization::Squad => lower.chars().filter(|c| !is_ascii_punct(*c)).collect(),
        Normalization::TriviaQa => lower
            .chars()
            .map(|c| {
                if is_ascii_punct(c) || matches!(c, '‘' | '’' | '´' | '`' | '_') {
                    ' '
                } else {
                    c
                }
            })
            .collect(),
    };
    py_collapse_spaces(&remove_articles(&replaced))
}

/// Token F1 between two normalised strings (`qa_utils._f1_score`).
pub fn token_f1(target: &str, prediction: &str) -> f64 {
    let p: Vec<&str> = py_split(prediction).collect();
    let t: Vec<&str> = py_split(target).collect();
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for tok in &t {
        *counts.entry(tok).or_insert(0) += 1;
    }
    let mut same = 0usize;
    for tok in &p {
        if let Some(c) = counts.get_mut(tok) {
            if *c > 0 {
                *c -= 1;
                same += 1;
            }
        }
    }
    if same == 0 {
        return 0.0;
    }
    let precision = same as f64 / p.len() as f64;
    let recall = same as f64 / t.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

/// Per-example exact match and F1, each maximised over the gold answers
/// (both 0 for an example with no answers, where Python's `max` would raise;
/// callers reject that case first).
pub fn qa_example(targets: &[String], prediction: &str, how: Normalization) -> (f64, f64) {
    let p = normalize(prediction, how);
    let mut em: f64 = 0.0;
    let mut f1: f64 = 0.0;
    for t in targets {
        let t = normalize(t, how);
        if t == p {
            em = 1.0;
        }
        f1 = f1.max(token_f1(&t, &p));
    }
    (em, f1)
}

/// T5's `squad`/`trivia_qa`: mean EM and F1 x100.
pub fn qa_metrics(targets: &[Vec<String>], preds: &[&str], how: Normalization) -> (f64, f64) {
    let mut em = 0.0;
    let mut f1 = 0.0;
    for (t, p) in targets.iter().zip(preds) {
        let (e, f) = qa_example(t, p, how);
        em += e;
        f1 += f;
    }
    let n = targets.len().min(preds.len()) as f64;
    // T5 takes the mean first, then scales: keep that order for bitwise EM.
    ((em / n) * 100.0, (f1 / n) * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squad_normalisation() {
        assert_eq!(
            normalize("The  Cat's  hat, an apple!", Normalization::Squad),
            "cats hat apple"
        );
        assert_eq!(normalize("Théa a", Normalization::Squad), "théa");
        assert_eq!(
            normalize("rock'n'roll", Normalization::TriviaQa),
            "rock n roll"
        );
    }
}
