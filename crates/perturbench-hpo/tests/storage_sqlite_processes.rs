//! Several processes share one SQLite file as a work queue: each trial is claimed once.
//! The test re-runs its own binary as the worker processes (the `worker_process` test, which
//! does nothing unless `PERTURBENCH_STORAGE_CHILD` names a store).

use perturbench_hpo::storage::{open, Direction, JsonMap, StudySpec, TrialRecord, TrialState};
use serde_json::json;
use std::process::{Command, Stdio};

const CHILD: &str = "PERTURBENCH_STORAGE_CHILD";

fn no_sampling(_: &perturbench_hpo::storage::Study, _: &[TrialRecord]) -> Option<JsonMap> {
    None
}

#[test]
fn worker_process() {
    let Ok(url) = std::env::var(CHILD) else {
        return;
    };
    let worker = format!("process-{}", std::process::id());
    let mut store = open(&url).unwrap();
    while let Some(t) = store.claim(None, &worker, &mut no_sampling).unwrap() {
        assert!(store.heartbeat(t.id, &worker).unwrap());
        assert!(store
            .finish(
                t.id,
                &worker,
                TrialState::Complete,
                Some(1.0),
                &JsonMap::new()
            )
            .unwrap());
    }
}

#[test]
fn processes_share_one_sqlite_queue() {
    if std::env::var(CHILD).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("queue.db").display());
    let mut store = open(&url).unwrap();
    let study = store
        .create_study(
            &StudySpec {
                name: "bench".into(),
                kind: "benchmark".into(),
                direction: Direction::Minimize,
                space: json!(null),
                config: json!({}),
                n_trials: None,
            },
            false,
        )
        .unwrap();
    for i in 0..120 {
        let params = json!({ "job": i }).as_object().cloned().unwrap();
        store.enqueue(study.id, &params).unwrap();
    }
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(&exe)
                .args(["--exact", "worker_process", "--test-threads=1"])
                .env(CHILD, &url)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "worker process failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let trials = store.trials(study.id).unwrap();
    assert_eq!(trials.len(), 120);
    for t in &trials {
        assert_eq!(t.state, TrialState::Complete, "{t:?}");
        assert_eq!(t.attempts, 1, "claimed twice: {t:?}");
    }
}
