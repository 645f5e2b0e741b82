//! Key/value settings of `train { }`, `c4 { }` and `model custom { }`:
//! typed reading with one diagnostic per unknown key, wrong value or value
//! out of its range.

use crate::ast::{Call, Setting, SettingValue, Value};
use crate::diagnostic::{suggestion, Diagnostic};
use crate::plan::SettingCall;
use crate::range::{number_text, Limit, Opt, OptKind, Range};
use crate::source::{Span, Spanned};
use crate::value::to_json;
use indexmap::IndexMap;

/// Settings by key, later ones overriding earlier ones, with variables substituted.
pub struct Settings {
    pub map: IndexMap<String, (SettingValue, Span)>,
    pub block: &'static str,
    /// The ranges of the block's numeric settings.
    limits: &'static [Limit],
}

impl Settings {
    pub fn new(block: &'static str, limits: &'static [Limit]) -> Self {
        Settings {
            map: IndexMap::new(),
            block,
            limits,
        }
    }

    pub fn extend(&mut self, settings: &[Setting]) {
        for s in settings {
            self.map
                .insert(s.key.node.clone(), (s.value.clone(), s.key.span));
        }
    }

    /// Report keys not in `known`.
    pub fn check_keys(&self, known: &[&str], diags: &mut Vec<Diagnostic>) {
        for (k, (_, span)) in &self.map {
            if !known.contains(&k.as_str()) {
                diags.push(
                    Diagnostic::error(
                        "exc::check::unknown_setting",
                        format!("`{k}` is not a setting of `{}`", self.block),
                        *span,
                    )
                    .label("unknown setting")
                    .help(suggestion(k, known.iter().copied()).unwrap_or_else(|| {
                        format!("the settings of `{}` are: {}", self.block, known.join(", "))
                    })),
                );
            }
        }
    }

    fn value(&self, key: &str) -> Option<(&Spanned<Value>, Span)> {
        match self.map.get(key) {
            Some((SettingValue::Value(v), span)) => Some((v, *span)),
            _ => None,
        }
    }

    /// An unresolved `$var` was already reported as unknown: read it as absent.
    fn unresolved(&self, key: &str) -> bool {
        matches!(
            self.map.get(key),
            Some((
                SettingValue::Value(Spanned {
                    node: Value::Var(_),
                    ..
                }),
                _
            ))
        )
    }

    fn bad(&self, key: &str, wants: &str, diags: &mut Vec<Diagnostic>) {
        if self.unresolved(key) {
            return;
        }
        let span = self.map.get(key).map(|(v, _)| v.span()).unwrap_or_default();
        diags.push(
            Diagnostic::error(
                "exc::check::bad_setting",
                format!("`{key}` in `{}` must be {wants}", self.block),
                span,
            )
            .label(format!("not {wants}"))
            .help(format!("write e.g. `{key} {}`", example(wants))),
        );
    }

    /// A value out of the key's range (its limit, else `fallback`) is
    /// reported; true when it is in range (or there is none).
    fn in_range(
        &self,
        key: &str,
        v: &Spanned<Value>,
        value: f64,
        fallback: Option<Range>,
        diags: &mut Vec<Diagnostic>,
    ) -> bool {
        let limit = self.limits.iter().find(|l| l.key == key);
        let Some(range) = limit.map(|l| l.range).or(fallback) else {
            return true;
        };
        if range.contains(value) {
            return true;
        }
        let d = Diagnostic::error(
            "exc::check::out_of_range",
            format!(
                "`{key}` in `{}` must be {}, not `{}`",
                self.block,
                range.describe(),
                number_text(value)
            ),
            v.span,
        )
        .label("out of range");
        diags.push(match limit {
            Some(l) => d.help(l.help),
            None => d.help(format!("write a value {}", range.describe())),
        });
        false
    }

