//! BLEU as sacrebleu 2.6 computes it: corpus BLEU from summed sufficient
//! statistics, the closest reference length (ties to the shorter), clipped
//! n-gram counts against the per-n-gram maximum over references, and the
//! `none`/`floor`/`add-k`/`exp` smoothing methods. T5 calls it with
//! `smooth_method="exp"`, `tokenize="intl"` and no effective order.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::bleu_tok::Tokenizer;
use crate::text::{py_rstrip, py_split};

/// The sacrebleu version whose behaviour (and signature) this reproduces.
pub const SACREBLEU_VERSION: &str = "2.6.0";
const MAX_ORDER: usize = 4;

/// sacrebleu's smoothing methods.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Smooth {
    /// No smoothing.
    None,
    /// Chen & Cherry method 1 with the floor value (default 0.1).
    Floor(f64),
    /// Method 2 with k (default 1).
    AddK(f64),
    /// Method 3, NIST's geometric halving (T5's setting).
    Exp,
}

impl Smooth {
    /// Parses `smooth_method` with an optional `smooth_value`.
    pub fn parse(method: &str, value: Option<f64>) -> Option<Self> {
        match method {
            "none" => Some(Self::None),
            "floor" => Some(Self::Floor(value.unwrap_or(0.1))),
            "add-k" => Some(Self::AddK(value.unwrap_or(1.0))),
            "exp" => Some(Self::Exp),
            _ => None,
        }
    }

    fn signature(&self) -> String {
        match self {
            Self::None => "none".into(),
            Self::Floor(v) => format!("floor[{v:.2}]"),
            Self::AddK(v) => format!("add-k[{v:.2}]"),
            Self::Exp => "exp".into(),
        }
    }
}

/// BLEU settings (sacrebleu's `BLEU(...)` arguments).
#[derive(Clone, Copy, Debug)]
pub struct BleuConfig {
    /// Tokenizer run on every segment.
    pub tokenizer: Tokenizer,
    /// Smoothing method.
    pub smooth: Smooth,
    /// Lowercase before tokenizing.
    pub lowercase: bool,
    /// Average only over orders that have n-grams (sentence BLEU default).
    pub effective_order: bool,
}

impl Default for BleuConfig {
    /// T5's corpus BLEU settings.
    fn default() -> Self {
        Self {
            tokenizer: Tokenizer::Intl,
            smooth: Smooth::Exp,
            lowercase: false,
            effective_order: false,
        }
    }
}

/// A BLEU result with the statistics sacrebleu prints.
#[derive(Clone, Debug, PartialEq)]
pub struct BleuScore {
    /// BLEU x100.
    pub score: f64,
    /// Matched n-grams per order.
    pub counts: [u64; MAX_ORDER],
    /// Hypothesis n-grams per order.
    pub totals: [u64; MAX_ORDER],
    /// Precisions x100 per order (after smoothing).
    pub precisions: [f64; MAX_ORDER],
    /// Brevity penalty.
    pub bp: f64,
    /// Hypothesis length in tokens.
    pub sys_len: u64,
    /// Closest-reference length in tokens.
    pub ref_len: u64,
}

/// Sufficient statistics of one segment, or a sum of them.
#[derive(Clone, Copy, Debug, Default)]
struct Stats {
    sys_len: u64,
    ref_len: u64,
    correct: [u64; MAX_ORDER],
    total: [u64; MAX_ORDER],
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.sys_len += o.sys_len;
        self.ref_len += o.ref_len;
        for n in 0..MAX_ORDER {
            self.correct[n] += o.correct[n];
            self.total[n] += o.total[n];
        }
    }
}

/// All 1..4-grams of a token-id sequence as packed keys (order in the top
/// bits, 30 bits per id), sorted and run-length counted. Sorting beats
/// hashing for segment-sized inputs and needs no hasher.
fn ngram_counts(ids: &[u32]) -> Vec<(u128, u64)> {
    let mut keys: Vec<u128> = Vec::with_capacity(ids.len() * MAX_ORDER);
    for n in 1..=MAX_ORDER {
        if ids.len() >= n {
            for w in ids.windows(n) {
                let mut k = (n as u128) << 120;
                for (i, &id) in w.iter().enumerate() {
                    k |= (id as u128) << (30 * i);
                }
                keys.push(k);
            }
        }
    }
    keys.sort_unstable();
    let mut out: Vec<(u128, u64)> = Vec::with_capacity(keys.len());
    for k in keys {
        match out.last_mut() {
            Some((last, c)) if *last == k => *c += 1,
            _ => out.push((k, 1)),
        }
    }
    out
}

fn order_of(key: u128) -> usize {
    (key >> 120) as usize
}

/// Gives each distinct token of a segment a small id.
#[derive(Default)]
struct Interner<'a> {
    ids: HashMap<&'a str, u32, BuildHasherDefault<FxHasher>>,
}

impl<'a> Interner<'a> {
    fn ids(&mut self, tokens: impl Iterator<Item = &'a str>) -> Vec<u32> {
        tokens
            .map(|t| {
                // Ids stay below 2^30: a segment never has a billion types.
                let next = (self.ids.len() as u32) & ((1 << 30) - 1);
                *self.ids.entry(t).or_insert(next)
            })
            .collect()
    }
}

