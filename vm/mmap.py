"""mmap, munmap, mprotect, brk, direct physical maps and shmat/shmdt.

MINIX's ``mmap.c``, ``region.c`` (unmapping) and ``break.c``.

The user address-space layout (no segments, as in MINIX 3 on i386):

- ``[0, USER_MIN)``: the first page, never mapped, so a NULL dereference is SIGSEGV;
- ``0x08048000``: text, then data (exec maps them with MAP_FIXED);
- :data:`HEAP_DEFAULT` unless exec says otherwise (VmSetHeap): the heap, grown and
  shrunk by brk;
- below :data:`MMAP_TOP`: mmap without MAP_FIXED takes the highest hole that fits (the
  hint address first, if free), so mappings grow down towards the heap;
- up to :data:`STACK_TOP`: the stack, mapped by exec with MAP_FIXED;
- :data:`~vm.protocol.KERNEL_BASE` and above: the kernel, supervisor-only.

Every entry point validates all of its arguments before it changes anything, so a
refused request leaves the address space as it was (MINIX's munmap does not; see
reference §3.7).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Final

from vm import pagetable
from vm.errors import VmError
from vm.memtype import ANON, ANON_CONTIG, DIRECT, FILE, SHARED
from vm.protocol import (
    KERNEL_BASE,
    MAP_ANON,
    MAP_CONTIG,
    MAP_FIXED,
    MAP_PREALLOC,
    MAP_PRIVATE,
    MAP_SHARED,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    SHM_RDONLY,
)
from vm.region import Block, Region

if TYPE_CHECKING:
    from vm.file import FileRef
    from vm.protocol import VmMmap
    from vm.region import AddressSpace
    from vm.state import Vm

USER_MIN: Final = 0x1000
"""The lowest address a mapping may use: page 0 stays unmapped."""
TEXT_BASE: Final = 0x0804_8000
"""Where exec puts a program's text (a convention of the exec'ing server)."""
HEAP_DEFAULT: Final = 0x1000_0000
"""The heap's start in a fresh address space, until VmSetHeap moves it."""
MMAP_TOP: Final = 0xE000_0000
"""mmap without MAP_FIXED places mappings below this address."""
STACK_TOP: Final = 0xEFFF_F000
"""The top of the stack exec maps (the page below KERNEL_BASE's last stays a guard)."""
PROT_ALL: Final = PROT_READ | PROT_WRITE | PROT_EXEC
_FLAGS: Final = MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANON | MAP_PREALLOC | MAP_CONTIG


def _pages(length: int) -> int:
    return (length + 0xFFF) >> 12


def _check_prot(prot: int) -> None:
    if prot & ~PROT_ALL:
        raise VmError(errno.EINVAL, f"bad protection {prot:#x}")


def validate_mmap(m: VmMmap) -> bool:
    """Check an mmap request; returns whether it maps a file.

    Raises:
        VmError: EINVAL (zero or negative length, bad prot or flags, unaligned MAP_FIXED
            address or file offset, MAP_FIXED at page 0), ENOMEM (larger than user
            space, or MAP_FIXED past it), ENXIO (writable shared file mapping).
    """
    if m.length <= 0:
        raise VmError(errno.EINVAL, f"mmap length {m.length}")
    if m.length > KERNEL_BASE:
        raise VmError(errno.ENOMEM, f"mmap length {m.length:#x} exceeds user space")
    _check_prot(m.prot)
    flags = m.flags
    if flags & ~_FLAGS or (flags & MAP_SHARED and flags & MAP_PRIVATE):
        raise VmError(errno.EINVAL, f"bad mmap flags {flags:#x}")
    if not 0 <= m.addr <= 0xFFFF_FFFF:
        raise VmError(errno.EINVAL, f"bad address {m.addr:#x}")
    if flags & MAP_FIXED:
        if m.addr & 0xFFF or m.addr < USER_MIN:
            raise VmError(errno.EINVAL, f"MAP_FIXED address {m.addr:#x}")
        if m.addr + m.length > KERNEL_BASE:
            raise VmError(errno.ENOMEM, "MAP_FIXED range reaches the kernel")
    if flags & MAP_CONTIG and (flags & MAP_SHARED or (m.fd >= 0 and not flags & MAP_ANON)):
        raise VmError(errno.EINVAL, "MAP_CONTIG is for private anonymous memory")
    is_file = m.fd >= 0 and not flags & MAP_ANON
    if is_file:
        if m.offset < 0 or m.offset & 0xFFF:
            raise VmError(errno.EINVAL, f"file offset {m.offset:#x}")
        if flags & MAP_SHARED and m.prot & PROT_WRITE:
            raise VmError(errno.ENXIO, "writable shared file mappings are not supported")
    return is_file


