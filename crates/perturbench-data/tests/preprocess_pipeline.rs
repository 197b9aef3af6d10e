//! The preprocessing pipeline: what it keeps and records, and that the result does not depend
//! on the number of threads or on the order of the cells in the file.

use perturbench_data::de::DeMethod;
use perturbench_data::preprocess::{
    cells_per_gene, genes_in_min_cells, log1p, normalize_total, preprocess, HvgFlavor, InputKind,
    PreprocessOptions, TargetSum,
};
use perturbench_data::simulator::{simulate, Preset, SimConfig};
use perturbench_data::PerturbationSpec;
use perturbench_io::AnnData;

fn simulated() -> AnnData {
    let cfg = SimConfig::preset(Preset::Small);
    simulate(&cfg, 21, &|_, _| {}).unwrap().adata
}

fn opts() -> PreprocessOptions {
    PreprocessOptions {
        input: InputKind::LogNormalized,
        n_hvg: 120,
        n_degs: 10,
        ..Default::default()
    }
}

fn deg_lists(ad: &AnnData) -> Vec<(String, Vec<String>)> {
    let d = ad.uns["rank_genes_groups_cov"].as_dict().unwrap();
    d.iter()
        .map(|(k, v)| (k.clone(), v.as_str_list().unwrap().to_vec()))
        .collect()
}

#[test]
fn keeps_perturbed_hvg_and_deg_genes_in_file_order() {
    let ad = simulated();
    let spec = PerturbationSpec::with_covariates(["cell_type"]);
    let out = preprocess(ad.clone(), &spec, &opts(), "simulated").unwrap();
    let kept = out.adata.var_names();
    // File order is preserved.
    let pos: Vec<usize> = kept
        .iter()
        .map(|g| ad.var_names().iter().position(|x| x == g).unwrap())
        .collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]));
    // Every perturbed gene (the simulator's targets) is kept.
    let targets = ad.uns["simulation"].as_dict().unwrap()["single_target_gene"]
        .as_str_list()
        .unwrap()
        .to_vec();
    for t in &targets {
        assert!(kept.contains(t), "target {t} dropped");
    }
    // DEG lists are keyed "{cell_type}_{perturbation}" with 10 genes each, all kept.
    let degs = deg_lists(&out.adata);
    assert_eq!(degs.len(), 36);
    for (k, genes) in &degs {
        assert!(k.starts_with("k562_") || k.starts_with("rpe1_"), "{k}");
        assert_eq!(genes.len(), 10);
        assert!(genes.iter().all(|g| kept.contains(g)));
    }
    // The layer of counts travels with the gene subset; HVG flags are recorded.
    assert_eq!(out.adata.layers["counts"].ncols(), kept.len());
    assert!(out.adata.var.column("highly_variable").is_some());
    assert!(out.adata.obs.column("cov_merged").is_some());
}

#[test]
fn counts_input_equals_normalising_first() {
    // Counts in X (log values computed on the fly) against the same counts normalised and
    // log1p-transformed beforehand and given as log-normalised input with a counts layer:
    // the same matrices, genes, HVG columns and DEG lists, bit for bit.
    let mut raw = simulated();
    raw.x = raw.layers.remove("counts").unwrap();
    // Genes are filtered before normalising, as the pipeline does.
    raw.retain_vars(&genes_in_min_cells(&raw.x, opts().min_cells));
    let counts = raw.x.clone();
    let spec = PerturbationSpec::with_covariates(["cell_type"]);
    for target in [TargetSum::Fixed(1e4), TargetSum::Median] {
        let mut logged = raw.clone();
        normalize_total(&mut logged.x, target);
        log1p(&mut logged.x);
        logged.layers.insert("counts".into(), counts.clone());
        for (flavor, de_method) in [
            (HvgFlavor::SeuratV3, DeMethod::TTest),
            (HvgFlavor::Seurat, DeMethod::TTestOverestimVar),
            (
                HvgFlavor::SeuratV3,
                DeMethod::Wilcoxon { tie_correct: false },
            ),
        ] {
            let o = PreprocessOptions {
                input: InputKind::Counts,
                target_sum: target,
                hvg_flavor: flavor,
                de_method,
                ..opts()
            };
            let from_counts = preprocess(raw.clone(), &spec, &o, "s").unwrap().adata;
            let o = PreprocessOptions {
                input: InputKind::LogNormalized,
                ..o
            };
            let from_log = preprocess(logged.clone(), &spec, &o, "s").unwrap().adata;
            let what = format!("{target:?} {flavor:?} {de_method:?}");
            assert_eq!(from_counts.var_names(), from_log.var_names(), "{what}");
            assert_eq!(from_counts.x, from_log.x, "{what}");
            assert_eq!(
                from_counts.layers["counts"], from_log.layers["counts"],
                "{what}"
            );
            assert_eq!(deg_lists(&from_counts), deg_lists(&from_log), "{what}");
            assert!(!deg_lists(&from_counts).is_empty());
            assert_eq!(from_counts.var, from_log.var, "{what}");
        }
    }
}