/// The Fx hash (rustc's): fast for short keys; no DoS concern for metrics.
#[derive(Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(b))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(i)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl BleuConfig {
    fn preprocess(&self, s: &str) -> String {
        let s = if self.lowercase {
            s.to_lowercase()
        } else {
            s.to_string()
        };
        self.tokenizer.tokenize(py_rstrip(&s))
    }

    /// Statistics for one hypothesis against its references.
    fn segment(&self, hyp: &str, refs: &[&str]) -> Stats {
        let ref_toks: Vec<String> = refs.iter().map(|r| self.preprocess(r)).collect();
        let hyp_tok = self.preprocess(hyp);
        let mut interner = Interner::default();
        let hyp_ids = interner.ids(py_split(&hyp_tok));
        let ref_ids: Vec<Vec<u32>> = ref_toks.iter().map(|r| interner.ids(py_split(r))).collect();
        // Per n-gram, the maximum count over the references, sorted by key.
        let mut max_ref: Vec<(u128, u64)> = ref_ids.iter().flat_map(|r| ngram_counts(r)).collect();
        if ref_ids.len() > 1 {
            max_ref.sort_unstable();
        }
        max_ref.dedup_by(|later, kept| {
            // Equal keys are adjacent and ascending by count: keep the last.
            if later.0 == kept.0 {
                kept.1 = kept.1.max(later.1);
                true
            } else {
                false
            }
        });
        let hyp_len = hyp_ids.len() as u64;
        // Closest reference length; on equal distance the shorter wins.
        let mut closest: Option<(u64, u64)> = None;
        for toks in &ref_ids {
            let len = toks.len() as u64;
            let diff = hyp_len.abs_diff(len);
            closest = match closest {
                Some((d, l)) if diff > d || (diff == d && len >= l) => Some((d, l)),
                _ => Some((diff, len)),
            };
        }
        let mut st = Stats {
            sys_len: hyp_len,
            // sacrebleu's sentinel for "no reference" is -1; no input here
            // reaches it since every segment has at least one reference.
            ref_len: closest.map_or(0, |(_, l)| l),
            ..Stats::default()
        };
        for (k, c) in ngram_counts(&hyp_ids) {
            let n = order_of(k) - 1;
            st.total[n] += c;
            if let Ok(i) = max_ref.binary_search_by(|(rk, _)| rk.cmp(&k)) {
                st.correct[n] += c.min(max_ref[i].1);
            }
        }
        st
    }

    fn compute(&self, st: &Stats) -> BleuScore {
        let (sys_len, ref_len) = (st.sys_len as f64, st.ref_len as f64);
        let mut bp = 1.0;
        if st.sys_len < st.ref_len {
            bp = if st.sys_len > 0 {
                (1.0 - ref_len / sys_len).exp()
            } else {
                0.0
            };
        }
        let mut precisions = [0.0; MAX_ORDER];
        let mut out = BleuScore {
            score: 0.0,
            counts: st.correct,
            totals: st.total,
            precisions,
            bp,
            sys_len: st.sys_len,
            ref_len: st.ref_len,
        };
        if st.correct.iter().all(|&c| c == 0) {
            return out;
        }
        let mut correct: [f64; MAX_ORDER] = st.correct.map(|c| c as f64);
        let mut total: [f64; MAX_ORDER] = st.total.map(|c| c as f64);
        let mut smooth_mteval = 1.0;
        let mut eff_order = MAX_ORDER;
        for n in 1..=MAX_ORDER {
            if let Smooth::AddK(k) = self.smooth {
                if n > 1 {
                    correct[n - 1] += k;
                    total[n - 1] += k;
                }
            }
            if total[n - 1] == 0.0 {
                break;
            }
            if self.effective_order {
                eff_order = n;
            }
            if correct[n - 1] == 0.0 {
                match self.smooth {
                    Smooth::Exp => {
                        smooth_mteval *= 2.0;
                        precisions[n - 1] = 100.0 / (smooth_mteval * total[n - 1]);
                    }
                    Smooth::Floor(v) => precisions[n - 1] = 100.0 * v / total[n - 1],
                    _ => {}
                }
            } else {
                precisions[n - 1] = 100.0 * correct[n - 1] / total[n - 1];
            }
        }
        // sacrebleu floors log(0) at -9999999999 rather than -inf.
        let log_sum: f64 = precisions[..eff_order]
            .iter()
            .map(|&p| if p == 0.0 { -9_999_999_999.0 } else { p.ln() })
            .sum();
        out.score = bp * (log_sum / eff_order as f64).exp();
        out.precisions = precisions;
        out
    }

    /// `sacrebleu.corpus_bleu(hyps, refs)` where `refs[i]` holds every
    /// reference of segment `i` (a row-wise layout; sacrebleu's streams are
    /// its transpose). Variable reference counts are allowed.
    pub fn corpus_score(&self, hyps: &[&str], refs: &[Vec<&str>]) -> BleuScore {
        let mut total = Stats::default();
        for (h, r) in hyps.iter().zip(refs) {
            total.add(&self.segment(h, r));
        }
        self.compute(&total)
    }

    /// `BLEU(...).sentence_score(hyp, refs)`.
    pub fn sentence_score(&self, hyp: &str, refs: &[&str]) -> BleuScore {
        self.compute(&self.segment(hyp, refs))
    }

    /// sacrebleu's full signature, e.g.
    /// `nrefs:1|case:mixed|eff:no|tok:intl|smooth:exp|version:2.6.0`.
    /// `nrefs` is `var` when segments have different reference counts.
    pub fn signature(&self, refs: &[Vec<&str>]) -> String {
        let mut counts: Vec<usize> = refs.iter().map(Vec::len).collect();
        counts.sort_unstable();
        counts.dedup();
        let nrefs = match counts.as_slice() {
            [one] => one.to_string(),
            _ => "var".to_string(),
        };
        format!(
            "nrefs:{nrefs}|case:{}|eff:{}|tok:{}|smooth:{}|version:{SACREBLEU_VERSION}",
            if self.lowercase { "lc" } else { "mixed" },
            if self.effective_order { "yes" } else { "no" },
            self.tokenizer.signature(),
            self.smooth.signature(),
        )
    }
}
