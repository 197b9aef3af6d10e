//! Cell-level aggregations and metrics (`none`, `pca` × `energy`, `mmd`) on
//! ../shared/data/perturbench_devel.h5ad against values computed in Python:
//!
//! ```python
//! ref = ad.read_h5ad("perturbench_devel.h5ad"); X = ref.X.toarray().astype(np.float64)
//! a = ad.AnnData(X.copy())
//! sc.pp.pca(a, n_comps=30, zero_center=True, svd_solver="arpack")   # scanpy 1.11.5
//! mu = X.mean(0); V = a.varm["PCs"]
//! shift = X32 + 0.1 on perturbed cells (float32), as float64
//! Zr, Zs = (X - mu) @ V, (shift - mu) @ V
//! edist(x, y) = 2 * pairwise_distances(x, y, "sqeuclidean").mean()
//!     - pairwise_distances(x, x, "sqeuclidean").sum() / (n (n-1)) - (same for y)  # scPerturb
//! geo(x, y) = d(x, y) - d(x, x) / 2 - d(y, y) / 2, d = mean euclidean pairwise  # geomloss energy
//! ```
//! per (cell_type, condition) group, shift cells as the prediction; ranks with mid ties, / n.

use perturbench_eval::{evaluate, reference_pca, EvalConfig, Pipeline, TiePolicy};
use perturbench_io::{read_h5ad, write_h5ad, Compression, Csr, WriteOptions};
use std::collections::HashMap;
use std::path::PathBuf;

