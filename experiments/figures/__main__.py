"""``python -m experiments.figures <experiment>``: see :mod:`experiments.figures.cli`."""

import sys

from experiments.figures.cli import main

sys.exit(main())
