//! Functions over numbers and class labels, and `default`.

use super::{any, bad_arg, fail, not_mine, num_arg, numeric, str_arg, Call, Cx, Def};
use crate::ast::Value;
use crate::diagnostic::Diagnostic;
use crate::ir::{Func, Type};
use crate::render::{RenderError, V};

/// The most decimals `fixed` writes (Python's `%.Nf` has no limit, but no
/// template needs more, and Rust's formatter stops at 65535).
const MAX_DIGITS: usize = 100;

pub(super) const DEFAULT: Def = Def {
    name: "default",
    usage: "value | default('text')",
    takes: any,
    wants: "anything",
    sees_null: true,
    check: |c| {
        let value = str_arg(c.call, 0, "value")?;
        Ok((Func::Default { value }, c.ty.clone()))
    },
    // The evaluator sees absent values, and those a missing list element
    // left absent (`answers[0]` of no answers), because a `default` follows.
    eval: |f, v, cx| match (f, v) {
        (Func::Default { value }, V::Null) => Ok(V::Text(value.clone())),
        (Func::Default { .. }, v) => Ok(v),
        _ => Err(not_mine(f, cx)),
    },
};

pub(super) const ID: Def = Def {
    name: "id",
    usage: "label | id",
    takes: |t| matches!(t, Type::Class { .. } | Type::Bool),
    wants: "a class label",
    sees_null: false,
    check: |_| Ok((Func::Id, Type::Int)),
    eval: |_, v, cx| match v {
        V::Class { id, .. } => Ok(V::Int(id)),
        V::Bool(b) => Ok(V::Int(i64::from(b))),
        _ => fail(cx, "id needs a class label"),
    },
};

pub(super) const NAMES: Def = Def {
    name: "names",
    usage: "label | names('no', 'yes')",
    takes: |t| matches!(t, Type::Class { .. } | Type::Bool | Type::Int),
    wants: "a class label, bool or int",
    sees_null: false,
    check: check_names,
    eval: eval_names,
};

fn check_names(c: &Call<'_>) -> Result<(Func, Type), Diagnostic> {
    let call = c.call;
    let names: Vec<String> = call
        .args
        .iter()
        .map(|a| match &a.value.node {
            Value::Str(s) | Value::Word(s) => Ok(s.clone()),
            _ => Err(bad_arg(
                call,
                "names are strings: `names(\"False\", \"True\")`",
            )),
        })
        .collect::<Result<_, _>>()?;
    let needed = match c.ty {
        Type::Class { names } => names.len(),
        Type::Bool => 2,
        _ => 0,
    };
    if names.len() < needed {
        return Err(Diagnostic::error(
            "exc::check::label_map_incomplete",
            format!(
                "`names` maps {} of the {needed} classes of {}",
                names.len(),
                c.ty.describe()
            ),
            call.span,
        )
        .label("too few names")
        .help("give one name per class, in id order"));
    }
    Ok((
        Func::Names {
            names: names.clone(),
        },
        Type::Class { names },
    ))
}

/// An id past the names (only an int can be one: classes and bools are
/// checked against the names) is a data error, not `<unk>`; -1 stays the
/// unlabelled id, which renders as `<unk>` as T5 renders it.
fn eval_names(f: &Func, v: V, cx: &Cx<'_>) -> Result<V, RenderError> {
    let Func::Names { names } = f else {
        return Err(not_mine(f, cx));
    };
    let id = match v {
        V::Class { id, .. } | V::Int(id) => id,
        V::Bool(b) => i64::from(b),
        _ => return fail(cx, "names needs a class label"),
    };
    if id != -1 && usize::try_from(id).map_or(true, |i| i >= names.len()) {
        return fail(
            cx,
            format!(
                "{id} has no name: `names` gives {} (ids 0 to {}, or -1 for unlabelled)",
                names.len(),
                names.len().saturating_sub(1)
            ),
        );
    }
    Ok(V::Class {
        id,
        names: names.clone(),
    })
}

fn number(v: &V, cx: &Cx<'_>) -> Result<f64, RenderError> {
    match v {
        V::Int(i) => Ok(*i as f64),
        V::Float(x) => Ok(*x),
        _ => fail(cx, "needs a number"),
    }
}

pub(super) const ROUND: Def = Def {
    name: "round",
    usage: "number | round(step)",
    takes: numeric,
    wants: "a number",
    sees_null: false,
    check: |c| {
        let step = num_arg(c.call, 0, "step", f64::MAX)?;
        Ok((Func::Round { step }, Type::Float))
    },
    eval: |f, v, cx| {
        let Func::Round { step } = f else {
            return Err(not_mine(f, cx));
        };
        let x = number(&v, cx)?;
        Ok(V::Float(if *step > 0.0 {
            (x / step).round() * step
        } else {
            x
        }))
    },
};

