"""uname: print the system's name and version.

::

    uname [-amnrsv]

The fields, in the order ``-a`` prints them: ``-s`` the system name ``asynix``;
``-n`` the node name (the first line of ``/etc/hostname`` when the file exists,
otherwise ``asynix``); ``-r`` the release ``3.4.0`` (the MINIX release asynix
follows); ``-v`` the version ``asynix``; ``-m`` the machine ``i386`` (what the paging
model simulates). Without options, ``-s``. Exit status 2 on a usage error.
"""

from __future__ import annotations

from typing import Final

from userland import libc
from userland.bin._common import USAGE, getopts, usage
from userland.libc import stdio

_SYNOPSIS: Final = "uname [-amnrsv]"
SYSNAME: Final = "asynix"
RELEASE: Final = "3.4.0"
VERSION: Final = "asynix"
MACHINE: Final = "i386"
_HOSTNAME: Final = "/etc/hostname"
_ORDER: Final = "snrvm"


async def nodename() -> str:
    """The first line of ``/etc/hostname``, or ``asynix`` when there is none."""
    try:
        fd = await libc.open(_HOSTNAME, libc.O_RDONLY)
    except OSError:
        return SYSNAME
    try:
        name = stdio.decode(await stdio.read_all(fd)).split("\n", 1)[0].strip()
    except OSError:
        name = ""
    finally:
        await libc.close(fd)
    return name or SYSNAME


async def main(argv: list[str]) -> int:
    """Print the selected fields separated by spaces; 0, or 2 on a usage error."""
    parsed = await getopts("uname", argv, "amnrsv", _SYNOPSIS)
    if parsed is None:
        return USAGE
    opts, operands = parsed
    if operands:
        return await usage("uname", _SYNOPSIS, f"extra operand '{operands[0]}'")
    wanted = {opt[1] for opt, _ in opts}
    if "a" in wanted:
        wanted = set(_ORDER)
    wanted = wanted or {"s"}
    values = {"s": SYSNAME, "r": RELEASE, "v": VERSION, "m": MACHINE}
    if "n" in wanted:
        values["n"] = await nodename()
    try:
        await stdio.puts(" ".join(values[f] for f in _ORDER if f in wanted))
    except OSError as exc:
        await stdio.error("uname", f"write error: {stdio.strerror(exc)}")
        return 1
    return 0
