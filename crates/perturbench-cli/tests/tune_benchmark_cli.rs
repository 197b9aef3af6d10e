//! `perturbench tune` and `perturbench benchmark` end to end on the simulator (small models,
//! few epochs), their exports (trials.csv, best.yaml, leaderboard.csv, report.html), resuming,
//! and their bad input: unreachable stores, a study with another search space, a suite whose
//! data file is missing.

mod common;
use common::*;
use perturbench_hpo::storage::{self, TrialState};
use std::path::Path;

const SPACE: &str = "space:
  model.lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
  model.latent_dim: {type: categorical, choices: [16, 32]}
";

fn tune(data: &Path, out: &Path, space: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "--quiet",
        "tune",
        data.to_str().unwrap(),
        "model=latent-additive",
        "data.task=combination",
        "data.max_heldout_fraction=0.7",
        "model.encoder_width=64",
        "model.n_layers=1",
        "trainer.max_epochs=4",
        "--space",
        space.to_str().unwrap(),
        "--trials",
        "3",
        "--study",
        "small",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    perturbench(&args)
}

#[test]
fn tune_runs_trials_exports_the_best_config_and_refuses_another_space() {
    let dir = tempfile::tempdir().unwrap();
    let data = simulate_small(dir.path(), "small.h5ad", 5);
    let space = dir.path().join("space.yaml");
    std::fs::write(&space, SPACE).unwrap();
    let out = dir.path().join("tune");
    let r = tune(&data, &out, &space, &["--prune"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Three trials, each a train run with its own evaluation; objective = the weighted sum.
    let url = format!("sqlite://{}", out.join("study.db").display());
    let mut store = storage::open(&url).unwrap();
    let study = store.study("small").unwrap().unwrap();
    let trials = store.trials(study.id).unwrap();
    assert_eq!(trials.len(), 3);
    for t in trials.iter().filter(|t| t.state == TrialState::Complete) {
        let run = out.join("trials/small").join(format!("{:04}", t.number));
        let text = std::fs::read_to_string(run.join("evaluation/summary.csv")).unwrap();
        let get = |m: &str, a: &str| -> f64 {
            text.lines()
                .find(|l| l.split(',').nth(1) == Some(a) && l.split(',').nth(2) == Some(m))
                .and_then(|l| l.split(',').nth(3))
                .unwrap()
                .parse()
                .unwrap()
        };
        let want = get("rmse", "average") + 0.1 * get("rmse_rank", "average");
        assert!(
            (t.value.unwrap() - want).abs() < 1e-12,
            "{} vs {want}",
            t.value.unwrap()
        );
        // Intermediate values: the validation loss of each epoch.
        assert_eq!(t.intermediate.len(), 4, "{:?}", t.intermediate);
        let lr = t.params["model.lr"].as_f64().unwrap();
        assert!((1e-4..=1e-2).contains(&lr));
    }
    assert!(trials.iter().any(|t| t.state == TrialState::Complete));
    let csv = std::fs::read_to_string(out.join("trials.csv")).unwrap();
    assert!(csv.starts_with("study,number,state,value,params"), "{csv}");
    // best.yaml is a complete train configuration with the best parameters.
    let best = out.join("best.yaml");
    let r = perturbench(&[
        "train",
        "--config",
        best.to_str().unwrap(),
        "--print-config",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("name: latent-additive") && r.stdout.contains("encoder_width: 64"));
    // Resuming with more trials runs only the missing ones.
    let r = tune(&data, &out, &space, &["--trials", "4"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(store.trials(study.id).unwrap().len(), 4);
    // Another search space under the same name is refused, and nothing is lost...
    let other = dir.path().join("other.yaml");
    std::fs::write(&other, SPACE.replace("16, 32", "8, 16")).unwrap();
    let r = tune(&data, &out, &other, &[]);
    assert_error(&r, &["small", "--force-new"]);
    assert_eq!(store.trials(study.id).unwrap().len(), 4);
    // ...unless --force-new replaces the study.
    let r = tune(&data, &out, &other, &["--force-new", "--trials", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let study = store.study("small").unwrap().unwrap();
    assert_eq!(store.trials(study.id).unwrap().len(), 1);
}

#[test]
fn tune_bad_input_fails_before_any_trial() {
    let dir = tempfile::tempdir().unwrap();
    let data = simulate_small(dir.path(), "small.h5ad", 5);
    let space = dir.path().join("space.yaml");
    std::fs::write(&space, SPACE).unwrap();
    let out = dir.path().join("t");
    // An unreachable PostgreSQL server: the error names host and port.
    let r = tune(
        &data,
        &out,
        &space,
        &["--storage", "postgresql://u@127.0.0.1:1/db"],
    );
    assert_error(&r, &["127.0.0.1:1"]);
    // An unknown search space, a space naming a key the model lacks, a bad objective.
    let r = perturbench(&[
        "tune",
        "hpo=nonsense",
        "--study",
        "x",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_error(&r, &["hpo=nonsense", "latent_additive"]);
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "space:\n  model.not_a_key: {type: int, low: 1, high: 3}\n",
    )
    .unwrap();
    let r = tune(&data, &out, &bad, &[]);
    assert_error(&r, &["not_a_key"]);
    let r = tune(&data, &out, &space, &["--objective", "rmse_average"]);
    assert_error(&r, &["--objective", "METRIC=WEIGHT"]);
    std::fs::write(&bad, "space:\n  model.lr: {type: float, low: 1, high: 0}\n").unwrap();
    let r = tune(&data, &out, &bad, &[]);
    assert_error(&r, &["model.lr"]);
    // Timing options: positive, finite, and a stale limit of at least two heartbeats.
    let r = tune(&data, &out, &space, &["--heartbeat", "inf"]);
    assert_error(&r, &["--heartbeat", "positive number of seconds"]);
    let r = tune(
        &data,
        &out,
        &space,
        &["--heartbeat", "10", "--stale-after", "5"],
    );
    assert_error(&r, &["--stale-after", "twice"]);
    assert!(!out.join("trials").exists(), "a trial ran");
}

#[test]
fn benchmark_runs_a_suite_writes_leaderboard_and_report_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let data = simulate_small(dir.path(), "small.h5ad", 5);
    let suite = dir.path().join("suite.yaml");
    std::fs::write(
        &suite,
        format!(
            "name: tiny
models: [control-mean, additive, latent-additive]
datasets:
  - name: small
    path: {}
    tasks: [combination]
seeds: [42]
model_args:
  latent-additive: [model.encoder_width=64, model.latent_dim=16, model.n_layers=1, trainer.max_epochs=3]
",
            data.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("bench");
    let run = || {
        perturbench(&[
            "benchmark",
            "--suite",
            suite.to_str().unwrap(),
            "--jobs",
            "2",
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let r = run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lb = std::fs::read_to_string(out.join("leaderboard.csv")).unwrap();
    let lines: Vec<&str> = lb.lines().collect();
    assert!(
        lines[0].starts_with("model,dataset,task,seed,")
            && lines[0].contains("rmse_average")
            && lines[0].contains("cosine_rank_logfc"),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len(), 4, "{lb}");
    for m in ["control-mean", "additive", "latent-additive"] {
        assert!(lines
            .iter()
            .any(|l| l.starts_with(&format!("{m},small,combination,42,"))));
        let run = out.join(format!("runs/small-combination-{m}-s42"));
        assert!(run.join("evaluation/summary.csv").exists(), "{m}");
        assert!(run.join("job.json").exists(), "{m}");
    }
    // The leaderboard's values are the runs' own summaries.
    let summary = std::fs::read_to_string(
        out.join("runs/small-combination-additive-s42/evaluation/summary.csv"),
    )
    .unwrap();
    let rmse = summary
        .lines()
        .find(|l| l.contains(",average,rmse,"))
        .unwrap()
        .rsplit(',')
        .next()
        .unwrap()
        .to_string();
    let header: Vec<&str> = lines[0].split(',').collect();
    let col = header.iter().position(|h| *h == "rmse_average").unwrap();
    let row = lines.iter().find(|l| l.starts_with("additive,")).unwrap();
    assert_eq!(row.split(',').nth(col).unwrap(), rmse);
    // Provenance: the run records the data file's SHA-256 (as coreutils' sha256sum prints it).
    let provenance: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            out.join("runs/small-combination-additive-s42/evaluation/run.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let sum = std::process::Command::new("sha256sum")
        .arg(&data)
        .output()
        .unwrap();
    let sum = String::from_utf8_lossy(&sum.stdout);
    assert_eq!(
        provenance["inputs"][0]["sha256"].as_str().unwrap(),
        sum.split_whitespace().next().unwrap()
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("latent-additive") && html.contains("<svg"));
    assert!(r.stdout.contains("small / combination"), "{}", r.stdout);
    // A rerun finds every job complete and runs nothing.
    let before =
        std::fs::metadata(out.join("runs/small-combination-additive-s42/evaluation/summary.csv"))
            .unwrap()
            .modified()
            .unwrap();
    let r = run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("0 to run"), "{}", r.stderr);
    let after =
        std::fs::metadata(out.join("runs/small-combination-additive-s42/evaluation/summary.csv"))
            .unwrap()
            .modified()
            .unwrap();
    assert_eq!(before, after);
    // A suite whose data file is missing fails before any job runs, and the store keeps
    // everything it had.
    let broken = dir.path().join("broken.yaml");
    std::fs::write(
        &broken,
        "name: tiny\nmodels: [control-mean]\ndatasets:\n  - {name: gone, path: /nonexistent/x.h5ad, tasks: [combination]}\n",
    )
    .unwrap();
    let r = perturbench(&[
        "benchmark",
        "--suite",
        broken.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_error(&r, &["/nonexistent/x.h5ad", "no job was run"]);
    let url = format!("sqlite://{}", out.join("benchmark.db").display());
    let mut store = storage::open(&url).unwrap();
    let study = store.study("tiny").unwrap().unwrap();
    let trials = store.trials(study.id).unwrap();
    assert_eq!(trials.len(), 3);
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
}

#[test]
fn the_median_pruner_stops_trials_worse_than_the_median() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p");
    let r = perturbench(&[
        "--quiet",
        "tune",
        "--synthetic",
        "0.05",
        "--trials",
        "30",
        "--study",
        "p",
        "--prune",
        "--seed",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let url = format!("sqlite://{}", out.join("study.db").display());
    let mut store = storage::open(&url).unwrap();
    let study = store.study("p").unwrap().unwrap();
    let trials = store.trials(study.id).unwrap();
    let complete: Vec<_> = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .collect();
    let pruned: Vec<_> = trials
        .iter()
        .filter(|t| t.state == TrialState::Pruned)
        .collect();
    assert_eq!(complete.len() + pruned.len(), 30);
    assert!(!pruned.is_empty(), "nothing was pruned");
    // The first five complete (the pruner's startup); a pruned trial stopped at a step where
    // its best value was worse than the median of the completed trials' values there.
    assert!(trials[..5].iter().all(|t| t.state == TrialState::Complete));
    for p in &pruned {
        let (step, _) = *p.intermediate.last().unwrap();
        let best = p
            .intermediate
            .iter()
            .map(|&(_, v)| v)
            .fold(f64::INFINITY, f64::min);
        let mut at: Vec<f64> = trials
            .iter()
            .filter(|t| t.state == TrialState::Complete && t.number < p.number)
            .filter_map(|t| t.intermediate.iter().find(|(s, _)| *s == step).map(|x| x.1))
            .collect();
        at.sort_by(f64::total_cmp);
        assert!(!at.is_empty());
        let n = at.len();
        let median = if n % 2 == 1 {
            at[n / 2]
        } else {
            0.5 * (at[n / 2 - 1] + at[n / 2])
        };
        assert!(
            best > median,
            "trial {}: {best} <= median {median}",
            p.number
        );
    }
}

#[test]
fn every_builtin_search_space_resolves_against_its_model() {
    let dir = tempfile::tempdir().unwrap();
    let data = simulate_small(dir.path(), "small.h5ad", 5);
    let out = dir.path().join("spaces");
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    // Spec §6: parameter count per search space.
    for (name, params) in [
        ("linear_additive", 2),
        ("latent_additive", 6),
        ("decoder_only", 5),
        ("cpa", 13),
        ("sams_vae", 12),
        ("sams_vae_modified", 10),
        ("biolord", 7),
    ] {
        let r = perturbench(&[
            "--quiet",
            "tune",
            data.to_str().unwrap(),
            &format!("hpo={name}"),
            // Settings a trial can run with: tune checks them before creating the study.
            "data.task=combination",
            "data.max_heldout_fraction=0.7",
            "--trials",
            "5",
            "--study",
            name,
            "--storage",
            &url,
            "--jobs",
            "0",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        let mut store = storage::open(&url).unwrap();
        let study = store.study(name).unwrap().unwrap();
        let space = study.spec.space.as_object().unwrap();
        assert_eq!(space.len(), params, "{name}: {space:?}");
        assert!(space.keys().all(|k| k.starts_with("model.")));
    }
    // Integer ranges include their upper bound (Hydra's range(a, b, step) over ints).
    let mut store = storage::open(&url).unwrap();
    let s = store.study("latent_additive").unwrap().unwrap();
    let w = &s.spec.space["model.encoder_width"];
    assert_eq!(
        (w["low"].as_i64(), w["high"].as_i64(), w["step"].as_i64()),
        (Some(256), Some(5376), Some(1024))
    );
    // A worker pointed at a study that does not exist says so.
    let r = perturbench(&["worker", "--storage", &url, "--study", "nope"]);
    assert_error(&r, &["nope"]);
}