def find_hole(space: AddressSpace, npages: int, hint: int) -> int:
    """Where ``npages`` pages can go.

    At ``hint`` (rounded down) if that is free, else at the top of the highest hole
    below MMAP_TOP.

    Raises:
        VmError: ENOMEM when no hole is large enough.
    """
    size = npages << 12
    start = hint & ~0xFFF
    if start >= USER_MIN and start + size <= KERNEL_BASE and space.is_free(start, start + size):
        return start
    hi = MMAP_TOP
    for r in reversed(space.regions):
        if r.start >= hi:
            continue
        if r.end <= hi and hi - r.end >= size:
            return hi - size
        hi = r.start
    if hi - USER_MIN >= size:
        return hi - size
    raise VmError(errno.ENOMEM, f"{space.name}: no hole of {size:#x} bytes")


def _place(vm: Vm, space: AddressSpace, m: VmMmap) -> int:
    npages = _pages(m.length)
    if m.flags & MAP_FIXED:
        unmap(vm, space, m.addr, npages << 12)
        return int(m.addr)
    return find_hole(space, npages, m.addr)


def _prefault(vm: Vm, space: AddressSpace, region: Region) -> None:
    """Back every page of ``region`` now (MAP_PREALLOC); on ENOMEM undo the region."""
    try:
        pagetable.ensure_tables(vm.alloc, vm.words, space.pd, region.start, region.end)
        for idx in range(region.npages):
            if region.pages[idx] is None:
                region.pages[idx] = region.mt.fill(vm, space, region, idx, False)
        vm.rewrite_ptes(space, region)
    except VmError:
        vm.free_region(space, region)
        raise


def mmap_anon(vm: Vm, space: AddressSpace, m: VmMmap) -> int:
    """Map anonymous memory (private, shared or contiguous); returns the address.

    Raises:
        VmError: ENOMEM (no hole, no memory for MAP_PREALLOC/MAP_CONTIG).
    """
    npages = _pages(m.length)
    if m.flags & MAP_CONTIG:
        # Allocate before unmapping anything: a refusal leaves the space untouched.
        phys = vm.alloc.alloc_run(npages)
        try:
            start = _place(vm, space, m)
        except VmError:
            for i in range(npages):
                vm.alloc.release(phys + (i << 12))
            raise
        region = Region(start, 0, m.prot, ANON_CONTIG)
        region.pages = [Block(phys + (i << 12)) for i in range(npages)]
        region.phys = phys
        space.insert(region)
        _prefault(vm, space, region)
        return start
    start = _place(vm, space, m)
    if m.flags & MAP_SHARED:
        region = Region(start, npages, m.prot, SHARED)
        region.obj = vm.shm.anonymous(npages)
        region.obj.links = 1
    else:
        region = Region(start, npages, m.prot, ANON)
    space.insert(region)
    if m.flags & MAP_PREALLOC:
        _prefault(vm, space, region)
    return start


def mmap_file(vm: Vm, space: AddressSpace, m: VmMmap, ref: FileRef) -> int:
    """Map ``ref`` (VFS has opened it for VM) privately; returns the address.

    Raises:
        VmError: ENOMEM when no hole is large enough.
    """
    start = _place(vm, space, m)
    maxprot = PROT_READ | PROT_EXEC if m.flags & MAP_SHARED else PROT_ALL
    region = Region(start, _pages(m.length), m.prot, FILE, maxprot)
    region.file, region.file_off = ref, m.offset
    ref.links += 1
    space.insert(region)
    return start


def _check_range(addr: int, length: int) -> int:
    """Validate a munmap/mprotect range; returns its end, page-rounded."""
    if addr & 0xFFF or length <= 0:
        raise VmError(errno.EINVAL, f"range {addr:#x}+{length:#x}")
    end = addr + (_pages(length) << 12)
    if addr < 0 or end > KERNEL_BASE:
        raise VmError(errno.EINVAL, f"range {addr:#x}+{length:#x} is not user space")
    return end


def _cut(vm: Vm, space: AddressSpace, region: Region, start: int, end: int) -> None:
    """Unmap ``[start, end)`` (inside ``region``): whole, prefix, suffix or middle."""
    first = (max(start, region.start) - region.start) >> 12
    stop = (min(end, region.end) - region.start) >> 12
    vm.drop_pages(space, region, first, stop)
    space.remove(region)
    if first > 0:
        space.insert(region.slice(0, first))
    if stop < region.npages:
        space.insert(region.slice(stop, region.npages))
    vm.release_links(region)


def unmap(vm: Vm, space: AddressSpace, addr: int, length: int) -> None:
    """munmap: unmap every page of ``[addr, addr+length)``; holes are fine.

    Raises:
        VmError: EINVAL for an unaligned address, a zero length or a range outside
            user space.
    """
    end = _check_range(addr, length)
    for region in space.overlapping(addr, end):
        _cut(vm, space, region, addr, end)


def _isolate(space: AddressSpace, region: Region, start: int, end: int) -> Region:
    """Split ``region`` so that its part inside ``[start, end)`` is a region of its own."""
    first = (max(start, region.start) - region.start) >> 12
    stop = (min(end, region.end) - region.start) >> 12
    if first == 0 and stop == region.npages:
        return region
    space.remove(region)
    parts = [(0, first), (first, stop), (stop, region.npages)]
    slices = [region.slice(a, b) if b > a else None for a, b in parts]
    for part in slices:
        if part is not None:
            space.insert(part)
    mid = slices[1]
    assert mid is not None
    # The old region's own links go; the slices hold theirs. Nothing reaches zero.
    if region.obj is not None:
        region.obj.links -= 1
    if region.file is not None:
        region.file.links -= 1
    return mid


