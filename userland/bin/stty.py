"""stty: show or change the settings of the terminal on standard input.

::

    stty [-F DEVICE] [-a]
    stty [-F DEVICE] SETTING...

Without settings, ``stty`` prints ``speed S baud; rows R; columns C;`` and then only
what differs from the sane settings: the control characters (``intr = ^X;``) and the
flags (``-echo icrnl``...). ``-a`` prints everything: the speed and size, every
control character, and the flags by group (control, input, output, local), a ``-``
before each one that is off. ``-F DEVICE`` works on DEVICE instead of standard input.

Settings (through :func:`userland.libc.tcgetattr`/``tcsetattr`` and
``tcgetwinsize``/``tcsetwinsize``, applied together once all are parsed):

- a flag name turns it on, ``-name`` off: input ``brkint icrnl ignbrk igncr ignpar
  imaxbel inlcr inpck istrip ixany ixoff ixon parmrk``, output ``opost onlcr``, control
  ``clocal cread hupcl parenb``, local ``echo echoctl echoe echok echoke echonl
  icanon iexten isig noflsh tostop``;
- a control character and its value: ``intr quit erase kill eof eol eol2 start stop
  susp rprnt werase lnext discard``, each followed by ``^X`` (``^?`` is DEL), a
  single character, or ``undef``/``^-`` to disable it; ``min N`` and ``time N``;
- ``rows N``, ``cols N`` (or ``columns N``) set the window size; ``size`` prints
  ``ROWS COLS``; ``speed`` prints the speed; a number (0, 9600, 38400, 115200) sets
  both speeds;
- combinations: ``raw`` (GNU's: no input processing, no signals, non-canonical,
  ``min 1 time 0``, no output processing; echo is left alone), ``-raw`` and ``cooked``
  (``brkint icrnl opost isig icanon``), ``sane`` (every flag and control character
  back to asynix's defaults, the ones a new terminal has).

Exit status 0; 1 when the terminal cannot be read or set (``stty: standard input:
Inappropriate ioctl for device``); 2 for an unknown setting or a bad value.
"""

from __future__ import annotations

from typing import Final

from userland import libc
from userland.bin._common import usage
from userland.libc import stdio

_SYNOPSIS: Final = "stty [-F device] [-a | setting...]"
IFLAG, OFLAG, CFLAG, LFLAG, ISPEED, OSPEED, CC = range(7)

FLAGS: Final[dict[str, tuple[int, int]]] = {
    # control
    "parenb": (CFLAG, libc.PARENB),
    "hupcl": (CFLAG, libc.HUPCL),
    "cread": (CFLAG, libc.CREAD),
    "clocal": (CFLAG, libc.CLOCAL),
    # input
    "ignbrk": (IFLAG, libc.IGNBRK),
    "brkint": (IFLAG, libc.BRKINT),
    "ignpar": (IFLAG, libc.IGNPAR),
    "parmrk": (IFLAG, libc.PARMRK),
    "inpck": (IFLAG, libc.INPCK),
    "istrip": (IFLAG, libc.ISTRIP),
    "inlcr": (IFLAG, libc.INLCR),
    "igncr": (IFLAG, libc.IGNCR),
    "icrnl": (IFLAG, libc.ICRNL),
    "ixon": (IFLAG, libc.IXON),
    "ixoff": (IFLAG, libc.IXOFF),
    "ixany": (IFLAG, libc.IXANY),
    "imaxbel": (IFLAG, libc.IMAXBEL),
    # output
    "opost": (OFLAG, libc.OPOST),
    "onlcr": (OFLAG, libc.ONLCR),
    # local
    "isig": (LFLAG, libc.ISIG),
    "icanon": (LFLAG, libc.ICANON),
    "iexten": (LFLAG, libc.IEXTEN),
    "echo": (LFLAG, libc.ECHO),
    "echoe": (LFLAG, libc.ECHOE),
    "echok": (LFLAG, libc.ECHOK),
    "echonl": (LFLAG, libc.ECHONL),
    "noflsh": (LFLAG, libc.NOFLSH),
    "tostop": (LFLAG, libc.TOSTOP),
    "echoctl": (LFLAG, libc.ECHOCTL),
    "echoke": (LFLAG, libc.ECHOKE),
}
"""Flag names (GNU stty's), each with its field and bit, in the order ``-a`` shows them."""

CHARS: Final[dict[str, int]] = {
    "intr": libc.VINTR,
    "quit": libc.VQUIT,
    "erase": libc.VERASE,
    "kill": libc.VKILL,
    "eof": libc.VEOF,
    "eol": libc.VEOL,
    "eol2": libc.VEOL2,
    "start": libc.VSTART,
    "stop": libc.VSTOP,
    "susp": libc.VSUSP,
    "rprnt": libc.VREPRINT,
    "werase": libc.VWERASE,
    "lnext": libc.VLNEXT,
    "discard": libc.VDISCARD,
}
"""Control-character names and their ``cc`` indices."""

