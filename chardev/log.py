"""log: the system log device (major 15, ``/dev/log``).

Each write is one message: its bytes are appended to a bounded ring
(:data:`LOG_SIZE` bytes; when full, the oldest bytes are dropped, as MINIX's log
driver does) and the message also goes to structlog (logger ``asynix.log``). Reads
consume the ring from one shared position: a read returns what is there (at most
``count`` bytes) and, when the ring is empty, waits for the next write unless the
request is non-blocking (EAGAIN). A waiting read can be cancelled (EINTR).

Select: readable while the ring holds unread bytes; always writable. A select that
registered CDEV_NOTIFY for reading gets a SEL2 notification at the next write.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

import structlog

from chardev.lib import Driver
from chardev.protocol import CDEV_OP_RD, CDEV_OP_WR

if TYPE_CHECKING:
    from chardev.grant import Grant
    from kernel.sync import Condition

LOG_MAJOR = 15
LOG_SIZE = 16 * 1024
"""Bytes the ring keeps."""
LOG_MAX_WRITE = 4096
"""Longest message one write takes (a longer write takes this much)."""

_syslog = structlog.get_logger("asynix.log")


class Log(Driver):
    """The log driver (one minor, 0)."""

    def __init__(self, size: int = LOG_SIZE) -> None:
        super().__init__()
        self.size = size
        self.ring = bytearray()
        self.dropped = 0
        self._readable: Condition | None = None

    @property
    def readable(self) -> Condition:
        """Signalled when a write adds bytes."""
        if self._readable is None:
            self._readable = self.condition()
        return self._readable

    async def open(self, minor: int, access: int, user: int) -> int:
        """Only minor 0 exists."""
        return 0 if minor == 0 else -errno.ENXIO

    async def write(
        self, minor: int, pos: int, grant: Grant, count: int, flags: int, user: int
    ) -> int:
        """Append one message to the ring and to structlog."""
        if count < 0:
            return -errno.EINVAL
        n = min(count, LOG_MAX_WRITE)
        if n == 0:
            return 0
        data = await grant.read(0, n)
        self.ring += data
        overflow = len(self.ring) - self.size
        if overflow > 0:
            self.dropped += overflow
            del self.ring[:overflow]
        _syslog.info(
            "log", driver=self.label, user=user, text=data.decode("utf-8", "replace").rstrip("\n")
        )
        await self.readable.broadcast()
        await self.notify_select(minor, CDEV_OP_RD)
        return n

    async def read(
        self, minor: int, pos: int, grant: Grant, count: int, flags: int, user: int
    ) -> int:
        """Take up to ``count`` bytes from the ring, waiting while it is empty."""
        if count < 0:
            return -errno.EINVAL
        if count == 0:
            return 0
        while not self.ring:
            await self.wait(self.readable)
        n = min(count, len(self.ring))
        await grant.write(0, bytes(self.ring[:n]))
        del self.ring[:n]  # consumed only once it reached the reader
        return n

    async def select(self, minor: int, ops: int) -> int:
        """Readable with unread bytes; always writable."""
        return ops & ((CDEV_OP_RD if self.ring else 0) | CDEV_OP_WR)


__all__ = ["LOG_MAJOR", "LOG_MAX_WRITE", "LOG_SIZE", "Log"]
