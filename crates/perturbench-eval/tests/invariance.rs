//! Results do not depend on the number of threads (bit for bit) nor on the order of the cells
//! in the files (to float32 rounding: the reference's float32 means are sums in row order).

use perturbench_data::simulator::{simulate, Preset, SimConfig};
use perturbench_eval::{evaluate, EvalConfig, EvalOutput, Pipeline};
use perturbench_io::{write_h5ad, AnnData, Compression, Csr, WriteOptions};
use std::collections::HashMap;
use std::path::Path;

fn write(ad: &AnnData, path: &Path) {
    let opts = WriteOptions {
        compression: Compression::None,
    };
    write_h5ad(path, ad, &opts).unwrap();
}

fn values(e: &EvalOutput) -> HashMap<(String, String, String, String), f64> {
    e.per_perturbation
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
        .collect()
}

#[test]
fn thread_count_and_cell_order_do_not_change_results() {
    let cfg = SimConfig::preset(Preset::Small)
        .with_overrides(Some(2000), Some(150), Some(12))
        .unwrap();
    let truth = simulate(&cfg, 11, &|_, _| {}).unwrap().adata;
    let mut pred = truth.clone();
    let g = pred.n_vars();
    let mut dense: Vec<f32> = pred.x.to_dense();
    for (i, v) in dense.iter_mut().enumerate() {
        *v = (*v + (((i * 7919) % 101) as f32 / 101.0 - 0.3) * 0.3).max(0.0);
    }
    pred.x = Csr::from_dense(pred.n_obs(), g, &dense).unwrap();
    // The same cells in another order (a fixed permutation of the rows).
    let n = truth.n_obs();
    let mut perm: Vec<usize> = (0..n).collect();
    let mut state = 12345u64;
    for i in (1..n).rev() {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        perm.swap(i, (state >> 33) as usize % (i + 1));
    }
    let dir = tempfile::tempdir().unwrap();
    let p = |s: &str| dir.path().join(s);
    write(&truth, &p("truth.h5ad"));
    write(&pred, &p("pred.h5ad"));
    write(&truth.select_obs(&perm), &p("truth_perm.h5ad"));
    write(&pred.select_obs(&perm), &p("pred_perm.h5ad"));

    let mut pipelines = Vec::new();
    for a in ["average", "logfc", "var", "scaled", "logp"] {
        for m in ["rmse", "cosine", "pearson"] {
            pipelines.push(format!("{a}:{m}:rank").parse::<Pipeline>().unwrap());
        }
    }
    for p in ["none:energy:rank", "pca:energy:rank", "pca:mmd:rank"] {
        pipelines.push(p.parse::<Pipeline>().unwrap());
    }
    let ecfg = EvalConfig {
        pipelines,
        covariate_keys: vec!["cell_type".into()],
        pca_components: 20,
        ..EvalConfig::default()
    };
    let run = |threads: usize, truth: &str, pred: &str| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| evaluate(&p(truth), &[("m".into(), p(pred))], &ecfg, &|_| {}).unwrap())
    };
    let one = run(1, "truth.h5ad", "pred.h5ad");
    let three = run(3, "truth.h5ad", "pred.h5ad");
    let (v1, v3) = (values(&one), values(&three));
    assert!(v1.len() > 100, "{}", v1.len());
    assert_eq!(v1.len(), v3.len());
    for (k, a) in &v1 {
        let b = v3[k];
        assert!(
            a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            "{k:?}: {a} with 1 thread, {b} with 3"
        );
    }
    let shuffled = values(&run(2, "truth_perm.h5ad", "pred_perm.h5ad"));
    assert_eq!(v1.len(), shuffled.len());
    for (k, a) in &v1 {
        let b = shuffled[k];
        assert!(
            (a - b).abs() <= 1e-6 * a.abs().max(1.0) || (a.is_nan() && b.is_nan()),
            "{k:?}: {a} in file order, {b} with cells shuffled"
        );
    }
}
