//! The values a numeric setting may take: `steps` at least 1, `dropout` in
//! [0, 1), a learning rate above 0. Settings blocks and the options of
//! `optimizer` and `lr` declare theirs in tables (`lower_settings`), and a
//! value outside is an error that says the range in words.

/// An interval of numbers: a lower bound, itself allowed or not, and an
/// optional upper bound that is never allowed (every upper bound in the
/// language is a probability that must leave something: dropout < 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    min: f64,
    min_allowed: bool,
    below: Option<f64>,
}

impl Range {
    /// Greater than 0: a learning rate, an epsilon.
    pub const POSITIVE: Range = Range {
        min: 0.0,
        min_allowed: false,
        below: None,
    };
    /// 0 or more: a weight decay, a penalty that 0 turns off.
    pub const NON_NEGATIVE: Range = Range::at_least(0.0);
    /// [0, 1): a dropout rate, label smoothing, a momentum.
    pub const FRACTION: Range = Range {
        min: 0.0,
        min_allowed: true,
        below: Some(1.0),
    };
    /// (0, 1): a share of tokens that must be neither none nor all.
    pub const OPEN_FRACTION: Range = Range {
        min: 0.0,
        min_allowed: false,
        below: Some(1.0),
    };

    pub const fn at_least(min: f64) -> Range {
        Range {
            min,
            min_allowed: true,
            below: None,
        }
    }

    pub fn contains(self, v: f64) -> bool {
        let above = if self.min_allowed {
            v >= self.min
        } else {
            v > self.min
        };
        above && self.below.is_none_or(|b| v < b) && v.is_finite()
    }

    /// The range in words, to follow "must be": "at least 1", "greater than 0
    /// and less than 1".
    pub fn describe(self) -> String {
        let low = match (self.min_allowed, self.min == 0.0) {
            (true, true) => "0 or more".to_string(),
            (true, false) => format!("at least {}", number_text(self.min)),
            (false, _) => format!("greater than {}", number_text(self.min)),
        };
        match self.below {
            None => low,
            // "0 or more and less than 1" reads badly: name the bounds.
            Some(b) if self.min_allowed => format!(
                "at least {} and less than {}",
                number_text(self.min),
                number_text(b)
            ),
            Some(b) => format!("{low} and less than {}", number_text(b)),
        }
    }
}

/// The range of one numeric setting of a block, and a help line that says
/// what the setting means (so what a sensible value is).
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub key: &'static str,
    pub range: Range,
    pub help: &'static str,
}

/// What one option of a function-like setting takes (`warmup` of `rsqrt`).
#[derive(Debug, Clone, Copy)]
pub struct Opt {
    pub name: &'static str,
    pub kind: OptKind,
    pub help: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptKind {
    Number(Range),
    /// A count (of steps): a whole number in the range.
    Whole(Range),
    Bool,
}

impl Opt {
    pub const fn number(name: &'static str, range: Range, help: &'static str) -> Opt {
        Opt {
            name,
            kind: OptKind::Number(range),
            help,
        }
    }

    pub const fn whole(name: &'static str, range: Range, help: &'static str) -> Opt {
        Opt {
            name,
            kind: OptKind::Whole(range),
            help,
        }
    }

    pub const fn boolean(name: &'static str, help: &'static str) -> Opt {
        Opt {
            name,
            kind: OptKind::Bool,
            help,
        }
    }
}

/// A number as a user would write it: `0.001`, `1e-30` rather than thirty
/// zeros, `-1` without a fraction.
pub fn number_text(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-4 || v.abs() >= 1e15) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_hold_their_bounds() {
        assert!(Range::POSITIVE.contains(1e-9));
        assert!(!Range::POSITIVE.contains(0.0));
        assert!(Range::FRACTION.contains(0.0));
        assert!(!Range::FRACTION.contains(1.0));
        assert!(!Range::OPEN_FRACTION.contains(0.0));
        assert!(Range::at_least(1.0).contains(1.0));
        assert!(!Range::at_least(1.0).contains(0.0));
        assert!(!Range::NON_NEGATIVE.contains(f64::INFINITY));
        assert!(!Range::NON_NEGATIVE.contains(f64::NAN));
    }

    #[test]
    fn ranges_read_as_words() {
        assert_eq!(Range::POSITIVE.describe(), "greater than 0");
        assert_eq!(Range::NON_NEGATIVE.describe(), "0 or more");
        assert_eq!(Range::at_least(1.0).describe(), "at least 1");
        assert_eq!(Range::FRACTION.describe(), "at least 0 and less than 1");
        assert_eq!(
            Range::OPEN_FRACTION.describe(),
            "greater than 0 and less than 1"
        );
        assert_eq!(number_text(1e-30), "1e-30");
        assert_eq!(number_text(-1.0), "-1");
        assert_eq!(number_text(1.5), "1.5");
    }
}
