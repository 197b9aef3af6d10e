//! `load` reads benchmark outputs, evaluate outputs and HPO studies, and names the file and
//! column of malformed inputs.

mod common;

use std::path::PathBuf;

use perturbench_report::{load, ReportError, TrialState};

#[test]
fn reads_all_three_formats() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = common::write_all(tmp.path());
    let input = load(&dirs).unwrap();

    // Benchmark: 6 leaderboard rows from leaderboard.csv (none duplicated from runs/*/summary.csv)
    // plus 2 from the standalone evaluate output's summary.csv.
    let bench: Vec<_> = input
        .leaderboard
        .iter()
        .filter(|r| r.dataset == "norman19")
        .collect();
    assert_eq!(bench.len(), 6);
    let cpa1 = bench
        .iter()
        .find(|r| r.model == "cpa" && r.seed == Some(1))
        .unwrap();
    assert_eq!(cpa1.task, "transfer");
    assert!(
        !cpa1.metrics.contains_key("rmse_rank_average"),
        "empty cell = missing"
    );
    assert!((cpa1.metrics["rmse_average"] - 0.31).abs() < 1e-12);
    assert_eq!(cpa1.metrics.len(), 3);

    // Evaluate output without job.json: dataset = directory name, task "-".
    let ev: Vec<_> = input
        .leaderboard
        .iter()
        .filter(|r| r.dataset == "eval-out")
        .collect();
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0].model, "<script>alert(1)</script>");
    assert_eq!(ev[0].task, "-");
    assert_eq!(ev[0].seed, None);
    assert!(ev[0].metrics.contains_key("cosine_rank_logfc"));
    assert!(ev[0].metrics.contains_key("rmse_average"));

    // Per-perturbation rows: 6 runs × 40 perturbations × 4 metrics + 2 models × 25 × 4.
    assert_eq!(input.per_perturbation.len(), 6 * 40 * 4 + 2 * 25 * 4);
    let r = input
        .per_perturbation
        .iter()
        .find(|r| r.dataset == "norman19")
        .unwrap();
    assert_eq!(
        (r.task.as_str(), r.covariates.as_str()),
        ("transfer", "K562")
    );

    // logFC examples: 2 perturbations × 60 genes per model and run.
    assert_eq!(input.scatter.len(), 6 * 2 * 60 + 2 * 2 * 60);

    // Provenance: one per run.json (6 benchmark runs + 1 evaluate output).
    assert_eq!(input.provenance.len(), 7);
    let p = input
        .provenance
        .iter()
        .find(|p| p.dataset == "norman19" && p.seed == Some(1))
        .unwrap();
    assert_eq!(p.version.as_deref(), Some("0.1.0"));
    assert_eq!(p.config_digest.as_ref().unwrap().len(), 12);
    assert_eq!(p.inputs.len(), 2);
    assert_eq!(p.inputs[0].path, "/data/norman19/test.h5ad");
    assert!(p.inputs[0]
        .sha256
        .as_ref()
        .unwrap()
        .starts_with("3f2a9c1b7d4e"));
    assert_eq!(p.inputs[1].sha256, None);
    assert_eq!(p.models.len(), 1);
    assert!(p.wall_seconds.unwrap() > 12.0);

    // HPO study.
    assert_eq!(input.studies.len(), 1);
    let s = &input.studies[0];
    assert_eq!(s.name, "latent_additive/norman19");
    assert_eq!(s.trials.len(), 30);
    assert!(s.best_yaml.as_ref().unwrap().contains("best_value"));
    let pruned = &s.trials[4];
    assert_eq!((pruned.state, pruned.value), (TrialState::Pruned, None));
    assert!(s.trials[0].value.is_some());
    assert_eq!(s.trials[0].params["hidden"], serde_json::json!(64));
}

#[test]
fn subdirectories_are_scanned_when_the_directory_itself_holds_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    common::write_all(tmp.path());
    let input = load(&[tmp.path().to_path_buf()]).unwrap();
    assert_eq!(input.studies.len(), 1);
    assert_eq!(input.provenance.len(), 7);
}

#[test]
fn summary_in_directory_root_and_job_json_next_to_it() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("train-out");
    common::write_eval(&d.join("evaluation"), &["linear"], 3, 5);
    common::write(
        &d.join("job.json"),
        r#"{"model":"linear","dataset":"srivatsan20","task":"covariate_transfer","seed":"42"}"#,
    );
    let input = load(&[d]).unwrap();
    assert_eq!(input.leaderboard.len(), 1);
    let r = &input.leaderboard[0];
    assert_eq!(
        (r.dataset.as_str(), r.task.as_str(), r.seed),
        ("srivatsan20", "covariate_transfer", Some(42))
    );
    assert_eq!(input.per_perturbation[0].dataset, "srivatsan20");
}

