"""The Python API gives the command line's results."""

import subprocess
import sys

import anndata
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

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


#: The external "model" that keeps the requests it is given and predicts each as its control.
_KEEP = "import shutil, sys; shutil.copy(sys.argv[1], sys.argv[2]); shutil.copy(sys.argv[1], sys.argv[3])"


def test_prediction_requests_equal_the_external_protocol(sim_path, cli, tmp_path):
    """The in-memory requests equal the {requests} file `train model=external` writes."""
    ad = anndata.read_h5ad(sim_path)
    labels = perturbench.split(ad, task="transfer", seed=5)
    for which, given in [("val", labels), ("test", None)]:
        req = perturbench.prediction_requests(
            ad, given, which=which, max_control_cells=20, seed=3, task="transfer", split_seed=5
        )
        kept = tmp_path / f"{which}.h5ad"
        command = f"{sys.executable} -c '{_KEEP}' {{requests}} {kept} {{out}}"
        subprocess.run(
            [cli, "--quiet", "train", str(sim_path), "model=external", f"model.command={command}",
             f"evaluation.split={which}", "evaluation.max_control_cells=20",
             "evaluation.prediction_seed=3", "--task", "transfer", "--seed", "5",
             "--out", str(tmp_path / f"run-{which}")],
            check=True, capture_output=True,
        )
        expected = anndata.read_h5ad(kept)
        assert list(req.obs_names) == list(expected.obs_names)
        assert list(req.obs.columns) == list(expected.obs.columns)
        for col in expected.obs.columns:
            assert list(req.obs[col].astype(str)) == list(expected.obs[col].astype(str)), col
        assert list(req.var_names) == list(expected.var_names)
        assert np.array_equal(np.asarray(req.X.todense()), np.asarray(expected.X.todense()))
        assert req.uns["perturbench"]["perturbation_key"] == expected.uns["perturbench"]["perturbation_key"]
        assert list(req.uns["perturbench"]["covariate_keys"]) == list(expected.uns["perturbench"]["covariate_keys"])
        ctrl = ad.obs.loc[req.obs["control_cell"], "condition"].astype(str)
        assert (ctrl == "control").all()
        chosen = labels == which
        groups = set(ad.obs.loc[chosen.to_numpy(), "condition"].astype(str)) - {"control"}
        assert set(req.obs["condition"].astype(str)) == groups


def test_prediction_requests_errors(sim_path):
    ad = anndata.read_h5ad(sim_path)
    labels = perturbench.split(ad, task="transfer", seed=5)
    with pytest.raises(ValueError, match="which"):
        perturbench.prediction_requests(ad, labels, which="train")
    bad = labels.copy()
    bad.iloc[0] = "validation"
    with pytest.raises(ValueError, match="validation"):
        perturbench.prediction_requests(ad, bad)
    none = labels.where(labels != "val", "test")
    with pytest.raises(ValueError, match="no val cells"):
        perturbench.prediction_requests(ad, none, which="val")
    with pytest.raises(KeyError):
        perturbench.prediction_requests(ad, labels, perturbation_key="no_such_column")


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


def _layouts(ad):
    """The same cells with X in every layout the in-memory API reads."""
    x = ad.X.tocsr() if sp.issparse(ad.X) else sp.csr_matrix(ad.X)
    out = {}
    for name, data, idx in [("csr32", np.float32, np.int32), ("csr64", np.float64, np.int64)]:
        m = sp.csr_matrix((x.data.astype(data), x.indices.astype(idx), x.indptr.astype(idx)), shape=x.shape)
        out[name] = anndata.AnnData(X=m, obs=ad.obs.copy(), var=ad.var.copy())
    out["dense64"] = anndata.AnnData(X=x.toarray().astype(np.float64), obs=ad.obs.copy(), var=ad.var.copy())
    # Unsorted column indices within rows (scipy allows them): reversed in every row.
    rev = x.copy()
    for r in range(rev.shape[0]):
        s, e = rev.indptr[r], rev.indptr[r + 1]
        rev.indices[s:e] = rev.indices[s:e][::-1].copy()
        rev.data[s:e] = rev.data[s:e][::-1].copy()
    rev.has_sorted_indices = False
    out["unsorted"] = anndata.AnnData(X=rev, obs=ad.obs.copy(), var=ad.var.copy())
    return out


