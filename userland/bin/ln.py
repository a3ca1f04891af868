"""ln: make links.

``ln target name`` makes a hard link, ``ln -s target name`` a symbolic one (whose
contents are ``target`` as written); ``ln target... dir`` makes each inside ``dir``
under the target's own name, and ``ln target`` makes it in the working directory.
``-f`` first removes an existing ``name``.
"""

from __future__ import annotations

from typing import Final

from userland import libc
from userland.bin._common import USAGE, fail, getopts, placements

PROG: Final = "ln"
SYNOPSIS: Final = "ln [-fs] target [name]  or  ln [-fs] target... dir"


async def main(argv: list[str]) -> int:
    """Make the links; 1 if any could not be made."""
    parsed = await getopts(PROG, argv, "fs", SYNOPSIS)
    if parsed is None:
        return USAGE
    opts, operands = parsed
    flags = {opt for opt, _ in opts}
    if len(operands) == 1:
        operands.append(".")
    pairs = await placements(PROG, SYNOPSIS, operands)
    if isinstance(pairs, int):
        return pairs
    status = 0
    for target, name in pairs:
        try:
            if "-f" in flags:
                try:
                    await libc.unlink(name)
                except FileNotFoundError:
                    pass
            if "-s" in flags:
                await libc.symlink(target, name)
            else:
                await libc.link(target, name)
        except OSError as exc:
            await fail(PROG, name, exc)
            status = 1
    return status
