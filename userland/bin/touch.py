"""touch: make files exist.

A missing operand is created empty (mode 0666 less the umask); ``-c`` creates
nothing. libc has no ``utime``, so the times of a file that already exists are
left as they are: ``touch`` opens it for writing (``O_CREAT|O_WRONLY``, no
truncation) and closes it, which checks that it could be written. A directory that
exists is accepted as it is.
"""

from __future__ import annotations

from typing import Final

from userland import libc
from userland.bin._common import USAGE, fail, getopts, usage

PROG: Final = "touch"
SYNOPSIS: Final = "touch [-c] file..."


async def _touch(path: str, create: bool) -> None:
    flags = libc.O_WRONLY | (libc.O_CREAT if create else 0)
    try:
        fd = await libc.open(path, flags, 0o666)
    except IsADirectoryError:
        return
    except FileNotFoundError:
        if create:
            raise
        return
    await libc.close(fd)


async def main(argv: list[str]) -> int:
    """Touch each operand; 1 if any could not be created or opened."""
    parsed = await getopts(PROG, argv, "c", SYNOPSIS)
    if parsed is None:
        return USAGE
    opts, operands = parsed
    if not operands:
        return await usage(PROG, SYNOPSIS, "missing operand")
    status = 0
    for path in operands:
        try:
            await _touch(path, create=not opts)
        except OSError as exc:
            await fail(PROG, path, exc)
            status = 1
    return status
