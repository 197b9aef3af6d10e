//! cell-eval's metrics inside PerturBench runs: `train … evaluation.cell_eval=PROFILE` and
//! `evaluate --cell-eval PROFILE` put cell-eval's per-perturbation values into
//! `per_perturbation.csv` and their means into `summary.csv` (aggregation `cell-eval`), with
//! cell-eval's own files in `evaluation/cell_eval/<model>/`; a benchmark suite with
//! `args: [evaluation.cell_eval=vcc]` gets the columns in its leaderboard.
//!
//! The summary values are checked against cell-eval 0.8.2 itself, run on the run's
//! `reference.h5ad` and `predictions.h5ad` with the same settings (`--celltype-col cell_type`):
//! for every metric, the mean over all (cell type, perturbation) rows of its `*_results.csv`
//! files, empty cells and NaN skipped. `clustering_agreement` is left out on both sides (its
//! Leiden clustering is not reproduced draw for draw; `cell_eval_cli.rs` bounds it). Without
//! the cell-eval Python environment that comparison prints why and is skipped, unless
//! `PERTURBENCH_REQUIRE_PYTHON=1`; everything else always runs.

mod common;
use common::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// `model,aggregation,metric,value` rows of a summary.csv with aggregation `cell-eval`.
fn cell_eval_summary(path: &Path) -> BTreeMap<String, f64> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1] == "cell-eval").then(|| (f[2].to_string(), f[3].parse::<f64>().unwrap()))
        })
        .collect()
}

