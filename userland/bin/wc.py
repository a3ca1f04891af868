"""wc: count lines, words and bytes.

``-l`` newlines, ``-w`` words (runs of non-blank bytes), ``-c`` bytes; no option
means all three, always in that order. Each input gets a line of counts and its
name (none for standard input); several operands add a ``total`` line. The counts
are right-aligned to the width of the widest number printed, one space apart (GNU
pads standard input to 7 columns; this ``wc`` does not).
"""

from __future__ import annotations

from typing import Final

from userland.bin._common import USAGE, getopts, slurp_all
from userland.libc import stdio

PROG: Final = "wc"
SYNOPSIS: Final = "wc [-clw] [file...]"


def counts(data: bytes) -> tuple[int, int, int]:
    """Lines, words and bytes in ``data``."""
    return data.count(b"\n"), len(data.split()), len(data)


async def main(argv: list[str]) -> int:
    """Count each operand (none: standard input); 1 if any could not be read."""
    parsed = await getopts(PROG, argv, "clw", SYNOPSIS)
    if parsed is None:
        return USAGE
    opts, operands = parsed
    chosen = {opt for opt, _ in opts} or {"-l", "-w", "-c"}
    which = [i for i, opt in enumerate(("-l", "-w", "-c")) if opt in chosen]
    rows: list[tuple[list[int], str]] = []
    total = [0, 0, 0]
    inputs, status = await slurp_all(PROG, operands)
    for name, data in inputs:
        found = counts(data)
        total = [a + b for a, b in zip(total, found, strict=True)]
        rows.append(([found[i] for i in which], "" if not operands else name))
    if len(operands) > 1:
        rows.append(([total[i] for i in which], "total"))
    width = max((len(str(n)) for nums, _ in rows for n in nums), default=1)
    lines = [
        " ".join(f"{n:>{width}}" for n in nums) + (f" {name}" if name else "") + "\n"
        for nums, name in rows
    ]
    await stdio.write_all(stdio.STDOUT_FILENO, "".join(lines))
    return status
