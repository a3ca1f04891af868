"""Time: the clock a user program reads, and sleeping.

:func:`monotonic` is the kernel clock (seconds since boot, 0 at boot on every backend;
virtual time in tests). :func:`time` is the time of day as MINIX computes it: the boot
time the kernel read from the real-time clock plus the uptime, both from one
:meth:`~kernel.process.Process.getuptime` trap (a kernel entry that makes no request: a
choice point). The boot time is :data:`EPOCH` (2026-01-01 00:00:00 UTC) on virtual time,
so that runs replay, and the host's wall clock on real time (an interactive ``asynix``);
``asynix.boot(boottime=...)`` sets it.

:func:`sleep` is MINIX's: nanosleep is a select on no descriptors with a timeout, so it
blocks in VFS on the kernel clock and a signal ends it early (InterruptedError, as
Python's ``time.sleep`` would be retried; here the caller decides).
"""

from __future__ import annotations

import errno
from typing import Final

from kernel.hw import rtc
from userland.libc._context import handle
from userland.libc._syscall import oserror
from userland.libc.select import select

__all__ = ["EPOCH", "monotonic", "sleep", "time"]

EPOCH: Final = float(rtc.EPOCH)
"""The boot time on virtual time: 2026-01-01 00:00:00 UTC, what :func:`time` returns at
boot in tests (on real time the boot time is the host's clock at boot)."""


async def monotonic() -> float:
    """Seconds since boot on the kernel clock."""
    h = handle()
    await h.yield_()  # a trap: a choice point, and the clock moves on virtual time
    return h.now()


async def time() -> float:
    """Seconds since the Unix epoch: the boot time plus the uptime (MINIX's way)."""
    uptime, boottime = await handle().getuptime()
    return boottime + uptime


async def sleep(seconds: float) -> None:
    """Block for ``seconds`` of kernel time (EINVAL if negative; EINTR on a signal)."""
    if seconds < 0:
        raise oserror(errno.EINVAL, "negative sleep")
    await select([], [], [], seconds)
