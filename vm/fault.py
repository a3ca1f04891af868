"""Page faults and "make this range available": backing pages and breaking copy-on-write.

Both MINIX paths end here (reference §3.4): a user access that faulted
(:func:`touch`, one page) and a range the kernel or VFS needs present for a copy
(:func:`touch_range`, MINIX's ``handle_memory``). For each page:

1. no region, a PROT_NONE region, or a write to a region without PROT_WRITE: EFAULT
   (the server turns that into SIGSEGV for a fault, an errno for a copy);
2. an empty slot is backed by the region's memory type (zero-filled anonymous page,
   the shared object's page, device memory, or a file read through VFS);
3. a write to a page its type does not let be written now (a private block with
   refcount > 1) copies it: the copy-on-write break. The other sharers keep the old
   block; the last one left upgrades its PTE on its own next write fault, no copy;
4. the PTE is written as the slot now calls for.

A page being read in from a file is returned as its :class:`~vm.file.Fill`; the caller
waits for it and runs the whole request again.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from kernel.hw import PG_FRAME, PG_P
from vm import pagetable
from vm.errors import VmError
from vm.protocol import KERNEL_BASE, PROT_WRITE
from vm.region import Block
from vm.state import PROT_ACCESS

if TYPE_CHECKING:
    from vm.file import Fill
    from vm.region import AddressSpace, Region
    from vm.state import Vm


def touch(vm: Vm, space: AddressSpace, va: int, write: bool, vfs_ok: bool = True) -> Fill | None:
    """Make the page at ``va`` present, and writable if ``write``.

    Returns None when done, or the fill to wait for.

    Raises:
        VmError: EFAULT (no such mapping, or not allowed), ENOMEM.
    """
    region = space.find(va)
    if region is None:
        raise VmError(errno.EFAULT, f"{space.name}: nothing mapped at {va:#x}")
    if not region.prot & PROT_ACCESS or (write and not region.prot & PROT_WRITE):
        raise VmError(errno.EFAULT, f"{space.name}: {va:#x} does not allow that access")
    idx = (va - region.start) >> 12
    block = region.pages[idx]
    if block is None:
        # The page table first, so nothing below needs undoing if it cannot be had.
        words = vm.words
        pdi = (space.pd >> 2) + (va >> 22)
        pde = words[pdi]
        if not pde & PG_P:
            pde = words[pdi] = vm.alloc.alloc() | pagetable.PDE_USER
        block = region.mt.fill(vm, space, region, idx, vfs_ok)
        region.pages[idx] = block
        # The entry was not present (an empty slot is never mapped): no TLB entry to drop.
        words[((pde & PG_FRAME) >> 2) + ((va >> 12) & 0x3FF)] = vm.pte_for(region, block)
        return block.filling
    if block.filling is not None:
        return block.filling
    if write and not region.mt.writable(block):
        _copy_on_write(vm, region, idx, block)
    vm.write_pte(space, region, idx)
    return None


def _copy_on_write(vm: Vm, region: Region, idx: int, old: Block) -> None:
    """Give slot ``idx`` its own copy of the shared block ``old`` (MINIX's ``mem_cow``)."""
    if region.mt.fork != "cow":
        raise VmError(errno.EFAULT, f"{region.mt.name} page cannot be copied on write")
    phys = vm.alloc.alloc(zero=False)
    view = vm.view
    view[phys : phys + 4096] = view[old.phys : old.phys + 4096]
    region.pages[idx] = Block(phys)
    vm.unreference(old)


def touch_range(
    vm: Vm, space: AddressSpace, addr: int, length: int, write: bool, vfs_ok: bool = True
) -> Fill | None:
    """Make every page of ``[addr, addr+length)`` present (and writable if ``write``).

    Stops at the first page that is being read in and returns its fill; run the whole
    range again when it ends (pages already done are quick).

    Raises:
        VmError: EFAULT (a page not mapped or not allowed, a bad range), ENOMEM.
    """
    if length < 0 or addr < 0 or addr + length > KERNEL_BASE:
        raise VmError(errno.EFAULT, f"range {addr:#x}+{length:#x} is not user memory")
    for va in range(addr & ~0xFFF, addr + length, 4096):
        fill = touch(vm, space, va, write, vfs_ok)
        if fill is not None:
            return fill
    return None
