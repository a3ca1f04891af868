"""clear: clear the terminal screen (VT100: cursor home, erase the display).

asynix has no terminfo: every terminal it drives (the console, ptys) is a VT100, so
``clear`` writes ``ESC [ H ESC [ 2 J`` whatever ``TERM`` says.
"""

from __future__ import annotations

from typing import Final

from userland.libc import stdio

CLEAR: Final = "\x1b[H\x1b[2J"


async def main(argv: list[str]) -> int:
    """Write the clear sequence; 0, or 1 when standard output fails."""
    try:
        await stdio.write_all(stdio.STDOUT_FILENO, CLEAR)
    except OSError as exc:
        await stdio.error("clear", f"write error: {stdio.strerror(exc)}")
        return 1
    return 0
