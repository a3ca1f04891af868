"""rm: remove directory entries.

``-r``/``-R`` removes directories and everything under them (a symbolic link is
removed, never followed); ``-f`` ignores missing operands, prints nothing for them
and allows no operands at all. Without ``-r`` a directory operand is an error
(EISDIR). ``.`` and ``..`` as last path component are refused, as POSIX requires.
"""

from __future__ import annotations

import errno
import posixpath
from typing import Final

from userland import libc
from userland.bin._common import USAGE, fail, getopts, usage
from userland.libc import stdio

PROG: Final = "rm"
SYNOPSIS: Final = "rm [-fRr] file..."


async def remove_tree(path: str) -> None:
    """Remove ``path``; if it is a directory (not a link to one), all it holds first.

    Raises:
        OSError: the first entry that could not be removed (its path is the error's
            ``filename``; the rest are left).
    """
    try:
        st = await libc.lstat(path)
        if libc.S_ISDIR(st.st_mode):
            for name in await libc.listdir(path):
                await remove_tree(posixpath.join(path, str(name)))
            await libc.rmdir(path)
        else:
            await libc.unlink(path)
    except OSError as exc:
        if exc.filename is not None:
            raise
        raise type(exc)(exc.errno, exc.strerror, path) from None


async def _remove(path: str, recursive: bool) -> None:
    if recursive:
        await remove_tree(path)
        return
    if libc.S_ISDIR((await libc.lstat(path)).st_mode):
        raise IsADirectoryError(errno.EISDIR, "Is a directory")
    await libc.unlink(path)


async def main(argv: list[str]) -> int:
    """Remove each operand; 1 if any could not be removed."""
    parsed = await getopts(PROG, argv, "fRr", SYNOPSIS)
    if parsed is None:
        return USAGE
    opts, operands = parsed
    flags = {opt for opt, _ in opts}
    force = "-f" in flags
    recursive = bool(flags & {"-r", "-R"})
    if not operands and not force:
        return await usage(PROG, SYNOPSIS, "missing operand")
    status = 0
    for path in operands:
        if posixpath.basename(path.rstrip("/")) in (".", ".."):
            await stdio.error(PROG, f"{path}: refusing to remove '.' or '..'")
            status = 1
            continue
        try:
            await _remove(path, recursive)
        except FileNotFoundError as exc:
            if not force:
                await fail(PROG, path, exc)
                status = 1
        except OSError as exc:
            await fail(PROG, path if exc.filename is None else exc.filename, exc)
            status = 1
    return status
