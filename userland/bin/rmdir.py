"""rmdir: remove empty directories.

``-p`` also removes each parent named in the operand, innermost first, stopping at
the first that cannot be removed (``rmdir -p a/b/c`` removes ``a/b/c``, ``a/b``, ``a``).
"""

from __future__ import annotations

import posixpath
from typing import Final

from userland import libc
from userland.bin._common import USAGE, fail, getopts, usage

PROG: Final = "rmdir"
SYNOPSIS: Final = "rmdir [-p] dir..."


async def _remove(path: str, parents: bool) -> bool:
    """Remove ``path`` (and with ``parents`` its named ancestors); False on failure."""
    while True:
        try:
            await libc.rmdir(path)
        except OSError as exc:
            await fail(PROG, path, exc)
            return False
        path = posixpath.dirname(path.rstrip("/"))
        if not parents or path in ("", "/", "."):
            return True


async def main(argv: list[str]) -> int:
    """Remove each operand; 1 if any could not be removed."""
    parsed = await getopts(PROG, argv, "p", SYNOPSIS)
    if parsed is None:
        return USAGE
    opts, operands = parsed
    if not operands:
        return await usage(PROG, SYNOPSIS, "missing operand")
    parents = bool(opts)
    status = 0
    for path in operands:
        if not await _remove(path, parents):
            status = 1
    return status
