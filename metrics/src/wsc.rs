//! SuperGLUE WSC as T5 scores its "simple" format: the model generates the
//! referent of the marked pronoun; T5's `wsc_simple` postprocessor
//! (t5/data/postprocessors.py, t5 0.9.4, lines 95-134) turns that into 1 when
//! the prediction names the example's candidate referent (`span1_text`) and
//! 0 when it does not, and the metric is accuracy against the example's label
//! (`metric_fns=[metrics.accuracy]` in t5/data/tasks.py,
//! `super_glue_wsc_v102_simple_eval`). So on a label-0 row, a prediction that
//! does not name the candidate is correct.

use std::collections::HashSet;

use crate::classify::INVALID;
use crate::text::{py_lower, py_strip};

/// T5's determiner list (postprocessors.py lines 100-104).
pub const DETERMINERS: [&str; 21] = [
    "a", "an", "few", "her", "his", "each", "every", "many", "much", "my", "our", "some", "that",
    "the", "their", "these", "this", "those", "which", "whose", "your",
];

/// T5's `clean` (lines 106-109): Python `strip()` then `lower()`, split on
/// single spaces (so runs of spaces leave empty words, which are kept), drop
/// the determiners, join with single spaces.
pub fn clean(s: &str) -> String {
    let s = py_lower(py_strip(s));
    s.split(' ')
        .filter(|w| !DETERMINERS.contains(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// T5's `wsc_simple` on a prediction: 1 if it names `referent`, 0 if not,
/// and [`INVALID`] (-1) when nothing is left after cleaning (lines 111-115),
/// which then matches neither label.
pub fn predicted_referent(prediction: &str, referent: &str) -> i64 {
    let prediction = clean(prediction);
    if prediction.is_empty() {
        return INVALID;
    }
    let referent = clean(referent);
    // Lines 121-124: "Bob" does not name "Bob's hat" (ASCII apostrophe only).
    if prediction.contains('\'') != referent.contains('\'') {
        return 0;
    }
    // Lines 126-132: the word sets, subset either way.
    let p: HashSet<&str> = prediction.split(' ').collect();
    let r: HashSet<&str> = referent.split(' ').collect();
    i64::from(p.is_subset(&r) || r.is_subset(&p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_t5s_rules() {
        assert_eq!(predicted_referent("The table", "the table"), 1);
        assert_eq!(predicted_referent("table", "The table"), 1);
        assert_eq!(predicted_referent("the wooden table", "The table"), 1);
        assert_eq!(predicted_referent("the ball", "The table"), 0);
        assert_eq!(predicted_referent("Bob", "Bob's hat"), 0);
        assert_eq!(predicted_referent("", "The table"), INVALID);
        assert_eq!(predicted_referent(" the ", "The table"), INVALID);
        // A double space leaves an empty word that the referent lacks.
        assert_eq!(predicted_referent("the table", "table leg"), 1);
        assert_eq!(predicted_referent("the  table", "table leg"), 0);
        // Punctuation stays on the word.
        assert_eq!(predicted_referent("table.", "the table"), 0);
    }
}