pub(super) const ROUND_EVEN: Def = Def {
    name: "round_even",
    usage: "number | round_even(step)",
    takes: numeric,
    wants: "a number",
    sees_null: false,
    check: |c| {
        let step = num_arg(c.call, 0, "step", f64::MAX)?;
        Ok((Func::RoundEven { step }, Type::Float))
    },
    eval: |f, v, cx| {
        let Func::RoundEven { step } = f else {
            return Err(not_mine(f, cx));
        };
        let x = number(&v, cx)?;
        Ok(V::Float(if *step > 0.0 {
            // T5's STS-B target: tf.round(label * 5) / 5, the label a
            // float32 (TFDS's and the hub's type) and tf.round halving
            // to even. In float32, 0.7 * 5 is 3.5, which rounds to 4.
            let per_unit = (1.0 / *step) as f32;
            f64::from(((x as f32) * per_unit).round_ties_even() / per_unit)
        } else {
            x
        }))
    },
};

pub(super) const FIXED: Def = Def {
    name: "fixed",
    usage: "number | fixed(digits)",
    takes: numeric,
    wants: "a number",
    sees_null: false,
    check: |c| {
        let digits = num_arg(c.call, 0, "digits", MAX_DIGITS as f64).ok();
        // A whole number of decimals: 2.5 was silently cast to 2 once.
        let Some(digits) = digits.filter(|d| d.fract() == 0.0) else {
            let given = match c.call.args.first().map(|a| &a.value.node) {
                Some(Value::Num(n)) => n.value.to_string(),
                _ => "a number".to_string(),
            };
            return Err(bad_arg(
                c.call,
                &format!(
                    "`fixed` takes a whole number of decimals from 0 to {MAX_DIGITS}, not {given}"
                ),
            ));
        };
        Ok((
            Func::Fixed {
                digits: digits as usize,
            },
            Type::Text,
        ))
    },
    eval: |f, v, cx| {
        let Func::Fixed { digits } = f else {
            return Err(not_mine(f, cx));
        };
        if *digits > MAX_DIGITS {
            return fail(cx, format!("`fixed` writes up to {MAX_DIGITS} digits"));
        }
        Ok(V::Text(format!("{:.*}", digits, number(&v, cx)?)))
    },
};

/// A number argument, negative allowed.
fn signed_arg(c: &Call<'_>, name: &str) -> Result<f64, Diagnostic> {
    match super::arg(c.call, 0, name).map(|v| &v.node) {
        Some(Value::Num(n)) if n.value.is_finite() => Ok(n.value),
        _ => Err(bad_arg(
            c.call,
            &format!("`{}` needs a number `{name}`", c.call.name.node),
        )),
    }
}

/// Int in, whole `n`: an int (as Python's `label + 1`); else a float.
fn arith_type(c: &Call<'_>, n: f64) -> Type {
    if *c.ty == Type::Int && n.fract() == 0.0 {
        Type::Int
    } else {
        Type::Float
    }
}

fn arith(
    v: &V,
    n: f64,
    cx: &Cx<'_>,
    int: fn(i64, i64) -> Option<i64>,
    float: fn(f64, f64) -> f64,
) -> Result<V, RenderError> {
    match v {
        V::Int(i) if n.fract() == 0.0 && n.abs() < 9.2e18 => match int(*i, n as i64) {
            Some(r) => Ok(V::Int(r)),
            None => fail(cx, format!("{i} and {n} overflow a whole number")),
        },
        _ => Ok(V::Float(float(number(v, cx)?, n))),
    }
}

pub(super) const ADD: Def = Def {
    name: "add",
    usage: "number | add(1)",
    takes: numeric,
    wants: "a number",
    sees_null: false,
    check: |c| {
        let n = signed_arg(c, "n")?;
        Ok((Func::Add { n }, arith_type(c, n)))
    },
    eval: |f, v, cx| match f {
        Func::Add { n } => arith(&v, *n, cx, i64::checked_add, |a, b| a + b),
        _ => Err(not_mine(f, cx)),
    },
};

pub(super) const MUL: Def = Def {
    name: "mul",
    usage: "number | mul(2)",
    takes: numeric,
    wants: "a number",
    sees_null: false,
    check: |c| {
        let n = signed_arg(c, "n")?;
        Ok((Func::Mul { n }, arith_type(c, n)))
    },
    eval: |f, v, cx| match f {
        Func::Mul { n } => arith(&v, *n, cx, i64::checked_mul, |a, b| a * b),
        _ => Err(not_mine(f, cx)),
    },
};
