//! Parity with the reference cell-eval 0.8.2 (pdex 0.3.0, numba-mwu 0.2.0) on real data.
//!
//! How the reference numbers are obtained (nothing is stored in the repository):
//! 1. `real` = the K562 cells of `perturbench_devel.h5ad` (3,375 cells × 500 genes, 33
//!    perturbations + 100 controls, log1p values); `pred` = the same cells with
//!    deterministic multiplicative noise rounded to 2 decimals (many ties), 10 % of the
//!    non-zeros dropped, two perturbations' labels swapped, one gene zeroed in the
//!    predicted controls (+inf fold changes) and one gene zeroed in one perturbation (−inf),
//!    one perturbation left exact. Both are written with perturbench-io (f32 X).
//! 2. `tests/python/run_cell_eval.py` casts X to float64 (exact) and runs
//!    `cell-eval run -ap pred -ar real --control-pert control --pert-col condition
//!    --profile full -o OUT --num-threads 2 --skip-metrics
//!    clustering_agreement,pearson_edistance` (the two metrics this crate does not
//!    implement) in a Python environment with `cell-eval==0.8.2` (it pulls pdex 0.3.0).
//! 3. Every row of `real_de.csv` and `pred_de.csv` and every metric of `results.csv` that
//!    this crate implements is compared with ours: values within 1e-6 (relative above 1),
//!    p-values and FDRs within 1e-6 relative or 1e-12 absolute, infinities and NaNs
//!    exactly. The DE metrics are also recomputed from cell-eval's own DE tables.
//!    The maximal differences are printed (`--nocapture`).
//! 4. The same K562 pair is also given to cell-eval as float32 (`devel_k562_f32`), where
//!    pdex averages in single precision (`DeOptions::float32_means`). Synthetic pairs cover
//!    the edge cases (see `pairs`).
//!
//! The Python environment: `PERTURBENCH_CELLEVAL_PYTHON=/path/to/python` (an interpreter
//! with cell-eval 0.8.2) or, otherwise, a venv the test creates once under the target
//! directory with `pip install cell-eval==0.8.2` (needs `python3` ≥ 3.11 with `venv` and
//! network access to PyPI). Without either, or without the data
//! (`$PERTURBENCH_SHARED_DATA` or `../shared/data` next to the repository root), the test
//! prints why and skips, unless `PERTURBENCH_REQUIRE_PYTHON=1`, where it fails.

use perturbench_celleval::metrics::de_frame::parse_float;
use perturbench_celleval::metrics::{evaluate_de, DeFrame, MetricTable};
use perturbench_celleval::{evaluate, DeOptions, DeTable};
use perturbench_io::{read_h5ad, write_h5ad, AnnData, Column, Csr, WriteOptions};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const CELL_EVAL_VERSION: &str = "0.8.2";

fn require() -> bool {
    std::env::var("PERTURBENCH_REQUIRE_PYTHON").is_ok_and(|v| v == "1")
}

fn skip_or_fail<T>(msg: &str) -> Option<T> {
    if require() {
        panic!("{msg}");
    }
    eprintln!("SKIP: {msg}");
    None
}

fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("PERTURBENCH_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let f = dir.join("perturbench_devel.h5ad");
    if f.exists() {
        Some(f)
    } else {
        skip_or_fail(&format!("{} not found", f.display()))
    }
}

fn python_version_ok(py: &Path) -> bool {
    Command::new(py)
        .args([
            "-c",
            "import importlib.metadata as m, sys; sys.exit(0 if m.version('cell-eval') == '0.8.2' else 1)",
        ])
        .status()
        .is_ok_and(|s| s.success())
}

