//! Pearson and Spearman correlation as scipy.stats computes them (T5's
//! `pearson_corrcoef`/`spearman_corrcoef` for STS-B). Both are `NaN` when an
//! input is constant, like scipy.

/// `scipy.stats.pearsonr(x, y)[0]`.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    if n < 2 {
        return f64::NAN;
    }
    let mx = x[..n].iter().sum::<f64>() / n as f64;
    let my = y[..n].iter().sum::<f64>() / n as f64;
    // scipy rescales by the largest deviation before the norms so that huge
    // or tiny inputs neither overflow nor underflow; doing the same keeps the
    // last bits closer to it.
    let dx: Vec<f64> = x[..n].iter().map(|v| v - mx).collect();
    let dy: Vec<f64> = y[..n].iter().map(|v| v - my).collect();
    let ax = dx.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let ay = dy.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    if ax == 0.0 || ay == 0.0 {
        return f64::NAN;
    }
    let dx: Vec<f64> = dx.iter().map(|v| v / ax).collect();
    let dy: Vec<f64> = dy.iter().map(|v| v / ay).collect();
    let nx = dx.iter().map(|v| v * v).sum::<f64>().sqrt();
    let ny = dy.iter().map(|v| v * v).sum::<f64>().sqrt();
    let r: f64 = dx.iter().zip(&dy).map(|(a, b)| (a / nx) * (b / ny)).sum();
    r.clamp(-1.0, 1.0)
}

/// `scipy.stats.rankdata(v, method="average")`: 1-based ranks, ties share
/// the mean of their positions.
pub fn rank_average(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut ranks = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        // Positions i..=j (0-based) share rank mean(i+1..=j+1).
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            ranks[k] = r;
        }
        i = j + 1;
    }
    ranks
}

/// `scipy.stats.spearmanr(x, y)[0]`.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    pearson(&rank_average(&x[..n]), &rank_average(&y[..n]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_ranks() {
        assert_eq!(
            rank_average(&[3.0, 1.0, 3.0, 2.0]),
            vec![3.5, 1.0, 3.5, 2.0]
        );
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-15);
        assert!(pearson(&[1.0, 1.0], &[1.0, 2.0]).is_nan());
    }
}
