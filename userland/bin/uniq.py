"""uniq: report or filter out repeated adjacent lines.

``uniq [input [output]]`` writes one copy of each run of equal adjacent lines.
``-c`` precedes each with its run length (``%7d ``, as GNU uniq prints it), ``-d``
prints only lines that were repeated, ``-u`` only lines that were not (both: nothing).
Input ``-`` or none is standard input; the output file is created or truncated.
"""

from __future__ import annotations

from typing import Final

from userland import libc
from userland.bin._common import USAGE, fail, getopts, lines_of, slurp, usage
from userland.libc import stdio

PROG: Final = "uniq"
SYNOPSIS: Final = "uniq [-c | -d | -u] [input [output]]"


def runs(lines: list[bytes]) -> list[tuple[bytes, int]]:
    """Each run of equal adjacent ``lines`` as (line, length)."""
    out: list[tuple[bytes, int]] = []
    for line in lines:
        if out and out[-1][0] == line:
            out[-1] = (line, out[-1][1] + 1)
        else:
            out.append((line, 1))
    return out


async def main(argv: list[str]) -> int:
    """Filter the input; 1 if a file could not be read or written."""
    parsed = await getopts(PROG, argv, "cdu", SYNOPSIS)
    if parsed is None:
        return USAGE
    opts, operands = parsed
    flags = {opt for opt, _ in opts}
    if len(operands) > 2:
        return await usage(PROG, SYNOPSIS, "too many operands")
    data = await slurp(PROG, operands[0] if operands else "-")
    if data is None:
        return 1
    lines = [line if line.endswith(b"\n") else line + b"\n" for line in lines_of(data)]
    chosen = [
        (line, n)
        for line, n in runs(lines)
        if not ("-d" in flags and n == 1) and not ("-u" in flags and n > 1)
    ]
    text = b"".join((f"{n:7d} ".encode() + line) if "-c" in flags else line for line, n in chosen)
    fd = stdio.STDOUT_FILENO
    if len(operands) == 2:
        try:
            fd = await libc.open(operands[1], libc.O_WRONLY | libc.O_CREAT | libc.O_TRUNC, 0o666)
        except OSError as exc:
            await fail(PROG, operands[1], exc)
            return 1
    try:
        await stdio.write_all(fd, text)
    finally:
        if fd != stdio.STDOUT_FILENO:
            await libc.close(fd)
    return 0
