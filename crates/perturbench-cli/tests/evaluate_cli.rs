//! `perturbench evaluate` end to end: matching rules, outputs, and bad input.

mod common;
use common::*;
use perturbench_io::{
    read_csv_records, read_h5ad, write_h5ad, AnnData, Column, Compression, WriteOptions,
};
use std::path::{Path, PathBuf};

fn sim(dir: &Path) -> PathBuf {
    simulate_small(dir, "truth.h5ad", 3)
}

fn save(ad: &AnnData, path: &Path) -> String {
    write_h5ad(
        path,
        ad,
        &WriteOptions {
            compression: Compression::None,
        },
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

fn summary(dir: &Path) -> Vec<Vec<String>> {
    read_csv_records(&dir.join("summary.csv")).unwrap()
}

#[test]
fn genes_in_any_order_and_combos_in_any_spelling_give_the_same_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let truth = sim(dir.path());
    let ad = read_h5ad(&truth).unwrap();
    // Genes reversed.
    let rev: Vec<usize> = (0..ad.n_vars()).rev().collect();
    let reversed = save(&ad.select_vars(&rev), &dir.path().join("rev.h5ad"));
    // Combos written B+A.
    let mut swapped = ad.clone();
    if let Some(Column::Categorical { categories, .. }) = swapped
        .obs
        .columns
        .iter_mut()
        .find(|(n, _)| n == "condition")
        .map(|(_, c)| c)
    {
        for c in categories.iter_mut() {
            if let Some((a, b)) = c.split_once('+') {
                *c = format!("{b}+{a}");
            }
        }
    }
    let swapped = save(&swapped, &dir.path().join("swapped.h5ad"));
    let out = dir.path().join("eval");
    let r = perturbench(&[
        "evaluate",
        "--reference",
        truth.to_str().unwrap(),
        "--prediction",
        &format!("reversed={reversed}"),
        "--prediction",
        &format!("swapped={swapped}"),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for row in summary(&out).iter().skip(1) {
        let v: f64 = row[3].parse().unwrap();
        let want = if row[2] == "cosine" { 1.0 } else { 0.0 };
        assert!((v - want).abs() < 1e-12, "{row:?}");
    }
    // Stable formats: headers and a run.json with config and input checksums.
    let per = read_csv_records(&out.join("per_perturbation.csv")).unwrap();
    assert_eq!(
        per[0],
        [
            "model",
            "aggregation",
            "metric",
            "covariates",
            "perturbation",
            "value"
        ]
    );
    assert!(per.iter().any(|r| r[2] == "cosine_rank"));
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["config"]["rank_denominator"], "n");
    // The checksum is SHA-256 of the whole file, as `sha256sum` prints it.
    let sum = std::process::Command::new("sha256sum")
        .arg(&truth)
        .output()
        .unwrap();
    let want = String::from_utf8_lossy(&sum.stdout)[..64].to_string();
    assert_eq!(run["inputs"][0]["sha256"].as_str().unwrap(), want);
    assert!(
        r.stdout.contains("rmse_average") && r.stdout.contains("cosine_rank_logfc"),
        "{}",
        r.stdout
    );
}

#[test]
fn missing_perturbations_warn_and_missing_genes_fail() {
    let dir = tempfile::tempdir().unwrap();
    let truth = sim(dir.path());
    let ad = read_h5ad(&truth).unwrap();
    let cond = ad.obs.column("condition").unwrap().clone();
    let dropped = cond
        .value_string(0)
        .filter(|c| c != "control")
        .unwrap_or_else(|| cond.value_string(1).unwrap());
    let keep: Vec<usize> = (0..ad.n_obs())
        .filter(|&r| cond.value_string(r).unwrap() != dropped)
        .collect();
    let fewer = save(&ad.select_obs(&keep), &dir.path().join("fewer.h5ad"));
    let out = dir.path().join("eval");
    let r = perturbench(&[
        "evaluate",
        "--reference",
        truth.to_str().unwrap(),
        "--prediction",
        &format!("m={fewer}"),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("warning") && r.stderr.contains(&dropped),
        "{}",
        r.stderr
    );
    let cols: Vec<usize> = (1..ad.n_vars()).collect();
    let lacking = save(&ad.select_vars(&cols), &dir.path().join("lacking.h5ad"));
    let out2 = dir.path().join("eval2");
    let r = perturbench(&[
        "evaluate",
        "--reference",
        truth.to_str().unwrap(),
        "--prediction",
        &format!("m={lacking}"),
        "--out",
        out2.to_str().unwrap(),
    ]);
    assert_error(
        &r,
        &[
            "lacking.h5ad",
            "reference genes are missing",
            &ad.var_names()[0],
        ],
    );
    assert!(!out2.exists());
}

#[test]
fn bad_inputs_fail_cleanly_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let truth = sim(dir.path());
    let ad = read_h5ad(&truth).unwrap();
    let t = truth.to_str().unwrap();
    let out = dir.path().join("eval");
    let o = out.to_str().unwrap();
    // A prediction whose perturbation column has another name.
    let mut renamed = ad.clone();
    for (n, _) in renamed.obs.columns.iter_mut() {
        if n == "condition" {
            *n = "perturbation".into();
        }
    }
    let p = save(&renamed, &dir.path().join("renamed.h5ad"));
    assert_error(
        &perturbench(&[
            "evaluate",
            "--reference",
            t,
            "--prediction",
            &format!("m={p}"),
            "--out",
            o,
        ]),
        &["renamed.h5ad", "no column 'condition'"],
    );
    // A prediction without control cells.
    let cond = ad.obs.column("condition").unwrap();
    let keep: Vec<usize> = (0..ad.n_obs())
        .filter(|&r| cond.value_string(r).unwrap() != "control")
        .collect();
    let p = save(&ad.select_obs(&keep), &dir.path().join("noctrl.h5ad"));
    assert_error(
        &perturbench(&[
            "evaluate",
            "--reference",
            t,
            "--prediction",
            &format!("m={p}"),
            "--out",
            o,
        ]),
        &["noctrl.h5ad", "control label 'control'"],
    );
    // NaN in X, named with its row.
    let mut nan = ad.clone();
    let row = 7;
    let at = nan.x.indptr()[row] as usize;
    nan.x.data_mut()[at] = f32::NAN;
    let p = save(&nan, &dir.path().join("nan.h5ad"));
    assert_error(
        &perturbench(&[
            "evaluate",
            "--reference",
            t,
            "--prediction",
            &format!("m={p}"),
            "--out",
            o,
        ]),
        &["nan.h5ad", "row 7"],
    );
    // No perturbation in common.
    let mut other = ad.clone();
    if let Some(Column::Categorical { categories, .. }) = other
        .obs
        .columns
        .iter_mut()
        .find(|(n, _)| n == "condition")
        .map(|(_, c)| c)
    {
        for c in categories.iter_mut().filter(|c| *c != "control") {
            *c = format!("X{c}");
        }
    }
    let p = save(&other, &dir.path().join("other.h5ad"));
    assert_error(
        &perturbench(&[
            "evaluate",
            "--reference",
            t,
            "--prediction",
            &format!("m={p}"),
            "--out",
            o,
        ]),
        &["other.h5ad", "shares no"],
    );
    // Unknown pipeline.
    assert_error(
        &perturbench(&[
            "evaluate",
            "--reference",
            t,
            "--prediction",
            &format!("m={t}"),
            "--pipeline",
            "median:rmse",
            "--out",
            o,
        ]),
        &["median"],
    );
    assert!(!out.exists());
    let leftovers: Vec<String> = entries(dir.path())
        .into_iter()
        .filter(|e| e.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
