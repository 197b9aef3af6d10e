//! Local quadratic regression (loess, Cleveland & Grosse 1991) of one predictor, as the netlib
//! `dloess` code behind R's and scikit-misc's `loess` computes it: each local fit uses the
//! `floor(span · n + 1e-5)` nearest neighbours with tricube weights (the farthest one weight
//! 0). By default (`surface = "interpolate"`) the fit is evaluated exactly only at the vertices
//! of a k-d tree whose cells hold at most `floor(n · span · 0.2)` points, and each point's
//! value is the cubic Hermite interpolation of its cell's vertex values and slopes; the direct
//! surface evaluates the local fit at every point.

/// Value and slope at `q` of the local quadratic fit over the `nf` nearest of the sorted `xs`.
fn local_fit(xs: &[f64], ys: &[f64], q: f64, nf: usize, span: f64) -> (f64, f64) {
    let n = xs.len();
    // The nf nearest points form a window around q's position.
    let mut lo = xs.partition_point(|&v| v < q);
    let mut hi = lo; // window [lo, hi)
    while hi - lo < nf {
        let take_left = if lo == 0 {
            false
        } else if hi == n {
            true
        } else {
            q - xs[lo - 1] <= xs[hi] - q
        };
        if take_left {
            lo -= 1;
        } else {
            hi += 1;
        }
    }
    let far = (q - xs[lo]).abs().max((xs[hi - 1] - q).abs());
    let rho = far * far * span.max(1.0); // squared radius, as dloess
    let (from, to) = if span > 1.0 { (0, n) } else { (lo, hi) };
    let (mut s0, mut s1, mut s2, mut s3, mut s4) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut t0, mut t1, mut t2) = (0.0, 0.0, 0.0);
    for k in from..to {
        let d = xs[k] - q;
        let dist = d * d;
        if dist >= rho {
            continue;
        }
        let u = (dist / rho).sqrt();
        let w = (1.0 - u * u * u).powi(3);
        let (d2, yk) = (dist, ys[k]);
        s0 += w;
        s1 += w * d;
        s2 += w * d2;
        s3 += w * d2 * d;
        s4 += w * d2 * d2;
        t0 += w * yk;
        t1 += w * d * yk;
        t2 += w * d2 * yk;
    }
    // Solve [s0 s1 s2; s1 s2 s3; s2 s3 s4] b = [t0 t1 t2]: value b0, slope b1.
    let det = s0 * (s2 * s4 - s3 * s3) - s1 * (s1 * s4 - s3 * s2) + s2 * (s1 * s3 - s2 * s2);
    if det != 0.0 && det.abs() > 1e-13 * (s0 * s2 * s4).abs() {
        let b0 =
            (t0 * (s2 * s4 - s3 * s3) - s1 * (t1 * s4 - s3 * t2) + s2 * (t1 * s3 - s2 * t2)) / det;
        let b1 =
            (s0 * (t1 * s4 - s3 * t2) - t0 * (s1 * s4 - s3 * s2) + s2 * (s1 * t2 - t1 * s2)) / det;
        return (b0, b1);
    }
    // Degenerate neighbourhood: local linear, then local mean.
    let det1 = s0 * s2 - s1 * s1;
    if det1 != 0.0 && det1.abs() > 1e-13 * (s0 * s2).abs() {
        return ((t0 * s2 - s1 * t1) / det1, (s0 * t1 - s1 * t0) / det1);
    }
    (if s0 > 0.0 { t0 / s0 } else { 0.0 }, 0.0)
}

fn sorted(x: &[f64], y: &[f64]) -> (Vec<usize>, Vec<f64>, Vec<f64>) {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let xs = order.iter().map(|&i| x[i]).collect();
    let ys = order.iter().map(|&i| y[i]).collect();
    (order, xs, ys)
}

fn neighbours(n: usize, span: f64) -> usize {
    (((n as f64) * span + 1e-5).floor() as usize).clamp(1, n)
}

/// Fitted values of the direct surface: the local fit evaluated at every `x`.
pub fn loess_fit_direct(x: &[f64], y: &[f64], span: f64) -> Vec<f64> {
    let n = x.len();
    if n == 0 {
        return Vec::new();
    }
    let (order, xs, ys) = sorted(x, y);
    let nf = neighbours(n, span);
    let mut fitted = vec![0.0; n];
    for (k, &i) in order.iter().enumerate() {
        fitted[i] = local_fit(&xs, &ys, xs[k], nf, span).0;
    }
    fitted
}

