"""The installed command: the notebook example, external models and tuning from the wheel."""

import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]


def test_example_script():
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples/python/score_my_model.py")],
        check=True, capture_output=True, text=True,
    ).stdout
    assert "mean-shift" in out


def test_external_scores_like_control_mean(sim_path, cli, tmp_path):
    def train(out, *model):
        subprocess.run([cli, "--quiet", "train", str(sim_path), "--task", "transfer", *model, "--out", str(out)], check=True, cwd=ROOT)
        return pd.read_csv(out / "evaluation" / "per_perturbation.csv")

    external = train(
        tmp_path / "ext", "model=external",
        f"model.command={sys.executable} examples/external/control_mean.py {{train}} {{requests}} {{out}}",
    )
    builtin = train(tmp_path / "builtin", "model=control-mean")
    cols = ["aggregation", "metric", "covariates", "perturbation"]
    merged = external.merge(builtin, on=cols, suffixes=("_ext", "_builtin"))
    assert len(merged) == len(builtin) > 0
    assert (merged["value_ext"] - merged["value_builtin"]).abs().max() < 1e-9


SPACE = """space:
  model.lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
  model.latent_dim: {type: categorical, choices: [16, 32]}
"""


def test_tune_runs_trials_through_python(sim_path, cli, tmp_path):
    """Trials are child processes `python -m perturbench train ...` under the wheel."""
    out = tmp_path / "tune"
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    subprocess.run(
        [cli, "--quiet", "tune", str(sim_path), "model=latent-additive", "data.task=transfer",
         "model.encoder_width=32", "model.n_layers=1", "trainer.max_epochs=2", "--space", str(space),
         "--study", "py", "--trials", "2", "--out", str(out)],
        check=True, cwd=tmp_path,
    )
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 2
    assert (trials["state"] == "COMPLETE").all()
