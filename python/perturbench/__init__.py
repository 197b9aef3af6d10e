"""PerturBench in Rust, from Python: evaluate, split, prediction requests and simulated data
on in-memory AnnData objects, plus the ``perturbench`` command (``python -m perturbench``).

Every function runs perturbench's Rust library in this process and gives the same numbers as
the command line.
"""

from ._native import __version__
from ._evaluate import evaluate, summary
from ._requests import prediction_requests
from ._simulate import simulate
from ._split import split

__all__ = ["__version__", "evaluate", "prediction_requests", "simulate", "split", "summary"]
