"""``perturbench.evaluate``: PerturBench's evaluation of in-memory AnnData objects."""

from __future__ import annotations

import warnings as _warnings
from collections.abc import Mapping, Sequence

import anndata
import pandas as pd

from . import _native, _run
from ._memory import Cells

#: Columns of ``per_perturbation.csv`` read as text.
TEXT_COLUMNS = ("model", "aggregation", "metric", "covariates", "perturbation")


def read_table(path: str) -> pd.DataFrame:
    """Reads one of evaluate's CSV tables: text columns stay text (empty covariates are ``""``),
    the others are numbers."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column in df.columns:
        if column not in TEXT_COLUMNS:
            df[column] = pd.to_numeric(df[column].replace("", "nan"), errors="coerce")
    return df


def evaluate(
    reference: anndata.AnnData,
    predictions: Mapping[str, anndata.AnnData],
    *,
    perturbation_key: str = "condition",
    control: str = "control",
    covariate_keys: Sequence[str] | None = None,
    pipelines: Sequence[str] | None = None,
    seed: int | None = None,
    **options: object,
) -> pd.DataFrame:
    """Scores predicted cells against observed cells, exactly as ``perturbench evaluate``.

    The AnnData objects are read in place (X's numpy arrays are not copied when they hold
    float32/float64 values with int32/int64 indices) and the work runs without the GIL.

    Args:
        reference: the observed cells (X, obs with the perturbation and covariate columns).
        predictions: model name → its predicted cells (same genes as ``reference``).
        perturbation_key: the obs column naming each cell's perturbation.
        control: the control label in that column.
        covariate_keys: obs columns of the covariates (default: ``cell_type`` when present).
        pipelines: evaluation pipelines (``--pipeline``; default: PerturBench's).
        seed: the evaluation's random seed.
        **options: any other ``perturbench evaluate`` flag, e.g. ``top_degs=50``.

    Returns:
        ``per_perturbation.csv`` as a DataFrame (model, aggregation, metric, covariates,
        perturbation, value); ``perturbench.summary(df)`` gives ``summary.csv``.

    Raises:
        ValueError, KeyError, FileNotFoundError: the command's errors, with its messages.
    """
    if not predictions:
        raise ValueError("predictions: at least one model's predicted cells are needed")
    flags = _run.flag_args(
        {
            "perturbation_key": perturbation_key,
            "control": control,
            "covariate_keys": list(covariate_keys) if covariate_keys is not None else None,
            "seed": seed,
            **options,
        }
    )
    for p in pipelines or []:
        flags += ["--pipeline", p]
    ref = Cells(reference, "reference")
    preds = [(str(name), Cells(adata, f"predictions[{name!r}]")) for name, adata in predictions.items()]
    per, summ, warnings = _native.evaluate(ref, preds, flags)
    for w in warnings:
        _warnings.warn(w, stacklevel=2)
    df = _table(per)
    df.attrs["summary"] = _table(summ)
    return df


def _table(t: tuple) -> pd.DataFrame:
    header, text, values = t
    columns = {h: pd.Series(c, dtype=object) for h, c in zip(header, text)}
    columns[header[-1]] = pd.Series(values, dtype=float)
    return pd.DataFrame(columns)


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """``summary.csv`` of an :func:`evaluate` result (one row per model, aggregation and metric)."""
    if "summary" not in df.attrs:
        raise ValueError("summary: expected a DataFrame returned by perturbench.evaluate")
    return df.attrs["summary"].copy()
