//! `perturbench cell-eval run --profile vcc2026` against the real cell-eval2 0.20.0
//! (`cell-eval2 run --preset vcc2026`).
//!
//! Both tools read the same pair of counts `.h5ad` files; every row of cell-eval2's
//! `results.csv` for a metric we compute must be present in ours with the same value (within
//! 1e-6, NaN equal to NaN), and no other row; every `agg_results.csv` statistic of those
//! metrics likewise. The metrics cell-eval2's profile holds that are not computed here must be
//! listed under `skipped` in our `conventions.json`. The largest differences are printed
//! (`--nocapture`).
//!
//! Cases (real = `perturbench simulate --preset small`'s raw counts, 18 perturbations, 12 of
//! whose labels name a gene; pred = the real counts times a per-value factor in [0.2, 1.8],
//! rounded, 10 % of the non-zeros dropped, and two perturbations' labels swapped):
//! - `sim_counts`: that pair;
//! - `sim_counts_control_paste`: the same, with the first perturbation's predicted cells
//!   replaced by real control cells (a prediction of "no effect" for it);
//! - `sim_counts_all_control`: every perturbation predicted by real control cells (no effect
//!   anywhere: ties in `pds_cosine`, and a prediction whose sampling correction exceeds its
//!   across-perturbation spread: on a like construction cell-eval2 logs the cap binding on 9
//!   of 18 perturbations and the budget scaling the correction by 0.84).
//!
//! The Python tool comes from `PERTURBENCH_CELLEVAL2_PYTHON` or a venv built once under the
//! target directory (`pip install cell-eval2==0.20.0`). Without it the test prints why and
//! skips, unless `PERTURBENCH_REQUIRE_PYTHON=1`.

mod common;
use common::*;
use perturbench_io::{read_h5ad, AnnData, Column};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const VERSION: &str = "0.20.0";

/// An interpreter with cell-eval2 0.20.0 (built once for all tests of this file).
fn python() -> Option<PathBuf> {
    python_with_cell_eval2()
}

/// Runs cell-eval2's command line once per argument list, in one process; a list
/// `["parquet-to-json", IN, OUT]` instead writes the rows of parquet file IN as JSON.
const DRIVER: &str = r#"
import json, sys
from cell_eval2.cli import main
for argv in json.load(open(sys.argv[1])):
    if argv[0] == "parquet-to-json":
        import polars as pl
        json.dump(pl.read_parquet(argv[1]).to_dicts(), open(argv[2], "w"))
    else:
        main(argv)
"#;

/// `cell-eval2 run --preset vcc2026` arguments: real file, optional prediction, output, extras.
fn theirs_run(real: &str, pred: Option<&str>, out: &str, extra: &[&str]) -> Vec<String> {
    let mut argv = vec![
        "run",
        "--preset",
        "vcc2026",
        "--pert-col",
        "condition",
        "--control",
        "control",
        "-ar",
        real,
    ];
    if let Some(pred) = pred {
        argv.extend(["-ap", pred]);
    }
    argv.extend(["-o", out]);
    argv.extend(extra);
    argv.iter().map(|s| s.to_string()).collect()
}

