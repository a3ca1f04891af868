r"""tty: the console terminal driver (major 4, minor 0 = ``/dev/console``).

The driver is the only process that touches the console hardware
(:class:`kernel.hw.console.Console`). On every start (fresh or after a crash) it attaches
the console's interrupt lines to its own process, so a restarted instance gets the
keyboard and resize interrupts. What a terminal is — line discipline, settings, window
size, session, foreground group, job control, hang-up — is the shared
:class:`~chardev.tty.terminal.Terminal` (the pty slaves have one each), its ioctls are
:func:`~chardev.tty.ioctl.terminal_ioctl`, and the conversation with PM is the
:class:`~chardev.tty.base.TerminalDriver` base class. This module wires one terminal to
the hardware and to the chardev framework (MINIX's ``drivers/tty``):

- **Interrupts.** KEYBOARD_IRQ: the keyboard is drained into the terminal; the echo goes
  to the screen, the signals (^C, ^\\, ^Z) to the foreground process group, and a
  registered read select is notified when input became readable. Bytes a full raw-mode
  queue refuses are dropped, as a keyboard's are. RESIZE_IRQ: the new screen size
  becomes the window size (``TIOCGWINSZ``); a change is SIGWINCH to the foreground group.
- **read**: the terminal's (job control, then a line or VMIN/VTIME bytes, waiting).
- **write** output-processes the bytes (OPOST/ONLCR) and puts them on the screen, after
  TOSTOP's job-control check.
- **ioctl**: the terminal ioctls; anything else is ENOTTY.
- **select**: readable when the discipline says so, always writable.

Settings, session and foreground group are not saved across a crash: a restarted
driver starts with default termios and no session.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Final

from chardev.protocol import CDEV_OP_RD, CDEV_OP_WR
from chardev.tty.base import TerminalDriver
from chardev.tty.ioctl import terminal_ioctl
from chardev.tty.terminal import Terminal
from kernel.hw.console import KEYBOARD_IRQ, RESIZE_IRQ, Console

if TYPE_CHECKING:
    from collections.abc import Iterable

    from chardev.grant import Grant

TTY_MAJOR: Final = 4
"""The console's major (``/dev/console``, minor 0)."""
CONSOLE_MINOR: Final = 0

_WRITE_CHUNK: Final = 4096


class Tty(TerminalDriver):
    """The console TTY: one terminal between the keyboard, the screen and readers."""

    major = TTY_MAJOR

    def __init__(self, console: Console | None = None) -> None:
        """Drive ``console`` (a console of its own when None, for stand-alone use)."""
        super().__init__()
        self.console = console if console is not None else Console()
        rows, cols = self.console.screen.size
        self.terminal = Terminal(self, CONSOLE_MINOR, (rows, cols, 0, 0))

    def terminals(self) -> Iterable[Terminal]:
        """The console's one terminal."""
        return (self.terminal,)

    async def terminal_changed(self, term: Terminal) -> None:
        """Wake readers, re-arm the raw-mode timer, notify a read select."""
        await super().terminal_changed(term)
        if term.linedisc.readable():
            await self.notify_select(CONSOLE_MINOR, CDEV_OP_RD)

    # -- life and interrupts -----------------------------------------------------------

    async def init_fresh(self) -> None:
        """Take the console's interrupts (a restart does the same, with default settings)."""
        self.console.attach(self.kernel, self.proc.proc)

    async def intr(self, mask: int) -> None:
        """Drain the keyboard and pick up a resize."""
        if mask & (1 << RESIZE_IRQ):
            size = self.console.screen.take_resize()
            if size is not None:
                self.log.info("window resized", rows=size[0], cols=size[1])
                await self.terminal.set_winsize((size[0], size[1], 0, 0))
        if mask & (1 << KEYBOARD_IRQ) or self.console.keyboard.pending:
            data = self.console.keyboard.read()
            if data:
                fx = await self.terminal.receive(data, self.console.screen.write)
                if fx.consumed < len(data):
                    self.log.debug(
                        "input queue full: keys dropped", dropped=len(data) - fx.consumed
                    )

    # -- requests ----------------------------------------------------------------------

    async def open(self, minor: int, access: int, user: int) -> int:
        """Only the console (minor 0) exists; it becomes a controlling terminal if free."""
        if minor != CONSOLE_MINOR:
            return -errno.ENXIO
        return await self.terminal.open(access, user)

    async def read(
        self, minor: int, pos: int, grant: Grant, count: int, flags: int, user: int
    ) -> int:
        """A line (canonical) or VMIN/VTIME bytes (raw), waiting for them."""
        return await self.terminal.read(grant, count, user)

    async def write(
        self, minor: int, pos: int, grant: Grant, count: int, flags: int, user: int
    ) -> int:
        """Output-process ``count`` bytes onto the screen."""
        if count < 0:
            return -errno.EINVAL
        if status := await self.terminal.check_write(user):
            return -status
        done = 0
        while done < count:
            data = await grant.read(done, min(_WRITE_CHUNK, count - done))
            self.console.screen.write(self.terminal.linedisc.write(data))
            done += len(data)
        return done

    async def ioctl(self, minor: int, request: int, grant: Grant, user: int, flags: int) -> int:
        """The terminal ioctls (:mod:`chardev.tty.ioctl`); anything else is ENOTTY."""
        status = await terminal_ioctl(self.terminal, request, grant, user)
        return -errno.ENOTTY if status is None else status

    async def select(self, minor: int, ops: int) -> int:
        """Readable when the discipline has input for a read; always writable."""
        if minor != CONSOLE_MINOR:
            return -errno.ENXIO
        ready = CDEV_OP_RD if self.terminal.linedisc.readable() else 0
        return ops & (ready | CDEV_OP_WR)


__all__ = ["CONSOLE_MINOR", "TTY_MAJOR", "Tty"]
