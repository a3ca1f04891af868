"""``/bin/sh``: the shell (:mod:`userland.sh`)."""

from userland.sh.main import main

__all__ = ["main"]
