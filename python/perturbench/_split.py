"""``perturbench.split``: train/val/test labels of a benchmark task."""

from __future__ import annotations

import anndata
import pandas as pd

from . import _native, _run
from ._memory import Cells


def split(
    adata: anndata.AnnData,
    *,
    task: str | None = None,
    seed: int | None = None,
    perturbation_key: str | None = None,
    control: str | None = None,
    covariate_keys: list[str] | None = None,
    **options: object,
) -> pd.Series:
    """Labels every cell train/val/test for a task, exactly as ``perturbench split``, on the
    obs in memory.

    Args:
        adata: the cells (only obs is used).
        task: ``transfer``, ``combination``, ... (``--task``).
        seed: the split's seed.
        perturbation_key, control, covariate_keys: the design (CLI defaults when None).
        **options: any other split flag, e.g. ``max_heldout_fraction=0.3``.

    Returns:
        A Series named ``split`` indexed by obs_names: ``"train"``, ``"val"``, ``"test"`` or
        None (excluded cells).

    Raises:
        ValueError, KeyError, FileNotFoundError: the command's errors, with its messages.
    """
    flags = dict(
        task=task,
        seed=seed,
        perturbation_key=perturbation_key,
        control=control,
        covariate_keys=covariate_keys,
        **options,
    )
    labels, _ = _native.split(Cells(_obs_only(adata), "adata"), _run.flag_args(flags))
    return pd.Series(labels, index=pd.Index(adata.obs_names.astype(str), name=None), name="split", dtype=object)


def _obs_only(adata: anndata.AnnData) -> anndata.AnnData:
    """An AnnData with only ``adata``'s obs (the split reads nothing else)."""
    if not isinstance(adata, anndata.AnnData):
        raise TypeError(f"adata: expected an AnnData, got {type(adata).__name__}")
    return anndata.AnnData(obs=adata.obs)
