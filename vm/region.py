"""VM's data model: physical blocks, regions, and a process's address space (MINIX's vmproc).

- A :class:`Block` is one page of memory (MINIX's ``phys_block``): its frame and a
  reference count. The count is the number of region page slots that point to it,
  plus one while a shared-memory object (:mod:`vm.shm`) holds it. The frame goes back
  to the allocator when the count reaches 0 (unless the block maps memory VM does not
  own: direct physical mappings).
- A :class:`Region` is a page-aligned range of one address space with one memory type
  (:mod:`vm.memtype`), a protection, and a slot per page: a Block or None (not backed
  yet). Type parameters live in the region: the shared object and the page offset
  into it, the file and the byte offset into it, the physical base of a direct map.
- An :class:`AddressSpace` is one process's page directory and its regions, kept
  sorted by address, plus its heap break and the TLB work its changes left pending.

Everything here is plain bookkeeping; the operations live in the modules that own
them (faults, mmap, fork, shm) and the checker (:mod:`vm.check`) verifies the counts.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from vm.file import FileRef, Fill
    from vm.memtype import MemType
    from vm.shm import ShmObject

PAGE: Final = 4096


class Block:
    """One page of memory and how many references hold it.

    Attributes:
        phys: the frame's physical address.
        refcount: page slots pointing here, plus one while a shared object holds it.
        owned: the frame came from the allocator (False for direct physical maps).
        filling: the file read in flight that fills this page, if any.
    """

    __slots__ = ("filling", "owned", "phys", "refcount")

    def __init__(self, phys: int, owned: bool = True) -> None:
        self.phys = phys
        self.refcount = 1
        self.owned = owned
        self.filling: Fill | None = None

    def __repr__(self) -> str:
        return f"<Block {self.phys:#x} ref={self.refcount}>"


class Region:
    """A page-aligned range of an address space with one memory type.

    Attributes:
        start: first address (page-aligned).
        pages: a slot per page: the Block backing it, or None.
        prot: PROT_* bits now in force.
        maxprot: PROT_* bits mprotect may grant (read-only shm attachments, files).
        mt: the memory type.
        obj: the shared object (shared memory), with ``obj_off`` its first page in it.
        file: the mapped file, with ``file_off`` the byte offset of ``start`` in it.
        phys: the physical address ``start`` maps (direct physical memory).
        shmid: the System V segment this region attaches, or -1.
    """

    __slots__ = (
        "file",
        "file_off",
        "maxprot",
        "mt",
        "obj",
        "obj_off",
        "pages",
        "phys",
        "prot",
        "shmid",
        "start",
    )

    def __init__(self, start: int, npages: int, prot: int, mt: MemType, maxprot: int = 0x7) -> None:
        self.start = start
        self.pages: list[Block | None] = [None] * npages
        self.prot = prot
        self.maxprot = maxprot
        self.mt = mt
        self.obj: ShmObject | None = None
        self.obj_off = 0
        self.file: FileRef | None = None
        self.file_off = 0
        self.phys = 0
        self.shmid = -1

    @property
    def npages(self) -> int:
        """Length in pages."""
        return len(self.pages)

    @property
    def end(self) -> int:
        """First address after the region."""
        return self.start + (len(self.pages) << 12)

    def slice(self, first: int, stop: int) -> Region:
        """A region for pages ``[first, stop)`` of this one, sharing their blocks as is.

        The blocks move without a reference-count change (the caller drops this region
        without unreferencing the pages it handed on); type parameters are linked once
        more, so the caller must release this region's own links.
        """
        r = Region(self.start + (first << 12), 0, self.prot, self.mt, self.maxprot)
        r.pages = self.pages[first:stop]
        r.obj, r.obj_off = self.obj, self.obj_off + first
        r.file, r.file_off = self.file, self.file_off + (first << 12)
        r.phys = self.phys + (first << 12)
        r.shmid = self.shmid
        if r.obj is not None:
            r.obj.links += 1
        if r.file is not None:
            r.file.links += 1
        return r

    def __repr__(self) -> str:
        return f"<Region {self.mt.name} {self.start:#x}-{self.end:#x} prot={self.prot}>"


class AddressSpace:
    """One process's address space (MINIX's ``vmproc``).

    Attributes:
        endpoint: the process's endpoint.
        name: its name, for logs and reports.
        pd: physical address of its page directory (its CR3).
        regions: its regions, sorted by address, never overlapping.
        heap_start: where the heap begins; ``brk`` is the current break.
        flush_all: some live mapping changed: reload CR3 before it runs again.
        flush_pages: pages whose live mapping changed (INVLPG each).
        fills: file reads in flight for this space.
    """

    __slots__ = (
        "_starts",
        "brk",
        "endpoint",
        "fills",
        "flush_all",
        "flush_pages",
        "heap_start",
        "name",
        "pd",
        "regions",
    )

    def __init__(self, endpoint: int, name: str, pd: int) -> None:
        self.endpoint = endpoint
        self.name = name
        self.pd = pd
        self.regions: list[Region] = []
        self._starts: list[int] = []
        self.heap_start = 0
        self.brk = 0
        self.flush_all = False
        self.flush_pages: set[int] = set()
        self.fills = 0

    def find(self, va: int) -> Region | None:
        """The region containing ``va``, or None."""
        i = bisect_right(self._starts, va) - 1
        if i >= 0:
            r = self.regions[i]
            if va < r.start + (len(r.pages) << 12):  # r.end, inlined: every fault
                return r
        return None

    def insert(self, region: Region) -> None:
        """Add ``region`` (the caller has checked it overlaps nothing)."""
        i = bisect_left(self._starts, region.start)
        self._starts.insert(i, region.start)
        self.regions.insert(i, region)

    def remove(self, region: Region) -> None:
        """Take ``region`` out of the space (its pages are the caller's business)."""
        i = bisect_left(self._starts, region.start)
        while self.regions[i] is not region:
            i += 1
        del self._starts[i]
        del self.regions[i]

    def overlapping(self, start: int, end: int) -> list[Region]:
        """The regions meeting ``[start, end)``, in address order."""
        i = max(bisect_right(self._starts, start) - 1, 0)
        out = []
        for r in self.regions[i:]:
            if r.start >= end:
                break
            if r.end > start:
                out.append(r)
        return out

    def is_free(self, start: int, end: int) -> bool:
        """Whether no region meets ``[start, end)``."""
        return not self.overlapping(start, end)

    def invalidate(self, va: int) -> None:
        """Note that the live mapping of the page at ``va`` changed."""
        if not self.flush_all:
            self.flush_pages.add(va & ~0xFFF)
            if len(self.flush_pages) > 8:
                self.flush_all = True
                self.flush_pages.clear()

    def __repr__(self) -> str:
        return f"<AddressSpace {self.name} ep={self.endpoint} pd={self.pd:#x}>"
