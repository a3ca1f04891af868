"""tty: print the name of the terminal on standard input.

``tty`` prints ``ttyname(0)`` (``/dev/console``) and exits 0; when standard input
is not a terminal it prints ``not a tty`` and exits 1. ``-s`` prints nothing and only
sets the status. Exit status 2 on a usage error or when the terminal has no name in
``/dev``.
"""

from __future__ import annotations

import errno
from typing import Final

from userland import libc
from userland.bin._common import USAGE, getopts, usage
from userland.libc import stdio

_SYNOPSIS: Final = "tty [-s]"


async def main(argv: list[str]) -> int:
    """Print the terminal's name; 0 on a terminal, 1 when not, 2 on an error."""
    parsed = await getopts("tty", argv, "s", _SYNOPSIS)
    if parsed is None:
        return USAGE
    opts, operands = parsed
    if operands:
        return await usage("tty", _SYNOPSIS, "too many arguments")
    silent = bool(opts)
    try:
        name = await libc.ttyname(stdio.STDIN_FILENO)
    except OSError as exc:
        if exc.errno not in (errno.ENOTTY, errno.EBADF):
            await stdio.error("tty", stdio.strerror(exc))
            return 2
        if not silent:
            await stdio.puts("not a tty")
        return 1
    if not silent:
        await stdio.puts(name)
    return 0
