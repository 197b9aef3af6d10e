#!/usr/bin/env bash
# vcc2026 benchmark: `cell-eval2 run --preset vcc2026` (cell-eval2 0.20.0) against
# `perturbench cell-eval run --profile vcc2026` on the same raw-count files, one after the
# other in one invocation, on a simulated set of 20,000 cells x 2,000 genes x 150
# perturbations (`perturbench simulate --preset norman-like`, its counts layer as X; the
# prediction is those counts times noise in [0.5, 1.5), rounded: bench/cell_eval2_counts.py).
# Two jobs: scoring the prediction (`run`), and the replicate anchor from the real file alone
# (`run --anchor`, five half-vs-half splits). Prints wall time and peak RSS of each, the
# ratios, the largest difference of the anchors, and the load average at the end.
# Usage: bench/cell_eval2.sh [WORK_DIR]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_setup cell_eval2 PERTURBENCH_CELLEVAL2_PYTHON cell-eval2==0.20.0 "${1:-}"
real="$work/real.h5ad"; pred="$work/pred.h5ad"
if [ ! -f "$pred" ]; then
  "$bin" --quiet simulate --preset norman-like --cells 20000 --genes 2000 --perturbations 150 \
    --seed 42 --compression none --out "$work/sim.h5ad"
  "$py" "$root/bench/cell_eval2_counts.py" "$work/sim.h5ad" "$real" "$pred"
fi
cat "$real" "$pred" > /dev/null   # warm the page cache for both tools alike
echo "job,tool,wall_s,peak_rss_mib"
for job in run anchor; do
  if [ "$job" = run ]; then extra=(-ap "$pred"); else extra=(--anchor); fi
  rm -rf "$work/theirs_$job" "$work/ours_$job"
  /usr/bin/time -f "%e,%M" -o "$work/t_theirs" "$(dirname "$py")/cell-eval2" run --preset vcc2026 \
    --pert-col condition --control control -ar "$real" "${extra[@]}" -o "$work/theirs_$job" \
    > "$work/theirs_$job.log" 2>&1
  /usr/bin/time -f "%e,%M" -o "$work/t_ours" "$bin" --quiet cell-eval run --profile vcc2026 \
    --pert-col condition --control-pert control -ar "$real" "${extra[@]}" -o "$work/ours_$job" \
    > "$work/ours_$job.log" 2>&1
  awk -F, -v c="$job" '{printf "%s,cell-eval2-0.20.0,%s,%.0f\n", c, $1, $2/1024}' "$work/t_theirs"
  awk -F, -v c="$job" '{printf "%s,perturbench,%s,%.0f\n", c, $1, $2/1024}' "$work/t_ours"
  paste -d, "$work/t_theirs" "$work/t_ours" | awk -F, -v c="$job" '{printf "%s,speedup,%.1fx\n", c, $1/$3}'
done
"$py" - "$work/theirs_anchor/anchor_agg.parquet" "$work/ours_anchor/anchor_agg.csv" <<'EOF2'
import sys
import polars as pl
a = pl.read_parquet(sys.argv[1]).sort("metric")
b = pl.read_csv(sys.argv[2]).sort("metric")
d = (a["replicate"] - b["replicate"]).abs() / a["replicate"].abs().clip(lower_bound=1.0)
print(f"max relative |ours - cell-eval2| over the anchor: {d.max():.2e}")
EOF2
uptime
