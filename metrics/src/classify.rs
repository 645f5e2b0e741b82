//! Classification metrics on class ids, as scikit-learn 1.x and T5 compute
//! them. Every function returns a fraction; the registry multiplies by 100.
//!
//! Class ids come from [`crate::postprocess`]; an unknown label becomes
//! [`INVALID`], which never equals a target, just like T5's `-1`.

use std::collections::BTreeMap;

/// The id given to predictions that match no known label (T5's `-1`).
pub const INVALID: i64 = -1;

/// `sklearn.metrics.accuracy_score`, optionally weighted.
pub fn accuracy<T: PartialEq>(targets: &[T], preds: &[T], weights: Option<&[f64]>) -> f64 {
    let mut num = 0.0;
    let mut den = 0.0;
    for (i, (t, p)) in targets.iter().zip(preds).enumerate() {
        let w = weights.and_then(|w| w.get(i)).copied().unwrap_or(1.0);
        if t == p {
            num += w;
        }
        den += w;
    }
    num / den
}

/// F-score from counts as sklearn divides it: `2 tp / (true + pred)`, and 0
/// where the denominator is 0 (`zero_division="warn"`).
fn f1_from(tp: f64, true_sum: f64, pred_sum: f64) -> f64 {
    let den = true_sum + pred_sum;
    if den == 0.0 {
        0.0
    } else {
        2.0 * tp / den
    }
}

fn weighted_counts(targets: &[i64], preds: &[i64], label: i64, w: Option<&[f64]>) -> [f64; 3] {
    let mut c = [0.0; 3];
    for (i, (&t, &p)) in targets.iter().zip(preds).enumerate() {
        let w = w.and_then(|w| w.get(i)).copied().unwrap_or(1.0);
        if t == label && p == label {
            c[0] += w;
        }
        if t == label {
            c[1] += w;
        }
        if p == label {
            c[2] += w;
        }
    }
    c
}

/// `sklearn.metrics.f1_score(targets, preds)` with `pos_label=1`. Callers
/// ensure both sides hold only 0 and 1 (sklearn raises otherwise).
pub fn f1_binary(targets: &[i64], preds: &[i64], weights: Option<&[f64]>) -> f64 {
    let [tp, t, p] = weighted_counts(targets, preds, 1, weights);
    f1_from(tp, t, p)
}

/// T5's `f1_score_with_invalid`: a prediction other than 0/1 counts as the
/// opposite of its target, then binary F1.
pub fn f1_with_invalid(targets: &[i64], preds: &[i64]) -> f64 {
    let fixed: Vec<i64> = targets
        .iter()
        .zip(preds)
        .map(|(&t, &p)| if p != 0 && p != 1 { 1 - t } else { p })
        .collect();
    f1_binary(targets, &fixed, None)
}

/// T5's `mean_multiclass_f1`: sklearn `fbeta_score(beta=1,
/// labels=range(num_classes), average="macro")`.
pub fn macro_f1(targets: &[i64], preds: &[i64], num_classes: i64, w: Option<&[f64]>) -> f64 {
    if num_classes <= 0 {
        return 0.0;
    }
    let mut sum = 0.0;
    for label in 0..num_classes {
        let [tp, t, p] = weighted_counts(targets, preds, label, w);
        sum += f1_from(tp, t, p);
    }
    sum / num_classes as f64
}

/// `sklearn.metrics.matthews_corrcoef` (multi-class form, 0 when undefined).
pub fn matthews<T: Ord + Clone>(targets: &[T], preds: &[T]) -> f64 {
    let mut t_sum: BTreeMap<T, f64> = BTreeMap::new();
    let mut p_sum: BTreeMap<T, f64> = BTreeMap::new();
    let mut correct = 0.0;
    for (t, p) in targets.iter().zip(preds) {
        *t_sum.entry(t.clone()).or_insert(0.0) += 1.0;
        *p_sum.entry(p.clone()).or_insert(0.0) += 1.0;
        if t == p {
            correct += 1.0;
        }
    }
    let n: f64 = p_sum.values().sum();
    let dot_tp: f64 = t_sum
        .iter()
        .map(|(k, v)| v * p_sum.get(k).copied().unwrap_or(0.0))
        .sum();
    let dot_pp: f64 = p_sum.values().map(|v| v * v).sum();
    let dot_tt: f64 = t_sum.values().map(|v| v * v).sum();
    let cov_ytyp = correct * n - dot_tp;
    let cov_ypyp = n * n - dot_pp;
    let cov_ytyt = n * n - dot_tt;
    let prod = cov_ypyp * cov_ytyt;
    if prod == 0.0 {
        0.0
    } else {
        cov_ytyp / prod.sqrt()
    }
}

/// Fraction of exactly equal pairs (T5's `sequence_accuracy`).
pub fn sequence_accuracy(targets: &[&str], preds: &[&str]) -> f64 {
    let n = targets.len().min(preds.len());
    let hits = targets.iter().zip(preds).filter(|(t, p)| t == p).count();
    hits as f64 / n as f64
}

/// T5's `all_match`: 1 when the two sequences are equal element-wise.
pub fn all_match<T: PartialEq>(targets: &[T], preds: &[T]) -> f64 {
    if targets == preds {
        1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f1_and_matthews() {
        let t = [1, 1, 0, 0, 1];
        let p = [1, 0, 0, 1, 1];
        assert!((f1_binary(&t, &p, None) - 2.0 / 3.0).abs() < 1e-15);
        assert_eq!(matthews(&[1, 1], &[1, 1]), 0.0);
        assert!((f1_with_invalid(&[1, 0], &[-1, 0]) - 0.0).abs() < 1e-15);
    }
}
