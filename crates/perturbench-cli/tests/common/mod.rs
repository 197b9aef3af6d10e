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
