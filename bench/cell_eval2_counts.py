"""Writes the raw-count pair for bench/cell_eval2.sh: REAL_OUT = the simulated file with its
counts layer as X; PRED_OUT = those counts times deterministic noise in [0.5, 1.5), rounded
(float32, CSR).

Usage: python cell_eval2_counts.py SIM.h5ad REAL_OUT.h5ad PRED_OUT.h5ad
"""

import sys

import anndata as ad
import numpy as np


def main() -> None:
    a = ad.read_h5ad(sys.argv[1])
    a.X = a.layers["counts"].tocsr().astype(np.float32)
    del a.layers["counts"]
    a.write_h5ad(sys.argv[2])
    x = a.X.copy()
    rng = np.random.default_rng(0)
    x.data = np.round(x.data * rng.uniform(0.5, 1.5, x.data.size)).astype(np.float32)
    x.eliminate_zeros()
    a.X = x
    a.write_h5ad(sys.argv[3])


if __name__ == "__main__":
    main()
