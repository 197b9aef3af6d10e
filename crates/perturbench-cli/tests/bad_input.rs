//! Bad input never panics: a clear error that names the file and key, a non-zero exit, and no
//! partial output.

mod common;
use common::*;
use hdf5::types::{VarLenAscii, VarLenUnicode};
use std::str::FromStr;

#[test]
fn not_an_hdf5_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("notes.h5ad");
    std::fs::write(&p, "cell,gene\n1,2\n").unwrap();
    let r = perturbench(&["inspect", p.to_str().unwrap()]);
    assert_error(&r, &["notes.h5ad", "not an HDF5 file"]);
}

#[test]
fn missing_file() {
    let r = perturbench(&["inspect", "/nonexistent/file.h5ad"]);
    assert_error(&r, &["/nonexistent/file.h5ad", "cannot open"]);
}

#[test]
fn truncated_h5ad() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cut.h5ad");
    write(&p, &tiny());
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() * 6 / 10]).unwrap();
    let r = perturbench(&["inspect", p.to_str().unwrap()]);
    assert_error(&r, &["cut.h5ad", "truncated or corrupt"]);
}

#[test]
fn legacy_layout() {
    let Some(data) = shared_data() else { return };
    let p = data.join("kang2018_ifnb_pbmc_scgen_legacy_format.h5ad");
    let r = perturbench(&["inspect", p.to_str().unwrap()]);
    assert_error(
        &r,
        &[
            "kang2018_ifnb_pbmc_scgen_legacy_format.h5ad",
            "legacy AnnData layout",
            "write_h5ad",
        ],
    );
}

#[test]
fn missing_obs_key() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.h5ad");
    write(&p, &tiny());
    let r = perturbench(&[
        "inspect",
        p.to_str().unwrap(),
        "--perturbation-key",
        "perturbation",
    ]);
    assert_error(
        &r,
        &["t.h5ad", "no column 'perturbation'", "condition, cell_type"],
    );
    let r = perturbench(&[
        "inspect",
        p.to_str().unwrap(),
        "--covariate-keys",
        "cell_type,donor",
    ]);
    assert_error(&r, &["t.h5ad", "no column 'donor'"]);
}

#[test]
fn control_label_absent() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.h5ad");
    write(&p, &tiny());
    let r = perturbench(&["inspect", p.to_str().unwrap(), "--control", "ctrl"]);
    assert_error(&r, &["t.h5ad", "obs/condition", "control label 'ctrl'"]);
}

#[test]
fn x_rows_differ_from_obs_rows() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("rows.h5ad");
    let mut ad = tiny();
    ad.obs.columns.clear();
    write(&p, &ad);
    {
        // Replace the obs index by one with 11 names while X keeps 12 rows.
        let f = hdf5::File::open_rw(&p).unwrap();
        let obs = f.group("obs").unwrap();
        obs.unlink("_index").unwrap();
        let names: Vec<VarLenUnicode> = (0..11)
            .map(|i| VarLenUnicode::from_str(&format!("c{i}")).unwrap())
            .collect();
        let ds = obs
            .new_dataset::<VarLenUnicode>()
            .shape(11)
            .create("_index")
            .unwrap();
        ds.write_raw(&names[..]).unwrap();
        for (k, v) in [
            ("encoding-type", "string-array"),
            ("encoding-version", "0.2.0"),
        ] {
            ds.new_attr::<VarLenUnicode>()
                .create(k)
                .unwrap()
                .write_scalar(&VarLenUnicode::from_str(v).unwrap())
                .unwrap();
        }
    }
    let r = perturbench(&["inspect", p.to_str().unwrap()]);
    assert_error(&r, &["rows.h5ad", "X", "12x4", "11 cells"]);
    let err = perturbench_io::read_h5ad(&p).unwrap_err().to_string();
    assert!(
        err.contains("rows.h5ad") && err.contains("12 rows but obs has 11 cells"),
        "{err}"
    );
}

