"""memory: the memory character devices (major 1), MINIX's memory driver.

Minors (:data:`asynix.rootfs.DEVICES`):

====  ========  ===============================================================
0     ram       a RAM disk read and written as a character device; its size is
                set with ioctl MIOCRAMSIZE (u32), 0 until then
1     mem       physical memory, read-only; EOF at the end of memory
2     kmem      not supported: read and write fail with EIO (as MINIX's)
3     null      read: 0 (EOF); write: all taken
5     zero      read: zeros; write: all taken
7     full      read: zeros; write: ENOSPC
8, 9  random,   read: bytes from a PRNG seeded with the boot seed (the kernel
      urandom   policy's seed, or the factory's), deterministic per seed;
                write: all taken, ignored
====  ========  ===============================================================

No callback ever waits (nothing here depends on another process), so reads, writes
and ioctls are all :func:`~chardev.lib.never_waits`: the main thread serves them
itself, as MINIX's single-threaded driver does.

Any other minor is ENXIO at open. ioctl: MIOCRAMSIZE on ram only (EINVAL for any
other request on ram; ENOTTY on the other minors); select: none (EBADF, which MINIX's
t40g test relies on).

Privileges: the permission bits of ``/dev/mem`` and ``/dev/kmem`` (root, 0640) are
what keeps ordinary users out: VFS checks them at open with the opener's uid, as on
MINIX (the driver sees only the opener's endpoint). The driver adds one rule of its
own: ``mem`` opens for writing fail with EACCES, because writing physical memory
would let a program rewrite the page tables the simulation walks.

The RAM disk is the driver's own buffer. Resizing needs the ram minor open exactly
once (EBUSY otherwise, MINIX's rule); a size above :data:`RAM_MAX` is ENOMEM. Reads
stop at the end of the disk (0 at or past it); a write at or past the end is ENOSPC
and one that crosses it is cut short.
"""

from __future__ import annotations

import errno
import random
from collections import Counter
from typing import TYPE_CHECKING

from chardev.lib import Driver, never_waits
from chardev.protocol import CDEV_W_BIT, MIOCRAMSIZE

if TYPE_CHECKING:
    from collections.abc import Callable

    from chardev.grant import Grant

MEMORY_MAJOR = 1
RAM_MINOR = 0
MEM_MINOR = 1
KMEM_MINOR = 2
NULL_MINOR = 3
ZERO_MINOR = 5
FULL_MINOR = 7
RANDOM_MINOR = 8
URANDOM_MINOR = 9
MINORS = frozenset(
    {
        RAM_MINOR,
        MEM_MINOR,
        KMEM_MINOR,
        NULL_MINOR,
        ZERO_MINOR,
        FULL_MINOR,
        RANDOM_MINOR,
        URANDOM_MINOR,
    }
)
RAM_MAX = 16 * 2**20
"""Largest RAM disk (bytes)."""
CHUNK = 4096
"""Bytes moved per kernel copy, so a large transfer is several copies, as with
MINIX's page-sized windows."""


_ZEROS = bytes(CHUNK)


def _zeros(n: int) -> bytes:
    """``n`` <= CHUNK zero bytes (one shared page of them, as the data need not differ)."""
    return _ZEROS if n == CHUNK else _ZEROS[:n]


