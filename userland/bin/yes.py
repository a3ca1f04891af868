"""yes: write a line (``y``, or the operands joined by spaces) over and over.

It stops when standard output fails: a closed pipe raises SIGPIPE, which kills it;
with SIGPIPE ignored the write fails with EPIPE and ``yes`` exits with status 1.
Lines are written many at a time (each write is a system call).
"""

from __future__ import annotations

from typing import Final

from userland.libc import stdio

_CHUNK: Final = 4096


async def main(argv: list[str]) -> int:
    """Repeat the line until a write fails; returns 1 then."""
    line = stdio.encode(" ".join(argv[1:]) if len(argv) > 1 else "y") + b"\n"
    block = line * max(1, _CHUNK // len(line))
    try:
        while True:
            await stdio.write_all(stdio.STDOUT_FILENO, block)
    except OSError as exc:
        await stdio.error("yes", f"standard output: {stdio.strerror(exc)}")
        return 1
