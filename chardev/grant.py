"""Grant objects: how a character driver reaches the user's buffer.

VFS never puts data in a message: a read, write or ioctl carries the id of a grant
that VFS made for the driver over the user's buffer. The framework wraps that id in a
:class:`Grant`, and the driver moves bytes with :meth:`Grant.read` (MINIX's
``sys_safecopyfrom``) and :meth:`Grant.write` (``sys_safecopyto``). Each call is one
kernel copy, made by the thread that runs the request (the grant looks that thread
up when it copies, so one object works in whichever thread holds it).

A grant counts the bytes it has moved (:attr:`Grant.moved`, the highest offset
reached): when a request is cancelled or fails half-way, the framework answers with
that partial count instead of an error, as MINIX drivers do.

A copy that the kernel refuses (a revoked or foreign grant, a range outside it, a
page VM cannot supply) raises :class:`kernel.errors.KernelError` with EPERM, EINVAL
or EFAULT; if the driver lets it escape, the framework answers the request with that
error and the driver stays up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from kernel.process import Process


class Grant:
    """A grant ``gid`` of ``granter`` (VFS) covering ``size`` bytes of a user buffer."""

    __slots__ = ("_before_copy", "_handle", "copies", "gid", "granter", "moved", "size")

    def __init__(
        self,
        granter: int,
        gid: int,
        size: int,
        handle: Callable[[], Process],
        before_copy: Callable[[Grant], None] | None = None,
    ) -> None:
        self.granter = granter
        self.gid = gid
        self.size = size
        self.moved = 0
        """Bytes moved so far: the highest end offset of a successful copy."""
        self.copies = 0
        """Successful copies so far (the fault hook uses it to find "mid-copy")."""
        self._handle = handle
        self._before_copy = before_copy

    def __repr__(self) -> str:
        return f"<Grant {self.gid} of {self.granter} size={self.size} moved={self.moved}>"

    def _prepare(self) -> Process:
        if self._before_copy is not None:
            self._before_copy(self)
        return self._handle()

    def _moved(self, end: int) -> None:
        self.copies += 1
        self.moved = max(self.moved, end)

    async def read(self, offset: int, n: int) -> bytes:
        """Copy ``n`` bytes at ``offset`` of the user's buffer to the driver.

        Raises:
            KernelError: EPERM (grant invalid, not ours, no read right, outside it),
                EINVAL (no such granter or grant id), EFAULT (memory VM cannot supply).
        """
        data = await self._prepare().safecopyfrom(self.granter, self.gid, offset, n)
        self._moved(offset + n)
        return data

    async def write(self, offset: int, data: bytes | bytearray | memoryview) -> None:
        """Copy ``data`` into the user's buffer at ``offset``.

        Raises:
            KernelError: as :meth:`read` (EPERM without the write right).
        """
        n = memoryview(data).nbytes
        await self._prepare().safecopyto(self.granter, self.gid, offset, data)
        self._moved(offset + n)


__all__ = ["Grant"]
