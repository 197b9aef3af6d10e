"""Writes the read-benchmark fixture: a 100,000 x 5,000 CSR float32 h5ad, ~20 % non-zero,
values log1p(CP10k) of geometric counts, once uncompressed and once gzip (level 4).
Usage: make_read_fixture.py OUT_DIR [cells] [genes] [density]"""
import os
import sys

import anndata
import numpy as np
import pandas as pd
import scipy.sparse as sp

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
g = int(sys.argv[3]) if len(sys.argv) > 3 else 5_000
density = float(sys.argv[4]) if len(sys.argv) > 4 else 0.2
rng = np.random.default_rng(0)
per_row = rng.binomial(g, density, size=n)
indptr = np.concatenate([[0], np.cumsum(per_row)]).astype(np.int64)
indices = np.empty(indptr[-1], dtype=np.int32)
for i in range(n):
    indices[indptr[i]:indptr[i + 1]] = np.sort(rng.choice(g, per_row[i], replace=False))
counts = rng.geometric(0.5, size=indptr[-1]).astype(np.float32)
sums = np.add.reduceat(counts, indptr[:-1])
data = np.log1p(counts / np.repeat(sums, per_row) * 1e4).astype(np.float32)
X = sp.csr_matrix((data, indices, indptr), shape=(n, g))
obs = pd.DataFrame(index=[f"cell{i}" for i in range(n)])
obs["condition"] = pd.Categorical(rng.choice(["control"] + [f"P{i}" for i in range(200)], n))
obs["cell_type"] = pd.Categorical(rng.choice(["a", "b", "c"], n))
var = pd.DataFrame(index=[f"G{j}" for j in range(g)])
a = anndata.AnnData(X=X, obs=obs, var=var)
a.write_h5ad(os.path.join(out, "read_plain.h5ad"))
a.write_h5ad(os.path.join(out, "read_gzip.h5ad"), compression="gzip", compression_opts=4)
print(f"wrote {n} x {g}, nnz {X.nnz} ({X.nnz / n / g:.3f} dense) to {out}")
