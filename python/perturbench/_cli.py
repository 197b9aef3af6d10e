"""The ``perturbench`` command (console script and ``python -m perturbench``)."""

from __future__ import annotations

import sys

from . import _native


def self_command() -> list[str]:
    """The command that runs perturbench again (trials of tune, benchmark and worker)."""
    return [sys.executable, "-m", "perturbench"]


def main(argv: list[str] | None = None) -> int:
    """Runs the command line (``sys.argv`` by default) like the Rust binary; returns its code."""
    if argv is None:
        argv = sys.argv[1:]
    _native.set_self_command(self_command())
    sys.stdout.flush()
    code = _native.main(["perturbench", *argv])
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
