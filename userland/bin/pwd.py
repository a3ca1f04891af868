"""pwd: print the working directory.

``-L`` (the default, as POSIX says) prints ``$PWD`` when it is an absolute path
without ``.`` or ``..`` components that names the working directory; otherwise, and
with ``-P``, the physical path from :func:`userland.libc.getcwd`.
"""

from __future__ import annotations

from typing import Final

from userland import libc
from userland.bin._common import USAGE, getopts, usage
from userland.libc import stdio

_SYNOPSIS: Final = "pwd [-L | -P]"


async def _logical() -> str | None:
    pwd = libc.getenv("PWD")
    if not pwd or not pwd.startswith("/") or {".", ".."} & set(pwd.split("/")):
        return None
    try:
        here, there = await libc.stat("."), await libc.stat(pwd)
    except OSError:
        return None
    return pwd if (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino) else None


async def main(argv: list[str]) -> int:
    """Print the working directory; 0, 1 on failure, 2 on a usage error."""
    parsed = await getopts("pwd", argv, "LP", _SYNOPSIS)
    if parsed is None:
        return USAGE
    opts, operands = parsed
    if operands:
        return await usage("pwd", _SYNOPSIS, "too many arguments")
    physical = bool(opts) and opts[-1][0] == "-P"
    try:
        path = None if physical else await _logical()
        if path is None:
            path = await libc.getcwd()
        await stdio.puts(path)
    except OSError as exc:
        await stdio.error("pwd", stdio.strerror(exc))
        return 1
    return 0
