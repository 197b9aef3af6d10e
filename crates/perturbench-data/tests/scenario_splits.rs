//! The scenario builders reproduce PerturBench's notebooks (`build_data_scaling_splits`,
//! `build_imbalance_splits`) on synthetic obs frames.
//!
//! The same frames were built in Python (pandas categoricals, so categories are sorted) and
//! the notebooks' cells were run on them with the reference splitter (commit 4dd6a03), Python
//! 3.11.7, numpy 2.4.6, pandas 2.3.3, scikit-learn 1.9.1. Labels are hashed in obs order:
//! `sha256("\n".join(label or "" for each cell))[:16]`; counts are (train, val, test, none).

use perturbench_data::split::{
    data_scaling_split, imbalance_split, ImbalanceConfig, ScalingAxis, ScalingConfig, ScalingSize,
    SplitLabel,
};
use perturbench_data::{Column, Frame, PerturbationSpec};
use sha2::{Digest, Sha256};

fn hash(labels: &[Option<SplitLabel>]) -> String {
    let text: Vec<&str> = labels
        .iter()
        .map(|l| l.map_or("", |l| l.as_str()))
        .collect();
    Sha256::digest(text.join("\n").as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn counts(labels: &[Option<SplitLabel>]) -> (usize, usize, usize, usize) {
    let c = |l: Option<SplitLabel>| labels.iter().filter(|&&x| x == l).count();
    (
        c(Some(SplitLabel::Train)),
        c(Some(SplitLabel::Val)),
        c(Some(SplitLabel::Test)),
        c(None),
    )
}

/// A categorical column with sorted categories, as `pd.Categorical(values)` builds it.
fn pandas_categorical(values: &[String]) -> Column {
    let mut cats: Vec<String> = values.to_vec();
    cats.sort();
    cats.dedup();
    let codes = values
        .iter()
        .map(|v| cats.binary_search(v).unwrap() as u32)
        .collect();
    Column::Categorical {
        codes,
        categories: cats,
        ordered: false,
    }
}

fn frame(rows: Vec<(String, String, String, String)>) -> Frame {
    let mut f = Frame::with_index(rows.iter().map(|r| r.0.clone()).collect());
    for (i, name) in ["condition", "cell_type", "treatment"].iter().enumerate() {
        let v: Vec<String> = rows.iter().map(|r| [&r.1, &r.2, &r.3][i].clone()).collect();
        f.set_column(*name, pandas_categorical(&v));
    }
    f
}

/// 3 glioma lines x 5 treatments x (control + 40 genes), some pairs missing (as the Python frame).
fn mcfaline_like() -> Frame {
    let mut rows = Vec::new();
    let cts = ["a172", "t98g", "u87mg"];
    let trs = ["none", "lapatinib", "nintedanib", "trametinib", "zstk474"];
    let perts: Vec<String> = std::iter::once("control".to_string())
        .chain((0..40).map(|i| format!("G{i:02}")))
        .collect();
    for (ci, ct) in cts.iter().enumerate() {
        for (ti, tr) in trs.iter().enumerate() {
            for (pi, p) in perts.iter().enumerate() {
                let n = if p == "control" {
                    4
                } else {
                    1 + (pi * 7 + ci + 2 * ti) % 3
                };
                if p != "control" && (pi + ci + ti) % 11 == 0 {
                    continue;
                }
                for _ in 0..n {
                    rows.push((
                        format!("c{}", rows.len()),
                        p.clone(),
                        ct.to_string(),
                        tr.to_string(),
                    ));
                }
            }
        }
    }
    frame(rows)
}

fn sciplex_like() -> Frame {
    let mut rows = Vec::new();
    for (ci, ct) in ["a549", "k562", "mcf7"].iter().enumerate() {
        let perts: Vec<String> = std::iter::once("control".to_string())
            .chain((0..150).map(|i| format!("drug{i:03}")))
            .collect();
        for (pi, p) in perts.iter().enumerate() {
            let n = if p == "control" { 3 } else { 1 + (pi + ci) % 2 };
            for _ in 0..n {
                rows.push((
                    format!("s{}", rows.len()),
                    p.clone(),
                    ct.to_string(),
                    "none".to_string(),
                ));
            }
        }
    }
    frame(rows)
}

#[test]
fn data_scaling_matches_the_notebook() {
    let obs = mcfaline_like();
    assert_eq!(obs.nrows(), 1159);
    let spec = PerturbationSpec::with_covariates(["cell_type", "treatment"]);
    let cases = [
        (
            ScalingAxis::Perturbations,
            ScalingSize::Small,
            "d45fc38670fedf62",
            (254, 28, 32, 845),
        ),
        (
            ScalingAxis::Perturbations,
            ScalingSize::Medium,
            "851b440f3d753c0e",
            (556, 28, 32, 543),
        ),
        (
            ScalingAxis::Perturbations,
            ScalingSize::Full,
            "c61618859b516ac8",
            (1099, 28, 32, 0),
        ),
        (
            ScalingAxis::Covariates,
            ScalingSize::Small,
            "75c49e13808c84b4",
            (303, 76, 89, 691),
        ),
        (
            ScalingAxis::Covariates,
            ScalingSize::Medium,
            "ee5781400245f3a9",
            (535, 76, 89, 459),
        ),
    ];
    for (axis, size, want_hash, want_counts) in cases {
        let mut cfg = ScalingConfig::new(axis, size);
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        cfg.heldout_covariates = names(&["a172_nintedanib", "t98g_lapatinib", "u87mg_none"]);
        cfg.small_train_covariates = names(&["a172_none", "t98g_nintedanib", "u87mg_lapatinib"]);
        cfg.medium_train_covariates = names(&["a172_lapatinib", "t98g_none", "u87mg_nintedanib"]);
        let s = data_scaling_split(&obs, &spec, &cfg, "mcfaline-like").unwrap();
        assert_eq!(counts(&s.labels), want_counts, "{axis:?} {size:?}");
        assert_eq!(hash(&s.labels), want_hash, "{axis:?} {size:?}");
    }
}

#[test]
fn imbalance_matches_the_notebook() {
    let obs = sciplex_like();
    assert_eq!(obs.nrows(), 684);
    let spec = PerturbationSpec::with_covariates(["cell_type", "treatment"]);
    for (h, want_kept, want_hash, want_counts) in [
        (0.8, [151, 47, 33], "f3d3090d461a4b8e", (244, 56, 55, 329)),
        (0.9, [151, 122, 44], "f8d6ee698c1643bf", (344, 69, 70, 201)),
    ] {
        let (s, kept) =
            imbalance_split(&obs, &spec, &ImbalanceConfig::new(h), "sciplex-like").unwrap();
        let kept: Vec<usize> = kept.iter().map(|k| k.1).collect();
        assert_eq!(kept, want_kept, "entropy {h}");
        assert_eq!(counts(&s.labels), want_counts, "entropy {h}");
        assert_eq!(hash(&s.labels), want_hash, "entropy {h}");
    }
}