def protect(vm: Vm, space: AddressSpace, addr: int, length: int, prot: int) -> None:
    """mprotect: set ``prot`` on ``[addr, addr+length)``, splitting regions at the ends.

    Raises:
        VmError: EINVAL (bad range or prot), ENOMEM (part of the range is not mapped),
            EACCES (more than the mapping allows: a read-only shm attachment or a
            shared file mapping made writable).
    """
    end = _check_range(addr, length)
    _check_prot(prot)
    regions = space.overlapping(addr, end)
    covered = addr
    for r in regions:
        if r.start > covered:
            break
        covered = r.end
    if covered < end:
        raise VmError(errno.ENOMEM, f"{space.name}: {covered:#x} is not mapped")
    if any(prot & ~r.maxprot for r in regions):
        raise VmError(errno.EACCES, "protection beyond what the mapping allows")
    # Every backed page already has its page table, so the rewrite cannot fail.
    for r in regions:
        mid = _isolate(space, r, addr, end)
        mid.prot = prot
        vm.rewrite_ptes(space, mid)


def brk(vm: Vm, space: AddressSpace, addr: int) -> int:
    """Move the break to ``addr`` (0: just report it); returns the break.

    Growing maps the new pages (extending the heap region in place when it ends at the
    old break); shrinking unmaps the whole pages above the new break.

    Raises:
        VmError: ENOMEM (below the heap start, into another mapping, or into the kernel).
    """
    if addr == 0:
        return space.brk
    if not space.heap_start <= addr < KERNEL_BASE:
        raise VmError(errno.ENOMEM, f"break {addr:#x} outside the heap")
    old_top = (space.brk + 0xFFF) & ~0xFFF
    new_top = (addr + 0xFFF) & ~0xFFF
    if new_top > old_top:
        if not space.is_free(old_top, new_top):
            raise VmError(errno.ENOMEM, f"heap would grow into a mapping at {old_top:#x}")
        below = space.find(old_top - 1)
        if (
            below is not None
            and below.end == old_top
            and below.mt.resizable
            and below.prot == PROT_READ | PROT_WRITE
            and below.start >= space.heap_start
        ):
            below.pages.extend([None] * ((new_top - old_top) >> 12))
        else:
            space.insert(Region(old_top, (new_top - old_top) >> 12, PROT_READ | PROT_WRITE, ANON))
    elif new_top < old_top:
        unmap(vm, space, new_top, old_top - new_top)
    space.brk = addr
    return addr


def map_phys(vm: Vm, space: AddressSpace, phys: int, length: int) -> int:
    """Map physical memory ``[phys, phys+length)`` read-write; returns its address.

    Raises:
        VmError: EINVAL (zero length, outside physical memory), ENOMEM (no hole).
    """
    if length <= 0 or phys < 0 or phys + length > vm.physmem.size:
        raise VmError(errno.EINVAL, f"physical range {phys:#x}+{length:#x}")
    base = phys & ~0xFFF
    npages = _pages(phys + length - base)
    start = find_hole(space, npages, 0)
    region = Region(start, npages, PROT_READ | PROT_WRITE, DIRECT)
    region.phys = base
    space.insert(region)
    _prefault(vm, space, region)
    return start + (phys & 0xFFF)


def shmat(vm: Vm, space: AddressSpace, shmid: int, addr: int, flags: int) -> int:
    """Attach System V segment ``shmid`` at ``addr`` (0: anywhere); returns the address.

    Raises:
        VmError: EINVAL (no such segment, unaligned or taken address), ENOMEM (no hole).
    """
    obj = vm.shm.segment(shmid)
    npages = len(obj.pages)
    if addr:
        if addr & 0xFFF or addr < USER_MIN or addr + (npages << 12) > KERNEL_BASE:
            raise VmError(errno.EINVAL, f"shmat address {addr:#x}")
        if not space.is_free(addr, addr + (npages << 12)):
            raise VmError(errno.EINVAL, f"shmat address {addr:#x} is in use")
        start = addr
    else:
        start = find_hole(space, npages, 0)
    ro = bool(flags & SHM_RDONLY)
    prot = PROT_READ if ro else PROT_READ | PROT_WRITE
    region = Region(start, npages, prot, SHARED, PROT_READ | PROT_EXEC if ro else PROT_ALL)
    region.obj, region.shmid = obj, shmid
    obj.links += 1
    space.insert(region)
    return start


def shmdt(vm: Vm, space: AddressSpace, addr: int) -> None:
    """Detach the System V segment attached at ``addr``.

    Raises:
        VmError: EINVAL when no attachment starts there.
    """
    region = space.find(addr)
    if region is None or region.start != addr or region.shmid < 0:
        raise VmError(errno.EINVAL, f"no shm attachment at {addr:#x}")
    vm.free_region(space, region)
