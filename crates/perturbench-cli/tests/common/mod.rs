//! Helpers shared by the CLI tests: running the binary and building small files.
#![allow(dead_code)]

use perturbench_io::{write_h5ad, AnnData, Column, Csr, WriteOptions};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Result of one run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `perturbench` with `args`.
pub fn perturbench(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_perturbench"))
        .args(args)
        .output()
        .expect("run perturbench");
    let r = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !r.stderr.contains("panicked"),
        "perturbench panicked: {}",
        r.stderr
    );
    r
}

/// Asserts a failed run whose error mentions every fragment.
pub fn assert_error(r: &Run, fragments: &[&str]) {
    assert_ne!(
        r.code, 0,
        "expected failure, got success; stdout: {}",
        r.stdout
    );
    for f in fragments {
        assert!(
            r.stderr.contains(f),
            "error message lacks {f:?}: {}",
            r.stderr
        );
    }
}

/// The shared data directory, or `None` (with a printed reason) when absent.
pub fn shared_data() -> Option<PathBuf> {
    let dir = std::env::var_os("PERTURBENCH_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if dir.join("perturbench_devel.h5ad").exists() {
        Some(dir)
    } else {
        eprintln!(
            "SKIP: shared data not found at {} (set PERTURBENCH_SHARED_DATA)",
            dir.display()
        );
        None
    }
}

/// A tiny valid dataset: 12 cells x 4 genes, two cell types, control + A + B + A+B.
pub fn tiny() -> AnnData {
    let (n, g) = (12, 4);
    let dense: Vec<f32> = (0..n * g).map(|i| ((i * 7) % 5) as f32).collect();
    let mut ad = AnnData::new(
        Csr::from_dense(n, g, &dense).unwrap(),
        (0..n).map(|i| format!("c{i}")).collect(),
        (0..g).map(|j| format!("G{j}")).collect(),
    );
    let cond: Vec<&str> = (0..n)
        .map(|i| ["control", "A", "B", "A+B"][i % 4])
        .collect();
    let ct: Vec<&str> = (0..n).map(|i| if i < 8 { "t1" } else { "t2" }).collect();
    ad.obs
        .set_column("condition", Column::categorical_from_strings(&cond));
    ad.obs
        .set_column("cell_type", Column::categorical_from_strings(&ct));
    ad
}

/// Writes `ad` uncompressed to `path`.
pub fn write(path: &Path, ad: &AnnData) {
    write_h5ad(
        path,
        ad,
        &WriteOptions {
            compression: perturbench_io::Compression::None,
        },
    )
    .unwrap();
}

