//! Optuna reads and continues our studies, and we continue Optuna's, on SQLite and (when
//! `PERTURBENCH_TEST_POSTGRES` is set) PostgreSQL. Needs a Python with Optuna (see
//! `common/optuna_python.rs`); skipped with a printed reason without one unless
//! `PERTURBENCH_REQUIRE_PYTHON=1`. Stores of the previous perturbench schema get a clear error
//! (no Python needed).

#[path = "common/optuna_python.rs"]
mod optuna_python;
#[path = "common/store_fixture.rs"]
mod store_fixture;

use perturbench_hpo::storage::{
    open, Direction, JsonMap, StorageError, StudySpec, TrialRecord, TrialState, OPTUNA_KIND,
};
use perturbench_hpo::{RandomSampler, SearchSpace};
use rand::SeedableRng;
use serde_json::{json, Value};
use store_fixture::{on_both_backends, Fixture};

on_both_backends!(
    "pboptuna";
    optuna_loads_our_study,
    we_continue_an_optuna_study,
    an_old_perturbench_store_gets_a_clear_error,
);

/// perturbench tune --synthetic's search space.
fn synthetic_space() -> Value {
    json!({
        "x": {"type": "float", "low": 1e-4, "high": 1.0, "log": true},
        "n": {"type": "int", "low": 1, "high": 9},
        "c": {"type": "categorical", "choices": ["a", "b", "c"]},
    })
}

fn spec(name: &str, kind: &str, space: Value, n_trials: Option<u32>) -> StudySpec {
    StudySpec {
        name: name.into(),
        kind: kind.into(),
        direction: Direction::Minimize,
        space,
        config: json!({"note": "test"}),
        n_trials,
    }
}

fn map(v: Value) -> JsonMap {
    v.as_object().cloned().expect("an object")
}

/// A number as the Python script prints it.
fn number(v: f64) -> Value {
    if v.is_infinite() {
        json!(if v > 0.0 { "inf" } else { "-inf" })
    } else {
        json!(v)
    }
}

/// Whether two JSON values are equal, numbers compared as floats (Optuna returns ints of
/// float distributions as floats and the other way round).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same(v, w))
        }
        _ => a == b,
    }
}

/// Checks Optuna's view of each trial against ours.
fn assert_same_trials(ours: &[TrialRecord], theirs: &Value) {
    let theirs = theirs["trials"].as_array().expect("trials");
    assert_eq!(ours.len(), theirs.len(), "{theirs:?}");
    for (t, o) in ours.iter().zip(theirs) {
        let what = format!("trial {}: ours {t:?}, Optuna's {o}", t.number);
        assert_eq!(o["number"], json!(t.number), "{what}");
        assert_eq!(o["state"], json!(t.state.as_str()), "{what}");
        // Optuna shows an enqueued trial's parameters only once it runs.
        let enqueued = t.state == TrialState::Waiting && o["params"] == json!({});
        assert!(
            enqueued || same(&o["params"], &Value::Object(t.params.clone())),
            "{what}"
        );
        assert_eq!(o["value"], t.value.map_or(Value::Null, number), "{what}");
        let steps: Vec<Value> = t
            .intermediate
            .iter()
            .map(|&(s, v)| json!([s, number(v)]))
            .collect();
        assert_eq!(o["intermediate"], Value::Array(steps), "{what}");
        assert_eq!(o["user_attrs"], Value::Object(t.attrs.clone()), "{what}");
        assert_eq!(o["started"].is_null(), t.started.is_none(), "{what}");
        assert_eq!(o["completed"].is_null(), t.finished.is_none(), "{what}");
    }
}

fn no_sampling(_: &perturbench_hpo::storage::Study, _: &[TrialRecord]) -> Option<JsonMap> {
    None
}

