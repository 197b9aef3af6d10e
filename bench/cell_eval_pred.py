"""Writes a prediction for bench/cell_eval.sh: the real file with X multiplied by
deterministic noise in [0.75, 1.25) and rounded to 2 decimals (float32, CSR).

Usage: python cell_eval_pred.py REAL.h5ad PRED.h5ad
"""

import sys

import anndata as ad
import numpy as np


def main() -> None:
    a = ad.read_h5ad(sys.argv[1])
    x = a.X.tocsr().astype(np.float32)
    rng = np.random.default_rng(0)
    x.data = np.round(x.data * rng.uniform(0.75, 1.25, x.data.size), 2).astype(np.float32)
    x.eliminate_zeros()
    a.X = x
    a.write_h5ad(sys.argv[2])


if __name__ == "__main__":
    main()
