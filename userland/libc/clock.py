"""Time: the clock a user program reads, and sleeping.

:func:`monotonic` is the kernel clock (seconds since boot; virtual time in tests). Reading
it is a trap that makes no request (a choice point, like any kernel entry). :func:`time` is the
real-time clock: :data:`EPOCH` (the moment the simulated machine's clock shows at boot,
2026-01-01 00:00:00 UTC, the same in every run so that runs replay) plus
:func:`monotonic`.

:func:`sleep` is MINIX's: nanosleep is a select on no descriptors with a timeout, so it
blocks in VFS on the kernel clock and a signal ends it early (InterruptedError, as
Python's ``time.sleep`` would be retried; here the caller decides).
"""

from __future__ import annotations

import errno
from typing import Final

from userland.libc._context import handle
from userland.libc._syscall import oserror
from userland.libc.select import select

__all__ = ["EPOCH", "monotonic", "sleep", "time"]

EPOCH: Final = 1_767_225_600.0
"""What :func:`time` returns at boot: 2026-01-01 00:00:00 UTC."""


async def monotonic() -> float:
    """Seconds since boot on the kernel clock."""
    h = handle()
    await h.yield_()  # a trap: a choice point, and the clock moves on virtual time
    return h.now()


async def time() -> float:
    """Seconds since the Unix epoch on the simulated machine's real-time clock."""
    return EPOCH + await monotonic()


async def sleep(seconds: float) -> None:
    """Block for ``seconds`` of kernel time (EINVAL if negative; EINTR on a signal)."""
    if seconds < 0:
        raise oserror(errno.EINVAL, "negative sleep")
    await select([], [], [], seconds)
