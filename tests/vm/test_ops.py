"""VM's operations on bare memory: mmap, munmap, mprotect, brk, fork, memory types, shm."""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any

import pytest

from kernel.hw import PG_P, PG_RW
from tests.vm.simple import ANON, RW, Segv, box
from vm import fork, mmap, pagetable
from vm.check import check
from vm.errors import VmError
from vm.memtype import ANON_CONTIG, DIRECT, SHARED
from vm.protocol import (
    IPC_CREAT,
    IPC_EXCL,
    IPC_PRIVATE,
    IPC_RMID,
    IPC_STAT,
    KERNEL_BASE,
    MAP_ANON,
    MAP_CONTIG,
    MAP_FIXED,
    MAP_PREALLOC,
    MAP_PRIVATE,
    MAP_SHARED,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    SHM_RDONLY,
    VmMmap,
)

P = 4096


def _blk(region: Region, i: int) -> Block:
    block = region.pages[i]
    assert block is not None
    return block


if TYPE_CHECKING:
    from collections.abc import Callable

    from vm.region import AddressSpace, Block, Region


def _errno(fn: Callable[..., Any], *args: Any) -> int:
    with pytest.raises(VmError) as exc:
        fn(*args)
    return exc.value.errno


def test_anonymous_memory_is_lazy_zero_filled_and_private() -> None:
    b = box()
    sp = b.space()
    free = b.vm.alloc.free
    a = b.mmap(sp, 10 * P)
    assert b.vm.alloc.free == free  # nothing until touched
    assert b.read(sp, a + 3 * P, 4) == bytes(4)
    b.write(sp, a + 5 * P + 4094, b"span")  # straddles two pages
    assert b.read(sp, a + 5 * P + 4092, 8) == b"\0\0span\0\0"
    # a read fault on an unshared page maps it writable at once
    assert pagetable.get_pte(b.vm.words, sp.pd, a + 3 * P) & PG_RW
    b.ok()


def test_mmap_refuses_bad_requests_without_changing_anything() -> None:
    b = box()
    sp = b.space()
    a = b.mmap(sp, P)
    bad = [
        (VmMmap(0, 0, RW, ANON), errno.EINVAL),
        (VmMmap(0, -P, RW, ANON), errno.EINVAL),
        (VmMmap(0, P, 0x8, ANON), errno.EINVAL),
        (VmMmap(0, P, RW, ANON | 0x8000_0000), errno.EINVAL),
        (VmMmap(0, P, RW, MAP_SHARED | MAP_PRIVATE | MAP_ANON), errno.EINVAL),
        (VmMmap(0x1234, P, RW, ANON | MAP_FIXED), errno.EINVAL),
        (VmMmap(0, P, RW, ANON | MAP_FIXED), errno.EINVAL),  # page 0 stays unmapped
        (VmMmap(-P, P, RW, ANON), errno.EINVAL),
        (VmMmap(KERNEL_BASE - P, 2 * P, RW, ANON | MAP_FIXED), errno.ENOMEM),
        (VmMmap(0, KERNEL_BASE + P, RW, ANON), errno.ENOMEM),
        (VmMmap(0, P, RW, MAP_SHARED | MAP_ANON | MAP_CONTIG), errno.EINVAL),
        (VmMmap(0, P, RW, MAP_PRIVATE, fd=3, offset=100), errno.EINVAL),
        (VmMmap(0, P, RW, MAP_SHARED, fd=3), errno.ENXIO),
    ]
    for m, code in bad:
        assert _errno(mmap.validate_mmap, m) == code, m
    assert [r.start for r in sp.regions] == [a]
    b.ok()


