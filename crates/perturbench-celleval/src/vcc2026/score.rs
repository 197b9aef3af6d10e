//! The vcc2026 score of one member on the replicate scale, as cell-eval2 0.20.0 computes it:
//! `s = (u − b)/(r − b)` (0 = the baseline `b`, 1 = the replicate ceiling `r`), then the
//! member's tail and clamps; the competition score is the mean over the six scored members.
//!
//! For a lower-is-better member this is written `1 − (u − r)/(b − r)`, the same number; a
//! member with a Box–Cox penalty replaces a negative `s` by `max(−C, −(ρᵖ − 1)/p)` with
//! `ρ = (u − r)/(b − r)`, `p = 2`, `C = 6`. A missing or non-finite `u` scores the floor (or,
//! for an unfloored member, the score of its structural worst value `metric_min`). A scale
//! whose replicate is not beyond the baseline in the member's direction is an error.

use crate::error::{CellEvalError, Result};

/// Box–Cox tail exponent `p`.
pub const PENALTY_EXPONENT: f64 = 2.0;
/// Box–Cox tail cap `C` (the floor of a Box–Cox member without its own `clamp_low`).
pub const PENALTY_CAP: f64 = 6.0;

/// Whether larger values of a member are better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Larger is better.
    Higher,
    /// Smaller is better.
    Lower,
}

/// How a member's value is turned into a score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Direction.
    pub direction: Direction,
    /// Box–Cox tail below the baseline (lower-is-better members only).
    pub boxcox: bool,
    /// Floor of the score (`None`: `−C` with Box–Cox, unbounded otherwise).
    pub clamp_low: Option<f64>,
    /// Ceiling of the score (`None`: unbounded).
    pub clamp_high: Option<f64>,
    /// The metric's structural worst value (scores a missing value of an unfloored member).
    pub metric_min: Option<f64>,
}

const UNFLOORED_HIGHER: Policy = Policy {
    direction: Direction::Higher,
    boxcox: false,
    clamp_low: None,
    clamp_high: None,
    metric_min: Some(0.0),
};

/// The six scored members of the vcc2026 profile and their policies.
pub const MEMBERS: [(&str, Policy); 6] = [
    ("pds_cosine", UNFLOORED_HIGHER),
    (
        "expr_mse_unbiased_capped_norm",
        Policy {
            direction: Direction::Lower,
            boxcox: true,
            clamp_low: Some(0.0),
            clamp_high: Some(1.0),
            metric_min: None,
        },
    ),
    (
        "de_wilcoxon_lfc_nmae",
        Policy {
            direction: Direction::Lower,
            boxcox: false,
            clamp_low: Some(-6.0),
            clamp_high: None,
            metric_min: None,
        },
    ),
    ("de_wilcoxon_direction_fidelity_yield_raw", UNFLOORED_HIGHER),
    ("de_wilcoxon_direction_reach_raw", UNFLOORED_HIGHER),
    ("de_wilcoxon_sig_jaccard", UNFLOORED_HIGHER),
];

impl Policy {
    fn low(&self) -> f64 {
        match self.clamp_low {
            Some(v) => v,
            None if self.boxcox => -PENALTY_CAP,
            None => f64::NEG_INFINITY,
        }
    }

    fn high(&self) -> f64 {
        self.clamp_high.unwrap_or(f64::INFINITY)
    }

    /// The unclamped score of `u` against baseline `b` and replicate `r`.
    fn raw(&self, u: f64, b: f64, r: f64) -> f64 {
        match self.direction {
            Direction::Higher => (u - b) / (r - b),
            Direction::Lower => {
                let rho = (u - r) / (b - r);
                let s = 1.0 - rho;
                if s < 0.0 && self.boxcox {
                    let t = -(rho.powf(PENALTY_EXPONENT) - 1.0) / PENALTY_EXPONENT;
                    if t.is_finite() {
                        t.max(-PENALTY_CAP)
                    } else {
                        -PENALTY_CAP
                    }
                } else {
                    s
                }
            }
        }
    }

    fn clip(&self, s: f64) -> f64 {
        let (low, high) = (self.low(), self.high());
        if !s.is_finite() || s <= low {
            low
        } else if s >= high {
            high
        } else {
            s
        }
    }

    /// The score of `user` (`None` when the member has no value) against baseline `b` and
    /// replicate `r`; an error when that scale is degenerate.
    pub fn score(&self, user: Option<f64>, b: f64, r: f64) -> Result<f64> {
        let d = match self.direction {
            Direction::Higher => r - b,
            Direction::Lower => b - r,
        };
        if !b.is_finite() || !r.is_finite() || d.is_nan() || d <= 0.0 {
            return Err(CellEvalError::Option(format!(
                "replicate {r} leaves no headroom over the baseline {b}"
            )));
        }
        let unusable = || -> f64 {
            if self.low().is_finite() {
                return self.low();
            }
            match self.metric_min {
                Some(m) => self.clip(self.raw(m, b, r)),
                None => self.low(),
            }
        };
        match user {
            Some(u) if u.is_finite() => {
                let s = self.raw(u, b, r);
                Ok(if s.is_finite() {
                    self.clip(s)
                } else {
                    unusable()
                })
            }
            _ => Ok(unusable()),
        }
    }
}

/// Per member `(name, score)` in [`MEMBERS`] order and their mean. `value(name)` gives the
/// submission's, the baseline's and the replicate's aggregate of a member (the user's may be
/// missing); an error names a member whose baseline or replicate is missing or degenerate.
pub fn score_members(
    value: impl Fn(&str) -> (Option<f64>, Option<f64>, Option<f64>),
) -> Result<(Vec<(String, f64)>, f64)> {
    let mut out = Vec::new();
    for (name, policy) in MEMBERS {
        let (u, b, r) = value(name);
        let (b, r) = match (b, r) {
            (Some(b), Some(r)) => (b, r),
            _ => {
                return Err(CellEvalError::Option(format!(
                    "{name}: the baseline or the replicate value is missing"
                )))
            }
        };
        let s = policy
            .score(u, b, r)
            .map_err(|e| CellEvalError::Option(format!("{name}: {e}")))?;
        out.push((name.to_string(), s));
    }
    let avg = out.iter().map(|m| m.1).sum::<f64>() / out.len() as f64;
    Ok((out, avg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_core_and_clamps() {
        let pds = MEMBERS[0].1;
        assert!((pds.score(Some(0.75), 0.5, 1.0).unwrap() - 0.5).abs() < 1e-15);
        assert!((pds.score(Some(0.25), 0.5, 1.0).unwrap() + 0.5).abs() < 1e-15);
        // Missing value of an unfloored member: the score of metric_min = 0.
        assert!((pds.score(None, 0.5, 1.0).unwrap() + 1.0).abs() < 1e-15);
        let norm = MEMBERS[1].1;
        assert_eq!(norm.score(Some(2.0), 1.0, 0.2).unwrap(), 0.0);
        assert_eq!(norm.score(Some(0.0), 1.0, 0.2).unwrap(), 1.0);
        let nmae = MEMBERS[2].1;
        assert_eq!(nmae.score(Some(100.0), 1.0, 0.2).unwrap(), -6.0);
        assert!(pds.score(Some(0.5), 1.0, 0.5).is_err());
    }
}
