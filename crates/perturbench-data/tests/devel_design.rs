//! The design of ../shared/data/perturbench_devel.h5ad, checked against values computed in
//! Python (anndata 0.12.19 + pandas) following PerturBench's parsing rules (spec §1.6):
//! ```python
//! u = []
//! for s in a.obs["condition"].astype(str):
//!     for t in s.split("+"):
//!         if t != "control" and t not in u: u.append(t)
//! pd.unique(a.obs["cell_type"].astype(str))
//! g = a.obs.groupby(["cell_type", "condition"], observed=True).size()   # 64 groups, 46..100 cells
//! ```
//! Skips with a printed reason when the shared data are absent.

use perturbench_data::{Dataset, PerturbationSpec};
use perturbench_io::ReadOptions;
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
    Some(
        Dataset::open(
            path,
            PerturbationSpec::with_covariates(["cell_type"]),
            &ReadOptions::default(),
        )
        .unwrap(),
    )
}

#[test]
fn vocabularies_follow_order_of_first_appearance() {
    let Some(d) = devel() else { return };
    let v = d.design.perturbation_vocabulary(0..d.design.n_cells());
    let expected = [
        "KLF1", "MAP2K6", "CEBPE", "RUNX1T1", "SGK1", "TBX3", "MAP2K3", "SLC38A2", "MAP4K5",
        "MIDN", "FOXO4", "MAP4K3", "IER5L", "MAPK1", "BPGM", "SAMD1", "PLK4", "CNN1", "TGFBR2",
        "MAP3K21", "PTPN12", "PTPN9", "SET", "KMT2A", "TMSB4X", "CBL", "ZBTB10", "NIT1", "HK2",
        "FOXL2", "HOXB9",
    ];
    assert_eq!(v.names(), expected);
    let c = d.design.covariate_vocabularies(0..d.design.n_cells());
    assert_eq!(c[0].names(), ["k562", "A172", "T98G", "U87MG"]);
}

#[test]
fn group_index_matches_pandas_groupby() {
    let Some(d) = devel() else { return };
    let g = d.groups();
    assert_eq!(g.len(), 64);
    let sizes: Vec<usize> = g.groups().iter().map(|g| g.rows.len()).collect();
    assert_eq!(*sizes.iter().min().unwrap(), 46);
    assert_eq!(*sizes.iter().max().unwrap(), 100);
    assert_eq!(sizes.iter().sum::<usize>(), 5961);
    let find = |cov: &str, pert: &str| {
        let ci = d
            .design
            .covariates
            .iter()
            .position(|c| c[0] == cov)
            .unwrap() as u32;
        let pi = d
            .design
            .perturbations
            .iter()
            .position(|p| p.names().join("+") == pert)
            .unwrap() as u32;
        g.get(ci, pi).map(|g| g.rows.len())
    };
    assert_eq!(find("k562", "FOXL2+HOXB9"), Some(80));
    assert_eq!(find("A172", "PLK4"), Some(46));
    assert_eq!(find("A172", "KLF1"), None);
    // 33 perturbations + control; 15 combos (python: sum("+" in c for c in categories)).
    assert_eq!(d.design.perturbations.len(), 34);
    assert_eq!(
        d.design
            .perturbations
            .iter()
            .filter(|p| p.is_combo())
            .count(),
        15
    );
}