/// A study written through our API (every state, intermediate values with an infinity, user
/// attributes) and a benchmark-like study with JSON parameters: Optuna loads both with the
/// same trials, and its importance and plots run on the first; Optuna then continues it.
fn optuna_loads_our_study(fx: &Fixture) {
    let Some(py) = optuna_python::python() else {
        return;
    };
    let mut store = fx.open();
    let space = SearchSpace::from_json(&synthetic_space()).unwrap();
    let study = store
        .create_study(
            &spec("ours", "synthetic", synthetic_space(), Some(8)),
            false,
        )
        .unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let mut sample = |_: &perturbench_hpo::storage::Study, _: &[TrialRecord]| {
        Some(space.sample(&mut RandomSampler, &[], &mut rng))
    };
    let ends = [
        (TrialState::Complete, Some(0.5)),
        (TrialState::Complete, Some(1.5)),
        (TrialState::Complete, Some(f64::INFINITY)),
        (TrialState::Complete, Some(0.25)),
        (TrialState::Pruned, Some(2.0)),
        (TrialState::Fail, None),
    ];
    for (i, (state, value)) in ends.into_iter().enumerate() {
        let t = store
            .claim(Some(study.id), "w1", &mut sample)
            .unwrap()
            .unwrap();
        assert!(store.report(t.id, "w1", 0, 3.0 + i as f64).unwrap());
        assert!(store.report(t.id, "w1", 1, f64::INFINITY).unwrap());
        let attrs = map(json!({"i": i, "curve": [1.0, 0.5], "note": "ok"}));
        assert!(store.finish(t.id, "w1", state, value, &attrs).unwrap());
    }
    let running = store.claim(Some(study.id), "w1", &mut sample).unwrap();
    assert!(running.is_some());
    store
        .enqueue(study.id, &map(json!({"x": 0.01, "n": 5, "c": "b"})))
        .unwrap();

    let ours = store.trials(study.id).unwrap();
    let theirs = optuna_python::run_json(&py, "optuna_study.py", &["dump", &fx.url, "ours"]);
    assert_eq!(theirs["direction"], "MINIMIZE");
    assert_same_trials(&ours, &theirs);
    for t in theirs["trials"].as_array().unwrap() {
        assert_eq!(
            t["distributions"],
            json!({"x": "FloatDistribution", "n": "IntDistribution",
                   "c": "CategoricalDistribution"}),
            "{t}"
        );
    }
    let importance = theirs["importance"].as_object().expect("importances");
    assert_eq!(importance.len(), 3, "{importance:?}");
    assert_eq!(theirs["plots"].as_array().unwrap().len(), 5);
    assert_eq!(theirs["best_value"], json!(0.25));

    // Benchmark-like parameters: strings and JSON objects and arrays.
    let bench = store
        .create_study(&spec("jobs", "benchmark", json!([]), None), false)
        .unwrap();
    let job = map(json!({"run": "a_seed1", "job": {"model": "m", "seed": 1},
                         "args": ["x=1", "y=2"], "seed": 1, "lr": 0.5, "flag": true}));
    store.enqueue(bench.id, &job).unwrap();
    let t = store
        .claim(Some(bench.id), "w2", &mut no_sampling)
        .unwrap()
        .unwrap();
    assert_eq!(t.params, job);
    assert!(store
        .finish(t.id, "w2", TrialState::Complete, Some(1.0), &JsonMap::new())
        .unwrap());
    assert_eq!(
        store
            .enqueue_missing(bench.id, "run", std::slice::from_ref(&job))
            .unwrap(),
        0
    );
    let ours = store.trials(bench.id).unwrap();
    let theirs = optuna_python::run_json(&py, "optuna_study.py", &["dump", &fx.url, "jobs"]);
    let args = &theirs["trials"][0]["params"];
    assert_eq!(args["run"], "a_seed1");
    assert_eq!(args["seed"], 1);
    assert_eq!(ours[0].params, job);

    // Optuna continues our study: it runs the WAITING trial we queued, then samples.
    let after =
        optuna_python::run_json(&py, "optuna_study.py", &["continue", &fx.url, "ours", "2"]);
    let ours = store.trials(study.id).unwrap();
    assert_same_trials(&ours, &after);
    assert_eq!(ours.len(), 9);
    assert_eq!(ours[7].state, TrialState::Complete);
    assert_eq!(ours[7].params, map(json!({"x": 0.01, "n": 5, "c": "b"})));
    assert_eq!(ours[8].number, 8);
    assert_eq!(ours[8].attrs["from"], "optuna");
}

/// A study Optuna created over a compatible space is continued through our API (its WAITING
/// trial first, then sampled ones), and Optuna sees the result; an incompatible space is a
/// conflict naming the parameter.
fn we_continue_an_optuna_study(fx: &Fixture) {
    let Some(py) = optuna_python::python() else {
        return;
    };
    // The schema is ours to create first (as a deployment would: `perturbench tune` or a worker
    // opened the store); Optuna uses the existing tables.
    drop(fx.open());
    let created =
        optuna_python::run_json(&py, "optuna_study.py", &["create", &fx.url, "theirs", "4"]);
    let mut store = fx.open();
    let found = store.study("theirs").unwrap().unwrap();
    assert_eq!(found.spec.kind, OPTUNA_KIND);
    assert_same_trials(&store.trials(found.id).unwrap(), &created);

    let mut wrong = synthetic_space();
    wrong["c"]["choices"] = json!(["a", "b"]);
    let err = store
        .create_study(&spec("theirs", "synthetic", wrong, Some(7)), false)
        .unwrap_err();
    assert!(
        matches!(&err, StorageError::StudyConflict { .. }) && err.to_string().contains("'c'"),
        "{err}"
    );

    let study = store
        .create_study(
            &spec("theirs", "synthetic", synthetic_space(), Some(7)),
            false,
        )
        .unwrap();
    assert_eq!(study.id, found.id);
    let history = store.trials(study.id).unwrap();
    assert_eq!(history.len(), 5);
    assert!(history[..4].iter().all(|t| t.value.is_some()));
    let space = SearchSpace::from_json(&synthetic_space()).unwrap();
    let usable = space.history(
        history
            .iter()
            .filter_map(|t| t.value.map(|v| (&t.params, v))),
    );
    assert!(usable.iter().all(|t| t.params.len() == 3), "{usable:?}");

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let mut sample = |_: &perturbench_hpo::storage::Study, _: &[TrialRecord]| {
        Some(space.sample(&mut RandomSampler, &[], &mut rng))
    };
    let mut numbers = Vec::new();
    while let Some(t) = store.claim(Some(study.id), "w", &mut sample).unwrap() {
        assert_eq!(t.params.len(), 3, "{t:?}");
        assert!(store.report(t.id, "w", 0, 1.0).unwrap());
        assert!(store
            .finish(
                t.id,
                "w",
                TrialState::Complete,
                Some(0.1 * t.number as f64),
                &JsonMap::new()
            )
            .unwrap());
        numbers.push(t.number);
    }
    // The enqueued trial (number 4) first, then two new ones: 7 in all.
    assert_eq!(numbers, [4, 5, 6]);
    let ours = store.trials(study.id).unwrap();
    assert_eq!(ours[4].params, map(json!({"x": 0.01, "n": 5, "c": "b"})));
    let theirs = optuna_python::run_json(&py, "optuna_study.py", &["dump", &fx.url, "theirs"]);
    assert_same_trials(&ours, &theirs);
    assert!(theirs["importance"].is_object());
}

