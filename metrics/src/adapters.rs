//! Glue between the registry's uniform inputs (strings and JSON targets)
//! and the typed metric functions. Shape errors name the row; scaling x100
//! happens here so the metric modules stay in the references' units.

use indexmap::IndexMap;
use serde_json::Value;

use crate::bleu::{BleuConfig, Smooth};
use crate::bleu_tok::Tokenizer;
use crate::classify::{self, INVALID};
use crate::meteor::{self, MeteorConfig};
use crate::postprocess::{parse_float, Clean, LabelMap};
use crate::qa::{self, Normalization};
use crate::rank::{self, Choice};
use crate::registry::{bad, compute, MetricError, Options, Report};
use crate::rouge::{corpus_rouge, RougeScorer, RougeType};
use crate::text::py_split;

type R = Result<Report, MetricError>;
/// Targets, predictions, and the rows whose prediction was not valid.
type Columns<T> = Result<(Vec<T>, Vec<T>, Vec<usize>), MetricError>;
/// Per group: predictions, targets and their rows in the whole input.
type Groups = IndexMap<String, (Vec<String>, Vec<Value>, Vec<usize>)>;

fn bad_target(row: usize, message: impl Into<String>) -> MetricError {
    MetricError::BadTarget {
        row,
        message: message.into(),
    }
}

/// A target as one string: JSON strings as is, numbers and booleans as
/// written (so `1` and `"1"` agree).
pub(crate) fn text(row: usize, v: &Value) -> Result<String, MetricError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(if *b { "True" } else { "False" }.to_string()),
        _ => Err(bad_target(row, "expected a string")),
    }
}

/// A target as a list of strings (a single string is a list of one).
fn texts(row: usize, v: &Value) -> Result<Vec<String>, MetricError> {
    match v {
        Value::Array(a) => a.iter().map(|x| text(row, x)).collect(),
        _ => Ok(vec![text(row, v)?]),
    }
}

/// A grouped target `{"group": g, "value": v}`; the group is compared by its
/// JSON text so that numbers and strings both work.
fn group(row: usize, v: &Value) -> Result<(String, Value), MetricError> {
    let o = v
        .as_object()
        .ok_or_else(|| bad_target(row, "expected an object with `group` and `value`"))?;
    let g = o
        .get("group")
        .ok_or_else(|| bad_target(row, "missing `group`"))?;
    let val = o
        .get("value")
        .or_else(|| o.get("answers"))
        .ok_or_else(|| bad_target(row, "missing `value`"))?;
    Ok((g.to_string(), val.clone()))
}

fn clean(o: &Options) -> Result<Clean, MetricError> {
    Ok(Clean {
        strip: o.bool("strip", false)?,
        lowercase: o.bool("lowercase", false)?,
    })
}

/// Targets and predictions as class ids: through `labels` when given, else
/// as integers. Unknown targets are errors; unknown predictions become
/// [`INVALID`] and are returned for reporting.
fn class_ids(preds: &[String], targets: &[Value], o: &Options) -> Columns<i64> {
    let c = clean(o)?;
    let labels = o.list("labels").map(|l| LabelMap::new(&l, c));
    let lookup = |s: &str| match &labels {
        Some(m) => m.id(s),
        None => c.apply(s).trim().parse::<i64>().ok(),
    };
    let mut t = Vec::with_capacity(targets.len());
    for (row, v) in targets.iter().enumerate() {
        let s = text(row, v)?;
        let id = lookup(&s).ok_or_else(|| match &labels {
            Some(m) => bad_target(
                row,
                format!("`{s}` is not one of labels `{}`", m.labels().join(",")),
            ),
            None => bad_target(row, format!("`{s}` is not a class id; give labels=...")),
        })?;
        t.push(id);
    }
    let mut p = Vec::with_capacity(preds.len());
    let mut unknown = Vec::new();
    for (row, s) in preds.iter().enumerate() {
        match lookup(s) {
            Some(id) => p.push(id),
            None => {
                p.push(INVALID);
                unknown.push(row);
            }
        }
    }
    Ok((t, p, unknown))
}

fn floats(preds: &[String], targets: &[Value]) -> Columns<f64> {
    let mut t = Vec::new();
    for (row, v) in targets.iter().enumerate() {
        let x = match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => parse_float(s),
            _ => None,
        };
        t.push(x.ok_or_else(|| bad_target(row, "expected a number"))?);
    }
    let mut p = Vec::new();
    let mut unknown = Vec::new();
    for (row, s) in preds.iter().enumerate() {
        // T5's string_to_float default: -1.
        p.push(parse_float(s).unwrap_or_else(|| {
            unknown.push(row);
            -1.0
        }));
    }
    Ok((t, p, unknown))
}

