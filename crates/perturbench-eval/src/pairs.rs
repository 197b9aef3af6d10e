//! The all-pairs metric matrix of a rank metric: `metric(prediction row i, observed row j)` for
//! every i, j of one covariate, computed with per-row work (conversion, norms) done once.
//! Values equal [`metric::compute`] on the same rows, except cosine, whose dot product is
//! summed in four lanes (a difference in the last bits only).

use rayon::prelude::*;

use crate::metric;
use crate::{EvalConfig, Metric};

fn clean(v: f64) -> f64 {
    if v.is_infinite() {
        0.0
    } else {
        v
    }
}

/// numpy's pairwise float32 summation (see [`metric::numpy_sum_f32`]) of `op(x[i], y[i])`,
/// without materialising the terms.
#[inline]
fn numpy_sum_map(x: &[f32], y: &[f32], op: impl Fn(f32, f32) -> f32 + Copy) -> f32 {
    let n = x.len();
    if n < 8 {
        let mut res = 0f32;
        for i in 0..n {
            res += op(x[i], y[i]);
        }
        res
    } else if n <= 128 {
        let mut r = [0f32; 8];
        for k in 0..8 {
            r[k] = op(x[k], y[k]);
        }
        let end = n - n % 8;
        for (xs, ys) in x[8..end].chunks_exact(8).zip(y[8..end].chunks_exact(8)) {
            for k in 0..8 {
                r[k] += op(xs[k], ys[k]);
            }
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for i in end..n {
            res += op(x[i], y[i]);
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        numpy_sum_map(&x[..n2], &y[..n2], op) + numpy_sum_map(&x[n2..], &y[n2..], op)
    }
}

fn dot4(x: &[f64], y: &[f64]) -> f64 {
    let mut acc = [0f64; 4];
    let (xc, yc) = (x.chunks_exact(4), y.chunks_exact(4));
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (a, b) in xc.zip(yc) {
        for k in 0..4 {
            acc[k] += a[k] * b[k];
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (a, b) in xr.iter().zip(yr) {
        s += a * b;
    }
    s
}

/// Row-major `xs.len() × ys.len()` matrix of `metric(xs[i], ys[j])` over all genes.
pub fn matrix(
    m: Metric,
    xs: &[&[f64]],
    ys: &[&[f64]],
    float32: bool,
    cfg: &EvalConfig,
) -> Vec<f64> {
    let (nx, ny) = (xs.len(), ys.len());
    if float32 && matches!(m, Metric::Mse | Metric::Rmse | Metric::Mae) {
        let conv = |rows: &[&[f64]]| -> Vec<Vec<f32>> {
            rows.iter()
                .map(|r| r.iter().map(|&v| clean(v) as f32).collect())
                .collect()
        };
        let (xf, yf) = (conv(xs), conv(ys));
        return (0..nx * ny)
            .into_par_iter()
            .map(|k| {
                let (x, y) = (&xf[k / ny], &yf[k % ny]);
                let s = if m == Metric::Mae {
                    numpy_sum_map(x, y, |a, b| (a - b).abs())
                } else {
                    numpy_sum_map(x, y, |a, b| (a - b) * (a - b))
                };
                let mean = s / x.len() as f32;
                if m == Metric::Rmse {
                    mean.sqrt() as f64
                } else {
                    mean as f64
                }
            })
            .collect();
    }
    if m == Metric::Cosine {
        let conv = |rows: &[&[f64]]| -> Vec<Vec<f64>> {
            rows.iter()
                .map(|r| r.iter().map(|&v| clean(v)).collect())
                .collect()
        };
        let (xc, yc) = (conv(xs), conv(ys));
        let norm = |v: &Vec<f64>| v.iter().map(|a| a * a).sum::<f64>().sqrt();
        let (xn, yn): (Vec<f64>, Vec<f64>) =
            (xc.iter().map(norm).collect(), yc.iter().map(norm).collect());
        return (0..nx * ny)
            .into_par_iter()
            .map(|k| {
                let (i, j) = (k / ny, k % ny);
                dot4(&xc[i], &yc[j]) / (xn[i] * yn[j])
            })
            .collect();
    }
    (0..nx * ny)
        .into_par_iter()
        .map(|k| metric::compute(m, xs[k / ny], ys[k % ny], None, float32, cfg))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_paths_agree_with_compute() {
        let cfg = EvalConfig::default();
        let row = |s: u64, n: usize| -> Vec<f64> {
            (0..n)
                .map(|i| (((i as u64 * 2654435761 + s * 97) % 1000) as f64 / 137.0 - 3.0).sin())
                .collect()
        };
        for n in [5usize, 100, 777, 5000] {
            let a: Vec<Vec<f64>> = (0..3).map(|s| row(s, n)).collect();
            let mut b: Vec<Vec<f64>> = (3..7).map(|s| row(s, n)).collect();
            b[0][n / 2] = f64::INFINITY;
            let xs: Vec<&[f64]> = a.iter().map(Vec::as_slice).collect();
            let ys: Vec<&[f64]> = b.iter().map(Vec::as_slice).collect();
            for m in [
                Metric::Rmse,
                Metric::Mse,
                Metric::Mae,
                Metric::Cosine,
                Metric::Pearson,
            ] {
                for f32_agg in [true, false] {
                    let mat = matrix(m, &xs, &ys, f32_agg, &cfg);
                    for i in 0..xs.len() {
                        for j in 0..ys.len() {
                            let want = metric::compute(m, xs[i], ys[j], None, f32_agg, &cfg);
                            let got = mat[i * ys.len() + j];
                            if m == Metric::Cosine {
                                assert!((got - want).abs() <= 1e-14, "{m:?} {n}: {got} {want}");
                            } else {
                                assert_eq!(got, want, "{m:?} {n} {f32_agg}");
                            }
                        }
                    }
                }
            }
        }
    }
}
