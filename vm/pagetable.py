"""Page directories and page tables, written entry by entry into physical memory.

VM is the only writer of paging structures (MINIX's ``pagetable.c``). A process's page
directory and its page tables are frames from the allocator holding 32-bit x86
entries; this module reads and writes them through ``physmem.words``, so what the MMU
walks is exactly what VM wrote. Python never hands the MMU an object.

Conventions (reference §3.10, §7):

- A PDE that points to a user page table is always ``P|RW|US``: protection comes from
  the PTEs alone. A PTE is ``frame|P|US`` plus RW when the page may be written now;
  a page that is not mapped has the entry 0.
- The kernel image (the reserved frames at the bottom of RAM) is mapped at
  :data:`~vm.protocol.KERNEL_BASE` in every directory, supervisor-only and global:
  with CR4.PSE as 4 MiB pages, without it through page tables built once at boot and
  shared by every directory (never freed).
- Page tables are allocated on first use and freed with the directory at exit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from kernel.hw import PG_FRAME, PG_G, PG_P, PG_PS, PG_RW, PG_US
from vm.protocol import KERNEL_BASE

if TYPE_CHECKING:
    from vm.alloc import FrameAllocator

KERNEL_PDE: Final = KERNEL_BASE >> 22
"""Index of the first directory entry that belongs to the kernel (960)."""
PDE_USER: Final = PG_P | PG_RW | PG_US
"""Every user page-table pointer: present, writable, user (PTEs decide)."""
_ENTRIES: Final = 1024
_RW_CLEAR: dict[int, int] = {}


def _rw_mask(n: int) -> int:
    """An integer clearing R/W in ``n`` consecutive little-endian 32-bit entries."""
    mask = _RW_CLEAR.get(n)
    if mask is None:
        mask = _RW_CLEAR[n] = int.from_bytes(b"\xfd\xff\xff\xff" * n, "little")
    return mask


class KernelMap:
    """The kernel's part of every page directory, built once when VM starts.

    Args:
        alloc: where the shared kernel page tables come from (without PSE).
        words: physical memory as 32-bit words.
        kernel_frames: frames ``[0, kernel_frames)`` hold the kernel image.
        pse: CR4.PSE is on: map the kernel with 4 MiB pages.

    Attributes:
        pdes: ``(index, value)`` of every kernel directory entry.
        tables: frames of the shared kernel page tables (empty with PSE).
    """

    __slots__ = ("pdes", "tables")

    def __init__(
        self, alloc: FrameAllocator, words: memoryview, kernel_frames: int, pse: bool
    ) -> None:
        frames = max(kernel_frames, 1)
        self.pdes: list[tuple[int, int]] = []
        self.tables: list[int] = []
        if pse:
            for i in range((frames + _ENTRIES - 1) // _ENTRIES):
                self.pdes.append((KERNEL_PDE + i, (i << 22) | PG_P | PG_RW | PG_PS | PG_G))
            return
        for i in range((frames + _ENTRIES - 1) // _ENTRIES):
            pt = alloc.alloc()
            for j in range(min(_ENTRIES, frames - i * _ENTRIES)):
                words[(pt >> 2) + j] = ((i * _ENTRIES + j) << 12) | PG_P | PG_RW | PG_G
            self.tables.append(pt)
            self.pdes.append((KERNEL_PDE + i, pt | PG_P | PG_RW))


def new_directory(alloc: FrameAllocator, words: memoryview, kmap: KernelMap) -> int:
    """A fresh page directory with only the kernel mapped; returns its physical address.

    Raises:
        VmError: ENOMEM.
    """
    pd = alloc.alloc()
    base = pd >> 2
    for index, value in kmap.pdes:
        words[base + index] = value
    return pd


def user_tables(words: memoryview, pd: int) -> list[int]:
    """Physical addresses of the user page tables the directory at ``pd`` points to."""
    base = pd >> 2
    return [pde & PG_FRAME for pde in words[base : base + KERNEL_PDE].tolist() if pde & PG_P]


def free_directory(alloc: FrameAllocator, words: memoryview, pd: int) -> None:
    """Free the directory at ``pd`` and every user page table it points to."""
    for pt in user_tables(words, pd):
        alloc.release(pt)
    alloc.release(pd)


def get_pte(words: memoryview, pd: int, va: int) -> int:
    """The PTE for ``va`` in the directory at ``pd`` (0 when it has no page table)."""
    pde = words[(pd >> 2) + (va >> 22)]
    if not pde & PG_P:
        return 0
    return int(words[((pde & PG_FRAME) >> 2) + ((va >> 12) & 0x3FF)])


def set_pte(alloc: FrameAllocator, words: memoryview, pd: int, va: int, value: int) -> int:
    """Write ``value`` as the PTE for ``va``, allocating its page table; returns the old PTE.

    Raises:
        VmError: ENOMEM when a page table is needed and no frame is free.
    """
    pdi = (pd >> 2) + (va >> 22)
    pde = words[pdi]
    if not pde & PG_P:
        if not value:
            return 0
        pde = alloc.alloc() | PDE_USER
        words[pdi] = pde
    i = ((pde & PG_FRAME) >> 2) + ((va >> 12) & 0x3FF)
    old = int(words[i])
    words[i] = value
    return old


def _chunks(start: int, npages: int) -> list[tuple[int, int, int]]:
    """Split pages ``[start, +npages)`` at page-table boundaries: (va, first index, count)."""
    out = []
    va = start
    end = start + (npages << 12)
    while va < end:
        first = (va >> 12) & 0x3FF
        count = min(_ENTRIES - first, (end - va) >> 12)
        out.append((va, first, count))
        va += count << 12
    return out


def clear_range(words: memoryview, pd: int, start: int, npages: int) -> None:
    """Unmap ``npages`` pages from ``start`` (PTEs written 0; page tables are kept)."""
    base = pd >> 2
    for va, first, count in _chunks(start, npages):
        pde = words[base + (va >> 22)]
        if pde & PG_P:
            i = ((pde & PG_FRAME) >> 2) + first
            words[i : i + count] = memoryview(bytes(4 * count)).cast("I")


def copy_range(
    alloc: FrameAllocator,
    words: memoryview,
    src_pd: int,
    dst_pd: int,
    start: int,
    npages: int,
    read_only: bool,
) -> None:
    """Copy the PTEs of ``npages`` pages from ``start`` from one directory to another.

    With ``read_only`` the R/W bit is cleared in the copies *and* in the source (the
    copy-on-write fork). The entries are moved a page table at a time as one integer,
    so the cost is per page table, not per page.

    Raises:
        VmError: ENOMEM when the destination needs a page table and none is free.
    """
    for va, first, count in _chunks(start, npages):
        spde = words[(src_pd >> 2) + (va >> 22)]
        if not spde & PG_P:
            continue
        s = ((spde & PG_FRAME) >> 2) + first
        raw = words[s : s + count].tobytes()
        if read_only:
            raw = (int.from_bytes(raw, "little") & _rw_mask(count)).to_bytes(4 * count, "little")
            words[s : s + count] = memoryview(raw).cast("I")
        dpdi = (dst_pd >> 2) + (va >> 22)
        dpde = words[dpdi]
        if not dpde & PG_P:
            dpde = alloc.alloc() | PDE_USER
            words[dpdi] = dpde
        d = ((dpde & PG_FRAME) >> 2) + first
        words[d : d + count] = memoryview(raw).cast("I")


def ensure_tables(alloc: FrameAllocator, words: memoryview, pd: int, start: int, end: int) -> None:
    """Allocate every missing page table for ``[start, end)`` (so later PTE writes cannot fail).

    Raises:
        VmError: ENOMEM.
    """
    base = pd >> 2
    for pdi in range(start >> 22, ((end - 1) >> 22) + 1):
        if not words[base + pdi] & PG_P:
            words[base + pdi] = alloc.alloc() | PDE_USER
