"""``perturbench.prediction_requests``: the control cells a model transforms, as the
external-model protocol hands them over (``{requests}``)."""

from __future__ import annotations

import warnings

import anndata
import numpy as np
import pandas as pd

from . import _native, _run
from ._memory import Cells


def prediction_requests(
    adata: anndata.AnnData,
    split: pd.Series | None = None,
    which: str = "val",
    max_control_cells: int = 1000,
    seed: int = 0,
    **options: object,
) -> anndata.AnnData:
    """The prediction requests of a split: one row per sampled control cell to transform, obs
    holding the target perturbation (in the perturbation column), its covariates and
    ``control_cell`` (the control cell's obs name).

    This is the file ``model=external`` receives as ``{requests}``: perturbench's own split
    feasibility checks, control sampling and target list produce it, from the obs in memory
    (no file in between). X holds the control cells' rows of ``adata.X`` in its own type and
    dtype (the file holds them as float32 CSR). Groups of the evaluated split that no model
    can predict (a perturbation never seen in train) are left out with a warning.

    Args:
        adata: the cells (X and obs).
        split: labels from :func:`perturbench.split` (index = obs_names); None draws the
            split from ``options`` (``task=...``, ``seed`` of the split as ``split_seed``).
        which: the evaluated split, ``"val"`` or ``"test"``.
        max_control_cells: control cells sampled per covariate combination (every target of
            that combination transforms the same sample).
        seed: the sampling seed (``evaluation.prediction_seed``).
        **options: split and design flags (``task``, ``perturbation_key``, ...).

    Raises:
        ValueError, KeyError, FileNotFoundError: the command's errors, with its messages.
    """
    if not isinstance(adata, anndata.AnnData):
        raise TypeError(f"adata: expected an AnnData, got {type(adata).__name__}")
    flags = dict(options)
    if "split_seed" in flags:
        flags["seed"] = flags.pop("split_seed")
    labels = None
    if split is not None:
        given = split.reindex(adata.obs_names)
        labels = [None if pd.isna(v) else str(v) for v in given.to_numpy()]
        flags.pop("task", None)
    meta = anndata.AnnData(obs=adata.obs, var=adata.var)
    rows, (key, perts), covariates, controls, design, notes, _ = _native.prediction_requests(
        Cells(meta, "adata"), _run.flag_args(flags), labels, which, max_control_cells, seed
    )
    for note in notes:
        warnings.warn(note, stacklevel=2)
    rows = np.asarray(rows, dtype=np.int64)
    obs = pd.DataFrame(index=pd.Index([f"request-{i}" for i in range(len(rows))]))
    obs[key] = _categorical(perts)
    for name, values in covariates:
        obs[name] = _categorical(values)
    obs["control_cell"] = _categorical(controls)
    x = adata.X[rows] if adata.X is not None else None
    out = anndata.AnnData(X=x, obs=obs, var=adata.var.copy())
    pkey, control, delimiter, covariate_keys = design
    out.uns["perturbench"] = {
        "perturbation_key": pkey,
        "control": control,
        "delimiter": delimiter,
        "covariate_keys": list(covariate_keys),
    }
    return out


def _categorical(values: list[str]) -> pd.Categorical:
    """A categorical with categories in order of first appearance, as perturbench writes it."""
    return pd.Categorical(values, categories=pd.unique(np.asarray(values, dtype=object)))
