"""Runs the reference cell-eval 0.8.2 on a real/pred pair written by the Rust parity test.

Usage: python run_cell_eval.py REAL.h5ad PRED.h5ad OUTDIR MODE [REAL2 PRED2 OUTDIR2 MODE2 ...]

The files hold float32 X (what perturbench-io writes). With MODE `f64` they are re-written
with X cast to float64 (exact) so that cell-eval and pdex compute in float64 on exactly the
values the Rust side reads; with MODE `f32` they are used as they are (pdex then averages in
float32). Then cell-eval's command line is run in this process, once per triple (numba
compiles pdex's kernels once):

    cell-eval run -ap PRED -ar REAL --control-pert control --pert-col condition
        --profile full -o OUTDIR --num-threads 2
        --skip-metrics clustering_agreement,pearson_edistance

The two skipped metrics are not implemented on the Rust side (and take half of the run
time); skipping a metric does not change the others in 0.8.2 (MetricPipeline.skip_metrics
only drops names). The last line printed is a JSON object with the versions used.
"""

import json
import sys
from importlib.metadata import version

import anndata as ad
import numpy as np


def run_one(real: str, pred: str, outdir: str, mode: str) -> None:
    paths = [real, pred]
    if mode == "f64":
        paths = []
        for src in (real, pred):
            a = ad.read_h5ad(src)
            a.X = a.X.astype(np.float64)
            dst = src.replace(".h5ad", "_f64.h5ad")
            a.write_h5ad(dst)
            paths.append(dst)
    sys.argv = [
        "cell-eval",
        "run",
        "-ap",
        paths[1],
        "-ar",
        paths[0],
        "--control-pert",
        "control",
        "--pert-col",
        "condition",
        "--profile",
        "full",
        "-o",
        outdir,
        "--num-threads",
        "2",
        "--skip-metrics",
        "clustering_agreement,pearson_edistance",
    ]
    from cell_eval.__main__ import main as cell_eval_main

    cell_eval_main()


def main() -> None:
    args = sys.argv[1:]
    for i in range(0, len(args), 4):
        run_one(*args[i : i + 4])
    print(json.dumps({"cell_eval": version("cell-eval"), "pdex": version("pdex")}))


if __name__ == "__main__":
    main()
