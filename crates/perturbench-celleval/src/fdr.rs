//! Benjamini–Hochberg false discovery rate, as `scipy.stats.false_discovery_control`
//! (`method="bh"`) computes it — the call pdex 0.3.0 makes once per perturbation
//! (`pdex._assemble_group_frame`).

/// BH-adjusted p-values, in the input order.
///
/// Sorted ascending, `q_(k) = p_(k) · (m / k)` (the factor `m / k` is formed first, as
/// scipy does), then a running minimum from the largest p downwards, clipped to `[0, 1]`.
/// NaN inputs are ordered last and propagate, as `np.minimum` does.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    if m == 0 {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mf = m as f64;
    let mut q: Vec<f64> = order
        .iter()
        .enumerate()
        .map(|(k, &i)| p[i] * (mf / (k + 1) as f64))
        .collect();
    for k in (0..m - 1).rev() {
        let next = q[k + 1];
        if next.is_nan() || next < q[k] {
            q[k] = next;
        }
    }
    let mut out = vec![0.0; m];
    for (k, &i) in order.iter().enumerate() {
        out[i] = q[k].clamp(0.0, 1.0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: scipy.stats.false_discovery_control([0.01, 0.04, 0.03, 0.5, 0.04])
    /// = [0.05, 0.05, 0.05, 0.5, 0.05] (scipy 1.17.1).
    #[test]
    fn matches_scipy() {
        let q = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.5, 0.04]);
        let want = [0.05, 0.05, 0.05, 0.5, 0.05];
        for (a, b) in q.iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{q:?}");
        }
        assert!(benjamini_hochberg(&[]).is_empty());
    }
}
