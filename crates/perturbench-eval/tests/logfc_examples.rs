//! The logFC examples (report scatter plots): the perturbations with the largest observed
//! logFC norm, each with its 200 most changed genes; observed and predicted values equal an
//! independent dense computation of PerturBench's logFC (log2(mean + 0.1) differences).

use perturbench_data::simulator::{simulate, Preset, SimConfig};
use perturbench_eval::{evaluate, EvalConfig};
use perturbench_io::{write_h5ad, AnnData, Column, Compression, Csr, WriteOptions};
use std::collections::BTreeMap;

fn col(ad: &AnnData, key: &str) -> Vec<String> {
    match ad.obs.columns.iter().find(|c| c.0 == key).map(|c| &c.1) {
        Some(Column::Categorical {
            codes, categories, ..
        }) => codes
            .iter()
            .map(|&c| categories[c as usize].clone())
            .collect(),
        Some(Column::Str(s)) => s.clone(),
        other => panic!("{key}: {other:?}"),
    }
}

/// Per (cell type, condition): per-gene mean of `x` (dense rows × g).
fn means(ad: &AnnData, x: &[f32]) -> BTreeMap<(String, String), Vec<f64>> {
    let g = ad.n_vars();
    let (ct, cond) = (col(ad, "cell_type"), col(ad, "condition"));
    let mut sums: BTreeMap<(String, String), (Vec<f64>, usize)> = BTreeMap::new();
    for r in 0..ad.n_obs() {
        let e = sums
            .entry((ct[r].clone(), cond[r].clone()))
            .or_insert((vec![0.0; g], 0));
        for j in 0..g {
            e.0[j] += x[r * g + j] as f64;
        }
        e.1 += 1;
    }
    sums.into_iter()
        .map(|(k, (s, n))| (k, s.into_iter().map(|v| v / n as f64).collect()))
        .collect()
}

fn logfc(m: &BTreeMap<(String, String), Vec<f64>>) -> BTreeMap<(String, String), Vec<f64>> {
    m.iter()
        .filter(|(k, _)| k.1 != "control")
        .map(|(k, v)| {
            let c = &m[&(k.0.clone(), "control".to_string())];
            let l: Vec<f64> = v
                .iter()
                .zip(c)
                .map(|(p, c)| (p + 0.1).log2() - (c + 0.1).log2())
                .collect();
            (k.clone(), l)
        })
        .collect()
}

#[test]
fn examples_are_the_strongest_responses_with_their_most_changed_genes() {
    let cfg = SimConfig::preset(Preset::Small)
        .with_overrides(Some(2000), Some(300), Some(12))
        .unwrap();
    let truth = simulate(&cfg, 4, &|_, _| {}).unwrap().adata;
    let mut pred = truth.clone();
    let g = pred.n_vars();
    let mut dense = pred.x.to_dense();
    for (i, v) in dense.iter_mut().enumerate() {
        *v = (*v * 0.8 + ((i * 31) % 7) as f32 * 0.01).max(0.0);
    }
    pred.x = Csr::from_dense(pred.n_obs(), g, &dense).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = WriteOptions {
        compression: Compression::None,
    };
    let (tp, pp) = (dir.path().join("t.h5ad"), dir.path().join("p.h5ad"));
    write_h5ad(&tp, &truth, &opts).unwrap();
    write_h5ad(&pp, &pred, &opts).unwrap();
    let ecfg = EvalConfig {
        covariate_keys: vec!["cell_type".into()],
        scatter_examples: 3,
        float32_aggregates: false,
        ..EvalConfig::default()
    };
    let out = evaluate(&tp, &[("m".into(), pp)], &ecfg, &|_| {}).unwrap();
    let obs = logfc(&means(&truth, &truth.x.to_dense()));
    let prd = logfc(&means(&pred, &dense));
    // The three groups with the largest observed logFC norm.
    let mut order: Vec<(&(String, String), f64)> = obs
        .iter()
        .map(|(k, v)| (k, v.iter().map(|x| x * x).sum::<f64>()))
        .collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1));
    let want: Vec<&(String, String)> = order[..3].iter().map(|x| x.0).collect();
    let genes = truth.var_names().to_vec();
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    for e in &out.examples {
        let key = (e.covariates.clone(), e.perturbation.clone());
        assert!(want.contains(&&key), "{key:?} is not among {want:?}");
        *seen.entry(key.clone()).or_default() += 1;
        let j = genes.iter().position(|n| *n == e.gene).unwrap();
        assert!(
            (e.observed - obs[&key][j]).abs() < 1e-9,
            "{key:?} {}",
            e.gene
        );
        assert!(
            (e.predicted - prd[&key][j]).abs() < 1e-9,
            "{key:?} {}",
            e.gene
        );
    }
    assert_eq!(seen.len(), 3);
    for (key, n) in &seen {
        assert_eq!(*n, 200, "{key:?}");
        // The chosen genes are the 200 with the largest observed |logFC|.
        let mut mags: Vec<f64> = obs[key].iter().map(|v| v.abs()).collect();
        mags.sort_by(|a, b| b.total_cmp(a));
        let cut = mags[199];
        for e in out
            .examples
            .iter()
            .filter(|e| (&e.covariates, &e.perturbation) == (&key.0, &key.1))
        {
            assert!(e.observed.abs() >= cut);
        }
    }
    // Off by default.
    let none = evaluate(
        &tp,
        &[("m".into(), dir.path().join("p.h5ad"))],
        &EvalConfig {
            covariate_keys: vec!["cell_type".into()],
            ..EvalConfig::default()
        },
        &|_| {},
    )
    .unwrap();
    assert!(none.examples.is_empty());
}