/// Fitted values of the interpolated surface (loess' default), degree 2, cell 0.2.
pub fn loess_fit(x: &[f64], y: &[f64], span: f64) -> Vec<f64> {
    let n = x.len();
    if n == 0 {
        return Vec::new();
    }
    let (order, xs, ys) = sorted(x, y);
    let nf = neighbours(n, span);
    let fc = ((n as f64) * span * 0.2).floor() as usize;
    // Bounding box, widened by 0.5 % of the range.
    let (mn, mx) = (xs[0], xs[n - 1]);
    let mu = 0.005 * (mx - mn).max(1e-10 * mn.abs().max(mx.abs()) + 1e-30);
    // k-d tree over sorted points: cells [l, u] (inclusive) with vertex interval [a, b].
    struct Cell {
        l: usize,
        u: usize,
        a: f64,
        b: f64,
        split: Option<(f64, usize, usize)>,
    }
    let mut cells = vec![Cell {
        l: 0,
        u: n - 1,
        a: mn - mu,
        b: mx + mu,
        split: None,
    }];
    let mut p = 0;
    while p < cells.len() {
        let (l, u, a, b) = (cells[p].l, cells[p].u, cells[p].a, cells[p].b);
        if u - l + 1 > fc {
            // Median (1-based m = floor((l+u)/2)), moved so that ties go to the upper son.
            let m0 = (l + u) / 2; // = floor((l1 + u1) / 2) - 1 for 1-based l1, u1
            let mut offset: i64 = 0;
            let mut m = m0;
            loop {
                let at = m0 as i64 + offset;
                if at >= u as i64 || at < l as i64 {
                    break;
                }
                let at = at as usize;
                if xs[at] == xs[at + 1] {
                    offset = -offset;
                    if offset >= 0 {
                        offset += 1;
                    }
                } else {
                    m = at;
                    break;
                }
            }
            let v = xs[m];
            if v != a && v != b {
                let left = cells.len();
                cells.push(Cell {
                    l,
                    u: m,
                    a,
                    b: v,
                    split: None,
                });
                cells.push(Cell {
                    l: m + 1,
                    u,
                    a: v,
                    b,
                    split: None,
                });
                cells[p].split = Some((v, left, left + 1));
            }
        }
        p += 1;
    }
    // Local fits at the vertices.
    let mut vertices: Vec<f64> = cells.iter().flat_map(|c| [c.a, c.b]).collect();
    vertices.sort_by(f64::total_cmp);
    vertices.dedup();
    let fits: Vec<(f64, f64)> = vertices
        .iter()
        .map(|&v| local_fit(&xs, &ys, v, nf, span))
        .collect();
    let at = |v: f64| {
        fits[vertices
            .binary_search_by(|p| p.total_cmp(&v))
            .expect("vertex")]
    };
    let mut fitted = vec![0.0; n];
    for (k, &i) in order.iter().enumerate() {
        let z = xs[k];
        let mut c = 0;
        while let Some((v, lo, hi)) = cells[c].split {
            c = if z <= v { lo } else { hi };
        }
        let (a, b) = (cells[c].a, cells[c].b);
        let ((g0, d0), (g1, d1)) = (at(a), at(b));
        let h = (z - a) / (b - a);
        let phi0 = (1.0 - h).powi(2) * (1.0 + 2.0 * h);
        let phi1 = h * h * (3.0 - 2.0 * h);
        let psi0 = h * (1.0 - h).powi(2);
        let psi1 = h * h * (h - 1.0);
        fitted[i] = phi0 * g0 + phi1 * g1 + (psi0 * d0 + psi1 * d1) * (b - a);
    }
    fitted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproduces_polynomials_and_scikit_misc() {
        // A quadratic is fitted exactly by local quadratic regression, on either surface.
        let x: Vec<f64> = (0..200).map(|i| (i as f64 * 0.37).sin() * 3.0).collect();
        let y: Vec<f64> = x.iter().map(|v| 1.0 + 2.0 * v - 0.5 * v * v).collect();
        for (a, b) in loess_fit_direct(&x, &y, 0.3).iter().zip(&y) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
        for (a, b) in loess_fit(&x, &y, 0.3).iter().zip(&y) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
        // scikit-misc 0.5.3: loess(x, y, span=0.3, degree=2[, surface="direct"]) with
        // x = 0.06 * arange(101), y = sin(x) + 0.1 cos(7x); fitted values at x = 0, 3 and 6.
        let x: Vec<f64> = (0..101).map(|i| i as f64 * 0.06).collect();
        let y: Vec<f64> = x.iter().map(|v| v.sin() + 0.1 * (7.0 * v).cos()).collect();
        let d = loess_fit_direct(&x, &y, 0.3);
        let f = loess_fit(&x, &y, 0.3);
        for (k, i) in [0usize, 50, 100].into_iter().enumerate() {
            assert!(
                (d[i] - SKMISC_DIRECT[k]).abs() < 1e-9,
                "x = {}: {} vs direct {}",
                x[i],
                d[i],
                SKMISC_DIRECT[k]
            );
            assert!(
                (f[i] - SKMISC_INTERP[k]).abs() < 1e-9,
                "x = {}: {} vs interpolated {}",
                x[i],
                f[i],
                SKMISC_INTERP[k]
            );
        }
    }

    include!("loess_expected.rs");
}