/// `perturbench cell-eval run --profile vcc2026` with the same arguments as [`theirs_run`];
/// asserts success and returns the wall time in seconds.
fn ours_run(real: &str, pred: Option<&str>, out: &str, extra: &[&str]) -> f64 {
    let mut args = vec![
        "--quiet",
        "cell-eval",
        "run",
        "--profile",
        "vcc2026",
        "-ar",
        real,
        "--pert-col",
        "condition",
        "--control-pert",
        "control",
        "-o",
        out,
    ];
    if let Some(pred) = pred {
        args.extend(["-ap", pred]);
    }
    args.extend(extra);
    let t = std::time::Instant::now();
    let r = perturbench(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    t.elapsed().as_secs_f64()
}

/// Runs [`DRIVER`] on `runs` (written to `dir/runs.json`) in one Python process; asserts
/// success and returns the wall time in seconds.
fn run_driver(py: &Path, dir: &Path, runs: &[Vec<String>]) -> f64 {
    run_python_driver(py, DRIVER, dir, runs, "cell-eval2")
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn labels(ad: &AnnData) -> Vec<String> {
    perturbench_celleval::groups::obs_labels(ad, "condition").expect("labels")
}

/// The simulated cells with their raw counts as X.
fn counts(dir: &Path) -> AnnData {
    counts_of(&simulate_small(dir, "sim.h5ad", 3))
}

/// The raw counts of a simulated file as X.
fn counts_of(p: &Path) -> AnnData {
    let mut ad = read_h5ad(p).expect("sim");
    ad.x = ad.layers.remove("counts").expect("layers['counts']");
    ad.layers.clear();
    ad
}

/// The noisy prediction described in the module documentation.
fn predict(real: &AnnData) -> AnnData {
    let mut pred = real.clone();
    pred.x = real.x.map_rows(|r, vals, out| {
        for (j, (o, &v)) in out.iter_mut().zip(vals).enumerate() {
            let h = splitmix(((r as u64) << 20) ^ j as u64 ^ 0x5eed);
            *o = if h % 10 == 0 {
                0.0
            } else {
                (v * (0.2 + 1.6 * (h >> 11) as f32 / (1u64 << 53) as f32)).round()
            };
        }
    });
    let mut lab = labels(real);
    let mut perts: Vec<String> = lab.iter().filter(|l| *l != "control").cloned().collect();
    perts.sort();
    perts.dedup();
    let (a, b) = (perts[1].clone(), perts[2].clone());
    for l in lab.iter_mut() {
        if *l == a {
            *l = b.clone();
        } else if *l == b {
            *l = a.clone();
        }
    }
    pred.obs
        .set_column("condition", Column::categorical_from_strings(&lab));
    pred
}

/// `pred` with the first perturbation's cells (`all`: every perturbation's cells) replaced by
/// real control cells.
fn control_paste(real: &AnnData, pred: &AnnData, all: bool) -> AnnData {
    let lab = labels(pred);
    let first = lab
        .iter()
        .filter(|l| *l != "control")
        .min()
        .expect("a perturbation")
        .clone();
    let controls: Vec<usize> = (0..lab.len()).filter(|&i| lab[i] == "control").collect();
    let mut c = 0;
    let rows: Vec<usize> = (0..lab.len())
        .map(|i| {
            if lab[i] == first || (all && lab[i] != "control") {
                c += 1;
                controls[c % controls.len()]
            } else {
                i
            }
        })
        .collect();
    let mut out = pred.clone();
    let src = real.select_obs(&rows);
    out.x = src.x;
    out
}

fn read_rows(path: &Path) -> BTreeMap<(String, String), f64> {
    let mut r = csv::Reader::from_path(path).expect("results.csv");
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            (
                (rec[0].to_string(), rec[1].to_string()),
                rec[2].parse::<f64>().unwrap(),
            )
        })
        .collect()
}

fn read_agg(path: &Path) -> BTreeMap<(String, String), f64> {
    let mut r = csv::Reader::from_path(path).expect("agg_results.csv");
    let head: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let mut out = BTreeMap::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        for (k, name) in head.iter().enumerate().skip(1) {
            out.insert(
                (rec[0].to_string(), name.clone()),
                rec[k].parse::<f64>().unwrap(),
            );
        }
    }
    out
}

fn differs(a: f64, b: f64) -> f64 {
    if a.is_nan() && b.is_nan() {
        0.0
    } else if a.is_nan() || b.is_nan() {
        f64::INFINITY
    } else {
        (a - b).abs() / a.abs().max(1.0)
    }
}

