//! Synthetic report inputs written to temporary directories.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// Deterministic pseudo-random numbers (64-bit LCG), uniform in [0, 1).
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407))
    }
    pub fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Approximately normal (sum of 4 uniforms, standardised).
    pub fn normal(&mut self) -> f64 {
        ((0..4).map(|_| self.next()).sum::<f64>() - 2.0) * 3f64.sqrt()
    }
}

pub fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

pub const MODELS: [&str; 3] = ["linear", "latent_additive", "cpa"];

/// Quality of a model: 0 = perfect.
fn noise(model: &str) -> f64 {
    match model {
        "linear" => 0.8,
        "latent_additive" => 0.5,
        _ => 0.3,
    }
}

/// Writes `summary.csv`, `per_perturbation.csv`, `logfc_examples.csv` and `run.json` of one
/// run with `models` into `dir`.
pub fn write_eval(dir: &Path, models: &[&str], seed: u64, n_pert: usize) {
    let mut rng = Lcg::new(seed);
    let mut per = String::from("model,aggregation,metric,covariates,perturbation,value\n");
    let mut summary = String::from("model,aggregation,metric,value\n");
    let mut logfc = String::from("model,covariates,perturbation,gene,observed,predicted\n");
    for m in models {
        let q = noise(m);
        let mut sums = [0.0; 4];
        for p in 0..n_pert {
            let pert = format!("GENE{p}+ctrl");
            let rmse = (q + 0.25 * rng.normal()).abs() + if p % 17 == 3 { 1.5 } else { 0.0 };
            let cos = (1.0 - q + 0.1 * rng.normal()).clamp(-1.0, 1.0);
            let rank_c = (q * 0.4 + 0.15 * rng.next()).clamp(0.0, 1.0);
            let rank_r = (q * 0.5 + 0.2 * rng.next()).clamp(0.0, 1.0);
            let vals = [
                ("average", "rmse", rmse),
                ("logfc", "cosine", cos),
                ("logfc", "cosine_rank", rank_c),
                ("average", "rmse_rank", rank_r),
            ];
            for (k, (agg, metric, v)) in vals.iter().enumerate() {
                writeln!(per, "{m},{agg},{metric},K562,{pert},{v}").unwrap();
                sums[k] += v;
            }
        }
        for (k, (agg, metric)) in [
            ("average", "rmse"),
            ("logfc", "cosine"),
            ("logfc", "cosine_rank"),
            ("average", "rmse_rank"),
        ]
        .iter()
        .enumerate()
        {
            writeln!(summary, "{m},{agg},{metric},{}", sums[k] / n_pert as f64).unwrap();
        }
        for pert in ["GENE1+ctrl", "GENE2+GENE5"] {
            for g in 0..60 {
                let obs = 1.5 * rng.normal();
                let pred = obs * (1.0 - q * 0.6) + q * rng.normal();
                writeln!(logfc, "{m},K562,{pert},G{g},{obs},{pred}").unwrap();
            }
        }
    }
    write(&dir.join("per_perturbation.csv"), &per);
    write(&dir.join("summary.csv"), &summary);
    write(&dir.join("logfc_examples.csv"), &logfc);
    let run = serde_json::json!({
        "tool": "perturbench",
        "version": "0.1.0",
        "config": {"aggregations": ["average", "logfc"], "rank_denominator": "n", "seed": seed},
        "inputs": [
            {"role": "reference", "path": "/data/norman19/test.h5ad",
             "sha256": "3f2a9c1b7d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff"},
            {"role": "prediction", "model": models[0], "path": "/runs/pred.h5ad", "sha256": null}
        ],
        "warnings": [],
        "wall_seconds": 12.5 + seed as f64,
        "unknown_key": {"nested": true}
    });
    write(
        &dir.join("run.json"),
        &serde_json::to_string_pretty(&run).unwrap(),
    );
}

/// A benchmark output: leaderboard.csv and runs/<id>/{job.json,evaluation/...}.
pub fn write_bench(dir: &Path) {
    let mut lb = String::from(
        "model,dataset,task,seed,rmse_average,rmse_rank_average,cosine_logfc,cosine_rank_logfc\n",
    );
    for seed in [0u64, 1] {
        for m in MODELS {
            let q = noise(m);
            let s = seed as f64 * 0.01;
            // cpa has no rmse_rank_average for seed 1: missing values must be accepted.
            let rank = if m == "cpa" && seed == 1 {
                String::new()
            } else {
                format!("{}", q * 0.5 + s)
            };
            writeln!(
                lb,
                "{m},norman19,transfer,{seed},{},{rank},{},{}",
                q + s,
                1.0 - q + s,
                q * 0.4 + s
            )
            .unwrap();
            let run = dir.join(format!("runs/{m}-s{seed}"));
            write(
                &run.join("job.json"),
                &format!(
                    r#"{{"model":"{m}","dataset":"norman19","task":"transfer","seed":{seed}}}"#
                ),
            );
            write_eval(
                &run.join("evaluation"),
                &[m],
                seed * 10 + m.len() as u64,
                40,
            );
        }
    }
    write(&dir.join("leaderboard.csv"), &lb);
}

/// An HPO study directory with `n` trials.
pub fn write_study(dir: &Path, name: &str, n: u64) {
    let mut rng = Lcg::new(7);
    let mut t = String::from("study,number,state,value,params\n");
    for i in 0..n {
        let lr = 10f64.powf(-4.0 + 3.0 * rng.next());
        let state = match i % 9 {
            4 => "PRUNED",
            7 if i > 10 => "FAIL",
            _ => "COMPLETE",
        };
        let value = if state == "COMPLETE" {
            format!(
                "{}",
                0.6 + 0.3 * (-(i as f64) / 8.0).exp() + 0.08 * rng.next()
            )
        } else {
            String::new()
        };
        let params = format!(
            r#"{{"lr": {lr}, "hidden": {}, "dropout": 0.1}}"#,
            64 << (i % 3)
        );
        writeln!(
            t,
            "{name},{i},{state},{value},\"{}\"",
            params.replace('"', "\"\"")
        )
        .unwrap();
    }
    write(&dir.join("trials.csv"), &t);
    write(
        &dir.join("best.yaml"),
        "direction: minimize\nbest_value: 0.61\nparams:\n  lr: 0.001\n  hidden: 128\n",
    );
}

/// All three formats, plus a standalone evaluate output with a hostile model name.
pub fn write_all(root: &Path) -> Vec<PathBuf> {
    let bench = root.join("bench");
    write_bench(&bench);
    let study = root.join("hpo-study");
    write_study(&study, "latent_additive/norman19", 30);
    let eval = root.join("eval-out");
    write_eval(&eval, &["<script>alert(1)</script>", "linear"], 99, 25);
    vec![bench, study, eval]
}