class Memory(Driver):
    """The memory driver.

    Args:
        seed: seed of the random minors; None takes the kernel policy's seed (the
            boot seed) when the driver starts.
    """

    def __init__(self, seed: int | None = None) -> None:
        super().__init__()
        self.seed = seed
        self.rng: random.Random | None = None
        self.ram = bytearray()
        self.openct: Counter[int] = Counter()

    async def init_fresh(self) -> None:
        """Seed the PRNG."""
        seed = self.seed if self.seed is not None else getattr(self.kernel.policy, "seed", 0)
        self.rng = random.Random(seed)

    async def open(self, minor: int, access: int, user: int) -> int:
        """Count opens of known minors; refuse writing physical memory."""
        if minor not in MINORS:
            return -errno.ENXIO
        if minor == MEM_MINOR and access & CDEV_W_BIT:
            return -errno.EACCES
        self.openct[minor] += 1
        return 0

    async def close(self, minor: int) -> int:
        """EINVAL for a minor with no open left (MINIX's check)."""
        if self.openct[minor] <= 0:
            return -errno.EINVAL
        self.openct[minor] -= 1
        return 0

    @never_waits
    async def read(
        self, minor: int, pos: int, grant: Grant, count: int, flags: int, user: int
    ) -> int:
        """Serve a read on any minor."""
        if pos < 0 or count < 0:
            return -errno.EINVAL
        if minor == NULL_MINOR:
            return 0
        if minor in (ZERO_MINOR, FULL_MINOR):
            return await self._fill(grant, count, _zeros)
        if minor in (RANDOM_MINOR, URANDOM_MINOR):
            rng = self.rng
            assert rng is not None
            return await self._fill(grant, count, rng.randbytes)
        if minor == RAM_MINOR:
            return await self._copy_out(grant, pos, count, self.ram)
        if minor == MEM_MINOR:
            return await self._read_phys(grant, pos, count)
        if minor == KMEM_MINOR:
            return -errno.EIO
        return -errno.ENXIO

    @never_waits
    async def write(
        self, minor: int, pos: int, grant: Grant, count: int, flags: int, user: int
    ) -> int:
        """Serve a write on any minor."""
        if pos < 0 or count < 0:
            return -errno.EINVAL
        if minor in (NULL_MINOR, ZERO_MINOR, RANDOM_MINOR, URANDOM_MINOR):
            return count
        if minor == FULL_MINOR:
            return -errno.ENOSPC if count else 0
        if minor == RAM_MINOR:
            return await self._copy_in(grant, pos, count)
        if minor in (MEM_MINOR, KMEM_MINOR):
            return -errno.EIO
        return -errno.ENXIO

    @never_waits
    async def ioctl(self, minor: int, request: int, grant: Grant, user: int, flags: int) -> int:
        """MIOCRAMSIZE on the RAM disk."""
        if minor != RAM_MINOR:
            return -errno.ENOTTY
        if request != MIOCRAMSIZE:
            return -errno.EINVAL
        size = int.from_bytes(await grant.read(0, 4), "little")
        if size == len(self.ram):
            return 0
        if self.openct[RAM_MINOR] != 1:
            return -errno.EBUSY
        if size > RAM_MAX:
            return -errno.ENOMEM
        self.ram = bytearray(size)
        self.log.info("ram disk resized", size=size)
        return 0

    # -- copies ------------------------------------------------------------------------

    @staticmethod
    async def _fill(grant: Grant, count: int, make: Callable[[int], bytes]) -> int:
        done = 0
        while done < count:
            n = min(CHUNK, count - done)
            await grant.write(done, make(n))
            done += n
        return done

    @staticmethod
    async def _copy_out(grant: Grant, pos: int, count: int, src: bytearray | bytes) -> int:
        end = min(len(src), pos + count)
        done = 0
        while pos + done < end:
            n = min(CHUNK, end - pos - done)
            await grant.write(done, bytes(src[pos + done : pos + done + n]))
            done += n
        return done

    async def _copy_in(self, grant: Grant, pos: int, count: int) -> int:
        if count and pos >= len(self.ram):
            return -errno.ENOSPC
        end = min(len(self.ram), pos + count)
        done = 0
        while pos + done < end:
            n = min(CHUNK, end - pos - done)
            self.ram[pos + done : pos + done + n] = await grant.read(done, n)
            done += n
        return done

    async def _read_phys(self, grant: Grant, pos: int, count: int) -> int:
        # The simulated vm_map_phys: the driver reads the machine's physical memory.
        physmem = self.kernel.physmem
        if physmem is None:
            return -errno.EIO
        end = min(physmem.size, pos + count)
        done = 0
        while pos + done < end:
            n = min(CHUNK, end - pos - done)
            await grant.write(done, physmem.read(pos + done, n))
            done += n
        return done


__all__ = ["MEMORY_MAJOR", "MINORS", "RAM_MAX", "Memory"]
