//! The demo shows what the models can do: with the built-in demo suite's own settings,
//! latent-additive clearly beats control-mean on the norman-like combination task.

mod common;
use common::perturbench;

/// The built-in demo suite, restricted to its norman-like dataset and the two models compared.
fn demo_subset(models: &[&str]) -> serde_json::Value {
    let text = include_str!("../../perturbench-experiment/presets/suites/demo.yaml");
    let mut suite: serde_json::Value = serde_saphyr::from_str(text).expect("demo.yaml parses");
    suite["name"] = "demo-subset".into();
    suite["models"] = serde_json::json!(models);
    let datasets = suite["datasets"].as_array().unwrap().clone();
    let norman: Vec<_> = datasets
        .into_iter()
        .filter(|d| d["name"] == "norman-like")
        .collect();
    assert_eq!(norman.len(), 1, "the demo suite has a norman-like dataset");
    suite["datasets"] = serde_json::Value::Array(norman);
    suite
}

/// The summary metric `name` of `model` in a leaderboard.
fn metric(leaderboard: &str, model: &str, name: &str) -> f64 {
    let mut lines = leaderboard.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == name).unwrap();
    let row = lines
        .find(|l| l.starts_with(&format!("{model},")))
        .unwrap_or_else(|| panic!("no {model} row in {leaderboard}"));
    row.split(',').nth(col).unwrap().parse().unwrap()
}

#[test]
fn demo_latent_additive_beats_control_mean_on_norman_like() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("suite.yaml");
    // YAML is a superset of JSON.
    std::fs::write(
        &suite,
        serde_json::to_string_pretty(&demo_subset(&["control-mean", "latent-additive"])).unwrap(),
    )
    .unwrap();
    let out = dir.path().join("bench");
    let r = perturbench(&[
        "--quiet",
        "benchmark",
        "--suite",
        suite.to_str().unwrap(),
        "--jobs",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lb = std::fs::read_to_string(out.join("leaderboard.csv")).unwrap();
    let cm = metric(&lb, "control-mean", "cosine_logfc");
    let la = metric(&lb, "latent-additive", "cosine_logfc");
    let la_rank = metric(&lb, "latent-additive", "cosine_rank_logfc");
    println!("cosine_logfc: latent-additive {la:.4}, control-mean {cm:.4}; latent-additive cosine_rank_logfc {la_rank:.4}");
    assert!(la >= cm + 0.10, "latent-additive {la} vs control-mean {cm}");
    assert!(la_rank < 0.1, "latent-additive cosine_rank_logfc {la_rank}");
}
