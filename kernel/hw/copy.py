"""The copy engine: move bytes between address spaces and physical memory, page by page.

This is the hardware half of MINIX's ``lin_lin_copy`` (``arch/i386/memory.c``), on which
the kernel builds vircopy, physcopy and safecopy, and ``peek``/``poke`` of user memory. Each
side of a copy is either a virtual range in the address space whose page directory is at
``cr3``, or, with ``cr3=None``, a physical range (MINIX's endpoint NONE).

Virtual sides are translated with :meth:`MMU.walk_range <kernel.hw.mmu.MMU.walk_range>` of
that side's own page directory, never through the TLB: a copy sees the tables as they are in memory,
sets their A and D flags as the hardware walk would, and is a supervisor access (U/S does
not matter) that honours CR0.WP, so a kernel write into a read-only or copy-on-write page
faults and the VM server gets to break the sharing.

A copy proceeds in chunks that never cross a page boundary on either side. It stops at the
first chunk whose page faults and raises :class:`CopyFault` saying which side faulted, the
faulting address and how many bytes were already copied; those bytes stay copied, as in
MINIX, and the kernel retries the whole operation after VM has fixed the range. Overlapping
ranges are copied forwards, chunk by chunk, like ``phys_copy``.

Physical addresses outside memory are bugs and raise :class:`~kernel.hw.physmem.BusError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from kernel.hw.mmu import PageFault
from kernel.hw.physmem import BusError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from kernel.hw.mmu import MMU

__all__ = ["CopyFault", "copy_virt", "memset_virt", "read_virt", "write_virt"]

Side = Literal["src", "dst"]

_LIMIT = 1 << 32


class CopyFault(Exception):
    """A copy stopped at a page that faulted (EFAULT_SRC or EFAULT_DST in MINIX).

    Attributes:
        side: ``"src"`` or ``"dst"``: the side whose page faulted.
        addr: the faulting virtual address on that side (the first byte of the copy that
            falls in the faulting page).
        copied: bytes copied before the fault; they stay copied.
        error_code: the page fault's error code (``PF_*`` bits).
    """

    def __init__(self, side: Side, addr: int, copied: int, error_code: int) -> None:
        super().__init__(side, addr, copied, error_code)
        self.side: Side = side
        self.addr = addr
        self.copied = copied
        self.error_code = error_code

    def __str__(self) -> str:
        return (
            f"copy fault on {self.side} at {self.addr:#010x} after {self.copied} bytes "
            f"(error code {self.error_code:#x})"
        )


def _pieces(mmu: MMU, cr3: int | None, addr: int, n: int, write: bool) -> Iterator[tuple[int, int]]:
    """Yield the ``(paddr, length)`` pieces of one side, lazily (see MMU.walk_range).

    Raises:
        PageFault: a page of a virtual side faults (when it is reached).
        BusError: a physical side lies outside memory (before anything is yielded).
        ValueError: ``n`` is negative or a virtual range leaves the 32-bit space.
    """
    if cr3 is None:
        mmu.physmem.check(addr, n)
        return iter(((addr, n),))
    if n < 0 or not 0 <= addr <= addr + n <= _LIMIT:
        raise ValueError(f"virtual range {addr:#x}+{n:#x} leaves the 32-bit address space")
    return mmu.walk_range(cr3, addr, n, write)


def copy_virt(
    mmu: MMU,
    src_cr3: int | None,
    src_va: int,
    dst_cr3: int | None,
    dst_va: int,
    n: int,
) -> None:
    """Copy ``n`` bytes from ``src_va`` in one space to ``dst_va`` in another.

    When a chunk needs a new page on both sides, the source page is walked first, so a
    range that faults on both sides reports the source.

    Args:
        mmu: the machine's MMU (its physical memory, CR0.WP and CR4.PSE are used).
        src_cr3: the source page directory (a CR3 value), or None for a physical source.
        src_va: the source address.
        dst_cr3: the destination page directory, or None for a physical destination.
        dst_va: the destination address.
        n: bytes to copy (0 copies nothing).

    Raises:
        CopyFault: a page of either side faulted; the bytes before it are copied.
        BusError: a physical side, or a frame a page table maps, lies outside physical
            memory.
        ValueError: ``n`` is negative or a virtual range leaves the 32-bit space.
    """
    src = _pieces(mmu, src_cr3, src_va, n, False)
    dst = _pieces(mmu, dst_cr3, dst_va, n, True)
    view = mmu.physmem.view
    size = mmu.physmem.size
    copied = 0
    s = d = s_left = d_left = 0
    while copied < n:
        if not s_left:
            try:
                s, s_left = next(src)
            except PageFault as pf:
                raise CopyFault("src", pf.cr2, copied, pf.error_code) from None
        if not d_left:
            try:
                d, d_left = next(dst)
            except PageFault as pf:
                raise CopyFault("dst", pf.cr2, copied, pf.error_code) from None
        chunk = min(s_left, d_left)
        if s + chunk > size or d + chunk > size:
            # A page table that maps a frame beyond memory: the VM server's bug.
            raise BusError(s if s + chunk > size else d, chunk, size)
        view[d : d + chunk] = view[s : s + chunk]
        copied += chunk
        s += chunk
        d += chunk
        s_left -= chunk
        d_left -= chunk


def read_virt(mmu: MMU, cr3: int | None, va: int, n: int) -> bytes:
    """Return ``n`` bytes read from ``va`` in the space at ``cr3`` (None: physical).

    Raises:
        CopyFault: a page faulted (side ``"src"``); what was read before it is dropped,
            since the kernel re-runs the whole call once VM has fixed the range.
        BusError: a physical address lies outside memory.
        ValueError: ``n`` is negative or the range leaves the 32-bit space.
    """
    pieces = _pieces(mmu, cr3, va, n, False)
    view = mmu.physmem.view
    size = mmu.physmem.size
    out = bytearray(n)
    copied = 0
    try:
        for p, length in pieces:
            if p + length > size:
                raise BusError(p, length, size)
            out[copied : copied + length] = view[p : p + length]
            copied += length
    except PageFault as pf:
        raise CopyFault("src", pf.cr2, copied, pf.error_code) from None
    return bytes(out)


def write_virt(mmu: MMU, cr3: int | None, va: int, data: bytes | bytearray | memoryview) -> None:
    """Write ``data`` at ``va`` in the space at ``cr3`` (None: physical).

    Raises:
        CopyFault: a page faulted (side ``"dst"``); the bytes before it are written.
        BusError: a physical address lies outside memory.
        ValueError: the range leaves the 32-bit space.
    """
    src = data if type(data) is bytes else memoryview(data).cast("B")
    view = mmu.physmem.view
    size = mmu.physmem.size
    n = len(src)
    if cr3 is not None and n > 0 and (va & 0xFFF) + n <= 0x1000 and va >= 0:
        # Within one page (a driver's 4 KiB block, a small buffer): one walk, as the
        # range walk would make it, without a generator.
        try:
            p = mmu.walk(cr3, va, True)
        except PageFault as pf:
            raise CopyFault("dst", pf.cr2, 0, pf.error_code) from None
        if p + n > size:
            raise BusError(p, n, size)
        view[p : p + n] = src
        return
    if type(src) is bytes:
        src = memoryview(src)  # slices of a view copy nothing
    copied = 0
    pieces = _pieces(mmu, cr3, va, n, True)
    try:
        for p, length in pieces:
            if p + length > size:
                raise BusError(p, length, size)
            view[p : p + length] = src[copied : copied + length]
            copied += length
    except PageFault as pf:
        raise CopyFault("dst", pf.cr2, copied, pf.error_code) from None


def memset_virt(mmu: MMU, cr3: int | None, va: int, byte: int, n: int) -> None:
    """Fill ``n`` bytes at ``va`` in the space at ``cr3`` (None: physical) with ``byte``.

    The hardware side of MINIX's ``vm_memset`` (``sys_memset``).

    Raises:
        CopyFault: a page faulted (side ``"dst"``); the bytes before it are filled.
        BusError: a physical address lies outside memory.
        ValueError: ``byte`` is not 0-255, ``n`` is negative or the range leaves the
            32-bit space.
    """
    if not 0 <= byte <= 0xFF:
        raise ValueError(f"fill byte {byte} is not 0-255")
    view = mmu.physmem.view
    size = mmu.physmem.size
    copied = 0
    pieces = _pieces(mmu, cr3, va, n, True)
    try:
        for p, length in pieces:
            if p + length > size:
                raise BusError(p, length, size)
            view[p : p + length] = bytes((byte,)) * length
            copied += length
    except PageFault as pf:
        raise CopyFault("dst", pf.cr2, copied, pf.error_code) from None
