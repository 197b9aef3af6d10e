#!/usr/bin/env bash
# Read benchmark: perturbench vs Python anndata.read_h5ad on the same files, in the same run.
# Usage: bench/read_h5ad.sh [WORK_DIR] [ROUNDS]
# Needs: a release build (cargo build --release), python3 with venv, /usr/bin/time.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$root/bench-out/read}"
rounds="${2:-3}"
mkdir -p "$work"
py="$work/venv/bin/python"
if [ ! -x "$py" ]; then
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install -q anndata scipy pandas
fi
if [ ! -f "$work/read_gzip.h5ad" ]; then
  "$py" "$root/bench/make_read_fixture.py" "$work"
fi
bin="$root/target/release/perturbench"
[ -x "$bin" ] || (cd "$root" && cargo build --release -p perturbench)
# read_s: time of the read call inside each process (interpreter start-up and imports excluded);
# peak_rss_mib: the whole process (/usr/bin/time).
echo "tool,file,round,read_s,peak_rss_mib"
for f in plain gzip; do
  file="$work/read_$f.h5ad"
  cat "$file" > /dev/null   # warm the page cache for both tools alike
  for r in $(seq 1 "$rounds"); do
    s=$(/usr/bin/time -f "%M" -o "$work/t" "$bin" --quiet bench read "$file" | sed -n 's/.*best \([0-9.]*\);.*/\1/p')
    echo "perturbench,$f,$r,$s,$(( $(cat "$work/t") / 1024 ))"
    s=$(/usr/bin/time -f "%M" -o "$work/t" "$py" -c "import time,anndata,sys; t=time.perf_counter(); anndata.read_h5ad(sys.argv[1]); print(f'{time.perf_counter()-t:.3f}')" "$file")
    echo "anndata,$f,$r,$s,$(( $(cat "$work/t") / 1024 ))"
  done
done
