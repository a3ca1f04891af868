"""Synchronisation objects the kernel provides to multi-threaded servers.

A server such as VFS runs several threads; they coordinate with these objects rather
than with anyio's or trio's, because every wait and every wake-up here is a kernel
choice point: when several threads wait, the policy picks which one goes next (FIFO
by default), so lock hand-offs replay from a seed like everything else. The
three-level lock of VFS is built on :class:`Mutex` and :class:`Condition`.

The caller is always the thread holding the CPU. A waiter whose process dies is
skipped. A mutex whose owner dies stays locked (like a non-robust POSIX mutex): the
owner's process is gone, and so are the other threads that could have wanted it.
"""

from __future__ import annotations

import errno
from collections import deque
from typing import TYPE_CHECKING

from kernel.errors import KernelError
from kernel.proc import BLOCK_DEAD, BLOCK_SYNC

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.proc import Thread


def _caller(k: Kernel) -> Thread:
    thread = k.current
    if thread is None:
        raise KernelError(
            errno.EPERM, "kernel synchronisation used from outside a simulated thread"
        )
    k.trap()
    return thread


def _next_waiter(k: Kernel, waiters: deque[Thread]) -> Thread | None:
    while waiters and waiters[0].blocked & BLOCK_DEAD:
        waiters.popleft()
    for t in [t for t in waiters if t.blocked & BLOCK_DEAD]:
        waiters.remove(t)
    if not waiters:
        return None
    i = k.policy.choose([t.prio for t in waiters]) if len(waiters) > 1 and k.policy.choosy else 0
    thread = waiters[i]
    del waiters[i]
    return thread


class Mutex:
    """A mutual-exclusion lock; acquisition order among waiters is the policy's choice."""

    __slots__ = ("_k", "_waiters", "owner")

    def __init__(self, kernel: Kernel) -> None:
        self._k = kernel
        self.owner: Thread | None = None
        self._waiters: deque[Thread] = deque()

    @property
    def locked(self) -> bool:
        """Whether some thread holds the mutex."""
        return self.owner is not None

    async def lock(self) -> None:
        """Acquire the mutex, blocking while another thread holds it.

        Raises:
            KernelError: EDEADLK if the caller already holds it.
        """
        k = self._k
        t = _caller(k)
        if self.owner is None:
            self.owner = t
            await k.yield_cpu(t)
            return
        if self.owner is t:
            raise KernelError(errno.EDEADLK, "mutex already held by this thread")
        self._waiters.append(t)
        t.blocked |= BLOCK_SYNC
        await k.block(t)

    def try_lock(self) -> bool:
        """Acquire the mutex if it is free; never blocks, not a choice point."""
        t = _caller(self._k)
        if self.owner is None:
            self.owner = t
            return True
        return False

    def _release(self, t: Thread) -> None:
        if self.owner is not t:
            raise KernelError(errno.EPERM, "mutex not held by this thread")
        nxt = _next_waiter(self._k, self._waiters)
        self.owner = nxt
        if nxt is not None:
            self._k.wake(nxt, BLOCK_SYNC)

    async def unlock(self) -> None:
        """Release the mutex, handing it to a waiter if there is one.

        Raises:
            KernelError: EPERM if the caller does not hold it.
        """
        t = _caller(self._k)
        self._release(t)
        await self._k.yield_cpu(t)

    async def __aenter__(self) -> Mutex:
        await self.lock()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.unlock()


class Condition:
    """A condition variable used with a :class:`Mutex`."""

    __slots__ = ("_k", "_waiters", "mutex")

    def __init__(self, kernel: Kernel, mutex: Mutex) -> None:
        self._k = kernel
        self.mutex = mutex
        self._waiters: deque[Thread] = deque()

    async def wait(self) -> None:
        """Release the mutex, wait for a signal, then reacquire the mutex."""
        k = self._k
        t = _caller(k)
        self.mutex._release(t)
        self._waiters.append(t)
        t.blocked |= BLOCK_SYNC
        await k.block(t)
        await self.mutex.lock()

    async def signal(self) -> None:
        """Wake one waiter (the policy's choice), if any."""
        t = _caller(self._k)
        nxt = _next_waiter(self._k, self._waiters)
        if nxt is not None:
            self._k.wake(nxt, BLOCK_SYNC)
        await self._k.yield_cpu(t)

    async def broadcast(self) -> None:
        """Wake every waiter."""
        t = _caller(self._k)
        while (nxt := _next_waiter(self._k, self._waiters)) is not None:
            self._k.wake(nxt, BLOCK_SYNC)
        await self._k.yield_cpu(t)