def test_placement_hints_fixed_and_exhaustion() -> None:
    b = box()
    sp = b.space()
    top = b.mmap(sp, 2 * P)
    assert top == mmap.MMAP_TOP - 2 * P
    assert b.mmap(sp, P) == top - P  # grows down
    assert b.mmap(sp, P, addr=0x4000_0123) == 0x4000_0000  # a free hint is honoured
    assert b.mmap(sp, P, addr=0x4000_0000) == top - 2 * P  # a taken one is not
    b.write(sp, 0x4000_0000, b"old")
    fixed = b.mmap(sp, 3 * P, addr=0x3FFF_F000, flags=ANON | MAP_FIXED)  # replaces it
    assert fixed == 0x3FFF_F000
    assert b.read(sp, 0x4000_0000, 3) == bytes(3)
    with pytest.raises(VmError) as exc:
        b.mmap(sp, mmap.MMAP_TOP)  # larger than any hole
    assert exc.value.errno == errno.ENOMEM
    b.ok()


def _layout(sp: AddressSpace) -> list[tuple[int, int, int]]:
    return [(r.start, r.end, r.prot) for r in sp.regions]


def test_munmap_whole_prefix_suffix_middle_and_span() -> None:
    b = box()
    sp = b.space()
    base = 0x2000_0000
    b.mmap(sp, 10 * P, addr=base, flags=ANON | MAP_FIXED)
    b.mmap(sp, 4 * P, addr=base + 12 * P, flags=ANON | MAP_FIXED)
    for i in range(10):
        b.write(sp, base + i * P, bytes([i + 1]))
    free = b.vm.alloc.free
    mmap.unmap(b.vm, sp, base, 2 * P)  # prefix
    mmap.unmap(b.vm, sp, base + 8 * P, 2 * P)  # suffix
    mmap.unmap(b.vm, sp, base + 4 * P, P)  # middle: split in two
    assert _layout(sp) == [
        (base + 2 * P, base + 4 * P, RW),
        (base + 5 * P, base + 8 * P, RW),
        (base + 12 * P, base + 16 * P, RW),
    ]
    assert b.vm.alloc.free == free + 5
    assert [b.read(sp, base + i * P, 1)[0] for i in (2, 3, 5, 6, 7)] == [3, 4, 6, 7, 8]
    mmap.unmap(b.vm, sp, base + 3 * P, 11 * P)  # spans holes and three regions
    assert _layout(sp) == [(base + 2 * P, base + 3 * P, RW), (base + 14 * P, base + 16 * P, RW)]
    mmap.unmap(b.vm, sp, 0x7000_0000, P)  # nothing there: fine
    for addr, length in ((base + 1, P), (base, 0), (base, -1), (KERNEL_BASE, P)):
        assert _errno(mmap.unmap, b.vm, sp, addr, length) == errno.EINVAL
    with pytest.raises(Segv):
        b.read(sp, base + 4 * P, 1)
    b.ok()


def test_mprotect_splits_and_is_enforced() -> None:
    b = box()
    sp = b.space()
    a = b.mmap(sp, 4 * P)
    b.write(sp, a + P, b"data")
    mmap.protect(b.vm, sp, a + P, 2 * P, PROT_READ)
    assert _layout(sp) == [
        (a, a + P, RW),
        (a + P, a + 3 * P, PROT_READ),
        (a + 3 * P, a + 4 * P, RW),
    ]
    assert b.read(sp, a + P, 4) == b"data"
    with pytest.raises(Segv):
        b.write(sp, a + P, b"x")
    with pytest.raises(Segv):
        b.write(sp, a + 2 * P, b"x")  # untouched read-only page
    b.write(sp, a, b"ok")
    mmap.protect(b.vm, sp, a, 4 * P, PROT_NONE)
    assert not pagetable.get_pte(b.vm.words, sp.pd, a + P) & PG_P
    with pytest.raises(Segv):
        b.read(sp, a, 1)
    mmap.protect(b.vm, sp, a, 4 * P, RW)
    assert b.read(sp, a + P, 4) == b"data"
    assert _errno(mmap.protect, b.vm, sp, a, 5 * P, PROT_READ) == errno.ENOMEM
    assert _errno(mmap.protect, b.vm, sp, a + 1, P, PROT_READ) == errno.EINVAL
    assert _errno(mmap.protect, b.vm, sp, a, 0, PROT_READ) == errno.EINVAL
    assert _errno(mmap.protect, b.vm, sp, a, P, 0x10) == errno.EINVAL
    b.ok()