fn err_of(dir: PathBuf) -> String {
    match load(&[dir]) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn nothing_found_names_directories_and_expected_files() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("empty");
    std::fs::create_dir_all(d.join("sub")).unwrap();
    let e = load(std::slice::from_ref(&d)).unwrap_err();
    assert!(matches!(e, ReportError::NothingFound { .. }));
    let msg = e.to_string();
    assert!(msg.contains(&d.display().to_string()), "{msg}");
    for f in ["leaderboard.csv", "summary.csv", "trials.csv"] {
        assert!(msg.contains(f), "{msg}");
    }
    let missing = tmp.path().join("nope");
    assert!(err_of(missing.clone()).contains("nope"));
}

#[test]
fn missing_column_names_file_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("x");
    common::write(
        &d.join("evaluation/summary.csv"),
        "model,aggregation,metric,val\nm,average,rmse,1\n",
    );
    let msg = err_of(d);
    assert!(msg.contains("evaluation/summary.csv"), "{msg}");
    assert!(msg.contains("column 'value' missing"), "{msg}");
}

#[test]
fn bad_number_names_file_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("b");
    common::write(
        &d.join("leaderboard.csv"),
        "model,dataset,task,seed,rmse_average\nm,d,t,0,0.5\nm,d,t,1,abc\n",
    );
    let msg = err_of(d.clone());
    assert!(msg.contains("leaderboard.csv"), "{msg}");
    assert!(msg.contains("line 3, column 'rmse_average'"), "{msg}");
    assert!(msg.contains("'abc'"), "{msg}");

    common::write(
        &d.join("leaderboard.csv"),
        "model,dataset,task,seed,rmse_average\nm,d,t,null,NaN\n",
    );
    let input = load(std::slice::from_ref(&d)).unwrap();
    assert_eq!(input.leaderboard[0].seed, None);
    assert!(input.leaderboard[0].metrics.is_empty());
    common::write(
        &d.join("leaderboard.csv"),
        "model,dataset,task,seed,rmse_average\nm,d,t,x,0.5\n",
    );
    let msg = err_of(d);
    assert!(
        msg.contains("column 'seed'") && msg.contains("non-negative integer"),
        "{msg}"
    );
}

#[test]
fn bad_trials_name_file_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("s");
    common::write(
        &d.join("trials.csv"),
        "study,number,state,value,params\ns,0,DONE,1,{}\n",
    );
    let msg = err_of(d.clone());
    assert!(
        msg.contains("trials.csv") && msg.contains("column 'state'"),
        "{msg}"
    );
    common::write(
        &d.join("trials.csv"),
        "study,number,state,value,params\ns,0,COMPLETE,1,[1]\n",
    );
    let msg = err_of(d.clone());
    assert!(
        msg.contains("column 'params'") && msg.contains("JSON object"),
        "{msg}"
    );
    common::write(
        &d.join("trials.csv"),
        "study,number,state,value\ns,0,COMPLETE,1\n",
    );
    assert!(err_of(d.clone()).contains("column 'params' missing"));
    // Extra columns (as `perturbench study export` writes them) are ignored; a commented
    // direction in best.yaml is honoured.
    common::write(
        &d.join("trials.csv"),
        "study,number,state,value,params,attempts,worker,seconds\ns,0,COMPLETE,1.5,{},1,w1,2.0\n",
    );
    common::write(
        &d.join("best.yaml"),
        "# Best trial 0\n# direction: maximize\nlr: 0.1\n",
    );
    let input = load(&[d]).unwrap();
    assert_eq!(input.studies[0].trials[0].value, Some(1.5));
    assert_eq!(
        input.studies[0].direction,
        perturbench_report::Direction::Maximize
    );
}

#[test]
fn bad_json_and_ragged_csv_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("j");
    common::write_eval(&d, &["m"], 1, 3);
    common::write(&d.join("run.json"), "[1, 2]");
    let msg = err_of(d.clone());
    assert!(
        msg.contains("run.json") && msg.contains("expected a JSON object"),
        "{msg}"
    );
    common::write(&d.join("run.json"), "{not json");
    assert!(err_of(d.clone()).contains("not valid JSON"));
    common::write_eval(&d, &["m"], 1, 3);
    common::write(
        &d.join("per_perturbation.csv"),
        "model,aggregation,metric,covariates,perturbation,value\nm,a,rmse,c\n",
    );
    let msg = err_of(d.clone());
    assert!(
        msg.contains("per_perturbation.csv") && msg.contains("line 2"),
        "{msg}"
    );
    common::write_eval(&d, &["m"], 1, 3);
    common::write(&d.join("job.json"), r#"{"seed": -1}"#);
    let msg = err_of(d);
    assert!(
        msg.contains("job.json") && msg.contains("key 'seed'"),
        "{msg}"
    );
}
