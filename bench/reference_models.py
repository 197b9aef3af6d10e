"""Train one PerturBench model with the reference's own Python code and write its counterfactual
predictions of the evaluation split as an h5ad that `perturbench evaluate` scores.

Run by bench/reference_models.sh (not part of the test suite). It imports the reference package
from a source checkout (`--refsrc`, the directory holding `src/perturbench`), composes the
reference's Hydra configs (`train.yaml`, `data=norman19` as the generic AnnData module, its paths and workers overridden, `model=NAME`,
`trainer=cpu`) with the same overrides our side gets, and follows the reference's `train()` flow:
seed everything, build the data module (our split CSV through the saved-split splitter), the model,
the callbacks (early stopping and checkpointing on val_loss) and the Lightning trainer, then fit.
Predictions come from the best checkpoint, as the reference's `test` step uses: the evaluation
split's counterfactual dataset (<= max_control_cells_per_covariate sampled controls per covariate
combination), `model.predict` in eval mode, predicted control rows dropped and the split's observed
control cells appended, exactly as the reference's test step assembles what it scores.

Outputs in --out: predictions.h5ad, losses.csv (epoch, train_loss = mean of the epoch's batch
losses, val_loss = Lightning's epoch val_loss, seconds), run.json (wall time, epochs, best epoch).
"""

import argparse
import json
import os
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--refsrc", required=True, help="reference checkout (contains src/perturbench)")
    p.add_argument("--data", required=True)
    p.add_argument("--split", required=True, help="split CSV (cell id, label), no header")
    p.add_argument("--model", required=True, help="reference model config name, e.g. latent_additive")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--batch-size", type=int, default=4000)
    p.add_argument("--max-epochs", type=int, default=10)
    p.add_argument("--min-epochs", type=int, default=1)
    p.add_argument("--patience", type=int, default=50)
    p.add_argument("--eval-split", default="val", choices=["val", "test"])
    p.add_argument("--max-control-cells", type=int, default=1000)
    p.add_argument("--add-controls", choices=["true", "false"], default=None,
                   help="paired controls (linear/latent/decoder) or all cells (cpa/sams/biolord)")
    p.add_argument("--covariate-keys", default="cell_type")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. model.encoder_width=256")
    return p.parse_args()


