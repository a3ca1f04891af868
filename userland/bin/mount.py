"""mount: list the mounted file systems, or attach a file server's tree to a directory.

::

    mount
    mount -t TYPE SOURCE DIR

Without operands ``mount`` lists the mounted file systems (:func:`userland.libc.getvfsstat`),
the root first, one line each as NetBSD's and MINIX's do::

    SOURCE on PATH type TYPE (FLAGS)

FLAGS is ``rw`` or ``ro``, then ``nosuid`` when set, comma-separated; SOURCE is what
mount was given (``none``), or the file server's label for the root. Anyone may list.

TYPE is the label of a file-server service RS runs: ``mount`` asks RS for its
endpoint (``service lookup``) and VFS mounts that server's tree on DIR
(:func:`userland.libc.mount`). SOURCE is the device the server serves: a device
node (its ``st_rdev`` is passed on) or ``none``; VFS records SOURCE, and DIR made
absolute against the working directory (``..`` and ``.`` folded, as MINIX's mount(8)
passes a real path), for the listing. The difference from MINIX: MINIX's mount starts
a new file-server instance for the device; here the server must already run.

Errors: ``mount: TYPE: No such process`` for a label RS does not run; ``mount: DIR:
strerror`` when VFS refuses (EPERM not root, EBUSY already a mount point or in use,
ENOTDIR); status 1. Status 2 on a usage error.
"""

from __future__ import annotations

import errno
import posixpath
from typing import Final

from userland import libc
from userland.bin._common import USAGE, fail, getopts, usage
from userland.libc import stdio

_SYNOPSIS: Final = "mount -t type source dir"


async def _list() -> int:
    """Print the mount table; 0, or 1 if it cannot be read or written."""
    try:
        for fs in await libc.getvfsstat():
            flags = ["ro" if fs.f_flag & libc.ST_RDONLY else "rw"]
            if fs.f_flag & libc.ST_NOSUID:
                flags.append("nosuid")
            line = f"{fs.f_mntfromname} on {fs.f_mntonname} type {fs.f_fstypename}"
            await stdio.puts(f"{line} ({','.join(flags)})")
    except OSError as exc:
        await stdio.error("mount", stdio.strerror(exc))
        return 1
    return 0


async def _device(source: str) -> int | None:
    """SOURCE's device number (0 for ``none``), or None after reporting why not."""
    if source == "none":
        return 0
    try:
        st = await libc.stat(source)
    except OSError as exc:
        await fail("mount", source, exc)
        return None
    if not (libc.S_ISBLK(st.st_mode) or libc.S_ISCHR(st.st_mode)):
        await fail("mount", source, OSError(errno.ENOTBLK, "Block device required"))
        return None
    return st.st_rdev


async def main(argv: list[str]) -> int:
    """Mount SOURCE's server on DIR; 0, 1 on failure, 2 on a usage error."""
    parsed = await getopts("mount", argv, "t:", _SYNOPSIS)
    if parsed is None:
        return USAGE
    opts, operands = parsed
    if not opts and not operands:
        return await _list()
    types = [value for _opt, value in opts]
    if not types or len(operands) != 2:
        return await usage("mount", _SYNOPSIS)
    fstype, (source, target) = types[-1], operands
    try:
        endpoint = await libc.service("lookup", fstype)
    except OSError as exc:
        await fail("mount", fstype, exc)
        return 1
    dev = await _device(source)
    if dev is None:
        return 1
    try:
        cwd = "/" if target.startswith("/") else await libc.getcwd()
        path = posixpath.normpath(posixpath.join(cwd, target))
        await libc.mount(path, endpoint, dev, source)
    except OSError as exc:
        await fail("mount", target, exc)
        return 1
    return 0
