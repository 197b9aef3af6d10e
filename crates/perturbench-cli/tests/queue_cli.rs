//! The multi-machine mode: `perturbench worker` processes sharing one store (SQLite, and
//! PostgreSQL when `PERTURBENCH_TEST_POSTGRES` names a server) run every trial of a study
//! exactly once, even when one is killed mid-trial (its trial is re-queued after its heartbeat
//! goes stale) and when all of them are killed and restarted (the study resumes).
//! Trials optimise the synthetic function, so the test exercises the queue, not training.

mod common;
use common::*;
use perturbench_hpo::storage::{self, TrialState};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TRIALS: usize = 40;

fn spawn_worker(url: &str, id: &str) -> Child {
    spawn_worker_with(url, id, "3")
}

fn spawn_worker_with(url: &str, id: &str, stale_after: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_perturbench"))
        .args([
            "--quiet",
            "worker",
            "--storage",
            url,
            "--study",
            "queue",
            "--worker-id",
            id,
            "--heartbeat",
            "0.2",
            "--stale-after",
            stale_after,
            "--poll",
            "0.2",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start a worker")
}

/// (number → starts, number → ends, number → worker of the last start) from the log the
/// synthetic trials append to.
fn log(
    out: &Path,
) -> (
    BTreeMap<i64, usize>,
    BTreeMap<i64, usize>,
    BTreeMap<i64, String>,
) {
    let text = std::fs::read_to_string(out.join("synthetic.log")).unwrap_or_default();
    let (mut s, mut e, mut w) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    for line in text.lines() {
        // A line being written may be read half-way: skip it (it is whole at the next look).
        let f: Vec<&str> = line.split(' ').collect();
        let Some(n) = f.get(1).and_then(|n| n.parse::<i64>().ok()) else {
            continue;
        };
        if f.len() < 3 {
            continue;
        }
        if f[0] == "start" {
            *s.entry(n).or_insert(0) += 1;
            w.insert(n, f[2].to_string());
        } else {
            *e.entry(n).or_insert(0) += 1;
        }
    }
    (s, e, w)
}

fn wait_until(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let t = Instant::now();
    while !ok() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A worker's trial in flight: started, not ended.
fn in_flight(out: &Path, worker: &str) -> Option<i64> {
    let (s, e, w) = log(out);
    s.keys()
        .copied()
        .find(|n| w[n] == worker && e.get(n).copied().unwrap_or(0) < s[n])
}

/// `tune` of the 40-trial synthetic study "queue" (0.5 s per trial).
fn tune_synthetic(url: &str, out: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "--quiet",
        "tune",
        "--synthetic",
        "0.5",
        "--trials",
        "40",
        "--study",
        "queue",
        "--storage",
        url,
        "--seed",
        "3",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    perturbench(&args)
}

fn queue_survives_killed_workers(url: &str, out: &Path) {
    let r = tune_synthetic(url, out, &["--jobs", "0"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut workers: Vec<(String, Child)> = (0..4)
        .map(|i| (format!("w{i}"), spawn_worker(url, &format!("w{i}"))))
        .collect();
    // Kill w0 in the middle of a trial once a few trials are done.
    let limit = Duration::from_secs(120);
    wait_until("8 finished trials", limit, || log(out).1.len() >= 8);
    wait_until("w0 to be mid-trial", limit, || {
        in_flight(out, "w0").is_some()
    });
    workers[0].1.kill().unwrap(); // SIGKILL: no cleanup, no last words
    workers[0].1.wait().unwrap();
    // Its trial in flight at the moment it died (none if it had just finished one).
    let mut killed: Vec<i64> = in_flight(out, "w0").into_iter().collect();
    // Then kill everyone once half the study is done, and restart four workers.
    wait_until("20 finished trials", limit, || log(out).1.len() >= 20);
    for (id, c) in workers.iter_mut().skip(1) {
        c.kill().unwrap();
        c.wait().unwrap();
        killed.extend(in_flight(out, id));
    }
    assert!(!killed.is_empty(), "no worker was killed mid-trial");
    let done_before: usize = log(out).1.len();
    assert!(
        done_before < TRIALS,
        "the study finished before the restart"
    );
    let restarted: Vec<Child> = (4..8)
        .map(|i| spawn_worker(url, &format!("w{i}")))
        .collect();
    for mut c in restarted {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(st) = c.try_wait().unwrap() {
                let mut err = String::new();
                use std::io::Read;
                c.stderr.take().unwrap().read_to_string(&mut err).unwrap();
                assert!(st.success(), "worker failed: {err}");
                break;
            }
            assert!(Instant::now() < deadline, "a worker did not finish");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    // Every trial ran to its end exactly once; the killed ones started twice.
    let (starts, ends, _) = log(out);
    assert_eq!(ends.len(), TRIALS, "trials completed: {ends:?}");
    assert!(
        ends.values().all(|&c| c == 1),
        "a trial completed twice: {ends:?}"
    );
    // A trial killed k times started k + 1 times.
    for n in &killed {
        let k = killed.iter().filter(|m| *m == n).count();
        assert_eq!(
            starts[n],
            k + 1,
            "trial {n} of a killed worker was not re-run"
        );
    }
    let mut store = storage::open(url).unwrap();
    let study = store.study("queue").unwrap().unwrap();
    let trials = store.trials(study.id).unwrap();
    assert_eq!(trials.len(), TRIALS);
    let numbers: Vec<i64> = trials.iter().map(|t| t.number).collect();
    assert_eq!(numbers, (0..TRIALS as i64).collect::<Vec<_>>());
    for t in &trials {
        assert_eq!(t.state, TrialState::Complete, "trial {}", t.number);
        assert!(t.value.is_some_and(f64::is_finite));
    }
    for n in &killed {
        let k = killed.iter().filter(|m| *m == n).count() as i64;
        assert_eq!(trials[*n as usize].attempts, k + 1, "trial {n}");
    }
    // A resumed `tune` with no trials left exports the study.
    let r = tune_synthetic(url, out, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let csv = std::fs::read_to_string(out.join("trials.csv")).unwrap();
    assert_eq!(csv.lines().count(), TRIALS + 1);
    assert!(out.join("best.yaml").exists());
}

#[test]
fn sqlite_queue_survives_killed_workers() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("q.db").display());
    queue_survives_killed_workers(&url, &dir.path().join("out"));
}

/// A database of its own on the test server (so that runs do not see each other's studies).
pub fn fresh_postgres(name: &str) -> Option<String> {
    let Ok(base) = std::env::var("PERTURBENCH_TEST_POSTGRES") else {
        if std::env::var("PERTURBENCH_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            panic!("PERTURBENCH_REQUIRE_POSTGRES=1 but PERTURBENCH_TEST_POSTGRES is not set");
        }
        eprintln!("skipped: set PERTURBENCH_TEST_POSTGRES=postgresql://... to test PostgreSQL");
        return None;
    };
    let db = format!("{name}_{}", std::process::id());
    let mut c = postgres::Client::connect(&base, postgres::NoTls).expect("connect");
    c.batch_execute(&format!("DROP DATABASE IF EXISTS {db}"))
        .expect("drop an old test database");
    c.batch_execute(&format!("CREATE DATABASE {db}"))
        .expect("create a test database");
    let (head, _) = base.rsplit_once('/').expect("a database in the URL");
    Some(format!("{head}/{db}"))
}

#[test]
fn postgres_queue_survives_killed_workers() {
    let Some(url) = fresh_postgres("queue_cli") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    queue_survives_killed_workers(&url, &dir.path().join("out"));
}

fn signal(c: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &c.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

/// A worker that is frozen (SIGSTOP) past the stale limit and then thaws must not finish the
/// trial that another worker re-ran: its late result is refused and it moves on.
#[test]
fn a_frozen_worker_that_thaws_does_not_finish_a_re_run_trial() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let url = format!("sqlite://{}", dir.path().join("f.db").display());
    let r = perturbench(&[
        "--quiet",
        "tune",
        "--synthetic",
        "1",
        "--trials",
        "6",
        "--study",
        "queue",
        "--storage",
        &url,
        "--jobs",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut w0 = spawn_worker_with(&url, "w0", "1.5");
    let limit = Duration::from_secs(60);
    wait_until("w0 to be mid-trial", limit, || {
        in_flight(&out, "w0").is_some()
    });
    signal(&w0, "-STOP");
    let frozen = in_flight(&out, "w0").unwrap();
    let mut w1 = spawn_worker_with(&url, "w1", "1.5");
    // w1 re-queues the frozen trial after 1.5 s and runs it; then w0 thaws.
    wait_until("the frozen trial to be re-run", limit, || {
        log(&out).0.get(&frozen).copied().unwrap_or(0) >= 2
    });
    signal(&w0, "-CONT");
    for c in [&mut w0, &mut w1] {
        let deadline = Instant::now() + limit;
        while c.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "a worker did not finish");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let (_, ends, _) = log(&out);
    assert_eq!(ends.len(), 6, "{ends:?}");
    assert!(
        ends.values().all(|&c| c == 1),
        "a trial completed twice: {ends:?}"
    );
    let mut store = storage::open(&url).unwrap();
    let study = store.study("queue").unwrap().unwrap();
    let trials = store.trials(study.id).unwrap();
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
    let t = &trials[frozen as usize];
    assert!(t.attempts >= 2);
    assert_ne!(
        t.worker.as_deref(),
        Some("w0"),
        "the frozen worker finished its lost trial"
    );
}
