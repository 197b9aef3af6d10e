#!/usr/bin/env bash
# Every model on one dataset and task: the table of the models issue's closing note.
# usage: bench/model_table.sh DATA.h5ad OUTDIR EVAL_SPLIT BATCH_SIZE MAX_EPOCHS [split flags...]
# Writes OUTDIR/<model>/ (each train run) and OUTDIR/table.csv with
# model,rmse_average,rmse_rank_average,cosine_logfc,cosine_rank_logfc,truth_cosine,epochs,seconds.
# The networks use moderate widths (the reference widths take hours on 2 cores) and learning
# rates suited to short training; everything else is the model's reference default.
set -euo pipefail
DATA=$1; OUT=$2; SPLIT=$3; BS=$4; EP=$5; shift 5
BIN=${BIN:-target/release/perturbench}
mkdir -p "$OUT"
run() {
  local name=$1; shift
  local t0=$(date +%s.%N)
  "$BIN" --quiet train "$DATA" "$@" --evaluation-split "$SPLIT" --out "$OUT/$name" \
    trainer.batch_size="$BS" trainer.max_epochs="$EP" trainer.early_stopping_patience=15 \
    trainer.seed=245 trainer.state_every=0 "${SPLIT_FLAGS[@]}"
  local t1=$(date +%s.%N)
  python3 - "$OUT/$name" "$name" "$(echo "$t1 - $t0" | bc)" >> "$OUT/table.csv" <<'PY'
import csv, json, sys, os
d, name, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = {f"{r['metric']}_{r['aggregation']}": float(r['value']) for r in csv.DictReader(open(f"{d}/evaluation/summary.csv"))}
run = json.load(open(f"{d}/evaluation/run.json"))
truth = run.get("truth", {}).get("cosine_delta", float("nan"))
epochs = (run.get("training") or {}).get("epochs", 0)
print(f"{name},{s['rmse_average']:.5g},{s['rmse_rank_average']:.5g},{s['cosine_logfc']:.5g},{s['cosine_rank_logfc']:.5g},{truth:.4g},{epochs},{secs:.1f}")
PY
  tail -1 "$OUT/table.csv"
}
SPLIT_FLAGS=("$@")
echo "model,rmse_average,rmse_rank_average,cosine_logfc,cosine_rank_logfc,truth_cosine,epochs,seconds" > "$OUT/table.csv"
for m in control-mean train-mean average additive; do run "$m" --model "$m"; done
run linear-additive --model linear-additive
run linear-additive-nosoftplus --model linear-additive model.softplus_output=false
run latent-additive --model latent-additive model.encoder_width=512 model.latent_dim=64 model.n_layers=1 model.lr=1e-3
run decoder-only --model decoder-only model.encoder_width=512 model.n_layers=1 model.lr=1e-3
run cpa --model cpa model.hidden_dim=256 model.n_latent=64 model.lr=1e-3
run cpa-no-adv --model cpa-no-adv model.hidden_dim=256 model.n_latent=64 model.lr=1e-3
run sams-vae --model sams-vae model.hidden_dim_x=512 model.hidden_dim_cond=64 model.latent_dim=32 \
  model.n_layers_encoder_x=1 model.n_layers_encoder_e=1 model.n_layers_decoder=1 model.lr=1e-3
run sams-vae-modified --model sams-vae-modified model.hidden_dim_x=512 model.latent_dim=32 \
  model.n_layers_encoder_x=1 model.n_layers_encoder_e=1 model.n_layers_decoder=1 model.lr=1e-3
run biolord --model biolord model.encoder_width=512 model.n_layers=1 model.lr=1e-3
