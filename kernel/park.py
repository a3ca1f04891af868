"""Parking a simulated thread until the kernel hands it the CPU.

Every simulated thread waits in exactly one place: its parker. The kernel unparks the
one thread it chooses to run next, so trio's (or asyncio's) own scheduler never has a
choice between two simulated threads. A parker holds a permit, so an unpark that comes
before the park (a thread just started) is not lost.

On trio the parker uses ``trio.lowlevel`` park/reschedule directly, the cheapest
handoff trio has, and ``park`` hands back trio's own wait rather than wrapping it in
a coroutine of its own (one frame less on each side of every task switch); on
asyncio it waits on a future. Either way cancellation (a killed process) wakes the
parked thread with the backend's cancellation exception.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol, cast

import sniffio
import trio

if TYPE_CHECKING:
    from collections.abc import Awaitable

_current_task = trio.lowlevel.current_task
_reschedule = trio.lowlevel.reschedule
_wait_task_rescheduled = trio.lowlevel.wait_task_rescheduled


class Parker(Protocol):
    """Where one simulated thread waits for the CPU."""

    def unpark(self) -> None:
        """Let the thread run (now if parked, else at its next park)."""

    def park(self) -> Awaitable[None]:
        """Wait until unparked (at once if a permit is pending); await the result now."""


class _Now(tuple):  # type: ignore[type-arg]
    """An awaitable that is done at once (a park that found its permit).

    Its ``__await__`` is the empty tuple's iterator, a C function: awaiting it makes
    no generator (it ends every kernel call that need not switch).
    """

    __slots__ = ()
    __await__ = tuple.__iter__


NOW: Awaitable[None] = cast("Awaitable[None]", _Now())
"""Awaiting this returns at once: for kernel paths that usually have nothing to wait for."""


class _TrioParker:
    __slots__ = ("_permit", "_task", "_waiting")

    def __init__(self) -> None:
        # A parker serves one simulated thread, which runs in one trio task: the task
        # is looked up at the first park and kept.
        self._task: trio.lowlevel.Task | None = None
        self._waiting: trio.lowlevel.Task | None = None  # the task, while parked
        self._permit = False

    def unpark(self) -> None:
        task = self._waiting
        if task is not None:
            self._waiting = None
            _reschedule(task)
        else:
            self._permit = True

    def _abort(self, _raise_cancel: object) -> trio.lowlevel.Abort:
        self._waiting = None
        return trio.lowlevel.Abort.SUCCEEDED

    def park(self) -> Awaitable[None]:
        if self._permit:
            self._permit = False
            return NOW
        task = self._task
        if task is None:
            task = self._task = _current_task()
        self._waiting = task
        wait: Awaitable[None] = _wait_task_rescheduled(self._abort)
        return wait


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
