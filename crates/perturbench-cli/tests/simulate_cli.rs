//! `perturbench simulate` end to end: files that inspect reads, reproducible X, and no output
//! left behind when the destination is unwritable.

mod common;
use common::*;

#[test]
fn same_seed_same_x_and_inspect_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.h5ad");
    let b = dir.path().join("b.h5ad");
    let c = dir.path().join("c.h5ad");
    for (p, seed) in [(&a, "5"), (&b, "5"), (&c, "6")] {
        let r = perturbench(&[
            "--quiet",
            "simulate",
            "--preset",
            "small",
            "--seed",
            seed,
            "--out",
            p.to_str().unwrap(),
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let xa = perturbench_io::read_h5ad(&a).unwrap();
    let xb = perturbench_io::read_h5ad(&b).unwrap();
    let xc = perturbench_io::read_h5ad(&c).unwrap();
    assert_eq!(xa.x, xb.x);
    assert_eq!(xa, xb);
    assert_ne!(xa.x, xc.x);
    let r = perturbench(&["inspect", a.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("singles: 12, combinations: 6"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("layers/counts"), "{}", r.stdout);
}

#[test]
fn overrides_reach_the_simulator_and_bad_ones_fail() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("n.h5ad");
    let r = perturbench(&[
        "--quiet",
        "--threads",
        "1",
        "simulate",
        "--preset",
        "sciplex-like",
        "--cells",
        "3000",
        "--genes",
        "300",
        "--perturbations",
        "20",
        "--out",
        p.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ad = perturbench_io::read_h5ad(&p).unwrap();
    assert_eq!(ad.n_vars(), 300);
    let r = perturbench(&[
        "simulate",
        "--preset",
        "norman-like",
        "--genes",
        "30",
        "--out",
        p.to_str().unwrap(),
    ]);
    assert_error(&r, &["--genes"]);
    let r = perturbench(&["simulate", "--preset", "huge", "--out", p.to_str().unwrap()]);
    assert_error(&r, &["huge"]);
}

#[test]
fn unwritable_output_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    // The parent "directory" is a regular file.
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, "x").unwrap();
    let out = blocker.join("sim.h5ad");
    let r = perturbench(&["--quiet", "simulate", "--out", out.to_str().unwrap()]);
    assert_error(&r, &["sim.h5ad", "cannot write"]);
    // The destination is an existing directory: the data are written to a temporary file
    // next to it, the final rename fails, and the temporary file is removed.
    let target = dir.path().join("target.h5ad");
    std::fs::create_dir(&target).unwrap();
    let r = perturbench(&["--quiet", "simulate", "--out", target.to_str().unwrap()]);
    assert_error(&r, &["target.h5ad", "cannot write"]);
    assert_eq!(entries(dir.path()), vec!["blocker", "target.h5ad"]);
    assert!(std::fs::read_dir(&target).unwrap().next().is_none());
}