def test_evaluate_in_memory_layouts_match_cli(sim_path, cli, tmp_path):
    """Every X layout and a view give the CLI's values, for fit, rank and cell-level pipelines."""
    ref = anndata.read_h5ad(sim_path)
    rng = np.random.default_rng(1)
    pred = ref.copy()
    pred.X = sp.csr_matrix((ref.X.toarray() * rng.uniform(0.5, 1.5, ref.shape)).astype(np.float32))
    pred_path = tmp_path / "pred.h5ad"
    pred.write_h5ad(pred_path)
    pipelines = ["average:rmse:rank", "logfc:cosine:rank", "scaled:pearson", "pca:energy"]
    out = tmp_path / "eval"
    cmd = [cli, "--quiet", "evaluate", "--reference", str(sim_path), "--prediction", f"m={pred_path}",
           "--out", str(out), "--no-checksums"]
    for p in pipelines:
        cmd += ["--pipeline", p]
    subprocess.run(cmd, check=True)
    expected = read_table(str(out / "per_perturbation.csv"))
    refs = _layouts(ref)
    preds = _layouts(pred)
    # A view of every cell (anndata keeps it a view; the API copies it once).
    refs["view"] = ref[np.ones(ref.n_obs, dtype=bool)]
    assert refs["view"].is_view
    preds["view"] = preds["csr32"]
    for layout in refs:
        got = perturbench.evaluate(refs[layout], {"m": preds[layout]}, pipelines=pipelines)
        assert got.shape == expected.shape, layout
        for c in ["model", "aggregation", "metric", "covariates", "perturbation"]:
            assert list(got[c]) == list(expected[c]), (layout, c)
        np.testing.assert_allclose(got["value"], expected["value"], rtol=0, atol=1e-9, equal_nan=True,
                                   err_msg=layout)
    summary = perturbench.summary(got)
    expected_summary = read_table(str(out / "summary.csv"))
    assert list(summary["metric"]) == list(expected_summary["metric"])
    np.testing.assert_allclose(summary["value"], expected_summary["value"], rtol=0, atol=1e-9)


def test_evaluate_in_memory_errors(sim_path):
    ref = anndata.read_h5ad(sim_path)
    other_genes = ref[:, : ref.n_vars - 1].copy()
    with pytest.raises(ValueError, match=r"predictions\['m'\]"):
        perturbench.evaluate(ref, {"m": other_genes})
    with pytest.raises(KeyError, match="no_such_column"):
        perturbench.evaluate(ref, {"m": ref}, perturbation_key="no_such_column")
    with pytest.raises(ValueError, match="--no-such-flag"):
        perturbench.evaluate(ref, {"m": ref}, no_such_flag=1)
    bad = ref.copy()
    bad.X = sp.csr_matrix(bad.X)
    bad.X.indices[0] = ref.n_vars + 5
    with pytest.raises(ValueError, match="X.indices"):
        perturbench.evaluate(ref, {"m": bad})


def test_split_in_memory_obs_kinds(sim_path, cli, tmp_path):
    """Categorical, string and nullable-string perturbation columns split as the CLI splits the
    same AnnData written to a file. (The kinds may split differently from each other: like the
    reference's pandas groupby, groups are visited in category order for a categorical and in
    sorted order for plain strings.)"""
    ad = anndata.read_h5ad(sim_path)
    for kind in ["category", "object", "string"]:
        other = ad.copy()
        other.obs["condition"] = other.obs["condition"].astype(str).astype(kind)
        got = perturbench.split(other, task="transfer", seed=5)
        path = tmp_path / f"{kind}.h5ad"
        other.write_h5ad(path)
        out = tmp_path / f"{kind}.csv"
        subprocess.run(
            [cli, "--quiet", "split", str(path), "--out", str(out), "--task", "transfer", "--seed", "5"],
            check=True,
        )
        expected = pd.read_csv(out, dtype=str, keep_default_na=False).iloc[:, 1]
        assert list(got.fillna("")) == list(expected), kind
