//! Behaviour of the trial storage, run against SQLite (a temporary file) and, when
//! `PERTURBENCH_TEST_POSTGRES` holds a URL, against PostgreSQL (a fresh database per test).
//! `PERTURBENCH_REQUIRE_POSTGRES=1` turns a missing URL into a failure.

#[path = "common/store_fixture.rs"]
mod store_fixture;

use perturbench_hpo::storage::{
    open, Direction, JsonMap, StorageError, StudySpec, TrialRecord, TrialState,
};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;
use store_fixture::{on_both_backends, Fixture};

on_both_backends!(
    "pbtest";
    concurrent_claims_hand_out_each_trial_once,
    n_trials_sampling_is_exact_under_concurrency,
    stale_trials_are_requeued_and_old_worker_cannot_finish,
    create_study_resumes_conflicts_and_forces,
    report_finish_and_errors,
    claim_without_study_takes_any_study,
    concurrent_opens_and_creates_agree,
    concurrent_enqueue_missing_queues_each_job_once,
);

fn spec(name: &str, space: Value, n_trials: Option<u32>) -> StudySpec {
    StudySpec {
        name: name.to_string(),
        kind: "tune".to_string(),
        direction: Direction::Minimize,
        space,
        config: json!({"epochs": 3}),
        n_trials,
    }
}

fn params(value: Value) -> JsonMap {
    value.as_object().cloned().expect("an object")
}

fn no_sampling(_: &perturbench_hpo::storage::Study, _: &[TrialRecord]) -> Option<JsonMap> {
    None
}

