#!/usr/bin/env bash
# preprocess and split on the norman-like preset (~100k cells x 5k genes), perturbench next to
# scanpy (preprocess) and PerturBench's splitter (split, when PERTURBENCH_REF is set), in one run.
# Usage: [REPS=3] bench/preprocess_split.sh [WORK_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$root/bench-out/preprocess}"
mkdir -p "$work"
py="$work/venv/bin/python"
if [ ! -x "$py" ]; then
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install -q anndata scanpy scikit-misc scikit-learn
fi
bin="$root/target/release/perturbench"
[ -x "$bin" ] || (cd "$root" && cargo build --release -p perturbench)
data="$work/norman.h5ad"; counts="$work/norman_counts.h5ad"
if [ ! -f "$counts" ]; then
  "$bin" --quiet simulate --preset norman-like --seed 42 --compression none --out "$data"
  "$py" -c "import anndata as ad,sys; a=ad.read_h5ad(sys.argv[1]); a.X=a.layers.pop('counts'); a.write_h5ad(sys.argv[2])" "$data" "$counts"
fi
echo "step,tool,wall_s,peak_rss_mib"
# REPS alternating runs of each (this machine is shared and noisy: compare runs side by side).
# Before each timed run the previous outputs are deleted and dirty pages flushed (untimed), so
# neither tool pays for freeing the other's file or for the other's pending writeback.
settle() { rm -f "$work/ours_pp.h5ad" "$counts.scanpy_out.h5ad"; sync; sleep 1; }
for _ in $(seq "${REPS:-3}"); do
  settle
  /usr/bin/time -f "%e,%M" -o "$work/t" "$bin" preprocess "$counts" "$work/ours_pp.h5ad" --compression none > "$work/ours_pp.log"
  echo "preprocess,perturbench,$(awk -F, '{printf "%s,%.0f", $1, $2/1024}' "$work/t")"
  sed 's/^/  perturbench: /' "$work/ours_pp.log" >&2
  settle
  r=$("$py" "$root/bench/preprocess_split.py" preprocess "$counts")
  echo "preprocess,scanpy,$r"
done
/usr/bin/time -f "%e,%M" -o "$work/t" "$bin" --quiet split "$data" --task combination --max-heldout-fraction 0.7 --out "$work/ours_split.csv"
echo "split,perturbench,$(awk -F, '{printf "%s,%.0f", $1, $2/1024}' "$work/t")"
if [ -n "${PERTURBENCH_REF:-}" ]; then
  r=$("$py" "$root/bench/preprocess_split.py" split "$data")
  echo "split,perturbench-python,$r"
  # Same labels?
  "$py" -c "import pandas as pd,sys; a=pd.read_csv(sys.argv[1]).fillna(''); b=pd.read_csv(sys.argv[2]).fillna(''); print('labels identical:', (a.iloc[:,1].values==b.iloc[:,1].values).all())" "$work/ours_split.csv" "$data.ref_split.csv"
fi
