//! How `train`, `tune` and `benchmark` take their settings, as the user types them: the
//! top-level `seed=N`, a data preset's task, a missing task, `tune`'s own errors and default
//! output directory, evaluation splits that cannot be scored (refused before training), and
//! `inspect` on files of another convention (GEARS).

mod common;
use common::*;
use perturbench_io::Column;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Settings that make a network train in a second on the small simulation.
const QUICK: [&str; 3] = [
    "model=linear_additive",
    "trainer.max_epochs=2",
    "model.lr=0.01",
];

fn run_json(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("evaluation").join("run.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The devel dataset, or `None` (with the reason printed).
fn devel() -> Option<PathBuf> {
    shared_data().map(|d| d.join("perturbench_devel.h5ad"))
}

#[test]
fn top_level_seed_sets_the_trainer_and_prediction_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let data = simulate_small(dir.path(), "small.h5ad", 5);
    let d = data.to_str().unwrap();
    // As PerturBench's Hydra `seed=N`: training and prediction, not the split.
    let r = perturbench(&[
        "train",
        d,
        "model=linear_additive",
        "seed=7",
        "--task",
        "transfer",
        "--print-config",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let y = &r.stdout;
    assert!(y.contains("  seed: 7\n"), "{y}");
    assert!(y.contains("prediction_seed: 7"), "{y}");
    assert!(
        y.contains("  seed: null\n"),
        "the split seed stays unset: {y}"
    );
    // A whole run records them.
    let out = dir.path().join("run");
    let mut args = vec!["--quiet", "train", d, "seed=7", "--task", "transfer"];
    args.extend(QUICK);
    args.extend(["--out", out.to_str().unwrap()]);
    let r = perturbench(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let run = run_json(&out);
    assert_eq!(run["prediction_seed"], 7, "{run}");
    assert_eq!(run["trainer"]["seed"], 7, "{run}");
    // Not a number: the item and what is expected.
    let r = perturbench(&[
        "train",
        d,
        "model=additive",
        "seed=abc",
        "--task",
        "transfer",
    ]);
    assert_error(&r, &["seed=abc", "non-negative integer"]);
    // tune takes it as one of train's items: it reaches the trials' configuration.
    let tdir = dir.path().join("tune");
    let r = perturbench(&[
        "--quiet",
        "tune",
        "hpo=linear_additive",
        d,
        "data.task=transfer",
        "seed=7",
        "trainer.max_epochs=1",
        "--trials",
        "1",
        "--study",
        "s",
        "--out",
        tdir.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let best = std::fs::read_to_string(tdir.join("best.yaml")).unwrap();
    assert!(best.contains("  seed: 7\n"), "{best}");
    assert!(best.contains("prediction_seed: 7"), "{best}");
}

#[test]
fn a_data_preset_or_data_task_item_gives_the_task() {
    let dir = tempfile::tempdir().unwrap();
    let data = simulate_small(dir.path(), "small.h5ad", 5);
    let d = data.to_str().unwrap();
    // The presets' tasks, with no --task.
    for (preset, task) in [("norman19", "combination"), ("sciplex3", "transfer")] {
        let arg = format!("data={preset}");
        let r = perturbench(&["train", d, &arg, "model=additive", "--print-config"]);
        assert_eq!(r.code, 0, "{preset}: {}", r.stderr);
        assert!(
            r.stdout.contains(&format!("task: {task}\n")),
            "{preset}: {}",
            r.stdout
        );
    }
    // A whole run with the preset's task and no --task.
    let out = dir.path().join("run");
    let mut args = vec!["--quiet", "train", d, "data=sciplex3"];
    args.extend(QUICK);
    args.extend(["--out", out.to_str().unwrap()]);
    let r = perturbench(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(run_json(&out)["split"].as_str().is_some());
    // data.task=NAME in place of --task.
    let out2 = dir.path().join("run2");
    let mut args = vec!["--quiet", "train", d, "data.task=transfer"];
    args.extend(QUICK);
    args.extend(["--out", out2.to_str().unwrap()]);
    let r = perturbench(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The same task and seeds give the same split and the same scores.
    let a = std::fs::read_to_string(out.join("evaluation").join("summary.csv")).unwrap();
    let b = std::fs::read_to_string(out2.join("evaluation").join("summary.csv")).unwrap();
    assert_eq!(a, b);
    // norman19 on the devel data: combination prediction without --task.
    let Some(devel) = devel() else { return };
    let r = perturbench(&[
        "train",
        devel.to_str().unwrap(),
        "data=norman19",
        "model=latent_additive",
        "--print-config",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("task: combination\n"), "{}", r.stdout);
}

#[test]
fn a_missing_task_lists_the_tasks_and_how_to_pass_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = simulate_small(dir.path(), "small.h5ad", 5);
    let out = dir.path().join("d");
    let r = perturbench(&[
        "train",
        data.to_str().unwrap(),
        "model=latent_additive",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_error(
        &r,
        &[
            "no task given",
            "--task combination",
            "data.task=combination",
            "data=norman19",
            "transfer, combination, inverse-combination",
        ],
    );
    assert!(!r.stderr.contains("Usage:"), "{}", r.stderr);
    assert!(!out.exists());
}

#[test]
fn tune_reports_its_own_errors_and_defaults_out_to_the_study() {
    let dir = tempfile::tempdir().unwrap();
    let data = simulate_small(dir.path(), "small.h5ad", 5);
    let path = format!("data.path={}", data.display());
    let db = dir.path().join("x.db");
    let url = format!("sqlite://{}", db.display());
    let tune = |extra: &[&str]| {
        let mut args = vec!["tune", "hpo=linear_additive", &path, "--trials", "3"];
        args.extend_from_slice(extra);
        let out = Command::new(env!("CARGO_BIN_EXE_perturbench"))
            .args(&args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = tune(&["--study", "s", "--storage", &url]);
    assert_ne!(code, 0);
    for want in ["tune", "data.task", "combination"] {
        assert!(err.contains(want), "{want} missing: {err}");
    }
    assert!(!err.contains("Usage"), "{err}");
    assert!(!err.contains("perturbench train"), "{err}");
    assert!(!db.exists(), "no store is created for invalid settings");
    assert!(!dir.path().join("s").exists());
    // Other bad items name tune and the item.
    let (code, err) = tune(&["data.task=transfer", "model.nope=1", "--study", "s"]);
    assert_ne!(code, 0);
    assert!(err.contains("tune") && err.contains("nope"), "{err}");
    // Without --out: a directory named after the study (here only the study is created).
    let (code, err) = tune(&["data.task=transfer", "--study", "my study", "--jobs", "0"]);
    assert_eq!(code, 0, "{err}");
    assert!(dir.path().join("my_study").join("study.db").exists());
}

/// The devel combination split with seed 42: both val combos (CEBPE+RUNX1T1 and
/// ZBTB10+PTPN12) have a single never seen in train.
fn assert_refused(stderr: &str, code: i32, what: &str, started: Instant) {
    eprintln!(
        "{what}: refused in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    assert_ne!(code, 0, "{what}: {stderr}");
    for want in [
        "CEBPE+RUNX1T1",
        "ZBTB10+PTPN12",
        "evaluation.split=test",
        "--evaluation-split test",
        "data.seed",
    ] {
        assert!(stderr.contains(want), "{what}: {want} missing in {stderr}");
    }
}

#[test]
fn train_refuses_an_unpredictable_evaluation_split_before_training() {
    let Some(devel) = devel() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d");
    let t = Instant::now();
    let r = perturbench(&[
        "train",
        devel.to_str().unwrap(),
        "model=latent_additive",
        "--task",
        "combination",
        "--covariate-keys",
        "cell_type",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_refused(&r.stderr, r.code, "train", t);
    assert!(!r.stderr.contains("training state"), "{}", r.stderr);
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
    // The suggested fix works (baseline: quick).
    let r = perturbench(&[
        "--quiet",
        "train",
        devel.to_str().unwrap(),
        "model=additive",
        "data.task=combination",
        "evaluation.split=test",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn tune_refuses_an_unpredictable_evaluation_split_before_any_trial() {
    let Some(devel) = devel() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t");
    let t = Instant::now();
    let r = perturbench(&[
        "tune",
        "hpo=linear_additive",
        devel.to_str().unwrap(),
        "data.task=combination",
        "data.covariate_keys=cell_type",
        "--trials",
        "3",
        "--study",
        "s",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_refused(&r.stderr, r.code, "tune", t);
    assert!(r.stderr.contains("tune"), "{}", r.stderr);
    assert!(!out.exists());
}

#[test]
fn benchmark_refuses_an_unpredictable_evaluation_split_before_queueing() {
    let Some(devel) = devel() else { return };
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("suite.yaml");
    std::fs::write(
        &suite,
        format!(
            "name: s\nmodels: [additive, linear-additive]\nseeds: [42]\ntasks:\n  combo: [data.task=combination, data.covariate_keys=cell_type]\ndatasets:\n  - name: devel\n    path: {}\n    tasks: [combo]\n",
            devel.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("b");
    let t = Instant::now();
    let r = perturbench(&[
        "benchmark",
        "--suite",
        suite.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_refused(&r.stderr, r.code, "benchmark", t);
    assert!(
        r.stderr.contains("devel") && r.stderr.contains("seed 42"),
        "{}",
        r.stderr
    );
    assert!(!out.exists(), "nothing queued or written");
}

#[test]
fn benchmark_checks_simulated_datasets_once_simulated() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("suite.yaml");
    // On the small simulation, combination prediction with the default held-out fraction
    // holds out nothing: every job would fail.
    std::fs::write(
        &suite,
        "name: s
models: [additive]
seeds: [42]
tasks:
  combo: [data.task=combination]
datasets:
  - name: sim
    simulate: {preset: small}
    tasks: [combo]
",
    )
    .unwrap();
    let out = dir.path().join("b");
    let r = perturbench(&[
        "--quiet",
        "benchmark",
        "--suite",
        suite.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_error(&r, &["suite 's'", "sim", "no job was queued"]);
    // The simulated data is kept for the next attempt; no store, no run.
    assert_eq!(entries(&out), vec!["data".to_string()]);
}

/// A GEARS-style file: control `ctrl`, singles `A+ctrl`, a combo `A+B`.
fn gears_tiny(path: &Path) {
    let mut ad = tiny();
    let cond: Vec<&str> = (0..ad.n_obs())
        .map(|i| ["ctrl", "A+ctrl", "B+ctrl", "A+B"][i % 4])
        .collect();
    ad.obs
        .set_column("condition", Column::categorical_from_strings(&cond));
    write(path, &ad);
}

#[test]
fn inspect_describes_gears_files_and_says_what_to_pass() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("gears.h5ad");
    gears_tiny(&p);
    let r = perturbench(&["inspect", p.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for want in [
        "shape: 12 cells x 4 genes",
        "X: ",
        "obs columns (2)",
        "ctrl, A+ctrl, B+ctrl, A+B",
        "GEARS",
        "--control ctrl",
        "--perturbation-key condition",
        "singles: 2, combinations: 1",
    ] {
        assert!(r.stdout.contains(want), "{want} missing in\n{}", r.stdout);
    }
    // Given explicitly, the GEARS labels describe the design without a note.
    let r = perturbench(&["inspect", p.to_str().unwrap(), "--control", "ctrl"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains("note:"), "{}", r.stdout);
    assert!(r.stdout.contains("singles: 2"), "{}", r.stdout);
    // No column with a known control label: the file is still described, with a note.
    let plain = dir.path().join("plain.h5ad");
    let mut ad = tiny();
    ad.obs.columns.retain(|(n, _)| n != "condition");
    write(&plain, &ad);
    let r = perturbench(&["inspect", plain.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("obs columns (1)"), "{}", r.stdout);
    assert!(r.stdout.contains("--perturbation-key KEY"), "{}", r.stdout);
    // The real GEARS-format file.
    let Some(shared) = shared_data() else { return };
    let f = shared.join("norman2019_gears_format_50x50_scx.h5ad");
    if !f.exists() {
        eprintln!("SKIP: {} not found", f.display());
        return;
    }
    let r = perturbench(&["inspect", f.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for want in [
        "shape:",
        "obs columns",
        "GEARS",
        "--control ctrl",
        "singles:",
    ] {
        assert!(r.stdout.contains(want), "{want} missing in\n{}", r.stdout);
    }
}

#[test]
fn readme_quick_start_and_the_hdf5_hint_match_the_build() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains(
        "sudo apt-get update && sudo apt-get install -y libhdf5-dev pkg-config && cargo build --release && ./target/release/perturbench demo"
    ));
    assert!(readme.contains("install libhdf5-dev (or build with the static-hdf5 feature)"));
    assert!(readme.contains("--features perturbench-io/static-hdf5"));
    // The feature the hint names exists.
    let io = std::fs::read_to_string(root.join("crates/perturbench-io/Cargo.toml")).unwrap();
    assert!(io.contains("\nstatic-hdf5 = ["), "{io}");
}
