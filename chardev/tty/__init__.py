"""chardev.tty: the terminal line discipline and termios settings (see docs/tty.md).

:mod:`chardev.tty.termios` holds the termios constants (Linux's numbers) and the
:class:`Termios` settings record; :mod:`chardev.tty.linedisc` the pure, synchronous
:class:`LineDiscipline` that the TTY driver and the ptys run their bytes through;
:mod:`chardev.tty.driver` the console driver :class:`Tty` (major 4, ``/dev/console``).
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
