"""Parking a simulated thread until the kernel hands it the CPU.

Every simulated thread waits in exactly one place: its parker. The kernel unparks the
one thread it chooses to run next, so trio's (or asyncio's) own scheduler never has a
choice between two simulated threads. A parker holds a permit, so an unpark that comes
before the park (a thread just started) is not lost.

On trio the parker uses ``trio.lowlevel`` park/reschedule directly, the cheapest
handoff trio has; on asyncio it waits on a future. Either way cancellation (a killed
process) wakes the parked thread with the backend's cancellation exception.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

import sniffio
import trio


class Parker(Protocol):
    """Where one simulated thread waits for the CPU."""

    def unpark(self) -> None:
        """Let the thread run (now if parked, else at its next park)."""

    async def park(self) -> None:
        """Wait until unparked (returns at once if a permit is pending)."""


class _TrioParker:
    __slots__ = ("_permit", "_task")

    def __init__(self) -> None:
        self._task: trio.lowlevel.Task | None = None
        self._permit = False

    def unpark(self) -> None:
        task = self._task
        if task is not None:
            self._task = None
            trio.lowlevel.reschedule(task)
        else:
            self._permit = True

    def _abort(self, _raise_cancel: object) -> trio.lowlevel.Abort:
        self._task = None
        return trio.lowlevel.Abort.SUCCEEDED

    async def park(self) -> None:
        if self._permit:
            self._permit = False
            return
        self._task = trio.lowlevel.current_task()
        await trio.lowlevel.wait_task_rescheduled(self._abort)


class _AsyncioParker:
    __slots__ = ("_future", "_permit")

    def __init__(self) -> None:
        self._future: asyncio.Future[None] | None = None
        self._permit = False

    def unpark(self) -> None:
        future = self._future
        self._future = None
        if future is not None and not future.done():
            future.set_result(None)
        else:
            # Not parked, or parked on a future already cancelled (the thread is being
            # torn down for exec): keep the wake-up for the next park.
            self._permit = True

    async def park(self) -> None:
        if self._permit:
            self._permit = False
            return
        future = asyncio.get_running_loop().create_future()
        self._future = future
        try:
            await future
        finally:
            if self._future is future:
                self._future = None


def parker_factory() -> type[_TrioParker] | type[_AsyncioParker]:
    """The parker class for the async library running now."""
    return _TrioParker if sniffio.current_async_library() == "trio" else _AsyncioParker
