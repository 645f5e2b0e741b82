//! The scoring functions of label, exact-match and correlation metrics:
//! inputs read through `targets`, computed by `classify` and `corr`,
//! scaled x100 here so those modules stay in the references' units.

use crate::classify;
use crate::report::{MetricError, Report};
use crate::spec::Input;
use crate::targets::{all_texts, bad_target, class_ids, clean, floats, strs};
use crate::text::py_split;

type R = Result<Report, MetricError>;

/// Cleaned targets and predictions as strings, each through `norm` too.
fn cleaned(
    i: &Input<'_>,
    norm: fn(String) -> String,
) -> Result<(Vec<String>, Vec<String>), MetricError> {
    let c = clean(&i.opts)?;
    let t = all_texts(i.targets, |s| norm(c.apply(&s)))?;
    let p = i.preds.iter().map(|s| norm(c.apply(s))).collect();
    Ok((t, p))
}

fn same(s: String) -> String {
    s
}

pub(crate) fn accuracy(i: &Input<'_>) -> R {
    let r = Report::default();
    if i.opts.text("labels").is_some() {
        let (t, p, unk) = class_ids(i.preds, i.targets, &i.opts)?;
        return Ok(r
            .score("accuracy", 100.0 * classify::accuracy(&t, &p, None))
            .invalid(&unk));
    }
    let (t, p) = cleaned(i, same)?;
    Ok(r.score("accuracy", 100.0 * classify::accuracy(&t, &p, None)))
}

pub(crate) fn sequence_accuracy(i: &Input<'_>) -> R {
    let (t, p) = cleaned(i, same)?;
    let v = classify::sequence_accuracy(&strs(&t), &strs(&p));
    Ok(Report::default().score("sequence_accuracy", 100.0 * v))
}

pub(crate) fn all_match(i: &Input<'_>) -> R {
    let (t, p) = cleaned(i, same)?;
    let v = classify::all_match(&strs(&t), &strs(&p));
    Ok(Report::default().score("exact_match", 100.0 * v))
}

/// Tag sequences compared token by token: whitespace runs do not count.
pub(crate) fn conll_exact_match(i: &Input<'_>) -> R {
    let (t, p) = cleaned(i, |s| py_split(&s).collect::<Vec<_>>().join(" "))?;
    let v = classify::sequence_accuracy(&strs(&t), &strs(&p));
    Ok(Report::default().score("exact_match", 100.0 * v))
}

pub(crate) fn f1(i: &Input<'_>) -> R {
    let (t, p, unk) = class_ids(i.preds, i.targets, &i.opts)?;
    for (row, &x) in t.iter().enumerate() {
        if x != 0 && x != 1 {
            return Err(bad_target(row, format!("class {x} is not binary")));
        }
    }
    if let Some(&row) = unk
        .first()
        .or(p.iter().position(|&x| x != 0 && x != 1).as_ref())
    {
        return Err(MetricError::BadPrediction {
            row,
            message: format!(
                "`{}` is not class 0 or 1 (sklearn refuses; use f1_with_invalid)",
                i.preds[row]
            ),
        });
    }
    Ok(Report::default().score("f1", 100.0 * classify::f1_binary(&t, &p, None)))
}

pub(crate) fn f1_with_invalid(i: &Input<'_>) -> R {
    let (t, p, unk) = class_ids(i.preds, i.targets, &i.opts)?;
    Ok(Report::default()
        .score("f1", 100.0 * classify::f1_with_invalid(&t, &p))
        .invalid(&unk))
}

pub(crate) fn mean_multiclass_f1(i: &Input<'_>) -> R {
    let (t, p, unk) = class_ids(i.preds, i.targets, &i.opts)?;
    let n = match (i.opts.count("num_classes")?, i.opts.list("labels")) {
        (Some(n), _) => n,
        (None, Some(l)) => l.len(),
        (None, None) => {
            return Err(crate::options::bad(
                "num_classes",
                "give num_classes or labels".into(),
            ))
        }
    };
    let f = classify::macro_f1(&t, &p, n as i64, None);
    Ok(Report::default()
        .score(format!("mean_{n}class_f1"), 100.0 * f)
        .invalid(&unk))
}

pub(crate) fn matthews_corrcoef(i: &Input<'_>) -> R {
    let r = Report::default();
    if i.opts.text("labels").is_some() {
        let (t, p, unk) = class_ids(i.preds, i.targets, &i.opts)?;
        return Ok(r
            .score("matthews_corrcoef", 100.0 * classify::matthews(&t, &p))
            .invalid(&unk));
    }
    let (t, p) = cleaned(i, same)?;
    Ok(r.score("matthews_corrcoef", 100.0 * classify::matthews(&t, &p)))
}

pub(crate) fn pearson_corrcoef(i: &Input<'_>) -> R {
    // pearsonr returns nan for an infinity as for nan.
    correlation(
        i,
        "pearson_corrcoef",
        |v| v.is_nan() || v.is_infinite(),
        crate::corr::pearson,
    )
}

pub(crate) fn spearman_corrcoef(i: &Input<'_>) -> R {
    // spearmanr ranks an infinity like any number; nan has no rank.
    correlation(
        i,
        "spearman_corrcoef",
        |v| v.is_nan(),
        crate::corr::spearman,
    )
}

fn correlation(
    i: &Input<'_>,
    name: &str,
    undefined: fn(&f64) -> bool,
    corr: fn(&[f64], &[f64]) -> f64,
) -> R {
    let (t, p, unk) = floats(i.preds, i.targets)?;
    undefined_at(name, &p, undefined, "prediction", &|row| {
        i.preds[row].clone()
    })?;
    undefined_at(name, &t, undefined, "target", &|row| {
        i.targets[row].to_string()
    })?;
    let v = corr(&t, &p);
    Ok(Report::default()
        .score(name, 100.0 * nonnan(name, v)?)
        .invalid(&unk))
}

/// A value scipy's `pearsonr` (nan, an infinity such as `inf` or `1e400`)
/// or `spearmanr` (nan) returns nan for. T5 parses such a prediction as a
/// float (only unparsable text is its invalid -1) and so returns nan too.
/// exc follows them: the score is undefined, and the reason names the row.
fn undefined_at(
    name: &str,
    values: &[f64],
    bad: fn(&f64) -> bool,
    what: &str,
    shown: &dyn Fn(usize) -> String,
) -> Result<(), MetricError> {
    match values.iter().position(bad) {
        Some(row) => Err(MetricError::Undefined(format!(
            "{name} is undefined: {what} {row} is `{}`, and scipy returns nan for it",
            shown(row).trim()
        ))),
        None => Ok(()),
    }
}

fn nonnan(name: &str, v: f64) -> Result<f64, MetricError> {
    if v.is_nan() {
        Err(MetricError::Undefined(format!(
            "{name} is undefined: an input is constant (scipy returns nan)"
        )))
    } else {
        Ok(v)
    }
}
