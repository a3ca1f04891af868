"""The copy engine: partial copies up to the faulting page, WP, physical sides."""

from __future__ import annotations

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from kernel.hw import (
    CR0_PE,
    CR0_PG,
    CR0_WP,
    CR4_PSE,
    MMU,
    PF_P,
    PF_W,
    PG_A,
    PG_D,
    PG_P,
    PG_PS,
    PG_RW,
    PG_US,
    BusError,
    CopyFault,
    PageFault,
    PhysicalMemory,
    copy_virt,
    memset_virt,
    read_virt,
    write_virt,
)

PAGE = 4096
MEM = 64 * PAGE
A_PD, A_PT0, A_PT1 = 0x1000, 0x2000, 0x3000
B_PD, B_PT0, B_PT1 = 0x4000, 0x5000, 0x6000
# Four pages straddling the 4 MiB boundary: PT0 slots 1022-1023, PT1 slots 0-1.
BASE = 0x003F_E000
A_FRAMES = [0x10_000, 0x13_000, 0x11_000, 0x12_000]  # deliberately out of order
B_FRAMES = [0x20_000, 0x21_000, 0x23_000, 0x22_000]
RW_ALL = PG_P | PG_RW | PG_US


def pte_addr(pts: tuple[int, int], i: int) -> int:
    """PTE address of page i (0-3) of the window at BASE."""
    return pts[0] + (1022 + i) * 4 if i < 2 else pts[1] + (i - 2) * 4


def build(a_flags=(RW_ALL,) * 4, b_flags=(RW_ALL,) * 4, wp=True):
    mem = PhysicalMemory(MEM)
    for pd, pts, frames, flags in (
        (A_PD, (A_PT0, A_PT1), A_FRAMES, a_flags),
        (B_PD, (B_PT0, B_PT1), B_FRAMES, b_flags),
    ):
        mem.write_u32(pd, pts[0] | RW_ALL)
        mem.write_u32(pd + 4, pts[1] | RW_ALL)
        for i in range(4):
            mem.write_u32(pte_addr(pts, i), frames[i] | flags[i])
    for i in range(4):
        mem.write(A_FRAMES[i], bytes([0xA0 + i]) * PAGE)
        mem.write(B_FRAMES[i], bytes([0xB0 + i]) * PAGE)
    mmu = MMU(mem)
    mmu.cr3 = A_PD
    mmu.cr0 = CR0_PE | CR0_PG | (CR0_WP if wp else 0)
    return mem, mmu


def space(mem, frames):
    """The four pages of one window, as seen in physical memory."""
    return b"".join(mem.read(f, PAGE) for f in frames)


def test_copy_between_two_address_spaces_sets_a_and_d():
    mem, mmu = build()
    src = space(mem, A_FRAMES)
    copy_virt(mmu, A_PD, BASE + 100, B_PD, BASE + 3000, 2 * PAGE)
    got = space(mem, B_FRAMES)
    expect = bytearray(space_before := bytes(b"".join(bytes([0xB0 + i]) * PAGE for i in range(4))))
    expect[3000 : 3000 + 2 * PAGE] = src[100 : 100 + 2 * PAGE]
    assert got == bytes(expect) != space_before
    # Source pages 0-2 were read, destination pages 0-2 written; page 3 untouched.
    for i in range(4):
        a = mem.read_u32(pte_addr((A_PT0, A_PT1), i))
        b = mem.read_u32(pte_addr((B_PT0, B_PT1), i))
        assert a == A_FRAMES[i] | RW_ALL | (PG_A if i < 3 else 0)
        assert b == B_FRAMES[i] | RW_ALL | (PG_A | PG_D if i < 3 else 0)
    assert mem.read_u32(A_PD) == A_PT0 | RW_ALL | PG_A
    assert mem.read_u32(B_PD + 4) == B_PT1 | RW_ALL | PG_A


def test_partial_copy_stops_at_the_faulting_destination_page():
    mem, mmu = build(b_flags=(RW_ALL, RW_ALL, 0, RW_ALL))
    with pytest.raises(CopyFault) as info:
        copy_virt(mmu, A_PD, BASE, B_PD, BASE + 10, 3 * PAGE)
    f = info.value
    assert (f.side, f.addr, f.copied, f.error_code) == ("dst", BASE + 2 * PAGE, 2 * PAGE - 10, 2)
    got = space(mem, B_FRAMES)
    assert got[:10] == bytes([0xB0]) * 10
    assert got[10 : 2 * PAGE] == space(mem, A_FRAMES)[: 2 * PAGE - 10]
    assert got[2 * PAGE :] == bytes([0xB2]) * PAGE + bytes([0xB3]) * PAGE
    assert str(f) == "copy fault on dst at 0x00400000 after 8182 bytes (error code 0x2)"


