"""The terminal ioctls every asynix terminal answers the same way (docs/tty.md).

:func:`terminal_ioctl` decodes a request and its argument and hands it to the
:class:`~chardev.tty.terminal.Terminal`, which owns the semantics: Linux's
TCGETS/TCSETS/TCSETSW/TCSETSF, TIOCGWINSZ/TIOCSWINSZ and TIOCGPGRP/TIOCSPGRP, in their
plain and NetBSD size-encoded forms (the encoded ones are what libc sends, because VFS
sizes the argument's grant from the encoding), and TIOCSCTTY. Anything else is the
driver's own business (a pty master's TIOCGPTN...): the function answers None for it.

A request can come through the terminal itself (``direct``) or through a pty master,
which acts on its slave as on Linux: the master is nobody's controlling terminal, so
job control does not check its TCSETS* and TIOCGPGRP, and TIOCSCTTY is not one of its
requests; TIOCSPGRP is checked either way (ENOTTY unless the slave is the caller's
controlling terminal, as Linux's ``tiocspgrp``).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Final

from chardev.protocol import _IO
from chardev.tty.termios import (
    PGRP,
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
    TIOCGPGRP,
    TIOCGPGRP_IOC,
    TIOCGWINSZ,
    TIOCGWINSZ_IOC,
    TIOCSPGRP,
    TIOCSPGRP_IOC,
    TIOCSWINSZ,
    TIOCSWINSZ_IOC,
    WINSIZE,
    Termios,
)
from servers.pm.protocol import TTYQ_CHANGE, TTYQ_GETPGRP

if TYPE_CHECKING:
    from chardev.grant import Grant
    from chardev.tty.terminal import Terminal

TIOCSCTTY: Final = _IO("t", 97)
"""Make this terminal the caller's controlling terminal (NetBSD's value, as VFS's).

VFS records the terminal itself; the terminal acquires the caller's session."""

SET_ACTIONS: Final = {
    TCSETS: TCSANOW,
    TCSETS_IOC: TCSANOW,
    TCSETSW: TCSADRAIN,
    TCSETSW_IOC: TCSADRAIN,
    TCSETSF: TCSAFLUSH,
    TCSETSF_IOC: TCSAFLUSH,
}
"""The tcsetattr requests and the action each stands for."""


async def terminal_ioctl(
    term: Terminal, request: int, grant: Grant, user: int, *, direct: bool = True
) -> int | None:
    """Serve ``user``'s terminal ``request`` on ``term``: 0 or a negative errno; None: not one.

    ``direct`` False: the request came through a pty master (see the module doc).
    A malformed ``struct termios`` is EINVAL.
    """
    if request in (TCGETS, TCGETS_IOC):
        await grant.write(0, term.linedisc.get_attrs().pack())
        return 0
    if request in SET_ACTIONS:
        if direct and (status := await term.check(TTYQ_CHANGE, user)):
            return -status
        try:
            attrs = Termios.unpack(await grant.read(0, TERMIOS_SIZE))
        except ValueError:
            return -errno.EINVAL
        await term.set_attrs(attrs, SET_ACTIONS[request])
        return 0
    if request in (TIOCGWINSZ, TIOCGWINSZ_IOC):
        await grant.write(0, WINSIZE.pack(*term.winsize))
        return 0
    if request in (TIOCSWINSZ, TIOCSWINSZ_IOC):
        rows, cols, xpixel, ypixel = WINSIZE.unpack(await grant.read(0, WINSIZE.size))
        await term.set_winsize((rows, cols, xpixel, ypixel))
        return 0
    if request in (TIOCGPGRP, TIOCGPGRP_IOC):
        if direct and (status := await term.check(TTYQ_GETPGRP, user)):
            return -status
        await grant.write(0, PGRP.pack(term.fgrp))
        return 0
    if request in (TIOCSPGRP, TIOCSPGRP_IOC):
        (pgrp,) = PGRP.unpack(await grant.read(0, PGRP.size))
        return -await term.set_fgrp(user, pgrp)
    if direct and request == TIOCSCTTY:
        await term.acquire(user)
        return 0
    return None


__all__ = ["SET_ACTIONS", "TIOCSCTTY", "terminal_ioctl"]
