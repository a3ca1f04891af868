"""mv: move (rename) files.

``mv src dst`` renames; ``mv src... dir`` moves each into ``dir`` under its own
name. When the two are on different file systems (``rename`` fails with EXDEV) the
source is copied as ``cp -r`` would copy it, then removed as ``rm -r`` would.
"""

from __future__ import annotations

import errno
from typing import Final

from userland import libc
from userland.bin._common import USAGE, getopts, placements
from userland.bin.cp import copy_tree, report
from userland.bin.rm import remove_tree

PROG: Final = "mv"
SYNOPSIS: Final = "mv [-f] source... target"


async def _move(src: str, dst: str) -> None:
    try:
        await libc.rename(src, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        await copy_tree(src, dst)
        await remove_tree(src)


async def main(argv: list[str]) -> int:
    """Move the sources; 1 if any could not be moved."""
    parsed = await getopts(PROG, argv, "f", SYNOPSIS)
    if parsed is None:
        return USAGE
    pairs = await placements(PROG, SYNOPSIS, parsed[1])
    if isinstance(pairs, int):
        return pairs
    status = 0
    for src, dst in pairs:
        try:
            await _move(src, dst)
        except OSError as exc:
            await report(PROG, src, exc)
            status = 1
    return status
