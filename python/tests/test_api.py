"""The Python API gives the command line's results."""

import subprocess
import sys

import anndata
import numpy as np
import pandas as pd
import pytest

import perturbench
from perturbench._evaluate import read_table


def test_version(cli):
    out = subprocess.run([cli, "--version"], check=True, capture_output=True, text=True).stdout
    assert out.strip() == f"perturbench {perturbench.__version__}"
    out = subprocess.run([sys.executable, "-m", "perturbench", "--version"], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == f"perturbench {perturbench.__version__}"


def test_simulate_matches_cli(sim_path):
    ad = perturbench.simulate("small", seed=3)
    ref = anndata.read_h5ad(sim_path)
    assert ad.shape == ref.shape
    assert (ad.obs_names == ref.obs_names).all()
    assert np.array_equal(ad.X.toarray(), ref.X.toarray())
    assert len(ad.uns) > 0


def test_split_matches_cli(sim_path, cli, tmp_path):
    out = tmp_path / "split.csv"
    subprocess.run(
        [cli, "--quiet", "split", str(sim_path), "--out", str(out), "--task", "transfer", "--seed", "5"],
        check=True,
    )
    expected = pd.read_csv(out, dtype=str, keep_default_na=False)
    got = perturbench.split(anndata.read_h5ad(sim_path), task="transfer", seed=5)
    assert list(got.index) == list(expected["cell_id"])
    assert [x if x is not None else "" for x in got] == list(expected["split"])
    assert set(got.dropna()) <= {"train", "val", "test"}


def test_evaluate_matches_cli(sim_path, cli, tmp_path):
    ref = anndata.read_h5ad(sim_path)
    rng = np.random.default_rng(0)
    pred = ref.copy()
    pred.X = (ref.X.toarray() + rng.poisson(1.0, ref.shape)).astype(np.float32)
    pred_path = tmp_path / "pred.h5ad"
    pred.write_h5ad(pred_path)
    out = tmp_path / "eval"
    subprocess.run(
        [cli, "--quiet", "evaluate", "--reference", str(sim_path), "--prediction", f"noisy={pred_path}",
         "--out", str(out), "--no-checksums"],
        check=True,
    )
    expected = read_table(str(out / "per_perturbation.csv"))
    got = perturbench.evaluate(ref, {"noisy": pred})
    assert list(got.columns[:6]) == ["model", "aggregation", "metric", "covariates", "perturbation", "value"]
    assert got.shape == expected.shape
    for c in ["model", "aggregation", "metric", "covariates", "perturbation"]:
        assert list(got[c]) == list(expected[c])
    np.testing.assert_allclose(got["value"], expected["value"], rtol=0, atol=1e-9, equal_nan=True)
    summary = perturbench.summary(got)
    expected_summary = read_table(str(out / "summary.csv"))
    assert summary.shape == expected_summary.shape


def test_prediction_requests(sim_path):
    ad = anndata.read_h5ad(sim_path)
    labels = perturbench.split(ad, task="transfer", seed=5)
    req = perturbench.prediction_requests(ad, labels, which="val", max_control_cells=20)
    assert req.n_vars == ad.n_vars
    assert "control_cell" in req.obs
    assert set(req.obs["control_cell"]) <= set(ad.obs_names)
    ctrl = ad.obs.loc[req.obs["control_cell"], "condition"].astype(str)
    assert (ctrl == "control").all()
    val = set(ad.obs.loc[(labels == "val").to_numpy(), "condition"].astype(str)) - {"control"}
    assert set(req.obs["condition"].astype(str)) == val


def test_errors(sim_path, tmp_path):
    ad = anndata.read_h5ad(sim_path)
    with pytest.raises(ValueError, match="task"):
        perturbench.split(ad, task="no-such-task")
    with pytest.raises(KeyError):
        perturbench.split(ad, task="transfer", perturbation_key="no_such_column")
    with pytest.raises(TypeError):
        perturbench.evaluate(ad, {"m": "not an AnnData"})
    with pytest.raises(FileNotFoundError):
        perturbench.prediction_requests(ad, task="saved", split_file=str(tmp_path / "missing.csv"))