fn concurrent_claims_hand_out_each_trial_once(fx: &Fixture) {
    let mut store = fx.open();
    let study = store
        .create_study(&spec("queue", json!({"i": "int"}), None), false)
        .unwrap();
    for i in 0..200 {
        let t = store.enqueue(study.id, &params(json!({ "i": i }))).unwrap();
        assert_eq!(t.number, i);
        assert_eq!(t.state, TrialState::Waiting);
    }
    let claimed: Vec<Vec<i64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|w| {
                let mut store = fx.open();
                scope.spawn(move || {
                    let worker = format!("worker-{w}");
                    let mut mine = Vec::new();
                    while let Some(t) = store
                        .claim(Some(study.id), &worker, &mut no_sampling)
                        .unwrap()
                    {
                        assert_eq!(t.state, TrialState::Running);
                        assert_eq!(t.worker.as_deref(), Some(worker.as_str()));
                        assert!(t.heartbeat.is_some() && t.started.is_some());
                        let value = t.params["i"].as_f64().unwrap();
                        assert!(store
                            .finish(
                                t.id,
                                &worker,
                                TrialState::Complete,
                                Some(value),
                                &JsonMap::new()
                            )
                            .unwrap());
                        mine.push(t.id);
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let all: Vec<i64> = claimed.iter().flatten().copied().collect();
    let distinct: BTreeSet<i64> = all.iter().copied().collect();
    assert_eq!(
        all.len(),
        200,
        "claims per worker: {:?}",
        claimed.iter().map(Vec::len).collect::<Vec<_>>()
    );
    assert_eq!(distinct.len(), 200);
    let trials = store.trials(study.id).unwrap();
    assert_eq!(trials.len(), 200);
    for t in &trials {
        assert_eq!(t.state, TrialState::Complete);
        assert_eq!(t.attempts, 1);
        assert_eq!(t.value, t.params["i"].as_f64());
        assert!(t.finished.is_some());
    }
}

fn n_trials_sampling_is_exact_under_concurrency(fx: &Fixture) {
    let mut store = fx.open();
    let study = store
        .create_study(&spec("sampled", json!({"x": [0, 1]}), Some(40)), false)
        .unwrap();
    let per_worker: Vec<usize> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|w| {
                let mut store = fx.open();
                scope.spawn(move || {
                    let worker = format!("sampler-{w}");
                    let mut sample = |s: &perturbench_hpo::storage::Study,
                                      trials: &[TrialRecord]| {
                        assert_eq!(s.spec.n_trials, Some(40));
                        Some(params(json!({"x": trials.len(), "by": worker.clone()})))
                    };
                    let mut count = 0;
                    while let Some(t) = store.claim(Some(study.id), &worker, &mut sample).unwrap() {
                        assert_eq!(t.state, TrialState::Running);
                        assert_eq!(t.attempts, 1);
                        assert_eq!(t.params["x"], json!(t.number));
                        assert!(store
                            .finish(
                                t.id,
                                &worker,
                                TrialState::Complete,
                                Some(0.5),
                                &JsonMap::new()
                            )
                            .unwrap());
                        count += 1;
                    }
                    count
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(per_worker.iter().sum::<usize>(), 40, "{per_worker:?}");
    let trials = store.trials(study.id).unwrap();
    let numbers: Vec<i64> = trials.iter().map(|t| t.number).collect();
    assert_eq!(numbers, (0..40).collect::<Vec<_>>());
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
    let mut never = |_: &perturbench_hpo::storage::Study, _: &[TrialRecord]| -> Option<JsonMap> {
        panic!("a full study must not be sampled")
    };
    assert!(store
        .claim(Some(study.id), "late", &mut never)
        .unwrap()
        .is_none());

    // A callback that declines leaves the study alone.
    let declined = store
        .create_study(&spec("declined", json!({}), Some(5)), false)
        .unwrap();
    assert!(store
        .claim(Some(declined.id), "w", &mut no_sampling)
        .unwrap()
        .is_none());
    assert!(store.trials(declined.id).unwrap().is_empty());
}

fn stale_trials_are_requeued_and_old_worker_cannot_finish(fx: &Fixture) {
    let mut admin = fx.open();
    let mut old = fx.open();
    let mut live = fx.open();
    let mut new = fx.open();
    let study = admin
        .create_study(&spec("stale", json!({"lr": "log"}), None), false)
        .unwrap();
    admin
        .enqueue(study.id, &params(json!({"lr": 0.1})))
        .unwrap();
    admin
        .enqueue(study.id, &params(json!({"lr": 0.2})))
        .unwrap();
    let t0 = old
        .claim(Some(study.id), "old", &mut no_sampling)
        .unwrap()
        .unwrap();
    let t1 = live
        .claim(Some(study.id), "live", &mut no_sampling)
        .unwrap()
        .unwrap();
    assert_eq!((t0.number, t1.number), (0, 1));
    assert!(old.report(t0.id, "old", 1, 0.9).unwrap());
    assert!(admin.requeue_stale(60.0).unwrap().is_empty());

    std::thread::sleep(Duration::from_millis(1500));
    assert!(live.heartbeat(t1.id, "live").unwrap());
    assert!(!live.heartbeat(t1.id, "someone-else").unwrap());
    assert_eq!(admin.requeue_stale(1.0).unwrap(), vec![t0.id]);

    let waiting = &admin.trials(study.id).unwrap()[0];
    assert_eq!(waiting.state, TrialState::Waiting);
    assert_eq!(waiting.worker, None);
    assert_eq!(waiting.heartbeat, None);
    assert!(waiting.intermediate.is_empty());
    assert_eq!(waiting.params["lr"], json!(0.1));
    assert!(!old.heartbeat(t0.id, "old").unwrap());

    let again = new
        .claim(Some(study.id), "new", &mut no_sampling)
        .unwrap()
        .unwrap();
    assert_eq!(again.id, t0.id);
    assert_eq!(again.attempts, 2);
    assert_eq!(again.worker.as_deref(), Some("new"));

    // The old worker's late values and result are refused.
    assert!(!old.report(t0.id, "old", 2, 0.1).unwrap());
    assert!(new.report(t0.id, "new", 0, 0.8).unwrap());
    let attrs = params(json!({"from": "old"}));
    assert!(!old
        .finish(t0.id, "old", TrialState::Complete, Some(1.0), &attrs)
        .unwrap());
    let after = &admin.trials(study.id).unwrap()[0];
    assert_eq!(after.state, TrialState::Running);
    assert_eq!(after.worker.as_deref(), Some("new"));
    assert_eq!(after.value, None);
    assert!(after.attrs.is_empty());
    assert_eq!(after.intermediate, vec![(0, 0.8)]);

    let attrs = params(json!({"from": "new"}));
    assert!(new
        .finish(t0.id, "new", TrialState::Complete, Some(2.0), &attrs)
        .unwrap());
    assert!(live
        .finish(t1.id, "live", TrialState::Pruned, None, &JsonMap::new())
        .unwrap());
    let done = admin.trials(study.id).unwrap();
    assert_eq!(done[0].state, TrialState::Complete);
    assert_eq!(done[0].value, Some(2.0));
    assert_eq!(done[0].attrs["from"], json!("new"));
    assert_eq!(done[1].state, TrialState::Pruned);
    assert!(!new
        .finish(t0.id, "new", TrialState::Fail, None, &JsonMap::new())
        .unwrap());
}

fn create_study_resumes_conflicts_and_forces(fx: &Fixture) {
    let mut store = fx.open();
    let first = store
        .create_study(
            &spec("study-a", json!({"lr": [1e-4, 1e-1]}), Some(10)),
            false,
        )
        .unwrap();
    for _ in 0..3 {
        store.enqueue(first.id, &JsonMap::new()).unwrap();
    }

    let mut resumed_spec = spec("study-a", json!({"lr": [1e-4, 1e-1]}), Some(20));
    resumed_spec.config = json!({"epochs": 9});
    let resumed = store.create_study(&resumed_spec, false).unwrap();
    assert_eq!(resumed.id, first.id);
    assert_eq!(resumed.created, first.created);
    let stored = store.study("study-a").unwrap().unwrap();
    assert_eq!(stored.spec, resumed_spec);
    assert_eq!(store.trials(first.id).unwrap().len(), 3);

    let other_space = spec("study-a", json!({"lr": [1e-5, 1e-1]}), Some(10));
    let err = store.create_study(&other_space, false).unwrap_err();
    assert!(
        matches!(&err, StorageError::StudyConflict { name, .. } if name == "study-a"),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("study-a") && message.contains("search space"),
        "{message}"
    );

    let mut other_kind = resumed_spec.clone();
    other_kind.kind = "benchmark".into();
    other_kind.direction = Direction::Maximize;
    let message = store
        .create_study(&other_kind, false)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("kind") && message.contains("direction"),
        "{message}"
    );
    assert_eq!(
        store.trials(first.id).unwrap().len(),
        3,
        "a conflict changes nothing"
    );

    let fresh = store.create_study(&other_space, true).unwrap();
    assert_ne!(fresh.id, first.id);
    assert!(store.trials(first.id).unwrap().is_empty());
    assert!(store.trials(fresh.id).unwrap().is_empty());
    assert_eq!(store.study("study-a").unwrap().unwrap().id, fresh.id);
    let t = store.enqueue(fresh.id, &JsonMap::new()).unwrap();
    assert_eq!(t.number, 0);

    store
        .create_study(&spec("study-b", json!(null), None), false)
        .unwrap();
    let names: Vec<String> = store
        .studies()
        .unwrap()
        .into_iter()
        .map(|s| s.spec.name)
        .collect();
    assert_eq!(names, ["study-a", "study-b"]);
    assert!(store.study("absent").unwrap().is_none());
}

fn report_finish_and_errors(fx: &Fixture) {
    let mut store = fx.open();
    let study = store
        .create_study(&spec("details", json!({}), None), false)
        .unwrap();
    let queued = store.enqueue(study.id, &params(json!({"a": 1}))).unwrap();
    assert!(!store.report(queued.id, "w", 0, 1.0).unwrap());
    let t = store.claim(None, "w", &mut no_sampling).unwrap().unwrap();
    assert_eq!(t.id, queued.id);
    assert!(store.report(t.id, "w", 2, 0.5).unwrap());
    assert!(store.report(t.id, "w", 1, 0.7).unwrap());
    assert!(store.report(t.id, "w", 2, 0.4).unwrap());
    assert!(!store.report(t.id, "someone-else", 3, 0.1).unwrap());
    assert!(matches!(
        store.report(t.id, "w", 3, f64::NAN),
        Err(StorageError::NotANumber { .. })
    ));
    assert!(matches!(
        store.finish(t.id, "w", TrialState::Running, None, &JsonMap::new()),
        Err(StorageError::NotFinal { .. })
    ));
    assert!(matches!(
        store.finish(
            t.id,
            "w",
            TrialState::Complete,
            Some(f64::NAN),
            &JsonMap::new()
        ),
        Err(StorageError::NotANumber { .. })
    ));
    let attrs = params(json!({"loss_curve": [1.0, 0.5], "note": "ok"}));
    assert!(store
        .finish(t.id, "w", TrialState::Complete, Some(0.25), &attrs)
        .unwrap());
    let done = store.trials(study.id).unwrap().remove(0);
    assert_eq!(done.intermediate, vec![(1, 0.7), (2, 0.4)]);
    assert_eq!(done.value, Some(0.25));
    assert_eq!(done.attrs, attrs);
    assert_eq!(done.params, params(json!({"a": 1})));
    assert!(done.finished.unwrap() >= done.started.unwrap());

    assert!(matches!(
        store.report(99_999, "w", 0, 1.0),
        Err(StorageError::NoSuchTrial {
            trial_id: 99_999,
            ..
        })
    ));
    assert!(matches!(
        store.enqueue(99_999, &JsonMap::new()),
        Err(StorageError::NoSuchStudy {
            study_id: 99_999,
            ..
        })
    ));
    assert!(matches!(
        store.claim(Some(99_999), "w", &mut no_sampling),
        Err(StorageError::NoSuchStudy { .. })
    ));
    assert!(!store.heartbeat(99_999, "w").unwrap());
    assert!(store.requeue_stale(-1.0).is_err());
}

fn claim_without_study_takes_any_study(fx: &Fixture) {
    let mut store = fx.open();
    let a = store
        .create_study(&spec("any-a", json!({}), Some(1)), false)
        .unwrap();
    let b = store
        .create_study(&spec("any-b", json!({}), None), false)
        .unwrap();
    store.enqueue(b.id, &params(json!({"q": true}))).unwrap();
    // Enqueued work comes before sampling.
    let first = store.claim(None, "w", &mut no_sampling).unwrap().unwrap();
    assert_eq!(first.study_id, b.id);
    let mut sample = |s: &perturbench_hpo::storage::Study, _: &[TrialRecord]| {
        Some(params(json!({"study": s.spec.name.clone()})))
    };
    let second = store.claim(None, "w", &mut sample).unwrap().unwrap();
    assert_eq!(second.study_id, a.id);
    assert_eq!(second.params["study"], json!("any-a"));
    assert!(store.claim(None, "w", &mut sample).unwrap().is_none());

    // The same store opened again (its URL from describe) sees everything.
    let mut again = open(&store.describe()).unwrap();
    assert_eq!(again.studies().unwrap().len(), 2);
    assert_eq!(again.trials(a.id).unwrap().len(), 1);
}

fn concurrent_opens_and_creates_agree(fx: &Fixture) {
    let ids: Vec<i64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    let mut store = fx.open();
                    store
                        .create_study(&spec("shared", json!({"x": 1}), Some(3)), false)
                        .unwrap()
                        .id
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(ids.iter().all(|&id| id == ids[0]), "{ids:?}");
    assert_eq!(fx.open().studies().unwrap().len(), 1);
}

fn concurrent_enqueue_missing_queues_each_job_once(fx: &Fixture) {
    let mut store = fx.open();
    let study = store
        .create_study(&spec("bench", json!(["jobs"]), None), false)
        .unwrap();
    let batch: Vec<JsonMap> = (0..20)
        .map(|i| params(json!({"run": format!("job-{i}"), "seed": i})))
        .collect();
    // Four processes' worth of connections queue the same suite at once.
    let queued: Vec<usize> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let mut store = fx.open();
                let batch = &batch;
                scope.spawn(move || store.enqueue_missing(study.id, "run", batch).unwrap())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(queued.iter().sum::<usize>(), 20, "{queued:?}");
    let trials = store.trials(study.id).unwrap();
    assert_eq!(trials.len(), 20);
    let mut runs: Vec<&str> = trials
        .iter()
        .map(|t| t.params["run"].as_str().unwrap())
        .collect();
    runs.sort_unstable();
    runs.dedup();
    assert_eq!(runs.len(), 20);
    assert_eq!(
        trials.iter().map(|t| t.number).collect::<Vec<_>>(),
        (0..20).collect::<Vec<i64>>()
    );
    // A failed job is queued again; the others are not.
    let t = store
        .claim(Some(study.id), "w", &mut no_sampling)
        .unwrap()
        .unwrap();
    assert!(store
        .finish(t.id, "w", TrialState::Fail, None, &JsonMap::new())
        .unwrap());
    assert_eq!(store.enqueue_missing(study.id, "run", &batch).unwrap(), 1);
    let trials = store.trials(study.id).unwrap();
    assert_eq!(trials.len(), 21);
    assert_eq!(trials[20].params, t.params);
    assert_eq!(trials[20].state, TrialState::Waiting);
}