def test_brk_grows_and_shrinks_the_heap() -> None:
    b = box()
    sp = b.space()
    assert mmap.brk(b.vm, sp, 0) == mmap.HEAP_DEFAULT
    heap = mmap.HEAP_DEFAULT
    assert mmap.brk(b.vm, sp, heap + 100) == heap + 100
    b.write(sp, heap, b"heap")
    mmap.brk(b.vm, sp, heap + 5 * P + 1)
    assert len(sp.regions) == 1  # grown in place
    b.write(sp, heap + 5 * P, b"end")
    free = b.vm.alloc.free
    mmap.brk(b.vm, sp, heap + 10)
    assert b.vm.alloc.free == free + 1
    assert b.read(sp, heap, 4) == b"heap"
    with pytest.raises(Segv):
        b.read(sp, heap + 5 * P, 1)
    assert _errno(mmap.brk, b.vm, sp, heap - P) == errno.ENOMEM
    b.mmap(sp, P, addr=heap + 8 * P, flags=ANON | MAP_FIXED)
    assert _errno(mmap.brk, b.vm, sp, heap + 9 * P) == errno.ENOMEM
    assert mmap.brk(b.vm, sp, 0) == heap + 10
    b.ok()


def test_cow_fork_shares_until_written() -> None:
    b = box()
    parent = b.space(100)
    a = b.mmap(parent, 3 * P)
    b.write(parent, a, b"parent")
    b.write(parent, a + P, b"second")
    child = fork.fork(b.vm, parent, 101, "child", eager=False)
    r_parent, r_child = parent.regions[0], child.regions[0]
    assert r_parent.pages[0] is r_child.pages[0] and _blk(r_child, 0).refcount == 2
    for sp in (parent, child):
        assert not pagetable.get_pte(b.vm.words, sp.pd, a) & PG_RW
    assert parent.flush_all
    b.ok()
    free = b.vm.alloc.free
    b.write(child, a, b"CHILD!")  # copy on write
    assert b.vm.alloc.free == free - 1
    assert b.read(parent, a, 6) == b"parent"
    assert b.read(child, a, 6) == b"CHILD!"
    old = r_parent.pages[0]
    b.write(parent, a, b"P")  # the last sharer upgrades without a copy
    assert r_parent.pages[0] is old and b.vm.alloc.free == free - 1
    assert b.read(child, a + P, 6) == b"second"
    b.write(child, a + 2 * P, b"new")  # untouched in both: a fresh page each
    assert b.read(parent, a + 2 * P, 3) == bytes(3)
    b.ok()
    b.vm.free_space(child)
    b.vm.free_space(parent)
    assert b.vm.alloc.free == b.vm.baseline_free
    b.ok()


def test_eager_fork_copies_everything_now() -> None:
    b = box()
    parent = b.space(100)
    a = b.mmap(parent, 2 * P)
    b.write(parent, a, b"x")
    free = b.vm.alloc.free
    child = fork.fork(b.vm, parent, 101, "child", eager=True)
    assert child.regions[0].pages[0] is not parent.regions[0].pages[0]
    assert pagetable.get_pte(b.vm.words, parent.pd, a) & PG_RW
    assert b.vm.alloc.free == free - 1 - 2  # one page, plus a directory and a table
    assert b.read(child, a, 1) == b"x"
    b.ok()