/// Compares one case; returns the largest difference per metric.
fn compare(ours: &Path, theirs: &Path) -> BTreeMap<String, f64> {
    let conv: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ours.join("conventions.json")).unwrap())
            .unwrap();
    let skipped: BTreeSet<String> = conv["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["metric"].as_str().unwrap().to_string())
        .collect();
    let computed: BTreeSet<String> = conv["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    let (o, t) = (
        read_rows(&ours.join("results.csv")),
        read_rows(&theirs.join("results.csv")),
    );
    let mut worst: BTreeMap<String, f64> = BTreeMap::new();
    for ((p, m), v) in &t {
        if !computed.contains(m) {
            assert!(skipped.contains(m), "{m}: neither computed nor skipped");
            continue;
        }
        let ov = o
            .get(&(p.clone(), m.clone()))
            .unwrap_or_else(|| panic!("{}: no row ({p}, {m})", ours.display()));
        let d = differs(*v, *ov);
        assert!(d <= 1e-6, "{p} {m}: cell-eval2 {v} vs ours {ov}");
        let w = worst.entry(m.clone()).or_insert(0.0);
        *w = w.max(d);
    }
    for (p, m) in o.keys() {
        assert!(
            t.contains_key(&(p.clone(), m.clone())),
            "extra row ({p}, {m})"
        );
    }
    let (oa, ta) = (
        read_agg(&ours.join("agg_results.csv")),
        read_agg(&theirs.join("agg_results.csv")),
    );
    for ((stat, m), v) in &ta {
        if !computed.contains(m) {
            continue;
        }
        let ov = oa
            .get(&(stat.clone(), m.clone()))
            .unwrap_or_else(|| panic!("agg ({stat}, {m}) missing"));
        let d = differs(*v, *ov);
        assert!(d <= 1e-6, "agg {stat} {m}: cell-eval2 {v} vs ours {ov}");
        let w = worst.entry(format!("agg {m}")).or_insert(0.0);
        *w = w.max(d);
    }
    worst
}

#[test]
fn vcc2026_matches_cell_eval2_0_20_0() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let real = counts(d);
    let pred = predict(&real);
    let paste = control_paste(&real, &pred, false);
    let paste_all = control_paste(&real, &pred, true);
    write(&d.join("real.h5ad"), &real);
    write(&d.join("pred.h5ad"), &pred);
    write(&d.join("paste.h5ad"), &paste);
    write(&d.join("paste_all.h5ad"), &paste_all);
    let cases = [
        ("sim_counts", "pred.h5ad"),
        ("sim_counts_control_paste", "paste.h5ad"),
        ("sim_counts_all_control", "paste_all.h5ad"),
    ];
    let p = |n: &str| d.join(n).display().to_string();
    let runs: Vec<Vec<String>> = cases
        .iter()
        .map(|(name, pred)| {
            theirs_run(
                &p("real.h5ad"),
                Some(&p(pred)),
                &p(&format!("theirs_{name}")),
                &[],
            )
        })
        .collect();
    let secs = run_driver(&py, d, &runs);
    println!("cell-eval2 {VERSION}: {} runs in {secs:.1}s", runs.len());
    for (name, pred) in cases {
        let ours = p(&format!("ours_{name}"));
        ours_run(&p("real.h5ad"), Some(&p(pred)), &ours, &[]);
        let worst = compare(Path::new(&ours), &d.join(format!("theirs_{name}")));
        println!("{name}: largest relative differences vs cell-eval2 {VERSION}:");
        for (m, w) in &worst {
            println!("  {m:<48} {w:.3e}");
        }
        assert!(worst.len() >= 10, "too few metrics compared: {worst:?}");
    }
}

