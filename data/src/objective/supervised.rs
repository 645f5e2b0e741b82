//! Supervised examples: rendered input and target text, tokenized, cut to
//! the plan's lengths with room for EOS, and counted when cut: truncation is
//! never silent (`exc check --data` and the run report print the counters).

use crate::objective::Example;

/// Maximum lengths, EOS included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Lengths {
    /// Encoder length.
    pub inputs: usize,
    /// Decoder length.
    pub targets: usize,
}

/// Per-task counts of what truncation cut.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TruncationCounts {
    /// Examples seen.
    pub examples: u64,
    /// Examples whose inputs were cut.
    pub inputs_truncated: u64,
    /// Examples whose targets were cut.
    pub targets_truncated: u64,
    /// Input tokens dropped in all.
    pub input_tokens_dropped: u64,
    /// Target tokens dropped in all.
    pub target_tokens_dropped: u64,
}

impl TruncationCounts {
    /// Adds another task's or worker's counts.
    pub fn add(&mut self, o: &TruncationCounts) {
        self.examples += o.examples;
        self.inputs_truncated += o.inputs_truncated;
        self.targets_truncated += o.targets_truncated;
        self.input_tokens_dropped += o.input_tokens_dropped;
        self.target_tokens_dropped += o.target_tokens_dropped;
    }
}

/// Cuts `ids` to `len - 1` tokens and appends EOS (seqio's
/// `append_eos_after_trim`); returns how many tokens were dropped.
fn trim_append_eos(ids: &mut Vec<i32>, len: usize, eos: i32) -> u64 {
    let keep = len.saturating_sub(1);
    let dropped = ids.len().saturating_sub(keep) as u64;
    ids.truncate(keep);
    if len > 0 {
        ids.push(eos);
    }
    dropped
}

/// A supervised example from token ids without EOS.
pub fn supervised_example(
    mut inputs: Vec<i32>,
    mut targets: Vec<i32>,
    lengths: Lengths,
    eos: i32,
    counts: &mut TruncationCounts,
) -> Example {
    counts.examples += 1;
    let di = trim_append_eos(&mut inputs, lengths.inputs, eos);
    let dt = trim_append_eos(&mut targets, lengths.targets, eos);
    if di > 0 {
        counts.inputs_truncated += 1;
        counts.input_tokens_dropped += di;
    }
    if dt > 0 {
        counts.targets_truncated += 1;
        counts.target_tokens_dropped += dt;
    }
    Example { inputs, targets }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_keep_eos_and_count() {
        let mut c = TruncationCounts::default();
        let l = Lengths {
            inputs: 4,
            targets: 3,
        };
        let ex = supervised_example(vec![5, 6, 7, 8, 9], vec![3], l, 1, &mut c);
        assert_eq!(ex.inputs, vec![5, 6, 7, 1]);
        assert_eq!(ex.targets, vec![3, 1]);
        assert_eq!(
            (
                c.inputs_truncated,
                c.input_tokens_dropped,
                c.targets_truncated
            ),
            (1, 2, 0)
        );
    }
}

/// A length distribution and the share a limit would cut, for `exc check --data`.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LengthReport {
    /// Examples measured.
    pub count: usize,
    /// Median length (EOS included).
    pub p50: usize,
    /// 90th percentile.
    pub p90: usize,
    /// 99th percentile.
    pub p99: usize,
    /// Longest.
    pub max: usize,
    /// Share of examples longer than the limit (0..1).
    pub truncated_share: f64,
}

impl LengthReport {
    /// Summarises `lengths` (EOS included) against `limit`.
    pub fn new(mut lengths: Vec<usize>, limit: usize) -> Self {
        if lengths.is_empty() {
            return LengthReport::default();
        }
        lengths.sort_unstable();
        let n = lengths.len();
        let q = |p: usize| lengths[((n - 1) * p) / 100];
        let over = lengths.iter().filter(|&&l| l > limit).count();
        LengthReport {
            count: n,
            p50: q(50),
            p90: q(90),
            p99: q(99),
            max: lengths[n - 1],
            truncated_share: over as f64 / n as f64,
        }
    }
}

#[cfg(test)]
mod report_tests {
    use super::LengthReport;

    #[test]
    fn percentiles_and_share() {
        let r = LengthReport::new((1..=100).collect(), 90);
        assert_eq!((r.p50, r.p90, r.max), (50, 90, 100));
        assert!((r.truncated_share - 0.10).abs() < 1e-12);
    }
}
