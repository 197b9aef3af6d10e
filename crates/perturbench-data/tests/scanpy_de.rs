//! Differential expression equals scanpy's `rank_genes_groups` (t-test, t-test_overestim_var,
//! wilcoxon; each perturbation vs the control cells of its cell type) on Kang 2018 and
//! devel-with-counts, after normalize_total(1e4) + log1p of the counts layer.
//!
//! Expected values: `tests/fixtures/scanpy_de.rs`, generated with scanpy 1.11.5 / scipy 1.17.1 /
//! statsmodels (Python 3.11.7):
//! ```python
//! a = anndata.read_h5ad(f); a.X = a.layers["counts"].astype(np.float32)
//! sc.pp.normalize_total(a, target_sum=1e4)
//! a.X.data = np.log1p(a.X.data.astype(np.float64)).astype(np.float32)   # = our log1p
//! a.uns["log1p"] = {"base": None}
//! sub = a[a.obs.cell_type == ct].copy()
//! sc.tl.rank_genes_groups(sub, "condition", groups=groups + ["control"], reference="control",
//!                         method=method, n_genes=a.n_vars)
//! sc.get.rank_genes_groups_df(sub, g)   # top 10 genes by score + every (G/20)-th gene
//! ```
//! scanpy stores scores and log fold changes as float32; p-values are float64. The log1p step
//! is done as perturbench does it (float64, rounded to float32) because numpy's float32 log1p
//! is a CPU-specific SIMD routine a few ulp away; p-values below 1e-100 amplify such input
//! differences ~t² times, so the comparison needs identical inputs to test the statistics.

#[path = "fixtures/scanpy_de.rs"]
mod fixtures;

use perturbench_data::de::{test_group, DeMethod, Reference};
use perturbench_data::preprocess::{log1p, normalize_total, TargetSum};
use perturbench_data::{Dataset, PerturbationSpec};
use perturbench_io::ReadOptions;
use std::collections::HashMap;
use std::path::PathBuf;

fn rel(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / a.abs().max(b.abs())
    }
}

#[test]
fn scores_and_pvalues_equal_scanpy() {
    let dir = std::env::var_os("PERTURBENCH_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if !dir.join("perturbench_devel_with_counts.h5ad").exists() {
        eprintln!("SKIP: shared data not found at {}", dir.display());
        return;
    }
    let mut by_file: HashMap<&str, Vec<&fixtures::Row>> = HashMap::new();
    for row in fixtures::SCANPY_DE {
        by_file.entry(row.0).or_default().push(row);
    }
    let (mut worst_score, mut worst_p, mut checked) = (0f64, 0f64, 0usize);
    for (file, rows) in by_file {
        let opts = ReadOptions {
            layers: Some(vec!["counts".into()]),
            side_arrays: false,
            uns: false,
        };
        let d = Dataset::open(
            dir.join(file),
            PerturbationSpec::with_covariates(["cell_type"]),
            &opts,
        )
        .unwrap();
        let mut x = d.adata.layers["counts"].clone();
        normalize_total(&mut x, TargetSum::Fixed(1e4));
        log1p(&mut x);
        let genes: HashMap<&str, usize> = d
            .var_names()
            .iter()
            .enumerate()
            .map(|(i, g)| (g.as_str(), i))
            .collect();
        let groups = d.groups();
        let mut cache: HashMap<(String, String, String), perturbench_data::de::DeResult> =
            HashMap::new();
        for &&(_, ct, pert, method, gene, score, pval, padj, lfc) in &rows {
            let key = (ct.to_string(), pert.to_string(), method.to_string());
            let res = cache.entry(key).or_insert_with(|| {
                let m: DeMethod = method.parse().unwrap();
                let c = d.design.covariates.iter().position(|v| v[0] == ct).unwrap() as u32;
                let p = d
                    .design
                    .perturbations
                    .iter()
                    .position(|s| {
                        s.names().join("+") == {
                            let mut n: Vec<&str> = pert.split('+').collect();
                            n.sort();
                            n.join("+")
                        }
                    })
                    .unwrap() as u32;
                let ctrl = groups.get(c, d.design.control.unwrap()).unwrap();
                let reference = Reference::new(&x, &ctrl.rows, m);
                test_group(&x, &groups.get(c, p).unwrap().rows, &reference, m)
            });
            let j = genes[gene];
            let ctx = format!("{file} {ct} {pert} {method} {gene}");
            // Scores are float32 in scanpy's table: compare at float32 precision.
            let rs = rel(res.scores[j] as f32 as f64, score);
            let rp = rel(res.pvals[j], pval);
            assert!(rs <= 1e-6, "{ctx}: score {} vs {score}", res.scores[j]);
            assert!(rp <= 1e-6, "{ctx}: pval {} vs {pval}", res.pvals[j]);
            assert!(
                rel(res.pvals_adj[j], padj) <= 1e-6,
                "{ctx}: pval_adj {} vs {padj}",
                res.pvals_adj[j]
            );
            assert!(
                rel(res.logfoldchanges[j] as f32 as f64, lfc) <= 1e-5,
                "{ctx}: lfc {} vs {lfc}",
                res.logfoldchanges[j]
            );
            worst_score = worst_score.max(rs);
            worst_p = worst_p.max(rp);
            checked += 1;
        }
    }
    eprintln!("checked {checked} values; worst relative difference: score {worst_score:.2e}, pval {worst_p:.2e}");
    assert!(checked > 1000);
}
