"""Writes an .h5ad whose cells are K copies of another file's cells (X as CSR, obs columns
tiled, obs names suffixed with -copy), streaming so that memory stays at one copy of X.
Layers, obsm and obsp are dropped. Usage: tile_h5ad.py SRC DST K"""
import sys

import h5py
import numpy as np

src_path, dst_path, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
with h5py.File(src_path, "r") as src, h5py.File(dst_path, "w") as dst:
    for key, value in src.attrs.items():
        dst.attrs[key] = value
    for name in ("var", "uns", "varm", "varp"):
        if name in src:
            src.copy(src[name], dst, name=name)
    for name in ("layers", "obsm", "obsp"):
        g = dst.create_group(name)
        g.attrs["encoding-type"] = "dict"
        g.attrs["encoding-version"] = "0.1.0"
    obs = dst.create_group("obs")
    for key, value in src["obs"].attrs.items():
        obs.attrs[key] = value

    def tile(node, out, name):
        if isinstance(node, h5py.Group):
            g = out.create_group(name)
            for key, value in node.attrs.items():
                g.attrs[key] = value
            for child in node:
                if child == "categories":
                    node.copy(node[child], g, name=child)
                else:
                    tile(node[child], g, child)
            return
        values = node[()]
        if name == "_index" or node.attrs.get("encoding-type") == "string-array":
            values = np.concatenate([[f"{v.decode()}-{c}" for v in values] for c in range(k)])
            ds = out.create_dataset(name, data=values.astype(object), dtype=h5py.string_dtype())
        else:
            ds = out.create_dataset(name, data=np.tile(values, k))
        for key, value in node.attrs.items():
            ds.attrs[key] = value

    for child in src["obs"]:
        tile(src["obs"][child], obs, child)

    x = src["X"]
    n, m = x.attrs["shape"]
    indptr = x["indptr"][()].astype(np.int64)
    nnz = int(indptr[-1])
    data, indices = x["data"][()], x["indices"][()]
    gx = dst.create_group("X")
    for key, value in x.attrs.items():
        gx.attrs[key] = value
    gx.attrs["shape"] = np.array([n * k, m], dtype=np.int64)
    dd = gx.create_dataset("data", shape=(nnz * k,), dtype=data.dtype)
    di = gx.create_dataset("indices", shape=(nnz * k,), dtype=indices.dtype)
    pieces = [indptr[:-1] + c * nnz for c in range(k)] + [np.array([nnz * k], dtype=np.int64)]
    gx.create_dataset("indptr", data=np.concatenate(pieces))
    for c in range(k):
        dd[c * nnz:(c + 1) * nnz] = data
        di[c * nnz:(c + 1) * nnz] = indices
print(f"wrote {dst_path}: {n * k} x {m}, {nnz * k} stored values")
