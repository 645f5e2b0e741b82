//! Which task the next example comes from: a draw by rate, deterministic from
//! the seed, whose whole state is one RNG word (part of the cursor).
//!
//! The rates themselves (examples-proportional with cap, temperature,
//! explicit, family-balanced) are the plan's business; this module only
//! executes them, plus [`with_c4_ratio`] for ExT5's C4 : ExMix ratio R.

use crate::error::{DataError, Result};
use crate::rng::Rng;

/// Tasks and their (unnormalised) rates, and the seed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SamplerSpec {
    /// `(task name, rate)`; rates need not sum to one.
    pub tasks: Vec<(String, f64)>,
    /// Seed of the draw.
    pub seed: u64,
}

/// Adds C4 at R C4 examples per mixture example: its rate is R times the sum
/// of the others, so C4's share is R / (1 + R).
pub fn with_c4_ratio(mut tasks: Vec<(String, f64)>, c4: &str, ratio: f64) -> Vec<(String, f64)> {
    let total: f64 = tasks.iter().map(|(_, r)| r).sum();
    tasks.push((c4.to_string(), ratio * total));
    tasks
}

/// Draws task indices by rate.
#[derive(Debug, Clone, PartialEq)]
pub struct MixtureSampler {
    cumulative: Vec<f64>,
    rng: Rng,
}

impl MixtureSampler {
    /// A sampler for `spec`; rates must be finite, non-negative, not all zero.
    pub fn new(spec: &SamplerSpec) -> Result<Self> {
        let mut cumulative = Vec::with_capacity(spec.tasks.len());
        let mut acc = 0.0;
        for (name, rate) in &spec.tasks {
            if !rate.is_finite() || *rate < 0.0 {
                return Err(DataError::Config(format!("task `{name}` has rate {rate}")));
            }
            acc += rate;
            cumulative.push(acc);
        }
        if acc <= 0.0 {
            return Err(DataError::Config("the mixture's rates are all zero".into()));
        }
        for c in &mut cumulative {
            *c /= acc;
        }
        Ok(MixtureSampler {
            cumulative,
            rng: Rng::derive(spec.seed, &[0x5a4d]),
        })
    }

    /// The next task index.
    pub fn next_task(&mut self) -> usize {
        let u = self.rng.unit();
        let i = self.cumulative.partition_point(|&c| c <= u);
        // Rounding can leave the last cumulative a hair under 1.
        i.min(self.cumulative.len() - 1)
    }

    /// The RNG state (for the cursor).
    pub fn state(&self) -> Rng {
        self.rng
    }

    /// Restores the RNG state from a cursor.
    pub fn set_state(&mut self, rng: Rng) {
        self.rng = rng;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_follow_rates() {
        let tasks = with_c4_ratio(vec![("a".into(), 1.0), ("b".into(), 3.0)], "c4", 2.0);
        let mut s = MixtureSampler::new(&SamplerSpec { tasks, seed: 1 }).unwrap();
        let mut counts = [0usize; 3];
        for _ in 0..120_000 {
            counts[s.next_task()] += 1;
        }
        let share = |i: usize| counts[i] as f64 / 120_000.0;
        assert!((share(0) - 1.0 / 12.0).abs() < 0.005);
        assert!((share(1) - 3.0 / 12.0).abs() < 0.005);
        assert!((share(2) - 8.0 / 12.0).abs() < 0.005);
    }

    #[test]
    fn zero_rates_rejected() {
        let spec = SamplerSpec {
            tasks: vec![("a".into(), 0.0)],
            seed: 0,
        };
        assert!(MixtureSampler::new(&spec).is_err());
    }
}
