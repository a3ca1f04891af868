"""Page directories and tables as the MMU sees them: kernel mapping, PTE edits, bulk copies."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.hw import (
    CR0_PE,
    CR0_PG,
    CR0_WP,
    CR4_PSE,
    MMU,
    PF_P,
    PF_U,
    PF_W,
    PG_P,
    PG_RW,
    PG_US,
    PageFault,
    PhysicalMemory,
)
from vm import pagetable
from vm.alloc import FrameAllocator
from vm.protocol import KERNEL_BASE


def _machine(
    pse: bool = False, frames: int = 512, reserved: int = 64
) -> tuple[PhysicalMemory, MMU, FrameAllocator, pagetable.KernelMap]:
    mem = PhysicalMemory(frames * 4096)
    mmu = MMU(mem)
    mmu.cr0 = CR0_PE | CR0_PG | CR0_WP
    if pse:
        mmu.cr4 = CR4_PSE
    alloc = FrameAllocator(mem, reserved)
    kmap = pagetable.KernelMap(alloc, mem.words, reserved, pse)
    return mem, mmu, alloc, kmap


@pytest.mark.parametrize("pse", [False, True])
def test_kernel_is_mapped_supervisor_only_in_every_directory(pse: Any) -> None:
    mem, mmu, alloc, kmap = _machine(pse)
    assert len(kmap.tables) == (0 if pse else 1)
    for _ in range(2):
        pd = pagetable.new_directory(alloc, mem.words, kmap)
        mmu.cr3 = pd
        assert mmu.translate(KERNEL_BASE + 0x1234, False, False) == 0x1234
        assert mmu.translate(KERNEL_BASE + 63 * 4096, True, False) == 63 * 4096
        with pytest.raises(PageFault) as exc:
            mmu.translate(KERNEL_BASE + 8, False, True)
        assert exc.value.error_code == PF_P | PF_U
        with pytest.raises(PageFault) as exc:
            mmu.translate(0, False, True)  # nothing in user space yet
        assert exc.value.error_code == PF_U
        assert pagetable.user_tables(mem.words, pd) == []


def test_ptes_tables_on_demand_clear_and_free() -> None:
    mem, mmu, alloc, kmap = _machine()
    free0 = alloc.free
    pd = pagetable.new_directory(alloc, mem.words, kmap)
    frame = alloc.alloc()
    assert pagetable.set_pte(alloc, mem.words, pd, 0x0, 0) == 0
    assert pagetable.user_tables(mem.words, pd) == []  # clearing needs no table
    va = 0x0804_8000
    assert pagetable.set_pte(alloc, mem.words, pd, va, frame | PG_P | PG_US) == 0
    assert len(pagetable.user_tables(mem.words, pd)) == 1
    assert pagetable.get_pte(mem.words, pd, va) == frame | PG_P | PG_US
    assert pagetable.get_pte(mem.words, pd, 0x4000_0000) == 0
    mmu.cr3 = pd
    assert mmu.translate(va + 5, False, True) == frame + 5
    with pytest.raises(PageFault) as exc:
        mmu.translate(va, True, True)
    assert exc.value.error_code == PF_P | PF_W | PF_U
    pagetable.clear_range(mem.words, pd, va, 1)
    assert pagetable.get_pte(mem.words, pd, va) == 0
    alloc.release(frame)
    pagetable.free_directory(alloc, mem.words, pd)
    assert alloc.free == free0


def test_copy_range_clears_rw_in_both_and_spans_tables() -> None:
    mem, _, alloc, kmap = _machine()
    src = pagetable.new_directory(alloc, mem.words, kmap)
    dst = pagetable.new_directory(alloc, mem.words, kmap)
    start = 0x3FE000  # two pages before a 4 MiB boundary
    frames = [alloc.alloc() for _ in range(4)]
    for i, f in enumerate(frames):
        pagetable.set_pte(alloc, mem.words, src, start + i * 4096, f | PG_P | PG_RW | PG_US)
    pagetable.copy_range(alloc, mem.words, src, dst, start, 4, read_only=True)
    for i, f in enumerate(frames):
        for pd in (src, dst):
            assert pagetable.get_pte(mem.words, pd, start + i * 4096) == f | PG_P | PG_US
    pagetable.copy_range(alloc, mem.words, src, dst, 0x1000_0000, 3, read_only=True)  # no tables
    assert len(pagetable.user_tables(mem.words, dst)) == 2


@given(
    st.dictionaries(
        st.integers(1, 0xEFFFF).map(lambda p: p << 12),
        st.tuples(st.integers(0, 63), st.booleans()),
        max_size=30,
    )
)
def test_set_pte_agrees_with_the_mmu(mappings: Any) -> None:
    mem, mmu, alloc, kmap = _machine(frames=256, reserved=64)
    pd = pagetable.new_directory(alloc, mem.words, kmap)
    for va, (frame, rw) in mappings.items():
        pagetable.set_pte(
            alloc, mem.words, pd, va, (frame << 12) | PG_P | PG_US | (PG_RW if rw else 0)
        )
    for va, (frame, rw) in mappings.items():
        assert mmu.walk(pd, va + 7, rw, True) == (frame << 12) + 7
        if not rw:
            with pytest.raises(PageFault):
                mmu.walk(pd, va, True, True)
