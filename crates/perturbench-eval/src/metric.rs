//! Metrics between a predicted vector `x` and an observed vector `y` (spec §5.3); ±inf are
//! replaced by 0 first, as the reference does.

use crate::{EvalConfig, Metric};

fn clean(v: f64) -> f64 {
    if v.is_infinite() {
        0.0
    } else {
        v
    }
}

/// numpy's pairwise summation of float32 values (`np.add.reduce` on a contiguous array):
/// blocks of up to 128 summed with 8 accumulators, larger ranges split in two.
pub fn numpy_sum_f32(a: &[f32]) -> f32 {
    let n = a.len();
    if n < 8 {
        let mut res = 0f32;
        for &v in a {
            res += v;
        }
        res
    } else if n <= 128 {
        let mut r = [0f32; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - n % 8 {
            for k in 0..8 {
                r[k] += a[i + k];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        numpy_sum_f32(&a[..n2]) + numpy_sum_f32(&a[n2..])
    }
}

/// `metric(x = prediction, y = observation)` over the positions `genes` (all when `None`).
/// With `float32` (aggregates the reference stores as float32), mse/rmse/mae are computed in
/// float32 exactly as numpy does on them.
pub fn compute(
    metric: Metric,
    x: &[f64],
    y: &[f64],
    genes: Option<&[usize]>,
    float32: bool,
    cfg: &EvalConfig,
) -> f64 {
    match genes {
        Some(g) => {
            let (xs, ys): (Vec<f64>, Vec<f64>) = g.iter().map(|&j| (x[j], y[j])).unzip();
            compute_all(metric, &xs, &ys, float32, cfg)
        }
        None => compute_all(metric, x, y, float32, cfg),
    }
}

thread_local! {
    static DIFFS: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn compute_all(metric: Metric, x: &[f64], y: &[f64], float32: bool, cfg: &EvalConfig) -> f64 {
    let n = x.len() as f64;
    let pairs = || x.iter().zip(y).map(|(&a, &b)| (clean(a), clean(b)));
    if float32 && matches!(metric, Metric::Mse | Metric::Rmse | Metric::Mae) {
        return DIFFS.with(|buf| {
            let mut d = buf.borrow_mut();
            d.clear();
            d.extend(pairs().map(|(a, b)| {
                let diff = a as f32 - b as f32;
                if metric == Metric::Mae {
                    diff.abs()
                } else {
                    diff * diff
                }
            }));
            let mean = numpy_sum_f32(&d) / d.len() as f32;
            if metric == Metric::Rmse {
                mean.sqrt() as f64
            } else {
                mean as f64
            }
        });
    }
    match metric {
        Metric::Mse => pairs().map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / n,
        Metric::Rmse => (pairs().map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / n).sqrt(),
        Metric::Mae => pairs().map(|(a, b)| (a - b).abs()).sum::<f64>() / n,
        Metric::Cosine => {
            let (mut dot, mut nx, mut ny) = (0.0, 0.0, 0.0);
            for (a, b) in pairs() {
                dot += a * b;
                nx += a * a;
                ny += b * b;
            }
            dot / (nx.sqrt() * ny.sqrt())
        }
        Metric::Pearson => {
            let (mut sx, mut sy) = (0.0, 0.0);
            for (a, b) in pairs() {
                sx += a;
                sy += b;
            }
            let (mx, my) = (sx / n, sy / n);
            let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
            for (a, b) in pairs() {
                sxy += (a - mx) * (b - my);
                sxx += (a - mx) * (a - mx);
                syy += (b - my) * (b - my);
            }
            // scipy clips to [-1, 1]; a constant input gives NaN.
            (sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0)
        }
        Metric::R2Score => {
            // sklearn r2_score(y_true, y_pred); the reference passes the prediction as y_true.
            let truth_is_x = cfg.r2_prediction_as_truth;
            let mean = pairs()
                .map(|(a, b)| if truth_is_x { a } else { b })
                .sum::<f64>()
                / n;
            let (mut ss_res, mut ss_tot) = (0.0, 0.0);
            for (a, b) in pairs() {
                let (t, p) = if truth_is_x { (a, b) } else { (b, a) };
                ss_res += (t - p) * (t - p);
                ss_tot += (t - mean) * (t - mean);
            }
            if ss_tot == 0.0 {
                // sklearn: 1 for a perfect fit, 0 otherwise, when the truth is constant.
                if ss_res == 0.0 {
                    1.0
                } else {
                    0.0
                }
            } else {
                1.0 - ss_res / ss_tot
            }
        }
        // Cell-level metrics are computed from cells (see `cells`), never from vectors.
        Metric::Energy | Metric::Mmd => f64::NAN,
        Metric::TopKRecall => {
            let k = cfg.top_k.min(x.len());
            if k == 0 {
                return f64::NAN;
            }
            let top = |v: &[f64]| {
                let mut idx: Vec<usize> = (0..v.len()).collect();
                idx.sort_by(|&a, &b| {
                    clean(v[b])
                        .abs()
                        .total_cmp(&clean(v[a]).abs())
                        .then(a.cmp(&b))
                });
                idx.truncate(k);
                idx
            };
            let tx: std::collections::HashSet<usize> = top(x).into_iter().collect();
            top(y).iter().filter(|j| tx.contains(j)).count() as f64 / k as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_sum_matches_numpy() {
        // numpy 2.4.6: np.add.reduce(np.sqrt(np.arange(1, 301, dtype=np.float32)) / np.float32(13))
        // = 267.1197204589844 (a plain sequential float32 sum gives 267.1196594238281).
        let v: Vec<f32> = (1..=300).map(|i| (i as f32).sqrt() / 13.0).collect();
        assert_eq!(numpy_sum_f32(&v), 267.119_72_f32);
        assert_ne!(v.iter().sum::<f32>(), 267.119_72_f32);
        let c = EvalConfig::default();
        let x = [1.0, 2.0, 3.0];
        let y = [1.0, 2.0, 5.0];
        assert_eq!(
            compute(Metric::Rmse, &x, &y, None, false, &c),
            (4.0f64 / 3.0).sqrt()
        );
        assert_eq!(compute(Metric::Mae, &x, &y, Some(&[2]), false, &c), 2.0);
        assert!((compute(Metric::Cosine, &x, &x, None, false, &c) - 1.0).abs() < 1e-15);
        assert!(
            (compute(Metric::Pearson, &x, &y, None, false, &c) - 0.9607689228305228).abs() < 1e-12
        );
        // sklearn: r2_score(y_true=x, y_pred=y) = 1 - 4 / 2 = -1 (prediction as y_true).
        assert_eq!(compute(Metric::R2Score, &x, &y, None, false, &c), -1.0);
        let conventional = EvalConfig {
            r2_prediction_as_truth: false,
            ..EvalConfig::default()
        };
        // r2_score(y, x) = 1 - 4 / (mean 8/3: 25/9 + 4/9 + 49/9 = 78/9) = 1 - 36/78.
        assert!(
            (compute(Metric::R2Score, &x, &y, None, false, &conventional) - (1.0 - 36.0 / 78.0))
                .abs()
                < 1e-15
        );
    }
}