def test_partial_copy_stops_at_the_faulting_source_page():
    mem, mmu = build(a_flags=(RW_ALL, 0, RW_ALL, RW_ALL))
    with pytest.raises(CopyFault) as info:
        copy_virt(mmu, A_PD, BASE + 4000, B_PD, BASE, 1000)
    f = info.value
    assert (f.side, f.addr, f.copied, f.error_code) == ("src", BASE + PAGE, 96, 0)
    assert space(mem, B_FRAMES)[:100] == bytes([0xA0]) * 96 + bytes([0xB0]) * 4
    # The faulting source page has no A; the destination page was written (A|D).
    assert mem.read_u32(pte_addr((A_PT0, A_PT1), 1)) == 0 | A_FRAMES[1]
    assert mem.read_u32(pte_addr((B_PT0, B_PT1), 0)) == B_FRAMES[0] | RW_ALL | PG_A | PG_D


def test_both_sides_fault_at_once_reports_the_source():
    _, mmu = build(a_flags=(RW_ALL, 0, 0, 0), b_flags=(RW_ALL, 0, 0, 0))
    with pytest.raises(CopyFault) as info:
        copy_virt(mmu, A_PD, BASE, B_PD, BASE, 2 * PAGE)
    assert (info.value.side, info.value.addr, info.value.copied) == ("src", BASE + PAGE, PAGE)


@pytest.mark.parametrize("wp", [False, True])
def test_kernel_writes_honour_wp(wp):
    ro = PG_P | PG_US  # a copy-on-write page, say
    mem, mmu = build(b_flags=(RW_ALL, ro, RW_ALL, RW_ALL), wp=wp)
    if wp:
        with pytest.raises(CopyFault) as info:
            write_virt(mmu, B_PD, BASE + PAGE - 2, b"hello")
        f = info.value
        assert (f.side, f.addr, f.copied, f.error_code) == ("dst", BASE + PAGE, 2, PF_P | PF_W)
        assert mem.read(B_FRAMES[0] + PAGE - 2, 2) == b"he"
        assert mem.read(B_FRAMES[1], 3) == bytes([0xB1]) * 3
        assert mem.read_u32(pte_addr((B_PT0, B_PT1), 1)) == B_FRAMES[1] | ro
    else:
        write_virt(mmu, B_PD, BASE + PAGE - 2, b"hello")
        assert mem.read(B_FRAMES[1], 3) == b"llo"
        assert mem.read_u32(pte_addr((B_PT0, B_PT1), 1)) == B_FRAMES[1] | ro | PG_A | PG_D


def test_user_supervisor_bit_does_not_matter():
    sup = PG_P | PG_RW
    mem, mmu = build(a_flags=(sup,) * 4, b_flags=(sup,) * 4)
    copy_virt(mmu, A_PD, BASE, B_PD, BASE, 4 * PAGE)
    assert space(mem, B_FRAMES) == space(mem, A_FRAMES)


def test_ps_without_pse_is_a_page_table_pointer():
    mem, mmu = build()
    mem.write_u32(A_PD, A_PT0 | RW_ALL | PG_PS)
    assert list(mmu.walk_range(A_PD, BASE, 2 * PAGE, False)) == [
        (A_FRAMES[0], PAGE),
        (A_FRAMES[1], PAGE),
    ]
    copy_virt(mmu, A_PD, BASE, B_PD, BASE, 4 * PAGE)
    assert space(mem, B_FRAMES) == space(mem, A_FRAMES)


