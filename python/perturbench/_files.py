"""Temporary .h5ad files exchanged with the Rust library."""

from __future__ import annotations

import os
from pathlib import Path

import anndata


def write(adata: anndata.AnnData, directory: str, name: str) -> str:
    """Writes ``adata`` as ``directory/name.h5ad`` (uncompressed) and returns the path."""
    if not isinstance(adata, anndata.AnnData):
        raise TypeError(f"{name}: expected an AnnData, got {type(adata).__name__}")
    path = os.path.join(directory, f"{name}.h5ad")
    adata.write_h5ad(Path(path))
    return path
