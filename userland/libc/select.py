"""select: wait until descriptors are ready (Python's :func:`select.select`, over VFS).

The three sets cross to VFS as fd_set bitmaps in the process's own memory, one bit
per descriptor below ``nfds`` (the highest descriptor named, plus one); VFS rewrites
them with the ready descriptors only when the call succeeds. ``timeout`` is seconds of
the kernel clock (None waits for ever, 0 polls).

Errors: EBADF (a descriptor that is not open, or a directory), EINVAL (a negative
timeout, a descriptor at or over FD_SETSIZE), ENOSPC (every one of VFS's select slots
is taken), EINTR (a signal; the sets are left as they were).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Final

from kernel.com import VFS_PROC_NR
from userland.libc._syscall import call, oserror
from userland.libc.memory import free, malloc, peek, poke
from vfs.protocol import FD_SETSIZE, VfsSelect

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["FD_SETSIZE", "select"]

_SETS: Final = 3


def _bitmap(fds: list[int], size: int) -> bytes:
    bits = bytearray(size)
    for fd in fds:
        bits[fd >> 3] |= 1 << (fd & 7)
    return bytes(bits)


def _members(bits: bytes, nfds: int) -> set[int]:
    return {fd for fd in range(nfds) if bits[fd >> 3] >> (fd & 7) & 1}


def _fds(objs: Iterable[int]) -> list[int]:
    out = []
    for obj in objs:
        fd = obj
        if not isinstance(fd, int) or isinstance(fd, bool):
            raise TypeError("select() wants descriptors (ints)")
        if not 0 <= fd < FD_SETSIZE:
            raise oserror(errno.EINVAL if fd >= 0 else errno.EBADF, f"descriptor {fd}")
        out.append(fd)
    return out


async def select(
    rlist: Iterable[int],
    wlist: Iterable[int],
    xlist: Iterable[int],
    timeout: float | None = None,  # noqa: ASYNC109 - select's own timeout, as in Python
) -> tuple[list[int], list[int], list[int]]:
    """Wait until some of the descriptors are ready; returns the ready ones of each list.

    Blocks (in VFS) until one is ready, the timeout passes (three empty lists) or a
    signal arrives (InterruptedError).
    """
    sets = [_fds(rlist), _fds(wlist), _fds(xlist)]
    if timeout is not None and timeout < 0:
        raise oserror(errno.EINVAL, "negative timeout")
    nfds = max((fd + 1 for s in sets for fd in s), default=0)
    size = max((nfds + 7) // 8, 1)
    at = await malloc(size * _SETS)
    try:
        await poke(at, b"".join(_bitmap(s, size) for s in sets))
        addrs = [at + i * size if sets[i] else 0 for i in range(_SETS)]
        wait = -1.0 if timeout is None else float(timeout)
        await call(VFS_PROC_NR, VfsSelect(nfds, addrs[0], addrs[1], addrs[2], wait))
        out = await peek(at, size * _SETS)
    finally:
        await free(at)
    ready = [_members(out[i * size : (i + 1) * size], nfds) if sets[i] else set() for i in range(3)]
    return tuple([fd for fd in sets[i] if fd in ready[i]] for i in range(_SETS))  # type: ignore[return-value]
