r"""tty: the console terminal driver (major 4, minor 0 = ``/dev/console``).

The driver is the only process that touches the console hardware
(:class:`kernel.hw.console.Console`). On every start (fresh or after a crash) it attaches
the console's interrupt lines to its own process, so a restarted instance gets the
keyboard and resize interrupts. All terminal policy is the pure
:class:`~chardev.tty.linedisc.LineDiscipline`; this module wires it to the hardware and to
the chardev framework (MINIX's ``drivers/tty``):

- **Interrupts.** KEYBOARD_IRQ: the keyboard is drained into ``receive``; the echo goes
  to the screen, waiting readers are woken and a registered read select is notified when
  input became readable. Bytes a full raw-mode queue refuses are dropped, as a keyboard's
  are. RESIZE_IRQ: the new screen size becomes the window size (``TIOCGWINSZ``).
- **read** waits (a kernel condition through ``Driver.wait``: CDEV_NONBLOCK gives EAGAIN,
  a cancel EINTR) until ``LineDiscipline.read`` returns bytes. Raw-mode VMIN/VTIME
  timers use the driver's alarm: after a read must wait or input arrives, the
  discipline's :meth:`~chardev.tty.linedisc.LineDiscipline.timer` deadline is armed with
  ``set_alarm``, and the alarm wakes the readers to retry.
- **write** output-processes the bytes (OPOST/ONLCR) and puts them on the screen.
- **ioctl**: Linux's TCGETS/TCSETS/TCSETSW/TCSETSF (argument: ``Termios.pack``),
  TIOCGWINSZ/TIOCSWINSZ (``struct winsize``: four unsigned shorts), and the same
  requests in NetBSD's size-encoded form (:data:`TCGETS_IOC`...), which is what VFS
  needs to grant the argument. TIOCSCTTY answers OK (VFS records the controlling
  terminal itself); everything else, TIOCGPGRP/TIOCSPGRP included, is ENOTTY for now.
- **select**: readable when the discipline says so, always writable.

Not done yet: signals from ^C, ^\ and ^Z (``Effects.signals``) are only logged;
delivering them to the foreground process group (and TIOCGPGRP/TIOCSPGRP, SIGWINCH on a
resize) is the next step. Settings are not saved across a crash: a restarted driver
starts with default termios.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Final

from chardev.lib import Cancelled, Driver, WouldBlock
from chardev.protocol import CDEV_OP_RD, CDEV_OP_WR
from chardev.tty.linedisc import LineDiscipline
from chardev.tty.termios import (
    TCGETS,
    TCGETS_IOC,
    TCSADRAIN,
    TCSAFLUSH,
    TCSANOW,
    TCSETS,
    TCSETS_IOC,
    TCSETSF,
    TCSETSF_IOC,
    TCSETSW,
    TCSETSW_IOC,
    TERMIOS_SIZE,
    TIOCGWINSZ,
    TIOCGWINSZ_IOC,
    TIOCSWINSZ,
    TIOCSWINSZ_IOC,
    WINSIZE,
    Termios,
)
from kernel.hw.console import KEYBOARD_IRQ, RESIZE_IRQ, Console

if TYPE_CHECKING:
    from chardev.grant import Grant
    from kernel.sync import Condition

TTY_MAJOR: Final = 4
"""The console's major (``/dev/console``, minor 0)."""
CONSOLE_MINOR: Final = 0

_TIOCSCTTY: Final = 0x2000_0000 | (ord("t") << 8) | 97  # NetBSD's _IO('t', 97), as VFS's

_SET_ACTIONS: Final = {
    TCSETS: TCSANOW,
    TCSETS_IOC: TCSANOW,
    TCSETSW: TCSADRAIN,
    TCSETSW_IOC: TCSADRAIN,
    TCSETSF: TCSAFLUSH,
    TCSETSF_IOC: TCSAFLUSH,
}
_WRITE_CHUNK: Final = 4096


