"""tail: the last part of files.

``-n N`` copies the last N lines, ``-n +N`` everything from line N on; ``-c N`` and
``-c +N`` do the same in bytes; the historical ``-N`` means ``-n N``. The default is
10 lines. A last line without a newline counts as a line. Several operands are each
preceded by ``==> name <==`` and separated by a blank line. ``-f`` is not supported.
"""

from __future__ import annotations

import re
from typing import Final

from userland.bin._common import USAGE, getopts, legacy_count, lines_of, print_each, slurp, usage

PROG: Final = "tail"
SYNOPSIS: Final = "tail [-n [+]lines | -c [+]bytes] [file...]"


def tail(data: bytes, count: int, from_start: bool, by_lines: bool) -> bytes:
    """What ``tail`` prints of ``data``."""
    if not by_lines:
        if from_start:
            return data[max(count - 1, 0) :]
        return data[len(data) - count :] if count else b""
    lines = lines_of(data)
    if from_start:
        return b"".join(lines[max(count - 1, 0) :])
    return b"".join(lines[len(lines) - count :]) if count else b""


async def main(argv: list[str]) -> int:
    """Print the tail of each operand (none: standard input); 1 if any failed."""
    parsed = await getopts(PROG, legacy_count(argv), "n:c:", SYNOPSIS)
    if parsed is None:
        return USAGE
    opts, operands = parsed
    count, from_start, by_lines = 10, False, True
    for opt, arg in opts:
        m = re.fullmatch(r"([-+]?)(\d+)", arg)
        if m is None:
            return await usage(PROG, SYNOPSIS, f"invalid number: {arg}")
        count, from_start, by_lines = int(m[2]), m[1] == "+", opt == "-n"

    async def text_of(name: str) -> bytes | None:
        data = await slurp(PROG, name)
        return None if data is None else tail(data, count, from_start, by_lines)

    return await print_each(operands or ["-"], text_of)
