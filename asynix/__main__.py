"""``python -m asynix``: the same as the ``asynix`` command."""

import sys

from asynix.cli import main

sys.exit(main())
