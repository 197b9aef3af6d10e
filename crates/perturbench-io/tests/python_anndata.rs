//! Interoperability with Python anndata, both directions, in a venv the test creates:
//! - files written by perturbench are read by anndata (shapes, categories, values compared);
//! - files written by anndata (every encoding we read) are read by perturbench and compared
//!   with the values Python printed.
//!
//! `PERTURBENCH_PYTHON=/path/to/python` uses an existing interpreter with anndata instead (e.g.
//! to check the oldest supported anndata, 0.8.0). Otherwise the test needs `python3` with `venv` and network access to PyPI the first time (the venv is kept in
//! the target directory). Without them the test prints why and skips, unless
//! `PERTURBENCH_REQUIRE_PYTHON=1` (set by CI), where it fails.

use perturbench_io::{
    read_h5ad, write_h5ad, AnnData, Column, Compression, Csr, Dense, Uns, WriteOptions,
    MISSING_CODE,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn require() -> bool {
    std::env::var("PERTURBENCH_REQUIRE_PYTHON")
        .map(|v| v == "1")
        .unwrap_or(false)
}

fn skip_or_fail(msg: &str) -> Option<PathBuf> {
    if require() {
        panic!("{msg}");
    }
    eprintln!("SKIP: {msg}");
    None
}

/// A venv with anndata, created once under the target directory.
fn python() -> Option<PathBuf> {
    static VENV: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    VENV.get_or_init(make_venv).clone()
}

fn make_venv() -> Option<PathBuf> {
    if let Some(py) = std::env::var_os("PERTURBENCH_PYTHON") {
        return Some(PathBuf::from(py));
    }
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("anndata-venv");
    let py = venv.join("bin/python");
    let ready = venv.join(".ready");
    if ready.exists() {
        return Some(py);
    }
    let ok = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        return skip_or_fail("cannot create a Python venv (python3 -m venv)");
    }
    let ok = Command::new(&py)
        .args([
            "-m",
            "pip",
            "install",
            "-q",
            "anndata>=0.8",
            "scipy",
            "pandas",
        ])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        return skip_or_fail("pip install anndata failed (network?)");
    }
    std::fs::write(&ready, b"ok").unwrap();
    Some(py)
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(name)
}

fn run_json(py: &Path, args: &[&std::ffi::OsStr]) -> serde_json::Value {
    let out = Command::new(py).args(args).output().expect("run python");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python printed JSON")
}

fn f64s(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}
fn strs(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}
fn i64s(v: &serde_json::Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}
fn bools(v: &serde_json::Value) -> Vec<bool> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_bool().unwrap())
        .collect()
}

/// An object using every part and column type the writer supports.
fn rich_object() -> AnnData {
    let (n, g) = (25usize, 7usize);
    let dense: Vec<f32> = (0..n * g)
        .map(|i| {
            if i % 3 == 0 {
                (i % 11) as f32 * 0.25 + 0.5
            } else {
                0.0
            }
        })
        .collect();
    let x = Csr::from_dense(n, g, &dense).unwrap();
    let mut ad = AnnData::new(
        x.clone(),
        (0..n).map(|i| format!("cell-{i}")).collect(),
        (0..g).map(|j| format!("G{j}")).collect(),
    );
    let conds: Vec<&str> = (0..n)
        .map(|i| ["control", "KLF1", "KLF1+MAP2K6", "ünïcode"][i % 4])
        .collect();
    ad.obs
        .set_column("condition", Column::categorical_from_strings(&conds));
    let mut codes: Vec<u32> = (0..n as u32).map(|i| i % 3).collect();
    codes[4] = MISSING_CODE;
    ad.obs.set_column(
        "level",
        Column::Categorical {
            codes,
            categories: vec!["lo".into(), "mid".into(), "hi".into()],
            ordered: true,
        },
    );
    ad.obs.set_column(
        "ncounts",
        Column::Float((0..n).map(|i| i as f64 * 10.5).collect()),
    );
    ad.obs.set_column(
        "ngenes",
        Column::Int((0..n).map(|i| i as i64 - 3).collect()),
    );
    ad.obs
        .set_column("flag", Column::Bool((0..n).map(|i| i % 2 == 0).collect()));
    ad.obs.set_column(
        "barcode",
        Column::Str((0..n).map(|i| format!("BC{i:03}")).collect()),
    );
    ad.var.set_column(
        "highly_variable",
        Column::Bool((0..g).map(|j| j < 3).collect()),
    );
    // 300 categories need int16 codes.
    let many: Vec<String> = (0..n).map(|i| format!("c{}", i * 11)).collect();
    let mut cats: Vec<String> = (0..300).map(|i| format!("c{i}")).collect();
    cats.reverse();
    let many_codes = many
        .iter()
        .map(|s| cats.iter().position(|c| c == s).unwrap() as u32)
        .collect();
    ad.obs.set_column(
        "many",
        Column::Categorical {
            codes: many_codes,
            categories: cats,
            ordered: false,
        },
    );
    // X's pattern with other values: written as a layer whose indices and indptr are hard
    // links to X's.
    ad.layers.insert(
        "counts".into(),
        x.map_rows(|_, v, out| out.iter_mut().zip(v).for_each(|(o, v)| *o = v + 1.0)),
    );
    ad.obsm.insert(
        "X_pca".into(),
        Dense {
            nrows: n,
            ncols: 2,
            data: (0..2 * n).map(|i| i as f32 / 7.0).collect(),
        },
    );
    let mut nested = BTreeMap::new();
    nested.insert("k".to_string(), Uns::Float(2.5));
    nested.insert(
        "names".to_string(),
        Uns::StrList(vec!["a".into(), "b".into()]),
    );
    ad.uns
        .insert("note".into(), Uns::Str("written by perturbench".into()));
    ad.uns.insert("n".into(), Uns::Int(7));
    ad.uns.insert("nested".into(), Uns::Dict(nested));
    ad.uns.insert(
        "matrix".into(),
        Uns::Array {
            shape: vec![2, 3],
            data: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            f32: true,
        },
    );
    ad
}

