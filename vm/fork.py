"""fork, exit and exec: whole address spaces made, copied and thrown away.

fork (MINIX's ``map_proc_copy``, reference §3.5) gives the child a region for each of
the parent's, by the region's memory type:

- private memory (``cow``): the child's slots point to the parent's blocks (refcount
  +1 each) and every PTE of the range is copied with R/W cleared, in the parent too,
  a page table at a time. Both now fault on their next write and copy (or, the last
  sharer, just upgrade): copy-on-write;
- shared memory and device memory (``share``): same blocks, PTEs copied as they are,
  so writes stay visible to both;
- physically contiguous memory (``copy``): a new contiguous run, copied at once.

``eager`` (benchmark only) copies private memory at once too, for comparison.

exit frees everything; exec (the libexec way) starts from :func:`exec_new`, an empty
space with only the kernel mapped, which the exec'ing server then fills with mmap.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from vm import pagetable
from vm.errors import VmError
from vm.mmap import HEAP_DEFAULT
from vm.protocol import PROT_WRITE
from vm.region import Block, Region

if TYPE_CHECKING:
    from vm.region import AddressSpace
    from vm.state import Vm


def fork(vm: Vm, parent: AddressSpace, child_ep: int, name: str, eager: bool) -> AddressSpace:
    """Give ``child_ep`` a copy of ``parent``'s address space; returns the child's space.

    Raises:
        VmError: EEXIST (the child has a space), EAGAIN (the parent waits for a file
            read), ENOMEM (nothing is changed then, except that the parent's private
            pages may be left read-only: harmless, its next write just upgrades them).
    """
    if parent.fills:
        raise VmError(errno.EAGAIN, f"{parent.name} has file reads in flight")
    child = vm.new_space(child_ep, name)
    child.heap_start, child.brk = parent.heap_start, parent.brk
    try:
        for region in parent.regions:
            _copy_region(vm, parent, child, region, eager)
    except VmError:
        vm.free_space(child)
        raise
    return child


def _copy_region(vm: Vm, parent: AddressSpace, child: AddressSpace, r: Region, eager: bool) -> None:
    c = r.slice(0, 0)  # same type parameters, links counted; pages filled below
    # In the child before any page is copied, so a failure part-way frees them with it.
    child.insert(c)
    rule = r.mt.fork
    if rule == "copy":
        _copy_contig(vm, r, c)
    elif rule == "cow" and eager:
        _copy_pages(vm, r, c)
    else:
        c.pages = list(r.pages)
        for block in c.pages:
            if block is not None:
                block.refcount += 1
    if rule == "copy" or (rule == "cow" and eager):
        vm.rewrite_ptes(child, c)
        return
    cow = rule == "cow" and bool(r.prot & PROT_WRITE)
    pagetable.copy_range(vm.alloc, vm.words, parent.pd, child.pd, r.start, r.npages, cow)
    if cow:
        parent.flush_all = True


def _copy_contig(vm: Vm, r: Region, c: Region) -> None:
    n = r.npages
    phys = vm.alloc.alloc_run(n, zero=False)
    vm.view[phys : phys + (n << 12)] = vm.view[r.phys : r.phys + (n << 12)]
    c.phys = phys
    c.pages = [Block(phys + (i << 12)) for i in range(n)]


def _copy_pages(vm: Vm, r: Region, c: Region) -> None:
    view = vm.view
    pages: list[Block | None] = [None] * r.npages
    c.pages = pages
    for i, block in enumerate(r.pages):
        if block is not None:
            phys = vm.alloc.alloc(zero=False)
            view[phys : phys + 4096] = view[block.phys : block.phys + 4096]
            pages[i] = Block(phys)


def exec_new(vm: Vm, endpoint: int, name: str) -> AddressSpace:
    """Replace ``endpoint``'s address space (if any) with an empty one.

    Raises:
        VmError: ENOMEM for the new page directory (the old space is gone then).
    """
    old = vm.spaces.get(endpoint)
    if old is not None:
        vm.free_space(old)
    space = vm.new_space(endpoint, name)
    space.heap_start = space.brk = HEAP_DEFAULT
    return space
