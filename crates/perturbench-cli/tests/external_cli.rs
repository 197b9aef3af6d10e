//! `model=external`: a command outside perturbench trains and predicts on exchanged files.

mod common;
use common::{assert_error, perturbench, python_with_anndata, simulate_small};
use std::path::Path;

/// The repository's example models.
fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/external")
        .join(name)
        .display()
        .to_string()
}

fn summary(dir: &Path) -> Vec<(String, f64)> {
    std::fs::read_to_string(dir.join("evaluation/summary.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (format!("{}_{}", f[2], f[1]), f[3].parse().unwrap())
        })
        .collect()
}

fn train(data: &Path, out: &Path, extra: &[&str]) -> common::Run {
    let mut args = vec![
        "--quiet",
        "train",
        data.to_str().unwrap(),
        "data.task=transfer",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    perturbench(&args)
}

#[test]
fn a_python_control_mean_scores_exactly_like_the_builtin_one() {
    let Some(py) = python_with_anndata() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = simulate_small(tmp.path(), "d.h5ad", 3);
    let command = format!(
        "model.command={} {} {{train}} {{requests}} {{out}}",
        py.display(),
        example("control_mean.py")
    );
    let ext = tmp.path().join("ext");
    let r = train(
        &data,
        &ext,
        &["model=external", &command, "model.note=demo"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let builtin = tmp.path().join("cm");
    let r = train(&data, &builtin, &["model=control-mean"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (a, b) = (summary(&ext), summary(&builtin));
    assert_eq!(a.len(), b.len());
    for ((ka, va), (kb, vb)) in a.iter().zip(&b) {
        assert_eq!(ka, kb);
        assert!(
            (va - vb).abs() <= 1e-9,
            "{ka}: external {va} vs control-mean {vb}"
        );
    }
    let params = std::fs::read_to_string(ext.join("external/params.json")).unwrap();
    assert!(params.contains("\"note\": \"demo\""), "{params}");
    assert!(!ext.join("external/train.h5ad").exists());
}

#[test]
fn bad_commands_are_refused_or_reported_with_their_output() {
    let start = std::time::Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let data = simulate_small(tmp.path(), "d.h5ad", 4);
    let out = tmp.path().join("o");
    // Refused while the configuration is resolved, before anything is read.
    let r = train(&data, &out, &["model=external"]);
    assert_error(&r, &["model.command", "empty"]);
    let r = train(
        &data,
        &out,
        &["model=external", "model.command=cat {train}"],
    );
    assert_error(&r, &["model.command", "{out}"]);
    let r = train(
        &data,
        &out,
        &[
            "model=external",
            "model.command=true {out}",
            "model.timeout_s=0",
        ],
    );
    assert_error(&r, &["model.timeout_s", "positive"]);
    // Reported after the command ran, with its last output lines.
    let r = train(
        &data,
        &out,
        &[
            "model=external",
            "model.command=echo oops >&2; exit 3 # {out}",
        ],
    );
    assert_error(&r, &["model.command failed", "exit status: 3", "oops"]);
    let r = train(&data, &out, &["model=external", "model.command=true {out}"]);
    assert_error(&r, &["wrote no predictions"]);
    let r = train(
        &data,
        &out,
        &[
            "model=external",
            "model.command=sleep 5 # {out}",
            "model.timeout_s=0.5",
        ],
    );
    assert_error(&r, &["timed out after 0.5 s"]);
    let r = train(
        &data,
        &out,
        &["model=external", "model.command=cp {train} {out}"],
    );
    assert_error(&r, &["predicted cells, expected one per request"]);
    assert!(!out.exists(), "a failed run leaves no output");
    // The timeout stopped the command's children (sleep 30) too.
    assert!(start.elapsed().as_secs() < 25, "{:?}", start.elapsed());
    // Copying the requests is a valid (identity) model: the controls as predictions.
    let r = train(
        &data,
        &out,
        &["model=external", "model.command=cp {requests} {out}"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(out.join("evaluation/summary.csv").exists());
    // Its checkpoint holds no weights: `predict` says so.
    let targets = tmp.path().join("targets.csv");
    std::fs::write(&targets, "condition\ncontrol\n").unwrap();
    let r = perturbench(&[
        "predict",
        "--checkpoint",
        out.join("checkpoint").to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--targets",
        targets.to_str().unwrap(),
        "--out",
        tmp.path().join("p.h5ad").to_str().unwrap(),
    ]);
    assert_error(&r, &["external model", "predicts only through its command"]);
}

#[test]
fn tune_searches_an_external_models_params() {
    let tmp = tempfile::tempdir().unwrap();
    let data = simulate_small(tmp.path(), "d.h5ad", 5);
    let space = tmp.path().join("space.yaml");
    std::fs::write(
        &space,
        "space:\n  model.alpha: {type: float, low: 0.1, high: 10.0, log: true}\n",
    )
    .unwrap();
    let out = tmp.path().join("tune");
    let r = perturbench(&[
        "--quiet",
        "tune",
        data.to_str().unwrap(),
        "model=external",
        "model.command=cp {requests} {out}",
        "data.task=transfer",
        "--space",
        space.to_str().unwrap(),
        "--trials",
        "2",
        "--study",
        "ext",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let trials = std::fs::read_to_string(out.join("trials.csv")).unwrap();
    assert_eq!(trials.matches("COMPLETE").count(), 2, "{trials}");
    for n in ["0000", "0001"] {
        let p = std::fs::read_to_string(out.join(format!("trials/ext/{n}/external/params.json")))
            .unwrap();
        assert!(p.contains("\"alpha\""), "{p}");
    }
}

#[test]
fn the_ridge_example_runs_in_the_example_suite_and_beats_control_mean() {
    let Some(py) = python_with_anndata() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // `python` in the suite's command is the one with anndata.
    let path = format!(
        "{}:{}",
        py.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = tmp.path().join("byom");
    let r = std::process::Command::new(env!("CARGO_BIN_EXE_perturbench"))
        .current_dir(&root)
        .env("PATH", path)
        .args([
            "--quiet",
            "benchmark",
            "--suite",
            "examples/external/suite.yaml",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let board = std::fs::read_to_string(out.join("leaderboard.csv")).unwrap();
    let header: Vec<&str> = board.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "cosine_logfc").unwrap();
    let mean = |model: &str| {
        let v: Vec<f64> = board
            .lines()
            .filter(|l| l.starts_with(&format!("{model},")))
            .map(|l| l.split(',').nth(col).unwrap().parse().unwrap())
            .collect();
        assert_eq!(v.len(), 2, "{board}");
        v.iter().sum::<f64>() / 2.0
    };
    assert!(
        mean("external") > mean("control-mean") + 0.2,
        "ridge should beat control-mean on cosine_logfc: {board}"
    );
}
