"""cp: copy files, or with ``-r``/``-R`` directory trees.

``cp src dst`` copies a file; ``cp src... dir`` copies each into ``dir`` under its
own name. A new file gets the source's permission bits (less the umask, by
``open``); an existing one keeps its own and is truncated. With ``-r`` a directory
is copied entry by entry (its entries are listed before the copy is made, so
``cp -r d d/sub`` ends) and a symbolic link is copied as a link; without ``-r`` a
directory operand is an error. Copying a file onto itself is refused.
"""

from __future__ import annotations

import errno
import posixpath
from typing import Final

from userland import libc
from userland.bin._common import USAGE, fail, getopts, is_dir, placements
from userland.libc import stdio

PROG: Final = "cp"
SYNOPSIS: Final = "cp [-Rr] source... target"


class SameFileError(OSError):
    """Source and destination are one file (nothing was copied)."""


async def _open(path: str, flags: int, mode: int = 0o666) -> int:
    """``open``, with ``path`` as the error's ``filename``."""
    try:
        return await libc.open(path, flags, mode)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, path) from None


async def report(prog: str, src: str, exc: OSError) -> None:
    """Print why copying ``src`` failed."""
    if isinstance(exc, SameFileError):
        await stdio.error(prog, str(exc.strerror))
    else:
        await fail(prog, src if exc.filename is None else exc.filename, exc)


async def copy_file(src: str, dst: str) -> None:
    """Copy regular (or device, FIFO) file ``src`` to ``dst``.

    Raises:
        OSError: from opening, reading or writing (``filename`` names the file that
            failed); :class:`SameFileError` when both are one file.
    """
    fd_in = await _open(src, libc.O_RDONLY)
    try:
        st = await libc.fstat(fd_in)
        try:
            old = await libc.stat(dst)
        except FileNotFoundError:
            pass
        else:
            if (old.st_dev, old.st_ino) == (st.st_dev, st.st_ino):
                raise SameFileError(errno.EINVAL, f"{src} and {dst} are the same file")
        flags = libc.O_WRONLY | libc.O_CREAT | libc.O_TRUNC
        fd_out = await _open(dst, flags, st.st_mode & 0o7777)
        try:
            while data := await libc.read(fd_in, libc.IO_CHUNK):
                await stdio.write_all(fd_out, data)
        finally:
            await libc.close(fd_out)
    finally:
        await libc.close(fd_in)


async def copy_tree(src: str, dst: str) -> None:
    """Copy ``src`` to ``dst``: a file, a symbolic link as a link, a directory wholly.

    Raises:
        OSError: the first failure (what was copied before it stays).
    """
    st = await libc.lstat(src)
    if libc.S_ISLNK(st.st_mode):
        await libc.symlink(await libc.readlink(src), dst)
    elif libc.S_ISDIR(st.st_mode):
        names = sorted(str(n) for n in await libc.listdir(src))
        if not await is_dir(dst):
            await libc.mkdir(dst, st.st_mode & 0o7777 | 0o700)
        for name in names:
            await copy_tree(posixpath.join(src, name), posixpath.join(dst, name))
        await libc.chmod(dst, st.st_mode & 0o7777)
    else:
        await copy_file(src, dst)


async def main(argv: list[str]) -> int:
    """Copy the sources; 1 if any could not be copied."""
    parsed = await getopts(PROG, argv, "Rr", SYNOPSIS)
    if parsed is None:
        return USAGE
    opts, operands = parsed
    recursive = bool(opts)
    pairs = await placements(PROG, SYNOPSIS, operands)
    if isinstance(pairs, int):
        return pairs
    status = 0
    for src, dst in pairs:
        try:
            if recursive:
                await copy_tree(src, dst)
            elif await is_dir(src):
                await stdio.error(PROG, f"{src}: is a directory (not copied)")
                status = 1
            else:
                await copy_file(src, dst)
        except OSError as exc:
            await report(PROG, src, exc)
            status = 1
    return status
