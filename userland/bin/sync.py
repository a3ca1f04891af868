"""sync: have every mounted file system write back what it holds (``sync()``)."""

from __future__ import annotations

from userland import libc
from userland.bin._common import usage
from userland.libc import stdio


async def main(argv: list[str]) -> int:
    """Call sync; 0, 1 if it fails, 2 when given operands."""
    if len(argv) > 1:
        return await usage("sync", "sync", "too many arguments")
    try:
        await libc.sync()
    except OSError as exc:
        await stdio.error("sync", stdio.strerror(exc))
        return 1
    return 0
