"""head: the first part of files.

``-n N`` (or the historical ``-N``) copies the first N lines, ``-c N`` the first N
bytes; the default is 10 lines. Input is read only as far as needed, so
``yes | head`` ends. Several operands are each preceded by ``==> name <==`` and
separated by a blank line.
"""

from __future__ import annotations

from typing import Final

from userland import libc
from userland.bin._common import (
    USAGE,
    close_input,
    fail,
    getopts,
    legacy_count,
    open_input,
    parse_int,
    print_each,
    usage,
)

PROG: Final = "head"
SYNOPSIS: Final = "head [-n lines | -c bytes] [file...]"


async def _head(fd: int, count: int, by_lines: bool) -> bytes:
    """The first ``count`` lines (or bytes) readable from ``fd``."""
    data = b""
    ends, at = 0, -1  # newlines found so far, and where the last of them is
    while True:
        if by_lines:
            while ends < count and (nl := data.find(b"\n", at + 1)) >= 0:
                ends, at = ends + 1, nl
            if ends == count:
                return data[: at + 1]
        elif len(data) >= count:
            return data[:count]
        chunk = await libc.read(fd, libc.IO_CHUNK)
        if not chunk:
            return data
        data += chunk


async def main(argv: list[str]) -> int:
    """Print the head of each operand (none: standard input); 1 if any failed."""
    parsed = await getopts(PROG, legacy_count(argv), "n:c:", SYNOPSIS)
    if parsed is None:
        return USAGE
    opts, operands = parsed
    count, by_lines = 10, True
    for opt, arg in opts:
        value = parse_int(arg)
        if value is None:
            return await usage(PROG, SYNOPSIS, f"invalid number: {arg}")
        count, by_lines = value, opt == "-n"

    async def text_of(name: str) -> bytes | None:
        fd = await open_input(PROG, name)
        if fd is None:
            return None
        try:
            return await _head(fd, count, by_lines)
        except OSError as exc:
            await fail(PROG, name, exc)
            return None
        finally:
            await close_input(fd)

    return await print_each(operands or ["-"], text_of)