#[test]
fn non_utf8_var_names() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("utf.h5ad");
    write(&p, &tiny());
    {
        let f = hdf5::File::open_rw(&p).unwrap();
        let var = f.group("var").unwrap();
        var.unlink("_index").unwrap();
        let mut names: Vec<VarLenAscii> = (0..4)
            .map(|j| VarLenAscii::from_ascii(&format!("G{j}")).unwrap())
            .collect();
        // Latin-1 "Gé" is not valid UTF-8.
        names[2] = unsafe { VarLenAscii::from_ascii_unchecked(&[b'G', 0xe9][..]) };
        let ds = var
            .new_dataset::<VarLenAscii>()
            .shape(4)
            .create("_index")
            .unwrap();
        ds.write_raw(&names[..]).unwrap();
    }
    let r = perturbench(&["inspect", p.to_str().unwrap()]);
    assert_error(
        &r,
        &["utf.h5ad", "var/_index", "element 2 is not valid UTF-8"],
    );
}

#[test]
fn duplicate_var_names() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("dup.h5ad");
    let mut ad = tiny();
    ad.var.index = vec!["G0".into(), "TP53".into(), "G2".into(), "TP53".into()];
    write(&p, &ad);
    let r = perturbench(&["inspect", p.to_str().unwrap()]);
    assert_error(&r, &["dup.h5ad", "var names are not unique", "TP53"]);
}

#[test]
fn split_bad_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.h5ad");
    write(&p, &tiny());
    let out = dir.path().join("s.csv");
    let (ps, os) = (p.to_str().unwrap(), out.to_str().unwrap());
    // Unknown task: clap lists the tasks.
    let r = perturbench(&["split", ps, "--task", "cross-validation", "--out", os]);
    assert_error(&r, &["cross-validation", "transfer", "combination"]);
    // Unknown covariate key.
    let r = perturbench(&[
        "split",
        ps,
        "--task",
        "transfer",
        "--covariate-keys",
        "donor",
        "--out",
        os,
    ]);
    assert_error(&r, &["t.h5ad", "no column 'donor'"]);
    // A split CSV with a label other than train/val/test/empty.
    let csv = dir.path().join("bad.csv");
    let rows: Vec<String> = (0..12)
        .map(|i| format!("c{i},{}", if i == 5 { "holdout" } else { "train" }))
        .collect();
    std::fs::write(&csv, rows.join("\n")).unwrap();
    let r = perturbench(&[
        "split",
        ps,
        "--task",
        "saved",
        "--split-file",
        csv.to_str().unwrap(),
        "--out",
        os,
    ]);
    assert_error(&r, &["bad.csv", "line 6", "holdout"]);
    // Nothing was written.
    assert!(!out.exists());
    // A perturbation with an empty component.
    let mut ad = tiny();
    let cond: Vec<&str> = (0..12)
        .map(|i| ["control", "A", "B", "A++B"][i % 4])
        .collect();
    ad.obs.set_column(
        "condition",
        perturbench_io::Column::categorical_from_strings(&cond),
    );
    let p2 = dir.path().join("empty.h5ad");
    write(&p2, &ad);
    let r = perturbench(&[
        "split",
        p2.to_str().unwrap(),
        "--task",
        "combination",
        "--out",
        os,
    ]);
    assert_error(
        &r,
        &["empty.h5ad", "obs/condition", "A++B", "empty component"],
    );
    assert!(!out.exists());
}

#[test]
fn preprocess_counts_request_on_a_file_without_counts() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("log.h5ad");
    let mut ad = tiny();
    for v in ad.x.data_mut() {
        *v = (*v as f64).ln_1p() as f32;
    }
    write(&p, &ad);
    let out = dir.path().join("pp.h5ad");
    let r = perturbench(&["preprocess", p.to_str().unwrap(), out.to_str().unwrap()]);
    assert_error(&r, &["log.h5ad", "not counts", "--input log-normalized"]);
    let r = perturbench(&[
        "preprocess",
        p.to_str().unwrap(),
        out.to_str().unwrap(),
        "--input",
        "log-normalized",
        "--require-counts",
    ]);
    assert_error(&r, &["log.h5ad", "layers['counts'] is absent"]);
    assert_eq!(entries(dir.path()), vec!["log.h5ad"]);
}
