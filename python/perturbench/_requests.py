"""``perturbench.prediction_requests``: the control cells a model transforms, as the
external-model protocol hands them over (``{requests}``)."""

from __future__ import annotations

import os
import shlex
import sys
import tempfile

import anndata
import pandas as pd

from . import _files, _run

#: The external "model" that keeps the requests and predicts each as its control cell.
_KEEP = (
    "import shutil, sys; shutil.copy(sys.argv[1], sys.argv[2]); "
    "shutil.copy(sys.argv[1], sys.argv[3])"
)


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
    feasibility checks, control sampling and target list produce it.

    Args:
        adata: the cells (X and obs).
        split: labels from :func:`perturbench.split` (index = obs_names); None draws the
            split from ``options`` (``task=...``, ``seed`` of the split as ``split_seed``).
        which: the evaluated split, ``"val"`` or ``"test"``.
        max_control_cells: control cells sampled per target.
        seed: the sampling seed (``evaluation.prediction_seed``).
        **options: split and design flags (``task``, ``perturbation_key``, ...).

    Raises:
        ValueError, KeyError, FileNotFoundError: the command's errors, with its messages.
    """
    with tempfile.TemporaryDirectory(prefix="perturbench-") as tmp:
        data = _files.write(adata, tmp, "data")
        kept = os.path.join(tmp, "requests.h5ad")
        flags = dict(options)
        if "split_seed" in flags:
            flags["seed"] = flags.pop("split_seed")
        if split is not None:
            path = os.path.join(tmp, "split.csv")
            labels = split.reindex(adata.obs_names)
            pd.DataFrame({"cell_id": adata.obs_names, "split": labels.fillna("").to_numpy()}).to_csv(
                path, index=False
            )
            flags["split_file"] = path
            flags["task"] = "saved"
        command = " ".join(
            [shlex.quote(sys.executable), "-c", shlex.quote(_KEEP), "{requests}", shlex.quote(kept), "{out}"]
        )
        _run.run(
            [
                "train",
                data,
                "model=external",
                f"model.command={command}",
                f"evaluation.split={which}",
                f"evaluation.max_control_cells={max_control_cells}",
                f"evaluation.prediction_seed={seed}",
                "--out",
                os.path.join(tmp, "run"),
                *_run.flag_args(flags),
            ]
        )
        return anndata.read_h5ad(kept)
