"""Physical memory of the simulated machine: one flat byte array cut into 4 KiB frames.

Everything that lives "in RAM" on the simulated x86 lives here: page directories and page
tables (in the real x86 bit layout), user memory, the kernel's data. The MMU
(:mod:`kernel.hw.mmu`) reads and writes paging entries through :attr:`PhysicalMemory.words`;
the copy engine (:mod:`kernel.hw.copy`) moves data through :attr:`PhysicalMemory.view`.

A physical address beyond the end of memory is always a bug of whoever produced it (the VM
server handing out a frame it does not have, a page table pointing nowhere), so it raises
:class:`BusError` instead of wrapping or returning garbage the way a real bus might.
"""

from __future__ import annotations

import struct
import sys

__all__ = ["FRAME_SHIFT", "FRAME_SIZE", "BusError", "PhysicalMemory"]

#: Size of a physical frame and of a small page, in bytes.
FRAME_SIZE = 4096
#: log2(FRAME_SIZE): ``paddr >> FRAME_SHIFT`` is a frame number.
FRAME_SHIFT = 12

_U32 = struct.Struct("<I")


class BusError(IndexError):
    """An access reached a physical address outside the machine's memory.

    Attributes:
        paddr: the first physical address of the access.
        length: how many bytes the access covered.
        size: the size of physical memory, in bytes.
    """

    def __init__(self, paddr: int, length: int, size: int) -> None:
        super().__init__(paddr, length, size)
        self.paddr = paddr
        self.length = length
        self.size = size

    def __str__(self) -> str:
        return (
            f"physical access at {self.paddr:#x} (+{self.length} bytes) "
            f"is outside memory of {self.size:#x} bytes"
        )


class PhysicalMemory:
    """The machine's RAM: ``size`` bytes, little-endian, addressed from 0.

    Args:
        size: bytes of memory; a positive multiple of :data:`FRAME_SIZE`.

    Raises:
        ValueError: ``size`` is not a positive multiple of 4096.

    Attributes:
        size: bytes of memory.
        nframes: number of 4 KiB frames.
        view: a writable byte ``memoryview`` over all of memory, for bulk copies by slice
            assignment (no per-byte Python work).
        words: the same memory as native unsigned 32-bit words, for aligned paging-entry
            access (``words[paddr >> 2]``); the MMU's walk uses it because it is several
            times cheaper than struct on every entry it touches.
    """

    __slots__ = ("_mem", "nframes", "size", "view", "words")

    FRAME_SIZE = FRAME_SIZE

    def __init__(self, size: int) -> None:
        if size <= 0 or size % FRAME_SIZE:
            raise ValueError(f"memory size must be a positive multiple of {FRAME_SIZE}, not {size}")
        if sys.byteorder != "little":  # pragma: no cover - every supported host is little-endian
            # ``words`` reads x86 (little-endian) entries in host order.
            raise RuntimeError(
                "asynix models a little-endian machine and needs a little-endian host"
            )
        self.size = size
        self.nframes = size // FRAME_SIZE
        self._mem = bytearray(size)
        self.view = memoryview(self._mem)
        self.words = self.view.cast("I")

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"PhysicalMemory({self.size:#x})"

    def check(self, paddr: int, n: int) -> None:
        """Raise :class:`BusError` unless ``[paddr, paddr + n)`` lies inside memory.

        Raises:
            BusError: the range starts below 0 or ends past the last byte.
            ValueError: ``n`` is negative.
        """
        if n < 0:
            raise ValueError(f"negative length {n}")
        if paddr < 0 or paddr + n > self.size:
            raise BusError(paddr, n, self.size)

    def read(self, paddr: int, n: int) -> bytes:
        """Return the ``n`` bytes at physical address ``paddr``.

        Raises:
            BusError: the range is outside memory.
            ValueError: ``n`` is negative.
        """
        self.check(paddr, n)
        return bytes(self.view[paddr : paddr + n])

    def write(self, paddr: int, data: bytes | bytearray | memoryview) -> None:
        """Store ``data`` at physical address ``paddr``.

        Raises:
            BusError: the range is outside memory (nothing is written then).
        """
        src = memoryview(data).cast("B")
        n = src.nbytes
        self.check(paddr, n)
        self.view[paddr : paddr + n] = src

    def zero(self, paddr: int, n: int) -> None:
        """Fill ``n`` bytes at ``paddr`` with zeros.

        Raises:
            BusError: the range is outside memory (nothing is written then).
            ValueError: ``n`` is negative.
        """
        self.check(paddr, n)
        self.view[paddr : paddr + n] = bytes(n)

    def read_u32(self, paddr: int) -> int:
        """Return the little-endian 32-bit word at ``paddr`` (any alignment).

        Raises:
            BusError: the word is outside memory.
        """
        self.check(paddr, 4)
        value: int = _U32.unpack_from(self._mem, paddr)[0]
        return value

    def write_u32(self, paddr: int, value: int) -> None:
        """Store ``value`` as a little-endian 32-bit word at ``paddr`` (any alignment).

        Raises:
            BusError: the word is outside memory.
            ValueError: ``value`` does not fit in 32 unsigned bits.
        """
        if not 0 <= value <= 0xFFFFFFFF:
            raise ValueError(f"{value:#x} does not fit in 32 bits")
        self.check(paddr, 4)
        _U32.pack_into(self._mem, paddr, value)
