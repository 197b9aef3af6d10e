//! `perturbench cell-eval run|baseline|score` against the real cell-eval 0.8.2 command line.
//!
//! Each case writes a real/pred pair of `.h5ad` files (float32 X, as perturbench-io writes
//! them, or float64 written by anndata; cell-eval reads the same values), runs `cell-eval run` with the flags below in a
//! Python environment with `cell-eval==0.8.2`, runs `perturbench cell-eval run` with the
//! same flags, and compares every file both write: the same columns in the same order, the
//! same rows, the same empty cells, and every number within 1e-6 (relative above 1; p-values
//! and FDRs within 1e-6 relative or 1e-12 absolute). The largest differences are printed
//! (`--nocapture`).
//!
//! Cases (pred = the real cells with multiplicative noise rounded to 2 decimals, 10 % of
//! the non-zeros dropped, and two perturbations' labels swapped):
//! - `devel_k562`: the K562 cells of `perturbench_devel.h5ad` (33 perturbations), profile
//!   `full`;
//! - `devel_f64`: the same cells as the file stores them (float64 X, unsorted rows) and a
//!   float64 prediction, both written by anndata itself ([`DEVEL_F64`]), profile `full`
//!   (X evaluated at full precision); `devel_f64_csc` and `devel_f64_dense`: the same files
//!   with X stored as CSC and as a dense array;
//! - `devel_celltypes`: all of `perturbench_devel.h5ad` with `--celltype-col cell_type`
//!   (four cell types, prefixed files), profile `minimal`, with the data ceiling
//!   (`--ceiling`: `{celltype}_ceiling_results.csv`, `{celltype}_agg_ceiling_results.csv`);
//! - `kang`: `kang2018_ifnb_pbmc_scgen.h5ad` (one perturbation: IFNb) with
//!   `--celltype-col cell_type`, profile `full`;
//! - `papalexi`: 6,000 cells of `papalexi2021_eccite_thp1_sceptredata.h5ad` (counts,
//!   normalised to 10,000 per cell and log1p-transformed here), profile `vcc`;
//! - `simulated`: `perturbench simulate --preset small`, log-normalised the same way,
//!   profile `full`, then `baseline` and `score` on it;
//! - `simulated_embed`: the same cells with a 2-dimensional embedding in `obsm['X_emb']`
//!   (a fixed random projection of each side's X to 2 dimensions, float32, where perturbations
//!   are harder to tell apart than in X), profile `full` with
//!   `--embed-key X_emb` (discrimination_score_l2 and _cosine on the embedding);
//! - `simulated_single_cell`: the simulated pair with one perturbation reduced to a single
//!   cell on both sides, profile `full`;
//! - `simulated_ceiling`: the simulated pair, profile `full`, `--ceiling --ceiling-seed 7`,
//!   and the same without `-ap` (ceiling-only mode: only the ceiling files);
//! - `simulated_cpm`: the simulated pair with `--cpm-filter 1000` (DE rows of genes below
//!   1,000 pooled CPM in both the perturbation and the control dropped).
//!
//! `clustering_agreement` (Leiden) is computed on both sides and compared within
//! `CLUSTERING_TOL` (igraph's random generator is not reproduced); every other number within
//! 1e-6 as above. The Python environment is the one `perturbench-celleval`'s parity test
//! uses: `PERTURBENCH_CELLEVAL_PYTHON`, or a venv under the target directory (`pip install
//! cell-eval==0.8.2`). Without it, or without the shared data, the test prints why and skips,
//! unless `PERTURBENCH_REQUIRE_PYTHON=1`.

mod common;
use common::*;
use perturbench_io::{read_h5ad, write_h5ad, AnnData, Column, Csr, WriteOptions};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Runs cell-eval's command line once per argument list, in one process (numba compiles
/// pdex's kernels once). Logging goes to stderr.
const DRIVER: &str = r#"
import json, sys
from cell_eval.__main__ import main
for argv in json.load(open(sys.argv[1])):
    sys.argv = ["cell-eval"] + argv
    main()
"#;