/// A value scipy's `pearsonr` (nan, an infinity such as `inf` or `1e400`)
/// or `spearmanr` (nan) returns nan for. T5 parses such a prediction as a
/// float (only unparsable text is its invalid -1) and so returns nan too.
/// exc follows them: the score is undefined, and the reason names the row.
fn undefined_at(
    name: &str,
    values: &[f64],
    bad: &dyn Fn(&f64) -> bool,
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

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn bleu_config(o: &Options, default_tok: &str, eff: bool) -> Result<BleuConfig, MetricError> {
    let tok = o.get("tokenize").unwrap_or(default_tok);
    let method = o.get("smooth_method").unwrap_or("exp");
    Ok(BleuConfig {
        tokenizer: Tokenizer::parse(tok)
            .ok_or_else(|| bad("tokenize", format!("`{tok}` is not 13a, intl or none")))?,
        smooth: Smooth::parse(method, o.f64("smooth_value")?).ok_or_else(|| {
            bad(
                "smooth_method",
                format!("`{method}` is not none, floor, add-k or exp"),
            )
        })?,
        lowercase: o.bool("lowercase", false)?,
        effective_order: o.bool("use_effective_order", eff)?,
    })
}

pub(crate) fn dispatch(name: &str, preds: &[String], targets: &[Value], o: &Options) -> R {
    let r = Report::default();
    match name {
        "accuracy" => {
            if o.get("labels").is_some() {
                let (t, p, unk) = class_ids(preds, targets, o)?;
                Ok(
                    r.score("accuracy", 100.0 * classify::accuracy(&t, &p, None))
                        .invalid(&unk),
                )
            } else {
                let c = clean(o)?;
                let t: Vec<String> = targets
                    .iter()
                    .enumerate()
                    .map(|(i, v)| text(i, v).map(|s| c.apply(&s)))
                    .collect::<Result<_, _>>()?;
                let p: Vec<String> = preds.iter().map(|s| c.apply(s)).collect();
                Ok(r.score("accuracy", 100.0 * classify::accuracy(&t, &p, None)))
            }
        }
        "sequence_accuracy" | "all_match" | "conll_exact_match" => {
            let c = clean(o)?;
            let norm = |s: &str| -> String {
                let s = c.apply(s);
                if name == "conll_exact_match" {
                    py_split(&s).collect::<Vec<_>>().join(" ")
                } else {
                    s
                }
            };
            let t: Vec<String> = targets
                .iter()
                .enumerate()
                .map(|(i, v)| text(i, v).map(|s| norm(&s)))
                .collect::<Result<_, _>>()?;
            let p: Vec<String> = preds.iter().map(|s| norm(s)).collect();
            let (t, p) = (strs(&t), strs(&p));
            match name {
                "all_match" => Ok(r.score("exact_match", 100.0 * classify::all_match(&t, &p))),
                "conll_exact_match" => {
                    Ok(r.score("exact_match", 100.0 * classify::sequence_accuracy(&t, &p)))
                }
                _ => Ok(r.score(
                    "sequence_accuracy",
                    100.0 * classify::sequence_accuracy(&t, &p),
                )),
            }
        }
        "f1" => {
            let (t, p, unk) = class_ids(preds, targets, o)?;
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
                        preds[row]
                    ),
                });
            }
            Ok(r.score("f1", 100.0 * classify::f1_binary(&t, &p, None)))
        }
        "f1_with_invalid" => {
            let (t, p, unk) = class_ids(preds, targets, o)?;
            Ok(r.score("f1", 100.0 * classify::f1_with_invalid(&t, &p))
                .invalid(&unk))
        }
        "mean_multiclass_f1" => {
            let (t, p, unk) = class_ids(preds, targets, o)?;
            let n = match (o.usize("num_classes")?, o.list("labels")) {
                (Some(n), _) => n,
                (None, Some(l)) => l.len(),
                (None, None) => {
                    return Err(bad("num_classes", "give num_classes or labels".into()))
                }
            };
            let f = classify::macro_f1(&t, &p, n as i64, None);
            Ok(r.score(format!("mean_{n}class_f1"), 100.0 * f)
                .invalid(&unk))
        }
        "matthews_corrcoef" => {
            if o.get("labels").is_some() {
                let (t, p, unk) = class_ids(preds, targets, o)?;
                Ok(
                    r.score("matthews_corrcoef", 100.0 * classify::matthews(&t, &p))
                        .invalid(&unk),
                )
            } else {
                let c = clean(o)?;
                let t: Vec<String> = targets
                    .iter()
                    .enumerate()
                    .map(|(i, v)| text(i, v).map(|s| c.apply(&s)))
                    .collect::<Result<_, _>>()?;
                let p: Vec<String> = preds.iter().map(|s| c.apply(s)).collect();
                Ok(r.score("matthews_corrcoef", 100.0 * classify::matthews(&t, &p)))
            }
        }
        "pearson_corrcoef" | "spearman_corrcoef" => {
            let (t, p, unk) = floats(preds, targets)?;
            // spearmanr ranks an infinity like any number; nan has no rank.
            let bad = |v: &f64| v.is_nan() || (name == "pearson_corrcoef" && v.is_infinite());
            undefined_at(name, &p, &bad, "prediction", &|row| preds[row].clone())?;
            undefined_at(name, &t, &bad, "target", &|row| targets[row].to_string())?;
            let v = if name == "pearson_corrcoef" {
                crate::corr::pearson(&t, &p)
            } else {
                crate::corr::spearman(&t, &p)
            };
            Ok(r.score(name, 100.0 * nonnan(name, v)?).invalid(&unk))
        }
        "squad" | "trivia_qa" => {
            let how = if name == "squad" {
                Normalization::Squad
            } else {
                Normalization::TriviaQa
            };
            let t: Vec<Vec<String>> = targets
                .iter()
                .enumerate()
                .map(|(i, v)| answers(i, v))
                .collect::<Result<_, _>>()?;
            let (em, f1) = qa::qa_metrics(&t, &strs(preds), how);
            Ok(r.score("em", em).score("f1", f1))
        }
        "record" => {
            let mut seen = std::collections::HashSet::new();
            let (mut t, mut p) = (Vec::new(), Vec::new());
            for (row, v) in targets.iter().enumerate() {
                let (g, val) = group(row, v)?;
                if seen.insert(g) {
                    t.push(answers(row, &val)?);
                    p.push(preds[row].as_str());
                }
            }
            let (em, f1) = qa::qa_metrics(&t, &p, Normalization::Squad);
            Ok(r.score("em", em).score("f1", f1))
        }
        "multirc" => multirc(preds, targets, o),
        "wsc_simple" => wsc_simple(preds, targets),
        "mean_group_metric" => mean_group(preds, targets, o),
        "bleu" => {
            let cfg = bleu_config(o, "intl", false)?;
            let refs: Vec<Vec<String>> = targets
                .iter()
                .enumerate()
                .map(|(i, v)| texts(i, v))
                .collect::<Result<_, _>>()?;
            let refs: Vec<Vec<&str>> = refs.iter().map(|r| strs(r)).collect();
            let s = cfg.corpus_score(&strs(preds), &refs);
            let mut r = r.score("bleu", s.score).score("bp", s.bp);
            for n in 0..4 {
                r = r.score(format!("precision_{}", n + 1), s.precisions[n]);
            }
            let mut r = r
                .score("sys_len", s.sys_len as f64)
                .score("ref_len", s.ref_len as f64);
            r.info.insert("signature".into(), cfg.signature(&refs));
            Ok(r)
        }
        "sentence_bleu" => {
            let cfg = bleu_config(o, "13a", true)?;
            let refs: Vec<Vec<String>> = targets
                .iter()
                .enumerate()
                .map(|(i, v)| texts(i, v))
                .collect::<Result<_, _>>()?;
            let refs: Vec<Vec<&str>> = refs.iter().map(|r| strs(r)).collect();
            let sum: f64 = preds
                .iter()
                .zip(&refs)
                .map(|(p, r)| cfg.sentence_score(p, r).score)
                .sum();
            let mut r = r.score("sentence_bleu", sum / preds.len() as f64);
            r.info.insert("signature".into(), cfg.signature(&refs));
            Ok(r)
        }
        "rouge" => {
            let names = o
                .list("rouge_types")
                .unwrap_or_else(|| vec!["rouge1".into(), "rouge2".into(), "rougeLsum".into()]);
            let types: Vec<RougeType> = names
                .iter()
                .map(|n| {
                    RougeType::parse(n).ok_or_else(|| {
                        bad(
                            "rouge_types",
                            format!("`{n}` is not rougeN, rougeL or rougeLsum"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?;
            let scorer = RougeScorer::new(types.clone(), o.bool("use_stemmer", false)?);
            let t: Vec<String> = targets
                .iter()
                .enumerate()
                .map(|(i, v)| text(i, v))
                .collect::<Result<_, _>>()?;
            let means = corpus_rouge(
                &scorer,
                &strs(&t),
                &strs(preds),
                o.bool("prepare_summary", true)?,
            );
            let mut r = r;
            for (ty, m) in types.iter().zip(means) {
                r.scores.insert(ty.name(), m);
            }
            Ok(r)
        }
        "mrr10" => {
            let ranked: Vec<Vec<String>> = preds.iter().map(|p| id_list(p)).collect();
            let rel: Vec<Vec<String>> = targets
                .iter()
                .enumerate()
                .map(|(i, v)| texts(i, v))
                .collect::<Result<_, _>>()?;
            Ok(r.score("MRR@10", rank::mrr_at_10(&ranked, &rel))
                .score("QueriesRanked", preds.len() as f64))
        }
        "rank_classification" => rank_cls(preds, targets, o),
        "meteor" => {
            let cfg = MeteorConfig::from_options(o)?;
            let refs: Vec<Vec<String>> = targets
                .iter()
                .enumerate()
                .map(|(i, v)| texts(i, v))
                .collect::<Result<_, _>>()?;
            let m = meteor::corpus_meteor(&cfg, &strs(preds), &refs);
            Ok(r.score("meteor", 100.0 * m))
        }
        other => Err(MetricError::UnknownMetric(other.to_string())),
    }
}

fn answers(row: usize, v: &Value) -> Result<Vec<String>, MetricError> {
    let a = texts(row, v)?;
    if a.is_empty() {
        return Err(bad_target(row, "no gold answers"));
    }
    Ok(a)
}

/// Ranked ids from a prediction line: a JSON list, or whitespace/comma
/// separated ids.
fn id_list(p: &str) -> Vec<String> {
    if let Ok(Value::Array(a)) = serde_json::from_str::<Value>(p) {
        return a
            .iter()
            .map(|x| match x {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
    }
    p.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn multirc(preds: &[String], targets: &[Value], o: &Options) -> R {
    let c = clean(o)?;
    let labels = o
        .list("labels")
        .unwrap_or_else(|| vec!["False".into(), "True".into()]);
    let map = LabelMap::new(&labels, c);
    let mut groups: IndexMap<String, (Vec<i64>, Vec<i64>)> = IndexMap::new();
    let (mut all_t, mut all_p, mut unknown) = (Vec::new(), Vec::new(), Vec::new());
    for (row, v) in targets.iter().enumerate() {
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
        let p = map.id(&preds[row]).unwrap_or_else(|| {
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
fn wsc_simple(preds: &[String], targets: &[Value]) -> R {
    let (mut t, mut p, mut empty) = (Vec::new(), Vec::new(), Vec::new());
    for (row, v) in targets.iter().enumerate() {
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
        let x = crate::wsc::predicted_referent(&preds[row], referent);
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

fn mean_group(preds: &[String], targets: &[Value], o: &Options) -> R {
    let inner = o.get("metric").unwrap_or("all_match").to_string();
    if inner == "mean_group_metric" {
        return Err(bad("metric", "mean_group_metric cannot nest itself".into()));
    }
    let mut inner_opts = o.clone();
    inner_opts.0.remove("metric");
    let mut groups: Groups = IndexMap::new();
    for (row, v) in targets.iter().enumerate() {
        let (g, val) = group(row, v)?;
        let e = groups.entry(g).or_default();
        e.0.push(preds[row].clone());
        e.1.push(val);
        e.2.push(row);
    }
    let mut sums: IndexMap<String, (f64, usize)> = IndexMap::new();
    for (p, t, rows) in groups.values() {
        let rep = compute(&inner, p, t, &inner_opts).map_err(|e| remap_row(e, rows))?;
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

fn rank_cls(preds: &[String], targets: &[Value], o: &Options) -> R {
    let mut choices = Vec::new();
    for (row, v) in targets.iter().enumerate() {
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
        choices.push(Choice {
            idx,
            is_correct,
            weight,
            length,
        });
    }
    let mut scores = Vec::new();
    for (row, p) in preds.iter().enumerate() {
        scores.push(parse_float(p).ok_or_else(|| MetricError::BadPrediction {
            row,
            message: format!("`{p}` is not a score"),
        })?);
    }
    let named = rank::rank_classification(
        &choices,
        &scores,
        o.usize("num_classes")?,
        o.bool("normalize_by_target_length", false)?,
    )
    .map_err(MetricError::Undefined)?;
    let mut r = Report::default();
    for (k, v) in named {
        r.scores.insert(k, v);
    }
    Ok(r)
}
