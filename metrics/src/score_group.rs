//! The scoring functions of metrics whose targets are records: grouped
//! answers (ReCoRD, MultiRC, `mean_group_metric`), WSC referents and rank
//! classification's choices.

use indexmap::IndexMap;
use serde_json::Value;

use crate::classify::{self, INVALID};
use crate::options::bad;
use crate::postprocess::{parse_float, LabelMap};
use crate::qa::{self, Normalization};
use crate::rank::{self, Choice};
use crate::report::{MetricError, Report};
use crate::spec::Input;
use crate::targets::{answers, bad_target, clean, group, text};

type R = Result<Report, MetricError>;
/// Per group: predictions, targets and their rows in the whole input.
type Groups = IndexMap<String, (Vec<String>, Vec<Value>, Vec<usize>)>;

/// ReCoRD: the first row of each group, then SQuAD EM/F1.
pub(crate) fn record(i: &Input<'_>) -> R {
    let mut seen = std::collections::HashSet::new();
    let (mut t, mut p) = (Vec::new(), Vec::new());
    for (row, v) in i.targets.iter().enumerate() {
        let (g, val) = group(row, v)?;
        if seen.insert(g) {
            t.push(answers(row, &val)?);
            p.push(i.preds[row].as_str());
        }
    }
    let (em, f1) = qa::qa_metrics(&t, &p, Normalization::Squad);
    Ok(Report::default().score("em", em).score("f1", f1))
}

pub(crate) fn multirc(i: &Input<'_>) -> R {
    let c = clean(&i.opts)?;
    let labels = i.opts.list("labels").unwrap_or_default();
    let map = LabelMap::new(&labels, c);
    let mut groups: IndexMap<String, (Vec<i64>, Vec<i64>)> = IndexMap::new();
    let (mut all_t, mut all_p, mut unknown) = (Vec::new(), Vec::new(), Vec::new());
    for (row, v) in i.targets.iter().enumerate() {
        let (g, val) = group(row, v)?;
        let ts = text(row, &val)?;
        let t = map
            .id(&ts)
            .or_else(|| ts.parse::<i64>().ok().filter(|x| *x == 0 || *x == 1))
            .ok_or_else(|| {
                bad_target(
                    row,
                    format!("`{ts}` is not one of labels `{}`", labels.join(",")),
                )
            })?;
        let p = map.id(&i.preds[row]).unwrap_or_else(|| {
            unknown.push(row);
            INVALID
        });
        all_t.push(t);
        all_p.push(p);
        let e = groups.entry(g).or_default();
        e.0.push(t);
        e.1.push(p);
    }
    let f1 = classify::f1_with_invalid(&all_t, &all_p);
    // T5 averages the per-group 0/100 scores, so scale before the mean.
    let em: f64 = groups
        .values()
        .map(|(t, p)| 100.0 * classify::all_match(t, p))
        .sum::<f64>()
        / groups.len() as f64;
    Ok(Report::default()
        .score("exact_match", em)
        .score("f1", 100.0 * f1)
        .invalid(&unknown))
}

/// `{"referent": text, "label": 0 or 1}` per row; the label may also be a
/// boolean or `"0"`/`"1"`/`"False"`/`"True"`. Unlabelled rows (T5's -1 on the
/// test split) are refused: an empty prediction would count as matching them.
pub(crate) fn wsc_simple(i: &Input<'_>) -> R {
    let (mut t, mut p, mut empty) = (Vec::new(), Vec::new(), Vec::new());
    for (row, v) in i.targets.iter().enumerate() {
        let o = v
            .as_object()
            .ok_or_else(|| bad_target(row, "expected an object with `referent` and `label`"))?;
        let referent = match o.get("referent") {
            Some(Value::String(s)) => s,
            Some(_) => return Err(bad_target(row, "`referent` must be a string")),
            None => return Err(bad_target(row, "missing `referent`")),
        };
        let label = match o.get("label") {
            Some(Value::Bool(b)) => Some(i64::from(*b)),
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => match s.as_str() {
                "0" | "False" => Some(0),
                "1" | "True" => Some(1),
                _ => None,
            },
            Some(_) => None,
            None => return Err(bad_target(row, "missing `label`")),
        }
        .filter(|l| *l == 0 || *l == 1)
        .ok_or_else(|| bad_target(row, format!("label `{}` is not 0 or 1", o["label"])))?;
        let x = crate::wsc::predicted_referent(&i.preds[row], referent);
        if x == INVALID {
            empty.push(row);
        }
        t.push(label);
        p.push(x);
    }
    Ok(Report::default()
        .score("accuracy", 100.0 * classify::accuracy(&t, &p, None))
        .invalid(&empty))
}

