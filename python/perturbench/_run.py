"""Running perturbench commands in this process and turning their errors into exceptions."""

from __future__ import annotations

import sys
from typing import Any

from . import _native


def flag_args(options: dict[str, Any]) -> list[str]:
    """``{"max_heldout_fraction": 0.3}`` → ``["--max-heldout-fraction", "0.3"]``; lists are
    joined with commas, ``True`` is a bare flag, ``None`` and ``False`` are left out."""
    out: list[str] = []
    for key, value in options.items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            out.append(flag)
        elif isinstance(value, (list, tuple)):
            out += [flag, ",".join(str(v) for v in value)]
        else:
            out += [flag, str(value)]
    return out


def run(args: list[str]) -> None:
    """Runs ``perturbench --quiet ARGS`` in this process (without the GIL).

    Raises the command's error as ``FileNotFoundError`` (a missing file), ``KeyError`` (a
    missing obs column) or ``ValueError`` (anything else, usage errors included), with the
    command line's message.
    """
    _native.set_self_command([sys.executable, "-m", "perturbench"])
    code, text, _ = _native.run(["perturbench", "--quiet", *args])
    if code != 0:
        raise ValueError(text.strip())