    /// A whole number in the key's range (0 or more unless its limit says
    /// otherwise); `default` when absent or wrong.
    pub fn int(&self, key: &str, default: Option<u64>, diags: &mut Vec<Diagnostic>) -> Option<u64> {
        match self.value(key) {
            None if self.map.contains_key(key) => {
                self.bad(key, "a whole number", diags);
                default
            }
            None => default,
            Some((v, _)) => match &v.node {
                Value::Num(n) if n.value.fract() == 0.0 => {
                    if self.in_range(key, v, n.value, Some(Range::NON_NEGATIVE), diags) {
                        Some(n.value as u64)
                    } else {
                        default
                    }
                }
                _ => {
                    self.bad(key, "a whole number", diags);
                    default
                }
            },
        }
    }

    pub fn float(&self, key: &str, default: f64, diags: &mut Vec<Diagnostic>) -> f64 {
        match self.value(key) {
            None if self.map.contains_key(key) => {
                self.bad(key, "a number", diags);
                default
            }
            None => default,
            Some((v, _)) => match &v.node {
                Value::Num(n) if n.value.is_finite() => {
                    if self.in_range(key, v, n.value, None, diags) {
                        n.value
                    } else {
                        default
                    }
                }
                _ => {
                    self.bad(key, "a number", diags);
                    default
                }
            },
        }
    }

    pub fn boolean(&self, key: &str, default: bool, diags: &mut Vec<Diagnostic>) -> bool {
        match self.value(key).map(|(v, _)| &v.node) {
            None if !self.map.contains_key(key) => default,
            Some(Value::Bool(b)) => *b,
            _ => {
                self.bad(key, "true or false", diags);
                default
            }
        }
    }

    pub fn word(
        &self,
        key: &str,
        allowed: &[&str],
        default: &str,
        diags: &mut Vec<Diagnostic>,
    ) -> String {
        match self.value(key).map(|(v, _)| &v.node) {
            None if !self.map.contains_key(key) => default.to_string(),
            Some(Value::Word(w) | Value::Str(w)) if allowed.contains(&w.as_str()) => w.clone(),
            _ => {
                self.bad(key, &format!("one of {}", allowed.join(", ")), diags);
                default.to_string()
            }
        }
    }

