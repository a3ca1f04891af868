"""Terminal calls: the libc side of the tty driver's ioctls, shaped like Python's :mod:`termios`.

``tcgetattr``/``tcsetattr`` move a ``[iflag, oflag, cflag, lflag, ispeed, ospeed, cc]``
list (Python's shape, :meth:`chardev.tty.termios.Termios.to_list`) to and from glibc's
``struct termios`` and send it to the driver with an ioctl through VFS. The requests go
in NetBSD's size-encoded form (``TCGETS_IOC``...) because VFS sizes the argument's grant
from that encoding. ``isatty`` is "does TCGETS succeed"; ``ttyname`` searches
``/dev/pts`` (the pty slaves), then ``/dev``, for the character device with the
descriptor's ``st_rdev``, as glibc does. ``tcgetpgrp``/``tcsetpgrp`` read and set the
terminal's foreground process group (TIOCGPGRP/TIOCSPGRP). VFS answers ENOTTY for a
descriptor that is not a character device, and a driver without terminal ioctls answers
ENOTTY too, so both come back to the caller as a non-terminal.

The flag, ``cc`` index and ``TCSA*`` constants are Linux's numbers, re-exported on
:mod:`userland.libc` under the names Python's :mod:`termios` uses.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Final

from chardev.tty.termios import (
    B0,
    B9600,
    B38400,
    B115200,
    BRKINT,
    CLOCAL,
    CREAD,
    CS8,
    CSIZE,
    ECHO,
    ECHOCTL,
    ECHOE,
    ECHOK,
    ECHOKE,
    ECHONL,
    HUPCL,
    ICANON,
    ICRNL,
    IEXTEN,
    IGNBRK,
    IGNCR,
    IGNPAR,
    IMAXBEL,
    INLCR,
    INPCK,
    ISIG,
    ISTRIP,
    IXANY,
    IXOFF,
    IXON,
    NCCS,
    NOFLSH,
    ONLCR,
    OPOST,
    PARENB,
    PARMRK,
    PGRP,
    TCGETS_IOC,
    TCSADRAIN,
    TCSAFLUSH,
    TCSANOW,
    TCSETS_IOC,
    TCSETSF_IOC,
    TCSETSW_IOC,
    TERMIOS_SIZE,
    TIOCGPGRP_IOC,
    TIOCGWINSZ_IOC,
    TIOCSPGRP_IOC,
    TIOCSWINSZ_IOC,
    TOSTOP,
    VDISCARD,
    VEOF,
    VEOL,
    VEOL2,
    VERASE,
    VINTR,
    VKILL,
    VLNEXT,
    VMIN,
    VQUIT,
    VREPRINT,
    VSTART,
    VSTOP,
    VSUSP,
    VTIME,
    VWERASE,
    WINSIZE,
    Termios,
)
from userland.libc._syscall import oserror
from userland.libc.files import S_ISCHR, fstat, ioctl, listdir, stat

if TYPE_CHECKING:
    from collections.abc import Sequence

_SET_REQUEST: Final = {
    TCSANOW: TCSETS_IOC,
    TCSADRAIN: TCSETSW_IOC,
    TCSAFLUSH: TCSETSF_IOC,
}
_TTY_DIRS: Final = ("/dev/pts", "/dev")
"""Where ``ttyname`` looks, in order."""
_USHRT_MAX: Final = 0xFFFF


async def tcgetattr(fd: int) -> list[object]:
    """``fd``'s terminal settings as ``[iflag, oflag, cflag, lflag, ispeed, ospeed, cc]``.

    Raises:
        OSError: ENOTTY (not a terminal), EBADF, EIO, EINTR.
    """
    raw = await ioctl(fd, TCGETS_IOC, bytes(TERMIOS_SIZE))
    return Termios.unpack(raw[:TERMIOS_SIZE]).to_list()


async def tcsetattr(fd: int, when: int, attrs: Sequence[object]) -> None:
    """Set ``fd``'s terminal settings ``when`` (TCSANOW, TCSADRAIN or TCSAFLUSH).

    ``attrs`` is a list as :func:`tcgetattr` returns; ``cc`` entries may be ints or
    one-byte bytes.

    Raises:
        OSError: EINVAL (bad ``when`` or malformed ``attrs``), ENOTTY, EBADF, EIO, EINTR.
    """
    request = _SET_REQUEST.get(when)
    if request is None:
        raise oserror(errno.EINVAL, f"bad tcsetattr action {when!r}")
    try:
        settings = Termios.from_list(attrs)
    except (ValueError, TypeError) as exc:
        raise oserror(errno.EINVAL, str(exc)) from None
    await ioctl(fd, request, settings.pack())


async def isatty(fd: int) -> bool:
    """Whether ``fd`` is a terminal: False on any error, as Python's :func:`os.isatty`."""
    try:
        await ioctl(fd, TCGETS_IOC, bytes(TERMIOS_SIZE))
    except OSError as exc:
        if exc.errno == errno.EINTR:
            raise
        return False
    return True


async def ttyname(fd: int) -> str:
    """The path of the terminal open on ``fd`` (``"/dev/console"``, ``"/dev/pts/0"``...).

    Raises:
        OSError: ENOTTY (not a terminal), ENODEV (no entry in ``/dev/pts`` or ``/dev``
            names it), EBADF.
    """
    await tcgetattr(fd)
    return await ttyname_of((await fstat(fd)).st_rdev)


