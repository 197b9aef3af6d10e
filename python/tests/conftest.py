"""Shared fixtures: a simulated dataset and the installed ``perturbench`` command."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cli() -> str:
    """The installed ``perturbench`` command (the wheel's console script)."""
    beside = Path(sys.executable).parent / "perturbench"
    exe = str(beside) if beside.exists() else shutil.which("perturbench")
    assert exe, "the perturbench command is not on PATH (pip install . first)"
    return exe


@pytest.fixture(scope="session")
def sim_path(tmp_path_factory, cli) -> Path:
    """A small simulated dataset written by the command line."""
    path = tmp_path_factory.mktemp("sim") / "sim.h5ad"
    subprocess.run([cli, "--quiet", "simulate", "--preset", "small", "--seed", "3", "--out", str(path)], check=True)
    return path