SANE_FLAGS: Final = {
    IFLAG: libc.BRKINT | libc.ICRNL | libc.IMAXBEL,
    OFLAG: libc.OPOST | libc.ONLCR,
    CFLAG: libc.CREAD | libc.CS8 | libc.HUPCL,
    LFLAG: libc.ECHO
    | libc.ICANON
    | libc.ISIG
    | libc.IEXTEN
    | libc.ECHOE
    | libc.ECHOKE
    | libc.ECHOCTL,
}
"""A new terminal's flags (the tty driver's defaults, docs/tty.md)."""
SANE_CHARS: Final = {
    libc.VINTR: 0x03,
    libc.VQUIT: 0x1C,
    libc.VERASE: 0x7F,
    libc.VKILL: 0x15,
    libc.VEOF: 0x04,
    libc.VEOL: 0,
    libc.VEOL2: 0,
    libc.VSTART: 0x11,
    libc.VSTOP: 0x13,
    libc.VSUSP: 0x1A,
    libc.VREPRINT: 0x12,
    libc.VWERASE: 0x17,
    libc.VLNEXT: 0x16,
    libc.VDISCARD: 0x0F,
    libc.VMIN: 1,
    libc.VTIME: 0,
}
"""A new terminal's control characters (0 is disabled)."""

_RAW_OFF: Final = {
    IFLAG: libc.IGNBRK
    | libc.BRKINT
    | libc.IGNPAR
    | libc.PARMRK
    | libc.INPCK
    | libc.ISTRIP
    | libc.INLCR
    | libc.IGNCR
    | libc.ICRNL
    | libc.IXON
    | libc.IXOFF
    | libc.IXANY
    | libc.IMAXBEL,
    OFLAG: libc.OPOST,
    LFLAG: libc.ISIG | libc.ICANON,
}
_COOKED_ON: Final = {
    IFLAG: libc.BRKINT | libc.ICRNL,
    OFLAG: libc.OPOST,
    LFLAG: libc.ISIG | libc.ICANON,
}
SPEEDS: Final = {libc.B0: 0, libc.B9600: 9600, libc.B38400: 38400, libc.B115200: 115200}
"""Speed codes and their baud rates."""
_CODES: Final = {baud: code for code, baud in SPEEDS.items()}
_GROUPS: Final = (CFLAG, IFLAG, OFLAG, LFLAG)


class SettingError(Exception):
    """An unknown setting or a bad value (status 2)."""


def char_name(value: int) -> str:
    """A control character as stty shows it: ``^C``, ``^?``, ``<undef>``, ``a``."""
    if value == 0:
        return "<undef>"
    if value == 0x7F:
        return "^?"
    if value < 0x20:
        return "^" + chr(value + 0x40)
    return chr(value)


def char_value(text: str) -> int:
    """``^C``, ``^?``, ``^-``, ``undef`` or one character as a ``cc`` value.

    Raises:
        SettingError: anything else.
    """
    if text in ("undef", "^-"):
        return 0
    if text == "^?":
        return 0x7F
    if len(text) == 2 and text[0] == "^" and "@" <= text[1].upper() <= "_":
        return ord(text[1].upper()) - 0x40
    if len(text) == 1 and ord(text) < 0x100:
        return ord(text)
    raise SettingError(f"invalid integer argument: '{text}'")


def _number(text: str, high: int) -> int:
    if not text.isdigit() or int(text) > high:
        raise SettingError(f"invalid integer argument: '{text}'")
    return int(text)


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