/// The inner metric (resolved by the registry from the `metric` option)
/// per group, averaged; its options are the given ones but `metric`.
pub(crate) fn mean_group(i: &Input<'_>) -> R {
    let inner = i
        .inner
        .ok_or_else(|| bad("metric", "no inner metric was resolved".into()))?;
    let mut inner_opts = i.opts.given().clone();
    inner_opts.0.remove("metric");
    let mut groups: Groups = IndexMap::new();
    for (row, v) in i.targets.iter().enumerate() {
        let (g, val) = group(row, v)?;
        let e = groups.entry(g).or_default();
        e.0.push(i.preds[row].clone());
        e.1.push(val);
        e.2.push(row);
    }
    let mut sums: IndexMap<String, (f64, usize)> = IndexMap::new();
    for (p, t, rows) in groups.values() {
        let rep = inner
            .run(p, t, &inner_opts, None)
            .map_err(|e| remap_row(e, rows))?;
        for (k, v) in rep.scores {
            let e = sums.entry(k).or_insert((0.0, 0));
            e.0 += v;
            e.1 += 1;
        }
    }
    let mut r = Report::default();
    for (k, (s, n)) in sums {
        // Counts such as invalid_predictions add up; scores average.
        let v = if k == "invalid_predictions" {
            s
        } else {
            s / n as f64
        };
        r.scores.insert(k, v);
    }
    Ok(r)
}

/// Turns a row inside a group back into the row of the whole input.
fn remap_row(e: MetricError, rows: &[usize]) -> MetricError {
    let map = |r: usize| rows.get(r).copied().unwrap_or(r);
    match e {
        MetricError::BadTarget { row, message } => MetricError::BadTarget {
            row: map(row),
            message,
        },
        MetricError::BadPrediction { row, message } => MetricError::BadPrediction {
            row: map(row),
            message,
        },
        other => other,
    }
}

fn choice(row: usize, v: &Value) -> Result<Choice, MetricError> {
    let obj = v
        .as_object()
        .ok_or_else(|| bad_target(row, "expected {\"idx\": [i, j], \"is_correct\": bool}"))?;
    let idx = obj
        .get("idx")
        .and_then(Value::as_array)
        .filter(|a| a.len() == 2);
    let idx = idx
        .and_then(|a| Some((a[0].as_i64()?, a[1].as_i64()?)))
        .ok_or_else(|| bad_target(row, "`idx` must be two integers"))?;
    let is_correct = match obj.get("is_correct") {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        _ => return Err(bad_target(row, "`is_correct` must be a boolean")),
    };
    let num = |k: &str| obj.get(k).map_or(Some(1.0), Value::as_f64);
    let weight = num("weight").ok_or_else(|| bad_target(row, "`weight` must be a number"))?;
    let length = num("length").ok_or_else(|| bad_target(row, "`length` must be a number"))?;
    Ok(Choice {
        idx,
        is_correct,
        weight,
        length,
    })
}

pub(crate) fn rank_classification(i: &Input<'_>) -> R {
    let choices: Vec<Choice> = i
        .targets
        .iter()
        .enumerate()
        .map(|(row, v)| choice(row, v))
        .collect::<Result<_, _>>()?;
    let mut scores = Vec::new();
    for (row, p) in i.preds.iter().enumerate() {
        scores.push(parse_float(p).ok_or_else(|| MetricError::BadPrediction {
            row,
            message: format!("`{p}` is not a score"),
        })?);
    }
    let named = rank::rank_classification(
        &choices,
        &scores,
        i.opts.count("num_classes")?,
        i.opts.bool("normalize_by_target_length")?,
    )
    .map_err(MetricError::Undefined)?;
    let mut r = Report::default();
    for (k, v) in named {
        r.scores.insert(k, v);
    }
    Ok(r)
}
