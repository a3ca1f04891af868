"""echo: write the arguments, joined by spaces, and a newline.

POSIX leaves ``-n`` and backslashes implementation-defined; this ``echo`` takes a
leading ``-n`` (or several) to mean "no newline" and prints every other argument as
it is, backslashes included.
"""

from __future__ import annotations

from userland.libc import stdio


async def main(argv: list[str]) -> int:
    """Print ``argv[1:]``; 0, or 1 when standard output fails."""
    args = argv[1:]
    newline = True
    while args and args[0] == "-n":
        newline = False
        args = args[1:]
    text = " ".join(args) + ("\n" if newline else "")
    try:
        await stdio.write_all(stdio.STDOUT_FILENO, text)
    except OSError as exc:
        await stdio.error("echo", f"write error: {stdio.strerror(exc)}")
        return 1
    return 0
