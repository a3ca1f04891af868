"""libc's per-process state: which process is running this code, and what libc keeps for it.

A user program is ordinary Python, so "the current process" is a
:class:`contextvars.ContextVar` set by the process's first instruction (libc's
``_start`` after exec, the fork entry after fork) inside the process's own task.
Everything libc keeps on the Python side lives in that process's :class:`LibcProc`:
the signal-handler callables (PM knows only that a signal is caught), the heap
allocator's books (the bytes themselves are in simulated memory) and the environment.
fork gives the child a copy; exec starts afresh.
"""

from __future__ import annotations

import contextvars
import errno
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from kernel.process import Process

    Handler = Callable[[int], Any]


class Heap:
    """malloc's books: allocated blocks and free holes in ``[start, top)`` of the heap.

    The break is learnt from VM on first use (``start`` None until then).
    """

    __slots__ = ("blocks", "holes", "start", "top")

    def __init__(self) -> None:
        self.start: int | None = None
        self.top = 0
        self.blocks: dict[int, int] = {}
        self.holes: list[tuple[int, int]] = []

    def copy(self) -> Heap:
        """The books as they are (for a fork child, whose heap is a copy)."""
        h = Heap()
        h.start, h.top = self.start, self.top
        h.blocks = dict(self.blocks)
        h.holes = list(self.holes)
        return h


class LibcProc:
    """What libc keeps for one process."""

    __slots__ = ("environ", "handle", "handlers", "heap", "restart")

    def __init__(self, handle: Process | None, environ: dict[str, str] | None = None) -> None:
        self.handle = handle
        self.handlers: dict[int, Handler] = {}
        self.restart = 0
        """Signals installed with SA_RESTART (libc restarts calls they interrupt)."""
        self.heap = Heap()
        self.environ: dict[str, str] = {} if environ is None else environ

    def fork_copy(self) -> LibcProc:
        """A copy for the child of a fork (its handle is set when it starts)."""
        c = LibcProc(None, dict(self.environ))
        c.handlers = dict(self.handlers)
        c.restart = self.restart
        c.heap = self.heap.copy()
        return c


_current: contextvars.ContextVar[LibcProc] = contextvars.ContextVar("asynix_libc_proc")


def current() -> LibcProc:
    """The running process's libc state.

    Raises:
        OSError: ENOSYS when called outside a user process (no libc context).
    """
    try:
        return _current.get()
    except LookupError:
        raise OSError(errno.ENOSYS, "not inside an asynix user process") from None


def handle() -> Process:
    """The running process's kernel handle."""
    h = current().handle
    assert h is not None
    return h


def enter(proc: LibcProc) -> None:
    """Make ``proc`` the current process of this task (the process's first instruction)."""
    _current.set(proc)


def strerror(code: int) -> str:
    """The message for ``code`` (as :func:`os.strerror`)."""
    return os.strerror(code)
