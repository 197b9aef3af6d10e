"""AnnData objects handed to the Rust library in place: obs columns as plain values, X as the
addresses of its numpy arrays (no copy when they are C-contiguous float32/float64 values with
int32/int64 indices; anything else is converted once)."""

from __future__ import annotations

from typing import Any

import anndata
import numpy as np
import pandas as pd
import scipy.sparse as sp

_FLOATS = (np.float32, np.float64)
_INTS = (np.int32, np.int64)


def _array(a: np.ndarray, kinds: tuple, fallback: type) -> np.ndarray:
    """``a`` as a C-contiguous, aligned array of one of ``kinds`` (copied only if needed)."""
    dtype = a.dtype if a.dtype.type in kinds else fallback
    return np.require(a, dtype=dtype, requirements=["C_CONTIGUOUS", "ALIGNED"])


def _ref(a: np.ndarray) -> tuple[int, str, int]:
    return (int(a.ctypes.data), a.dtype.name, int(a.size))


class Cells:
    """One AnnData as the Rust side reads it (see ``crates/perturbench-py/src/memory.rs``).

    Holds the arrays whose addresses :meth:`x` hands out, so it must outlive the native call.
    """

    def __init__(self, adata: anndata.AnnData, name: str):
        if not isinstance(adata, anndata.AnnData):
            raise TypeError(f"{name}: expected an AnnData, got {type(adata).__name__}")
        if adata.is_view:
            adata = adata.copy()
        self.name = f"{name} (AnnData in memory)"
        self._adata = adata
        self._keep: list[np.ndarray] = []

    def column_names(self) -> list[str]:
        return [str(c) for c in self._adata.obs.columns]

    def obs_names(self) -> list[str]:
        return [str(n) for n in self._adata.obs_names]

    def var_names(self) -> list[str]:
        return [str(n) for n in self._adata.var_names]

    def column(self, name: str) -> tuple:
        """The column as ``(kind, values, ...)``, in the encodings an h5ad file holds."""
        s = self._adata.obs[name]
        dtype = s.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            cats = [str(c) for c in dtype.categories]
            return ("cat", s.cat.codes.to_numpy(dtype=np.int64).tolist(), cats, bool(dtype.ordered))
        if pd.api.types.is_bool_dtype(dtype):
            if s.isna().any():
                return ("nbool", s.fillna(False).astype(bool).tolist(), s.isna().tolist())
            return ("bool", s.astype(bool).tolist())
        if pd.api.types.is_integer_dtype(dtype):
            if s.isna().any():
                return ("nint", s.fillna(0).astype(np.int64).tolist(), s.isna().tolist())
            return ("int", s.astype(np.int64).tolist())
        if pd.api.types.is_float_dtype(dtype):
            return ("float", s.astype(np.float64).tolist())
        missing = s.isna()
        values = [str(v) if not m else "" for v, m in zip(s.tolist(), missing.tolist())]
        if missing.any():
            return ("nstr", values, missing.tolist())
        return ("str", values)

    def x(self) -> tuple | None:
        """X as ``("csr", rows, cols, indptr, indices, data)`` or ``("dense", rows, cols,
        values)``, each array ``(address, dtype, length)``."""
        x: Any = self._adata.X
        if x is None:
            return None
        rows, cols = x.shape
        if sp.issparse(x):
            if x.format != "csr":
                x = x.tocsr()
            arrays = [
                _array(x.indptr, _INTS, np.int64),
                _array(x.indices, _INTS, np.int64),
                _array(x.data, _FLOATS, np.float32),
            ]
            self._keep = arrays
            return ("csr", rows, cols, *(_ref(a) for a in arrays))
        values = _array(np.asarray(x), _FLOATS, np.float32)
        self._keep = [values]
        return ("dense", rows, cols, _ref(values))

    def uns_lists(self, key: str) -> dict[str, list[str]] | None:
        """``uns[key]`` as a dictionary of gene lists, when it is one."""
        d = self._adata.uns.get(key)
        if not isinstance(d, dict):
            return None
        return {str(k): [str(g) for g in np.asarray(v).ravel().tolist()] for k, v in d.items()}