fn devel_path() -> Option<PathBuf> {
    let dir = std::env::var_os("PERTURBENCH_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let p = dir.join("perturbench_devel.h5ad");
    if p.exists() {
        Some(p)
    } else {
        eprintln!("SKIP: {} not found", p.display());
        None
    }
}

fn cfg(pipelines: &[&str]) -> EvalConfig {
    EvalConfig {
        pipelines: pipelines
            .iter()
            .map(|p| p.parse::<Pipeline>().unwrap())
            .collect(),
        covariate_keys: vec!["cell_type".into()],
        ties: TiePolicy::Mid,
        pca_components: 30,
        ..EvalConfig::default()
    }
}

#[test]
fn pca_variance_matches_scanpy() {
    let Some(devel) = devel_path() else { return };
    let pca = reference_pca(&devel, &cfg(&["pca:energy"])).unwrap();
    // sc.pp.pca(..., n_comps=30, svd_solver="arpack").uns["pca"]["variance"][:10]
    let want = [
        29.064468833079637,
        16.004581412861402,
        10.337707153598556,
        2.0368548276026357,
        1.738448841925092,
        1.5803923890673328,
        1.5253759529734794,
        1.2917280573622638,
        1.1293892009355393,
        1.0440408040935336,
    ];
    for (c, w) in want.iter().enumerate() {
        let got = pca.variance[c];
        assert!((got - w).abs() <= 1e-6 * w, "component {c}: {got} vs {w}");
    }
    let v30 = pca.variance[29];
    assert!(
        (v30 - 0.460732710954245).abs() <= 1e-6 * 0.46,
        "component 30: {v30}"
    );
}

#[test]
fn energy_and_mmd_match_pairwise_definitions() {
    let Some(devel) = devel_path() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ad = read_h5ad(&devel).unwrap();
    let (n, g) = (ad.n_obs(), ad.n_vars());
    let cond = ad.obs.column("condition").unwrap();
    let mut dense = ad.x.to_dense();
    for r in 0..n {
        if cond.value_string(r).unwrap() != "control" {
            for v in &mut dense[r * g..(r + 1) * g] {
                *v += 0.1;
            }
        }
    }
    let mut shift = ad.clone();
    shift.x = Csr::from_dense(n, g, &dense).unwrap();
    let opts = WriteOptions {
        compression: Compression::None,
    };
    let sp = dir.path().join("shift.h5ad");
    write_h5ad(&sp, &shift, &opts).unwrap();
    let c = cfg(&["none:energy:rank", "pca:energy:rank", "pca:mmd:rank"]);
    let out = evaluate(&devel, &[("shift".into(), sp)], &c, &|_| {}).unwrap();
    let summary: HashMap<(String, String), f64> = out
        .summary
        .iter()
        .map(|s| ((s.aggregation.clone(), s.metric.clone()), s.value))
        .collect();
    let per: HashMap<(String, String, String, String), f64> = out
        .per_perturbation
        .iter()
        .map(|r| {
            (
                (
                    r.aggregation.clone(),
                    r.metric.clone(),
                    r.covariates.clone(),
                    r.perturbation.clone(),
                ),
                r.value,
            )
        })
        .collect();
    // (aggregation, metric, mean, rank mean, [k562 KLF1, A172 SGK1, k562 CBL+CNN1, U87MG MAPK1], tolerance)
    let cases = [
        (
            "none",
            "energy",
            5.931142778767749,
            0.0025252525252525255,
            [
                9.757084971776035,
                4.972879510968909,
                9.60895958862346,
                -2.2335204943806275,
            ],
            1e-7,
        ),
        (
            "pca",
            "energy",
            4.068737704195597,
            0.04579124579124579,
            [
                5.187973853749165,
                3.7943861921200295,
                5.0967941850947724,
                1.9385908127349296,
            ],
            1e-6,
        ),
        (
            "pca",
            "mmd",
            0.34896672721944166,
            0.012121212121212121,
            [
                0.5427368483060921,
                0.16725713005225273,
                0.46080504988940296,
                0.12067883873706631,
            ],
            1e-5,
        ),
    ];
    let rows = [
        ("k562", "KLF1"),
        ("A172", "SGK1"),
        ("k562", "CBL+CNN1"),
        ("U87MG", "MAPK1"),
    ];
    for (a, m, mean, rank, vals, tol) in cases {
        let close = |got: f64, want: f64| (got - want).abs() <= tol * want.abs().max(1.0);
        let got = summary[&(a.to_string(), m.to_string())];
        assert!(close(got, mean), "{a}:{m} mean {got} vs {mean}");
        let got = summary[&(a.to_string(), format!("{m}_rank"))];
        assert!((got - rank).abs() < 1e-12, "{a}:{m} rank {got} vs {rank}");
        for ((cov, pert), want) in rows.iter().zip(vals) {
            let got = per[&(a.into(), m.into(), cov.to_string(), pert.to_string())];
            assert!(close(got, want), "{a}:{m} {cov} {pert}: {got} vs {want}");
        }
    }
}

/// The block Krylov path (more than 1,024 genes) against scanpy on simulated data:
/// `perturbench simulate --preset small --cells 3000 --genes 2000 --seed 7` (2,917 cells), then
/// `sc.pp.pca(AnnData(X.astype(float64)), n_comps=30, svd_solver="arpack")`, scanpy 1.11.5.
#[test]
fn krylov_pca_variance_matches_scanpy() {
    use perturbench_data::simulator::{simulate, Preset, SimConfig};
    let sim = SimConfig::preset(Preset::Small)
        .with_overrides(Some(3000), Some(2000), None)
        .unwrap();
    let ad = simulate(&sim, 7, &|_, _| {}).unwrap().adata;
    assert_eq!((ad.n_obs(), ad.n_vars()), (2917, 2000));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim.h5ad");
    let opts = WriteOptions {
        compression: Compression::None,
    };
    write_h5ad(&path, &ad, &opts).unwrap();
    let want = [
        6.567486904409573,
        2.8785448289359024,
        1.2761653362632306,
        1.1549864981788138,
        1.0180088084682095,
        0.7889741279591526,
        0.7719696258391041,
        0.7629783170070831,
        0.7433717955886763,
        0.7401387949637463,
    ];
    // Run the Krylov solver to convergence (the default stops after 8 steps).
    let c = EvalConfig {
        pca_components: 30,
        pca_iterations: 30,
        ..cfg(&["pca:energy"])
    };
    let pca = reference_pca(&path, &c).unwrap();
    for (i, w) in want.iter().enumerate() {
        let got = pca.variance[i];
        eprintln!("component {i}: {got} vs {w} ({:.2e})", (got - w) / w);
    }
    for (i, w) in want.iter().enumerate() {
        let got = pca.variance[i];
        assert!((got - w).abs() <= 1e-6 * w, "component {i}: {got} vs {w}");
    }
    let last = pca.variance[29];
    assert!(
        (last - 0.6235662099863208).abs() <= 1e-6 * 0.62,
        "component 30: {last}"
    );
}
