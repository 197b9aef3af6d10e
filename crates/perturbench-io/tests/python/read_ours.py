"""Reads an .h5ad written by perturbench with Python anndata and prints a JSON summary."""
import json
import sys

import anndata
import numpy as np
import scipy.sparse as sp

a = anndata.read_h5ad(sys.argv[1])
x = a.X.toarray() if sp.issparse(a.X) else np.asarray(a.X)
out = {
    "anndata": anndata.__version__ if hasattr(anndata, "__version__") else "",
    "shape": list(a.shape),
    "x_format": a.X.format if sp.issparse(a.X) else "dense",
    "x_dtype": str(x.dtype),
    "x": x.astype(float).ravel().tolist(),
    "obs_names": list(map(str, a.obs_names)),
    "var_names": list(map(str, a.var_names)),
    "obs": {},
    "layers": {k: (v.toarray() if sp.issparse(v) else np.asarray(v)).astype(float).ravel().tolist() for k, v in a.layers.items()},
    "obsm": {k: [list(v.shape), np.asarray(v, dtype=float).ravel().tolist()] for k, v in a.obsm.items()},
    "uns": {},
}
for c in a.obs.columns:
    s = a.obs[c]
    if s.dtype.name == "category":
        out["obs"][c] = {"kind": "categorical", "categories": list(map(str, s.cat.categories)),
                         "codes": s.cat.codes.astype(int).tolist(), "ordered": bool(s.cat.ordered)}
    elif s.dtype == bool:
        out["obs"][c] = {"kind": "bool", "values": s.tolist()}
    elif np.issubdtype(s.dtype, np.integer):
        out["obs"][c] = {"kind": "int", "values": s.astype(int).tolist()}
    elif np.issubdtype(s.dtype, np.floating):
        out["obs"][c] = {"kind": "float", "values": s.astype(float).tolist()}
    else:
        out["obs"][c] = {"kind": "other:" + str(s.dtype), "values": [str(v) for v in s]}


def conv(v):
    if isinstance(v, dict):
        return {k: conv(w) for k, w in v.items()}
    if isinstance(v, np.ndarray):
        return {"array": list(v.shape), "values": [str(t) if v.dtype.kind in "OUS" else float(t) for t in v.ravel()]}
    if isinstance(v, (np.floating, float)):
        return float(v)
    if isinstance(v, (np.integer, int, np.bool_, bool)):
        return int(v)
    return str(v)


out["uns"] = conv(dict(a.uns))
print(json.dumps(out))
