"""``perturbench.simulate``: simulated perturbation data with known ground truth."""

from __future__ import annotations

import os
import tempfile

import anndata

from . import _run


def simulate(
    preset: str = "small",
    seed: int = 42,
    *,
    cells: int | None = None,
    genes: int | None = None,
    perturbations: int | None = None,
    library_median: float | None = None,
) -> anndata.AnnData:
    """A simulated dataset, exactly as ``perturbench simulate`` writes it.

    Args:
        preset: ``small`` (tests), ``norman-like`` (combinations), ``sciplex-like``
            (covariate transfer).
        seed: the same seed gives identical data.
        cells, genes, perturbations, library_median: override the preset.

    Returns:
        The cells (counts in X); the simulation's ground truth is in ``uns``.
    """
    with tempfile.TemporaryDirectory(prefix="perturbench-") as tmp:
        out = os.path.join(tmp, "sim.h5ad")
        flags = dict(
            preset=preset,
            seed=seed,
            cells=cells,
            genes=genes,
            perturbations=perturbations,
            library_median=library_median,
            compression="none",
        )
        _run.run(["simulate", "--out", out, *_run.flag_args(flags)])
        return anndata.read_h5ad(out)
