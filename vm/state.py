"""The VM server's whole state and the page-level primitives every operation shares.

:class:`Vm` owns the frame allocator, the kernel's part of every page directory, the
address spaces by endpoint, the shared-memory objects and the file mappings. Its
methods are the primitives: reference and unreference a block, write the PTE a page
slot calls for, unmap part of a region, release a region's type links, create and
destroy an address space. They are synchronous and never talk to the kernel; the
server (:mod:`vm.server`) does the kernel calls (TLB invalidation, address-space
installation) that the changes recorded in each :class:`~vm.region.AddressSpace` ask for.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from kernel.hw import PG_P, PG_RW, PG_US
from vm import pagetable
from vm.alloc import FrameAllocator
from vm.errors import VmError
from vm.file import Files
from vm.protocol import PROT_WRITE
from vm.region import AddressSpace, Block, Region
from vm.shm import ShmTable

if TYPE_CHECKING:
    from kernel.hw import PhysicalMemory

PROT_ACCESS = 0x7
"""Any of read, write, exec: the page is mapped at all (x86 cannot deny reads)."""


class Vm:
    """All of VM's state.

    Args:
        physmem: the machine's memory.
        reserved_frames: frames at the bottom of memory that hold the kernel image.
        pse: the MMU has CR4.PSE on (kernel mapped with 4 MiB pages).

    Attributes:
        alloc: the frame allocator.
        words: physical memory as 32-bit words (for paging entries).
        view: physical memory as bytes (for page copies).
        kmap: the kernel's directory entries.
        spaces: address spaces by endpoint.
        shm: shared-memory objects and the System V table.
        files: file mappings and the reads in flight.
        baseline_free: free frames right after boot: what remains free when every
            address space and shared object is gone.
    """

    def __init__(self, physmem: PhysicalMemory, reserved_frames: int, pse: bool) -> None:
        self.physmem = physmem
        self.words = physmem.words
        self.view = physmem.view
        self.alloc = FrameAllocator(physmem, reserved_frames)
        self.kmap = pagetable.KernelMap(self.alloc, self.words, reserved_frames, pse)
        self.spaces: dict[int, AddressSpace] = {}
        self.shm = ShmTable()
        self.files = Files()
        self.baseline_free = self.alloc.free

    # -- blocks and page table entries -------------------------------------------------

    def unreference(self, block: Block) -> None:
        """Drop one reference to ``block``; the last one frees its frame."""
        block.refcount -= 1
        if block.refcount == 0 and block.owned:
            self.alloc.release(block.phys)
        elif block.refcount < 0:
            raise RuntimeError(f"VM bug: {block!r} unreferenced below zero")

    def pte_for(self, region: Region, block: Block | None) -> int:
        """The PTE a page slot calls for: absent, read-only, or writable."""
        if block is None or not region.prot & PROT_ACCESS:
            return 0
        pte = block.phys | PG_P | PG_US
        if block.filling is not None or (region.prot & PROT_WRITE and region.mt.writable(block)):
            # A page being read in is written by VFS (a supervisor write, which CR0.WP
            # checks) while its owner waits; its final rights come when the read ends.
            pte |= PG_RW
        return pte

    def write_pte(self, space: AddressSpace, region: Region, idx: int) -> None:
        """Make the PTE of slot ``idx`` of ``region`` what the slot calls for.

        Raises:
            VmError: ENOMEM when a page table is needed and no frame is free.
        """
        va = region.start + (idx << 12)
        new = self.pte_for(region, region.pages[idx])
        old = pagetable.set_pte(self.alloc, self.words, space.pd, va, new)
        if old & PG_P and (old ^ new) & ~0x60:  # A/D changes alone need no flush
            space.invalidate(va)

    def rewrite_ptes(self, space: AddressSpace, region: Region) -> None:
        """Rewrite the PTE of every backed page of ``region`` (after mprotect, for a fork).

        Empty slots are skipped: their entries are 0 already (the checker verifies it).
        """
        for idx, block in enumerate(region.pages):
            if block is not None:
                self.write_pte(space, region, idx)

    # -- regions -----------------------------------------------------------------------

    def drop_pages(self, space: AddressSpace, region: Region, first: int, stop: int) -> None:
        """Unmap pages ``[first, stop)`` of ``region`` and unreference their blocks.

        The slots are emptied; the region keeps its length (the caller trims it).
        """
        pagetable.clear_range(self.words, space.pd, region.start + (first << 12), stop - first)
        pages = region.pages
        for i in range(first, stop):
            block = pages[i]
            if block is not None:
                pages[i] = None
                self.unreference(block)
        space.flush_all = True

    def release_links(self, region: Region) -> None:
        """Drop ``region``'s links to its shared object and file (it is going away)."""
        if region.obj is not None:
            obj, region.obj = region.obj, None
            obj.links -= 1
            self.shm.maybe_destroy(self, obj)
        if region.file is not None:
            ref, region.file = region.file, None
            self.files.unlink(ref)

    def free_region(self, space: AddressSpace, region: Region) -> None:
        """Unmap and forget all of ``region``."""
        self.drop_pages(space, region, 0, region.npages)
        space.remove(region)
        self.release_links(region)

    # -- address spaces ----------------------------------------------------------------

    def new_space(self, endpoint: int, name: str) -> AddressSpace:
        """A fresh, empty address space for ``endpoint`` (which must not have one).

        Raises:
            VmError: ENOMEM for the page directory; EEXIST if ``endpoint`` has a space.
        """
        if endpoint in self.spaces:
            raise VmError(errno.EEXIST, f"{name} already has an address space")
        pd = pagetable.new_directory(self.alloc, self.words, self.kmap)
        space = AddressSpace(endpoint, name, pd)
        self.spaces[endpoint] = space
        return space

    def free_space(self, space: AddressSpace) -> None:
        """Free everything ``space`` holds: regions, page tables, the directory."""
        for region in list(space.regions):
            self.free_region(space, region)
        pagetable.free_directory(self.alloc, self.words, space.pd)
        if self.spaces.get(space.endpoint) is space:
            del self.spaces[space.endpoint]

    def space_of(self, endpoint: int) -> AddressSpace:
        """The address space of ``endpoint``.

        Raises:
            VmError: EINVAL when VM has none for it.
        """
        space = self.spaces.get(endpoint)
        if space is None:
            raise VmError(errno.EINVAL, f"endpoint {endpoint} has no address space")
        return space