async def ttyname_of(rdev: int) -> str:
    """The path of the terminal whose device number is ``rdev`` (what ``ps`` shows).

    The first character device of ``/dev/pts``, then ``/dev``, whose ``st_rdev`` is
    ``rdev``, as :func:`ttyname` finds it.

    Raises:
        OSError: ENODEV (no entry names it).
    """
    for directory in _TTY_DIRS:
        try:
            names = sorted(await listdir(directory))
        except OSError:
            continue  # no such directory: nothing there names it
        for name in names:
            path = f"{directory}/{name}"
            try:
                st = await stat(path)
            except OSError:
                continue  # a dangling link or an entry removed meanwhile names nothing
            if S_ISCHR(st.st_mode) and st.st_rdev == rdev:
                return path
    raise oserror(errno.ENODEV, "no /dev entry for this terminal")


async def tcgetwinsize(fd: int) -> tuple[int, int]:
    """``fd``'s window size as ``(rows, cols)``, as Python's ``termios.tcgetwinsize``.

    Raises:
        OSError: ENOTTY, EBADF, EIO, EINTR.
    """
    rows, cols, _xpixel, _ypixel = await _get_winsize(fd)
    return rows, cols


async def tcsetwinsize(fd: int, winsize: Sequence[int]) -> None:
    """Set ``fd``'s window size to ``(rows, cols)``, keeping the pixel sizes.

    Raises:
        OSError: EINVAL (not two ints in 0..65535), ENOTTY, EBADF, EIO, EINTR.
    """
    if isinstance(winsize, str | bytes) or len(winsize) != 2:
        raise oserror(errno.EINVAL, "winsize must be (rows, cols)")
    rows, cols = winsize
    for value in (rows, cols):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _USHRT_MAX:
            raise oserror(errno.EINVAL, f"bad window size {value!r}")
    _rows, _cols, xpixel, ypixel = await _get_winsize(fd)
    await ioctl(fd, TIOCSWINSZ_IOC, WINSIZE.pack(rows, cols, xpixel, ypixel))


async def tcgetpgrp(fd: int) -> int:
    """The foreground process group of ``fd``, the caller's controlling terminal.

    Raises:
        OSError: ENOTTY (not a terminal, or not the caller's controlling terminal),
            EBADF, EIO.
    """
    raw = await ioctl(fd, TIOCGPGRP_IOC, bytes(PGRP.size))
    (pgrp,) = PGRP.unpack(raw[: PGRP.size])
    return int(pgrp)


async def tcsetpgrp(fd: int, pgrp: int) -> None:
    """Make ``pgrp`` the foreground process group of ``fd``, the caller's controlling terminal.

    A caller in the background gets SIGTTOU first unless it ignores or blocks it (it
    stops, and the call goes on once it is continued).

    Raises:
        OSError: ENOTTY (not the caller's controlling terminal), EPERM (``pgrp`` is no
            group of the caller's session), EINVAL (``pgrp`` <= 0 or not an int), EIO
            (an orphaned background group), EBADF, EINTR.
    """
    if not isinstance(pgrp, int) or isinstance(pgrp, bool) or not 0 < pgrp <= 0x7FFF_FFFF:
        raise oserror(errno.EINVAL, f"bad process group {pgrp!r}")
    await ioctl(fd, TIOCSPGRP_IOC, PGRP.pack(pgrp))


async def _get_winsize(fd: int) -> tuple[int, int, int, int]:
    raw = await ioctl(fd, TIOCGWINSZ_IOC, bytes(WINSIZE.size))
    rows, cols, xpixel, ypixel = WINSIZE.unpack(raw[: WINSIZE.size])
    return rows, cols, xpixel, ypixel


__all__ = [
    "B0",
    "B9600",
    "B38400",
    "B115200",
    "BRKINT",
    "CLOCAL",
    "CREAD",
    "CS8",
    "CSIZE",
    "ECHO",
    "ECHOCTL",
    "ECHOE",
    "ECHOK",
    "ECHOKE",
    "ECHONL",
    "HUPCL",
    "ICANON",
    "ICRNL",
    "IEXTEN",
    "IGNBRK",
    "IGNCR",
    "IGNPAR",
    "IMAXBEL",
    "INLCR",
    "INPCK",
    "ISIG",
    "ISTRIP",
    "IXANY",
    "IXOFF",
    "IXON",
    "NCCS",
    "NOFLSH",
    "ONLCR",
    "OPOST",
    "PARENB",
    "PARMRK",
    "TCSADRAIN",
    "TCSAFLUSH",
    "TCSANOW",
    "TOSTOP",
    "VDISCARD",
    "VEOF",
    "VEOL",
    "VEOL2",
    "VERASE",
    "VINTR",
    "VKILL",
    "VLNEXT",
    "VMIN",
    "VQUIT",
    "VREPRINT",
    "VSTART",
    "VSTOP",
    "VSUSP",
    "VTIME",
    "VWERASE",
    "isatty",
    "tcgetattr",
    "tcgetpgrp",
    "tcgetwinsize",
    "tcsetattr",
    "tcsetpgrp",
    "tcsetwinsize",
    "ttyname",
    "ttyname_of",
]
