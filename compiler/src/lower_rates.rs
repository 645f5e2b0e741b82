//! A stage's `rates` entry + its selected tasks -> each task's share of the
//! mixture: the policy's arguments and the explicit weights are checked here,
//! the arithmetic is [`crate::rates`].

use crate::ast::{self, MixEntry, RatesDecl, Value};
use crate::diagnostic::{suggestion, Diagnostic};
use crate::lower::Cx;
use crate::rates::{self, Member, Policy, RatesError};
use crate::source::{Span, Spanned};
use indexmap::IndexMap;

impl Cx<'_> {
    /// The rates' text for the plan, one share per task of `names` (zeros,
    /// with a diagnostic, when they cannot be computed) and the policy they
    /// were computed by (`None` then).
    pub(crate) fn rates(
        &mut self,
        eff: &[&Spanned<MixEntry>],
        names: &[String],
    ) -> (String, Vec<f64>, Option<Policy>) {
        let invalid = || ("invalid".to_string(), vec![0.0; names.len()], None);
        let decl = eff.iter().rev().find_map(|e| match &e.node {
            MixEntry::Rates(r) => Some((r, e.span)),
            _ => None,
        });
        let mut members: Vec<Member> = names
            .iter()
            .map(|n| {
                let t = self.tasks.get(n);
                Member {
                    examples: t.and_then(|t| t.examples),
                    family: t.and_then(|t| t.family.clone()).unwrap_or_default(),
                    weight: None,
                }
            })
            .collect();
        let (policy, text, span) = match decl {
            None => (
                Policy::Proportional {
                    cap: Some(300_000.0),
                    temperature: 1.0,
                    scale: 1.0,
                },
                "proportional(cap = 300000)".to_string(),
                self.decl.name.span,
            ),
            Some((RatesDecl::Weights(ws), span)) => {
                if !self.weights(ws, names, &mut members) {
                    return invalid();
                }
                (Policy::Weights, "weights".to_string(), span)
            }
            Some((RatesDecl::Policy(call), span)) => match self.policy(call) {
                Some(p) => (p, crate::types::call_text(call), span),
                None => return invalid(),
            },
        };
        match rates::rates(&members, &policy) {
            Ok(r) => (text, r, Some(policy)),
            Err(e) => {
                self.rates_error(&e, &policy, names, span);
                invalid()
            }
        }
    }

    /// Give each selected task its weight; false when a weight was wrong
    /// (each reported at its place).
    fn weights(
        &mut self,
        ws: &[(ast::Name, Spanned<ast::Number>)],
        names: &[String],
        members: &mut [Member],
    ) -> bool {
        let before = self.diags.len();
        let mut seen: IndexMap<&str, Span> = IndexMap::new();
        for (name, w) in ws {
            if let Some(first) = seen.insert(name.node.as_str(), name.span) {
                self.diags.push(
                    Diagnostic::error(
                        "exc::check::duplicate_weight",
                        format!("`{}` has two weights", name.node),
                        name.span,
                    )
                    .label("second weight")
                    .related(first, "first weight")
                    .help("give each task one weight"),
                );
            }
            // A weight is a share relative to the others: zero or less is
            // no share at all, and a mixture without the task says so plainly.
            if !(w.node.value.is_finite() && w.node.value > 0.0) {
                self.diags.push(
                    Diagnostic::error(
                        "exc::check::bad_weight",
                        format!(
                            "the weight of `{}` must be greater than 0, not `{}`",
                            name.node, w.node.value
                        ),
                        w.span,
                    )
                    .label("not a positive weight")
                    .help(format!(
                        "weights are relative shares: `weights {{ a = 1, b = 3 }}` samples b three times as often as a; to leave `{}` out, `exclude` it",
                        name.node
                    )),
                );
                continue;
            }
            match names.iter().position(|n| *n == name.node) {
                Some(i) => {
                    if let Some(m) = members.get_mut(i) {
                        m.weight = Some(w.node.value);
                    }
                }
                None => self.diags.push(
                    Diagnostic::error(
                        "exc::check::unknown_task",
                        format!("`{}` has a weight but is not selected", name.node),
                        name.span,
                    )
                    .label("not in the mixture")
                    .maybe_help(suggestion(&name.node, names.iter().map(String::as_str))),
                ),
            }
        }
        self.diags.len() == before
    }

    fn rates_error(&mut self, e: &RatesError, policy: &Policy, names: &[String], span: Span) {
        let weights = matches!(policy, Policy::Weights);
        let d = match e {
            RatesError::Missing(missing) => {
                let list: Vec<&str> = missing
                    .iter()
                    .filter_map(|i| names.get(*i).map(String::as_str))
                    .collect();
                let (what, fix) = if weights {
                    ("weight", "give every selected task a weight")
                } else {
                    (
                        "training-set size",
                        "declare `examples N` in each task, or use `rates uniform`",
                    )
                };
                let shown = if list.len() > 8 {
                    format!("{}, … ({} in all)", list[..8].join(", "), list.len())
                } else {
                    list.join(", ")
                };
                Diagnostic::error(
                    "exc::check::no_size",
                    format!("rates cannot be computed: no {what} for {shown}"),
                    span,
                )
                .label(if weights {
                    "needs weights"
                } else {
                    "needs sizes"
                })
                .help(fix)
            }
            // Weights are checked to be positive, so only sizes can all be zero.
            RatesError::AllZero => Diagnostic::error(
                "exc::check::no_size",
                "rates cannot be computed: every selected task has `examples 0`",
                span,
            )
            .label("nothing to share by")
            .help(
                "declare each task's training-set size with `examples N`, or use `rates uniform`",
            ),
        };
        self.diags.push(d);
    }

    fn policy(&mut self, call: &ast::Call) -> Option<Policy> {
        let mut opts: IndexMap<String, f64> = IndexMap::new();
        let allowed: &[&str] = match call.name.node.as_str() {
            "proportional" => &["cap", "temperature", "scale"],
            "temperature" => &["t", "cap", "scale"],
            "family_uniform" => &["cap"],
            "uniform" => &[],
            other => {
                self.diags.push(
                    Diagnostic::error("exc::check::unknown_rates", format!("unknown rate policy `{other}`"), call.name.span)
                        .label("not a policy")
                        .help(suggestion(other, ["proportional", "temperature", "family_uniform", "uniform", "weights"]).unwrap_or_else(|| {
                            "use proportional(cap = 3e5), temperature(t = 2), family_uniform(cap = 3e5), uniform or weights { … }".into()
                        })),
                );
                return None;
            }
        };
        for (i, a) in call.args.iter().enumerate() {
            let key = a
                .name
                .as_ref()
                .map(|n| n.node.clone())
                .or_else(|| allowed.get(i).map(|s| s.to_string()));
            match (key, &a.value.node) {
                (Some(k), Value::Num(n)) if allowed.contains(&k.as_str()) && n.value > 0.0 => {
                    opts.insert(k, n.value);
                }
                (k, _) => self.diags.push(
                    Diagnostic::error(
                        "exc::check::bad_argument",
                        format!("bad argument to `{}`", call.name.node),
                        a.value.span,
                    )
                    .label(k.map_or("unexpected".into(), |k| format!("`{k}`")))
                    .help(format!(
                        "`{}` takes positive numbers: {}",
                        call.name.node,
                        allowed.join(", ")
                    )),
                ),
            }
        }
        let cap = opts.get("cap").copied();
        let scale = opts.get("scale").copied().unwrap_or(1.0);
        Some(match call.name.node.as_str() {
            "proportional" => Policy::Proportional {
                cap,
                temperature: opts.get("temperature").copied().unwrap_or(1.0),
                scale,
            },
            "temperature" => Policy::Proportional {
                cap,
                temperature: opts.get("t").copied().unwrap_or(1.0),
                scale,
            },
            "family_uniform" => Policy::FamilyUniform { cap },
            _ => Policy::Uniform,
        })
    }
}