/// An interpreter with cell-eval 0.8.2.
fn python() -> Option<PathBuf> {
    if let Some(py) = std::env::var_os("PERTURBENCH_CELLEVAL_PYTHON") {
        let py = PathBuf::from(py);
        if python_version_ok(&py) {
            return Some(py);
        }
        return skip_or_fail(&format!(
            "PERTURBENCH_CELLEVAL_PYTHON={} does not have cell-eval {CELL_EVAL_VERSION}",
            py.display()
        ));
    }
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cell-eval-0.8.2-venv");
    let py = venv.join("bin/python");
    if venv.join(".ready").exists() && python_version_ok(&py) {
        return Some(py);
    }
    let ok = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return skip_or_fail("cannot create a Python venv (python3 -m venv)");
    }
    let ok = Command::new(&py)
        .args(["-m", "pip", "install", "-q", "cell-eval==0.8.2"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok || !python_version_ok(&py) {
        return skip_or_fail("pip install cell-eval==0.8.2 failed (network? Python >= 3.11?)");
    }
    std::fs::write(venv.join(".ready"), b"ok").expect("write marker");
    Some(py)
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn labels(ad: &AnnData) -> Vec<String> {
    perturbench_celleval::groups::obs_labels(ad, "condition").expect("condition column")
}

fn with_condition(x: Csr, cells: Vec<String>, genes: Vec<String>, conds: &[String]) -> AnnData {
    let mut ad = AnnData::new(x, cells, genes);
    ad.obs
        .set_column("condition", Column::categorical_from_strings(conds));
    ad
}

/// The real/pred pair described in the module docs.
fn build_pair(devel: &AnnData) -> (AnnData, AnnData) {
    let ct = perturbench_celleval::groups::obs_labels(devel, "cell_type").expect("cell_type");
    let rows: Vec<usize> = (0..devel.n_obs()).filter(|&i| ct[i] == "k562").collect();
    let sub = devel.select_obs(&rows);
    let conds = labels(&sub);
    let real = with_condition(
        sub.x.clone(),
        sub.obs_names().to_vec(),
        sub.var_names().to_vec(),
        &conds,
    );

    let mut perts: Vec<String> = conds.iter().filter(|c| *c != "control").cloned().collect();
    perts.sort();
    perts.dedup();
    let (swap_a, swap_b, neg_pert, exact) = (&perts[1], &perts[2], &perts[3], &perts[4]);
    // Most and second-most expressed genes (by number of non-zeros).
    let mut nnz = vec![0usize; sub.n_vars()];
    for &c in sub.x.indices() {
        nnz[c as usize] += 1;
    }
    let mut by_nnz: Vec<usize> = (0..nnz.len()).collect();
    by_nnz.sort_by_key(|&j| std::cmp::Reverse(nnz[j]));
    let (g_inf, g_neg) = (by_nnz[0] as u32, by_nnz[1] as u32);

    let mut indptr = vec![0u64];
    let (mut indices, mut data) = (Vec::new(), Vec::new());
    for (r, cond) in conds.iter().enumerate() {
        let (idx, vals) = sub.x.row(r);
        for (&c, &v) in idx.iter().zip(vals) {
            let h = splitmix((r as u64) << 20 | c as u64);
            let nv = if cond == exact {
                v
            } else if (cond == "control" && c == g_inf)
                || (cond == neg_pert && c == g_neg)
                || h % 10 == 0
            {
                0.0
            } else {
                let u = (h >> 11) as f64 / (1u64 << 53) as f64;
                ((v as f64 * (0.75 + 0.5 * u) * 100.0).round() / 100.0) as f32
            };
            if nv != 0.0 {
                indices.push(c);
                data.push(nv);
            }
        }
        indptr.push(indices.len() as u64);
    }
    let x = Csr::from_parts(sub.n_obs(), sub.n_vars(), indptr, indices, data).expect("csr");
    let pred_conds: Vec<String> = conds
        .iter()
        .map(|c| {
            if c == swap_a {
                swap_b.clone()
            } else if c == swap_b {
                swap_a.clone()
            } else {
                c.clone()
            }
        })
        .collect();
    let pred = with_condition(
        x,
        sub.obs_names().to_vec(),
        sub.var_names().to_vec(),
        &pred_conds,
    );
    (real, pred)
}

/// Groups of the synthetic edge-case pairs: a perturbation named like a gene (`G3`, target
/// gene exclusion), a combination, one without effect, one with a strong effect.
const SYNTH_GROUPS: [(&str, usize); 6] = [
    ("control", 40),
    ("G3", 30),
    ("G5", 25),
    ("NOEFFECT", 30),
    ("STRONG", 20),
    ("G7+G8", 15),
];
const SYNTH_GENES: usize = 40;

/// An effect: (probability multiplier, value shift) of gene `j` in group `g`.
type Effect = dyn Fn(&str, usize) -> (f64, f64);

/// A small log1p-like data set with heavy ties (values are multiples of 0.5) and the edge
/// cases: G0 all zero, G1 = 1.0 in every cell (zero variance), G2 zero in the controls
/// (+inf fold changes), G4 zero in STRONG (−inf); without `specials` only G0 and G1 are
/// special. Cells of the groups are interleaved.
fn synth(seed: u64, effect: &Effect, specials: bool) -> AnnData {
    let mut labels: Vec<&str> = SYNTH_GROUPS
        .iter()
        .flat_map(|&(g, n)| std::iter::repeat_n(g, n))
        .collect();
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by_key(|&i| splitmix(seed ^ 0xABCD ^ i as u64));
    labels = order.iter().map(|&i| labels[i]).collect();
    let mut dense = vec![0f32; labels.len() * SYNTH_GENES];
    for (i, &g) in labels.iter().enumerate() {
        for j in 0..SYNTH_GENES {
            let h = splitmix(seed.wrapping_mul(1_000_003) ^ ((i as u64) << 16 | j as u64));
            let (pm, shift) = effect(g, j);
            let p = ((0.2 + 0.6 * (j % 7) as f64 / 6.0) * pm).min(1.0);
            let u = (h >> 11) as f64 / (1u64 << 53) as f64;
            let mut v = if u < p {
                0.5 * (1 + (h % 5)) as f64 + shift
            } else {
                0.0
            };
            if j == 0 || specials && ((j == 2 && g == "control") || (j == 4 && g == "STRONG")) {
                v = 0.0;
            }
            if j == 1 {
                v = 1.0;
            }
            dense[i * SYNTH_GENES + j] = v as f32;
        }
    }
    let x = Csr::from_dense(labels.len(), SYNTH_GENES, &dense).expect("dense");
    let conds: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
    with_condition(
        x,
        (0..conds.len()).map(|i| format!("c{i}")).collect(),
        (0..SYNTH_GENES).map(|j| format!("G{j}")).collect(),
        &conds,
    )
}

/// The real effects of the synthetic data.
fn real_effect(g: &str, j: usize) -> (f64, f64) {
    match g {
        "G3" if (10..20).contains(&j) => (0.3, 0.0),
        "G3" if (20..25).contains(&j) => (1.0, 1.0),
        "G5" if (10..15).contains(&j) => (2.0, 0.5),
        "STRONG" if (5..35).contains(&j) => (3.0, 1.5),
        "G7+G8" if (30..40).contains(&j) => (0.2, 0.0),
        _ => (1.0, 0.0),
    }
}

/// A prediction that gets some effects wrong: NOEFFECT moves, STRONG does not, G5 copies G3.
fn pred_effect(g: &str, j: usize) -> (f64, f64) {
    match g {
        "NOEFFECT" if (25..35).contains(&j) => (2.0, 1.0),
        "STRONG" => (1.0, 0.0),
        "G5" => real_effect("G3", j),
        _ => real_effect(g, j),
    }
}

/// A "predict the control" prediction: every cell has the same profile (multiples of 0.5,
/// so every pseudobulk equals it exactly): zero deltas (all cosine distances tie, Pearson
/// is NaN), every gene constant (p = 1), no significant gene.
fn constant_pred() -> AnnData {
    synth(5, &|_, _| (1.0, 0.0), false).tap_constant()
}

trait TapConstant {
    fn tap_constant(self) -> Self;
}

impl TapConstant for AnnData {
    fn tap_constant(mut self) -> Self {
        let (n, g) = (self.n_obs(), self.n_vars());
        let dense: Vec<f32> = (0..n * g).map(|k| 0.5 * ((k % g) % 4) as f32).collect();
        self.x = Csr::from_dense(n, g, &dense).expect("dense");
        self
    }
}

/// The pairs compared with cell-eval: (name, real, pred). A name ending in `_f32` is given
/// to cell-eval with its float32 X as written (pdex then averages in float32), the others as
/// float64.
fn pairs(devel: &AnnData) -> Vec<(&'static str, AnnData, AnnData)> {
    let (real, pred) = build_pair(devel);
    vec![
        ("devel_k562", real.clone(), pred.clone()),
        ("devel_k562_f32", real, pred),
        (
            "synthetic",
            synth(1, &real_effect, true),
            synth(2, &pred_effect, true),
        ),
        // No effect on one side: no significant gene there (overlap's all-zero rule,
        // de_spearman_sig = 1 or NaN, empty per-perturbation cells, NaN AUCs).
        (
            "synthetic_null_pred",
            synth(1, &real_effect, true),
            synth(3, &|_, _| (1.0, 0.0), false),
        ),
        (
            "synthetic_constant_pred",
            synth(1, &real_effect, true),
            constant_pred(),
        ),
        (
            "synthetic_null_real",
            synth(4, &|_, _| (1.0, 0.0), false),
            synth(2, &pred_effect, true),
        ),
    ]
}

/// A CSV file as header -> column of strings.
fn read_columns(path: &Path) -> (Vec<String>, HashMap<String, Vec<String>>) {
    let mut rdr = csv::Reader::from_path(path).expect("open csv");
    let headers: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    let mut cols: HashMap<String, Vec<String>> =
        headers.iter().map(|h| (h.clone(), Vec::new())).collect();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        for (h, v) in headers.iter().zip(rec.iter()) {
            cols.get_mut(h).unwrap().push(v.to_string());
        }
    }
    (headers, cols)
}

/// Tracks the largest difference seen per quantity.
#[derive(Default)]
struct MaxDiff(Vec<(String, f64, f64, usize)>);

impl MaxDiff {
    /// Compares `ours` with the reference `theirs`; `pvalue` selects the p-value tolerance.
    fn check(&mut self, what: &str, ctx: &str, ours: f64, theirs: f64, pvalue: bool) {
        let same_special =
            (ours.is_nan() && theirs.is_nan()) || (ours.is_infinite() && ours == theirs);
        let diff = if same_special {
            0.0
        } else {
            (ours - theirs).abs()
        };
        let ok = if pvalue {
            diff <= 1e-6 * theirs.abs() || diff <= 1e-12
        } else {
            diff <= 1e-6 * theirs.abs().max(1.0)
        };
        assert!(ok, "{what} {ctx}: ours {ours:e} vs cell-eval {theirs:e}");
        let rel = if diff == 0.0 {
            0.0
        } else {
            diff / theirs.abs()
        };
        match self.0.iter_mut().find(|(n, ..)| n == what) {
            Some(e) => {
                e.1 = e.1.max(diff);
                e.2 = e.2.max(rel);
                e.3 += 1;
            }
            None => self.0.push((what.to_string(), diff, rel, 1)),
        }
    }

    fn report(&self, title: &str) {
        println!("{title}: max abs / max rel difference ours vs cell-eval 0.8.2 (values compared)");
        for (n, d, r, c) in &self.0 {
            println!("  {n:<32} {d:.3e} / {r:.3e} ({c})");
        }
    }
}

fn compare_de(ours: &DeTable, path: &Path, md: &mut MaxDiff) {
    let (_, cols) = read_columns(path);
    let n = cols["target"].len();
    assert_eq!(n, ours.n_rows(), "{}: row count", path.display());
    let gpos: HashMap<&str, usize> = ours
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.target.as_str(), i))
        .collect();
    let fpos: HashMap<&str, usize> = ours
        .features
        .iter()
        .enumerate()
        .map(|(i, f)| (f.as_str(), i))
        .collect();
    let num = |c: &str, i: usize| parse_float(&cols[c][i]).expect("number");
    for (i, (t, f)) in cols["target"].iter().zip(&cols["feature"]).enumerate() {
        let (t, f) = (t.as_str(), f.as_str());
        let g = &ours.groups[gpos[t]];
        let j = fpos[f];
        let ctx = format!("{t}/{f}");
        assert_eq!(
            num("target_membership", i),
            g.target_membership as f64,
            "{ctx}"
        );
        assert_eq!(
            num("ref_membership", i),
            ours.ref_membership as f64,
            "{ctx}"
        );
        // Single-precision means are printed in their shortest f32 form: compare as f32.
        let as_written = |v: f64| if ours.means_f32 { v as f32 as f64 } else { v };
        md.check(
            "target_mean",
            &ctx,
            as_written(g.target_mean[j]),
            as_written(num("target_mean", i)),
            false,
        );
        md.check(
            "ref_mean",
            &ctx,
            as_written(ours.ref_mean[j]),
            as_written(num("ref_mean", i)),
            false,
        );
        md.check(
            "log2_fold_change",
            &ctx,
            g.log2_fold_change[j],
            num("log2_fold_change", i),
            false,
        );
        md.check(
            "percent_change",
            &ctx,
            g.percent_change[j],
            num("percent_change", i),
            false,
        );
        md.check(
            "statistic",
            &ctx,
            g.statistic[j],
            num("statistic", i),
            false,
        );
        md.check("p_value", &ctx, g.p_value[j], num("p_value", i), true);
        md.check("fdr", &ctx, g.fdr[j], num("fdr", i), true);
    }
}

