"""mkdir: make directories.

``-p`` makes missing parents too (mode ``u+wx`` over the umask's default) and
accepts a directory that already exists; ``-m MODE`` (octal or symbolic, relative to
``a=rwx``) sets the new directories' permission bits regardless of the umask.
"""

from __future__ import annotations

import posixpath
from typing import Final

from userland import libc
from userland.bin._common import USAGE, apply_mode, fail, getopts, is_dir, usage

PROG: Final = "mkdir"
SYNOPSIS: Final = "mkdir [-p] [-m mode] dir..."


async def _parents(path: str, mode: int) -> None:
    """Make every missing ancestor of ``path`` with ``mode`` (as ``-p`` does)."""
    parent = posixpath.dirname(path.rstrip("/"))
    if parent in ("", "/") or await is_dir(parent):
        return
    await _parents(parent, mode)
    try:
        await libc.mkdir(parent, mode)
    except FileExistsError:
        if not await is_dir(parent):
            raise


async def _make(path: str, mode: int | None, parents: bool, mask: int) -> None:
    if parents:
        await _parents(path, 0o777 & ~mask | 0o300)
    try:
        await libc.mkdir(path, 0o777 if mode is None else mode)
    except FileExistsError:
        if not (parents and await is_dir(path)):
            raise
        return
    if mode is not None:
        await libc.chmod(path, mode)  # -m is not subject to the umask


async def main(argv: list[str]) -> int:
    """Make each operand; 1 if any could not be made."""
    parsed = await getopts(PROG, argv, "pm:", SYNOPSIS)
    if parsed is None:
        return USAGE
    opts, operands = parsed
    mask = await libc.umask(0)
    await libc.umask(mask)
    mode: int | None = None
    parents = False
    for opt, arg in opts:
        if opt == "-p":
            parents = True
        else:
            mode = apply_mode(arg, 0o777, is_dir=True)
            if mode is None:
                return await usage(PROG, SYNOPSIS, f"invalid mode: {arg}")
    if not operands:
        return await usage(PROG, SYNOPSIS, "missing operand")
    status = 0
    for path in operands:
        try:
            await _make(path, mode, parents, mask)
        except OSError as exc:
            await fail(PROG, path, exc)
            status = 1
    return status
