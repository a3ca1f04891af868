"""termios settings of a terminal: the flag and control-character constants, and :class:`Termios`.

The numbers are Linux's (the values of Python's :mod:`termios` module on Linux), so
:mod:`userland.libc` can re-export them under the same names and user programs written
against Python's ``termios``/``tty`` modules work unchanged. ``NCCS`` is 32 as in glibc.

Defaults follow MINIX's ``sys/ttydefaults.h`` where its flags exist on Linux (see
docs/tty.md), with two deliberate differences:

- ``VERASE`` is DEL (0x7F), not MINIX's ^H: every terminal the console can be attached
  to (xterm, tmux, pyte in tests) sends DEL for the Backspace key, and Linux uses DEL too.
- ``IXON``/``IXANY`` are off because the line discipline does not implement ^S/^Q flow
  control; ``OXTABS`` does not exist on Linux and tabs are written unexpanded.

A disabled control character has the value ``_POSIX_VDISABLE`` (0, as on Linux).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from chardev.protocol import _IOR, _IOW

# -- c_iflag -------------------------------------------------------------------------------
IGNBRK: Final = 0x1
BRKINT: Final = 0x2
IGNPAR: Final = 0x4
PARMRK: Final = 0x8
INPCK: Final = 0x10
ISTRIP: Final = 0x20
INLCR: Final = 0x40
IGNCR: Final = 0x80
ICRNL: Final = 0x100
IXON: Final = 0x400
IXANY: Final = 0x800
IXOFF: Final = 0x1000
IMAXBEL: Final = 0x2000

# -- c_oflag -------------------------------------------------------------------------------
OPOST: Final = 0x1
ONLCR: Final = 0x4

# -- c_cflag -------------------------------------------------------------------------------
CSIZE: Final = 0x30
CS8: Final = 0x30
CREAD: Final = 0x80
PARENB: Final = 0x100
HUPCL: Final = 0x400
CLOCAL: Final = 0x800

# -- c_lflag -------------------------------------------------------------------------------
ISIG: Final = 0x1
ICANON: Final = 0x2
ECHO: Final = 0x8
ECHOE: Final = 0x10
ECHOK: Final = 0x20
ECHONL: Final = 0x40
NOFLSH: Final = 0x80
TOSTOP: Final = 0x100
ECHOCTL: Final = 0x200
ECHOKE: Final = 0x800
IEXTEN: Final = 0x8000

# -- c_cc indices --------------------------------------------------------------------------
VINTR: Final = 0
VQUIT: Final = 1
VERASE: Final = 2
VKILL: Final = 3
VEOF: Final = 4
VTIME: Final = 5
VMIN: Final = 6
VSTART: Final = 8
VSTOP: Final = 9
VSUSP: Final = 10
VEOL: Final = 11
VREPRINT: Final = 12
VDISCARD: Final = 13
VWERASE: Final = 14
VLNEXT: Final = 15
VEOL2: Final = 16
NCCS: Final = 32
_POSIX_VDISABLE: Final = 0

# -- tcsetattr actions ---------------------------------------------------------------------
TCSANOW: Final = 0
TCSADRAIN: Final = 1
TCSAFLUSH: Final = 2

# -- speeds (Linux codes, as Python's termios.B*) ------------------------------------------
B0: Final = 0x0
B9600: Final = 0xD
B38400: Final = 0xF
B115200: Final = 0x1002

DEFAULT_IFLAG: Final = BRKINT | ICRNL | IMAXBEL
DEFAULT_OFLAG: Final = OPOST | ONLCR
DEFAULT_CFLAG: Final = CREAD | CS8 | HUPCL
DEFAULT_LFLAG: Final = ECHO | ICANON | ISIG | IEXTEN | ECHOE | ECHOKE | ECHOCTL
DEFAULT_SPEED: Final = B115200

_DEFAULT_CHARS: Final = {
    VINTR: 0x03,  # ^C
    VQUIT: 0x1C,  # ^\
    VERASE: 0x7F,  # DEL, see the module docstring
    VKILL: 0x15,  # ^U
    VEOF: 0x04,  # ^D
    VTIME: 0,
    VMIN: 1,
    VSTART: 0x11,  # ^Q
    VSTOP: 0x13,  # ^S
    VSUSP: 0x1A,  # ^Z
    VEOL: _POSIX_VDISABLE,
    VREPRINT: 0x12,  # ^R
    VDISCARD: 0x0F,  # ^O
    VWERASE: 0x17,  # ^W
    VLNEXT: 0x16,  # ^V
    VEOL2: _POSIX_VDISABLE,
}

# glibc's struct termios: four flags, c_line, c_cc[NCCS], padding, ispeed, ospeed.
_PACKED: Final = struct.Struct("<4IB32s3x2I")
TERMIOS_SIZE: Final = _PACKED.size
_U32_MAX: Final = 0xFFFF_FFFF

# -- terminal ioctls (the console driver's requests; libc's termios calls send them) -------
TCGETS: Final = 0x5401
TCSETS: Final = 0x5402
TCSETSW: Final = 0x5403
TCSETSF: Final = 0x5404
TIOCGPGRP: Final = 0x540F
TIOCSPGRP: Final = 0x5410
TIOCGWINSZ: Final = 0x5413
TIOCSWINSZ: Final = 0x5414

PGRP: Final = struct.Struct("<i")
"""TIOCGPGRP/TIOCSPGRP's argument: a ``pid_t``."""