def test_shared_anonymous_memory_stays_shared_across_fork() -> None:
    b = box()
    parent = b.space(100)
    s = b.mmap(parent, 2 * P, flags=MAP_SHARED | MAP_ANON)
    p_priv = b.mmap(parent, P)
    b.write(parent, s, b"before")
    child = fork.fork(b.vm, parent, 101, "child", eager=False)
    assert pagetable.get_pte(b.vm.words, child.pd, s) & PG_RW
    b.write(child, s, b"child!")
    b.write(child, s + P, b"late")  # a page neither had touched
    b.write(child, p_priv, b"mine")
    assert b.read(parent, s, 6) == b"child!"
    assert b.read(parent, s + P, 4) == b"late"
    assert b.read(parent, p_priv, 4) == bytes(4)
    b.ok()
    mmap.unmap(b.vm, parent, s, 2 * P)
    assert b.read(child, s, 6) == b"child!"  # the child's link keeps the object
    b.vm.free_space(child)
    assert not b.vm.shm.objects
    b.ok()


def test_partial_unmap_and_mprotect_of_shared_memory() -> None:
    b = box()
    parent = b.space(100)
    s = b.mmap(parent, 4 * P, flags=MAP_SHARED | MAP_ANON)
    child = fork.fork(b.vm, parent, 101, "child", eager=False)
    mmap.unmap(b.vm, parent, s + P, P)
    mmap.protect(b.vm, parent, s + 3 * P, P, PROT_READ)
    b.write(child, s + 3 * P, b"seen")
    assert b.read(parent, s + 3 * P, 4) == b"seen"
    b.write(parent, s + 2 * P, b"two")
    assert b.read(child, s + 2 * P, 3) == b"two"
    assert b.vm.shm.objects and next(iter(b.vm.shm.objects)).links == 4
    b.ok()


def test_contiguous_memory_is_contiguous_up_front_and_copied_on_fork() -> None:
    b = box()
    sp = b.space(100)
    free = b.vm.alloc.free
    a = b.mmap(sp, 3 * P, flags=ANON | MAP_CONTIG)
    assert b.vm.alloc.free < free - 3
    r = sp.regions[0]
    assert r.mt is ANON_CONTIG
    assert [_blk(r, i).phys for i in range(3)] == [r.phys + i * P for i in range(3)]
    b.write(sp, a, b"dma")
    child = fork.fork(b.vm, sp, 101, "child", eager=False)
    rc = child.regions[0]
    assert rc.phys != r.phys and b.read(child, a, 3) == b"dma"
    b.write(child, a, b"DMA")
    assert b.read(sp, a, 3) == b"dma"
    mmap.unmap(b.vm, sp, a + P, P)  # a middle page of a contiguous region
    b.ok()
    with pytest.raises(VmError) as exc:
        b.mmap(sp, 4000 * P, flags=ANON | MAP_CONTIG)
    assert exc.value.errno == errno.ENOMEM


def test_prealloc_and_enomem_undo() -> None:
    b = box(memory=2 * 2**20)
    sp = b.space(100)
    free = b.vm.alloc.free
    b.mmap(sp, 8 * P, flags=ANON | MAP_PREALLOC)
    assert b.vm.alloc.free == free - 9  # 8 pages and their table
    with pytest.raises(VmError) as exc:
        b.mmap(sp, 600 * P, flags=ANON | MAP_PREALLOC)
    assert exc.value.errno == errno.ENOMEM
    assert b.vm.alloc.free == free - 9  # all undone
    b.ok()


def test_direct_physical_memory() -> None:
    b = box()
    sp = b.space(100)
    b.vm.physmem.write(0x3004, b"registers")
    a = mmap.map_phys(b.vm, sp, 0x3004, 100)
    assert a & 0xFFF == 4
    assert b.read(sp, a, 9) == b"registers"
    b.write(sp, a, b"REG")
    assert b.vm.physmem.read(0x3004, 3) == b"REG"
    r = sp.regions[0]
    assert r.mt is DIRECT and not _blk(r, 0).owned
    child = fork.fork(b.vm, sp, 101, "child", eager=False)
    b.write(child, a, b"kid")
    assert b.vm.physmem.read(0x3004, 3) == b"kid"
    free = b.vm.alloc.free
    b.vm.free_space(child)
    b.vm.free_space(sp)
    assert b.vm.alloc.free == free + 4  # only directories and tables: device memory is not VM's
    for phys, length in ((0, 0), (-1, 5), (b.vm.physmem.size - 2, 4)):
        assert _errno(mmap.map_phys, b.vm, b.space(102), phys, length) == errno.EINVAL
    b.ok()


