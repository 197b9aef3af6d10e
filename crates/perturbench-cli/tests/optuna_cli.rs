//! Studies of `perturbench tune` are Optuna studies: Optuna opens what `tune` wrote, `tune`
//! continues what Optuna created, and on PostgreSQL an Optuna reader runs next to a pool of
//! workers. Uses `tune --synthetic` (no training). Needs a Python with Optuna (see
//! perturbench-hpo's `tests/common/optuna_python.rs`; skipped with a printed reason without
//! one unless `PERTURBENCH_REQUIRE_PYTHON=1`); the PostgreSQL tests need
//! `PERTURBENCH_TEST_POSTGRES` (as the storage tests).

mod common;
#[path = "../../perturbench-hpo/tests/common/optuna_python.rs"]
mod optuna_python;

use common::perturbench;
use perturbench_hpo::storage::{self, TrialState};
use serde_json::Value;
use std::process::{Command, Stdio};

/// A fresh PostgreSQL database for one test (dropped afterwards), or `None` (skipped).
struct PgDb {
    url: String,
    admin: String,
    name: String,
}

impl PgDb {
    fn new(test: &str) -> Option<PgDb> {
        let Ok(admin) = std::env::var("PERTURBENCH_TEST_POSTGRES") else {
            assert!(
                std::env::var("PERTURBENCH_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "PERTURBENCH_REQUIRE_POSTGRES=1 but PERTURBENCH_TEST_POSTGRES is not set"
            );
            println!("skipped: set PERTURBENCH_TEST_POSTGRES=postgresql://... to test PostgreSQL");
            return None;
        };
        let name = format!("pbcli_{test}_{}", std::process::id());
        // PostgreSQL refuses a CREATE DATABASE while another one copies the same template
        // ("source database is being accessed by other users"): the tests of this binary run
        // in parallel threads, so they create and drop their databases one at a time.
        let _one_at_a_time = PG_ADMIN.lock().unwrap_or_else(|e| e.into_inner());
        let mut client = postgres::Client::connect(&admin, postgres::NoTls)
            .unwrap_or_else(|e| panic!("cannot connect to {admin}: {e}"));
        // Two statements: several in one batch would run as one transaction block, which
        // DROP / CREATE DATABASE refuse.
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            client
                .batch_execute(&sql)
                .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        }
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        Some(PgDb {
            url: format!("{base}/{name}"),
            admin,
            name,
        })
    }
}

