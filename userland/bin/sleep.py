"""sleep: wait for a while on the kernel clock (virtual time in tests).

``sleep TIME...`` waits for the sum of its operands. A TIME is a non-negative decimal
number of seconds, fractions allowed (``0.5``), with an optional unit suffix ``s``,
``m``, ``h`` or ``d`` (GNU's extension; POSIX only has whole seconds). The wait is
:func:`userland.libc.sleep`, a select on no descriptors, so it runs on the kernel
clock. A signal's default action ends ``sleep``; if a caught signal cuts the wait
short, it sleeps for what is left.
"""

from __future__ import annotations

import math
import re
from typing import Final

from userland import libc
from userland.bin._common import usage

_SYNOPSIS: Final = "sleep time[s|m|h|d]..."
_TIME: Final = re.compile(r"(\d+\.?\d*|\.\d+)([smhd]?)")
_UNIT: Final = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_time(text: str) -> float | None:
    """``text`` as seconds (``1.5``, ``2m``), or None if it is not a time."""
    m = _TIME.fullmatch(text)
    if m is None:
        return None
    value = float(m.group(1)) * _UNIT[m.group(2)]
    return value if math.isfinite(value) else None


async def main(argv: list[str]) -> int:
    """Sleep for the operands' total; 0, or 2 for a bad or missing operand."""
    args = argv[1:]
    if args and args[0] == "--":
        args = args[1:]
    if not args:
        return await usage("sleep", _SYNOPSIS, "missing operand")
    total = 0.0
    for arg in args:
        seconds = parse_time(arg)
        if seconds is None:
            return await usage("sleep", _SYNOPSIS, f"invalid time interval '{arg}'")
        total += seconds
    deadline = await libc.monotonic() + total
    while (left := deadline - await libc.monotonic()) > 0:
        try:
            await libc.sleep(left)
        except InterruptedError:
            continue  # a caught signal ran its handler: sleep on for the rest
    return 0
