#!/usr/bin/env bash
# DE benchmark at the issue's scale: 17,000 cells x 18,000 genes x 150 perturbations
# (`perturbench simulate --preset norman-like`, log1p float32), same threads for every tool:
# 1. pdex 0.3.0 as cell-eval 0.8.2 calls it (bench/pdex_de.py: the pdex call only, reading
#    the file not counted), once;
# 2. `cell-eval run --profile de -ap FILE -ar FILE` end to end (two DEs, the DE metrics,
#    real_de.csv and pred_de.csv, 2 x 2.7 M rows);
# 3. `perturbench bench de` on the same file: our DE alone, timed like the pdex call;
# 4. `perturbench cell-eval run` with the same flags, end to end.
# Printed: the three times, 2 x pdex / ours (DE) and cell-eval / ours (drop-in).
# Usage: bench/pdex_de.sh [WORK_DIR] [THREADS]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_setup pdex_de PERTURBENCH_CELLEVAL_PYTHON cell-eval==0.8.2 "${1:-}"
threads="${2:-$(nproc)}"
data="$work/de17k.h5ad"
if [ ! -f "$data" ]; then
  "$bin" --quiet simulate --preset norman-like --cells 17000 --genes 18000 --perturbations 150 \
    --seed 7 --compression none --out "$data"
fi
cat "$data" > /dev/null
pdex_s=$("$py" "$root/bench/pdex_de.py" "$data" condition control "$threads" | awk -F, '/pdex_seconds/ {print $2}')
ours_de_s=$("$bin" --threads "$threads" bench de "$data" --pert-col condition --control-pert control | awk -F, '/de_seconds/ {print $2}')
rm -rf "$work/theirs"
/usr/bin/time -f "%e,%M" -o "$work/t_theirs" "$py" -m cell_eval run -ap "$data" -ar "$data" \
  --pert-col condition --control-pert control --profile de --num-threads "$threads" \
  -o "$work/theirs" > "$work/theirs.log" 2>&1
theirs_s=$(cut -d, -f1 "$work/t_theirs")
rm -rf "$work/ours"
/usr/bin/time -f "%e,%M" -o "$work/t_ours" "$bin" --quiet cell-eval run -ap "$data" -ar "$data" \
  --pert-col condition --control-pert control --profile de --num-threads "$threads" -o "$work/ours"
ours_s=$(cut -d, -f1 "$work/t_ours")
echo "tool,seconds"
echo "pdex-0.3.0 (one DE),$pdex_s"
echo "perturbench bench de (one DE, file read not counted),$ours_de_s"
echo "perturbench cell-eval run --profile de (two DEs + metrics + CSVs),$ours_s"
echo "cell-eval 0.8.2 run --profile de (end to end),$theirs_s"
awk -v p="$pdex_s" -v o="$ours_de_s" 'BEGIN {printf "ratio (pdex / ours, DE alone),%.1fx\n", p / o}'
awk -v p="$pdex_s" -v o="$ours_s" 'BEGIN {printf "ratio (2 x pdex / ours end to end),%.1fx\n", 2 * p / o}'
awk -v t="$theirs_s" -v o="$ours_s" 'BEGIN {printf "ratio (cell-eval / ours),%.1fx\n", t / o}'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
