//! The files of a vcc2026 run: `results.csv` (long: `perturbation,metric,value`) and
//! `agg_results.csv` (one `statistic` row each of `count, null_count, mean, std, min, max,
//! median`, one column per metric sorted by name), numbers written as Python's `repr`.

/// A float as polars writes it into a CSV from Python (Python's `repr(float)`: shortest
/// round-trip digits, exponent form below 1e-4 and from 1e16 on; `NaN`, `inf`, `-inf`).
pub fn py_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let e = format!("{v:e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..16).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mant}e{sign}{:02}", exp.abs());
    }
    let s = format!("{v}");
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

/// `results.csv`: one row per (perturbation, metric) in the given order.
pub fn results_csv(rows: &[(String, String, f64)]) -> String {
    let mut s = String::from("perturbation,metric,value\n");
    for (p, m, v) in rows {
        s.push_str(&format!("{},{},{}\n", csv_field(p), m, py_float(*v)));
    }
    s
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The seven statistics of one metric's values: `count` and `null_count` of the raw
/// values, the rest over the non-NaN ones (sample std; NaN when undefined; median by
/// linear interpolation).
pub fn statistics(values: &[f64]) -> [f64; 7] {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let nan = f64::NAN;
    let mean = if n == 0 {
        nan
    } else {
        v.iter().sum::<f64>() / n as f64
    };
    let std = if n < 2 {
        nan
    } else {
        (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64).sqrt()
    };
    let median = if n == 0 {
        nan
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    [
        values.len() as f64,
        0.0,
        mean,
        std,
        v.first().copied().unwrap_or(nan),
        v.last().copied().unwrap_or(nan),
        median,
    ]
}

/// `agg_results.csv` for the metric columns `columns` (one value per perturbation; `None`
/// where the metric has no row for it) and the `derived` metrics (one aggregate value each,
/// written as the `mean`, every other statistic NaN).
pub fn agg_results_csv(
    columns: &[(String, Vec<Option<f64>>)],
    derived: &[(String, f64)],
) -> String {
    let nan = f64::NAN;
    let mut cols: Vec<(&str, [f64; 7])> = columns
        .iter()
        .map(|c| {
            let v: Vec<f64> = c.1.iter().flatten().copied().collect();
            (c.0.as_str(), statistics(&v))
        })
        .chain(
            derived
                .iter()
                .map(|(m, v)| (m.as_str(), [nan, nan, *v, nan, nan, nan, nan])),
        )
        .collect();
    cols.sort_by(|a, b| a.0.cmp(b.0));
    let stats: Vec<[f64; 7]> = cols.iter().map(|c| c.1).collect();
    let mut s = String::from("statistic");
    for c in &cols {
        s.push(',');
        s.push_str(c.0);
    }
    s.push('\n');
    for (k, name) in ["count", "null_count", "mean", "std", "min", "max", "median"]
        .iter()
        .enumerate()
    {
        s.push_str(name);
        for st in &stats {
            s.push(',');
            s.push_str(&py_float(st[k]));
        }
        s.push('\n');
    }
    s
}

/// `anchor_agg.csv`: one row per metric of the replicate anchor.
pub fn anchor_agg_csv(a: &super::anchor::Anchor) -> String {
    let opt = |v: Option<usize>| v.map(|n| n.to_string()).unwrap_or_default();
    let mut s = String::from("metric,replicate,replicate_sd,replicate_min,replicate_max,n_perturbations_min,n_perturbations_max,estimator\n");
    for r in &a.anchor {
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            csv_field(&r.metric),
            py_float(r.replicate),
            py_float(r.replicate_sd),
            py_float(r.replicate_min),
            py_float(r.replicate_max),
            opt(r.n_perturbations_min),
            opt(r.n_perturbations_max),
            r.estimator
        ));
    }
    s
}

/// `anchor_splits.csv`: one row per split and metric.
pub fn anchor_splits_csv(a: &super::anchor::Anchor) -> String {
    let mut s = String::from("split_index,seed,metric,value,n_perturbations\n");
    for r in &a.splits {
        s.push_str(&format!(
            "{},{},{},{},{}\n",
            r.split_index,
            r.seed,
            csv_field(&r.metric),
            py_float(r.value),
            r.n_perturbations.map(|n| n.to_string()).unwrap_or_default()
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_repr() {
        assert_eq!(py_float(1.0), "1.0");
        assert_eq!(py_float(0.9896907216494846), "0.9896907216494846");
        assert_eq!(py_float(1e-5), "1e-05");
        assert_eq!(py_float(1.5e-7), "1.5e-07");
        assert_eq!(py_float(0.0001), "0.0001");
        assert_eq!(py_float(1e16), "1e+16");
        assert_eq!(py_float(18.0), "18.0");
        assert_eq!(py_float(f64::NAN), "NaN");
        let s = statistics(&[1.0, 3.0, f64::NAN, 2.0]);
        assert_eq!(&s[..3], &[4.0, 0.0, 2.0]);
        assert_eq!(s[6], 2.0);
        assert!((s[3] - 1.0).abs() < 1e-15);
    }
}