#[test]
fn dropping_rare_genes_equals_giving_them_removed() {
    // Genes under min_cells are removed first (seurat) or ignored until the final selection
    // (seurat_v3): either way the result must equal running on a file without those genes.
    let sim = simulated();
    let mut raw = sim.clone();
    raw.x = raw.layers.remove("counts").unwrap();
    let spec = PerturbationSpec::with_covariates(["cell_type"]);
    let mut detected = cells_per_gene(&raw.x);
    detected.sort_unstable();
    let min_cells = detected[detected.len() / 10] + 1;
    let keep = genes_in_min_cells(&raw.x, min_cells);
    assert!(keep.len() < raw.n_vars() && !keep.is_empty());
    for (input, ad) in [(InputKind::Counts, &raw), (InputKind::LogNormalized, &sim)] {
        for flavor in [HvgFlavor::SeuratV3, HvgFlavor::Seurat] {
            let o = PreprocessOptions {
                input,
                min_cells,
                hvg_flavor: flavor,
                ..opts()
            };
            let dropped = preprocess(ad.clone(), &spec, &o, "s").unwrap().adata;
            let given = preprocess(ad.select_vars(&keep), &spec, &o, "s")
                .unwrap()
                .adata;
            let what = format!("{input:?} {flavor:?}");
            assert_eq!(dropped.var_names(), given.var_names(), "{what}");
            assert!(dropped.x == given.x, "{what}: X differs");
            assert!(dropped.layers == given.layers, "{what}: layers differ");
            assert_eq!(dropped.var, given.var, "{what}");
            assert_eq!(deg_lists(&dropped), deg_lists(&given), "{what}");
            assert!(!deg_lists(&dropped).is_empty(), "{what}");
        }
    }
}

#[test]
fn independent_of_threads_and_cell_order() {
    let ad = simulated();
    let spec = PerturbationSpec::with_covariates(["cell_type"]);
    for flavor in [HvgFlavor::SeuratV3, HvgFlavor::Seurat] {
        let o = PreprocessOptions {
            hvg_flavor: flavor,
            ..opts()
        };
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| preprocess(ad.clone(), &spec, &o, "s").unwrap());
        let two = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap()
            .install(|| preprocess(ad.clone(), &spec, &o, "s").unwrap());
        assert_eq!(
            one.adata, two.adata,
            "{flavor:?}: thread count changed the result"
        );
        // Reverse the cells: the same genes and DEG lists come out.
        let rev: Vec<usize> = (0..ad.n_obs()).rev().collect();
        let shuffled = preprocess(ad.select_obs(&rev), &spec, &o, "s").unwrap();
        assert_eq!(
            shuffled.adata.var_names(),
            one.adata.var_names(),
            "{flavor:?}: cell order changed the genes"
        );
        assert_eq!(
            deg_lists(&shuffled.adata),
            deg_lists(&one.adata),
            "{flavor:?}: cell order changed the DEGs"
        );
    }
}

#[test]
fn counts_requests_without_counts_fail() {
    let mut ad = simulated();
    let spec = PerturbationSpec::with_covariates(["cell_type"]);
    // X is log-normalised: treating it as counts is refused.
    let e = preprocess(ad.clone(), &spec, &PreprocessOptions::default(), "sim.h5ad")
        .unwrap_err()
        .to_string();
    assert!(e.contains("sim.h5ad") && e.contains("not counts"), "{e}");
    // Without a counts layer, seurat_v3 is skipped (and said), or refused when required.
    ad.layers.clear();
    let out = preprocess(ad.clone(), &spec, &opts(), "sim.h5ad").unwrap();
    assert!(
        out.log.iter().any(|l| l.contains("HVG selection skipped")),
        "{:?}",
        out.log
    );
    let o = PreprocessOptions {
        require_counts: true,
        ..opts()
    };
    let e = preprocess(ad, &spec, &o, "sim.h5ad")
        .unwrap_err()
        .to_string();
    assert!(e.contains("layers['counts'] is absent"), "{e}");
}
