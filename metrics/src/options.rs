//! A metric's options: the `k=v` strings a caller gives ([`Options`]), the
//! schema each metric declares ([`OptionSpec`]: name, kind, default, range),
//! and the typed reads a metric makes of them ([`Opts`]), where an option
//! not given takes the schema's default. The compiler checks a `.task`
//! file's options with the same schema, so a value is refused before any
//! row is read, with the message evaluation would give.

use std::collections::BTreeMap;

use crate::report::MetricError;

/// String options (`k=v` on the command line, a map in `.task` files).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Options(pub BTreeMap<String, String>);

impl Options {
    /// Parses `k=v` strings.
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self, MetricError> {
        let mut m = BTreeMap::new();
        for it in items {
            let it = it.as_ref();
            let Some((k, v)) = it.split_once('=') else {
                return Err(MetricError::BadOption {
                    option: it.to_string(),
                    message: "expected `key=value`".into(),
                });
            };
            m.insert(k.trim().to_string(), v.trim().to_string());
        }
        Ok(Self(m))
    }

    /// A raw value, absent or empty meaning "not given".
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str).filter(|v| !v.is_empty())
    }
}

/// What values an option takes.
#[derive(Clone, Copy, Debug)]
pub enum OptionKind {
    /// `true/false/1/0/yes/no`, any case.
    Bool,
    /// A float within `min..=max`.
    Number { min: f64, max: f64 },
    /// A whole number, at least `min`.
    Count { min: usize },
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// A comma-separated list; `valid` accepts an item, `expected` says
    /// what the items may be.
    List {
        valid: fn(&str) -> bool,
        expected: &'static str,
    },
    /// Comma-separated class labels (id = position).
    Labels,
    /// The name of another metric (`mean_group_metric`'s inner one); the
    /// registry resolves it.
    Metric,
    /// A directory the metric reads when it scores.
    Directory,
}

/// One option of one metric.
#[derive(Debug)]
pub struct OptionSpec {
    pub name: &'static str,
    pub kind: OptionKind,
    /// The value used when the option is not given; `None`: the metric
    /// does without (its help says what that means).
    pub default: Option<&'static str>,
    /// One line for `exc metric --list` and the language server.
    pub help: &'static str,
}

const fn spec(
    name: &'static str,
    kind: OptionKind,
    default: Option<&'static str>,
    help: &'static str,
) -> OptionSpec {
    OptionSpec {
        name,
        kind,
        default,
        help,
    }
}

/// An option with a default.
pub(crate) const fn opt(
    name: &'static str,
    kind: OptionKind,
    default: &'static str,
    help: &'static str,
) -> OptionSpec {
    spec(name, kind, Some(default), help)
}