fn run_cell_eval(py: &Path, runs: &[Vec<String>], dir: &Path) {
    let secs = run_python_driver(py, DRIVER, dir, runs, "cell-eval");
    println!("cell-eval 0.8.2: {} runs in {secs:.1}s", runs.len());
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn labels(ad: &AnnData, col: &str) -> Vec<String> {
    perturbench_celleval::groups::obs_labels(ad, col).expect("labels")
}

/// Library-size normalisation to 10,000 and log1p, for integer (count) matrices.
fn lognorm(ad: &mut AnnData) {
    if ad.x.data().iter().any(|v| v.fract() != 0.0) {
        return; // already log-normalised
    }
    ad.x = ad.x.map_rows(|_, vals, out| {
        let s: f64 = vals.iter().map(|&v| v as f64).sum();
        for (o, &v) in out.iter_mut().zip(vals) {
            *o = ((v as f64) * 1e4 / s.max(1.0)).ln_1p() as f32;
        }
    });
}

/// Adds `obsm['X_emb']`: X times a fixed random 2-column projection, as float32.
fn embed(ad: &mut AnnData) {
    let k = 2;
    let w: Vec<f64> = (0..ad.n_vars() * k)
        .map(|i| (splitmix(7 << 40 | i as u64) >> 11) as f64 / (1u64 << 53) as f64 - 0.5)
        .collect();
    let mut data = vec![0f32; ad.n_obs() * k];
    for r in 0..ad.n_obs() {
        let (idx, vals) = ad.x.row(r);
        for j in 0..k {
            let s: f64 = idx
                .iter()
                .zip(vals)
                .map(|(&c, &v)| v as f64 * w[c as usize * k + j])
                .sum();
            data[r * k + j] = s as f32;
        }
    }
    ad.obsm.insert(
        "X_emb".into(),
        perturbench_io::Dense {
            nrows: ad.n_obs(),
            ncols: k,
            data,
        },
    );
}

/// The prediction: noisy values, 10 % dropped, labels of `perts[1]` and `perts[2]` swapped.
fn predict(real: &AnnData, pert_col: &str, control: &str) -> AnnData {
    let conds = labels(real, pert_col);
    let mut perts: Vec<String> = conds.iter().filter(|c| *c != control).cloned().collect();
    perts.sort();
    perts.dedup();
    let mut indptr = vec![0u64];
    let (mut indices, mut data) = (Vec::new(), Vec::new());
    for r in 0..real.n_obs() {
        let (idx, vals) = real.x.row(r);
        for (&c, &v) in idx.iter().zip(vals) {
            let h = splitmix((r as u64) << 24 | c as u64);
            if h % 10 == 0 {
                continue;
            }
            let u = (h >> 11) as f64 / (1u64 << 53) as f64;
            let nv = ((v as f64 * (0.75 + 0.5 * u) * 100.0).round() / 100.0) as f32;
            if nv != 0.0 {
                indices.push(c);
                data.push(nv);
            }
        }
        indptr.push(indices.len() as u64);
    }
    let x = Csr::from_parts(real.n_obs(), real.n_vars(), indptr, indices, data).unwrap();
    let mut pred = real.clone();
    pred.x = x;
    if perts.len() >= 3 {
        let (a, b) = (&perts[1], &perts[2]);
        let swapped: Vec<String> = conds
            .iter()
            .map(|c| match c {
                c if c == a => b.clone(),
                c if c == b => a.clone(),
                c => c.clone(),
            })
            .collect();
        pred.obs
            .set_column(pert_col, Column::categorical_from_strings(&swapped));
    }
    pred
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut rdr =
        csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let h = rdr.headers().unwrap().iter().map(String::from).collect();
    let rows = rdr
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (h, rows)
}

fn num(s: &str) -> f64 {
    perturbench_celleval::metrics::de_frame::parse_float(s)
        .unwrap_or_else(|| panic!("number {s:?}"))
}

/// Largest differences per file and column.
#[derive(Default)]
struct MaxDiff(HashMap<String, (f64, usize)>, Option<f64>);

impl MaxDiff {
    fn check(&mut self, key: &str, ctx: &str, ours: &str, theirs: &str, pvalue: bool) {
        if ours.is_empty() || theirs.is_empty() {
            assert_eq!(ours, theirs, "{key} {ctx}: empty cell on one side only");
            return;
        }
        let (o, t) = (num(ours), num(theirs));
        let same = (o.is_nan() && t.is_nan()) || o == t;
        let d = if same { 0.0 } else { (o - t).abs() };
        let tol = if key.ends_with(":clustering_agreement") || ctx.contains("clustering_agreement")
        {
            CLUSTERING_TOL
        } else {
            self.1.unwrap_or(1e-6)
        };
        let ok = if pvalue {
            d <= tol * t.abs() || d <= 1e-12
        } else {
            d <= tol * t.abs().max(1.0)
        };
        assert!(ok, "{key} {ctx}: ours {ours} vs cell-eval {theirs}");
        let e = self.0.entry(key.to_string()).or_insert((0.0, 0));
        e.0 = e.0.max(d);
        e.1 += 1;
    }

    fn report(&self, title: &str) {
        let mut v: Vec<_> = self.0.iter().collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        println!("{title}: max |ours - cell-eval| (values compared)");
        for (k, (d, n)) in v {
            println!("  {k:<48} {d:.2e} ({n})");
        }
    }
}

/// Compares two CSV files cell by cell; `keys` columns must be equal strings; rows are
/// matched by the key columns (`sorted` = also the same order).
fn compare_csv(ours: &Path, theirs: &Path, keys: &[&str], md: &mut MaxDiff, same_order: bool) {
    let (ho, ro) = read_csv(ours);
    let (ht, rt) = read_csv(theirs);
    let name = theirs.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(ho, ht, "{name}: columns");
    assert_eq!(ro.len(), rt.len(), "{name}: rows");
    let kidx: Vec<usize> = keys
        .iter()
        .map(|k| ho.iter().position(|h| h == k).unwrap())
        .collect();
    let key = |r: &Vec<String>| kidx.iter().map(|&i| r[i].clone()).collect::<Vec<_>>();
    let pos: HashMap<Vec<String>, usize> =
        ro.iter().enumerate().map(|(i, r)| (key(r), i)).collect();
    for (i, t) in rt.iter().enumerate() {
        let j = *pos
            .get(&key(t))
            .unwrap_or_else(|| panic!("{name}: row {:?} missing", key(t)));
        if same_order {
            assert_eq!(i, j, "{name}: row order of {:?}", key(t));
        }
        for (c, h) in ht.iter().enumerate() {
            if kidx.contains(&c) {
                continue;
            }
            let pv = matches!(h.as_str(), "p_value" | "fdr");
            md.check(
                &format!("{name}:{h}"),
                &format!("{:?}", key(t)),
                &ro[j][c],
                &t[c],
                pv,
            );
        }
    }
}

struct Case {
    name: &'static str,
    files: Files,
    args: Vec<&'static str>,
}

/// How a case's `real.h5ad` and `pred.h5ad` are made.
enum Files {
    /// Written by perturbench-io (float32 X): (real, pred).
    Ours(Box<(AnnData, AnnData)>),
    /// Written by anndata itself: this Python script, given the shared data directory, the
    /// case's directory and these arguments.
    Python(&'static str, &'static [&'static str]),
}

/// A case's files: `real` and its prediction ([`predict`]), written by perturbench-io.
fn ours(real: AnnData) -> Files {
    let pred = predict(&real, "condition", "control");
    Files::Ours(Box::new((real, pred)))
}

/// The K562 cells of `perturbench_devel.h5ad` as the file stores them (float64 X, rows in
/// the file's column order, which is not sorted), and a float64 prediction: the real
/// values times numpy noise in [0.8, 1.2). Rounding such values to float32 merges near-ties
/// of the rank test (p-values off by up to 5e-4) and moves means in the 8th digit, so this
/// case needs X at full precision. The third argument is the layout both files are written
/// in: `csr` (as stored), `csc` or `dense`.
const DEVEL_F64: &str = r#"
import sys
import anndata as ad
import numpy as np
import scipy.sparse as sp
layout = sys.argv[3]
a = ad.read_h5ad(sys.argv[1] + "/perturbench_devel.h5ad")
a = a[a.obs["cell_type"] == "k562"].copy()
assert a.X.dtype == np.float64, a.X.dtype
p = a.copy()
x = p.X.copy()
x.data = x.data * np.random.default_rng(5).uniform(0.8, 1.2, x.data.size)
p.X = x
for m, name in [(a, "real"), (p, "pred")]:
    if layout == "csc":
        m.X = sp.csc_matrix(m.X)
    elif layout == "dense":
        m.X = m.X.toarray()
    m.write_h5ad(sys.argv[2] + "/" + name + ".h5ad")
"#;

fn cases(data: &Path, dir: &Path) -> Vec<Case> {
    let devel = read_h5ad(data.join("perturbench_devel.h5ad")).expect("devel");
    let ct = labels(&devel, "cell_type");
    let k562: Vec<usize> = (0..devel.n_obs()).filter(|&i| ct[i] == "k562").collect();
    let k562 = devel.select_obs(&k562);
    let kang = read_h5ad(data.join("kang2018_ifnb_pbmc_scgen.h5ad")).expect("kang");
    let mut papa =
        read_h5ad(data.join("papalexi2021_eccite_thp1_sceptredata.h5ad")).expect("papalexi");
    let keep: Vec<usize> = (0..papa.n_obs())
        .filter(|&i| splitmix(i as u64) % 7 < 2)
        .collect();
    papa = papa.select_obs(&keep);
    lognorm(&mut papa);
    let sim_path = dir.join("sim_counts.h5ad");
    let r = perturbench(&[
        "simulate",
        "--preset",
        "small",
        "--seed",
        "3",
        "--out",
        sim_path.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut sim = read_h5ad(&sim_path).expect("sim");
    lognorm(&mut sim);
    // The first perturbation (in label order) keeps one cell.
    let single = {
        let conds = labels(&sim, "condition");
        let mut perts: Vec<&String> = conds.iter().filter(|c| *c != "control").collect();
        perts.sort();
        let one = perts[0].clone();
        let first = conds.iter().position(|c| *c == one).unwrap();
        let rows: Vec<usize> = (0..sim.n_obs())
            .filter(|&i| conds[i] != one || i == first)
            .collect();
        sim.select_obs(&rows)
    };
    let base = ["--pert-col", "condition", "--control-pert", "control"];
    let with = |extra: &[&'static str]| base.iter().chain(extra).copied().collect::<Vec<_>>();
    vec![
        Case {
            name: "devel_k562",
            files: ours(k562),
            args: with(&["--profile", "full"]),
        },
        Case {
            name: "devel_f64",
            files: Files::Python(DEVEL_F64, &["csr"]),
            args: with(&["--profile", "full"]),
        },
        Case {
            name: "devel_f64_csc",
            files: Files::Python(DEVEL_F64, &["csc"]),
            args: with(&["--profile", "full"]),
        },
        Case {
            name: "devel_f64_dense",
            files: Files::Python(DEVEL_F64, &["dense"]),
            args: with(&["--profile", "full"]),
        },
        Case {
            name: "devel_celltypes",
            files: ours(devel),
            args: with(&[
                "--profile",
                "minimal",
                "--celltype-col",
                "cell_type",
                "--ceiling",
            ]),
        },
        Case {
            name: "kang",
            files: ours(kang),
            args: with(&["--profile", "full", "--celltype-col", "cell_type"]),
        },
        Case {
            name: "papalexi",
            files: ours(papa),
            args: with(&["--profile", "vcc"]),
        },
        Case {
            name: "simulated_embed",
            files: Files::Ours(Box::new((
                {
                    let mut r = sim.clone();
                    embed(&mut r);
                    r
                },
                {
                    let mut p = predict(&sim, "condition", "control");
                    embed(&mut p);
                    p
                },
            ))),
            args: with(&["--profile", "full", "--embed-key", "X_emb"]),
        },
        Case {
            name: "simulated_single_cell",
            files: ours(single),
            args: with(&["--profile", "full"]),
        },
        Case {
            name: "simulated_ceiling",
            files: ours(sim.clone()),
            args: with(&["--profile", "full", "--ceiling", "--ceiling-seed", "7"]),
        },
        Case {
            name: "simulated_cpm",
            files: ours(sim.clone()),
            args: with(&["--profile", "full", "--cpm-filter", "1000"]),
        },
        Case {
            name: "simulated",
            files: ours(sim),
            args: with(&["--profile", "full"]),
        },
    ]
}

/// Largest accepted |ours − cell-eval| of `clustering_agreement` (an AMI in [0, 1]): the
/// Leiden partitions are drawn with a different random generator than igraph's (see
/// docs/cell-eval.md for the measured differences and cell-eval's own spread over seeds).
const CLUSTERING_TOL: f64 = 1e-2;

#[test]
fn cell_eval_run_baseline_score_match_cell_eval_0_8_2() {
    let Some(data) = shared_data() else { return };
    let Some(py) = python_with_cell_eval() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("PERTURBENCH_CELLEVAL_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    let cases = cases(&data, &dir);
    let mut runs = Vec::new();
    for c in &cases {
        let d = dir.join(c.name);
        std::fs::create_dir_all(&d).unwrap();
        match &c.files {
            Files::Ours(pair) => {
                for (f, a) in [("real.h5ad", &pair.0), ("pred.h5ad", &pair.1)] {
                    write_h5ad(d.join(f), a, &WriteOptions::default()).unwrap();
                }
            }
            Files::Python(script, extra) => {
                let out = std::process::Command::new(&py)
                    .args(["-c", script])
                    .arg(&data)
                    .arg(&d)
                    .args(extra.iter())
                    .output()
                    .expect("python");
                assert!(
                    out.status.success(),
                    "{}: {}",
                    c.name,
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        let mut argv: Vec<String> = vec![
            "run".into(),
            "-ap".into(),
            d.join("pred.h5ad").display().to_string(),
            "-ar".into(),
            d.join("real.h5ad").display().to_string(),
        ];
        argv.extend(c.args.iter().map(|s| s.to_string()));
        argv.extend(["--num-threads".into(), "2".into()]);
        let mut theirs = argv.clone();
        theirs.extend(["-o".into(), d.join("theirs").display().to_string()]);
        runs.push(theirs);
        let mut ours = vec!["cell-eval".to_string()];
        ours.extend(argv);
        ours.extend(["-o".into(), d.join("ours").display().to_string()]);
        let t = std::time::Instant::now();
        let r = perturbench(&ours.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(r.code, 0, "{}: {}", c.name, r.stderr);
        println!(
            "{}: perturbench cell-eval run {:.2}s",
            c.name,
            t.elapsed().as_secs_f64()
        );
    }
    // Ceiling-only mode (no prediction) on the simulated set.
    let cd = dir.join("simulated_ceiling");
    let only = |side: &str| -> Vec<String> {
        [
            "run",
            "-ar",
            cd.join("real.h5ad").to_str().unwrap(),
            "--pert-col",
            "condition",
            "--control-pert",
            "control",
            "--profile",
            "full",
            "--ceiling",
            "--ceiling-seed",
            "7",
            "-o",
            cd.join(format!("{side}_only")).to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    runs.push(only("theirs"));
    let mut a = vec!["cell-eval".to_string()];
    a.extend(only("ours"));
    let o = perturbench(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.code, 0, "ceiling-only: {}", o.stderr);
    // baseline + score on the simulated set (and a run of the baseline against real).
    let sd = dir.join("simulated");
    let s = |p: &str| sd.join(p).display().to_string();
    let common: Vec<String> = ["--pert-col", "condition", "--control-pert", "control"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for side in ["theirs", "ours"] {
        let mut b: Vec<String> = vec![
            "baseline".into(),
            "-a".into(),
            s("real.h5ad"),
            "-o".into(),
            s(&format!("{side}_baseline.h5ad")),
            "-O".into(),
            s(&format!("{side}_baseline_de.csv")),
        ];
        b.extend(common.clone());
        let mut r: Vec<String> = vec![
            "run".into(),
            "-ap".into(),
            s("theirs_baseline.h5ad"),
            "-ar".into(),
            s("real.h5ad"),
            "-o".into(),
            s(&format!("{side}_base_run")),
            "--profile".into(),
            "full".into(),
        ];
        r.extend(common.clone());
        let sc: Vec<String> = vec![
            "score".into(),
            "-i".into(),
            s(&format!("{side}/agg_results.csv")),
            "-I".into(),
            s(&format!("{side}_base_run/agg_results.csv")),
            "-o".into(),
            s(&format!("{side}_score.csv")),
        ];
        if side == "theirs" {
            runs.extend([b, r, sc]);
        } else {
            // Our run of the baseline reads cell-eval's baseline file (the same input on
            // both sides), which exists once cell-eval ran.
            // cell-eval keeps `--embed-key`'s metric settings in its process-wide metric
            // registry, so a later run in the same process would look for the embedding
            // too: runs with an embedding get a process of their own.
            let (embedded, plain): (Vec<Vec<String>>, Vec<Vec<String>>) = runs
                .iter()
                .cloned()
                .partition(|a| a.iter().any(|s| s == "--embed-key"));
            run_cell_eval(&py, &plain, &dir);
            for r in embedded {
                run_cell_eval(&py, &[r], &dir);
            }
            for argv in [b, r, sc] {
                let mut a = vec!["cell-eval".to_string()];
                a.extend(argv);
                let o = perturbench(&a.iter().map(String::as_str).collect::<Vec<_>>());
                assert_eq!(o.code, 0, "{a:?}: {}", o.stderr);
            }
        }
    }

    for c in &cases {
        let d = dir.join(c.name);
        let mut md = MaxDiff::default();
        let mut theirs_files: Vec<String> = std::fs::read_dir(d.join("theirs"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        theirs_files.sort();
        for f in &theirs_files {
            let (o, t) = (d.join("ours").join(f), d.join("theirs").join(f));
            assert!(o.exists(), "{}: we did not write {f}", c.name);
            if f.ends_with("_de.csv") {
                compare_csv(&o, &t, &["target", "feature"], &mut md, false);
            } else if f.ends_with("agg_ceiling_results.csv") {
                compare_csv(&o, &t, &[], &mut md, true);
            } else if f.ends_with("agg_results.csv") {
                compare_csv(&o, &t, &["statistic"], &mut md, true);
            } else {
                compare_csv(&o, &t, &["perturbation"], &mut md, true);
            }
        }
        assert!(d.join("ours/conventions.json").exists());
        md.report(&format!("{} ({} files)", c.name, theirs_files.len()));
    }
    let mut md = MaxDiff::default();
    let mut only_files: Vec<String> = std::fs::read_dir(cd.join("theirs_only"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    only_files.sort();
    assert_eq!(
        only_files,
        ["agg_ceiling_results.csv", "ceiling_results.csv"],
        "cell-eval's ceiling-only files"
    );
    for f in &only_files {
        let (o, t) = (cd.join("ours_only").join(f), cd.join("theirs_only").join(f));
        assert!(o.exists(), "ceiling-only: we did not write {f}");
        if f.starts_with("agg_") {
            compare_csv(&o, &t, &[], &mut md, true);
        } else {
            compare_csv(&o, &t, &["perturbation"], &mut md, true);
        }
    }
    md.report("simulated ceiling-only (no prediction)");
    // The baseline's DE: cell-eval's baseline profile is a float32 mean over groups taken
    // in polars `group_by` order (which varies between runs); ours differs from it by up to
    // 4 float32 ulps (2.3e-7 relative measured), and pdex's float32 means of 36-88
    // identical values amplify that to ~1.5e-6 relative in means and percent changes. The
    // baseline's DE is therefore compared to 1e-5 (relative); everything else to 1e-6.
    let mut mb = MaxDiff(HashMap::new(), Some(1e-5));
    compare_csv(
        &sd.join("ours_baseline_de.csv"),
        &sd.join("theirs_baseline_de.csv"),
        &["target", "feature"],
        &mut mb,
        false,
    );
    mb.report("simulated baseline DE (tolerance 1e-5)");
    let mut md = MaxDiff::default();
    for f in ["results.csv", "agg_results.csv"] {
        let key = if f == "results.csv" {
            "perturbation"
        } else {
            "statistic"
        };
        compare_csv(
            &sd.join("ours_base_run").join(f),
            &sd.join("theirs_base_run").join(f),
            &[key],
            &mut md,
            true,
        );
    }
    compare_csv(
        &sd.join("ours_score.csv"),
        &sd.join("theirs_score.csv"),
        &["metric"],
        &mut md,
        true,
    );
    let ob = read_h5ad(sd.join("ours_baseline.h5ad")).unwrap();
    let tb = read_h5ad(sd.join("theirs_baseline.h5ad")).unwrap();
    assert_eq!(
        (ob.n_obs(), ob.n_vars()),
        (tb.n_obs(), tb.n_vars()),
        "baseline shape"
    );
    md.report("simulated baseline + score");
}

/// A small log1p-valued pair: 3 perturbations + control, 6 genes.
fn small(seed: u64) -> AnnData {
    let labels: Vec<&str> = (0..40).map(|i| ["control", "A", "B", "C"][i % 4]).collect();
    let g = 6;
    let dense: Vec<f32> = (0..labels.len() * g)
        .map(|k| {
            let h = splitmix(seed ^ k as u64);
            if h % 3 == 0 {
                0.0
            } else {
                0.25 + (h % 7) as f32 * 0.5
            }
        })
        .collect();
    let mut ad = AnnData::new(
        Csr::from_dense(labels.len(), g, &dense).unwrap(),
        (0..labels.len()).map(|i| format!("c{i}")).collect(),
        (0..g).map(|j| format!("G{j}")).collect(),
    );
    ad.obs
        .set_column("condition", Column::categorical_from_strings(&labels));
    ad
}

#[test]
fn bad_input_is_a_clear_error_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).display().to_string();
    let write =
        |a: &AnnData, n: &str| write_h5ad(dir.path().join(n), a, &WriteOptions::default()).unwrap();
    write(&small(1), "real.h5ad");
    write(&small(2), "pred.h5ad");
    let out = p("out");
    let run = |pred: &str, extra: &[&str]| {
        let pred = p(pred);
        let real = p("real.h5ad");
        let mut a = vec![
            "cell-eval",
            "run",
            "-ap",
            &pred,
            "-ar",
            &real,
            "--pert-col",
            "condition",
            "--control-pert",
            "control",
            "-o",
            &out,
        ];
        a.extend(extra);
        perturbench(&a)
    };
    // Integer counts.
    let mut counts = small(2);
    counts.x = counts
        .x
        .map_rows(|_, v, o| o.iter_mut().zip(v).for_each(|(o, &v)| *o = v.ceil()));
    write(&counts, "counts.h5ad");
    assert_error(
        &run("counts.h5ad", &[]),
        &["counts.h5ad", "integer", "--allow-discrete"],
    );
    // No control cells in the prediction.
    let mut noctrl = small(2);
    let labels: Vec<&str> = (0..40).map(|i| ["X", "A", "B", "C"][i % 4]).collect();
    noctrl
        .obs
        .set_column("condition", Column::categorical_from_strings(&labels));
    write(&noctrl, "noctrl.h5ad");
    assert_error(
        &run("noctrl.h5ad", &[]),
        &["noctrl.h5ad", "control", "condition"],
    );
    // A perturbation missing from the prediction.
    let mut missing = small(2);
    let labels: Vec<&str> = (0..40).map(|i| ["control", "A", "B", "A"][i % 4]).collect();
    missing
        .obs
        .set_column("condition", Column::categorical_from_strings(&labels));
    write(&missing, "missing.h5ad");
    assert_error(&run("missing.h5ad", &[]), &["only in real: [C]"]);
    // Genes that differ.
    let renamed = AnnData::new(
        small(2).x,
        (0..40).map(|i| format!("c{i}")).collect(),
        (0..6).map(|j| format!("H{j}")).collect(),
    );
    let mut renamed = renamed;
    renamed.obs = small(2).obs;
    write(&renamed, "genes.h5ad");
    assert_error(&run("genes.h5ad", &[]), &["gene 0", "'G0'", "'H0'"]);
    // Missing column or embedding, an invalid threshold.
    assert_error(&run("pred.h5ad", &["--celltype-col", "nope"]), &["nope"]);
    assert_error(
        &run("pred.h5ad", &["--embed-key", "X_nope"]),
        &["--embed-key", "obsm['X_nope'] not found"],
    );
    assert_error(
        &run("pred.h5ad", &["--cpm-filter", "NaN"]),
        &["--cpm-filter", "finite"],
    );
    assert!(!dir.path().join("out").exists(), "a failed run left files");
    assert_eq!(
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.'))
            .count(),
        0,
        "staging directory left behind"
    );
    // A valid run writes every file.
    let r = run("pred.h5ad", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for f in [
        "results.csv",
        "agg_results.csv",
        "real_de.csv",
        "pred_de.csv",
        "conventions.json",
    ] {
        assert!(dir.path().join("out").join(f).exists(), "{f}");
    }
    let conv: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/conventions.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(conv["skipped"], serde_json::json!([]));
    assert!(conv["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m == "clustering_agreement"));
    assert_eq!(conv["inputs"][0]["sha256"].as_str().unwrap().len(), 64);
}
