"""The invariant checker: VM's books against each other and against the page tables.

:func:`check` returns a list of problems, each one line naming what is wrong and
where; an empty list means every invariant holds (MINIX's ``map_sanitycheck`` plus
the allocator's books). Checked:

- every block's refcount equals the references to it (page slots, plus one per
  shared object holding it); every shared object's and file handle's link count
  equals the regions using it;
- every frame VM uses (page directories, page tables, the shared kernel tables,
  owned blocks) is marked in use by the allocator, and no frame backs two blocks;
  every frame the allocator has in use is used by something (no leak); the free count
  matches; with no address space and no shared object left, the free count is back at
  its boot baseline;
- regions are page-aligned, sorted, disjoint, between page 1 and KERNEL_BASE, and
  their type parameters make sense (a contiguous region is contiguous);
- each page table agrees with the regions: a backed page of an accessible region is
  mapped to its block's frame, user, and writable only if its type allows it now;
  nothing else is mapped below KERNEL_BASE (in particular not page 0); the kernel
  entries are present and supervisor-only in every directory.

Read a report line as ``<what>: <detail>``; docs/memory.md lists them all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.hw import PG_A, PG_D, PG_FRAME, PG_P, PG_RW, PG_US
from vm import pagetable
from vm.memtype import ANON_CONTIG, FILE, SHARED
from vm.mmap import USER_MIN
from vm.protocol import KERNEL_BASE

if TYPE_CHECKING:
    from vm.file import FileRef
    from vm.region import AddressSpace, Block, Region
    from vm.state import Vm


class _Books:
    """What the checker has seen so far."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.refs: dict[int, tuple[Block, int]] = {}
        self.frames: dict[int, str] = {}
        self.block_of_frame: dict[int, Block] = {}

    def claim(self, phys: int, what: str) -> None:
        other = self.frames.get(phys)
        if other is not None and other != what:
            self.problems.append(f"frame shared: {phys:#x} is both {other} and {what}")
        self.frames[phys] = what

    def ref(self, block: Block, where: str) -> None:
        block_id = id(block)
        seen = self.refs.get(block_id)
        self.refs[block_id] = (block, 1 if seen is None else seen[1] + 1)
        if not block.owned:
            return
        other = self.block_of_frame.get(block.phys)
        if other is not None and other is not block:
            self.problems.append(f"frame shared: {block.phys:#x} backs two blocks ({where})")
        self.block_of_frame[block.phys] = block
        self.claim(block.phys, f"block {block.phys:#x}")


def check(vm: Vm) -> list[str]:
    """Check every invariant; returns the problems found (empty: all is well)."""
    books = _Books()
    for pt in vm.kmap.tables:
        books.claim(pt, "kernel page table")
    for space in vm.spaces.values():
        _check_space(vm, space, books)
    _check_objects(vm, books)
    for block, count in books.refs.values():
        if block.refcount != count:
            books.problems.append(
                f"refcount: block {block.phys:#x} has refcount {block.refcount}"
                f" but {count} references"
            )
    _check_allocator(vm, books)
    return books.problems


def _check_space(vm: Vm, space: AddressSpace, books: _Books) -> None:
    name = space.name
    books.claim(space.pd, f"{name} page directory")
    for pt in pagetable.user_tables(vm.words, space.pd):
        books.claim(pt, f"{name} page table")
    base = space.pd >> 2
    for index, value in vm.kmap.pdes:
        have = vm.words[base + index]
        if have & ~(PG_A | PG_D) != value or value & PG_US:
            books.problems.append(f"kernel mapping: {name} PDE {index} is {have:#x}")
    prev_end = USER_MIN
    for r in space.regions:
        where = f"{name} {r.mt.name} region {r.start:#x}-{r.end:#x}"
        if r.start & 0xFFF or r.start < prev_end or r.end > KERNEL_BASE:
            books.problems.append(f"region layout: {where} (previous ends at {prev_end:#x})")
        prev_end = max(prev_end, r.end)
        _check_params(vm, r, where, books)
        for idx, block in enumerate(r.pages):
            if block is not None:
                books.ref(block, where)
            _check_pte(vm, space, r, idx, where, books)
    _check_stray(vm, space, books)