/// An option without a default.
pub(crate) const fn opt_none(
    name: &'static str,
    kind: OptionKind,
    help: &'static str,
) -> OptionSpec {
    spec(name, kind, None, help)
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// `a, b or c`.
fn either(words: &[&str]) -> String {
    match words.split_last() {
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

impl OptionKind {
    /// Why `v` is not a value of this kind (`v` is non-empty).
    pub fn check(&self, v: &str) -> Result<(), String> {
        match *self {
            Self::Bool => parse_bool(v)
                .map(|_| ())
                .ok_or_else(|| format!("`{v}` is not true or false")),
            Self::Number { min, max } => match v.parse::<f64>() {
                Ok(x) if x >= min && x <= max => Ok(()),
                Ok(_) if max == f64::INFINITY => Err(format!("`{v}` is less than {min}")),
                Ok(_) => Err(format!("`{v}` is not between {min} and {max}")),
                Err(_) => Err(format!("`{v}` is not a number")),
            },
            Self::Count { min } => match v.parse::<usize>() {
                Ok(n) if n >= min => Ok(()),
                Ok(_) => Err(format!("`{v}` is less than {min}")),
                Err(_) => Err(format!("`{v}` is not a count")),
            },
            Self::OneOf(words) if words.contains(&v) => Ok(()),
            Self::OneOf(words) => Err(format!("`{v}` is not {}", either(words))),
            Self::List { valid, expected } => {
                match v.split(',').map(str::trim).find(|x| !valid(x)) {
                    Some(x) => Err(format!("`{x}` is not {expected}")),
                    None => Ok(()),
                }
            }
            Self::Labels | Self::Metric | Self::Directory => Ok(()),
        }
    }

    /// What a value of this kind is, for a diagnostic.
    pub fn describe(&self) -> String {
        match *self {
            Self::Bool => "true or false".into(),
            Self::Number { min, max } if max == f64::INFINITY => {
                format!("a number, at least {min}")
            }
            Self::Number { min, max } => format!("a number from {min} to {max}"),
            Self::Count { min } => format!("a whole number, at least {min}"),
            Self::OneOf(words) => either(words),
            Self::List { expected, .. } => format!("a comma-separated list of {expected}"),
            Self::Labels => "comma-separated labels".into(),
            Self::Metric => "a metric name".into(),
            Self::Directory => "a directory".into(),
        }
    }
}

pub(crate) fn bad(option: &str, message: String) -> MetricError {
    MetricError::BadOption {
        option: option.to_string(),
        message,
    }
}

/// Checks every given option against `own`, then against `inner` (the
/// options a `mean_group_metric` passes through to its inner metric).
pub(crate) fn check_all(
    metric: &str,
    given: &Options,
    own: &[OptionSpec],
    inner: &[OptionSpec],
) -> Result<(), MetricError> {
    for (k, v) in &given.0 {
        let Some(s) = own.iter().chain(inner).find(|s| s.name == k) else {
            return Err(MetricError::UnknownOption {
                metric: metric.to_string(),
                option: k.clone(),
            });
        };
        if !v.is_empty() {
            s.kind.check(v).map_err(|m| bad(k, m))?;
        }
    }
    Ok(())
}

/// A metric's options as it reads them: the given value, else the
/// schema's default. Values were checked against the schema before a
/// metric runs; reading them again only converts.
#[derive(Clone, Copy, Debug)]
pub struct Opts<'a> {
    schema: &'static [OptionSpec],
    given: &'a Options,
}

impl<'a> Opts<'a> {
    pub(crate) fn new(schema: &'static [OptionSpec], given: &'a Options) -> Self {
        Self { schema, given }
    }

    /// The given options, for a metric that passes them on.
    pub fn given(&self) -> &'a Options {
        self.given
    }

    /// The value of `k`: given, else its default; `None` when neither.
    pub fn text(&self, k: &str) -> Option<&'a str> {
        self.given.get(k).or_else(|| {
            self.schema
                .iter()
                .find(|s| s.name == k)
                .and_then(|s| s.default)
                .filter(|d| !d.is_empty())
        })
    }

    /// A boolean option; one without a value is false.
    pub fn bool(&self, k: &str) -> Result<bool, MetricError> {
        match self.text(k) {
            None => Ok(false),
            Some(v) => parse_bool(v).ok_or_else(|| bad(k, format!("`{v}` is not true or false"))),
        }
    }

    /// A float option.
    pub fn f64(&self, k: &str) -> Result<Option<f64>, MetricError> {
        self.text(k)
            .map(|v| {
                v.parse::<f64>()
                    .map_err(|_| bad(k, format!("`{v}` is not a number")))
            })
            .transpose()
    }

    /// A non-negative integer option.
    pub fn count(&self, k: &str) -> Result<Option<usize>, MetricError> {
        self.text(k)
            .map(|v| {
                v.parse::<usize>()
                    .map_err(|_| bad(k, format!("`{v}` is not a count")))
            })
            .transpose()
    }

    /// A comma-separated list option.
    pub fn list(&self, k: &str) -> Option<Vec<String>> {
        self.text(k)
            .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_check_values_with_the_messages_metrics_give() {
        let tok = OptionKind::OneOf(&["13a", "intl", "none"]);
        assert_eq!(
            tok.check("latin").unwrap_err(),
            "`latin` is not 13a, intl or none"
        );
        assert!(tok.check("intl").is_ok());
        assert!(OptionKind::Bool.check("YES").is_ok());
        assert_eq!(
            OptionKind::Bool.check("maybe").unwrap_err(),
            "`maybe` is not true or false"
        );
        let unit = OptionKind::Number { min: 0.0, max: 1.0 };
        assert!(unit.check("0.9").is_ok());
        assert_eq!(
            unit.check("1.5").unwrap_err(),
            "`1.5` is not between 0 and 1"
        );
        assert_eq!(unit.check("x").unwrap_err(), "`x` is not a number");
        let count = OptionKind::Count { min: 1 };
        assert_eq!(count.check("0").unwrap_err(), "`0` is less than 1");
        assert_eq!(count.check("-2").unwrap_err(), "`-2` is not a count");
    }

    #[test]
    fn opts_fall_back_to_the_schema_default() {
        static SCHEMA: &[OptionSpec] = &[
            opt("lowercase", OptionKind::Bool, "true", ""),
            opt_none("labels", OptionKind::Labels, ""),
        ];
        let none = Options::default();
        let o = Opts::new(SCHEMA, &none);
        assert!(o.bool("lowercase").unwrap());
        assert_eq!(o.list("labels"), None);
        let given = Options::parse(&["lowercase=no", "labels=a, b"]).unwrap();
        let o = Opts::new(SCHEMA, &given);
        assert!(!o.bool("lowercase").unwrap());
        assert_eq!(o.list("labels").unwrap(), ["a", "b"]);
    }
}