def test_system_v_shared_memory() -> None:
    b = box()
    shm = b.vm.shm
    one, two = b.space(100), b.space(101)
    sid = shm.shmget(42, 2 * P, IPC_CREAT)
    assert shm.shmget(42, P, 0) == sid
    assert shm.shmget(IPC_PRIVATE, P, 0) != shm.shmget(IPC_PRIVATE, P, 0)
    assert _errno(shm.shmget, 42, P, IPC_CREAT | IPC_EXCL) == errno.EEXIST
    assert _errno(shm.shmget, 42, 3 * P, 0) == errno.EINVAL
    assert _errno(shm.shmget, 43, P, 0) == errno.ENOENT
    assert _errno(shm.shmget, 44, 0, IPC_CREAT) == errno.EINVAL
    a1 = mmap.shmat(b.vm, one, sid, 0, 0)
    a2 = mmap.shmat(b.vm, two, sid, 0x3000_0000, SHM_RDONLY)
    assert a2 == 0x3000_0000
    b.write(one, a1 + P, b"hello two")
    assert b.read(two, a2 + P, 9) == b"hello two"
    with pytest.raises(Segv):
        b.write(two, a2, b"x")
    assert _errno(mmap.protect, b.vm, two, a2, P, PROT_READ | PROT_WRITE) == errno.EACCES
    assert _errno(mmap.shmat, b.vm, one, sid, a1, 0) == errno.EINVAL  # address in use
    assert _errno(mmap.shmat, b.vm, one, 999, 0, 0) == errno.EINVAL
    assert shm.shmctl(b.vm, sid, IPC_STAT) == 2 * P
    assert shm.shmctl(b.vm, sid, IPC_RMID) == 0
    assert _errno(shm.shmget, 42, P, 0) == errno.ENOENT  # the key is gone at once
    assert b.read(one, a1 + P, 5) == b"hello"  # but attachments keep the segment
    mmap.shmdt(b.vm, one, a1)
    assert _errno(mmap.shmdt, b.vm, one, a1) == errno.EINVAL
    assert _errno(mmap.shmdt, b.vm, two, a2 + P) == errno.EINVAL
    mmap.shmdt(b.vm, two, a2)
    assert len(shm.objects) == 2  # the two IPC_PRIVATE segments, never removed
    assert _errno(shm.shmctl, b.vm, 1234, IPC_RMID) == errno.EINVAL
    b.ok()


def test_exec_new_and_exit_return_every_frame() -> None:
    b = box()
    sp = b.space(100)
    b.mmap(sp, 4 * P)
    b.write(sp, sp.regions[0].start, b"x")
    sp2 = fork.exec_new(b.vm, 100, "p100")  # exec replaces the space
    assert sp2 is not sp and not sp2.regions and b.vm.spaces[100] is sp2
    b.vm.free_space(sp2)
    assert b.vm.alloc.free == b.vm.baseline_free
    assert _errno(b.vm.space_of, 100) == errno.EINVAL
    b.ok()


def test_page_zero_and_kernel_space_are_never_user_memory() -> None:
    b = box()
    sp = b.space()
    for va in (0, 0xFFF, KERNEL_BASE, KERNEL_BASE + 0x1234):
        with pytest.raises(Segv):
            b.read(sp, va, 1)


