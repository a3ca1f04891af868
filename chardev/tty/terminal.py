r"""Terminal: one POSIX terminal — line discipline, window size, session and job control.

The console (:mod:`chardev.tty.driver`) has one; each pty slave (:mod:`chardev.tty.pty`)
has one. A terminal is everything those share (docs/tty.md): the
:class:`~chardev.tty.linedisc.LineDiscipline` its input and output go through, its
``struct winsize``, and the job-control state machine — the session it is the
controlling terminal of and that session's foreground group. The driver hosting it (a
:class:`~chardev.tty.base.TerminalDriver`) moves the bytes: it feeds typed input to
:meth:`Terminal.receive` with a function that puts the echo where it belongs, and
serves reads with :meth:`Terminal.read`; where the output goes is the driver's
business too. The ioctls are decoded in :mod:`chardev.tty.ioctl` and land here.

**Job control.** What only PM knows (a caller's group and session, its signal
dispositions, orphaned groups) the terminal asks PM through its driver:

- an open without CDEV_NOCTTY (or TIOCSCTTY) while the terminal has no session makes
  it the opener's controlling terminal: the open answers CDEV_CTTY at once and sends
  TTYQ_ACQUIRE, whose answer names the session and its first foreground group;
  every later check waits for that answer;
- ^C, ^\\ and ^Z (ISIG) and a window-size change raise their signals on the foreground
  group;
- a read (TTYQ_READ), a TOSTOP write or a settings change (TTYQ_CHANGE), TIOCGPGRP and
  TIOCSPGRP (TTYQ_GETPGRP, TTYQ_SETPGRP) are checked by PM, which stops a background
  caller with SIGTTIN/SIGTTOU and answers EAGAIN ("ask again") once it is continued;
  a caller outside the session passes.

**Hang-ups** — one path, :meth:`Terminal.hang_up`, for both of POSIX's causes: the
session leader's exit (PM's ``PmTtyHangup``: SIGHUP then SIGCONT to the foreground
group) and the loss of the terminal itself (a pty master's close, a modem's carrier:
SIGHUP then SIGCONT to the controlling process, the session leader; reads return end
of file from then on). Either way the terminal stops being the session's, so the other
cause finding it later signals nobody twice.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from chardev.lib import Cancelled, WouldBlock
from chardev.protocol import CDEV_CTTY, CDEV_NOCTTY
from chardev.tty.linedisc import LineDiscipline
from chardev.tty.termios import TOSTOP
from servers.pm.protocol import (
    SIGCONT,
    SIGHUP,
    SIGWINCH,
    TTYQ_ACQUIRE,
    TTYQ_CHANGE,
    TTYQ_GETPGRP,
    TTYQ_READ,
    TTYQ_SETPGRP,
    PmTtyAnswer,
    PmTtyQuery,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from chardev.grant import Grant
    from chardev.tty.base import TerminalDriver
    from chardev.tty.linedisc import Effects
    from chardev.tty.termios import Termios
    from kernel.sync import Condition

Winsize = tuple[int, int, int, int]
"""``struct winsize``: rows, columns, x pixels, y pixels."""


class Terminal:
    """One terminal of ``driver``: its discipline, window size, session and foreground group."""

    def __init__(self, driver: TerminalDriver, minor: int, winsize: Winsize = (0, 0, 0, 0)) -> None:
        """A terminal with default settings, of no session, reached through ``minor``."""
        self.driver = driver
        self.minor = minor
        self.linedisc = LineDiscipline()
        self.winsize = winsize
        self.session = 0
        """The session this is the controlling terminal of (its leader's pid), or 0."""
        self.fgrp = 0
        """The foreground process group (0: none, or not known yet)."""
        self.hung_up = False
        """The terminal itself went away (carrier lost): reads end with end of file."""
        self._acquiring: int | None = None
        """The tag of the TTYQ_ACQUIRE question in flight: the session is not known yet."""
        self._changed: Condition | None = None

    @property
    def changed(self) -> Condition:
        """Broadcast on any change a waiting reader (or a pty's other side) may await."""
        if self._changed is None:
            self._changed = self.driver.condition()
        return self._changed

    # -- input and output --------------------------------------------------------------

    async def receive(self, data: bytes, echo: Callable[[bytes], object]) -> Effects:
        """Type ``data``: ``echo`` gets the echo, then the signals go to the foreground group."""
        fx = self.linedisc.receive(data, self.driver.kernel.clock())
        if fx.echo:
            echo(fx.echo)
        for sig in fx.signals:
            # The discipline flushed the input already; output is never held back.
            await self.signal_fg(sig.signo)
        await self.driver.terminal_changed(self)
        return fx

    async def read(self, grant: Grant, count: int, user: int) -> int:
        """``user`` reads a line (canonical) or VMIN/VTIME bytes (raw), waiting for them.

        Job control first (SIGTTIN); after a hang-up, end of file.
        """
        if count < 0:
            return -errno.EINVAL
        if count == 0:
            return 0
        if status := await self.check(TTYQ_READ, user):
            return -status
        ld = self.linedisc
        try:
            while not self.hung_up:
                data = ld.read(count, self.driver.kernel.clock())
                if data is not None:
                    break
                await self.driver.arm_timer()
                await self.driver.wait(self.changed)
            else:
                return 0
        except (Cancelled, WouldBlock):
            ld.cancel_read()  # its VMIN=0 overall timer must not outlive it
            raise
        if data:
            await grant.write(0, data)
        await self.driver.terminal_changed(self)  # the queue has room: a pty writer goes on
        return len(data)

    async def check_write(self, user: int) -> int:
        """0, or the errno of ``user``'s write: with TOSTOP, the SIGTTOU rule."""
        if self.linedisc.lflag & TOSTOP:
            return await self.check(TTYQ_CHANGE, user)
        return 0

    # -- settings ----------------------------------------------------------------------

    async def set_attrs(self, attrs: Termios, when: int) -> None:
        """New settings (TCSA* ``when``); they may let suspended reads complete."""
        # Output reaches its destination synchronously: TCSADRAIN has nothing to wait for.
        self.linedisc.set_attrs(attrs, when)
        await self.driver.terminal_changed(self)

    async def set_winsize(self, size: Winsize) -> None:
        """A new window size; a change is SIGWINCH to the foreground group."""
        changed, self.winsize = size != self.winsize, size
        if changed:
            await self.signal_fg(SIGWINCH)

    # -- job control -------------------------------------------------------------------

    async def open(self, access: int, user: int) -> int:
        """CDEV_CTTY if this open makes the terminal ``user``'s session's, else 0.

        VFS sends CDEV_NOCTTY unless ``user`` is a session leader without a terminal.
        """
        if access & CDEV_NOCTTY:
            return 0
        return CDEV_CTTY if await self.acquire(user) else 0

    async def acquire(self, user: int) -> bool:
        """Become ``user``'s session's terminal if free: ask PM which session that is."""
        if self.session or self._acquiring is not None or self.hung_up:
            return False
        dev = self.driver.major << 8 | self.minor  # MINIX's makedev, as VFS numbers it
        query = PmTtyQuery(TTYQ_ACQUIRE, user, 0, 0, 0, 0, dev)
        self._acquiring = await self.driver.pm_ask(query, self._acquired)
        return self._acquiring is not None

    async def _acquired(self, answer: PmTtyAnswer) -> None:
        self._acquiring = None
        if answer.status:
            return
        self.session, self.fgrp = answer.sid, answer.pgrp
        if self.hung_up:  # it went while PM answered: the leader still gets its SIGHUP
            await self.hang_up(carrier=True)

    async def check(self, op: int, user: int, pgrp: int = 0) -> int:
        """Job control: ask PM about ``user``'s ``op`` (TTYQ_*); 0 or an errno.

        With no session every caller passes (ENOTTY for TTYQ_GETPGRP/TTYQ_SETPGRP). PM
        answers EAGAIN after it stopped the caller with SIGTTIN/SIGTTOU and it was
        continued: the question is asked again, so the call goes on as if restarted.
        """
        while True:
            while self._acquiring is not None:
                await self.driver.wait_for_pm(self.driver.answered, user)
            if not self.session:
                return errno.ENOTTY if op in (TTYQ_GETPGRP, TTYQ_SETPGRP) else 0
            query = PmTtyQuery(op, user, self.session, self.fgrp, pgrp, 0)
            status = await self.driver.pm_answer(query, user)
            if status != errno.EAGAIN:
                return status

    async def set_fgrp(self, user: int, pgrp: int) -> int:
        """tcsetpgrp: 0 or the errno PM's TTYQ_SETPGRP answered."""
        if status := await self.check(TTYQ_SETPGRP, user, pgrp):
            return status
        self.fgrp = pgrp
        return 0

    async def signal_fg(self, signo: int) -> None:
        """Raise ``signo`` on the foreground group (never waiting for PM: docs/tty.md)."""
        if not self.fgrp:
            self.driver.log.info("terminal signal for no foreground group", signo=signo)
            return
        await self.driver.pm_signal(self.fgrp, signo)

    async def hang_up(self, *, carrier: bool) -> None:
        """The session loses this terminal: SIGHUP, then SIGCONT, so stopped jobs see it.

        ``carrier`` False: the session leader exited, and the foreground group gets
        them. True: the terminal itself went away (a pty master's close), and the
        controlling process (the session leader, whose pid is the session id) gets them;
        reads end with end of file from now on. A terminal that goes while PM is still
        answering its TTYQ_ACQUIRE is hung up again when the session is known.
        """
        sid, self.session = self.session, 0
        if carrier:
            self.hung_up = True
        if sid and carrier:
            await self.driver.pm_signal(0, SIGHUP, pid=sid)
            await self.driver.pm_signal(0, SIGCONT, pid=sid)
        elif sid:
            await self.signal_fg(SIGHUP)
            await self.signal_fg(SIGCONT)
        self.fgrp = 0
        if sid:
            self.driver.log.info("hang-up", session=sid, minor=self.minor)
        await self.driver.terminal_changed(self)


__all__ = ["Terminal", "Winsize"]
