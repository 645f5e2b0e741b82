//! Postprocessors that turn generated strings into what a metric needs, as
//! T5's `postprocessors.py` does, except that unknown labels are counted and
//! reported instead of silently becoming `-1`.

use crate::classify::INVALID;
use crate::spec::TargetKind;
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

/// A task's `postprocess` step: what evaluation does to each generated
/// text (and to a text target) before its metrics score it. The compiler
/// accepts exactly these names and evaluation applies each one, so no
/// step can be accepted and then ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Postprocessor {
    /// Whitespace off both ends.
    Strip,
    /// Lowercase.
    Lower,
    /// The target is a number: the text stays as it is and the metric
    /// parses it as T5's `string_to_float` does (-1 where it cannot).
    StringToFloat,
    /// The target is a class label: the text stays as it is and the metric
    /// maps it to its id through `labels`, counting unknown labels.
    LabelToId,
}

impl Postprocessor {
    /// Every step, by the name a `.task` file uses.
    pub const ALL: [(&'static str, Self); 4] = [
        ("strip", Self::Strip),
        ("lower", Self::Lower),
        ("string_to_float", Self::StringToFloat),
        ("label_to_id", Self::LabelToId),
    ];

    /// The step called `name`.
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, p)| *p)
    }

    /// The kind of target it produces; `None`: the kind is unchanged.
    pub fn produces(self) -> Option<TargetKind> {
        match self {
            Self::Strip | Self::Lower => None,
            Self::StringToFloat => Some(TargetKind::Number),
            Self::LabelToId => Some(TargetKind::Class),
        }
    }

    /// Applies the step to one text.
    pub fn apply(self, s: &str) -> String {
        match self {
            Self::Strip => s.trim().to_string(),
            Self::Lower => s.to_lowercase(),
            Self::StringToFloat | Self::LabelToId => s.to_string(),
        }
    }
}

/// The steps called `names`, in order; `Err` with the first name that is
/// none (a plan written by another version of exc).
pub fn steps<S: AsRef<str>>(names: &[S]) -> Result<Vec<Postprocessor>, String> {
    names
        .iter()
        .map(|n| Postprocessor::named(n.as_ref()).ok_or_else(|| n.as_ref().to_string()))
        .collect()
}

/// Applies `steps` in order.
pub fn apply_all(steps: &[Postprocessor], text: &str) -> String {
    steps.iter().fold(text.to_string(), |s, p| p.apply(&s))
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

    #[test]
    fn steps_apply_in_order() {
        let both = steps(&["strip", "lower"]).unwrap();
        assert_eq!(apply_all(&both, "  Yes \n"), "yes");
        assert_eq!(
            apply_all(&steps(&["string_to_float"]).unwrap(), " 3.5"),
            " 3.5"
        );
        assert_eq!(
            steps(&["strip", "squad_answer"]).unwrap_err(),
            "squad_answer"
        );
    }
}
