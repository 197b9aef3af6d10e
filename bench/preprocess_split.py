"""The reference side of bench/preprocess_split.sh: PerturBench's preprocessing steps with
scanpy (filter_genes, normalize_total, log1p, seurat_v3 HVGs per covariate, t-test DEGs per
covariate, gene subset), or PerturBench's splitter when PERTURBENCH_REF points at a checkout
of altoslabs/perturbench (its src/perturbench/data/datasplitter.py).
Usage: preprocess_split.py preprocess COUNTS.h5ad | split DATA.h5ad"""
import os, sys, time, resource, warnings
warnings.filterwarnings("ignore")
import anndata as ad, numpy as np, pandas as pd, scanpy as sc

mode, path = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
if mode == "preprocess":
    a = ad.read_h5ad(path)
    t_read = time.perf_counter() - t0
    a.obs["cov_merged"] = a.obs["cell_type"].astype(str)
    sc.pp.filter_genes(a, min_cells=10)
    a.layers["counts"] = a.X.copy()
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    sc.pp.highly_variable_genes(a, batch_key="cov_merged", flavor="seurat_v3", layer="counts", n_top_genes=4000)
    degs = set()
    for cov in a.obs["cov_merged"].unique():
        sub = a[a.obs["cov_merged"] == cov]
        sc.tl.rank_genes_groups(sub, groupby="condition", reference="control", rankby_abs=True, n_genes=25, method="t-test")
        for col in pd.DataFrame(sub.uns["rank_genes_groups"]["names"]):
            degs.update(pd.DataFrame(sub.uns["rank_genes_groups"]["names"])[col])
    keep = set(a.var_names[a.var["highly_variable"]]) | degs
    a = a[:, [g for g in a.var_names if g in keep]].copy()
    t_compute = time.perf_counter() - t0 - t_read
    a.write_h5ad(path + ".scanpy_out.h5ad")
    print(f"scanpy phases: read {t_read:.2f} s, compute {t_compute:.2f} s, write {time.perf_counter() - t0 - t_read - t_compute:.2f} s", file=sys.stderr)
else:
    sys.path.insert(0, os.path.join(os.environ["PERTURBENCH_REF"], "src/perturbench/data"))
    from datasplitter import PerturbationDataSplitter
    obs = ad.read_h5ad(path, backed="r").obs.copy()
    s = PerturbationDataSplitter(obs, "condition", "control", covariate_keys=["cell_type"])
    split = s.split_combinations(seed=42, max_heldout_fraction_per_covariate=0.7)
    split.to_csv(path + ".ref_split.csv")
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{wall:.2f},{peak:.0f}")