class Tty(Driver):
    """The console TTY: one line discipline between the keyboard, the screen and readers."""

    def __init__(self, console: Console | None = None) -> None:
        """Drive ``console`` (a console of its own when None, for stand-alone use)."""
        super().__init__()
        self.console = console if console is not None else Console()
        self.linedisc = LineDiscipline()
        rows, cols = self.console.screen.size
        self.winsize = (rows, cols, 0, 0)
        self._input: Condition | None = None

    @property
    def input(self) -> Condition:
        """Broadcast when input may have become readable (or a raw-mode timer fired)."""
        if self._input is None:
            self._input = self.condition()
        return self._input

    # -- life --------------------------------------------------------------------------

    async def init_fresh(self) -> None:
        """Take the console's interrupts (a restart does the same, with default settings)."""
        self.console.attach(self.kernel, self.proc.proc)

    # -- interrupts and alarms ---------------------------------------------------------

    async def intr(self, mask: int) -> None:
        """Drain the keyboard and pick up a resize."""
        if mask & (1 << RESIZE_IRQ):
            size = self.console.screen.take_resize()
            if size is not None:
                self.winsize = (size[0], size[1], 0, 0)
                self.log.info("window resized", rows=size[0], cols=size[1])
        if mask & (1 << KEYBOARD_IRQ) or self.console.keyboard.pending:
            await self._receive(self.console.keyboard.read())

    async def _receive(self, data: bytes) -> None:
        if not data:
            return
        fx = self.linedisc.receive(data, self.kernel.clock())
        if fx.consumed < len(data):
            self.log.debug("input queue full: keys dropped", dropped=len(data) - fx.consumed)
        if fx.echo:
            self.console.screen.write(fx.echo)
        for sig in fx.signals:
            # Next step: deliver to the foreground process group (see the module doc).
            self.log.info("terminal signal not delivered", signo=sig.signo, flush=sig.flush)
        await self._input_changed(fx.wake)

    async def _input_changed(self, wake: bool) -> None:
        """Wake readers, notify select, re-arm the raw-mode timer."""
        if wake:
            await self.input.broadcast()
        if self.linedisc.readable():
            await self.notify_select(CONSOLE_MINOR, CDEV_OP_RD)
        await self._arm_timer()

    async def _arm_timer(self) -> None:
        deadline = self.linedisc.timer()
        if deadline is not None:
            await self.set_alarm(max(0.0, deadline - self.kernel.clock()))

    async def alarm(self, now: float) -> None:
        """A VMIN/VTIME deadline passed: let waiting readers retry."""
        await self.input.broadcast()

    # -- requests ----------------------------------------------------------------------

    async def open(self, minor: int, access: int, user: int) -> int:
        """Only the console (minor 0) exists."""
        return 0 if minor == CONSOLE_MINOR else -errno.ENXIO

    async def read(
        self, minor: int, pos: int, grant: Grant, count: int, flags: int, user: int
    ) -> int:
        """A line (canonical) or VMIN/VTIME bytes (raw), waiting for them."""
        if count < 0:
            return -errno.EINVAL
        if count == 0:
            return 0
        try:
            while (data := self.linedisc.read(count, self.kernel.clock())) is None:
                await self._arm_timer()
                await self.wait(self.input)
        except (Cancelled, WouldBlock):
            self.linedisc.cancel_read()  # its VMIN=0 overall timer must not outlive it
            raise
        if data:
            await grant.write(0, data)
        return len(data)

    async def write(
        self, minor: int, pos: int, grant: Grant, count: int, flags: int, user: int
    ) -> int:
        """Output-process ``count`` bytes onto the screen."""
        if count < 0:
            return -errno.EINVAL
        done = 0
        while done < count:
            data = await grant.read(done, min(_WRITE_CHUNK, count - done))
            self.console.screen.write(self.linedisc.write(data))
            done += len(data)
        return done

    async def ioctl(self, minor: int, request: int, grant: Grant, user: int, flags: int) -> int:
        """Terminal settings and window size; see the module doc for the requests."""
        if request in (TCGETS, TCGETS_IOC):
            await grant.write(0, self.linedisc.get_attrs().pack())
            return 0
        if request in _SET_ACTIONS:
            return await self._set_attrs(grant, _SET_ACTIONS[request])
        if request in (TIOCGWINSZ, TIOCGWINSZ_IOC):
            await grant.write(0, WINSIZE.pack(*self.winsize))
            return 0
        if request in (TIOCSWINSZ, TIOCSWINSZ_IOC):
            rows, cols, xpix, ypix = WINSIZE.unpack(await grant.read(0, WINSIZE.size))
            self.winsize = (rows, cols, xpix, ypix)
            return 0
        if request == _TIOCSCTTY:
            return 0
        return -errno.ENOTTY

    async def _set_attrs(self, grant: Grant, when: int) -> int:
        try:
            attrs = Termios.unpack(await grant.read(0, TERMIOS_SIZE))
        except ValueError:
            return -errno.EINVAL
        # Output goes to the screen synchronously, so TCSADRAIN has nothing to wait for.
        retry = self.linedisc.set_attrs(attrs, when)
        await self._input_changed(retry)
        return 0

    async def select(self, minor: int, ops: int) -> int:
        """Readable when the discipline has input for a read; always writable."""
        if minor != CONSOLE_MINOR:
            return -errno.ENXIO
        return ops & ((CDEV_OP_RD if self.linedisc.readable() else 0) | CDEV_OP_WR)


__all__ = [
    "CONSOLE_MINOR",
    "TCGETS",
    "TCGETS_IOC",
    "TCSETS",
    "TCSETSF",
    "TCSETSF_IOC",
    "TCSETSW",
    "TCSETSW_IOC",
    "TCSETS_IOC",
    "TIOCGWINSZ",
    "TIOCGWINSZ_IOC",
    "TIOCSWINSZ",
    "TIOCSWINSZ_IOC",
    "TTY_MAJOR",
    "WINSIZE",
    "Tty",
]