#[test]
fn python_anndata_reads_what_we_write() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ad = rich_object();
    for c in [Compression::Gzip(4), Compression::None] {
        let path = dir.path().join(format!("ours_{c:?}.h5ad"));
        write_h5ad(&path, &ad, &WriteOptions { compression: c }).unwrap();
        let j = run_json(&py, &[script("read_ours.py").as_os_str(), path.as_os_str()]);
        assert_eq!(i64s(&j["shape"]), vec![25, 7]);
        assert_eq!(j["x_format"], "csr");
        assert_eq!(j["x_dtype"], "float32");
        let dense: Vec<f64> = ad.x.to_dense().iter().map(|&v| v as f64).collect();
        assert_eq!(f64s(&j["x"]), dense);
        let counts: Vec<f64> = ad.layers["counts"]
            .to_dense()
            .iter()
            .map(|&v| v as f64)
            .collect();
        assert_ne!(counts, dense);
        assert_eq!(f64s(&j["layers"]["counts"]), counts);
        assert_eq!(strs(&j["obs_names"]), ad.obs.index);
        assert_eq!(strs(&j["var_names"]), ad.var.index);
        let cond = &j["obs"]["condition"];
        assert_eq!(cond["kind"], "categorical");
        assert_eq!(
            strs(&cond["categories"]),
            vec!["control", "KLF1", "KLF1+MAP2K6", "ünïcode"]
        );
        assert_eq!(i64s(&cond["codes"])[..5], [0, 1, 2, 3, 0]);
        let level = &j["obs"]["level"];
        assert_eq!(level["ordered"], true);
        assert_eq!(i64s(&level["codes"])[3..6], [0, -1, 2]);
        assert_eq!(j["obs"]["ncounts"]["kind"], "float");
        assert_eq!(f64s(&j["obs"]["ncounts"]["values"])[2], 21.0);
        assert_eq!(j["obs"]["ngenes"]["kind"], "int");
        assert_eq!(i64s(&j["obs"]["ngenes"]["values"])[0], -3);
        assert_eq!(j["obs"]["flag"]["kind"], "bool");
        assert_eq!(j["obs"]["barcode"]["values"][2], "BC002");
        let many = &j["obs"]["many"];
        assert_eq!(strs(&many["categories"]).len(), 300);
        assert_eq!(
            strs(&many["categories"])[i64s(&many["codes"])[2] as usize],
            "c22"
        );
        assert_eq!(j["obsm"]["X_pca"][0], serde_json::json!([25, 2]));
        assert_eq!(j["uns"]["note"], "written by perturbench");
        assert_eq!(j["uns"]["n"], 7);
        assert_eq!(j["uns"]["nested"]["k"], 2.5);
        assert_eq!(
            j["uns"]["nested"]["names"]["values"],
            serde_json::json!(["a", "b"])
        );
        assert_eq!(j["uns"]["matrix"]["array"], serde_json::json!([2, 3]));
        // And we read back exactly what we wrote.
        assert_eq!(read_h5ad(&path).unwrap(), ad);
    }
}