    /// A function-like setting, `lr rsqrt(peak = 0.01)`; a bare word is a call
    /// without arguments and a number `n` means `default_fn(n)`. Each option
    /// is checked against what `kinds` says it takes, and the call becomes
    /// the plan's typed value `T`; `default` when it is absent or wrong.
    pub fn schedule<T: TryFrom<SettingCall, Error = String>>(
        &self,
        key: &str,
        kinds: &[(&str, &[Opt])],
        default: T,
        number_fn: Option<(&str, &str)>,
        diags: &mut Vec<Diagnostic>,
    ) -> T {
        let before = diags.len();
        let Some((value, _)) = self.map.get(key) else {
            return default;
        };
        type Args = Vec<(Option<String>, Spanned<Value>)>;
        let (name, args, span): (String, Args, Span) = match value {
            SettingValue::Call(Call { name, args, span }) => (
                name.node.clone(),
                args.iter()
                    .map(|a| (a.name.as_ref().map(|n| n.node.clone()), a.value.clone()))
                    .collect(),
                *span,
            ),
            SettingValue::Value(v) => match (&v.node, number_fn) {
                (Value::Word(w), _) => (w.clone(), Vec::new(), v.span),
                (Value::Num(_), Some((f, arg))) => (
                    f.to_string(),
                    vec![(Some(arg.to_string()), v.clone())],
                    v.span,
                ),
                _ => {
                    self.bad(key, "a function such as `name(option = value)`", diags);
                    return default;
                }
            },
        };
        let Some((_, allowed)) = kinds.iter().find(|(k, _)| *k == name) else {
            let names: Vec<&str> = kinds.iter().map(|(k, _)| *k).collect();
            diags.push(
                Diagnostic::error(
                    "exc::check::bad_setting",
                    format!("unknown `{key}` `{name}`"),
                    span,
                )
                .label("unknown")
                .help(
                    suggestion(&name, names.iter().copied())
                        .unwrap_or_else(|| format!("use one of: {}", names.join(", "))),
                ),
            );
            return default;
        };
        let names: Vec<&str> = allowed.iter().map(|o| o.name).collect();
        let mut options = IndexMap::new();
        for (i, (arg_name, v)) in args.into_iter().enumerate() {
            let Some(arg_name) = arg_name.or_else(|| names.get(i).map(|s| s.to_string())) else {
                diags.push(
                    Diagnostic::error(
                        "exc::check::bad_argument",
                        format!("too many arguments to `{name}`"),
                        span,
                    )
                    .label("here")
                    .help(format!("`{name}` takes: {}", names.join(", "))),
                );
                continue;
            };
            let Some(opt) = allowed.iter().find(|o| o.name == arg_name) else {
                diags.push(
                    Diagnostic::error(
                        "exc::check::bad_argument",
                        format!("`{name}` has no option `{arg_name}`"),
                        span,
                    )
                    .label("here")
                    .help(
                        suggestion(&arg_name, names.iter().copied())
                            .unwrap_or_else(|| format!("`{name}` takes: {}", names.join(", "))),
                    ),
                );
                continue;
            };
            if let Some(d) = check_option(key, &name, opt, &v) {
                diags.push(d);
            }
            options.insert(arg_name, to_json(&v.node));
        }
        if diags.len() > before {
            return default;
        }
        // `kinds` and `T` name the same options (a test in
        // `lower_settings` checks it): this is a safety net, not a check.
        T::try_from(SettingCall { name, options }).unwrap_or_else(|why| {
            diags.push(
                Diagnostic::error("exc::check::bad_setting", format!("`{key}`: {why}"), span)
                    .label("not a setting the runtime takes")
                    .help(format!(
                        "see the options of `{key}` in the language reference"
                    )),
            );
            default
        })
    }
}

/// Why option `opt` of `key name(…)` cannot take `v`, if it cannot. An
/// unresolved `$var` was reported as unknown already.
fn check_option(key: &str, name: &str, opt: &Opt, v: &Spanned<Value>) -> Option<Diagnostic> {
    let what = format!("`{}` of `{key} {name}`", opt.name);
    let (wants, value) = match (opt.kind, &v.node) {
        (_, Value::Var(_)) => return None,
        (OptKind::Bool, Value::Bool(_)) => return None,
        (OptKind::Bool, _) => ("true or false".to_string(), None),
        (OptKind::Number(r), Value::Num(n)) if r.contains(n.value) => return None,
        (OptKind::Number(r), Value::Num(n)) => (r.describe(), Some(n.value)),
        (OptKind::Number(_), _) => ("a number".to_string(), None),
        (OptKind::Whole(r), Value::Num(n)) if n.value.fract() == 0.0 && r.contains(n.value) => {
            return None
        }
        (OptKind::Whole(r), Value::Num(n)) if n.value.fract() == 0.0 => {
            (r.describe(), Some(n.value))
        }
        (OptKind::Whole(r), _) => (format!("a whole number, {}", r.describe()), None),
    };
    let (message, label) = match value {
        Some(n) => (
            format!("{what} must be {wants}, not `{}`", number_text(n)),
            "out of range".to_string(),
        ),
        None => (format!("{what} must be {wants}"), format!("not {wants}")),
    };
    let code = if value.is_some() {
        "exc::check::out_of_range"
    } else {
        "exc::check::bad_argument"
    };
    Some(
        Diagnostic::error(code, message, v.span)
            .label(label)
            .help(opt.help),
    )
}

fn example(wants: &str) -> &'static str {
    match wants {
        "a whole number" => "1000",
        "a number" => "0.1",
        "true or false" => "true",
        _ => "…",
    }
}
