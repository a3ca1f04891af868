"""The machine's clock: the one time source the kernel reads.

It is anyio's clock of the running event loop, so under trio's ``MockClock`` (tests and the
fuzzer, with autojump) time is virtual and a ``sleep 5`` costs nothing, while an interactive
run sees real time. Kernel timers and everything that stamps a trace read :func:`now`.
"""

from __future__ import annotations

import anyio

__all__ = ["now"]


def now() -> float:
    """Return the current time of the running event loop, in seconds.

    Raises:
        RuntimeError: called outside a running event loop (anyio's error).
    """
    return anyio.current_time()