fn compare_results(ours: &MetricTable, path: &Path, md: &mut MaxDiff, tag: &str) {
    let (headers, cols) = read_columns(path);
    let perts = &cols["perturbation"];
    for (name, values) in &ours.columns {
        if !headers.contains(name) {
            // cell-eval leaves out a metric that has no value for any perturbation.
            assert!(
                values.iter().all(Option::is_none),
                "cell-eval results.csv lacks {name}"
            );
            md.check(&format!("{tag}{name} (absent)"), tag, 0.0, 0.0, false);
            continue;
        }
        for (p, v) in ours.perturbations.iter().zip(values) {
            let i = perts.iter().position(|x| x == p).expect("perturbation row");
            let theirs = cols[name][i].as_str();
            let ctx = format!("{tag} {p}");
            match (v, theirs) {
                (None, "") => {}
                (None, t) => panic!("{name} {ctx}: ours missing, cell-eval {t}"),
                (Some(o), t) => {
                    let t = parse_float(t).expect("number");
                    md.check(&format!("{tag}{name}"), &ctx, *o, t, false)
                }
            }
        }
    }
}

#[test]
fn cell_eval_0_8_2_parity() {
    let Some(devel_path) = data_dir() else { return };
    let Some(py) = python() else { return };
    let devel = read_h5ad(&devel_path).expect("read devel");
    // `PERTURBENCH_CELLEVAL_OUT=DIR` keeps the inputs and cell-eval's outputs there.
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = std::env::var_os("PERTURBENCH_CELLEVAL_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    let pairs = pairs(&devel);
    let mut args = Vec::new();
    for (name, real, pred) in &pairs {
        let d = dir.join(name);
        std::fs::create_dir_all(&d).expect("output dir");
        write_h5ad(d.join("real.h5ad"), real, &WriteOptions::default()).expect("write real");
        write_h5ad(d.join("pred.h5ad"), pred, &WriteOptions::default()).expect("write pred");
        let mode = if name.ends_with("_f32") { "f32" } else { "f64" };
        args.extend([
            d.join("real.h5ad"),
            d.join("pred.h5ad"),
            d.join("out"),
            PathBuf::from(mode),
        ]);
    }

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/run_cell_eval.py");
    let t0 = std::time::Instant::now();
    let o = Command::new(&py)
        .arg(&script)
        .args(&args)
        .output()
        .expect("run python");
    assert!(
        o.status.success(),
        "cell-eval failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    println!(
        "reference: {} in {:.1}s",
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .last()
            .unwrap_or(""),
        t0.elapsed().as_secs_f64()
    );

    for (name, real, pred) in &pairs {
        let out = dir.join(name).join("out");
        let t1 = std::time::Instant::now();
        let opts = DeOptions::for_stored_dtype(if name.ends_with("_f32") {
            "float32"
        } else {
            "float64"
        });
        let ev = evaluate(real, pred, "condition", "control", &opts).expect("evaluate");
        println!("== {name}: ours {:.3}s", t1.elapsed().as_secs_f64());

        let mut md = MaxDiff::default();
        compare_de(&ev.real_de, &out.join("real_de.csv"), &mut md);
        compare_de(&ev.pred_de, &out.join("pred_de.csv"), &mut md);
        md.report("DE tables (real_de.csv + pred_de.csv)");

        let mut mm = MaxDiff::default();
        compare_results(&ev.results, &out.join("results.csv"), &mut mm, "");
        // The DE metrics once more, from cell-eval's own DE tables.
        let from_their_de = evaluate_de(
            &DeFrame::read_csv(&out.join("real_de.csv")).unwrap(),
            &DeFrame::read_csv(&out.join("pred_de.csv")).unwrap(),
        )
        .unwrap();
        compare_results(
            &from_their_de,
            &out.join("results.csv"),
            &mut mm,
            "their-DE:",
        );
        mm.report("results.csv");
    }
}
