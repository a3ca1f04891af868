"""TerminalDriver: what every terminal driver shares — its conversation with PM and its alarm.

A terminal driver (the console's :class:`~chardev.tty.driver.Tty`, the ptys'
:class:`~chardev.tty.pty.Pty`) is a :class:`~chardev.lib.Driver` hosting one or more
:class:`~chardev.tty.terminal.Terminal` objects. This base class gives them:

- **PM's job-control protocol** (docs/tty.md, "Job control"). Every message between the
  driver and PM is a ``senda``: the driver's main thread is always receiving, so a
  ``sendrec`` to PM could deadlock with PM's signals making VFS cancel a request here.
  :meth:`pm_signal` raises a signal (fire and forget); :meth:`pm_ask` sends a
  :class:`~servers.pm.protocol.PmTtyQuery` with a fresh tag, either naming a
  continuation run (on the main thread, under the lock) when the answer arrives — for
  questions asked from ``open``, which cannot wait — or registering the tag for
  :meth:`pm_answer`, which waits for it on a request thread. :meth:`other` hands PM's
  answers over and routes PM's ``PmTtyHangup(sid)`` to the terminal of that session:
  tags are the driver's and a session has at most one terminal, so one driver serves
  any number of terminals and PM needs no terminal id (the session-acquiring question
  names the terminal's device number, :attr:`TerminalDriver.major` and its minor, only
  for ``ps`` to show).
- **The raw-mode alarm**: one driver alarm for the earliest VMIN/VTIME deadline of any
  of its terminals; its expiry wakes every terminal's waiters to retry.

A subclass lists its terminals (:meth:`terminals`) and says what a change of one
means beyond waking its waiters (:meth:`terminal_changed`: select notifications).
"""

from __future__ import annotations

import errno
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, TypeAlias

from chardev.lib import Driver
from chardev.protocol import CDEV_NONBLOCK
from kernel.com import PM_PROC_NR
from kernel.errors import KernelError
from servers.pm.protocol import PmTtyAnswer, PmTtyHangup, PmTtyQuery, PmTtySignal

if TYPE_CHECKING:
    from chardev.tty.terminal import Terminal
    from kernel.message import Message
    from kernel.sync import Condition

Continuation: TypeAlias = Callable[[PmTtyAnswer], Awaitable[None]]
"""What to do with PM's answer to a question asked where nothing can wait."""


class TerminalDriver(Driver):
    """A driver of terminals: PM's job-control conversation and the raw-mode alarm."""

    major: int = 0
    """The major its terminals' device numbers have (each driver class sets its own)."""

    def __init__(self) -> None:
        super().__init__()
        self._tag = 0
        self._answers: dict[int, PmTtyAnswer | None] = {}
        """PM's answers awaited by :meth:`pm_answer`, by tag (None: not come yet)."""
        self._then: dict[int, Continuation] = {}
        self._answered: Condition | None = None

    # -- what a subclass provides ------------------------------------------------------

    def terminals(self) -> Iterable[Terminal]:
        """The terminals this driver has now."""
        raise NotImplementedError

    async def terminal_changed(self, term: Terminal) -> None:
        """``term``'s input, settings or state changed: wake its waiters, re-arm the alarm.

        Subclasses extend this with the select notifications now due.
        """
        await term.changed.broadcast()
        await self.arm_timer()

    # -- PM ----------------------------------------------------------------------------

    @property
    def answered(self) -> Condition:
        """Broadcast whenever PM answered a question."""
        if self._answered is None:
            self._answered = self.condition()
        return self._answered

    async def pm_signal(self, pgrp: int, sig: int, pid: int = 0) -> None:
        """Raise ``sig`` on group ``pgrp`` (or on process ``pid``): one message, no wait."""
        try:
            await self.proc.senda(PM_PROC_NR, PmTtySignal(pgrp, sig, pid))
        except KernelError as exc:
            self.log.warning("terminal signal lost", signo=sig, error=str(exc))

    async def pm_ask(self, query: PmTtyQuery, then: Continuation | None = None) -> int | None:
        """Send ``query`` with a fresh tag (returned); None when PM is unreachable.

        With ``then``, PM's answer is handed to it; without, :meth:`pm_answer` waits.
        """
        self._tag += 1
        query.tag = tag = self._tag
        if then is not None:
            self._then[tag] = then
        else:
            self._answers[tag] = None
        try:
            await self.proc.senda(PM_PROC_NR, query)
        except KernelError as exc:
            self.log.warning("PM unreachable", op=query.op, error=str(exc))
            self._then.pop(tag, None)
            self._answers.pop(tag, None)
            return None
        return tag

    async def pm_answer(self, query: PmTtyQuery, user: int) -> int:
        """Ask ``query`` for ``user``'s request and wait for PM's status (EIO: no PM)."""
        tag = await self.pm_ask(query)
        if tag is None:
            return errno.EIO
        try:
            while (answer := self._answers[tag]) is None:
                await self.wait_for_pm(self.answered, user)
        finally:
            del self._answers[tag]
        return answer.status

    async def wait_for_pm(self, cond: Condition, user: int) -> None:
        """Wait on ``cond`` for PM, in ``user``'s request, even if it is non-blocking.

        Waiting for PM is not blocking in CDEV_NONBLOCK's sense (Linux stops a
        non-blocking background reader too), so the flag is set aside; a cancel still
        ends the wait.
        """
        req = self._requests.get(user)  # the framework's record of this request
        nonblock = 0
        if req is not None:
            nonblock, req.flags = req.flags & CDEV_NONBLOCK, req.flags & ~CDEV_NONBLOCK
        try:
            await self.wait(cond)
        finally:
            if req is not None:
                req.flags |= nonblock

    async def other(self, msg: Message) -> None:
        """PM's answers and hang-ups; anything else goes to the base class."""
        if not isinstance(msg, PmTtyAnswer | PmTtyHangup) or msg.m_source != PM_PROC_NR:
            await super().other(msg)
            return
        async with self.lock:
            if isinstance(msg, PmTtyHangup):
                for term in list(self.terminals()):
                    if term.session == msg.sid:
                        await term.hang_up(carrier=False)
                return
            then = self._then.pop(msg.tag, None)
            if then is not None:
                await then(msg)
            elif msg.tag in self._answers:
                self._answers[msg.tag] = msg
            else:
                return  # its request was cancelled
            await self.answered.broadcast()

    # -- the raw-mode alarm --------------------------------------------------------------

    async def arm_timer(self) -> None:
        """Arm the alarm for the earliest raw-mode read deadline of any terminal."""
        deadlines = [d for t in self.terminals() if (d := t.linedisc.timer()) is not None]
        if deadlines:
            await self.set_alarm(max(0.0, min(deadlines) - self.kernel.clock()))

    async def alarm(self, now: float) -> None:
        """A VMIN/VTIME deadline passed: let every waiting reader retry (and re-arm)."""
        for term in list(self.terminals()):
            await term.changed.broadcast()


__all__ = ["Continuation", "TerminalDriver"]
