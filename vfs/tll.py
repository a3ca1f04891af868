"""The three-level lock (MINIX's ``vfs/tll.c``) on vnodes and mounts.

A :class:`TLL` is held in one of three modes:

- READ: shared; any number of readers, alongside at most one READSER holder;
- READSER (read-serialised): one owner at a time, but readers may come and go;
- WRITE: exclusive.

Requests that cannot be granted wait in two FIFO queues, as in MINIX: one for READ
and WRITE requests, one for READSER requests. The lock is write-biased: once a WRITE
(or a READ behind it) waits, new READ and READSER requests queue too, so a writer is
never starved by a stream of readers. When the lock frees up, waiters are served in
arrival order across both queues, as many in a row as are compatible (several queued
readers go in together; MINIX releases them one at a time, which is only slower).

The READSER owner may :meth:`TLL.upgrade` to WRITE (waiting for the readers to leave;
new readers queue meanwhile) and the holder may :meth:`TLL.downgrade` (WRITE to
READSER, READSER to READ).

Every wait and wake-up goes through :mod:`kernel.sync` (a :class:`~kernel.sync.Mutex`
guarding the state and one :class:`~kernel.sync.Condition` per waiter, so the lock
itself decides who is granted next, in FIFO order, while the kernel's policy decides
when the woken thread runs). The granting thread sets the new holder's state before
waking it, which makes MINIX's ``TLL_PEND`` flag unnecessary.
"""

from __future__ import annotations

import errno
import itertools
from collections import deque
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING

from kernel.errors import KernelError
from kernel.sync import Condition, Mutex

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.proc import Thread


class Mode(IntEnum):
    """Lock modes (MINIX's ``TLL_NONE``, ``TLL_READ``, ``TLL_READSER``, ``TLL_WRITE``)."""

    NONE = 0
    READ = 1
    READSER = 2
    WRITE = 3


@dataclass(slots=True, eq=False)
class _Waiter:
    thread: Thread
    mode: Mode
    ticket: int
    cond: Condition
    granted: bool = field(default=False)


