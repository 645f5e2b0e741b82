//! ROUGE-N, ROUGE-L and ROUGE-Lsum as rouge_score 0.1.2 computes them, with
//! T5's preparation of summaries (`" . "` becomes `" .\n"` so that Lsum sees
//! sentences) and the plain mean over examples instead of T5's unseeded
//! bootstrap "mid".
//!
//! Text enters as strings; tokens are lowercased ASCII `[a-z0-9]+` runs,
//! optionally stemmed with NLTK's Porter stemmer (tokens longer than three
//! characters only), exactly like `rouge_score.tokenize.tokenize`.

use std::collections::HashMap;

use crate::porter::PorterStemmer;

/// Precision, recall and F-measure of one comparison (fractions, not x100).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RougeScore {
    /// Matches over prediction length.
    pub precision: f64,
    /// Matches over target length.
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub fmeasure: f64,
}

/// A ROUGE variant named as rouge_score names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RougeType {
    /// `rouge1` .. `rouge9`.
    N(usize),
    /// `rougeL`: LCS over the whole text.
    L,
    /// `rougeLsum`: summary-level union LCS over newline-separated sentences.
    Lsum,
}

impl RougeType {
    /// Parses `rouge1`..`rouge9`, `rougeL`, `rougeLsum`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "rougeL" => Some(Self::L),
            "rougeLsum" => Some(Self::Lsum),
            _ => {
                let d = s.strip_prefix("rouge")?;
                let n: usize = d.parse().ok()?;
                (d.len() == 1 && n > 0).then_some(Self::N(n))
            }
        }
    }

    /// The name rouge_score uses as a result key.
    pub fn name(&self) -> String {
        match self {
            Self::N(n) => format!("rouge{n}"),
            Self::L => "rougeL".into(),
            Self::Lsum => "rougeLsum".into(),
        }
    }
}

fn fmeasure(p: f64, r: f64) -> f64 {
    if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    }
}

/// rouge_score's scorer: tokenizer settings plus the types to compute.
#[derive(Clone, Debug)]
pub struct RougeScorer {
    types: Vec<RougeType>,
    stemmer: Option<PorterStemmer>,
}

impl RougeScorer {
    /// `RougeScorer(rouge_types, use_stemmer)`.
    pub fn new(types: Vec<RougeType>, use_stemmer: bool) -> Self {
        Self {
            types,
            stemmer: use_stemmer.then(PorterStemmer::default),
        }
    }

    /// `rouge_score.tokenize.tokenize`: lowercase (full Unicode, so that e.g.
    /// the Kelvin sign becomes `k`), split on anything but `[a-z0-9]`, stem.
    pub fn tokenize(&self, text: &str) -> Vec<String> {
        let lower = text.to_lowercase();
        lower
            .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
            .filter(|t| !t.is_empty())
            .map(|t| match &self.stemmer {
                Some(s) if t.len() > 3 => s.stem(t),
                _ => t.to_string(),
            })
            .collect()
    }

    /// `scorer.score(target, prediction)`, in the order of the types.
    pub fn score(&self, target: &str, prediction: &str) -> Vec<RougeScore> {
        let needs_tokens = self.types.iter().any(|t| *t != RougeType::Lsum);
        let (tt, pt) = if needs_tokens {
            (self.tokenize(target), self.tokenize(prediction))
        } else {
            (Vec::new(), Vec::new())
        };
        let (ti, pi) = intern_pair(&tt, &pt);
        self.types
            .iter()
            .map(|ty| match ty {
                RougeType::N(n) => score_ngrams(&ti, &pi, *n),
                RougeType::L => score_lcs(&ti, &pi),
                RougeType::Lsum => {
                    let ts: Vec<Vec<String>> =
                        sentences(target).map(|s| self.tokenize(s)).collect();
                    let ps: Vec<Vec<String>> =
                        sentences(prediction).map(|s| self.tokenize(s)).collect();
                    summary_level_lcs(&ts, &ps)
                }
            })
            .collect()
    }
}

