"""Writes .h5ad fixtures with Python anndata (every encoding perturbench reads) and prints
the expected values as JSON. Usage: write_fixture.py OUT_DIR"""
import json
import os
import sys

import anndata
import numpy as np
import pandas as pd
import scipy.sparse as sp

out_dir = sys.argv[1]
rng = np.random.default_rng(7)
n, g = 30, 8
dense = rng.poisson(0.7, size=(n, g)).astype(np.float64) * 1.5
obs = pd.DataFrame(index=[f"cell{i}" for i in range(n)])
obs["condition"] = pd.Categorical(rng.choice(["control", "A", "B", "A+B"], n))
cats = pd.Categorical(rng.choice(["lo", "mid", "hi"], n), categories=["lo", "mid", "hi"], ordered=True)
codes = cats.codes.copy()
codes[3] = -1
obs["level"] = pd.Categorical.from_codes(codes, categories=["lo", "mid", "hi"], ordered=True)
obs["flag"] = rng.random(n) > 0.5
obs["count"] = rng.integers(0, 1000, n).astype(np.int32)
obs["score"] = rng.random(n)
obs["label"] = [f"L{i}" for i in range(n)]  # unique, so anndata keeps a string-array
ni = pd.array(rng.integers(0, 5, n), dtype="Int64")
ni[2] = pd.NA
obs["maybe_int"] = ni
nb = pd.array(rng.random(n) > 0.5, dtype="boolean")
nb[5] = pd.NA
obs["maybe_bool"] = nb
var = pd.DataFrame(index=[f"gene{j}" for j in range(g)])
var["highly_variable"] = [j % 2 == 0 for j in range(g)]

expected = {
    "shape": [n, g],
    "x": dense.ravel().tolist(),
    "counts": dense.astype(np.int32).ravel().astype(float).tolist(),
    "obs_names": list(obs.index),
    "var_names": list(var.index),
    "condition": {"categories": list(obs["condition"].cat.categories), "codes": obs["condition"].cat.codes.tolist()},
    "level": {"categories": ["lo", "mid", "hi"], "codes": obs["level"].cat.codes.tolist(), "ordered": True},
    "flag": obs["flag"].tolist(),
    "count": obs["count"].astype(int).tolist(),
    "score": obs["score"].tolist(),
    "label": obs["label"].tolist(),
    "maybe_int_mask": obs["maybe_int"].isna().tolist(),
    "maybe_int": obs["maybe_int"].fillna(-99).astype(int).tolist(),
    "maybe_bool_mask": obs["maybe_bool"].isna().tolist(),
    "maybe_bool": obs["maybe_bool"].fillna(False).astype(bool).tolist(),
    "hv": var["highly_variable"].tolist(),
    "pca": rng.random((n, 3)).astype(np.float32).ravel().tolist(),
}
pca = np.asarray(expected["pca"], dtype=np.float32).reshape(n, 3)
uns = {"note": "hello", "ints": np.array([1, 2, 3]), "nested": {"k": 2.5, "names": np.array(["a", "b"], dtype=object)}}
for name, X in [("csr", sp.csr_matrix(dense.astype(np.float32))), ("csc", sp.csc_matrix(dense)), ("dense", dense.astype(np.float32))]:
    a = anndata.AnnData(X=X, obs=obs.copy(), var=var.copy(), uns=uns)
    a.layers["counts"] = sp.csr_matrix(dense.astype(np.int32))
    a.obsm["X_pca"] = pca
    a.write_h5ad(os.path.join(out_dir, f"fixture_{name}.h5ad"), compression="gzip")
print(json.dumps(expected))
