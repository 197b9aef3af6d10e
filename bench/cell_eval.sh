#!/usr/bin/env bash
# cell-eval benchmark: `cell-eval run` (cell-eval 0.8.2, pdex 0.3.0) against
# `perturbench cell-eval run` on the same files, same flags, same machine, one after the other
# in one invocation of this script, on a simulated set of 20,000 cells x 2,000 genes x 150
# perturbations (`perturbench simulate --preset norman-like`, log1p X, float32). The
# prediction is the real file with multiplicative noise on X (bench/cell_eval_pred.py).
# Both run profile `full` (every metric, clustering_agreement included), once with and once
# without pearson_edistance, with the same `--num-threads` (default: all cores), ROUNDS times
# each (default 3), the order of the two tools alternating from round to round (which runs
# first after the other changes the second one's fresh-memory cost on a virtual machine).
# Every wall time is printed, then each tool's median, the ratio of the medians and the
# largest difference between the two results.csv files, and the load average at the end
# (the ratio is only meaningful when both ran under the same load).
# Usage: bench/cell_eval.sh [WORK_DIR] [THREADS] [ROUNDS]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_setup cell_eval PERTURBENCH_CELLEVAL_PYTHON cell-eval==0.8.2 "${1:-}"
threads="${2:-$(nproc)}"
rounds="${3:-3}"
real="$work/real.h5ad"; pred="$work/pred.h5ad"
if [ ! -f "$pred" ]; then
  "$bin" --quiet simulate --preset norman-like --cells 20000 --genes 2000 --perturbations 150 \
    --seed 42 --compression none --out "$real"
  "$py" "$root/bench/cell_eval_pred.py" "$real" "$pred"
fi
cat "$real" "$pred" > /dev/null   # warm the page cache for both tools alike
echo "config,round,tool,wall_s,peak_rss_mib"
# Two configurations: profile full, and the same without pearson_edistance (the only metric
# that looks at all cell pairs).
for config in full no-edistance; do
  skip=()
  [ "$config" = no-edistance ] && skip=(--skip-metrics pearson_edistance)
  flags=(-ap "$pred" -ar "$real" --pert-col condition --control-pert control --profile full
    "${skip[@]}" --num-threads "$threads")
  : > "$work/times_$config"
  for round in $(seq 1 "$rounds"); do
    order=(theirs ours)
    [ $((round % 2)) -eq 0 ] && order=(ours theirs)
    for tool in "${order[@]}"; do
      rm -rf "$work/${tool}_$config"
      if [ "$tool" = theirs ]; then
        cmd=("$py" -m cell_eval run); name=cell-eval-0.8.2
      else
        cmd=("$bin" --quiet cell-eval run); name=perturbench
      fi
      /usr/bin/time -f "%e,%M" -o "$work/t_$tool" "${cmd[@]}" "${flags[@]}" \
        -o "$work/${tool}_$config" > "$work/${tool}_$config.log" 2>&1
      awk -F, -v c="$config" -v r="$round" -v n="$name" \
        '{printf "%s,%s,%s,%s,%.0f\n", c, r, n, $1, $2/1024}' "$work/t_$tool" \
        | tee -a "$work/times_$config"
    done
  done
  # Median wall time of each tool and the ratio of the medians.
  median() {
    grep ",$1," "$work/times_$config" | cut -d, -f4 | sort -n \
      | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
  }
  m_theirs=$(median cell-eval-0.8.2); m_ours=$(median perturbench)
  echo "$config,median,cell-eval-0.8.2,$m_theirs"
  echo "$config,median,perturbench,$m_ours"
  awk -v a="$m_theirs" -v b="$m_ours" -v c="$config" 'BEGIN { printf "%s,speedup_of_medians,%.1fx\n", c, a / b }'
  "$py" - "$work/theirs_$config/results.csv" "$work/ours_$config/results.csv" <<'EOF2'
import sys
import numpy as np
import polars as pl
a, b = pl.read_csv(sys.argv[1]), pl.read_csv(sys.argv[2])
assert a.columns == b.columns, (a.columns, b.columns)
worst = max(
    (float(np.nanmax(np.abs(a[c].cast(pl.Float64).to_numpy() - b[c].cast(pl.Float64).to_numpy()), initial=0.0)), c)
    for c in a.columns[1:]
)
print(f"max |ours - cell-eval| over results.csv: {worst[0]:.2e} ({worst[1]})")
EOF2
done
uptime
