"""Benchmarks of the simulated hardware: MMU translation (TLB hit and miss) and copies.

Figures: ``mmu.hit`` (translations per second answered by the TLB), ``mmu.miss``
(translations per second that each need a full two-level walk, on pages never touched
before, so the walk also writes the accessed bit back) and ``copy.1mib`` (GiB/s moving
1 MiB between two address spaces through :func:`kernel.hw.copy_virt`). Setup (building
page tables, warming or flushing the TLB) is outside the timed region; the loop that
issues the operations is inside it.
"""

from __future__ import annotations

import time
from array import array

from asynix.bench import benchmark
from kernel.hw import (
    CR0_PE,
    CR0_PG,
    CR0_WP,
    FRAME_SIZE,
    MMU,
    PG_P,
    PG_RW,
    PG_US,
    PhysicalMemory,
    copy_virt,
)

_FLAGS = PG_P | PG_RW | PG_US


def _map(mem: PhysicalMemory, pd: int, pt0: int, va: int, frames: list[int]) -> int:
    """Map ``frames`` (physical addresses) at ``va`` with page tables from ``pt0`` up.

    Returns:
        The physical address after the last page table used.
    """
    vpn = va >> 12
    pt = pt0
    done = 0
    while done < len(frames):
        first = (vpn + done) & 0x3FF
        count = min(len(frames) - done, 1024 - first)
        mem.write_u32(pd + (((vpn + done) >> 10) << 2), pt | _FLAGS)
        entries = array("I", [f | _FLAGS for f in frames[done : done + count]])
        mem.write(pt + first * 4, entries.tobytes())
        done += count
        pt += FRAME_SIZE
    return pt


def _machine(size: int) -> tuple[PhysicalMemory, MMU]:
    mem = PhysicalMemory(size)
    mmu = MMU(mem)
    mmu.cr0 = CR0_PE | CR0_PG | CR0_WP
    return mem, mmu


@benchmark("mmu.hit", ops=300_000, kind="rate", unit="translations/s", goal=">= 3,000,000/s")
async def _mmu_hit(n: int) -> float:
    mem, mmu = _machine(4 << 20)
    base = 0x0804_0000
    _map(mem, 0x1000, 0x2000, base, [0x10_0000 + i * FRAME_SIZE for i in range(64)])
    mmu.cr3 = 0x1000
    pages = [base + i * FRAME_SIZE + 0x123 for i in range(64)]
    for va in pages:
        mmu.translate(va, False, True)
    addrs = [pages[i & 63] for i in range(n)]
    translate = mmu.translate
    start = time.perf_counter()
    for va in addrs:
        translate(va, False, True)
    return time.perf_counter() - start


@benchmark("mmu.miss", ops=200_000, kind="rate", unit="translations/s", goal=">= 500,000/s")
async def _mmu_miss(n: int) -> float:
    # n distinct pages, each translated once after the CR3 load: every one is a TLB miss
    # and a full PDE+PTE walk that sets A in the PTE (and in the PDE once per table).
    tables = (n + 1023) // 1024
    data = (tables + 2) * FRAME_SIZE
    mem, mmu = _machine(data + (4 << 20))
    base = 0x4000_0000
    _map(mem, 0x1000, 0x2000, base, [data + (i & 1023) * FRAME_SIZE for i in range(n)])
    mmu.cr3 = 0x1000
    addrs = [base + i * FRAME_SIZE + 0x40 for i in range(n)]
    translate = mmu.translate
    start = time.perf_counter()
    for va in addrs:
        translate(va, False, True)
    return time.perf_counter() - start


@benchmark("copy.1mib", ops=200, kind="bandwidth", unit="GiB/s", goal=">= 1 GiB/s", scale=1 / 1024)
async def _copy_1mib(n: int) -> float:
    # Two address spaces, each with 1 MiB mapped on frames interleaved and handed out
    # downwards (as MINIX's VM allocates), so no run is physically contiguous.
    mem, mmu = _machine(8 << 20)
    frames = [0x7F_F000 - i * FRAME_SIZE for i in range(512)]
    _map(mem, 0x1000, 0x3000, 0x0804_8000, frames[0::2])
    _map(mem, 0x2000, 0x5000, 0x4000_0000, frames[1::2])
    mmu.cr3 = 0x1000
    size = 1 << 20
    start = time.perf_counter()
    for _ in range(n):
        copy_virt(mmu, 0x1000, 0x0804_8000, 0x2000, 0x4000_0000, size)
    return time.perf_counter() - start
