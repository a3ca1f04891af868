"""umount: unmount file systems (``umount DIR...``, root only).

Each DIR must be the root of a mounted file system. A DIR that cannot be unmounted
(EINVAL: not a mount point, EBUSY: files open there, EPERM: not root) is reported as
``umount: DIR: strerror`` and makes the status 1; 2 on a usage error.
"""

from __future__ import annotations

from typing import Final

from userland import libc
from userland.bin._common import fail, usage

_SYNOPSIS: Final = "umount dir..."


async def main(argv: list[str]) -> int:
    """Unmount every operand; 0, 1 if any failed, 2 without operands."""
    operands = argv[1:]
    if operands and operands[0] == "--":
        operands = operands[1:]
    if not operands:
        return await usage("umount", _SYNOPSIS, "missing operand")
    status = 0
    for path in operands:
        try:
            await libc.umount(path)
        except OSError as exc:
            await fail("umount", path, exc)
            status = 1
    return status