/// Names of the entries of a directory, sorted.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The `small` simulator preset written uncompressed as `dir/NAME` with `seed`.
pub fn simulate_small(dir: &Path, name: &str, seed: u64) -> PathBuf {
    let p = dir.join(name);
    let seed = seed.to_string();
    let r = perturbench(&[
        "--quiet",
        "simulate",
        "--preset",
        "small",
        "--seed",
        &seed,
        "--compression",
        "none",
        "--out",
        p.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    p
}

/// Whether CI requires the Python tests to run (`PERTURBENCH_REQUIRE_PYTHON=1`).
pub fn python_required() -> bool {
    std::env::var("PERTURBENCH_REQUIRE_PYTHON").is_ok_and(|v| v == "1")
}

/// A Python with anndata: `PERTURBENCH_PYTHON`, else a venv created once under the target
/// directory (the same one perturbench-io's anndata tests use); `None` with a printed reason
/// when it cannot be made (a failure when [`python_required`]).
pub fn python_with_anndata() -> Option<PathBuf> {
    static PY: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    PY.get_or_init(|| {
        if let Some(py) = std::env::var_os("PERTURBENCH_PYTHON") {
            return Some(PathBuf::from(py));
        }
        let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("anndata-venv");
        let py = venv.join("bin/python");
        if venv.join(".ready").exists() {
            return Some(py);
        }
        let ok = |c: &mut Command| c.status().map(|s| s.success()).unwrap_or(false);
        let why = if !ok(Command::new("python3").args(["-m", "venv"]).arg(&venv)) {
            "cannot create a Python venv (python3 -m venv)"
        } else if !ok(Command::new(&py).args([
            "-m",
            "pip",
            "install",
            "-q",
            "anndata>=0.8",
            "scipy",
            "pandas",
        ])) {
            "pip install anndata failed (network?)"
        } else {
            std::fs::write(venv.join(".ready"), b"ok").expect("write the venv marker");
            return Some(py);
        };
        assert!(!python_required(), "{why}");
        eprintln!("SKIP: {why}");
        None
    })
    .clone()
}

/// A Python with `package==version`: the interpreter named by `env_var` (which must have
/// that version), else a venv created under the target directory
/// (`pip install package==version`, reused once built); `None` with a printed reason when it
/// cannot be made (a failure when [`python_required`]). Callers cache the answer (one
/// `OnceLock` each), so the tests of one file build the venv once and skip alike.
pub fn python_with(package: &str, version: &str, env_var: &str) -> Option<PathBuf> {
    let version_ok = |py: &Path| {
        Command::new(py)
            .args([
                "-c",
                &format!(
                    "import importlib.metadata as m, sys; sys.exit(0 if m.version('{package}') == '{version}' else 1)"
                ),
            ])
            .status()
            .is_ok_and(|s| s.success())
    };
    let skip = |why: String| {
        assert!(!python_required(), "{why}");
        eprintln!("SKIP: {why}");
        None
    };
    if let Some(py) = std::env::var_os(env_var) {
        let py = PathBuf::from(py);
        return if version_ok(&py) {
            Some(py)
        } else {
            skip(format!(
                "{} ({env_var}) lacks {package} {version}",
                py.display()
            ))
        };
    }
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{package}-{version}-venv"));
    let py = venv.join("bin/python");
    if venv.join(".ready").exists() && version_ok(&py) {
        return Some(py);
    }
    let ok = |c: &mut Command| c.status().is_ok_and(|s| s.success());
    let spec = format!("{package}=={version}");
    if ok(Command::new("python3").args(["-m", "venv"]).arg(&venv))
        && ok(Command::new(&py).args(["-m", "pip", "install", "-q", &spec]))
        && version_ok(&py)
    {
        std::fs::write(venv.join(".ready"), b"ok").expect("write the venv marker");
        return Some(py);
    }
    skip(format!(
        "cannot build a venv with {spec} (python3 >= 3.11, network?)"
    ))
}

/// A Python with cell-eval 0.8.2 (`PERTURBENCH_CELLEVAL_PYTHON` or a venv; see
/// [`python_with`]).
pub fn python_with_cell_eval() -> Option<PathBuf> {
    static PY: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    PY.get_or_init(|| python_with("cell-eval", "0.8.2", "PERTURBENCH_CELLEVAL_PYTHON"))
        .clone()
}

/// A Python with cell-eval2 0.20.0 (`PERTURBENCH_CELLEVAL2_PYTHON` or a venv; see
/// [`python_with`]).
pub fn python_with_cell_eval2() -> Option<PathBuf> {
    static PY: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    PY.get_or_init(|| python_with("cell-eval2", "0.20.0", "PERTURBENCH_CELLEVAL2_PYTHON"))
        .clone()
}

/// Runs the Python `driver` script with `runs` (written to `dir/runs.json`) as its argument,
/// in one process of `py`; asserts success (naming `tool` and its stderr) and returns the wall
/// time in seconds.
#[allow(dead_code)]
pub fn run_python_driver(
    py: &Path,
    driver: &str,
    dir: &Path,
    runs: &[Vec<String>],
    tool: &str,
) -> f64 {
    let spec = dir.join("runs.json");
    std::fs::write(&spec, serde_json::to_string(runs).unwrap()).unwrap();
    let t = std::time::Instant::now();
    let o = Command::new(py)
        .args(["-c", driver])
        .arg(&spec)
        .output()
        .expect("python");
    assert!(
        o.status.success(),
        "{tool} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    t.elapsed().as_secs_f64()
}
