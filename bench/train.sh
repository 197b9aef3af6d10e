#!/usr/bin/env bash
# Training throughput of latent-additive, perturbench (burn, flex CPU) next to PyTorch (CPU),
# same architecture, batch size and thread count, run one after the other on the same file.
# usage: bench/train.sh DATA.h5ad PYTHON [WIDTH LATENT LAYERS BATCHES]
#   DATA: log-normalised norman-like data (obs condition, cell_type), e.g. 100k cells x 5k genes:
#     perturbench simulate --preset norman-like --cells 111390 --library-median 25000 --out d.h5ad
#   PYTHON: a venv with torch and anndata.
set -euo pipefail
DATA=$1; PY=$2; W=${3:-3072}; L=${4:-160}; N=${5:-3}; B=${6:-6}
THREADS=${THREADS:-2}
# DEVICE=libtorch with BIN built by `cargo build --release --features tch` (see the models
# crate's tch feature) runs the same model on PyTorch's kernels through burn.
DEVICE=${DEVICE:-cpu}
BIN=${BIN:-target/release/perturbench}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
echo "latent-additive width $W latent $L layers $N, batch 4000, $((B + 1)) batches, $THREADS threads"
"$BIN" --quiet --threads "$THREADS" train "$DATA" --task combination --max-heldout-fraction 0.7 \
  --model latent-additive model.encoder_width="$W" model.latent_dim="$L" model.n_layers="$N" \
  trainer.max_epochs=1 trainer.batch_size=4000 trainer.limit_train_batches=$((B + 1)) \
  trainer.limit_val_batches=0 trainer.state_every=0 trainer.device="$DEVICE" \
  --max-control-cells 2 --out "$OUT/run"
awk -F, 'NR==2 {printf "perturbench (burn '"$DEVICE"'): all %d batches %.1f cells/s (%.3f s per 4000-cell batch)\n", '"$B"'+1, $7/$6, $6/('"$B"'+1)}' "$OUT/run/losses.csv"
OMP_NUM_THREADS=$THREADS "$PY" bench/train_latent_torch.py "$DATA" --width "$W" --latent "$L" \
  --layers "$N" --batch 4000 --batches "$B" --threads "$THREADS"
