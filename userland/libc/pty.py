"""Pseudo-terminals: ``posix_openpt``, ``grantpt``, ``unlockpt``, ``ptsname``, ``openpty``.

The libc side of the pty driver (:mod:`chardev.tty.pty`, see docs/pty.md), shaped as
glibc's calls on Linux's devpts: ``posix_openpt`` opens the clone device ``/dev/ptmx``
and gets a fresh master; ``ptsname`` asks the master for its index N with TIOCGPTN and
names the slave ``/dev/pts/N``; ``unlockpt`` clears the slave's lock with TIOCSPTLCK (a
slave opened before that fails with EIO); ``grantpt`` only checks that the descriptor
is a master, because the driver makes the slave node with its final mode (0620) and
owner (the opener's effective uid and gid) for each new master, as devpts does (TIOCGPTN
and TIOCSPTLCK wait until it exists). ``openpty`` does all of it, as Python's
:func:`os.openpty`, and opens the slave without making it a controlling terminal.
"""

from __future__ import annotations

import errno
import os
import struct
from typing import TYPE_CHECKING, Final

from chardev.tty.pty import TIOCGPTN, TIOCSPTLCK
from userland.libc._syscall import oserror
from userland.libc.files import close, ioctl, open  # noqa: A004 - libc's open
from userland.libc.termios import TCSANOW, tcsetattr, tcsetwinsize

if TYPE_CHECKING:
    from collections.abc import Sequence

PTMX: Final = "/dev/ptmx"
PTS_DIR: Final = "/dev/pts"
_U32: Final = struct.Struct("<I")
_I32: Final = struct.Struct("<i")


async def posix_openpt(flags: int) -> int:
    """Open a new pty master with ``flags`` (O_RDWR, optionally O_NOCTTY); its fd.

    Raises:
        OSError: EINVAL (flags other than O_RDWR and O_NOCTTY), EAGAIN (every pty in
            use), ENXIO (no pty driver), EMFILE.
    """
    if flags & ~(os.O_RDWR | os.O_NOCTTY) or flags & os.O_ACCMODE != os.O_RDWR:
        raise oserror(errno.EINVAL, f"bad posix_openpt flags {flags:#o}")
    return await open(PTMX, flags)


async def _index(fd: int) -> int:
    """The index N of master ``fd`` (EINVAL when ``fd`` is not a master, as glibc)."""
    try:
        raw = await ioctl(fd, TIOCGPTN, bytes(_U32.size))
    except OSError as exc:
        if exc.errno == errno.ENOTTY:
            raise oserror(errno.EINVAL, "not a pty master") from None
        raise
    (index,) = _U32.unpack(raw[: _U32.size])
    return int(index)


async def grantpt(fd: int) -> None:
    """Make the slave of master ``fd`` usable by the caller (the driver already has).

    Raises:
        OSError: EINVAL (not a pty master), EBADF.
    """
    await _index(fd)


async def unlockpt(fd: int) -> None:
    """Unlock the slave of master ``fd`` so that it can be opened.

    Raises:
        OSError: EINVAL (not a pty master), EBADF.
    """
    await _index(fd)
    await ioctl(fd, TIOCSPTLCK, _I32.pack(0))


async def ptsname(fd: int) -> str:
    """The path of the slave of master ``fd``: ``"/dev/pts/N"``.

    Raises:
        OSError: EINVAL (not a pty master), EBADF.
    """
    return f"{PTS_DIR}/{await _index(fd)}"


async def openpty(
    attrs: Sequence[object] | None = None, winsize: Sequence[int] | None = None
) -> tuple[int, int]:
    """Open a new pty: ``(master, slave)`` fds, the slave with ``attrs`` and ``winsize``.

    ``attrs`` is a :func:`~userland.libc.termios.tcgetattr` list and ``winsize`` a
    ``(rows, cols)`` pair, both optional (BSD's ``openpty`` takes them too). The slave
    is opened with O_NOCTTY: it does not become the caller's controlling terminal.

    Raises:
        OSError: EAGAIN (every pty in use), EMFILE, ENXIO (no pty driver), EINVAL.
    """
    master = await posix_openpt(os.O_RDWR | os.O_NOCTTY)
    try:
        await grantpt(master)
        await unlockpt(master)
        slave = await open(await ptsname(master), os.O_RDWR | os.O_NOCTTY)
    except BaseException:
        await close(master)
        raise
    try:
        if attrs is not None:
            await tcsetattr(slave, TCSANOW, attrs)
        if winsize is not None:
            await tcsetwinsize(slave, winsize)
    except BaseException:
        await close(slave)
        await close(master)
        raise
    return master, slave


__all__ = ["grantpt", "openpty", "posix_openpt", "ptsname", "unlockpt"]
