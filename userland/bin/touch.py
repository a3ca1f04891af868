"""touch: set file times, making files that do not exist.

Each operand's access and modification times become now, or the time of ``-t
[[CC]YY]MMDDhhmm[.SS]`` (UTC, the machine's only time zone; ``YY`` 69-99 is 19YY,
00-68 20YY; no year: this year), or those of the file ``-r REF``. ``-a`` changes only
the access time, ``-m`` only the modification time (both: both); the other is left
alone (UTIME_OMIT). A missing operand is created empty (mode 0666 less the umask) and
then given the times; ``-c`` creates nothing and says nothing about it.

The times are set with ``libc.utimensat`` (POSIX ``utimensat``): setting both to now
needs write permission or ownership, any other time ownership (EPERM otherwise).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final

from userland import libc
from userland.bin._common import USAGE, fail, getopts, usage

PROG: Final = "touch"
SYNOPSIS: Final = "touch [-acm] [-r ref_file | -t [[CC]YY]MMDDhhmm[.SS]] file..."

_NOW: Final = (0, libc.UTIME_NOW)
_OMIT: Final = (0, libc.UTIME_OMIT)
_STAMP: Final = re.compile(r"(\d{8}|\d{10}|\d{12})(?:\.(\d\d))?", re.ASCII)

Times = tuple[tuple[int, int], tuple[int, int]]


async def _stamp(arg: str) -> int | None:
    """The Unix time ``-t arg`` names (whole seconds), or None if it is malformed."""
    m = _STAMP.fullmatch(arg)
    if m is None:
        return None
    digits, seconds = m[1], int(m[2] or 0)
    if len(digits) == 12:
        year, digits = int(digits[:4]), digits[4:]
    elif len(digits) == 10:
        yy, digits = int(digits[:2]), digits[2:]
        year = yy + (1900 if yy >= 69 else 2000)
    else:
        year = datetime.fromtimestamp(await libc.time(), tz=UTC).year
    month, day, hour, minute = (int(digits[i : i + 2]) for i in range(0, 8, 2))
    if seconds > 60:  # 60: a leap second, which POSIX allows
        return None
    try:
        when = datetime(year, month, day, hour, minute, tzinfo=UTC)
    except ValueError:
        return None
    return int(when.timestamp()) + seconds


async def _touch(path: str, times: Times, create: bool) -> None:
    try:
        await libc.utimensat(path, times)
    except FileNotFoundError:
        if not create:
            return
        fd = await libc.open(path, libc.O_WRONLY | libc.O_CREAT, 0o666)
        try:
            await libc.utimensat(fd, times)
        finally:
            await libc.close(fd)


async def _times(opts: dict[str, str]) -> Times | int:
    """The (atime, mtime) the options ask for, or an exit status after an error."""
    atime = mtime = _NOW
    if "-r" in opts and "-t" in opts:
        return await usage(PROG, SYNOPSIS, "-r and -t are mutually exclusive")
    if "-t" in opts:
        t = await _stamp(opts["-t"])
        if t is None:
            return await usage(PROG, SYNOPSIS, f"invalid date: {opts['-t']}")
        atime = mtime = (t, 0)
    if "-r" in opts:
        try:
            st = await libc.stat(opts["-r"])
        except OSError as exc:
            await fail(PROG, opts["-r"], exc)
            return 1
        atime, mtime = libc.to_timespec(st.st_atime), libc.to_timespec(st.st_mtime)
    if "-a" in opts or "-m" in opts:
        atime = atime if "-a" in opts else _OMIT
        mtime = mtime if "-m" in opts else _OMIT
    return atime, mtime


async def main(argv: list[str]) -> int:
    """Touch each operand; 1 if any could not be created or given its times."""
    parsed = await getopts(PROG, argv, "acmr:t:", SYNOPSIS)
    if parsed is None:
        return USAGE
    opts, operands = dict(parsed[0]), parsed[1]
    if not operands:
        return await usage(PROG, SYNOPSIS, "missing operand")
    times = await _times(opts)
    if isinstance(times, int):
        return times
    status = 0
    for path in operands:
        try:
            await _touch(path, times, create="-c" not in opts)
        except OSError as exc:
            await fail(PROG, path, exc)
            status = 1
    return status
