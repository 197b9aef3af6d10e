//! Small statistics used by the report: quantiles, box-plot summaries, mean ± sd, metric
//! directions and number formatting.

/// Quantile `p` (0..=1) of `sorted` (ascending, finite) with linear interpolation between
/// order statistics: numpy's default (`method="linear"`, Hyndman–Fan type 7):
/// `h = (n - 1) p`, `q = x[floor(h)] + (h - floor(h)) (x[floor(h) + 1] - x[floor(h)])`.
/// `None` for an empty slice.
pub fn quantile(sorted: &[f64], p: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let h = (n - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

/// Box-plot summary of a sample: quartiles (numpy's linear convention, see [`quantile`]),
/// Tukey whiskers (the most extreme data points within 1.5 IQR of the box) and the points
/// beyond them.
#[derive(Debug, Clone, PartialEq)]
pub struct BoxStats {
    /// Number of finite values.
    pub n: usize,
    /// First quartile.
    pub q1: f64,
    /// Median.
    pub median: f64,
    /// Third quartile.
    pub q3: f64,
    /// Lower whisker end: smallest value ≥ q1 − 1.5 IQR.
    pub whisker_lo: f64,
    /// Upper whisker end: largest value ≤ q3 + 1.5 IQR.
    pub whisker_hi: f64,
    /// Values outside the whiskers, ascending.
    pub outliers: Vec<f64>,
    /// Arithmetic mean.
    pub mean: f64,
}

impl BoxStats {
    /// Summarises the finite values of `values`; `None` if there are none.
    pub fn new(values: &[f64]) -> Option<BoxStats> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let q1 = quantile(&v, 0.25)?;
        let median = quantile(&v, 0.5)?;
        let q3 = quantile(&v, 0.75)?;
        let iqr = q3 - q1;
        let (lo_fence, hi_fence) = (q1 - 1.5 * iqr, q3 + 1.5 * iqr);
        let inside = v
            .iter()
            .copied()
            .filter(|&x| x >= lo_fence && x <= hi_fence);
        let whisker_lo = inside.clone().fold(f64::INFINITY, f64::min);
        let whisker_hi = inside.fold(f64::NEG_INFINITY, f64::max);
        let outliers = v
            .iter()
            .copied()
            .filter(|&x| x < lo_fence || x > hi_fence)
            .collect();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        Some(BoxStats {
            n: v.len(),
            q1,
            median,
            q3,
            whisker_lo,
            whisker_hi,
            outliers,
            mean,
        })
    }
}

/// Mean and sample standard deviation (n − 1 denominator; `None` for one value) of the finite
/// values; `None` if there are none.
pub fn mean_sd(values: &[f64]) -> Option<(f64, Option<f64>)> {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = (v.len() > 1)
        .then(|| (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    Some((mean, sd))
}

/// Which way a metric improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Lower values are better (errors, distances, ranks).
    Lower,
    /// Higher values are better (similarities, correlations, recall).
    Higher,
}

/// Direction of a metric or a `{metric}_{aggregation}` column: lower is better for anything
/// containing `_rank` and for rmse/mse/mae/energy/mmd; higher for cosine/pearson/r2/top_k_recall;
/// `None` for unknown metrics.
pub fn better(name: &str) -> Option<Better> {
    let name = name.to_ascii_lowercase();
    let is = |m: &str| name == m || name.starts_with(&format!("{m}_"));
    if name.contains("_rank") || name == "rank" {
        return Some(Better::Lower);
    }
    if ["rmse", "mse", "mae", "energy", "mmd"]
        .iter()
        .any(|m| is(m))
    {
        Some(Better::Lower)
    } else if ["cosine", "pearson", "r2", "top_k_recall"]
        .iter()
        .any(|m| is(m))
    {
        Some(Better::Higher)
    } else {
        None
    }
}

/// Whether a metric name (or column) is a rank metric (contains `_rank`).
pub fn is_rank(name: &str) -> bool {
    name.to_ascii_lowercase().contains("_rank")
}

/// `v` with 4 significant digits, without exponent for ordinary magnitudes.
pub fn fmt_sig(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if v == 0.0 {
        return "0".into();
    }
    let mag = v.abs().log10().floor() as i32;
    if !(-4..=6).contains(&mag) {
        return format!("{v:.3e}");
    }
    let digits = (3 - mag).max(0) as usize;
    format!("{v:.digits$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions() {
        assert_eq!(better("rmse_average"), Some(Better::Lower));
        assert_eq!(better("mse_logfc"), Some(Better::Lower));
        assert_eq!(better("cosine_rank_logfc"), Some(Better::Lower));
        assert_eq!(better("cosine_logfc"), Some(Better::Higher));
        assert_eq!(better("r2_score_average"), Some(Better::Higher));
        assert_eq!(better("top_k_recall_logfc"), Some(Better::Higher));
        assert_eq!(better("wall_seconds"), None);
    }

    #[test]
    fn formatting() {
        assert_eq!(fmt_sig(0.123456), "0.1235");
        assert_eq!(fmt_sig(12.3456), "12.35");
        assert_eq!(fmt_sig(12345.6), "12346");
        assert_eq!(fmt_sig(0.0), "0");
    }
}