def test_physical_sides():
    mem, mmu = build()
    mem.write(0x30_000, b"physical!")
    copy_virt(mmu, None, 0x30_000, B_PD, BASE + PAGE - 4, 9)
    assert read_virt(mmu, B_PD, BASE + PAGE - 4, 9) == b"physical!"
    assert mem.read(B_FRAMES[0] + PAGE - 4, 4) + mem.read(B_FRAMES[1], 5) == b"physical!"
    copy_virt(mmu, A_PD, BASE + 2 * PAGE, None, 0x31_000, 3)
    assert mem.read(0x31_000, 3) == bytes([0xA2]) * 3
    copy_virt(mmu, None, 0x30_000, None, 0x30_002, 9)  # overlapping: memmove
    assert mem.read(0x30_000, 11) == b"phphysical!"
    assert read_virt(mmu, None, 0x30_000, 4) == b"phph"
    write_virt(mmu, None, 0x32_000, b"abc")
    memset_virt(mmu, None, 0x32_001, 0x7A, 1)
    assert mem.read(0x32_000, 3) == b"azc"
    with pytest.raises(BusError):
        copy_virt(mmu, None, MEM - 4, B_PD, BASE, 8)
    with pytest.raises(BusError):
        write_virt(mmu, None, MEM - 1, b"xy")
    with pytest.raises(BusError):
        read_virt(mmu, None, -1, 2)


def test_read_write_memset_virt():
    mem, mmu = build(a_flags=(RW_ALL, RW_ALL, RW_ALL, 0))
    data = bytes(range(256)) * 40
    write_virt(mmu, A_PD, BASE + 1000, data)
    assert read_virt(mmu, A_PD, BASE + 1000, len(data)) == data
    memset_virt(mmu, A_PD, BASE + PAGE - 1, 0, 3)
    assert (
        read_virt(mmu, A_PD, BASE + PAGE - 2, 5)
        == data[PAGE - 1002 : PAGE - 1001] + bytes(3) + data[PAGE - 998 : PAGE - 997]
    )
    with pytest.raises(CopyFault) as info:
        read_virt(mmu, A_PD, BASE + 2 * PAGE + 10, PAGE)
    assert (info.value.side, info.value.addr, info.value.copied) == (
        "src",
        BASE + 3 * PAGE,
        PAGE - 10,
    )
    with pytest.raises(CopyFault) as info:
        memset_virt(mmu, A_PD, BASE + 3 * PAGE - 5, 0xFF, 10)
    assert (info.value.side, info.value.addr, info.value.copied) == ("dst", BASE + 3 * PAGE, 5)
    assert mem.read(A_FRAMES[2] + PAGE - 5, 5) == b"\xff" * 5
    assert read_virt(mmu, A_PD, BASE, 0) == b""
    with pytest.raises(ValueError):
        memset_virt(mmu, A_PD, BASE, 256, 1)


def test_range_checks():
    _, mmu = build()
    with pytest.raises(ValueError):
        read_virt(mmu, A_PD, 0xFFFF_FFF0, 0x20)
    with pytest.raises(ValueError):
        copy_virt(mmu, A_PD, BASE, B_PD, BASE, -1)
    with pytest.raises(ValueError):
        write_virt(mmu, 1 << 32, BASE, b"x")
    copy_virt(mmu, A_PD, BASE, B_PD, BASE, 0)  # nothing to do


def test_a_mapping_beyond_memory_is_a_bus_error():
    mem, mmu = build()
    mem.write_u32(pte_addr((B_PT0, B_PT1), 1), 0x0100_0000 | RW_ALL)
    with pytest.raises(BusError) as info:
        copy_virt(mmu, A_PD, BASE, B_PD, BASE, 2 * PAGE)
    assert info.value.paddr == 0x0100_0000
    assert mem.read(B_FRAMES[0], PAGE) == mem.read(A_FRAMES[0], PAGE)


def test_4mib_pages_and_no_tlb_or_cr2():
    mem, mmu = build()
    mmu.cr4 = CR4_PSE
    mem.write_u32(B_PD + 8, 0 | PG_PS | PG_P | PG_RW)  # 0x800000-0xBFFFFF -> physical 0
    assert mmu.translate(BASE, False, False) == A_FRAMES[0]  # something in the TLB
    mmu.cr2 = 0x42
    copy_virt(mmu, A_PD, BASE, B_PD, 0x0083_0000 + 5, 2 * PAGE)
    assert mem.read(0x3_0005, 2 * PAGE) == space(mem, A_FRAMES)[: 2 * PAGE]
    assert mem.read_u32(B_PD + 8) == PG_PS | PG_P | PG_RW | PG_A | PG_D
    with pytest.raises(BusError):  # the 4 MiB page is mapped past the end of memory
        read_virt(mmu, B_PD, 0x00C0_0000 - 2, 2)
    assert mmu.cr2 == 0x42
    assert list(mmu.tlb.entries) == [BASE >> 12]
    # The TLB's stale view of the running space does not matter to a copy.
    mem.write_u32(pte_addr((A_PT0, A_PT1), 0), A_FRAMES[1] | RW_ALL)
    assert mmu.translate(BASE, False, False) == A_FRAMES[0]
    assert read_virt(mmu, A_PD, BASE, 1) == bytes([0xA1])