/// A store of the previous perturbench schema (own `schema_version` table, epoch-float
/// datetimes) is refused with an error that names it and says what to do.
fn an_old_perturbench_store_gets_a_clear_error(fx: &Fixture) {
    let old = [
        "CREATE TABLE schema_version (version BIGINT NOT NULL)",
        "INSERT INTO schema_version (version) VALUES (1)",
        "CREATE TABLE studies (study_id BIGINT PRIMARY KEY, study_name TEXT NOT NULL UNIQUE, \
         kind TEXT NOT NULL, direction TEXT NOT NULL, space_json TEXT NOT NULL, \
         config_json TEXT NOT NULL, n_trials BIGINT NULL, created DOUBLE PRECISION NOT NULL)",
        "CREATE TABLE trials (trial_id BIGINT PRIMARY KEY, number BIGINT NOT NULL, \
         study_id BIGINT NOT NULL, state TEXT NOT NULL, worker TEXT NULL, \
         attempts BIGINT NOT NULL DEFAULT 0, datetime_start DOUBLE PRECISION NULL, \
         datetime_complete DOUBLE PRECISION NULL)",
        "INSERT INTO studies VALUES (1, 's', 'tune', 'MINIMIZE', '{}', '{}', 5, 1700000000.5)",
        "INSERT INTO trials VALUES (1, 0, 1, 'COMPLETE', 'w', 1, 1700000001.5, 1700000002.5)",
    ];
    match &fx.pg_drop {
        None => {
            let path = fx.url.trim_start_matches("sqlite://");
            let conn = rusqlite::Connection::open(path).unwrap();
            for s in old {
                conn.execute_batch(s).unwrap();
            }
        }
        Some((admin, db)) => {
            let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
            let mut client =
                postgres::Client::connect(&format!("{base}/{db}"), postgres::NoTls).unwrap();
            for s in old {
                client.batch_execute(s).unwrap();
            }
        }
    }
    let err = open(&fx.url).err().expect("an old store must be refused");
    assert!(
        matches!(err, StorageError::OldSchema { found: 1, .. }),
        "{err:?}"
    );
    let message = err.to_string();
    let place = if fx.pg_drop.is_some() {
        fx.url.rsplit('/').next().unwrap().to_string()
    } else {
        "study.db".to_string()
    };
    assert!(
        message.contains(&place)
            && message.contains("earlier perturbench")
            && message.contains("--storage"),
        "{message}"
    );
}

/// A store of an older Optuna schema is refused with advice to upgrade it; a newer one with
/// advice to use another store.
#[test]
fn another_optuna_schema_version_gets_a_clear_error() {
    let fx = Fixture::sqlite();
    drop(fx.open());
    let path = fx.url.trim_start_matches("sqlite://").to_string();
    for (schema, revision, advice) in [
        (11, "v3.0.0.d", "optuna storage upgrade"),
        (13, "v9.0.0.a", "newer Optuna"),
    ] {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute("UPDATE version_info SET schema_version = ?1", [schema])
            .unwrap();
        conn.execute("UPDATE alembic_version SET version_num = ?1", [revision])
            .unwrap();
        drop(conn);
        let err = open(&fx.url).err().expect("must be refused");
        let message = err.to_string();
        assert!(
            matches!(err, StorageError::OptunaSchema { .. })
                && message.contains(revision)
                && message.contains(advice)
                && message.contains("study.db"),
            "{message}"
        );
    }
}