/// T5's `_prepare_summary`: sentence breaks for Lsum.
pub fn prepare_summary(s: &str) -> String {
    s.replace(" . ", " .\n")
}

/// rouge_score without `split_summaries`: newline-separated, empty dropped.
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n').filter(|s| !s.is_empty())
}

/// Maps tokens to ids so that n-grams and LCS compare integers.
fn intern_pair(a: &[String], b: &[String]) -> (Vec<u32>, Vec<u32>) {
    let mut ids: HashMap<&str, u32> = HashMap::new();
    let mut out = (Vec::with_capacity(a.len()), Vec::with_capacity(b.len()));
    for (src, dst) in [(a, &mut out.0), (b, &mut out.1)] {
        for t in src {
            let next = ids.len() as u32;
            dst.push(*ids.entry(t.as_str()).or_insert(next));
        }
    }
    out
}

fn ngram_counts(tokens: &[u32], n: usize) -> HashMap<&[u32], usize> {
    let mut m = HashMap::new();
    if tokens.len() >= n {
        for w in tokens.windows(n) {
            *m.entry(w).or_insert(0) += 1;
        }
    }
    m
}

fn score_ngrams(target: &[u32], pred: &[u32], n: usize) -> RougeScore {
    let t = ngram_counts(target, n);
    let p = ngram_counts(pred, n);
    let inter: usize = t
        .iter()
        .map(|(g, c)| (*c).min(p.get(g).copied().unwrap_or(0)))
        .sum();
    let tc: usize = t.values().sum();
    let pc: usize = p.values().sum();
    let precision = inter as f64 / pc.max(1) as f64;
    let recall = inter as f64 / tc.max(1) as f64;
    RougeScore {
        precision,
        recall,
        fmeasure: fmeasure(precision, recall),
    }
}

/// One row of the LCS table from the row above it: `next[j]` is the LCS of
/// `r[..=i]` and `c[..j]` when `prev` is row `i` (the table's column 0 is 0).
fn next_row<T: PartialEq>(prev: &[u32], tok: &T, c: &[T], next: &mut [u32]) {
    next[0] = 0;
    for j in 1..next.len() {
        next[j] = if *tok == c[j - 1] {
            prev[j - 1] + 1
        } else {
            prev[j].max(next[j - 1])
        };
    }
}

/// LCS length in two rows of the table: memory linear in the shorter text
/// (rouge-L's F-measure needs the length only; a table of two 100 KB texts
/// took 1.45 GB, and of two 1 MB texts 110 GB).
fn lcs_len<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let (r, c) = if a.len() < b.len() { (b, a) } else { (a, b) };
    let mut prev = vec![0u32; c.len() + 1];
    let mut next = prev.clone();
    for tok in r {
        next_row(&prev, tok, c, &mut next);
        std::mem::swap(&mut prev, &mut next);
    }
    prev[c.len()] as usize
}

fn score_lcs(target: &[u32], pred: &[u32]) -> RougeScore {
    if target.is_empty() || pred.is_empty() {
        return RougeScore::default();
    }
    let lcs = lcs_len(target, pred) as f64;
    let precision = lcs / pred.len() as f64;
    let recall = lcs / target.len() as f64;
    RougeScore {
        precision,
        recall,
        fmeasure: fmeasure(precision, recall),
    }
}

/// Cells of a table block traced whole (16 MiB of `u32`).
const BLOCK_CELLS: usize = 1 << 22;
/// Cells of the checkpoint rows kept per level of [`trace`] (16 MiB).
const CHECKPOINT_CELLS: usize = 1 << 22;

/// rouge_score's `_backtrack_norec` on the full table: which LCS is read
/// out matters for rouge-Lsum's union, so its tie-break (`t[i][j-1] >
/// t[i-1][j]` moves left, else up) is kept. The table is never held whole:
/// [`trace`] keeps checkpoint rows and recomputes the blocks between them,
/// so memory stays linear in the text (plus fixed blocks) for any input.
fn lcs_indices<T: PartialEq>(r: &[T], c: &[T]) -> Vec<usize> {
    lcs_indices_in(r, c, BLOCK_CELLS, CHECKPOINT_CELLS)
}

