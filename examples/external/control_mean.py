"""An external perturbench model: every request is predicted as the mean training control
cell of its covariates (perturbench's built-in `control-mean`, written outside perturbench).

    perturbench train DATA model=external \
        "model.command=python examples/external/control_mean.py {train} {requests} {out}"

Needs anndata and numpy.
"""

import sys

import anndata
import numpy as np


def covariate_labels(obs, keys):
    """One label per cell: its covariate values joined with '_' (empty without covariates)."""
    if not keys:
        return np.full(len(obs), "", dtype=object)
    return obs[keys].astype(str).agg("_".join, axis=1).to_numpy()


def main(train_path, requests_path, out_path):
    train = anndata.read_h5ad(train_path)
    requests = anndata.read_h5ad(requests_path)
    design = train.uns["perturbench"]
    key, control = design["perturbation_key"], design["control"]
    keys = list(design["covariate_keys"])

    is_control = (train.obs[key].astype(str) == control).to_numpy()
    train_cov = covariate_labels(train.obs, keys)
    means = {}
    for label in np.unique(train_cov[is_control]):
        rows = np.flatnonzero(is_control & (train_cov == label))
        x = train.X[rows]
        x = x.toarray() if hasattr(x, "toarray") else np.asarray(x)
        means[label] = x.astype(np.float64).mean(axis=0)

    request_cov = covariate_labels(requests.obs, keys)
    predicted = np.vstack([means[label] for label in request_cov]).astype(np.float32)
    anndata.AnnData(X=predicted, obs=requests.obs, var=requests.var).write_h5ad(out_path)


if __name__ == "__main__":
    main(*sys.argv[1:4])