#[test]
fn vcc2026_bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let real = counts(d);
    let pred = predict(&real);
    write(&d.join("real.h5ad"), &real);
    write(&d.join("pred.h5ad"), &pred);
    let p = |n: &str| d.join(n).display().to_string();
    let out = p("out");
    let run = |pred: &str, extra: &[&str]| {
        let (pred, real) = (p(pred), p("real.h5ad"));
        let mut a = vec![
            "cell-eval",
            "run",
            "--profile",
            "vcc2026",
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
    // Log-normalised values where counts are required.
    let mut lognorm = pred.clone();
    lognorm.x = lognorm.x.map_rows(|_, v, o| {
        o.iter_mut()
            .zip(v)
            .for_each(|(o, &v)| *o = (v as f64).ln_1p() as f32)
    });
    write(&d.join("lognorm.h5ad"), &lognorm);
    assert_error(
        &run("lognorm.h5ad", &[]),
        &["lognorm.h5ad", "not an integer", "raw counts"],
    );
    // No control cells in the prediction.
    let mut noctrl = pred.clone();
    let lab: Vec<String> = labels(&pred)
        .into_iter()
        .map(|l| if l == "control" { "ctrl".into() } else { l })
        .collect();
    noctrl
        .obs
        .set_column("condition", Column::categorical_from_strings(&lab));
    write(&d.join("noctrl.h5ad"), &noctrl);
    assert_error(
        &run("noctrl.h5ad", &[]),
        &["noctrl.h5ad", "control", "condition"],
    );
    // A missing column, an option the profile fixes.
    let mut nocol = pred.clone();
    nocol.obs.set_column(
        "perturbation",
        Column::categorical_from_strings(&labels(&pred)),
    );
    nocol.obs.columns.retain(|(name, _)| name != "condition");
    write(&d.join("nocol.h5ad"), &nocol);
    assert_error(&run("nocol.h5ad", &[]), &["nocol.h5ad", "condition"]);
    assert_error(
        &run("pred.h5ad", &["--epsilon", "0.1"]),
        &["--epsilon", "vcc2026"],
    );
    // The anchor: seeds without --anchor; too shallow a panel (on these 2,409 cells the
    // halves' summed expr_distance_unbiased is negative, which cell-eval2 refuses too);
    // a perturbation with one cell; --anchor with a cell-eval 0.8.2 profile.
    assert_error(
        &run("pred.h5ad", &["--anchor-splits", "3"]),
        &["--anchor-splits", "--anchor"],
    );
    assert_error(
        &run("pred.h5ad", &["--anchor"]),
        &["real.h5ad", "expr_mse_unbiased_capped_norm", "split "],
    );
    let lab = labels(&real);
    let lone = lab.iter().position(|l| l != "control").unwrap();
    let keep: Vec<usize> = (0..lab.len())
        .filter(|&i| i == lone || lab[i] != lab[lone])
        .collect();
    write(&d.join("thin.h5ad"), &real.select_obs(&keep));
    let thin = p("thin.h5ad");
    assert_error(
        &perturbench(&[
            "cell-eval",
            "run",
            "--profile",
            "vcc2026",
            "-ar",
            &thin,
            "--pert-col",
            "condition",
            "--control-pert",
            "control",
            "--anchor",
            "-o",
            &out,
        ]),
        &["thin.h5ad", "fewer than 2 cells", &lab[lone]],
    );
    assert_error(
        &perturbench(&[
            "cell-eval",
            "run",
            "--profile",
            "minimal",
            "-ar",
            &p("real.h5ad"),
            "-ap",
            &p("pred.h5ad"),
            "--pert-col",
            "condition",
            "--control-pert",
            "control",
            "--anchor",
            "-o",
            &out,
        ]),
        &["--anchor", "vcc2026"],
    );
    assert!(
        !d.join("out").exists(),
        "a refused run left an output directory"
    );
    // A valid run writes the three files, the conventions recording the profile's settings.
    let r = run("pred.h5ad", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let conv: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("out/conventions.json")).unwrap())
            .unwrap();
    assert_eq!(conv["profile"], "vcc2026");
    assert_eq!(conv["settings"]["target_sum"], 1e6);
    assert_eq!(conv["settings"]["filter_gene_min_cpm_cell"], 5.0);
    assert_eq!(conv["settings"]["epsilon"], 1e-9);
    assert_eq!(conv["settings"]["discrimination_ties"], "midrank");
    assert_eq!(conv["inputs"][0]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(
        entries(&d.join("out")),
        ["agg_results.csv", "conventions.json", "results.csv"]
    );
    // score --anchor: a missing anchor, an anchor without a member, a 0.8.2-style table.
    let agg = p("out/agg_results.csv");
    let score = |anchor: &str, user: &str| {
        perturbench(&[
            "cell-eval",
            "score",
            "--user-agg",
            user,
            "--baseline-agg",
            &agg,
            "--anchor",
            anchor,
            "-o",
            &p("scores.csv"),
        ])
    };
    assert_error(&score(&p("nowhere"), &agg), &["nowhere"]);
    std::fs::write(d.join("partial.csv"), "metric,replicate\npds_cosine,0.7\n").unwrap();
    assert_error(
        &score(&p("partial.csv"), &agg),
        &["partial.csv", "expr_mse_unbiased_capped_norm"],
    );
    std::fs::write(d.join("old.csv"), "statistic,mse\nmean,0.5\n").unwrap();
    assert_error(
        &score(&p("partial.csv"), &p("old.csv")),
        &["old.csv", "pds_cosine", "vcc2026"],
    );
    assert!(
        !d.join("scores.csv").exists(),
        "a refused score wrote its output"
    );
}

/// Scores every scored member on a grid of (user, baseline, replicate) values with
/// cell-eval2's own `scoring.score_one` (the policy's anchor replaced by the replicate, as
/// `score._replicate_entries` does) and with ours.
const SCORE_DRIVER: &str = r#"
import json, math, sys
from dataclasses import replace
from cell_eval2.catalog import CATALOG
from cell_eval2.scoring import score_one, is_degenerate
grid = json.load(open(sys.argv[1]))
out = []
for name, u, b, r in grid:
    pol = replace(CATALOG[name].scoring, anchor=float(r), allow_negative_baseline=False)
    if is_degenerate(float(b), pol):
        out.append(None)
        continue
    s = score_one(None if u is None else float(u), float(b), pol)
    out.append(s)
json.dump(out, open(sys.argv[2], "w"))
"#;

#[test]
fn vcc2026_score_matches_cell_eval2_scoring() {
    use perturbench_celleval::vcc2026::score::MEMBERS;
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let users = [
        None,
        Some(-3.0),
        Some(-0.2),
        Some(0.0),
        Some(0.1),
        Some(0.35),
        Some(0.5),
        Some(0.8),
        Some(0.999),
        Some(1.0),
        Some(1.7),
        Some(12.0),
    ];
    let scales = [
        (0.5, 0.9),
        (0.1, 0.6),
        (0.2, 0.95),
        (0.05, 0.7),
        (0.9, 0.2),
        (1.0, 0.25),
        (2.0, 0.3),
        (1.4, 0.9),
        (0.6, 0.6),
        (0.3, 0.05),
    ];
    let mut grid = Vec::new();
    for (name, _) in MEMBERS {
        for &(b, r) in &scales {
            for u in users {
                grid.push((name.to_string(), u, b, r));
            }
        }
    }
    let (gp, op) = (dir.path().join("grid.json"), dir.path().join("out.json"));
    std::fs::write(&gp, serde_json::to_string(&grid).unwrap()).unwrap();
    let o = Command::new(&py)
        .args(["-c", SCORE_DRIVER])
        .arg(&gp)
        .arg(&op)
        .output()
        .expect("python");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let theirs: Vec<Option<f64>> =
        serde_json::from_str(&std::fs::read_to_string(&op).unwrap()).unwrap();
    let (mut worst, mut n, mut degenerate) = (0.0f64, 0, 0);
    for ((name, u, b, r), t) in grid.iter().zip(&theirs) {
        let policy = MEMBERS.iter().find(|m| m.0 == name).unwrap().1;
        let ours = policy.score(*u, *b, *r);
        match t {
            None => {
                assert!(
                    ours.is_err(),
                    "{name} u={u:?} b={b} r={r}: degenerate there"
                );
                degenerate += 1;
            }
            Some(t) => {
                let s = ours.unwrap_or_else(|e| panic!("{name} u={u:?} b={b} r={r}: {e}"));
                let d = (s - t).abs();
                assert!(
                    d <= 1e-12,
                    "{name} u={u:?} b={b} r={r}: cell-eval2 {t} vs ours {s}"
                );
                worst = worst.max(d);
                n += 1;
            }
        }
    }
    println!(
        "vcc2026 scores: {n} (member, u, b, r) points equal to cell-eval2's score_one within {worst:.1e}; {degenerate} degenerate scales refused by both"
    );
}

/// Our `anchor_agg.csv` or `anchor_splits.csv` as rows of (column -> text).
fn read_csv_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).expect("anchor csv");
    let head: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            head.iter()
                .cloned()
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect()
}

