"""Times pdex 0.3.0's differential expression on one .h5ad as cell-eval 0.8.2 runs it
(mode "ref" against the control, Mann-Whitney U, is_log1p=True, epsilon=0, no CPM filter).
Only the pdex call is timed (reading the file is not). Prints `pdex_seconds,N`.

Usage: python pdex_de.py FILE.h5ad PERT_COL CONTROL THREADS
"""

import sys
import time

import anndata as ad
from pdex import pdex


def main() -> None:
    path, col, control, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    a = ad.read_h5ad(path)
    t = time.perf_counter()
    frame = pdex(
        adata=a,
        mode="ref",
        reference=control,
        groupby=col,
        threads=threads,
        is_log1p=True,
        epsilon=0.0,
    )
    print(f"pdex_seconds,{time.perf_counter() - t:.2f}")
    print(f"pdex_rows,{frame.height}", file=sys.stderr)


if __name__ == "__main__":
    main()
