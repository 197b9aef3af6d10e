"""Score your own model with perturbench from Python, in a notebook's few steps.

The "model" here is tiny: every requested cell is its control cell plus the mean shift of the
target perturbation's training cells from the training controls (zero for a perturbation
without training cells). Run: python examples/python/score_my_model.py
"""

import anndata
import numpy as np
import perturbench


def dense(x):
    return np.asarray(x.toarray() if hasattr(x, "toarray") else x, dtype=np.float64)


# 1. Data: a small simulated dataset (or anndata.read_h5ad("my_data.h5ad")), log-normalised.
adata = perturbench.simulate("small", seed=7)
x = dense(adata.X)
x = np.log1p(x / x.sum(axis=1, keepdims=True) * 1e4)
adata.X = x.astype(np.float32)

# 2. Split: train/val/test labels of a task.
labels = perturbench.split(adata, task="transfer", seed=1)
train = adata[(labels == "train").to_numpy()]

# 3. Requests: the control cells to transform into each held-out perturbation.
requests = perturbench.prediction_requests(adata, labels, which="val")

# 4. Predict: control cell + the perturbation's mean shift in train.
cond = train.obs["condition"].astype(str).to_numpy()
tx = dense(train.X)
base = tx[cond == "control"].mean(axis=0)
shift = {p: tx[cond == p].mean(axis=0) - base for p in set(cond) - {"control"}}
targets = requests.obs["condition"].astype(str)
predicted = dense(requests.X) + np.vstack([shift.get(t, 0 * base) for t in targets])

# 5. Evaluate against the observed validation cells; predictions carry the control cells too.
controls = adata[(adata.obs["condition"] == "control").to_numpy()]


def cells(x, obs):
    obs = obs[["condition", "cell_type"]].astype(str).reset_index(drop=True)
    obs.index = obs.index.astype(str)
    return anndata.AnnData(X=np.asarray(x, dtype=np.float32), obs=obs, var=adata.var)


def with_controls(x):
    return anndata.concat([cells(x, requests.obs), cells(dense(controls.X), controls.obs)], index_unique="-")


observed = adata[((labels == "val") | (adata.obs["condition"] == "control")).to_numpy()]
scores = perturbench.evaluate(
    observed, {"mean-shift": with_controls(predicted), "control": with_controls(dense(requests.X))}
)
print(perturbench.summary(scores).to_string(index=False))
