"""Markdown table of bench/reference_models.sh's results.csv: per dataset x model x side, the mean
and sample standard deviation over seeds of each metric (standard library only)."""

import csv
import statistics
import sys
from collections import defaultdict

METRICS = [
    ("rmse_average", "rmse_average", 4),
    ("rmse_rank_average", "rmse_rank_average", 3),
    ("cosine_logfc", "cosine_logfc", 3),
    ("cosine_rank_logfc", "cosine_rank_logfc", 3),
    ("train_loss", "train loss", 4),
    ("val_loss", "val loss", 4),
    ("epochs", "epochs", 0),
    ("wall_seconds", "wall s", 0),
]


def fmt(values, digits):
    vals = [v for v in values if v == v]
    if not vals:
        return "–"
    m = statistics.fmean(vals)
    if len(vals) < 2:
        return f"{m:.{digits}f}"
    return f"{m:.{digits}f} ± {statistics.stdev(vals):.{digits}f}"


def main(path):
    # A rerun of a seed replaces its earlier rows: keep the last value per seed.
    data = defaultdict(lambda: defaultdict(dict))
    order = []
    for r in csv.DictReader(open(path)):
        key = (r["dataset"], r["model"], r["side"])
        if key not in data:
            order.append(key)
        try:
            v = float(r["value"])
        except ValueError:
            v = float("nan")
        data[key][r["metric"]][r["seed"]] = v
    data = {k: {m: list(by_seed.values()) for m, by_seed in d.items()} for k, d in data.items()}
    datasets = list(dict.fromkeys(k[0] for k in order))
    for ds in datasets:
        print(f"\n### {ds}\n")
        print("| model | side | seeds | " + " | ".join(m[1] for m in METRICS) + " |")
        print("|---|---|---|" + "---|" * len(METRICS))
        for key in order:
            if key[0] != ds:
                continue
            d = data[key]
            n = len(d.get("cosine_logfc", []))
            side = "perturbench" if key[2] == "ours" else "reference"
            cells = [fmt(d.get(m[0], []), m[2]) for m in METRICS]
            print(f"| {key[1]} | {side} | {n} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