/// Serialises the tests' CREATE / DROP DATABASE statements.
static PG_ADMIN: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Drop for PgDb {
    fn drop(&mut self) {
        let _one_at_a_time = PG_ADMIN.lock().unwrap_or_else(|e| e.into_inner());
        if let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// Runs `perturbench tune --synthetic SECONDS` on `url`; panics when it fails.
fn tune(url: &str, out: &std::path::Path, study: &str, trials: u32, jobs: u32, seconds: &str) {
    let r = perturbench(&[
        "--quiet",
        "tune",
        "--synthetic",
        seconds,
        "--trials",
        &trials.to_string(),
        "--jobs",
        &jobs.to_string(),
        "--study",
        study,
        "--storage",
        url,
        "--heartbeat",
        "0.5",
        "--stale-after",
        "30",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "tune failed: {}", r.stderr);
}

/// Checks Optuna's dump against our trials: numbers, states, params and values.
fn assert_same(url: &str, study: &str, dump: &Value) {
    let mut store = storage::open(url).unwrap();
    let s = store.study(study).unwrap().unwrap();
    let ours = store.trials(s.id).unwrap();
    let theirs = dump["trials"].as_array().unwrap();
    assert_eq!(ours.len(), theirs.len(), "{dump}");
    for (t, o) in ours.iter().zip(theirs) {
        assert_eq!(o["number"], t.number, "{o}");
        assert_eq!(o["state"], t.state.as_str(), "{o}");
        assert_eq!(o["value"].as_f64(), t.value, "{o}");
        for (k, v) in &t.params {
            let same = match (v.as_f64(), o["params"][k].as_f64()) {
                (Some(a), Some(b)) => a == b,
                _ => *v == o["params"][k],
            };
            assert!(same, "param {k}: ours {v}, Optuna's {o}");
        }
        assert_eq!(
            o["params"].as_object().unwrap().len(),
            t.params.len(),
            "{o}"
        );
    }
}

/// `perturbench tune` on SQLite, then `optuna.load_study`: same trials; importances and plots.
#[test]
fn optuna_opens_a_study_written_by_tune() {
    let Some(py) = optuna_python::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:///{}", dir.path().join("study.db").display());
    tune(&url, dir.path(), "synth", 6, 2, "0.01");
    let dump = optuna_python::run_json(&py, "optuna_study.py", &["dump", &url, "synth"]);
    assert_same(&url, "synth", &dump);
    let trials = dump["trials"].as_array().unwrap();
    assert!(trials.iter().all(|t| t["state"] == "COMPLETE"), "{dump}");
    assert_eq!(dump["importance"].as_object().unwrap().len(), 3, "{dump}");
    assert_eq!(dump["rows"], 6);
}

/// A study Optuna created over the synthetic space is continued by `perturbench tune`, on
/// SQLite and PostgreSQL: Optuna's enqueued trial runs, new trials fill the budget, and Optuna
/// then sees them all.
fn tune_continues(url: &str) {
    let Some(py) = optuna_python::python() else {
        return;
    };
    // Our schema first (as a deployment whose store perturbench opened).
    drop(storage::open(url).unwrap());
    optuna_python::run_json(&py, "optuna_study.py", &["create", url, "theirs", "3"]);
    let dir = tempfile::tempdir().unwrap();
    tune(url, dir.path(), "theirs", 7, 2, "0.01");
    let dump = optuna_python::run_json(&py, "optuna_study.py", &["dump", url, "theirs"]);
    assert_same(url, "theirs", &dump);
    let trials = dump["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 7);
    assert!(trials.iter().all(|t| t["state"] == "COMPLETE"), "{dump}");
    assert_eq!(trials[3]["params"]["c"], "b", "the enqueued trial: {dump}");
    assert!(dump["importance"].is_object());
}

#[test]
fn tune_continues_an_optuna_study_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    tune_continues(&format!(
        "sqlite:///{}",
        dir.path().join("optuna.db").display()
    ));
}

#[test]
fn tune_continues_an_optuna_study_postgres() {
    if let Some(db) = PgDb::new("continue") {
        tune_continues(&db.url);
    }
}

/// On PostgreSQL, Optuna reads the study again and again while three workers run it; the
/// reader never fails and ends seeing every trial finished.
#[test]
fn an_optuna_reader_and_a_worker_pool_share_postgres() {
    let Some(db) = PgDb::new("shared") else {
        return;
    };
    let Some(py) = optuna_python::python() else {
        return;
    };
    drop(storage::open(&db.url).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("reader-ready");
    let mut reader = Command::new(&py)
        .arg(optuna_python::script("optuna_study.py"))
        .args(["watch", &db.url, "pool", "12", ready.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the Optuna reader");
    // The workers start once Optuna reads the store.
    let start = std::time::Instant::now();
    while !ready.exists() {
        if let Some(status) = reader.try_wait().unwrap() {
            panic!("the Optuna reader exited early: {status}");
        }
        assert!(
            start.elapsed().as_secs() < 120,
            "the Optuna reader did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    tune(&db.url, dir.path(), "pool", 12, 3, "0.5");
    let out = reader.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the Optuna reader failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(seen["reads"].as_u64().unwrap() > 1, "{seen}");
    assert_eq!(seen["finished"], 12);
    let mut store = storage::open(&db.url).unwrap();
    let study = store.study("pool").unwrap().unwrap();
    let trials = store.trials(study.id).unwrap();
    assert_eq!(trials.len(), 12);
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
    let workers: std::collections::BTreeSet<_> =
        trials.iter().filter_map(|t| t.worker.clone()).collect();
    assert!(workers.len() > 1, "{workers:?}");
}