fn lcs_indices_in<T: PartialEq>(r: &[T], c: &[T], block: usize, keep: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let top = vec![0u32; c.len() + 1];
    let sizes = Sizes { block, keep };
    trace(r, c, (0, r.len()), c.len(), &top, sizes, &mut out);
    out
}

#[derive(Clone, Copy)]
struct Sizes {
    block: usize,
    keep: usize,
}

/// The backtrack through rows `lo..=hi` of the table, from cell `(hi, j)`
/// until it reaches row `lo` or column 0, given row `lo` (`top`, at least
/// `j + 1` columns). Pushes the matched indices of `r` (descending) and
/// returns the column where it reached row `lo` (0 once column 0 is
/// reached: the backtrack ends there). Cells to the right of `j` never
/// matter, so each step works on columns `0..=j` only.
fn trace<T: PartialEq>(
    r: &[T],
    c: &[T],
    (lo, hi): (usize, usize),
    j: usize,
    top: &[u32],
    sizes: Sizes,
    out: &mut Vec<usize>,
) -> usize {
    let cols = j + 1;
    let rows = hi - lo;
    if rows * cols <= sizes.block || rows <= 1 {
        return trace_block(r, c, lo, hi, j, top, out);
    }
    // Split rows lo..hi into `parts` bands, keep the row at each band's
    // start, then trace the bands bottom-up, each from the row above it.
    let parts = (sizes.keep / cols).clamp(2, rows);
    let starts: Vec<usize> = (0..parts).map(|p| lo + p * rows / parts).collect();
    let mut kept: Vec<Vec<u32>> = Vec::with_capacity(parts);
    kept.push(top[..cols].to_vec());
    let mut prev = top[..cols].to_vec();
    let mut next = vec![0u32; cols];
    for i in lo + 1..hi {
        next_row(&prev, &r[i - 1], &c[..j], &mut next);
        std::mem::swap(&mut prev, &mut next);
        if starts.binary_search(&i).is_ok() {
            kept.push(prev.clone());
        }
    }
    let mut at = j;
    let mut end = hi;
    for (start, row) in starts.iter().zip(&kept).rev() {
        at = trace(r, c, (*start, end), at, row, sizes, out);
        if at == 0 {
            return 0;
        }
        end = *start;
    }
    at
}

/// [`trace`] on a block small enough to hold whole.
fn trace_block<T: PartialEq>(
    r: &[T],
    c: &[T],
    lo: usize,
    hi: usize,
    j: usize,
    top: &[u32],
    out: &mut Vec<usize>,
) -> usize {
    let cols = j + 1;
    let mut t = vec![0u32; (hi - lo + 1) * cols];
    t[..cols].copy_from_slice(&top[..cols]);
    for i in 1..=hi - lo {
        let (above, rest) = t.split_at_mut(i * cols);
        next_row(
            &above[(i - 1) * cols..],
            &r[lo + i - 1],
            &c[..j],
            &mut rest[..cols],
        );
    }
    let (mut i, mut j) = (hi - lo, j);
    while i > 0 && j > 0 {
        if r[lo + i - 1] == c[j - 1] {
            out.push(lo + i - 1);
            i -= 1;
            j -= 1;
        } else if t[i * cols + j - 1] > t[(i - 1) * cols + j] {
            j -= 1;
        } else {
            i -= 1;
        }
    }
    j
}