/// Compares one of our anchor CSVs with cell-eval2's parquet (as JSON rows), matching rows
/// on `keys`; float columns within 1e-6 (relative above 1), the others equal. Returns the
/// largest difference.
fn compare_anchor_rows(ours: &Path, theirs: &Path, keys: &[&str]) -> f64 {
    let o = read_csv_rows(ours);
    let t: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(theirs).unwrap()).unwrap();
    assert_eq!(o.len(), t.len(), "{}: row count", ours.display());
    let key_of = |get: &dyn Fn(&str) -> String| keys.iter().map(|k| get(k)).collect::<Vec<_>>();
    let mut worst = 0.0f64;
    for row in &t {
        let obj = row.as_object().unwrap();
        let text = |k: &str| match &obj[k] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => String::new(),
            v => v.to_string(),
        };
        let key = key_of(&|k| text(k));
        let mine = o
            .iter()
            .find(|r| key_of(&|k| r[k].clone()) == key)
            .unwrap_or_else(|| panic!("{}: no row {key:?}", ours.display()));
        for (col, v) in obj {
            let ov = mine
                .get(col)
                .unwrap_or_else(|| panic!("{}: no column {col}", ours.display()));
            match v {
                serde_json::Value::Number(n) if n.is_f64() => {
                    let d = differs(n.as_f64().unwrap(), ov.parse::<f64>().unwrap());
                    assert!(d <= 1e-6, "{key:?} {col}: cell-eval2 {n} vs ours {ov}");
                    worst = worst.max(d);
                }
                _ => assert_eq!(&text(col), ov, "{key:?} {col}"),
            }
        }
    }
    worst
}

