#!/usr/bin/env bash
# evaluate benchmark: `perturbench evaluate` (default pipelines average:rmse:rank and
# logfc:cosine:rank) on the shape of the issue's reference measurement (norman-like, 111,959 cells
# x 5,000 genes, 19 % non-zero, 236 perturbations, one covariate) and on a 10x copy of it (memory
# stays flat: X is streamed in blocks of rows). Input checksums: `cold` = SHA-256 computed (empty
# cache), `cached` = taken from the checksum cache, `off` = --no-checksums. When PERTURBENCH_REF_EVAL is set, it is run in the same session as
# `$PERTURBENCH_REF_EVAL REFERENCE PREDICTION` (e.g. a Python script calling PerturBench's
# evaluation) and timed the same way.
# Usage: bench/evaluate.sh [WORK_DIR] [ROUNDS]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$root/bench-out/evaluate}"
rounds="${2:-3}"
mkdir -p "$work"
py="$work/venv/bin/python"
if [ ! -x "$py" ]; then
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install -q h5py numpy
fi
bin="$root/target/release/perturbench"
[ -x "$bin" ] || (cd "$root" && cargo build --release -p perturbench)
ref="$work/ref.h5ad"; pred="$work/pred.h5ad"
if [ ! -f "$pred" ]; then
  "$bin" --quiet simulate --preset norman-like --cells 111390 --library-median 25000 --seed 42 \
    --compression none --out "$ref"
  cp "$ref" "$pred"
fi
if [ ! -f "$work/pred_x10.h5ad" ]; then
  "$py" "$root/bench/tile_h5ad.py" "$ref" "$work/ref_x10.h5ad" 10
  cp "$work/ref_x10.h5ad" "$work/pred_x10.h5ad"
fi
echo "tool,size,checksums,round,wall_s,peak_rss_mib"
for size in x1 x10; do
  if [ "$size" = x1 ]; then r="$ref"; p="$pred"; else r="$work/ref_x10.h5ad"; p="$work/pred_x10.h5ad"; fi
  cat "$r" "$p" > /dev/null   # warm the page cache for every tool alike
  for round in $(seq 1 "$rounds"); do
    for sums in cold cached off; do
      flag=""; [ "$sums" = off ] && flag="--no-checksums"
      [ "$sums" = cold ] && rm -rf "$work/cache"
      rm -rf "$work/out"
      PERTURBENCH_CACHE_DIR="$work/cache" /usr/bin/time -f "%e,%M" -o "$work/t" "$bin" --quiet \
        evaluate --reference "$r" --prediction "model=$p" --out "$work/out" $flag
      echo "perturbench,$size,$sums,$round,$(awk -F, '{printf "%s,%.0f", $1, $2/1024}' "$work/t")"
    done
    if [ -n "${PERTURBENCH_REF_EVAL:-}" ] && [ "$size" = x1 ]; then
      /usr/bin/time -f "%e,%M" -o "$work/t" $PERTURBENCH_REF_EVAL "$r" "$p" > "$work/ref.log"
      echo "reference,$size,off,$round,$(awk -F, '{printf "%s,%.0f", $1, $2/1024}' "$work/t")"
    fi
  done
done
