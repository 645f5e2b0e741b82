//! Learning-rate schedules as pure functions of the step (1-based, the
//! step about to be taken).

/// A learning-rate schedule.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    Constant {
        lr: f64,
    },
    /// `lr` for `warmup` steps, then `lr * sqrt(warmup / step)`: T5's
    /// inverse square root (ExT5: 0.01 for 10k steps, i.e. 1/sqrt(step)).
    ConstantThenRsqrt {
        lr: f64,
        warmup: i64,
    },
    /// Linear warmup to `lr` over `warmup` steps, then cosine decay to
    /// `final_lr` at `total` steps.
    WarmupCosine {
        lr: f64,
        warmup: i64,
        total: i64,
        final_lr: f64,
    },
    /// Linear warmup, then linear decay to `final_lr` at `total` steps.
    WarmupLinear {
        lr: f64,
        warmup: i64,
        total: i64,
        final_lr: f64,
    },
}

impl Schedule {
    pub fn lr(&self, step: i64) -> f64 {
        let step = step.max(1);
        match *self {
            Schedule::Constant { lr } => lr,
            Schedule::ConstantThenRsqrt { lr, warmup } => {
                lr * (warmup.max(1) as f64 / step.max(warmup) as f64).sqrt()
            }
            Schedule::WarmupCosine {
                lr,
                warmup,
                total,
                final_lr,
            } => {
                if step <= warmup {
                    return lr * step as f64 / warmup.max(1) as f64;
                }
                let t = progress(step, warmup, total);
                final_lr + (lr - final_lr) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
            }
            Schedule::WarmupLinear {
                lr,
                warmup,
                total,
                final_lr,
            } => {
                if step <= warmup {
                    return lr * step as f64 / warmup.max(1) as f64;
                }
                lr + (final_lr - lr) * progress(step, warmup, total)
            }
        }
    }
}

/// Fraction of the decay phase done, in [0, 1].
fn progress(step: i64, warmup: i64, total: i64) -> f64 {
    let span = (total - warmup).max(1) as f64;
    ((step - warmup) as f64 / span).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::Schedule;

    #[test]
    fn ext5_schedule() {
        let s = Schedule::ConstantThenRsqrt {
            lr: 0.01,
            warmup: 10_000,
        };
        assert_eq!(s.lr(1), 0.01);
        assert_eq!(s.lr(10_000), 0.01);
        assert!((s.lr(40_000) - 0.005).abs() < 1e-12);
    }

    #[test]
    fn warmup_then_decay() {
        let c = Schedule::WarmupCosine {
            lr: 1.0,
            warmup: 10,
            total: 110,
            final_lr: 0.0,
        };
        assert!((c.lr(5) - 0.5).abs() < 1e-12);
        assert!((c.lr(60) - 0.5).abs() < 1e-12);
        assert!(c.lr(110).abs() < 1e-12);
        let l = Schedule::WarmupLinear {
            lr: 1.0,
            warmup: 0,
            total: 100,
            final_lr: 0.0,
        };
        assert!((l.lr(50) - 0.5).abs() < 1e-12);
    }
}