/// `--anchor`: the replicate anchor of the real cells alone, against `cell-eval2 run
/// --preset vcc2026 --anchor` (default seeds: base 0, 5 splits; and base 7, 2 splits),
/// every split value and every anchor statistic. Data: the small preset at 6,000 cells
/// (5,870 kept; the 2,409 of the default leave halves so shallow that the summed
/// `expr_distance_unbiased` is negative and both tools refuse the anchor).
#[test]
fn vcc2026_anchor_matches_cell_eval2_0_20_0() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sim = d.join("sim6k.h5ad");
    let r = perturbench(&[
        "--quiet",
        "simulate",
        "--preset",
        "small",
        "--seed",
        "3",
        "--cells",
        "6000",
        "--compression",
        "none",
        "--out",
        sim.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let real = counts_of(&sim);
    write(&d.join("real.h5ad"), &real);
    let p = |n: &str| d.join(n).display().to_string();
    let cases: [(&str, &[&str]); 2] = [
        ("default", &[]),
        (
            "seed7",
            &["--anchor-base-seed", "7", "--anchor-splits", "2"],
        ),
    ];
    let mut runs: Vec<Vec<String>> = Vec::new();
    for (name, extra) in cases {
        let out = p(&format!("theirs_{name}"));
        let mut anchor = vec!["--anchor"];
        anchor.extend(extra);
        runs.push(theirs_run(&p("real.h5ad"), None, &out, &anchor));
        for f in ["anchor_agg", "anchor_splits"] {
            runs.push(vec![
                "parquet-to-json".into(),
                format!("{out}/{f}.parquet"),
                format!("{out}/{f}.json"),
            ]);
        }
    }
    // Scoring on the replicate scale: a noisy prediction and an all-control baseline, each
    // run by both tools, scored against the default anchor (`cell-eval2 score --anchor`).
    let pred = predict(&real);
    write(&d.join("pred.h5ad"), &pred);
    write(&d.join("base.h5ad"), &control_paste(&real, &pred, true));
    for n in ["pred", "base"] {
        let (pred, out) = (p(&format!("{n}.h5ad")), p(&format!("theirs_run_{n}")));
        runs.push(theirs_run(&p("real.h5ad"), Some(&pred), &out, &[]));
    }
    let score = |side: &str, out: &str| -> Vec<String> {
        [
            "score",
            "--user-agg",
            &p(&format!("{side}_run_pred/agg_results.csv")),
            "--baseline-agg",
            &p(&format!("{side}_run_base/agg_results.csv")),
            "--anchor",
            &p(&format!("{side}_default")),
            "-o",
            &p(out),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    runs.push(score("theirs", "theirs_scores.csv"));
    let secs = run_driver(&py, d, &runs);
    println!("cell-eval2 {VERSION}: 2 anchors, 2 runs and a score in {secs:.1}s");
    for (name, extra) in cases {
        let ours = p(&format!("ours_{name}"));
        let mut anchor = vec!["--anchor"];
        anchor.extend(extra);
        let secs = ours_run(&p("real.h5ad"), None, &ours, &anchor);
        let theirs = d.join(format!("theirs_{name}"));
        let ours = Path::new(&ours);
        assert!(
            !ours.join("results.csv").exists(),
            "anchor-only run wrote results.csv"
        );
        let w_agg = compare_anchor_rows(
            &ours.join("anchor_agg.csv"),
            &theirs.join("anchor_agg.json"),
            &["metric"],
        );
        let w_splits = compare_anchor_rows(
            &ours.join("anchor_splits.csv"),
            &theirs.join("anchor_splits.json"),
            &["split_index", "metric"],
        );
        println!(
            "anchor {name}: ours {secs:.2}s; largest relative difference anchor_agg {w_agg:.3e}, anchor_splits {w_splits:.3e}"
        );
    }
    for n in ["pred", "base"] {
        let (pred, out) = (p(&format!("{n}.h5ad")), p(&format!("ours_run_{n}")));
        ours_run(&p("real.h5ad"), Some(&pred), &out, &[]);
    }
    let mut args = vec!["--quiet".to_string(), "cell-eval".to_string()];
    args.extend(score("ours", "ours_scores.csv"));
    let r = perturbench(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let column = |path: &str, col: &str| -> Vec<(String, f64)> {
        let rows = read_csv_rows(&d.join(path));
        rows.iter()
            .map(|r| (r["metric"].clone(), r[col].parse::<f64>().unwrap()))
            .collect()
    };
    let (theirs, ours) = (
        column("theirs_scores.csv", "from_replicate"),
        column("ours_scores.csv", "from_replicate"),
    );
    assert_eq!(theirs.len(), 7, "six members and avg_score: {theirs:?}");
    let names = |v: &[(String, f64)]| v.iter().map(|r| r.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&theirs), names(&ours), "row order");
    let mut worst = 0.0f64;
    for ((m, t), (_, o)) in theirs.iter().zip(&ours) {
        let dv = differs(*t, *o);
        assert!(dv <= 1e-6, "from_replicate {m}: cell-eval2 {t} vs ours {o}");
        worst = worst.max(dv);
    }
    println!("score --anchor: from_replicate {theirs:?}; largest relative difference {worst:.3e}");
}