def test_checker_reports_each_kind_of_damage() -> None:
    b = box()
    sp = b.space()
    a = b.mmap(sp, 2 * P)
    b.write(sp, a, b"x")
    b.ok()
    block = _blk(sp.regions[0], 0)
    block.refcount += 1
    assert any(p.startswith("refcount:") for p in check(b.vm))
    block.refcount -= 1
    pagetable.set_pte(b.vm.alloc, b.vm.words, sp.pd, a + P, block.phys | 7)
    problems = check(b.vm)
    assert any(p.startswith("stray mapping:") for p in problems)
    assert any(p.startswith("page table:") for p in problems)
    pagetable.set_pte(b.vm.alloc, b.vm.words, sp.pd, a + P, 0)
    b.ok()
    leaked = b.vm.alloc.alloc()
    assert any(p.startswith("leak:") for p in check(b.vm))
    b.vm.alloc.release(leaked)
    b.vm.alloc.release(block.phys)
    assert any(p.startswith("free and in use:") for p in check(b.vm))
    b.vm.alloc.alloc()  # takes the same frame back
    b.ok()
    b.vm.free_space(sp)
    b.vm.alloc.alloc()
    problems = check(b.vm)
    assert any(p.startswith("baseline:") for p in problems)
    assert any(p.startswith("leak:") for p in problems)


def test_kernel_entries_are_checked() -> None:
    b = box()
    sp = b.space()
    index, value = b.vm.kmap.pdes[0]
    b.vm.words[(sp.pd >> 2) + index] = value | 4  # made user-accessible
    assert any(p.startswith("kernel mapping:") for p in check(b.vm))


def test_regions_of_every_kind_survive_fork_and_exit_to_baseline() -> None:
    b = box()
    sp = b.space(100)
    b.mmap(sp, 2 * P)
    b.mmap(sp, 2 * P, flags=MAP_SHARED | MAP_ANON)
    b.mmap(sp, 2 * P, flags=ANON | MAP_CONTIG)
    mmap.map_phys(b.vm, sp, 0x5000, P)
    sid = b.vm.shm.shmget(IPC_PRIVATE, P, IPC_CREAT)
    mmap.shmat(b.vm, sp, sid, 0, 0)
    for r in list(sp.regions):
        b.write(sp, r.start, b"w")
    kinds = {r.mt for r in sp.regions}
    assert SHARED in kinds and DIRECT in kinds and ANON_CONTIG in kinds
    child = fork.fork(b.vm, sp, 101, "c", eager=False)
    grandchild = fork.fork(b.vm, child, 102, "g", eager=True)
    for r in list(grandchild.regions):
        b.write(grandchild, r.start, b"g")
    b.ok()
    for s in (sp, child, grandchild):
        b.vm.free_space(s)
    b.vm.shm.shmctl(b.vm, sid, IPC_RMID)
    b.ok()
    assert b.vm.alloc.free == b.vm.baseline_free


def test_fork_failure_leaves_no_trace() -> None:
    b = box(memory=2 * 2**20)
    sp = b.space(100)
    a = b.mmap(sp, 150 * P)
    for i in range(150):
        b.write(sp, a + i * P, b"z")
    free = b.vm.alloc.free
    with pytest.raises(VmError) as exc:
        fork.fork(b.vm, sp, 101, "c", eager=True)  # not enough frames for a copy
    assert exc.value.errno == errno.ENOMEM
    assert 101 not in b.vm.spaces and b.vm.alloc.free == free
    b.ok()
    assert _errno(fork.fork, b.vm, sp, 100, "self", False) == errno.EEXIST


def test_pse_machine_maps_the_kernel_with_large_pages() -> None:
    b = box(pse=True)
    assert b.vm.kmap.tables == []
    sp = b.space()
    a = b.mmap(sp, P)
    b.write(sp, a, b"ok")
    with pytest.raises(Segv):
        b.read(sp, KERNEL_BASE, 1)
    b.ok()


def test_anonymous_private_flag_defaults() -> None:
    b = box()
    sp = b.space()
    m = VmMmap(0, P, PROT_WRITE, MAP_ANON)  # neither SHARED nor PRIVATE: private
    assert not mmap.validate_mmap(m)
    a = mmap.mmap_anon(b.vm, sp, m)
    b.write(sp, a, b"w")  # PROT_WRITE implies read on x86
    assert b.read(sp, a, 1) == b"w"
    _ = MAP_PRIVATE
