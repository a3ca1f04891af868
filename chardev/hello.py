"""hello: MINIX's example character driver (major 17, ``/dev/hello``).

Reading serves ``HELLO_MESSAGE`` ("Hello, World!" and a newline) by position: at ``pos`` it returns
``min(count, 14 - pos)`` bytes, and 0 (end of file) from 14 on. Writing is EIO,
ioctl ENOTTY and select EBADF (the framework's defaults). ``open_counter`` counts
every open and never goes down; the driver is :attr:`~chardev.Driver.stateful`, so
the framework saves the counter in DS after each open, and a restarted or
live-updated instance carries on counting where the old one stopped.
"""

from __future__ import annotations

import errno
import struct
from typing import TYPE_CHECKING

from chardev.lib import Driver

if TYPE_CHECKING:
    from chardev.grant import Grant

HELLO_MAJOR = 17
HELLO_MESSAGE = b"Hello, World!\n"


class Hello(Driver):
    """The hello driver."""

    stateful = True

    def __init__(self) -> None:
        super().__init__()
        self.open_counter = 0

    async def init_restart(self, state: bytes | None) -> None:
        """Take the counter the crashed instance saved."""
        if state is not None and len(state) >= 4:
            (self.open_counter,) = struct.unpack_from("<I", state)
        self.log.info("hello restarted", open_counter=self.open_counter)

    async def init_lu(self, state: bytes) -> None:
        """Take the counter the old instance handed over."""
        await self.init_restart(state)

    def save_state(self) -> bytes:
        """The open counter, as a little-endian u32."""
        return struct.pack("<I", self.open_counter & 0xFFFF_FFFF)

    async def open(self, minor: int, access: int, user: int) -> int:
        """Count the open."""
        self.open_counter += 1
        self.log.info("hello open", open_counter=self.open_counter)
        return 0

    async def read(
        self, minor: int, pos: int, grant: Grant, count: int, flags: int, user: int
    ) -> int:
        """Copy the part of the message at ``pos``."""
        if pos < 0 or count < 0:
            return -errno.EINVAL
        if pos >= len(HELLO_MESSAGE) or count == 0:
            return 0
        chunk = HELLO_MESSAGE[pos : pos + count]
        await grant.write(0, chunk)
        return len(chunk)


__all__ = ["HELLO_MAJOR", "HELLO_MESSAGE", "Hello"]
