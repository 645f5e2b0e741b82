//! Ranking metrics: T5's `rank_classification` (pick the best-scored choice
//! per example) and MS MARCO's MRR@10.

use crate::classify::f1_binary;

/// One scored choice of a rank-classification example (T5's target tuple).
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    /// `(input index, choice index)`.
    pub idx: (i64, i64),
    /// Whether this choice is a correct answer.
    pub is_correct: bool,
    /// Example weight (taken from the first choice of each example).
    pub weight: f64,
    /// Target length in tokens, for `normalize_by_target_length`.
    pub length: f64,
}

/// Scores named as T5 names them (fractions x100 already applied).
pub type Named = Vec<(String, f64)>;

fn argmax<T: PartialOrd + Copy>(v: &[T]) -> usize {
    let is_nan = |x: &T| x.partial_cmp(x).is_none();
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        // np.argmax keeps the first maximum, and the first NaN beats all.
        if !is_nan(&v[best]) && (is_nan(x) || *x > v[best]) {
            best = i;
        }
    }
    best
}

/// T5's `rank_classification`. `num_classes` of `None` means examples may
/// have different numbers of choices; then only accuracy is defined.
pub fn rank_classification(
    choices: &[Choice],
    scores: &[f64],
    num_classes: Option<usize>,
    normalize_by_target_length: bool,
) -> Result<Named, String> {
    let mut rows: Vec<(&Choice, f64)> = choices
        .iter()
        .zip(scores)
        .map(|(c, &s)| {
            (
                c,
                if normalize_by_target_length {
                    s / c.length
                } else {
                    s
                },
            )
        })
        .collect();
    // Python's sort is stable; so is this one.
    rows.sort_by_key(|a| a.0.idx);
    let Some(k) = num_classes.filter(|&k| k > 0) else {
        let (mut correct, mut total) = (0.0, 0.0);
        for grp in rows.chunk_by(|a, b| a.0.idx.0 == b.0.idx.0) {
            let ll: Vec<f64> = grp.iter().map(|r| r.1).collect();
            let best = grp[argmax(&ll)].0;
            correct += if best.is_correct { best.weight } else { 0.0 };
            total += best.weight;
        }
        return Ok(vec![("accuracy".into(), 100.0 * correct / total)]);
    };
    if !rows.len().is_multiple_of(k) {
        return Err(format!(
            "{} choices is not a multiple of num_classes={k}",
            rows.len()
        ));
    }
    let mut labels: Vec<Vec<bool>> = Vec::new();
    let mut weights: Vec<f64> = Vec::new();
    let mut preds: Vec<usize> = Vec::new();
    let mut lls: Vec<Vec<f32>> = Vec::new();
    for ex in rows.chunks(k) {
        labels.push(ex.iter().map(|r| r.0.is_correct).collect());
        weights.push(ex[0].0.weight);
        // T5 casts the log-likelihoods to float32 before the argmax.
        let ll: Vec<f32> = ex.iter().map(|r| r.1 as f32).collect();
        preds.push(argmax(&ll));
        lls.push(ll);
    }
    let wsum: f64 = weights.iter().sum();
    let hit = |i: usize| labels[i][preds[i]];
    let acc: f64 = (0..labels.len())
        .map(|i| if hit(i) { weights[i] } else { 0.0 })
        .sum::<f64>()
        / wsum;
    let mut out = vec![("accuracy".to_string(), 100.0 * acc)];
    if labels.iter().any(|l| l.iter().filter(|&&b| b).count() > 1) {
        return Ok(out);
    }
    if k > 2 {
        let mut sum = 0.0;
        for c in 0..k {
            let (mut tp, mut t, mut p) = (0.0, 0.0, 0.0);
            for i in 0..labels.len() {
                let w = weights[i];
                if labels[i][c] {
                    t += w;
                }
                if preds[i] == c {
                    p += w;
                }
                if labels[i][c] && preds[i] == c {
                    tp += w;
                }
            }
            sum += if t + p == 0.0 {
                0.0
            } else {
                2.0 * tp / (t + p)
            };
        }
        out.push((format!("mean_{k}class_f1"), 100.0 * sum / k as f64));
        return Ok(out);
    }
    let truth: Vec<i64> = labels.iter().map(|l| argmax(l) as i64).collect();
    let pred_ids: Vec<i64> = preds.iter().map(|&p| p as i64).collect();
    out.push((
        "f1".into(),
        100.0 * f1_binary(&truth, &pred_ids, Some(&weights)),
    ));
    let y: Vec<bool> = labels
        .iter()
        .map(|l| l.get(1).copied().unwrap_or(false))
        .collect();
    let probs: Vec<f32> = lls.iter().map(|ll| positive_prob(ll)).collect();
    out.push(("auc-roc".into(), 100.0 * roc_auc(&y, &probs, &weights)?));
    out.push((
        "auc-pr".into(),
        100.0 * average_precision(&y, &probs, &weights),
    ));
    Ok(out)
}