def _check_params(vm: Vm, r: Region, where: str, books: _Books) -> None:
    if r.mt is SHARED and (
        r.obj is None or r.obj not in vm.shm.objects or r.obj_off + r.npages > len(r.obj.pages)
    ):
        books.problems.append(f"region params: {where} has no valid shared object")
    if r.mt is FILE and r.file is None:
        books.problems.append(f"region params: {where} has no file")
    if r.mt is ANON_CONTIG:
        for i, block in enumerate(r.pages):
            if block is None or block.phys != r.phys + (i << 12):
                books.problems.append(f"region params: {where} is not contiguous at page {i}")
                break


def _check_pte(vm: Vm, space: AddressSpace, r: Region, idx: int, where: str, books: _Books) -> None:
    va = r.start + (idx << 12)
    want = vm.pte_for(r, r.pages[idx])
    have = pagetable.get_pte(vm.words, space.pd, va) & ~(PG_A | PG_D)
    if want == have:
        return
    # Read-only where writable is allowed is fine (the next write fault upgrades it).
    if want & PG_P and have & PG_P and (want & ~PG_RW) == (have & ~PG_RW) and not have & PG_RW:
        return
    books.problems.append(f"page table: {where} page {va:#x} has PTE {have:#x}, wants {want:#x}")


def _check_stray(vm: Vm, space: AddressSpace, books: _Books) -> None:
    base = space.pd >> 2
    for pdi, pde in enumerate(vm.words[base : base + pagetable.KERNEL_PDE].tolist()):
        if not pde & PG_P:
            continue
        pt = (pde & PG_FRAME) >> 2
        for i, pte in enumerate(vm.words[pt : pt + 1024].tolist()):
            if not pte & PG_P:
                continue
            va = (pdi << 22) | (i << 12)
            r = space.find(va)
            if r is None or r.pages[(va - r.start) >> 12] is None:
                books.problems.append(f"stray mapping: {space.name} maps {va:#x} to {pte:#x}")


def _check_objects(vm: Vm, books: _Books) -> None:
    links: dict[int, int] = {}
    files: dict[int, tuple[FileRef, int]] = {}
    for space in vm.spaces.values():
        for r in space.regions:
            if r.obj is not None:
                links[id(r.obj)] = links.get(id(r.obj), 0) + 1
            if r.file is not None:
                seen = files.get(id(r.file))
                files[id(r.file)] = (r.file, 1 if seen is None else seen[1] + 1)
    for ref, count in files.values():
        if ref.links != count:
            books.problems.append(
                f"file links: handle {ref.handle} counts {ref.links}, mapped {count} times"
            )
    for obj in vm.shm.objects:
        if obj.links != links.get(id(obj), 0):
            books.problems.append(
                f"shm links: {obj!r} counts {obj.links}, mapped {links.get(id(obj), 0)} times"
            )
        if not obj.links and (obj.shmid < 0 or obj.removed):
            books.problems.append(f"shm leak: {obj!r} is unreachable but alive")
        for block in obj.pages:
            if block is not None:
                books.ref(block, f"{obj!r}")


def _check_allocator(vm: Vm, books: _Books) -> None:
    alloc = vm.alloc
    for phys, what in books.frames.items():
        if not alloc.in_use(phys):
            books.problems.append(f"free and in use: frame {phys:#x} ({what}) is free")
    used = alloc.used_frames()
    for phys in used:
        if phys not in books.frames:
            books.problems.append(f"leak: frame {phys:#x} is allocated but used by nothing")
    expected_free = alloc.nframes - alloc.reserved - len(used)
    if alloc.free != expected_free:
        books.problems.append(f"free count: {alloc.free} free, bitmap says {expected_free}")
    if not vm.spaces and not vm.shm.objects and alloc.free != vm.baseline_free:
        books.problems.append(
            f"baseline: nothing is mapped but {alloc.free} frames are free,"
            f" {vm.baseline_free} at boot"
        )
