"""``python -m perturbench``: the perturbench command."""

import sys

from ._cli import main

sys.exit(main())