/// T5's `exp_normalize(x)[:, 1]`, in float32 as numpy computes it.
fn positive_prob(ll: &[f32]) -> f32 {
    let b = ll.iter().fold(f32::NEG_INFINITY, |a, &v| a.max(v));
    let e: Vec<f32> = ll.iter().map(|&v| (v - b).exp()).collect();
    let s: f32 = e.iter().sum();
    e.get(1).copied().unwrap_or(0.0) / s
}

/// sklearn's `_binary_clf_curve`: cumulative weighted true and false
/// positives at each distinct threshold, highest score first.
fn clf_curve(y: &[bool], s: &[f32], w: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut idx: Vec<usize> = (0..y.len()).collect();
    idx.sort_by(|&a, &b| s[b].total_cmp(&s[a]));
    let (mut tps, mut fps) = (Vec::new(), Vec::new());
    let (mut tp, mut fp) = (0.0, 0.0);
    for (pos, &i) in idx.iter().enumerate() {
        if y[i] {
            tp += w[i];
        } else {
            fp += w[i];
        }
        let last = pos + 1 == idx.len() || s[idx[pos + 1]] != s[i];
        if last {
            tps.push(tp);
            fps.push(fp);
        }
    }
    (tps, fps)
}

/// `sklearn.metrics.roc_auc_score` for binary labels with sample weights.
pub fn roc_auc(y: &[bool], s: &[f32], w: &[f64]) -> Result<f64, String> {
    let (tps, fps) = clf_curve(y, s, w);
    let (tmax, fmax) = (
        tps.last().copied().unwrap_or(0.0),
        fps.last().copied().unwrap_or(0.0),
    );
    if tmax <= 0.0 || fmax <= 0.0 {
        return Err("auc-roc needs both a correct and an incorrect second choice".into());
    }
    let (mut area, mut px, mut py) = (0.0, 0.0, 0.0);
    for (t, f) in tps.iter().zip(&fps) {
        let (x, yv) = (f / fmax, t / tmax);
        area += (x - px) * (yv + py) / 2.0;
        px = x;
        py = yv;
    }
    Ok(area)
}

/// `sklearn.metrics.average_precision_score` for binary labels.
pub fn average_precision(y: &[bool], s: &[f32], w: &[f64]) -> f64 {
    let (tps, fps) = clf_curve(y, s, w);
    let tmax = tps.last().copied().unwrap_or(0.0);
    let mut ap = 0.0;
    let mut prev_recall = 0.0;
    for (t, f) in tps.iter().zip(&fps) {
        let precision = if t + f == 0.0 { 1.0 } else { t / (t + f) };
        let recall = if tmax == 0.0 { 1.0 } else { t / tmax };
        ap += (recall - prev_recall) * precision;
        prev_recall = recall;
    }
    ap
}

/// MS MARCO's `compute_metrics`: per query, 1/rank of the first relevant
/// passage among the first 10 candidates, summed and divided by the number
/// of queries with relevance judgements. The official script pads short
/// candidate lists with passage id 0; that quirk is kept (`"0"` here).
pub fn mrr_at_10(ranked: &[Vec<String>], relevant: &[Vec<String>]) -> f64 {
    let mut mrr = 0.0;
    for (cands, rel) in ranked.iter().zip(relevant) {
        for i in 0..10 {
            let pid = cands.get(i).map_or("0", String::as_str);
            if rel.iter().any(|r| r == pid) {
                mrr += 1.0 / (i + 1) as f64;
                break;
            }
        }
    }
    mrr / relevant.len() as f64
}
