//! Every aggregation and metric against a plain dense implementation written here from the
//! definitions (spec §5.2–5.4), on simulated data; exact float64 arithmetic on both sides.

use perturbench_data::simulator::{simulate, Preset, SimConfig};
use perturbench_eval::{evaluate, EvalConfig, Pipeline, TiePolicy};
use perturbench_io::{write_h5ad, AnnData, Compression, Csr, WriteOptions};
use std::collections::HashMap;

struct Dense {
    n: usize,
    g: usize,
    x: Vec<f64>,
    cov: Vec<String>,
    pert: Vec<String>,
}

fn dense(ad: &AnnData) -> Dense {
    let (n, g) = (ad.n_obs(), ad.n_vars());
    let col = |k: &str| {
        let c = ad.obs.column(k).unwrap();
        (0..n)
            .map(|i| c.value_string(i).unwrap())
            .collect::<Vec<_>>()
    };
    Dense {
        n,
        g,
        x: ad.x.to_dense().iter().map(|&v| v as f64).collect(),
        cov: col("cell_type"),
        pert: col("condition"),
    }
}

fn rows_of(d: &Dense, cov: &str, pert: &str) -> Vec<usize> {
    (0..d.n)
        .filter(|&r| d.cov[r] == cov && d.pert[r] == pert)
        .collect()
}

fn mean(d: &Dense, rows: &[usize]) -> Vec<f64> {
    (0..d.g)
        .map(|j| rows.iter().map(|&r| d.x[r * d.g + j]).sum::<f64>() / rows.len() as f64)
        .collect()
}

fn aggregate(d: &Dense, agg: &str, cov: &str, pert: &str) -> Vec<f64> {
    let rows = rows_of(d, cov, pert);
    match agg {
        "average" => mean(d, &rows),
        "logfc" => {
            let (m, c) = (mean(d, &rows), mean(d, &rows_of(d, cov, "control")));
            m.iter()
                .zip(&c)
                .map(|(a, b)| (a + 0.1).log2() - (b + 0.1).log2())
                .collect()
        }
        "var" => {
            let m = mean(d, &rows);
            (0..d.g)
                .map(|j| {
                    let v = rows
                        .iter()
                        .map(|&r| (d.x[r * d.g + j] - m[j]).powi(2))
                        .sum::<f64>()
                        / rows.len() as f64;
                    let cv = v.sqrt() / m[j];
                    if cv.is_nan() {
                        0.0
                    } else {
                        cv
                    }
                })
                .collect()
        }
        "scaled" => {
            let all: Vec<usize> = (0..d.n).collect();
            let mu = mean(d, &all);
            let sd: Vec<f64> = (0..d.g)
                .map(|j| {
                    let s = (all
                        .iter()
                        .map(|&r| (d.x[r * d.g + j] - mu[j]).powi(2))
                        .sum::<f64>()
                        / (d.n - 1) as f64)
                        .sqrt();
                    if s == 0.0 {
                        1.0
                    } else {
                        s
                    }
                })
                .collect();
            (0..d.g)
                .map(|j| {
                    rows.iter()
                        .map(|&r| ((d.x[r * d.g + j] - mu[j]) / sd[j]).clamp(-10.0, 10.0))
                        .sum::<f64>()
                        / rows.len() as f64
                })
                .collect()
        }
        other => panic!("{other}"),
    }
}

fn metric(m: &str, x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    match m {
        "rmse" => (x.iter().zip(y).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / n).sqrt(),
        "mse" => x.iter().zip(y).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / n,
        "mae" => x.iter().zip(y).map(|(a, b)| (a - b).abs()).sum::<f64>() / n,
        "cosine" => {
            x.iter().zip(y).map(|(a, b)| a * b).sum::<f64>()
                / (x.iter().map(|a| a * a).sum::<f64>().sqrt()
                    * y.iter().map(|a| a * a).sum::<f64>().sqrt())
        }
        "pearson" => {
            let c: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
            c / (x.iter().map(|a| (a - mx).powi(2)).sum::<f64>().sqrt()
                * y.iter().map(|b| (b - my).powi(2)).sum::<f64>().sqrt())
        }
        // The prediction x plays y_true, as the reference calls sklearn.
        "r2_score" => {
            1.0 - x.iter().zip(y).map(|(a, b)| (a - b).powi(2)).sum::<f64>()
                / x.iter().map(|a| (a - mx).powi(2)).sum::<f64>()
        }
        "top_k_recall" => {
            let top = |v: &[f64]| {
                let mut i: Vec<usize> = (0..v.len()).collect();
                i.sort_by(|&a, &b| v[b].abs().partial_cmp(&v[a].abs()).unwrap().then(a.cmp(&b)));
                i.truncate(50);
                i
            };
            let tx = top(x);
            top(y).iter().filter(|j| tx.contains(j)).count() as f64 / 50.0
        }
        other => panic!("{other}"),
    }
}

