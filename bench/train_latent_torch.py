#!/usr/bin/env python3
"""PyTorch side of bench/train.sh: latent-additive training throughput on an .h5ad file.

The same architecture as PerturBench's LatentAdditive (MLP blocks Linear -> LayerNorm
(no affine) -> ReLU -> Dropout, final Linear; softplus output), Adam with L2 weight decay,
MSE loss, paired mode (each perturbed cell gets a random control of its cell type, drawn per
batch), the data pipeline included (CSR rows -> dense float32 per batch), on CPU with the
given thread count. Prints cells/s over the timed batches (the first batch is warm-up).

usage: train_latent_torch.py FILE.h5ad --width 3072 --latent 160 --layers 3 --batch 4000
       --batches 6 --threads 2
"""
import argparse
import time

import anndata as ad
import numpy as np
import torch
from torch import nn


def mlp(inp, hidden, out, n_layers, dropout):
    layers = []
    w = inp
    for _ in range(n_layers):
        layers += [nn.Linear(w, hidden), nn.LayerNorm(hidden, elementwise_affine=False), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        w = hidden
    layers.append(nn.Linear(w, out))
    return nn.Sequential(*layers)


class LatentAdditive(nn.Module):
    def __init__(self, genes, perts, covs, width, latent, n_layers, dropout):
        super().__init__()
        self.gene_encoder = mlp(genes + covs, width, latent, n_layers, dropout)
        self.pert_encoder = mlp(perts, width, latent, n_layers, dropout)
        self.decoder = mlp(latent + covs, width, genes, n_layers, dropout)

    def forward(self, ctrl, pert, cov):
        z = self.gene_encoder(torch.cat([ctrl, cov], 1)) + self.pert_encoder(pert)
        return nn.functional.softplus(self.decoder(torch.cat([z, cov], 1)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--width", type=int, default=3072)
    ap.add_argument("--latent", type=int, default=160)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--batch", type=int, default=4000)
    ap.add_argument("--batches", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    adata = ad.read_h5ad(a.file)
    X = adata.X.tocsr().astype(np.float32)
    cond = adata.obs["condition"].astype(str).values
    ct = adata.obs["cell_type"].astype(str).values
    singles = sorted({s for c in cond if c != "control" for s in c.split("+")})
    pidx = {s: i for i, s in enumerate(singles)}
    cts = sorted(set(ct))
    cidx = {c: i for i, c in enumerate(cts)}
    perturbed = np.flatnonzero(cond != "control")
    pools = {c: np.flatnonzero((cond == "control") & (ct == c)) for c in cts}
    model = LatentAdditive(X.shape[1], len(singles), len(cts), a.width, a.latent, a.layers, a.dropout)
    opt = torch.optim.Adam(model.parameters(), lr=6.72e-5, weight_decay=7.9e-9)
    order = rng.permutation(perturbed)
    times = []
    for b in range(a.batches + 1):
        t0 = time.perf_counter()
        idx = order[b * a.batch:(b + 1) * a.batch]
        ctrl = np.array([rng.choice(pools[ct[i]]) for i in idx])
        x = torch.from_numpy(X[idx].toarray())
        c = torch.from_numpy(X[ctrl].toarray())
        p = torch.zeros(len(idx), len(singles))
        v = torch.zeros(len(idx), len(cts))
        for k, i in enumerate(idx):
            for s in cond[i].split("+"):
                p[k, pidx[s]] = 1.0
            v[k, cidx[ct[i]]] = 1.0
        loss = nn.functional.mse_loss(model(c, p, v), x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    timed = times[1:]
    cells = a.batch * len(timed)
    print(f"torch {torch.__version__} threads {a.threads}: all {a.batches + 1} batches "
          f"{a.batch * len(times) / sum(times):.1f} cells/s; without the first "
          f"{cells / sum(timed):.1f} cells/s ({np.mean(timed):.3f} s per {a.batch}-cell batch, "
          f"first {times[0]:.3f} s), loss {loss.item():.5f}")


if __name__ == "__main__":
    main()
