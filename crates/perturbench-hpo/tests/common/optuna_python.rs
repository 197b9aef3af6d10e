//! A Python interpreter with Optuna for the interoperability tests (used by the tests of
//! perturbench-hpo and of the CLI).
//!
//! `PERTURBENCH_OPTUNA_PYTHON=/path/to/python` uses an interpreter that has `optuna` (and
//! `psycopg2` for PostgreSQL, `plotly`, `scikit-learn`, `pandas`). Otherwise a venv is created
//! once under the target directory and `optuna psycopg2-binary plotly scikit-learn pandas` are
//! pip-installed into
//! it (needs `python3 -m venv` and PyPI). When neither works the tests print why and skip,
//! unless `PERTURBENCH_REQUIRE_PYTHON=1` (CI), where they fail.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether a missing Python must fail the test.
fn require() -> bool {
    std::env::var("PERTURBENCH_REQUIRE_PYTHON").is_ok_and(|v| v == "1")
}

/// Prints why the test skips (or fails under `PERTURBENCH_REQUIRE_PYTHON=1`).
fn skip_or_fail(msg: &str) -> Option<PathBuf> {
    assert!(!require(), "PERTURBENCH_REQUIRE_PYTHON=1: {msg}");
    println!("skipped: {msg}");
    None
}

/// Whether `py` imports optuna.
fn has_optuna(py: &Path) -> bool {
    Command::new(py)
        .args(["-c", "import optuna, sqlalchemy, pandas, plotly, sklearn"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The interpreter with Optuna, or `None` (skipped, reason printed).
pub fn python() -> Option<PathBuf> {
    static PY: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    match PY.get_or_init(find) {
        Ok(p) => Some(p.clone()),
        Err(msg) => skip_or_fail(msg),
    }
}

fn find() -> Result<PathBuf, String> {
    if let Some(py) = std::env::var_os("PERTURBENCH_OPTUNA_PYTHON") {
        let py = PathBuf::from(py);
        return if has_optuna(&py) {
            Ok(py)
        } else {
            Err(format!(
                "PERTURBENCH_OPTUNA_PYTHON={} cannot import optuna, sqlalchemy, pandas, \
                 plotly and sklearn",
                py.display()
            ))
        };
    }
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("optuna-venv");
    let py = venv.join("bin/python");
    let ready = venv.join(".ready");
    if ready.exists() && has_optuna(&py) {
        return Ok(py);
    }
    // One test process at a time creates the venv.
    let lock = venv.with_extension("lock");
    let _guard = DirLock::take(&lock);
    if ready.exists() && has_optuna(&py) {
        return Ok(py);
    }
    let ok = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return Err("cannot create a Python venv (python3 -m venv); set \
                    PERTURBENCH_OPTUNA_PYTHON to a python with optuna"
            .into());
    }
    let ok = Command::new(&py)
        .args([
            "-m",
            "pip",
            "install",
            "-q",
            "optuna",
            "psycopg2-binary",
            "plotly",
        ])
        .args(["scikit-learn", "pandas"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok || !has_optuna(&py) {
        return Err("pip install optuna failed (no access to PyPI?)".into());
    }
    std::fs::write(&ready, b"ok").map_err(|e| format!("{}: {e}", ready.display()))?;
    Ok(py)
}

/// A lock held while a folder exists (created atomically; removed on drop).
struct DirLock(PathBuf);

impl DirLock {
    fn take(path: &Path) -> DirLock {
        for _ in 0..1200 {
            if std::fs::create_dir(path).is_ok() {
                return DirLock(path.to_path_buf());
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        panic!("{} held for 10 minutes; remove it", path.display());
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// The path of a script in perturbench-hpo's `tests/python`.
pub fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../perturbench-hpo/tests/python")
        .join(name)
}

/// Runs `script` with `args`; the JSON it prints. Panics with its stderr when it fails.
pub fn run_json(py: &Path, script_name: &str, args: &[&str]) -> serde_json::Value {
    let out = Command::new(py)
        .arg(script(script_name))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", py.display()));
    assert!(
        out.status.success(),
        "{script_name} {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{script_name} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}
