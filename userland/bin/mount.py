"""mount: attach a file server's tree to a directory (root only).

::

    mount -t TYPE SOURCE DIR

TYPE is the label of a file-server service RS runs: ``mount`` asks RS for its
endpoint (``service lookup``) and VFS mounts that server's tree on DIR
(:func:`userland.libc.mount`). SOURCE is the device the server serves: a device
node (its ``st_rdev`` is passed on) or ``none``. The differences from MINIX: MINIX's
mount starts a new file-server instance for the device; here the server must already
run. And without operands MINIX lists the mounts; asynix's libc has no call that
reads VFS's mount table, so ``mount`` alone is a usage error.

Errors: ``mount: TYPE: No such process`` for a label RS does not run; ``mount: DIR:
strerror`` when VFS refuses (EPERM not root, EBUSY already a mount point or in use,
ENOTDIR); status 1. Status 2 on a usage error.
"""

from __future__ import annotations

import errno
from typing import Final

from userland import libc
from userland.bin._common import USAGE, fail, getopts, usage

_SYNOPSIS: Final = "mount -t type source dir"


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
        await libc.mount(target, endpoint, dev)
    except OSError as exc:
        await fail("mount", target, exc)
        return 1
    return 0
