"""``perturbench.split``: train/val/test labels of a benchmark task."""

from __future__ import annotations

import os
import tempfile

import anndata
import pandas as pd

from . import _files, _run


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
    """Labels every cell train/val/test for a task, exactly as ``perturbench split``.

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
    with tempfile.TemporaryDirectory(prefix="perturbench-") as tmp:
        data = _files.write(anndata.AnnData(obs=adata.obs.copy()), tmp, "data")
        out = os.path.join(tmp, "split.csv")
        flags = dict(
            task=task,
            seed=seed,
            perturbation_key=perturbation_key,
            control=control,
            covariate_keys=covariate_keys,
            **options,
        )
        _run.run(["split", data, "--out", out, *_run.flag_args(flags)])
        table = pd.read_csv(out, dtype=str, keep_default_na=False)
    labels = table["split"].where(table["split"] != "", None)
    return pd.Series(labels.to_numpy(dtype=object), index=pd.Index(table["cell_id"], name=None), name="split")
