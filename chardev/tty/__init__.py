"""chardev.tty: terminals — line discipline, termios, job control, drivers (docs/tty.md).

:mod:`chardev.tty.termios` holds the termios constants (Linux's numbers) and the
:class:`Termios` settings record; :mod:`chardev.tty.linedisc` the pure, synchronous
:class:`LineDiscipline` every terminal runs its bytes through;
:mod:`chardev.tty.terminal` the :class:`~chardev.tty.terminal.Terminal` (discipline,
window size, session, foreground group, job control, hang-up) and
:mod:`chardev.tty.ioctl` its ioctls; :mod:`chardev.tty.base` the
:class:`~chardev.tty.base.TerminalDriver` base (the conversation with PM);
:mod:`chardev.tty.driver` the console driver :class:`Tty` (major 4, ``/dev/console``)
and :mod:`chardev.tty.pty` the pty driver (major 9, docs/pty.md).
"""

from chardev.tty.driver import TTY_MAJOR, Tty
from chardev.tty.linedisc import MAX_CANON, MAX_INPUT, Effects, LineDiscipline, Signal
from chardev.tty.termios import NCCS, TERMIOS_SIZE, Termios, default_cc

__all__ = [
    "MAX_CANON",
    "MAX_INPUT",
    "NCCS",
    "TERMIOS_SIZE",
    "TTY_MAJOR",
    "Effects",
    "LineDiscipline",
    "Signal",
    "Termios",
    "Tty",
    "default_cc",
]
