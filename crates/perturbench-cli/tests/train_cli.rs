//! `perturbench train` and `predict` with the baselines: end to end on the simulator, the
//! checkpoint round trip, and bad input.

mod common;
use common::*;
use perturbench_io::{read_csv_records, read_h5ad, write_h5ad, Compression, WriteOptions};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn sim(dir: &Path) -> PathBuf {
    let p = dir.join("small.h5ad");
    let r = perturbench(&[
        "--quiet",
        "simulate",
        "--preset",
        "small",
        "--seed",
        "5",
        "--compression",
        "none",
        "--out",
        p.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    p
}

fn train(data: &Path, model: &str, out: &Path) -> Run {
    perturbench(&[
        "--quiet",
        "train",
        data.to_str().unwrap(),
        "--model",
        model,
        "--task",
        "combination",
        "--max-heldout-fraction",
        "0.7",
        "--out",
        out.to_str().unwrap(),
    ])
}

fn summary(run: &Path) -> HashMap<String, f64> {
    read_csv_records(&run.join("evaluation/summary.csv"))
        .unwrap()
        .iter()
        .skip(1)
        .map(|r| (format!("{}_{}", r[2], r[1]), r[3].parse().unwrap()))
        .collect()
}

#[test]
fn every_baseline_trains_and_beats_control_mean_on_cosine_logfc() {
    let dir = tempfile::tempdir().unwrap();
    let data = sim(dir.path());
    let mut cosine = HashMap::new();
    let mut truth_cosine = HashMap::new();
    for m in ["control-mean", "train-mean", "average", "additive"] {
        let out = dir.path().join(m);
        let r = train(&data, m, &out);
        assert_eq!(r.code, 0, "{m}: {}", r.stderr);
        let s = summary(&out);
        for key in [
            "rmse_average",
            "rmse_rank_average",
            "cosine_logfc",
            "cosine_rank_logfc",
        ] {
            assert!(s[key].is_finite(), "{m} {key} = {}", s[key]);
        }
        cosine.insert(m, s["cosine_logfc"]);
        assert!(out.join("checkpoint/model.json").exists());
        // Simulated data: effects are also scored against the stored truth.
        assert!(out.join("evaluation/truth.csv").exists());
        let run: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("evaluation/run.json")).unwrap(),
        )
        .unwrap();
        truth_cosine.insert(m, run["truth"]["cosine_delta"].as_f64().unwrap());
    }
    // Predicting no change explains none of the true effects; the additive model most of them.
    assert!(truth_cosine["control-mean"].abs() < 0.2, "{truth_cosine:?}");
    assert!(truth_cosine["additive"] > 0.5, "{truth_cosine:?}");
    for m in ["train-mean", "average", "additive"] {
        assert!(
            cosine[m] > cosine["control-mean"],
            "{m}: cosine_logfc {} vs control-mean {}",
            cosine[m],
            cosine["control-mean"]
        );
    }
}

#[test]
fn checkpoint_round_trip_gives_identical_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let data = sim(dir.path());
    let out = dir.path().join("run");
    let r = train(&data, "additive", &out);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The evaluation split's perturbed groups, in order of first appearance.
    let reference = read_h5ad(out.join("reference.h5ad")).unwrap();
    let cond = reference.obs.column("condition").unwrap();
    let ct = reference.obs.column("cell_type").unwrap();
    let mut targets: Vec<(String, String)> = Vec::new();
    for r in 0..reference.n_obs() {
        let t = (cond.value_string(r).unwrap(), ct.value_string(r).unwrap());
        if t.0 != "control" && !targets.contains(&t) {
            targets.push(t);
        }
    }
    let csv = dir.path().join("targets.csv");
    let mut text = String::from("cell_type,condition\n");
    for (c, t) in &targets {
        text.push_str(&format!("{t},{c}\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let pred_path = dir.path().join("again.h5ad");
    let r = perturbench(&[
        "--quiet",
        "predict",
        "--checkpoint",
        out.join("checkpoint").to_str().unwrap(),
        "--data",
        out.join("reference.h5ad").to_str().unwrap(),
        "--targets",
        csv.to_str().unwrap(),
        "--out",
        pred_path.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let again = read_h5ad(&pred_path).unwrap();
    let first = read_h5ad(out.join("predictions.h5ad")).unwrap();
    // train appended the observed controls after the predicted cells.
    let n = again.n_obs();
    assert!(n > 0 && n < first.n_obs());
    let rows: Vec<usize> = (0..n).collect();
    assert_eq!(again.x, first.x.select_rows(&rows));
    assert_eq!(again.var_names(), first.var_names());
}

#[test]
fn bad_inputs_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let data = sim(dir.path());
    let out = dir.path().join("run");
    assert_error(
        &train(&data, "transformer", &out),
        &["unknown model 'transformer'"],
    );
    assert!(!out.exists());
    let r = train(&data, "additive", &out);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ck = out.join("checkpoint");
    let predict = |data: &Path, targets: &Path| {
        perturbench(&[
            "predict",
            "--checkpoint",
            ck.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--targets",
            targets.to_str().unwrap(),
            "--out",
            dir.path().join("p.h5ad").to_str().unwrap(),
        ])
    };
    // A perturbation the model never saw.
    let csv = dir.path().join("unseen.csv");
    std::fs::write(&csv, "condition,cell_type\nNOTAGENE,k562\n").unwrap();
    assert_error(&predict(&data, &csv), &["NOTAGENE", "not seen in training"]);
    // A data file with other genes.
    let mut ad = read_h5ad(&data).unwrap();
    let keep: Vec<usize> = (0..ad.n_vars() - 1).collect();
    ad = ad.select_vars(&keep);
    let fewer = dir.path().join("fewer.h5ad");
    write_h5ad(
        &fewer,
        &ad,
        &WriteOptions {
            compression: Compression::None,
        },
    )
    .unwrap();
    std::fs::write(&csv, "condition,cell_type\ncontrol,k562\n").unwrap();
    assert_error(&predict(&fewer, &csv), &["fewer.h5ad", "var names differ"]);
    assert!(!dir.path().join("p.h5ad").exists());
    // A checkpoint directory that is not one.
    let r = perturbench(&[
        "predict",
        "--checkpoint",
        dir.path().to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--targets",
        csv.to_str().unwrap(),
        "--out",
        dir.path().join("p.h5ad").to_str().unwrap(),
    ]);
    assert_error(&r, &["model.json"]);
}