fn summary_level_lcs(refs: &[Vec<String>], cands: &[Vec<String>]) -> RougeScore {
    if refs.is_empty() || cands.is_empty() {
        return RougeScore::default();
    }
    let m: usize = refs.iter().map(Vec::len).sum();
    let n: usize = cands.iter().map(Vec::len).sum();
    if m == 0 || n == 0 {
        return RougeScore::default();
    }
    let mut cnt_r: HashMap<&str, i64> = HashMap::new();
    let mut cnt_c: HashMap<&str, i64> = HashMap::new();
    for t in refs.iter().flatten() {
        *cnt_r.entry(t).or_insert(0) += 1;
    }
    for t in cands.iter().flatten() {
        *cnt_c.entry(t).or_insert(0) += 1;
    }
    let mut hits = 0usize;
    for r in refs {
        let mut union: Vec<usize> = cands.iter().flat_map(|c| lcs_indices(r, c)).collect();
        union.sort_unstable();
        union.dedup();
        for i in union {
            let tok = r[i].as_str();
            let (Some(c), Some(rc)) = (cnt_c.get_mut(tok), cnt_r.get_mut(tok)) else {
                continue;
            };
            if *c > 0 && *rc > 0 {
                hits += 1;
                *c -= 1;
                *rc -= 1;
            }
        }
    }
    let recall = hits as f64 / m as f64;
    let precision = hits as f64 / n as f64;
    RougeScore {
        precision,
        recall,
        fmeasure: fmeasure(precision, recall),
    }
}

/// T5's `rouge` metric with the mean over examples: per type, the mean
/// F-measure x100. `prepare` applies T5's `" . "` sentence split.
pub fn corpus_rouge(
    scorer: &RougeScorer,
    targets: &[&str],
    predictions: &[&str],
    prepare: bool,
) -> Vec<f64> {
    let mut sums = vec![0.0; scorer.types.len()];
    for (t, p) in targets.iter().zip(predictions) {
        let scores = if prepare {
            scorer.score(&prepare_summary(t), &prepare_summary(p))
        } else {
            scorer.score(t, p)
        };
        for (s, sc) in sums.iter_mut().zip(scores) {
            *s += sc.fmeasure;
        }
    }
    let n = targets.len().min(predictions.len()) as f64;
    sums.into_iter().map(|s| (s / n) * 100.0).collect()
}

/// The types this scorer computes, in order.
impl RougeScorer {
    pub fn types(&self) -> &[RougeType] {
        &self.types
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readme_example() {
        let s = RougeScorer::new(vec![RougeType::N(1), RougeType::L], true);
        let r = s.score(
            "The quick brown fox jumps over the lazy dog",
            "The quick brown dog jumps on the log.",
        );
        assert!((r[0].precision - 0.75).abs() < 1e-12);
        assert!((r[1].recall - 5.0 / 9.0).abs() < 1e-12);
    }

    /// rouge_score's backtrack on its full table, as exc did it before.
    fn full_table_indices(r: &[u8], c: &[u8]) -> Vec<usize> {
        let cols = c.len() + 1;
        let mut t = vec![0u32; (r.len() + 1) * cols];
        for i in 1..=r.len() {
            for j in 1..=c.len() {
                t[i * cols + j] = if r[i - 1] == c[j - 1] {
                    t[(i - 1) * cols + j - 1] + 1
                } else {
                    t[(i - 1) * cols + j].max(t[i * cols + j - 1])
                };
            }
        }
        let (mut i, mut j) = (r.len(), c.len());
        let mut out = Vec::new();
        while i > 0 && j > 0 {
            if r[i - 1] == c[j - 1] {
                out.push(i - 1);
                i -= 1;
                j -= 1;
            } else if t[i * cols + j - 1] > t[(i - 1) * cols + j] {
                j -= 1;
            } else {
                i -= 1;
            }
        }
        out
    }

    /// The banded trace reads out the very LCS the full table does (its
    /// tie-break decides rouge-Lsum's union), whatever the block sizes.
    #[test]
    fn banded_trace_is_the_full_tables_backtrack() {
        let mut seed = 7u64;
        let mut next = move |m: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % m
        };
        for case in 0..400 {
            let alphabet = 2 + next(5);
            let r: Vec<u8> = (0..next(60)).map(|_| next(alphabet) as u8).collect();
            let c: Vec<u8> = (0..next(60)).map(|_| next(alphabet) as u8).collect();
            let want = full_table_indices(&r, &c);
            for (block, keep) in [(1, 1), (4, 8), (30, 60), (1 << 20, 1 << 20)] {
                assert_eq!(lcs_indices_in(&r, &c, block, keep), want, "case {case}");
            }
            assert_eq!(lcs_len(&r, &c), want.len(), "case {case}");
        }
    }
}