#[test]
fn we_read_every_encoding_python_anndata_writes() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let e = run_json(
        &py,
        &[
            script("write_fixture.py").as_os_str(),
            dir.path().as_os_str(),
        ],
    );
    for name in ["csr", "csc", "dense"] {
        let path = dir.path().join(format!("fixture_{name}.h5ad"));
        let ad = read_h5ad(&path).unwrap_or_else(|err| panic!("{name}: {err}"));
        let shape = i64s(&e["shape"]);
        assert_eq!(
            (ad.n_obs() as i64, ad.n_vars() as i64),
            (shape[0], shape[1]),
            "{name}"
        );
        let x: Vec<f64> = ad.x.to_dense().iter().map(|&v| v as f64).collect();
        assert_eq!(x, f64s(&e["x"]), "{name} X");
        let counts: Vec<f64> = ad.layers["counts"]
            .to_dense()
            .iter()
            .map(|&v| v as f64)
            .collect();
        assert_eq!(counts, f64s(&e["counts"]), "{name} counts");
        assert_eq!(ad.obs.index, strs(&e["obs_names"]));
        assert_eq!(ad.var.index, strs(&e["var_names"]));
        match ad.obs.column("condition").unwrap() {
            Column::Categorical {
                codes,
                categories,
                ordered,
            } => {
                assert_eq!(*categories, strs(&e["condition"]["categories"]));
                assert_eq!(
                    codes.iter().map(|&c| c as i64).collect::<Vec<_>>(),
                    i64s(&e["condition"]["codes"])
                );
                assert!(!ordered);
            }
            other => panic!("condition: {other:?}"),
        }
        match ad.obs.column("level").unwrap() {
            Column::Categorical { codes, ordered, .. } => {
                let want: Vec<u32> = i64s(&e["level"]["codes"])
                    .iter()
                    .map(|&c| if c < 0 { MISSING_CODE } else { c as u32 })
                    .collect();
                assert_eq!(*codes, want);
                assert!(ordered);
            }
            other => panic!("level: {other:?}"),
        }
        assert_eq!(
            ad.obs.column("flag"),
            Some(&Column::Bool(bools(&e["flag"])))
        );
        assert_eq!(
            ad.obs.column("count"),
            Some(&Column::Int(i64s(&e["count"])))
        );
        assert_eq!(
            ad.obs.column("score"),
            Some(&Column::Float(f64s(&e["score"])))
        );
        assert_eq!(
            ad.obs.column("label"),
            Some(&Column::Str(strs(&e["label"])))
        );
        match ad.obs.column("maybe_int").unwrap() {
            Column::NullableInt { values, mask } => {
                assert_eq!(*mask, bools(&e["maybe_int_mask"]));
                let want = i64s(&e["maybe_int"]);
                for i in 0..values.len() {
                    if !mask[i] {
                        assert_eq!(values[i], want[i]);
                    }
                }
            }
            other => panic!("maybe_int: {other:?}"),
        }
        match ad.obs.column("maybe_bool").unwrap() {
            Column::NullableBool { values, mask } => {
                assert_eq!(*mask, bools(&e["maybe_bool_mask"]));
                let want = bools(&e["maybe_bool"]);
                for i in 0..values.len() {
                    if !mask[i] {
                        assert_eq!(values[i], want[i]);
                    }
                }
            }
            other => panic!("maybe_bool: {other:?}"),
        }
        assert_eq!(
            ad.var.column("highly_variable"),
            Some(&Column::Bool(bools(&e["hv"])))
        );
        let pca: Vec<f64> = ad.obsm["X_pca"].data.iter().map(|&v| v as f64).collect();
        assert_eq!(pca, f64s(&e["pca"]));
        assert_eq!(ad.uns["note"], Uns::Str("hello".into()));
        assert_eq!(
            ad.uns["ints"],
            Uns::IntArray {
                shape: vec![3],
                data: vec![1, 2, 3]
            }
        );
        let nested = ad.uns["nested"].as_dict().unwrap();
        assert_eq!(nested["k"], Uns::Float(2.5));
        assert_eq!(nested["names"], Uns::StrList(vec!["a".into(), "b".into()]));
    }
}