class TLL:
    """A three-level lock; see the module docstring for the rules."""

    __slots__ = (
        "_k",
        "_m",
        "_serial",
        "_tickets",
        "_upgrader",
        "_write",
        "current",
        "owner",
        "readers",
    )

    def __init__(self, kernel: Kernel) -> None:
        self._k = kernel
        self._m = Mutex(kernel)
        self.current = Mode.NONE
        self.owner: Thread | None = None
        """The READSER or WRITE holder (None while only readers hold the lock)."""
        self.readers = 0
        self._write: deque[_Waiter] = deque()
        self._serial: deque[_Waiter] = deque()
        self._upgrader: _Waiter | None = None
        self._tickets = itertools.count()

    # -- queries -----------------------------------------------------------------------

    def _me(self) -> Thread:
        t = self._k.current
        if t is None:
            raise KernelError(errno.EPERM, "tll used from outside a simulated thread")
        return t

    @property
    def locked(self) -> bool:
        """Whether anyone holds the lock in any mode."""
        return self.current is not Mode.NONE

    def locked_by_me(self) -> bool:
        """Whether the calling thread owns the lock as READSER or WRITE."""
        return self.owner is not None and self.owner is self._k.current

    @property
    def waiters(self) -> int:
        """How many requests wait (including an upgrade)."""
        return len(self._write) + len(self._serial) + (self._upgrader is not None)

    # -- operations --------------------------------------------------------------------

    async def lock(self, mode: Mode) -> int:
        """Acquire the lock in ``mode``.

        Blocks while an incompatible holder or an earlier queued request is in the way.

        Returns:
            0, or EBUSY if the caller already owns the lock as READSER or WRITE (then it
            must not unlock: MINIX callers use this to know they did not take it).
        """
        if mode is Mode.NONE:
            raise KernelError(errno.EINVAL, "cannot lock in mode NONE")
        me = self._me()
        await self._m.lock()
        try:
            if self.owner is me:
                return errno.EBUSY
            if self._may_enter(mode):
                self._grant(me, mode)
                return 0
            w = _Waiter(me, mode, next(self._tickets), Condition(self._k, self._m))
            (self._serial if mode is Mode.READSER else self._write).append(w)
            while not w.granted:
                await w.cond.wait()
            return 0
        finally:
            await self._m.unlock()

    def _may_enter(self, mode: Mode) -> bool:
        """Whether a new request may go ahead at once (compatibility plus write bias)."""
        if self.current is Mode.WRITE or self._upgrader is not None or self._write:
            return False
        if mode is Mode.READ:
            return True
        if mode is Mode.READSER:
            return self.owner is None and not self._serial
        return self.current is Mode.NONE and not self._serial

    def _grant(self, t: Thread, mode: Mode) -> None:
        if mode is Mode.READ:
            self.readers += 1
            if self.current is Mode.NONE:
                self.current = Mode.READ
        else:
            self.owner = t
            self.current = mode

    def _compatible(self, mode: Mode) -> bool:
        if mode is Mode.READ:
            return self.current is not Mode.WRITE
        if mode is Mode.READSER:
            return self.owner is None
        return self.current is Mode.NONE

    async def _dispatch(self) -> None:
        """Grant queued requests in arrival order while they are compatible."""
        woken: list[_Waiter] = []
        up = self._upgrader
        if up is not None:
            if self.readers == 0:
                self._upgrader = None
                self.current = Mode.WRITE
                woken.append(up)
        else:
            while self._write or self._serial:
                w = self._write[0] if self._write else None
                s = self._serial[0] if self._serial else None
                head = w if s is None or (w is not None and w.ticket < s.ticket) else s
                assert head is not None
                if not self._compatible(head.mode):
                    break
                (self._write if head is w else self._serial).popleft()
                self._grant(head.thread, head.mode)
                woken.append(head)
        for x in woken:
            x.granted = True
            await x.cond.signal()

    async def unlock(self) -> None:
        """Release the caller's hold (its READSER/WRITE ownership, else one READ hold).

        Never blocks beyond the lock's internal mutex.

        Raises:
            KernelError: EPERM if the caller holds nothing.
        """
        me = self._me()
        await self._m.lock()
        try:
            if self.owner is me:
                self.owner = None
                self.current = Mode.READ if self.readers else Mode.NONE
            elif self.readers > 0:
                self.readers -= 1
                if self.readers == 0 and self.owner is None:
                    self.current = Mode.NONE
            else:
                raise KernelError(errno.EPERM, "tll not held")
            await self._dispatch()
        finally:
            await self._m.unlock()

    async def upgrade(self) -> None:
        """READSER to WRITE; blocks until the current readers have left.

        Raises:
            KernelError: EPERM unless the caller owns the lock as READSER.
        """
        me = self._me()
        await self._m.lock()
        try:
            if self.owner is not me or self.current is not Mode.READSER:
                raise KernelError(errno.EPERM, "upgrade needs the READSER lock")
            if self.readers == 0:
                self.current = Mode.WRITE
                return
            w = _Waiter(me, Mode.WRITE, next(self._tickets), Condition(self._k, self._m))
            self._upgrader = w
            while not w.granted:
                await w.cond.wait()
        finally:
            await self._m.unlock()

    async def downgrade(self) -> None:
        """WRITE to READSER, or READSER to READ (the caller becomes a plain reader).

        Raises:
            KernelError: EPERM unless the caller owns the lock.
        """
        me = self._me()
        await self._m.lock()
        try:
            if self.owner is not me:
                raise KernelError(errno.EPERM, "downgrade needs READSER or WRITE")
            if self.current is Mode.WRITE:
                self.current = Mode.READSER
            else:
                self.owner = None
                self.readers += 1
                self.current = Mode.READ
            await self._dispatch()
        finally:
            await self._m.unlock()

    def __repr__(self) -> str:
        return (
            f"<TLL {self.current.name} owner={self.owner and self.owner.name} "
            f"readers={self.readers} waiting={self.waiters}>"
        )
