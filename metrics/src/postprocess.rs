//! Postprocessors that turn generated strings into what a metric needs, as
//! T5's `postprocessors.py` does, except that unknown labels are counted and
//! reported instead of silently becoming `-1`.

use crate::classify::INVALID;
use crate::text::py_strip;

/// Text cleanup applied before a string is compared or looked up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clean {
    /// Python `str.strip()` first.
    pub strip: bool,
    /// Python `str.lower()` after stripping.
    pub lowercase: bool,
}

impl Clean {
    /// Applies the cleanup.
    pub fn apply(&self, s: &str) -> String {
        let s = if self.strip { py_strip(s) } else { s };
        if self.lowercase {
            s.to_lowercase()
        } else {
            s.to_string()
        }
    }
}

/// Maps label strings to class ids by position (`string_label_to_class_id`).
#[derive(Clone, Debug)]
pub struct LabelMap {
    labels: Vec<String>,
    clean: Clean,
}

/// The result of mapping a column of predictions: ids plus which rows held
/// no known label.
#[derive(Clone, Debug, Default)]
pub struct Mapped {
    /// Class ids, [`INVALID`] where unknown.
    pub ids: Vec<i64>,
    /// 0-based rows whose string matched no label.
    pub unknown_rows: Vec<usize>,
}

impl LabelMap {
    /// A map over `labels` (cleaned the same way as the inputs).
    pub fn new(labels: &[String], clean: Clean) -> Self {
        Self {
            labels: labels.iter().map(|l| clean.apply(l)).collect(),
            clean,
        }
    }

    /// The labels, in id order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The id of one string, `None` when it is not a label.
    pub fn id(&self, s: &str) -> Option<i64> {
        let s = self.clean.apply(s);
        self.labels.iter().position(|l| *l == s).map(|i| i as i64)
    }

    /// Maps a column, recording unknown rows instead of hiding them.
    pub fn map_all<S: AsRef<str>>(&self, items: &[S]) -> Mapped {
        let mut out = Mapped::default();
        for (row, s) in items.iter().enumerate() {
            match self.id(s.as_ref()) {
                Some(id) => out.ids.push(id),
                None => {
                    out.ids.push(INVALID);
                    out.unknown_rows.push(row);
                }
            }
        }
        out
    }
}

/// T5's `string_to_float`: Python `float(s)`, or `None` where Python raises.
pub fn parse_float(s: &str) -> Option<f64> {
    let t = py_strip(s);
    // Python accepts digit-group underscores ("1_000") but Rust does not.
    let cleaned: String;
    let t = if t.contains('_') {
        // Python allows an underscore only between two digits.
        let cs: Vec<char> = t.chars().collect();
        let ok = cs.iter().enumerate().all(|(i, &c)| {
            c != '_'
                || (i > 0
                    && cs[i - 1].is_ascii_digit()
                    && cs.get(i + 1).is_some_and(|n| n.is_ascii_digit()))
        });
        if !ok {
            return None;
        }
        cleaned = t.replace('_', "");
        cleaned.as_str()
    } else {
        t
    };
    let lower = t.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    // Rust also parses "inf"/"infinity"/"nan" like Python, but rejects
    // nothing Python accepts beyond that, except a bare sign.
    if body.is_empty() {
        return None;
    }
    t.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_floats() {
        let m = LabelMap::new(&["no".into(), "yes".into()], Clean::default());
        let r = m.map_all(&["yes", "maybe", "no"]);
        assert_eq!(r.ids, vec![1, INVALID, 0]);
        assert_eq!(r.unknown_rows, vec![1]);
        assert_eq!(parse_float(" 3.5 "), Some(3.5));
        assert_eq!(parse_float("1_000"), Some(1000.0));
        assert_eq!(parse_float("abc"), None);
        assert!(parse_float("NaN").is_some_and(f64::is_nan));
    }
}