def test_walk_range_pieces():
    mem, mmu = build()
    mmu.cr4 = CR4_PSE
    mem.write_u32(A_PD + 8, 0x0040_0000 | PG_PS | PG_P | PG_RW)
    assert list(mmu.walk_range(A_PD, BASE + 5, 4 * PAGE - 7, False)) == [
        (A_FRAMES[0] + 5, PAGE - 5),
        (A_FRAMES[1], PAGE),
        (A_FRAMES[2], PAGE),
        (A_FRAMES[3], PAGE - 2),
    ]
    pieces = mmu.walk_range(A_PD, 0x0080_0000 + 2 * PAGE + 1, 0x40_0000, False)
    # The rest of the 4 MiB page is one piece.
    assert next(pieces) == (0x0040_0000 + 2 * PAGE + 1, 0x40_0000 - 2 * PAGE - 1)
    assert mem.read_u32(A_PD + 8) == 0x0040_0000 | PG_PS | PG_P | PG_RW | PG_A
    with pytest.raises(PageFault) as info:  # PDE 3 is not present
        next(pieces)
    assert (info.value.cr2, info.value.error_code) == (0x00C0_0000, 0)
    assert list(pieces) == []
    assert list(mmu.walk_range(A_PD, BASE, 0, True)) == []
    with pytest.raises(ValueError):
        next(mmu.walk_range(A_PD, 0xFFFF_F000, PAGE + 1, False))


# -- against a byte-by-byte model ------------------------------------------------------------

flags = st.sampled_from([0, PG_P, PG_P | PG_RW, PG_P | PG_US, RW_ALL])


@given(
    a_flags=st.tuples(flags, flags, flags, flags),
    b_flags=st.tuples(flags, flags, flags, flags),
    wp=st.booleans(),
    src_off=st.integers(0, 2 * PAGE),
    dst_off=st.integers(0, 2 * PAGE),
    n=st.integers(0, 2 * PAGE),
)
def test_copy_matches_a_byte_model(a_flags, b_flags, wp, src_off, dst_off, n):
    mem, mmu = build(a_flags, b_flags, wp)
    src_before, dst_before = space(mem, A_FRAMES), space(mem, B_FRAMES)

    def ok(fl, write):
        return bool(fl & PG_P) and (not write or not wp or bool(fl & PG_RW))

    expected = bytearray(dst_before)
    fault = None
    for i in range(n):
        s, d = src_off + i, dst_off + i
        if not ok(a_flags[s // PAGE], False):
            fault = ("src", BASE + s, i, 0 if not a_flags[s // PAGE] & PG_P else None)
            break
        if not ok(b_flags[d // PAGE], True):
            fault = ("dst", BASE + d, i, 2 if not b_flags[d // PAGE] & PG_P else 3)
            break
        expected[d] = src_before[s]
    note(f"expected fault {fault}")
    if fault is None:
        copy_virt(mmu, A_PD, BASE + src_off, B_PD, BASE + dst_off, n)
    else:
        with pytest.raises(CopyFault) as info:
            copy_virt(mmu, A_PD, BASE + src_off, B_PD, BASE + dst_off, n)
        f = info.value
        assert (f.side, f.addr, f.copied) == fault[:3]
        assert f.error_code == fault[3]
    assert space(mem, B_FRAMES) == bytes(expected)
    assert space(mem, A_FRAMES) == src_before
    copied = n if fault is None else fault[2]
    # Pages whose first byte of the copy comes before the stop point were accessed.
    for i in range(4):
        for pts, fl, frames, off, dirty in (
            ((A_PT0, A_PT1), a_flags, A_FRAMES, src_off, 0),
            ((B_PT0, B_PT1), b_flags, B_FRAMES, dst_off, PG_D),
        ):
            first = max(i * PAGE, off) - off  # copy index of the page's first byte
            touched = i * PAGE < off + n and (i + 1) * PAGE > off and first < copied
            untouched = first > copied or (i + 1) * PAGE <= off or i * PAGE >= off + n
            entry = mem.read_u32(pte_addr(pts, i))
            if touched:
                assert entry == frames[i] | fl[i] | PG_A | dirty
            elif untouched:
                assert entry == frames[i] | fl[i]