WINSIZE: Final = struct.Struct("<4H")
"""``struct winsize``: ws_row, ws_col, ws_xpixel, ws_ypixel."""

TCGETS_IOC: Final = _IOR("T", 0x01, TERMIOS_SIZE)
TCSETS_IOC: Final = _IOW("T", 0x02, TERMIOS_SIZE)
TCSETSW_IOC: Final = _IOW("T", 0x03, TERMIOS_SIZE)
TCSETSF_IOC: Final = _IOW("T", 0x04, TERMIOS_SIZE)
TIOCGWINSZ_IOC: Final = _IOR("T", 0x13, WINSIZE.size)
TIOCSWINSZ_IOC: Final = _IOW("T", 0x14, WINSIZE.size)
TIOCGPGRP_IOC: Final = _IOR("T", 0x0F, PGRP.size)
TIOCSPGRP_IOC: Final = _IOW("T", 0x10, PGRP.size)


def default_cc() -> list[int]:
    """Return a fresh ``c_cc`` array (``NCCS`` ints) holding the default characters."""
    cc = [_POSIX_VDISABLE] * NCCS
    for index, value in _DEFAULT_CHARS.items():
        cc[index] = value
    return cc


@dataclass(slots=True)
class Termios:
    """One terminal's settings: flags, speeds and ``cc`` (``NCCS`` ints, 0..255).

    The default instance holds the defaults a terminal gets when it is first opened.
    """

    iflag: int = DEFAULT_IFLAG
    oflag: int = DEFAULT_OFLAG
    cflag: int = DEFAULT_CFLAG
    lflag: int = DEFAULT_LFLAG
    ispeed: int = DEFAULT_SPEED
    ospeed: int = DEFAULT_SPEED
    cc: list[int] = field(default_factory=default_cc)

    def copy(self) -> Termios:
        """Return an independent copy (``cc`` is not shared)."""
        return Termios(
            self.iflag, self.oflag, self.cflag, self.lflag, self.ispeed, self.ospeed, list(self.cc)
        )

    def to_list(self) -> list[object]:
        """Return ``[iflag, oflag, cflag, lflag, ispeed, ospeed, cc]`` as Python's ``tcgetattr``.

        As in Python, each ``cc`` entry is a one-byte ``bytes``, except ``VMIN`` and
        ``VTIME``, which are ints while ``ICANON`` is off.
        """
        cc: list[object] = [bytes([c]) for c in self.cc]
        if not self.lflag & ICANON:
            cc[VMIN] = self.cc[VMIN]
            cc[VTIME] = self.cc[VTIME]
        return [self.iflag, self.oflag, self.cflag, self.lflag, self.ispeed, self.ospeed, cc]

    @classmethod
    def from_list(cls, attrs: Sequence[object]) -> Termios:
        """Build settings from a ``tcsetattr``-style list; ``cc`` entries are ints or 1-byte bytes.

        Raises:
            ValueError: the list is malformed (wrong length or types, values out of range);
                a driver answers EINVAL.
        """
        if isinstance(attrs, str | bytes) or len(attrs) != 7:
            raise ValueError("termios attributes must be a list of 7 items")
        iflag, oflag, cflag, lflag, ispeed, ospeed = (_u32(value) for value in attrs[:6])
        raw_cc = attrs[6]
        if isinstance(raw_cc, str | bytes) or not isinstance(raw_cc, Sequence):
            raise ValueError("cc must be a list")
        if len(raw_cc) != NCCS:
            raise ValueError(f"cc must have {NCCS} entries")
        cc = [_cc_value(value) for value in raw_cc]
        return cls(iflag, oflag, cflag, lflag, ispeed, ospeed, cc)

    def pack(self) -> bytes:
        """Return the settings as glibc's ``struct termios`` (``TERMIOS_SIZE`` bytes)."""
        return _PACKED.pack(
            self.iflag,
            self.oflag,
            self.cflag,
            self.lflag,
            0,
            bytes(self.cc),
            self.ispeed,
            self.ospeed,
        )

    @classmethod
    def unpack(cls, data: bytes) -> Termios:
        """Parse a packed ``struct termios``.

        Raises:
            ValueError: ``data`` is not ``TERMIOS_SIZE`` bytes long.
        """
        if len(data) != TERMIOS_SIZE:
            raise ValueError(f"struct termios is {TERMIOS_SIZE} bytes, got {len(data)}")
        iflag, oflag, cflag, lflag, _line, cc, ispeed, ospeed = _PACKED.unpack(data)
        return cls(iflag, oflag, cflag, lflag, ispeed, ospeed, list(cc))


def _u32(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _U32_MAX:
        raise ValueError(f"bad termios field {value!r}")
    return value


def _cc_value(value: object) -> int:
    if isinstance(value, bytes) and len(value) == 1:
        return value[0]
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0xFF:
        return value
    raise ValueError(f"bad control character {value!r}")