#[test]
fn evaluation_equals_a_plain_dense_implementation() {
    let cfg = SimConfig::preset(Preset::Small)
        .with_overrides(Some(1500), Some(120), Some(10))
        .unwrap();
    let truth = simulate(&cfg, 5, &|_, _| {}).unwrap().adata;
    // A prediction: the truth with deterministic noise.
    let mut pred = truth.clone();
    let g = pred.n_vars();
    let mut dense_pred: Vec<f32> = pred.x.to_dense();
    for (i, v) in dense_pred.iter_mut().enumerate() {
        *v += (((i * 7919) % 101) as f32 / 101.0 - 0.3) * 0.2;
        *v = v.max(0.0);
    }
    pred.x = Csr::from_dense(pred.n_obs(), g, &dense_pred).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (rp, pp) = (dir.path().join("truth.h5ad"), dir.path().join("pred.h5ad"));
    let opts = WriteOptions {
        compression: Compression::None,
    };
    write_h5ad(&rp, &truth, &opts).unwrap();
    write_h5ad(&pp, &pred, &opts).unwrap();
    let mut pipelines = Vec::new();
    for a in ["average", "logfc", "var", "scaled"] {
        for m in [
            "rmse",
            "mse",
            "mae",
            "cosine",
            "pearson",
            "r2_score",
            "top_k_recall",
        ] {
            pipelines.push(format!("{a}:{m}:rank").parse::<Pipeline>().unwrap());
        }
    }
    let ecfg = EvalConfig {
        pipelines,
        covariate_keys: vec!["cell_type".into()],
        float32_aggregates: false,
        ties: TiePolicy::Mid,
        ..EvalConfig::default()
    };
    let out = evaluate(&rp, &[("noisy".into(), pp)], &ecfg, &|_| {}).unwrap();
    let (dt, dp) = (dense(&truth), dense(&pred));
    let got: HashMap<(String, String, String, String), f64> = out
        .per_perturbation
        .iter()
        .map(|r| {
            (
                (
                    r.aggregation.clone(),
                    r.metric.clone(),
                    r.covariates.clone(),
                    r.perturbation.clone(),
                ),
                r.value,
            )
        })
        .collect();
    let mut groups: Vec<(String, String)> = (0..dt.n)
        .filter(|&r| dt.pert[r] != "control")
        .map(|r| (dt.cov[r].clone(), dt.pert[r].clone()))
        .collect();
    groups.sort();
    groups.dedup();
    let mut checked = 0;
    for a in ["average", "logfc", "var", "scaled"] {
        for m in [
            "rmse",
            "mse",
            "mae",
            "cosine",
            "pearson",
            "r2_score",
            "top_k_recall",
        ] {
            // covariate -> (perturbation, predicted vector, observed vector)
            type Member<'a> = (&'a str, Vec<f64>, Vec<f64>);
            let mut by_cov: HashMap<&str, Vec<Member>> = HashMap::new();
            for (c, p) in &groups {
                let (x, y) = (aggregate(&dp, a, c, p), aggregate(&dt, a, c, p));
                let want = metric(m, &x, &y);
                let have = got[&(a.to_string(), m.to_string(), c.clone(), p.clone())];
                assert!(
                    (have - want).abs() <= 1e-9 * want.abs().max(1.0),
                    "{a} {m} {c} {p}: {have} vs {want}"
                );
                by_cov.entry(c).or_default().push((p, x, y));
                checked += 1;
            }
            // Ranks with mid ties: for observation j, predictions strictly better + half the ties.
            let better = |v: f64, w: f64| {
                if m == "rmse" || m == "mse" || m == "mae" {
                    v < w
                } else {
                    v > w
                }
            };
            for (c, members) in by_cov {
                let n = members.len();
                for (j, (p, _, y)) in members.iter().enumerate() {
                    let own = metric(m, &members[j].1, y);
                    let scores: Vec<f64> =
                        members.iter().map(|(_, x, _)| metric(m, x, y)).collect();
                    let b = scores.iter().filter(|&&s| better(s, own)).count() as f64;
                    let t = scores
                        .iter()
                        .enumerate()
                        .filter(|&(i, &s)| i != j && s == own)
                        .count() as f64;
                    let want = (b + t / 2.0) / n as f64;
                    let have = got[&(
                        a.to_string(),
                        format!("{m}_rank"),
                        c.to_string(),
                        p.to_string(),
                    )];
                    assert!(
                        (have - want).abs() < 1e-12,
                        "{a} {m}_rank {c} {p}: {have} vs {want}"
                    );
                }
            }
        }
    }
    assert!(checked > 100);
}
