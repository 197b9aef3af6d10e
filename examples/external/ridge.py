"""An external perturbench model in numpy: each request is its control cell plus a ridge
regression of the perturbation's effect on its singles (combinations add their singles).

    perturbench train DATA model=external model.alpha=1.0 \
        "model.command=python examples/external/ridge.py {train} {requests} {out} {params}"

Reads `alpha` (the ridge penalty) from {params}, so `perturbench tune` can search it. Needs
anndata and numpy.
"""

import json
import sys

import anndata
import numpy as np


def dense(x):
    return x.toarray() if hasattr(x, "toarray") else np.asarray(x)


def covariate_labels(obs, keys):
    if not keys:
        return np.full(len(obs), "", dtype=object)
    return obs[keys].astype(str).agg("_".join, axis=1).to_numpy()


def singles_matrix(labels, vocabulary, control, delimiter):
    """One row per cell: 1 for each single of its perturbation (none for controls)."""
    index = {s: i for i, s in enumerate(vocabulary)}
    d = np.zeros((len(labels), len(vocabulary)))
    for row, label in enumerate(labels):
        if label != control:
            for single in label.split(delimiter):
                if single in index:
                    d[row, index[single]] = 1.0
    return d


def main(train_path, requests_path, out_path, params_path):
    alpha = float(json.load(open(params_path)).get("alpha", 1.0))
    train = anndata.read_h5ad(train_path)
    requests = anndata.read_h5ad(requests_path)
    design = train.uns["perturbench"]
    key, control, delimiter = design["perturbation_key"], design["control"], design["delimiter"]
    keys = list(design["covariate_keys"])

    x = dense(train.X).astype(np.float64)
    labels = train.obs[key].astype(str).to_numpy()
    cov = covariate_labels(train.obs, keys)
    is_control = labels == control
    # Each training cell's shift from the mean control cell of its covariates.
    control_mean = {c: x[is_control & (cov == c)].mean(axis=0) for c in np.unique(cov[is_control])}
    y = x - np.vstack([control_mean[c] for c in cov])

    vocabulary = sorted({s for l in labels[~is_control] for s in l.split(delimiter)})
    d = singles_matrix(labels, vocabulary, control, delimiter)
    w = np.linalg.solve(d.T @ d + alpha * np.eye(len(vocabulary)), d.T @ y)

    request_labels = requests.obs[key].astype(str).to_numpy()
    shift = singles_matrix(request_labels, vocabulary, control, delimiter) @ w
    predicted = (dense(requests.X) + shift).astype(np.float32)
    anndata.AnnData(X=predicted, obs=requests.obs, var=requests.var).write_h5ad(out_path)


if __name__ == "__main__":
    main(*sys.argv[1:5])
