//! Split labels on ../shared/data/perturbench_devel.h5ad equal PerturBench's, cell for cell.
//!
//! Expected values come from running the reference splitter (altoslabs/perturbench
//! `data/datasplitter.py` at commit 4dd6a03, with Python 3.11.7, pandas 2.3.3, numpy 2.4.6,
//! scikit-learn 1.9.1) on the same file with covariate key `cell_type`, e.g.
//! ```python
//! s = PerturbationDataSplitter(obs, "condition", "control", covariate_keys=["cell_type"])
//! split = s.split_combinations(seed=42)          # or split_covariates / _inverse / _manual
//! hashlib.sha256("\n".join(split.fillna("")).encode()).hexdigest()[:16]
//! ```
//! The per-cell labels are hashed in obs order; counts are (train, val, test, unlabelled).
//! §2.8 of the spec lists the held-out pairs of the first two cases, checked explicitly.

use perturbench_data::split::{make_split, summarize, SplitConfig, SplitLabel, Task};
use perturbench_data::{Dataset, PerturbationSpec};
use perturbench_io::ReadOptions;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

fn devel() -> Option<Dataset> {
    let dir = std::env::var_os("PERTURBENCH_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let path = dir.join("perturbench_devel.h5ad");
    if !path.exists() {
        eprintln!(
            "SKIP: {} not found (set PERTURBENCH_SHARED_DATA)",
            path.display()
        );
        return None;
    }
    let opts = ReadOptions {
        layers: Some(vec![]),
        side_arrays: false,
        uns: false,
    };
    Some(
        Dataset::open(
            path,
            PerturbationSpec::with_covariates(["cell_type"]),
            &opts,
        )
        .unwrap(),
    )
}

fn hash(labels: &[Option<SplitLabel>]) -> String {
    let text: Vec<&str> = labels
        .iter()
        .map(|l| l.map_or("", |l| l.as_str()))
        .collect();
    let d = Sha256::digest(text.join("\n").as_bytes());
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn transfer(min_train: usize, max_covs: usize, frac: f64) -> Task {
    Task::Transfer {
        min_train_covariates: min_train,
        max_heldout_covariates: max_covs,
        max_heldout_fraction: frac,
        max_heldout_perturbations: 200,
    }
}

#[test]
fn labels_equal_the_reference_splitter() {
    let Some(d) = devel() else { return };
    let combo = |f: f64| Task::Combination {
        max_heldout_fraction: f,
        max_heldout_perturbations: 200,
    };
    let inverse = |f: f64| Task::InverseCombination {
        max_heldout_fraction: f,
        max_heldout_perturbations: 200,
    };
    let manual = |h: &[&str], f: f64| Task::Manual {
        heldout_covariates: h.iter().map(|s| s.to_string()).collect(),
        fraction: f,
    };
    // (task, seed, downsample fraction, label hash, (train, val, test, none))
    type Case = (Task, u32, f64, &'static str, (usize, usize, usize, usize));
    let cases: Vec<Case> = vec![
        (combo(0.3), 42, 1.0, "7b563ee070789055", (5361, 300, 300, 0)),
        (combo(0.7), 42, 1.0, "c61d96c701aa327d", (4761, 600, 600, 0)),
        (
            combo(0.7),
            1,
            0.8,
            "9231b34008a38f2f",
            (3403, 200, 300, 2058),
        ),
        (
            transfer(1, 1, 0.3),
            42,
            1.0,
            "904afc47183779ed",
            (4945, 479, 537, 0),
        ),
        (
            transfer(1, 2, 0.3),
            54,
            1.0,
            "4e470a49c62a3336",
            (4556, 664, 741, 0),
        ),
        (
            transfer(1, 1, 0.3),
            42,
            0.6,
            "9bbcdc6a267c21be",
            (3384, 364, 439, 1774),
        ),
        (
            transfer(2, 3, 0.5),
            9,
            1.0,
            "42cbfa2dd8aa2fdb",
            (4185, 883, 893, 0),
        ),
        (
            inverse(0.3),
            42,
            1.0,
            "1b6e26e87cd65135",
            (4425, 768, 768, 0),
        ),
        (
            inverse(0.5),
            5,
            1.0,
            "7a3169e138c57385",
            (3798, 1116, 1047, 0),
        ),
        (
            manual(&["A172", "T98G"], 0.7),
            42,
            1.0,
            "cc97fede2453673d",
            (4780, 588, 593, 0),
        ),
        (
            manual(&["k562"], 0.5),
            0,
            1.0,
            "2cd2354a832ea464",
            (4161, 900, 900, 0),
        ),
    ];
    for (task, seed, down, want_hash, want_counts) in cases {
        let mut cfg = SplitConfig::new(task.clone());
        cfg.seed = seed;
        cfg.downsample_fraction = down;
        let s = make_split(&d.design, &cfg).unwrap();
        assert_eq!(
            s.counts(),
            want_counts,
            "{task:?} seed {seed} downsample {down}"
        );
        assert_eq!(
            hash(&s.labels),
            want_hash,
            "{task:?} seed {seed} downsample {down}"
        );
    }
}

/// Held-out pairs of a split as "perturbation/covariate" strings, sorted.
fn heldout(d: &Dataset, labels: &[Option<SplitLabel>], which: SplitLabel) -> Vec<String> {
    let mut v: Vec<String> = (0..labels.len())
        .filter(|&r| labels[r] == Some(which) && !d.design.is_control(r))
        .map(|r| {
            let p = d.design.perturbation_of(r) as usize;
            format!(
                "{}/{}",
                d.design.perturbations[p].names().join("+"),
                d.design.covariate_label(d.design.cell_covariate[r])
            )
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn spec_2_8_outcomes() {
    let Some(d) = devel() else { return };
    // Combination, seed 42: k562 holds out 4 of 15 combos; controls 200/100/100.
    let s = make_split(
        &d.design,
        &SplitConfig::new(Task::Combination {
            max_heldout_fraction: 0.3,
            max_heldout_perturbations: 200,
        }),
    )
    .unwrap();
    // Sets are keyed sorted, so CEBPE+RUNX1T1 etc. print in sorted name order.
    assert_eq!(
        heldout(&d, &s.labels, SplitLabel::Val),
        ["CEBPE+RUNX1T1/k562", "PTPN12+ZBTB10/k562"]
    );
    assert_eq!(
        heldout(&d, &s.labels, SplitLabel::Test),
        ["CBL+CNN1/k562", "KLF1+MAP2K6/k562"]
    );
    let ctrl: Vec<SplitLabel> = (0..d.design.n_cells())
        .filter(|&r| d.design.is_control(r))
        .filter_map(|r| s.labels[r])
        .collect();
    assert_eq!(
        ctrl.iter().filter(|&&l| l == SplitLabel::Train).count(),
        200
    );
    assert_eq!(ctrl.iter().filter(|&&l| l == SplitLabel::Val).count(), 100);
    let summary = summarize(&d.design, &s);
    let k562 = summary.iter().find(|r| r.covariates == "k562").unwrap();
    assert_eq!((k562.train, k562.val, k562.test), (30, 3, 3));
    let a172 = summary.iter().find(|r| r.covariates == "A172").unwrap();
    assert_eq!((a172.train, a172.val, a172.test), (10, 1, 1));

    // Transfer, seed 42, max_heldout_covariates 1.
    let s = make_split(&d.design, &SplitConfig::new(transfer(1, 1, 0.3))).unwrap();
    assert_eq!(
        heldout(&d, &s.labels, SplitLabel::Val),
        ["MAP2K3/U87MG", "MAP3K21/A172", "SGK1/T98G", "TGFBR2/k562"]
    );
    assert_eq!(
        heldout(&d, &s.labels, SplitLabel::Test),
        [
            "MAP2K6/A172",
            "MAP4K3/U87MG",
            "MAP4K5/k562",
            "MAPK1/U87MG",
            "PLK4/T98G"
        ]
    );
    // Controls per line (train/val/test): A172 48/31/21, T98G 47/26/27, U87MG 50/27/23, k562 55/16/29.
    for (line, want) in [
        ("A172", [48, 31, 21]),
        ("T98G", [47, 26, 27]),
        ("U87MG", [50, 27, 23]),
        ("k562", [55, 16, 29]),
    ] {
        let got: Vec<usize> = [SplitLabel::Train, SplitLabel::Val, SplitLabel::Test]
            .iter()
            .map(|&l| {
                (0..d.design.n_cells())
                    .filter(|&r| {
                        d.design.is_control(r)
                            && d.design.covariate_label(d.design.cell_covariate[r]) == line
                            && s.labels[r] == Some(l)
                    })
                    .count()
            })
            .collect();
        assert_eq!(got, want, "{line}");
    }
}