def main():
    a = parse_args()
    t0 = time.time()
    sys.path.insert(0, os.path.join(os.path.abspath(a.refsrc), "src"))
    import numpy as np
    import pandas as pd
    import anndata as ad
    import torch
    import lightning as L
    import hydra
    from hydra import compose, initialize_config_dir
    from perturbench.modelcore.utils import multi_instantiate

    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    out = os.path.abspath(a.out)
    conf_dir = os.path.join(os.path.abspath(a.refsrc), "src", "perturbench", "configs")
    single_cell = a.model in ("cpa", "sams_vae", "biolord")
    add_controls = (a.add_controls == "true") if a.add_controls else not single_cell
    cov_keys = "[" + ",".join(k for k in a.covariate_keys.split(",") if k) + "]"
    overrides = [
        "data=norman19",
        "data.num_workers=0",
        f"model={a.model}",
        "trainer=cpu",
        "logger=csv",
        "data/splitter=saved_split",
        f"data.splitter.split_path={os.path.abspath(a.split)}",
        f"data.datapath={os.path.abspath(a.data)}",
        f"data.batch_size={a.batch_size}",
        f"data.add_controls={add_controls}",
        f"data.covariate_keys={cov_keys}",
        f"data.evaluation.split_value_to_evaluate={a.eval_split}",
        f"data.evaluation.max_control_cells_per_covariate={a.max_control_cells}",
        f"trainer.max_epochs={a.max_epochs}",
        f"trainer.min_epochs={a.min_epochs}",
        "trainer.precision=32",
        "+trainer.enable_progress_bar=False",
        f"callbacks.early_stopping.patience={a.patience}",
        f"callbacks.model_checkpoint.dirpath={out}/checkpoints",
        "~callbacks.rich_progress_bar",
        f"paths.output_dir={out}",
        f"paths.work_dir={out}",
        f"seed={a.seed}",
    ]
    with initialize_config_dir(config_dir=conf_dir, version_base="1.3"):
        # A model setting that the model's YAML does not list (a class default such as CPA's
        # use_adversary) must be added with Hydra's `+`.
        listed = compose(config_name="train", overrides=overrides).model
        for o in a.overrides:
            key = o.split("=", 1)[0]
            if key.startswith("model.") and key[len("model."):] not in listed:
                o = "+" + o
            overrides.append(o)
        cfg = compose(config_name="train", overrides=overrides)

    # The reference's train(): seed, data module (seed passed in), model, callbacks, trainer, fit.
    L.seed_everything(cfg.seed, workers=True)
    datamodule = hydra.utils.instantiate(cfg.data, seed=cfg.seed)
    model = hydra.utils.instantiate(cfg.model, datamodule=datamodule)

    class EpochLosses(L.Callback):
        """Mean training loss of each epoch's batches and the epoch's val_loss."""

        def __init__(self):
            self.rows, self.batch_losses, self.t = [], [], time.time()

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            loss = outputs["loss"] if isinstance(outputs, dict) else outputs
            if loss is not None:
                self.batch_losses.append(float(loss.detach()))

        def on_train_epoch_end(self, trainer, module):
            m = trainer.callback_metrics
            val = m.get("val_loss_epoch", m.get("val_loss"))
            self.rows.append({
                "epoch": trainer.current_epoch,
                "train_loss": float(np.mean(self.batch_losses)) if self.batch_losses else np.nan,
                "val_loss": float(val) if val is not None else np.nan,
                "seconds": time.time() - self.t,
            })
            self.batch_losses, self.t = [], time.time()

    losses = EpochLosses()
    callbacks = multi_instantiate(cfg.get("callbacks")) + [losses]
    loggers = multi_instantiate(cfg.get("logger"))
    trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers)
    t_fit = time.time()
    trainer.fit(model=model, datamodule=datamodule)
    fit_seconds = time.time() - t_fit

    best = trainer.checkpoint_callback.best_model_path
    if best:
        state = torch.load(best, map_location="cpu", weights_only=False)
        model.load_state_dict(state["state_dict"])
    model.eval()

    key = datamodule.train_context["perturbation_key"]
    ctrl = datamodule.train_context["perturbation_control_value"]
    covs = list(datamodule.train_context["covariate_keys"])
    preds = []
    with torch.no_grad():
        for batch, obs, _ref in datamodule.test_dataloader():
            x = model.predict(batch).squeeze().cpu().numpy()
            p = ad.AnnData(X=np.asarray(x, dtype=np.float32), obs=obs.reset_index(drop=True))
            p.var_names = list(batch.gene_names)
            preds.append(p[p.obs[key].astype(str) != ctrl].copy())
    # Observed control cells of the evaluation split, as the reference's test step appends them.
    full = ad.read_h5ad(a.data)
    split = pd.read_csv(a.split, index_col=0, header=None).iloc[:, 0]
    eval_cells = split.index[split == a.eval_split]
    ctl = full[full.obs_names.isin(eval_cells) & (full.obs[key].astype(str) == ctrl).values]
    x_ctl = ctl.X.toarray() if hasattr(ctl.X, "toarray") else np.asarray(ctl.X)
    ctl = ad.AnnData(X=x_ctl.astype(np.float32), obs=ctl.obs[[key] + covs].reset_index(drop=True),
                     var=pd.DataFrame(index=list(full.var_names)))
    pred = ad.concat([ad.AnnData(X=p.X, obs=p.obs[[key] + covs], var=p.var) for p in preds] + [ctl])
    pred.obs_names = [f"c{i}" for i in range(pred.n_obs)]
    for c in [key] + covs:
        pred.obs[c] = pred.obs[c].astype(str).astype("category")
    pred.write_h5ad(os.path.join(out, "predictions.h5ad"))

    pd.DataFrame(losses.rows).to_csv(os.path.join(out, "losses.csv"), index=False)
    rows = losses.rows
    best_epoch = int(np.nanargmin([r["val_loss"] for r in rows])) if rows else None
    with open(os.path.join(out, "run.json"), "w") as f:
        json.dump({
            "tool": "PerturBench reference (altoslabs/perturbench)",
            "model": a.model, "seed": a.seed, "epochs": len(rows), "best_epoch": best_epoch,
            "fit_seconds": fit_seconds, "wall_seconds": time.time() - t0,
            "torch": torch.__version__, "lightning": L.__version__,
            "threads": a.threads, "overrides": overrides,
        }, f, indent=1)


if __name__ == "__main__":
    main()