/// Per metric: the mean over every row of the `*results.csv` files of `dir` (cell-eval's
/// per-perturbation tables), empty and NaN cells skipped.
fn python_means(dir: &Path) -> BTreeMap<String, f64> {
    let mut acc: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for name in entries(dir) {
        if !name.ends_with("results.csv") || name.contains("agg_") {
            continue;
        }
        let text = std::fs::read_to_string(dir.join(&name)).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        for l in lines {
            for (k, v) in header.iter().zip(l.split(',')).skip(1) {
                let e = acc.entry(k.to_string()).or_insert((0.0, 0));
                if let Ok(x) = v.parse::<f64>() {
                    if !x.is_nan() {
                        e.0 += x;
                        e.1 += 1;
                    }
                }
            }
        }
    }
    acc.into_iter()
        .map(|(k, (s, n))| (k, if n == 0 { f64::NAN } else { s / n as f64 }))
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn train_and_evaluate_carry_cell_eval_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let data = simulate_small(dir.path(), "s.h5ad", 5);
    let data = data.to_str().unwrap();
    let run = dir.path().join("run");

    // Refused before any work: a counts profile, an unknown one.
    let r = perturbench(&[
        "--quiet",
        "train",
        data,
        "model=average",
        "--task",
        "transfer",
        "evaluation.cell_eval=vcc2026",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert_error(&r, &["evaluation.cell_eval=vcc2026", "raw counts"]);
    assert!(!run.exists(), "a refused run must not write its output");

    let r = perturbench(&[
        "--quiet",
        "train",
        data,
        "model=linear-additive",
        "trainer.max_epochs=3",
        "--task",
        "transfer",
        "evaluation.cell_eval=full",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ce = run.join("evaluation/cell_eval/linear-additive");
    let files = entries(&ce);
    for f in [
        "conventions.json",
        "k562_results.csv",
        "k562_agg_results.csv",
        "k562_real_de.csv",
        "rpe1_results.csv",
        "rpe1_pred_de.csv",
    ] {
        assert!(files.contains(&f.to_string()), "{f} missing: {files:?}");
    }
    let ours = cell_eval_summary(&run.join("evaluation/summary.csv"));
    for m in [
        "overlap_at_N",
        "de_spearman_sig",
        "pr_auc",
        "pearson_delta",
        "mae",
        "discrimination_score_l1",
        "pearson_edistance",
    ] {
        assert!(
            ours.contains_key(m),
            "summary.csv lacks cell-eval {m}: {ours:?}"
        );
    }
    let per = std::fs::read_to_string(run.join("evaluation/per_perturbation.csv")).unwrap();
    let rows = per
        .lines()
        .filter(|l| l.contains(",cell-eval,mae,"))
        .count();
    let groups: usize = ["k562", "rpe1"]
        .iter()
        .map(|c| {
            std::fs::read_to_string(ce.join(format!("{c}_results.csv")))
                .unwrap()
                .lines()
                .count()
                - 1
        })
        .sum();
    assert_eq!(rows, groups, "one mae row per (cell type, perturbation)");
    let run_json = std::fs::read_to_string(run.join("evaluation/run.json")).unwrap();
    assert!(run_json.contains("\"cell_eval\": \"full\""), "{run_json}");

    // `evaluate --cell-eval` on the run's own files gives the same cell-eval values.
    let (refp, predp) = (run.join("reference.h5ad"), run.join("predictions.h5ad"));
    let ev = dir.path().join("ev");
    let r = perturbench(&[
        "--quiet",
        "evaluate",
        "--reference",
        refp.to_str().unwrap(),
        "--prediction",
        &format!("linear-additive={}", predp.display()),
        "--covariate-keys",
        "cell_type",
        "--cell-eval",
        "vcc",
        "--out",
        ev.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let vcc = cell_eval_summary(&ev.join("summary.csv"));
    assert_eq!(
        vcc.keys().cloned().collect::<Vec<_>>(),
        ["discrimination_score_l1", "mae", "overlap_at_N"]
    );
    for (m, v) in &vcc {
        assert!(close(*v, ours[m]), "{m}: evaluate {v} vs train {}", ours[m]);
    }
    assert!(ev
        .join("cell_eval/linear-additive/rpe1_results.csv")
        .is_file());

    // A perturbation missing from the prediction is left out with a warning, not refused.
    let mut pred = perturbench_io::read_h5ad(&predp).unwrap();
    let col = pred.obs.column("condition").unwrap().clone();
    let labels: Vec<String> = (0..col.len())
        .map(|i| col.value_string(i).unwrap())
        .collect();
    let gone = labels.iter().find(|l| *l != "control").unwrap().clone();
    let keep: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] != gone).collect();
    pred = pred.select_obs(&keep);
    let partial = dir.path().join("partial.h5ad");
    write(&partial, &pred);
    let ev2 = dir.path().join("ev2");
    let r = perturbench(&[
        "evaluate",
        "--quiet",
        "--reference",
        refp.to_str().unwrap(),
        "--prediction",
        &format!("m={}", partial.display()),
        "--covariate-keys",
        "cell_type",
        "--cell-eval",
        "vcc",
        "--out",
        ev2.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("not predicted") && r.stderr.contains(&gone),
        "{}",
        r.stderr
    );
    let per = std::fs::read_to_string(ev2.join("per_perturbation.csv")).unwrap();
    assert!(!per
        .lines()
        .any(|l| l.contains(",cell-eval,") && l.contains(&format!(",{gone},"))));

    // A benchmark suite passes it to every job; its leaderboard gets the columns.
    let suite = dir.path().join("suite.yaml");
    std::fs::write(
        &suite,
        "name: ce\nmodels: [average]\ndatasets:\n  - name: small\n    path: s.h5ad\n    \
         tasks: [transfer]\nseeds: [0]\nargs: [evaluation.cell_eval=vcc]\n",
    )
    .unwrap();
    let bench = dir.path().join("bench");
    let r = perturbench(&[
        "--quiet",
        "benchmark",
        "--suite",
        suite.to_str().unwrap(),
        "--out",
        bench.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let board = std::fs::read_to_string(bench.join("leaderboard.csv")).unwrap();
    let header = board.lines().next().unwrap();
    for c in [
        "mae_cell-eval",
        "discrimination_score_l1_cell-eval",
        "overlap_at_N_cell-eval",
        "rmse_average",
    ] {
        assert!(header.split(',').any(|h| h == c), "{c} not in {header}");
    }

    // The same numbers from cell-eval 0.8.2 itself.
    let Some(py) = python_with_cell_eval() else {
        return;
    };
    let theirs_dir = dir.path().join("theirs");
    let o = Command::new(&py)
        .args(["-m", "cell_eval", "run", "-ap"])
        .arg(&predp)
        .arg("-ar")
        .arg(&refp)
        .args([
            "--pert-col",
            "condition",
            "--control-pert",
            "control",
            "--celltype-col",
            "cell_type",
            "--profile",
            "full",
            "--skip-metrics",
            "clustering_agreement",
            "-o",
        ])
        .arg(&theirs_dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "cell-eval failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let theirs = python_means(&theirs_dir);
    let mut worst = (String::new(), 0.0f64);
    for (m, t) in &theirs {
        let v = ours
            .get(m)
            .unwrap_or_else(|| panic!("cell-eval metric {m} missing"));
        assert!(close(*v, *t), "{m}: ours {v} vs cell-eval {t}");
        if (v - t).abs() > worst.1 {
            worst = (m.clone(), (v - t).abs());
        }
    }
    println!(
        "cell-eval in train: {} metrics equal to cell-eval 0.8.2's; largest difference {:.1e} ({})",
        theirs.len(),
        worst.1,
        worst.0
    );
}