class Terminal:
    """One terminal's settings as read, changed in place by :meth:`apply`."""

    def __init__(self, attrs: list[object], winsize: tuple[int, int]) -> None:
        self.flags = [_int(attrs[i]) for i in (IFLAG, OFLAG, CFLAG, LFLAG)]
        self.speed = _int(attrs[OSPEED])
        raw_cc = attrs[CC]
        assert isinstance(raw_cc, list)
        self.cc = [c if isinstance(c, int) else c[0] for c in raw_cc]
        self.rows, self.cols = winsize
        self.size_changed = False
        self.shown: list[str] = []
        """What ``size`` and ``speed`` asked to print."""

    def attrs(self) -> list[object]:
        """The settings in tcsetattr's shape."""
        return [*self.flags, self.speed, self.speed, list(self.cc)]

    def flag(self, field: int, bit: int, on: bool) -> None:
        """Set or clear ``bit`` of ``field``."""
        if on:
            self.flags[field] |= bit
        else:
            self.flags[field] &= ~bit

    def apply(self, args: list[str]) -> None:
        """Apply the settings ``args`` in order.

        Raises:
            SettingError: an unknown setting or a bad value.
        """
        i = 0
        while i < len(args):
            arg = args[i]
            value = args[i + 1] if i + 1 < len(args) else None
            i += 2 if self._one(arg, value) else 1

    def _one(self, arg: str, value: str | None) -> bool:
        """Apply one setting; whether it consumed ``value``."""
        name, on = (arg[1:], False) if arg.startswith("-") else (arg, True)
        if name in FLAGS:
            self.flag(*FLAGS[name], on)
            return False
        if on and arg in (*CHARS, "min", "time", "rows", "cols", "columns"):
            if value is None:
                raise SettingError(f"missing argument to '{arg}'")
            self._valued(arg, value)
            return True
        if name in ("raw", "cooked"):
            self._raw(on == (name == "raw"))
        elif arg == "sane":
            self._sane()
        elif arg == "size":
            self.shown.append(f"{self.rows} {self.cols}")
        elif arg == "speed":
            self.shown.append(str(SPEEDS.get(self.speed, self.speed)))
        elif arg.isdigit() and int(arg) in _CODES:
            self.speed = _CODES[int(arg)]
        else:
            raise SettingError(f"invalid argument '{arg}'")
        return False

    def _valued(self, name: str, value: str) -> None:
        if name in CHARS:
            self.cc[CHARS[name]] = char_value(value)
        elif name in ("min", "time"):
            self.cc[libc.VMIN if name == "min" else libc.VTIME] = _number(value, 255)
        else:
            size = _number(value, 0xFFFF)
            if name == "rows":
                self.rows = size
            else:
                self.cols = size
            self.size_changed = True

    def _raw(self, on: bool) -> None:
        if on:
            for field, bits in _RAW_OFF.items():
                self.flag(field, bits, False)
            self.cc[libc.VMIN], self.cc[libc.VTIME] = 1, 0
        else:
            for field, bits in _COOKED_ON.items():
                self.flag(field, bits, True)

    def _sane(self) -> None:
        cread = self.flags[CFLAG] | libc.CREAD
        for field, bits in SANE_FLAGS.items():
            self.flags[field] = bits
        self.flags[CFLAG] = cread
        for index, value in SANE_CHARS.items():
            self.cc[index] = value

    # -- showing -------------------------------------------------------------------

    def _flag_words(self, field: int, everything: bool) -> list[str]:
        words: list[str] = []
        if field == CFLAG and (everything or self.flags[CFLAG] & libc.CSIZE != libc.CS8):
            words.append("cs8" if self.flags[CFLAG] & libc.CSIZE == libc.CS8 else "-cs8")
        for name, (f, bit) in FLAGS.items():
            if f != field:
                continue
            on = bool(self.flags[field] & bit)
            if everything or on != bool(SANE_FLAGS[field] & bit):
                words.append(name if on else f"-{name}")
        return words

    def _chars(self, everything: bool) -> list[str]:
        out = [
            f"{name} = {char_name(self.cc[index])};"
            for name, index in CHARS.items()
            if everything or self.cc[index] != SANE_CHARS[index]
        ]
        for name, index in (("min", libc.VMIN), ("time", libc.VTIME)):
            if everything or self.cc[index] != SANE_CHARS[index]:
                out.append(f"{name} = {self.cc[index]};")
        return out

    def show(self, everything: bool) -> str:
        """The report ``stty`` (``everything`` False) or ``stty -a`` prints."""
        baud = SPEEDS.get(self.speed, self.speed)
        lines = [f"speed {baud} baud; rows {self.rows}; columns {self.cols};"]
        chars = self._chars(everything)
        if chars:
            lines.append(" ".join(chars))
        if everything:
            lines.extend(" ".join(self._flag_words(field, True)) for field in _GROUPS)
        else:
            words = [w for field in _GROUPS for w in self._flag_words(field, False)]
            if words:
                lines.append(" ".join(words))
        return "\n".join(lines) + "\n"


async def _open(device: str | None) -> int:
    if device is None:
        return stdio.STDIN_FILENO
    return await libc.open(device, libc.O_RDWR | libc.O_NOCTTY)


async def main(argv: list[str]) -> int:
    """Show or change the settings; 0, 1 on a terminal error, 2 on a bad setting."""
    args = argv[1:]
    device = None
    if args[:1] == ["-F"] or (args and args[0].startswith("-F") and len(args[0]) > 2):
        if args[0] == "-F":
            if len(args) < 2:
                return await usage("stty", _SYNOPSIS, "option requires an argument -- F")
            device, args = args[1], args[2:]
        else:
            device, args = args[0][2:], args[1:]
    everything = args == ["-a"]
    where = device or "standard input"
    try:
        fd = await _open(device)
        term = Terminal(await libc.tcgetattr(fd), await libc.tcgetwinsize(fd))
    except OSError as exc:
        await stdio.error("stty", f"{where}: {stdio.strerror(exc)}")
        return 1
    try:
        if not args or everything:
            await stdio.write_all(stdio.STDOUT_FILENO, term.show(everything))
            return 0
        try:
            term.apply(args)
        except SettingError as exc:
            return await usage("stty", _SYNOPSIS, str(exc))
        await libc.tcsetattr(fd, libc.TCSADRAIN, term.attrs())
        if term.size_changed:
            await libc.tcsetwinsize(fd, (term.rows, term.cols))
        if term.shown:
            await stdio.write_all(stdio.STDOUT_FILENO, "".join(f"{s}\n" for s in term.shown))
    except OSError as exc:
        await stdio.error("stty", f"{where}: {stdio.strerror(exc)}")
        return 1
    finally:
        if device is not None:
            await libc.close(fd)
    return 0
