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
