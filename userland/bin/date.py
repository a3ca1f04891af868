"""date: print the date and time of the machine's real-time clock.

::

    date [-u] [+FORMAT]

The time is :func:`userland.libc.time`: the boot time (the host's clock when asynix
runs on real time; 2026-01-01 00:00:00 UTC on virtual time, in tests) plus the kernel
clock's uptime. asynix has no time zones: every time is UTC, and ``-u`` is accepted
and changes nothing. The default format is POSIX's ``%a %b %e %H:%M:%S %Z %Y``
(``Thu Jan  1 00:00:05 UTC 2026``). FORMAT takes these conversions (C's strftime,
in the POSIX locale): ``%a %A %b %B %c %C %d %D %e %F %h %H %I %j %k %l %m %M %n %p
%r %R %s %S %t %T %u %U %w %y %Y %z %Z %%``; any other ``%x`` is printed as it
stands. Setting the clock is not supported (an operand without ``+`` is a usage
error, status 2).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from userland import libc
from userland.bin._common import USAGE, getopts, usage
from userland.libc import stdio

if TYPE_CHECKING:
    from collections.abc import Callable

_SYNOPSIS: Final = "date [-u] [+format]"
DEFAULT_FORMAT: Final = "%a %b %e %H:%M:%S %Z %Y"
_DAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _hour12(t: datetime) -> int:
    return t.hour % 12 or 12


_CONVERSIONS: Final[dict[str, Callable[[datetime], str]]] = {
    "a": lambda t: _DAYS[t.weekday()][:3],
    "A": lambda t: _DAYS[t.weekday()],
    "b": lambda t: _MONTHS[t.month - 1][:3],
    "h": lambda t: _MONTHS[t.month - 1][:3],
    "B": lambda t: _MONTHS[t.month - 1],
    "C": lambda t: f"{t.year // 100:02d}",
    "d": lambda t: f"{t.day:02d}",
    "e": lambda t: f"{t.day:2d}",
    "H": lambda t: f"{t.hour:02d}",
    "I": lambda t: f"{_hour12(t):02d}",
    "j": lambda t: f"{t.timetuple().tm_yday:03d}",
    "k": lambda t: f"{t.hour:2d}",
    "l": lambda t: f"{_hour12(t):2d}",
    "m": lambda t: f"{t.month:02d}",
    "M": lambda t: f"{t.minute:02d}",
    "n": lambda t: "\n",
    "p": lambda t: "AM" if t.hour < 12 else "PM",
    "s": lambda t: str(int(t.timestamp())),
    "S": lambda t: f"{t.second:02d}",
    "t": lambda t: "\t",
    "u": lambda t: str(t.isoweekday()),
    "U": lambda t: f"{(t.timetuple().tm_yday + 6 - (t.isoweekday() % 7)) // 7:02d}",
    "w": lambda t: str(t.isoweekday() % 7),
    "y": lambda t: f"{t.year % 100:02d}",
    "Y": lambda t: str(t.year),
    "z": lambda t: "+0000",
    "Z": lambda t: "UTC",
    "%": lambda t: "%",
}
_COMPOSITES: Final = {
    "c": "%a %b %e %H:%M:%S %Y",
    "D": "%m/%d/%y",
    "F": "%Y-%m-%d",
    "r": "%I:%M:%S %p",
    "R": "%H:%M",
    "T": "%H:%M:%S",
}


def strftime(fmt: str, t: datetime) -> str:
    """``t`` formatted by ``fmt`` (the conversions the module docstring lists)."""
    out: list[str] = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch != "%" or i + 1 == len(fmt):
            out.append(ch)
            i += 1
            continue
        code = fmt[i + 1]
        if code in _COMPOSITES:
            out.append(strftime(_COMPOSITES[code], t))
        elif code in _CONVERSIONS:
            out.append(_CONVERSIONS[code](t))
        else:
            out.append("%" + code)
        i += 2
    return "".join(out)


async def main(argv: list[str]) -> int:
    """Print the time; 0, 1 when output fails, 2 on a usage error."""
    parsed = await getopts("date", argv, "u", _SYNOPSIS)
    if parsed is None:
        return USAGE
    _opts, operands = parsed
    fmt = DEFAULT_FORMAT
    if operands:
        if len(operands) > 1 or not operands[0].startswith("+"):
            return await usage("date", _SYNOPSIS, "setting the time is not supported")
        fmt = operands[0][1:]
    now = datetime.fromtimestamp(int(await libc.time()), tz=UTC)
    try:
        await stdio.puts(strftime(fmt, now))
    except OSError as exc:
        await stdio.error("date", f"write error: {stdio.strerror(exc)}")
        return 1
    return 0
