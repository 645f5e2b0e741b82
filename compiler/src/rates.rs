//! Mixing rates, as seqio computes them: examples-proportional with a cap and
//! a temperature, uniform, explicit weights, or uniform across families with
//! proportional within each family. Pure functions over sizes.

/// One task's inputs to the rate computation.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub examples: Option<u64>,
    pub family: String,
    pub weight: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Policy {
    /// seqio `mixing_rate_num_examples`: min(n * scale, cap) ^ (1 / temperature).
    Proportional {
        cap: Option<f64>,
        temperature: f64,
        scale: f64,
    },
    Uniform,
    Weights,
    /// Uniform across families, proportional (capped) within a family (paper §2.1).
    FamilyUniform {
        cap: Option<f64>,
    },
}

/// The size a task is mixed by under `policy` (before any temperature):
/// its scaled, capped number of examples; `None` where sizes play no part
/// (uniform rates, explicit weights).
pub fn mixed_size(examples: u64, policy: &Policy) -> Option<f64> {
    match policy {
        Policy::Proportional { cap, scale, .. } => Some(capped(examples, *cap, *scale)),
        Policy::FamilyUniform { cap } => Some(capped(examples, *cap, 1.0)),
        Policy::Uniform | Policy::Weights => None,
    }
}

/// The capped size used for mixing.
pub fn capped(examples: u64, cap: Option<f64>, scale: f64) -> f64 {
    let n = examples as f64 * scale;
    cap.map_or(n, |c| n.min(c))
}

/// Why rates cannot be computed.
#[derive(Debug, Clone, PartialEq)]
pub enum RatesError {
    /// The indices of members without a size (or weight).
    Missing(Vec<usize>),
    /// Every size (or weight) is zero: no share can be given to anyone.
    AllZero,
}

/// Normalised rates (summing to 1).
pub fn rates(members: &[Member], policy: &Policy) -> Result<Vec<f64>, RatesError> {
    // An empty selection is reported where it is made.
    if members.is_empty() {
        return Ok(Vec::new());
    }
    let missing: Vec<usize> = members
        .iter()
        .enumerate()
        .filter(|(_, m)| match policy {
            Policy::Proportional { .. } | Policy::FamilyUniform { .. } => m.examples.is_none(),
            Policy::Weights => m.weight.is_none(),
            Policy::Uniform => false,
        })
        .map(|(i, _)| i)
        .collect();
    if !missing.is_empty() {
        return Err(RatesError::Missing(missing));
    }
    let raw: Vec<f64> = match policy {
        Policy::Proportional {
            cap,
            temperature,
            scale,
        } => members
            .iter()
            .map(|m| capped(m.examples.unwrap_or(0), *cap, *scale).powf(1.0 / temperature))
            .collect(),
        Policy::Uniform => vec![1.0; members.len()],
        Policy::Weights => members.iter().map(|m| m.weight.unwrap_or(0.0)).collect(),
        Policy::FamilyUniform { cap } => {
            let mut families: Vec<&str> = members.iter().map(|m| m.family.as_str()).collect();
            families.sort_unstable();
            families.dedup();
            let per_family = 1.0 / families.len().max(1) as f64;
            members
                .iter()
                .map(|m| {
                    let total: f64 = members
                        .iter()
                        .filter(|o| o.family == m.family)
                        .map(|o| capped(o.examples.unwrap_or(0), *cap, 1.0))
                        .sum();
                    let own = capped(m.examples.unwrap_or(0), *cap, 1.0);
                    if total > 0.0 {
                        per_family * own / total
                    } else {
                        0.0
                    }
                })
                .collect()
        }
    };
    let sum: f64 = raw.iter().sum();
    // Falling back to uniform here would silently train on another mixture
    // than the one declared: the caller reports it instead.
    if sum <= 0.0 || !sum.is_finite() {
        return Err(RatesError::AllZero);
    }
    Ok(raw.iter().map(|r| r / sum).collect())
}

/// A seeded, platform-independent choice of `k` of `n` indices (sorted).
/// splitmix64 + Fisher-Yates: stable across releases, unlike a library RNG.
pub fn subset(n: usize, k: usize, seed: u64) -> Vec<usize> {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut idx: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        idx.swap(i, j);
    }
    let mut chosen: Vec<usize> = idx.into_iter().take(k.min(n)).collect();
    chosen.sort_unstable();
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mixed_size_is_the_policys() {
        let prop = |cap, scale| Policy::Proportional {
            cap,
            temperature: 1.0,
            scale,
        };
        assert_eq!(
            mixed_size(169_654, &prop(Some(30_000.0), 1.0)),
            Some(30_000.0)
        );
        // The scale applies before the cap.
        let scaled = mixed_size(169_654, &prop(Some(30_000.0), 0.1)).unwrap();
        assert!((scaled - 16_965.4).abs() < 1e-6);
        assert_eq!(
            mixed_size(10, &Policy::FamilyUniform { cap: Some(5.0) }),
            Some(5.0)
        );
        assert_eq!(mixed_size(10, &Policy::Uniform), None);
        assert_eq!(mixed_size(10, &Policy::Weights), None);
    }

    fn m(n: u64, fam: &str) -> Member {
        Member {
            examples: Some(n),
            family: fam.into(),
            weight: None,
        }
    }

    #[test]
    fn proportional_with_cap_matches_seqio() {
        let r = rates(
            &[m(100, "a"), m(1_000_000, "b")],
            &Policy::Proportional {
                cap: Some(300_000.0),
                temperature: 1.0,
                scale: 1.0,
            },
        )
        .unwrap();
        assert!((r[0] - 100.0 / 300_100.0).abs() < 1e-15);
        assert!((r[1] - 300_000.0 / 300_100.0).abs() < 1e-15);
    }

    #[test]
    fn family_uniform_splits_evenly_between_families() {
        let r = rates(
            &[m(10, "a"), m(30, "a"), m(5, "b")],
            &Policy::FamilyUniform { cap: None },
        )
        .unwrap();
        assert!((r[0] - 0.125).abs() < 1e-15);
        assert!((r[1] - 0.375).abs() < 1e-15);
        assert!((r[2] - 0.5).abs() < 1e-15);
    }

    #[test]
    fn missing_sizes_are_reported() {
        let mut a = m(1, "a");
        a.examples = None;
        let err = rates(
            &[a, m(2, "b")],
            &Policy::Proportional {
                cap: None,
                temperature: 1.0,
                scale: 1.0,
            },
        );
        assert_eq!(err, Err(RatesError::Missing(vec![0])));
    }

    #[test]
    fn all_zero_sizes_are_an_error_not_uniform() {
        let policy = Policy::Proportional {
            cap: None,
            temperature: 1.0,
            scale: 1.0,
        };
        assert_eq!(
            rates(&[m(0, "a"), m(0, "b")], &policy),
            Err(RatesError::AllZero)
        );
        assert!(rates(&[m(0, "a"), m(3, "b")], &policy).is_ok());
    }

    #[test]
    fn subset_is_stable() {
        assert_eq!(subset(10, 3, 7), subset(10, 3, 7));
        assert_ne!(subset(100, 10, 1), subset(100, 10, 2));
        assert_eq!(subset(5, 9, 1).len(), 5);
    }
}
