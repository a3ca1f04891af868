"""cat: copy files (``-`` is standard input) to standard output, in order.

Bytes pass through unchanged, one read-sized chunk at a time, so ``cat`` on a
terminal echoes each line as it is typed. ``-u`` (unbuffered) is accepted; ``cat``
never buffers.
"""

from __future__ import annotations

from typing import Final

from userland import libc
from userland.bin._common import USAGE, close_input, fail, getopts, open_input
from userland.libc import stdio

PROG: Final = "cat"
SYNOPSIS: Final = "cat [-u] [file...]"


async def _copy(name: str) -> bool:
    """Copy ``name`` to standard output; False after printing why it failed."""
    fd = await open_input(PROG, name)
    if fd is None:
        return False
    try:
        while True:
            try:
                data = await libc.read(fd, libc.IO_CHUNK)
            except OSError as exc:
                await fail(PROG, name, exc)
                return False
            if not data:
                return True
            await stdio.write_all(stdio.STDOUT_FILENO, data)
    finally:
        await close_input(fd)


async def main(argv: list[str]) -> int:
    """Concatenate the operands (none: standard input); 1 if any could not be read."""
    parsed = await getopts(PROG, argv, "u", SYNOPSIS)
    if parsed is None:
        return USAGE
    status = 0
    for name in parsed[1] or ["-"]:
        try:
            if not await _copy(name):
                status = 1
        except OSError as exc:  # standard output failed: nothing more can be written
            await fail(PROG, "write error", exc)
            return 1
    return status
