"""cell-eval 0.8.2's clustering_agreement over Leiden seeds.

Calls cell-eval's `ClusteringAgreement` on a real/pred pair of `.h5ad` files with scanpy's
`tl.leiden` given `random_state` = 0, 1, ..., S-1 (cell-eval always uses scanpy's default, 0)
and prints each context's value at seed 0 and the spread over the seeds.

    python bench/clustering_agreement_spread.py REAL PRED S [--pert-col condition]
        [--control-pert control] [--celltype-col cell_type]

Run it with the Python that has cell-eval==0.8.2 (e.g. /work/cevenv/bin/python) on the files
that `PERTURBENCH_CELLEVAL_OUT=DIR cargo test --test cell_eval_cli` keeps under DIR/<case>/.
"""

import argparse
import functools
import logging
import warnings

import anndata as ad
import numpy as np
import scanpy as sc
from cell_eval._types import PerturbationAnndataPair
from cell_eval.metrics import ClusteringAgreement


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("real")
    ap.add_argument("pred")
    ap.add_argument("seeds", type=int)
    ap.add_argument("--pert-col", default="condition")
    ap.add_argument("--control-pert", default="control")
    ap.add_argument("--celltype-col")
    a = ap.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    real, pred = ad.read_h5ad(a.real), ad.read_h5ad(a.pred)
    contexts = [None] if a.celltype_col is None else sorted(real.obs[a.celltype_col].unique())
    leiden = sc.tl.leiden
    try:
        for ctx in contexts:
            r, p = real, pred
            if ctx is not None:
                r = real[real.obs[a.celltype_col] == ctx].copy()
                p = pred[pred.obs[a.celltype_col] == ctx].copy()
            values = []
            for seed in range(a.seeds):
                sc.tl.leiden = functools.partial(leiden, random_state=seed)
                pair = PerturbationAnndataPair(
                    real=r, pred=p, pert_col=a.pert_col, control_pert=a.control_pert
                )
                try:
                    values.append(ClusteringAgreement()(pair))
                except Exception:  # cell-eval leaves the metric out (e.g. < 3 perturbations)
                    values.append(float("nan"))
            v = np.array(values)
            distinct, counts = np.unique(np.round(v, 9), return_counts=True)
            print(
                f"{ctx or 'all'}: seed 0 {float(v[0])!r}; min {float(np.nanmin(v))!r} "
                f"max {float(np.nanmax(v))!r} "
                f"mean {np.nanmean(v):.6f}; values {dict(zip(distinct.tolist(), counts.tolist()))}"
            )
    finally:
        sc.tl.leiden = leiden


if __name__ == "__main__":
    main()
