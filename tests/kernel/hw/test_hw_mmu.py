"""The MMU against an independent SDM reference, plus hand-checked cases."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from kernel.hw import (
    CR0_PE,
    CR0_PG,
    CR0_WP,
    CR4_PAE,
    CR4_PGE,
    CR4_PSE,
    MMU,
    PF_I,
    PF_P,
    PF_RSVD,
    PF_U,
    PF_W,
    PG_A,
    PG_D,
    PG_G,
    PG_P,
    PG_PS,
    PG_RW,
    PG_US,
    BusError,
    PageFault,
    PhysicalMemory,
)
from tests.kernel.hw.paging import Fault, Mem, RefMachine, allowed, ref_walk

MEM_SIZE = 16 * 4096
PD, PD2, PT0, PT1 = 0x1000, 0x4000, 0x2000, 0x3000
PAGING = CR0_PE | CR0_PG


def machine(cr0: int = PAGING, cr4: int = 0, cr3: int = PD) -> tuple[PhysicalMemory, MMU]:
    mem = PhysicalMemory(MEM_SIZE)
    mmu = MMU(mem)
    mmu.cr4 = cr4
    mmu.cr3 = cr3
    mmu.cr0 = cr0
    return mem, mmu


def map_page(mem: PhysicalMemory, la: int, frame: int, flags: int, pde_flags: int = 0) -> None:
    """Map la -> frame through PT0 (the PDE gets P|RW|US unless pde_flags says otherwise)."""
    mem.write_u32(PD + (la >> 22) * 4, PT0 | (pde_flags or PG_P | PG_RW | PG_US))
    mem.write_u32(PT0 + ((la >> 12) & 0x3FF) * 4, frame | flags)


def fault_of(fn, *args) -> PageFault:
    with pytest.raises(PageFault) as info:
        fn(*args)
    return info.value


def mem_as_ref(mem: PhysicalMemory) -> Mem:
    ref = Mem()
    for addr in range(0, MEM_SIZE, 4):
        value = mem.read_u32(addr)
        if value:
            ref.wr(addr, value)
    return ref


def ref_bytes(ref: Mem) -> bytes:
    out = bytearray(MEM_SIZE)
    for addr, value in ref.words.items():
        out[addr : addr + 4] = value.to_bytes(4, "little")
    return bytes(out)


# -- strategies ---------------------------------------------------------------------------

u32 = st.integers(0, 0xFFFFFFFF)
low12 = st.integers(0, 0xFFF)


@st.composite
def pde_values(draw, pse: bool):
    """A PDE: a page-table pointer inside memory, or (with PSE) a 4 MiB page."""
    low = draw(low12)
    if pse and draw(st.booleans()):
        rsvd = draw(
            st.sampled_from([0, 0, 0, 1 << 12]) | st.integers(0, 0x3FF).map(lambda r: r << 12)
        )
        return (draw(st.integers(0, 0x3FF)) << 22) | rsvd | low | PG_PS
    return draw(st.sampled_from([PT0, PT1])) | low


@st.composite
def scenarios(draw):
    wp, pse, pge = draw(st.booleans()), draw(st.booleans()), draw(st.booleans())
    pdi = draw(st.sampled_from([0, 1, 0x3FF]))
    pti = draw(st.sampled_from([0, 1, 0x3FF]))
    la = (pdi << 22) | (pti << 12) | draw(low12)
    pde = draw(pde_values(pse))
    pte = draw(u32)
    accesses = draw(
        st.lists(st.tuples(st.booleans(), st.booleans(), st.booleans()), min_size=1, max_size=3)
    )
    return wp, pse, pge, la, pde, pte, accesses


def setup(wp, pse, pge, la, pde, pte):
    mem = PhysicalMemory(MEM_SIZE)
    mem.write_u32(PD + (la >> 22) * 4, pde)
    if not (pse and pde & PG_PS):
        mem.write_u32((pde & 0xFFFFF000) + ((la >> 12) & 0x3FF) * 4, pte)
    mmu = MMU(mem)
    mmu.cr4 = (CR4_PSE if pse else 0) | (CR4_PGE if pge else 0)
    mmu.cr3 = PD
    mmu.cr0 = PAGING | (CR0_WP if wp else 0)
    ref = RefMachine(mem_as_ref(mem))
    ref.set_cr4(pse, pge)
    ref.set_cr3(PD)
    ref.set_cr0(True, wp)
    return mem, mmu, ref


# -- property tests against the reference --------------------------------------------------


@given(scenarios())
def test_translate_matches_reference(s):
    wp, pse, pge, la, pde, pte, accesses = s
    mem, mmu, ref = setup(wp, pse, pge, la, pde, pte)
    mmu.cr2 = 0x5A5A5A5A
    ref.cr2 = 0x5A5A5A5A
    for write, user, fetch in accesses:
        expected = ref.access(la, write, user)
        note(f"access write={write} user={user} fetch={fetch} -> {expected}")
        if isinstance(expected, Fault):
            pf = fault_of(mmu.translate, la, write, user, fetch)
            assert (pf.cr2, pf.error_code) == (la, expected.code)
            assert pf.error_code & PF_I == 0
        else:
            assert mmu.translate(la, write, user, fetch) == expected
        assert mmu.cr2 == ref.cr2
        assert mem.read(0, MEM_SIZE) == ref_bytes(ref.mem)
        assert (la >> 12 in mmu.tlb) == (la >> 12 in ref.tlb)


@given(scenarios())
def test_walk_matches_reference_and_leaves_cr2_and_tlb(s):
    wp, pse, pge, la, pde, pte, accesses = s
    mem, mmu, ref = setup(wp, pse, pge, la, pde, pte)
    mmu.cr2 = 0x1234
    for write, user, _fetch in accesses:
        expected = ref_walk(ref.mem, wp, PD, pse, la, write, user)
        if isinstance(expected, Fault):
            pf = fault_of(mmu.walk, PD, la, write, user)
            assert (pf.cr2, pf.error_code) == (la, expected.code)
        else:
            assert mmu.walk(PD, la, write, user) == expected.pa
        assert mem.read(0, MEM_SIZE) == ref_bytes(ref.mem)
    assert mmu.cr2 == 0x1234
    assert len(mmu.tlb) == 0


@pytest.mark.parametrize(
    ("pde_us", "pde_rw", "pte_us", "pte_rw", "user", "write", "wp"),
    list(itertools.product([0, 1], repeat=7)),
)
def test_every_rights_combination(pde_us, pde_rw, pte_us, pte_rw, user, write, wp):
    mem, mmu = machine(PAGING | (CR0_WP if wp else 0))
    la = 0x0040_5678
    pde = PT1 | PG_P | (PG_US if pde_us else 0) | (PG_RW if pde_rw else 0)
    pte = 0x9000 | PG_P | (PG_US if pte_us else 0) | (PG_RW if pte_rw else 0)
    mem.write_u32(PD + 4, pde)
    mem.write_u32(PT1 + 5 * 4, pte)
    us, rw = pde_us & pte_us, pde_rw & pte_rw
    # The SDM 4.6 table, spelled out once more by hand.
    ok = (us and (rw or not write)) if user else (not write or rw or not wp)
    assert ok == allowed(us, rw, bool(write), bool(user), bool(wp))
    for fetch in (False, True) if not write else (False,):
        mmu.invlpg(la)
        if ok:
            assert mmu.translate(la, bool(write), bool(user), fetch) == 0x9678
            assert mem.read_u32(PT1 + 5 * 4) == pte | PG_A | (PG_D if write else 0)
        else:
            pf = fault_of(mmu.translate, la, bool(write), bool(user), fetch)
            assert pf.error_code == PF_P | (PF_W if write else 0) | (PF_U if user else 0)
            assert mem.read_u32(PT1 + 5 * 4) == pte  # no A in a faulting leaf
        assert mem.read_u32(PD + 4) == pde | PG_A  # the PDE was used either way


class TLBModel(RuleBasedStateMachine):
    """Random sequences of accesses, table edits without invalidation, INVLPG and control
    register writes; the MMU must match the reference TLB model step for step."""

    PAGES = tuple((pdi << 22) | (pti << 12) for pdi in (0, 1) for pti in (0, 1, 2))

    @initialize(pse=st.booleans(), pge=st.booleans(), wp=st.booleans())
    def boot(self, pse, pge, wp):
        self.mem = PhysicalMemory(MEM_SIZE)
        for pd in (PD, PD2):
            self.mem.write_u32(pd, PT0 | PG_P | PG_RW | PG_US)
            self.mem.write_u32(pd + 4, PT1 | PG_P | PG_RW | PG_US)
        for pt in (PT0, PT1):
            for i in range(3):
                self.mem.write_u32(pt + 4 * i, (0x100 + i) << 12 | PG_P | PG_RW | PG_US | PG_G)
        self.mmu = MMU(self.mem)
        self.ref = RefMachine(mem_as_ref(self.mem))
        self.cr4(pse, pge)
        self.cr3(PD)
        self.cr0(True, wp)

    @rule(page=st.sampled_from(PAGES), off=low12, write=st.booleans(), user=st.booleans())
    def access(self, page, off, write, user):
        la = page | off
        expected = self.ref.access(la, write, user)
        if isinstance(expected, Fault):
            pf = fault_of(self.mmu.translate, la, write, user)
            assert (pf.cr2, pf.error_code) == (la, expected.code)
        else:
            assert self.mmu.translate(la, write, user) == expected

    # Bits 31:16 clear: whatever CR4.PSE says later, the PDE is a 4 MiB page at 0 (bits
    # 15:13 reserved, bit 12 PAT) or points to a page table inside the 64 KiB of memory.
    @rule(pd=st.sampled_from([PD, PD2]), slot=st.sampled_from([0, 1]), value=st.integers(0, 0xFFFF))
    def edit_pde(self, pd, slot, value):
        self.mem.write_u32(pd + 4 * slot, value)
        self.ref.mem.wr(pd + 4 * slot, value)

    # Mostly present entries, so that the interesting cases (stale rights, clean entries,
    # dirty read-only ones) come up often.
    @rule(
        pt=st.sampled_from([PT0, PT1]),
        slot=st.sampled_from([0, 1, 2]),
        value=st.tuples(u32, st.booleans()).map(lambda t: t[0] | (PG_P if t[1] else 0)),
    )
    def edit_pte(self, pt, slot, value):
        self.mem.write_u32(pt + 4 * slot, value)
        self.ref.mem.wr(pt + 4 * slot, value)

    @rule(page=st.sampled_from(PAGES), off=low12)
    def invlpg(self, page, off):
        self.mmu.invlpg(page | off)
        self.ref.invalidate((page | off) >> 12)

    @rule(value=st.sampled_from([PD, PD2]))
    def cr3(self, value):
        self.mmu.cr3 = value
        self.ref.set_cr3(value)

    @rule(pse=st.booleans(), pge=st.booleans())
    def cr4(self, pse, pge):
        self.mmu.cr4 = (CR4_PSE if pse else 0) | (CR4_PGE if pge else 0)
        self.ref.set_cr4(pse, pge)

    @rule(pg=st.booleans(), wp=st.booleans())
    def cr0(self, pg, wp):
        self.mmu.cr0 = CR0_PE | (CR0_PG if pg else 0) | (CR0_WP if wp else 0)
        self.ref.set_cr0(pg, wp)

    @invariant()
    def same_state(self):
        if not hasattr(self, "mmu"):
            return
        assert self.mmu.cr2 == self.ref.cr2
        assert set(self.mmu.tlb.entries) == set(self.ref.tlb)
        for vpn, e in self.ref.tlb.items():
            got = self.mmu.tlb.get(vpn)
            assert got is not None
            assert (got.frame, got.user, got.writable, got.dirty, got.glob, got.large) == (
                e.frame,
                bool(e.us),
                bool(e.rw),
                bool(e.dirty),
                e.glob,
                e.large,
            )
        assert self.mem.read(0, MEM_SIZE) == ref_bytes(self.ref.mem)


TestTLBModel = TLBModel.TestCase


# -- hand-checked cases --------------------------------------------------------------------


def test_identity_without_paging():
    mem, mmu = machine(cr0=CR0_PE)
    map_page(mem, 0x1000, 0x5000, PG_P)
    assert mmu.translate(0x1234, True, True) == 0x1234
    assert mmu.translate(0xFFFFFFFF, False, False) == 0xFFFFFFFF
    assert len(mmu.tlb) == 0
    assert mem.read_u32(PT0 + 4) == 0x5000 | PG_P  # nothing walked


def test_error_codes_of_the_reference_table():
    mem, mmu = machine(PAGING | CR0_WP)
    map_page(mem, 0x1000, 0x5000, PG_P)  # supervisor, read-only
    map_page(mem, 0x2000, 0x6000, PG_P | PG_US)  # user, read-only
    cases = [
        (0x3000, False, False, 0),  # read, not present, kernel
        (0x3000, True, False, 2),  # write, not present, kernel
        (0x1000, True, False, 3),  # write to read-only page, kernel, WP=1
        (0x3000, False, True, 4),  # user read, not present
        (0x1000, False, True, 5),  # user read of a supervisor page
        (0x3000, True, True, 6),  # user write, not present
        (0x2000, True, True, 7),  # user write to a read-only page
    ]
    for la, write, user, code in cases:
        pf = fault_of(mmu.translate, la + 0x10, write, user)
        assert (pf.cr2, pf.error_code) == (la + 0x10, code)
        assert mmu.cr2 == la + 0x10
    mmu.cr4 = CR4_PSE
    mem.write_u32(PD + 4, 0x0040_0000 | 1 << 21 | PG_PS | PG_P)
    pf = fault_of(mmu.translate, 0x0040_0000, False, False)
    assert pf.error_code == 9 == PF_P | PF_RSVD


def test_fetch_is_a_read_and_never_sets_id():
    mem, mmu = machine(PAGING | CR0_WP)
    map_page(mem, 0x1000, 0x5000, PG_P)  # supervisor only
    assert mmu.translate(0x1004, False, False, fetch=True) == 0x5004
    pf = fault_of(mmu.translate, 0x1004, False, True, True)
    assert pf.error_code == PF_P | PF_U
    pf = fault_of(mmu.translate, 0x7004, False, False, True)
    assert pf.error_code == 0


def test_wp_decides_supervisor_writes_to_read_only_pages():
    mem, mmu = machine(PAGING)
    map_page(mem, 0x1000, 0x5000, PG_P | PG_US)
    assert mmu.translate(0x1008, True, False) == 0x5008
    assert mem.read_u32(PT0 + 4) == 0x5000 | PG_P | PG_US | PG_A | PG_D
    mmu.cr0 = PAGING | CR0_WP  # applied at once, although WP does not flush the TLB
    assert 1 in mmu.tlb
    pf = fault_of(mmu.translate, 0x1008, True, False)
    assert pf.error_code == PF_P | PF_W
    assert mmu.translate(0x1008, False, False) == 0x5008
    mmu.cr0 = PAGING
    assert mmu.translate(0x1008, True, False) == 0x5008
    pf = fault_of(mmu.translate, 0x1008, True, True)
    assert pf.error_code == PF_P | PF_W | PF_U


def test_wp_checked_against_a_cached_dirty_read_only_entry():
    mem, mmu = machine(PAGING | CR0_WP)
    map_page(mem, 0x1000, 0x5000, PG_P | PG_US | PG_D)  # dirty already, read-only
    assert mmu.translate(0x1008, False, True) == 0x5008
    pf = fault_of(mmu.translate, 0x1008, True, False)
    assert pf.error_code == PF_P | PF_W


def test_accessed_and_dirty_bits():
    mem, mmu = machine()
    map_page(mem, 0x1000, 0x5000, PG_P | PG_RW | PG_US)
    assert mmu.translate(0x1000, False, True) == 0x5000
    assert mem.read_u32(PD) == PT0 | PG_P | PG_RW | PG_US | PG_A  # no D in a PDE->PT
    assert mem.read_u32(PT0 + 4) == 0x5000 | PG_P | PG_RW | PG_US | PG_A
    # A write hit on an entry cached clean walks again to set D.
    assert mmu.translate(0x1000, True, True) == 0x5000
    assert mem.read_u32(PT0 + 4) == 0x5000 | PG_P | PG_RW | PG_US | PG_A | PG_D
    assert mem.read_u32(PD) == PT0 | PG_P | PG_RW | PG_US | PG_A
    # Software clears A and D without invalidating: the TLB does not set them again.
    mem.write_u32(PT0 + 4, 0x5000 | PG_P | PG_RW | PG_US)
    assert mmu.translate(0x1000, True, True) == 0x5000
    assert mem.read_u32(PT0 + 4) == 0x5000 | PG_P | PG_RW | PG_US
    mmu.invlpg(0x1000)
    assert mmu.translate(0x1000, True, True) == 0x5000
    assert mem.read_u32(PT0 + 4) == 0x5000 | PG_P | PG_RW | PG_US | PG_A | PG_D


def test_pde_accessed_even_when_the_pte_faults_but_not_a_faulting_leaf():
    mem, mmu = machine(PAGING | CR0_WP)
    mem.write_u32(PD, PT0 | PG_P | PG_RW)
    fault_of(mmu.translate, 0x1000, False, False)
    assert mem.read_u32(PD) == PT0 | PG_P | PG_RW | PG_A
    mem.write_u32(PT0 + 8, 0x5000 | PG_P)
    fault_of(mmu.translate, 0x2000, True, False)
    assert mem.read_u32(PT0 + 8) == 0x5000 | PG_P
    mmu.cr4 = CR4_PSE
    big = 0x0080_0000 | PG_PS | PG_P | PG_US
    mem.write_u32(PD + 4, big)
    fault_of(mmu.translate, 0x0040_0000, True, True)  # 4 MiB leaf, read-only
    assert mem.read_u32(PD + 4) == big
    assert mmu.translate(0x0040_0000, False, True) == 0x0080_0000
    assert mem.read_u32(PD + 4) == big | PG_A


def test_4mib_pages():
    mem, mmu = machine(PAGING | CR0_WP, cr4=CR4_PSE)
    mem.write_u32(PD + 8, 0x0C00_0000 | PG_PS | PG_P | PG_RW | PG_US | 1 << 12)  # bit 12: PAT
    assert mmu.translate(0x0087_6543, True, True) == 0x0C07_6543
    assert (
        mem.read_u32(PD + 8) == 0x0C00_0000 | PG_PS | PG_P | PG_RW | PG_US | 1 << 12 | PG_A | PG_D
    )
    for b in range(13, 22):
        mem.write_u32(PD + 12, 0x0C00_0000 | 1 << b | PG_PS | PG_P | PG_RW)
        pf = fault_of(mmu.translate, 0x00C0_0000, True, False)
        assert pf.error_code == PF_P | PF_RSVD | PF_W, b
        assert mem.read_u32(PD + 12) == 0x0C00_0000 | 1 << b | PG_PS | PG_P | PG_RW


def test_ps_is_ignored_without_pse():
    mem, mmu = machine()
    mem.write_u32(PD, PT0 | PG_PS | PG_P | PG_RW | PG_US)
    mem.write_u32(PT0 + 4, 0x7000 | PG_P | PG_US)
    assert mmu.translate(0x1234, False, True) == 0x7234
    mmu.cr4 = CR4_PSE  # flushes; now the same PDE is a 4 MiB page with bit 13 set
    pf = fault_of(mmu.translate, 0x1234, False, True)
    assert pf.error_code == PF_P | PF_RSVD | PF_U


def test_tlb_is_stale_until_invlpg():
    mem, mmu = machine(PAGING | CR0_WP)
    map_page(mem, 0x1000, 0x5000, PG_P | PG_RW | PG_US)
    assert mmu.translate(0x1010, True, True) == 0x5010
    mem.write_u32(PT0 + 4, 0x6000 | PG_P | PG_US)  # new frame, read-only: no invalidation
    assert mmu.translate(0x1010, False, True) == 0x5010
    assert mmu.translate(0x1010, True, True) == 0x5010  # stale rights too
    mem.write_u32(PT0 + 4, 0)  # not present now; still stale
    assert mmu.translate(0x1010, True, False) == 0x5010
    mmu.invlpg(0x1FFF)
    pf = fault_of(mmu.translate, 0x1010, False, True)
    assert pf.error_code == PF_U


def test_cr3_write_flushes_and_switches_address_space():
    mem, mmu = machine()
    map_page(mem, 0x1000, 0x5000, PG_P | PG_US)
    mem.write_u32(PD2, PT1 | PG_P | PG_US | PG_RW)
    mem.write_u32(PT1 + 4, 0x8000 | PG_P | PG_US)
    assert mmu.translate(0x1000, False, True) == 0x5000
    mem.write_u32(PT0 + 4, 0x6000 | PG_P | PG_US)
    assert mmu.translate(0x1000, False, True) == 0x5000  # stale
    mmu.cr3 = PD  # the same directory: still a flush
    assert mmu.translate(0x1000, False, True) == 0x6000
    mmu.cr3 = PD2
    assert mmu.translate(0x1000, False, True) == 0x8000


@pytest.mark.parametrize("pge", [False, True])
def test_global_entries_survive_cr3_only_with_pge(pge):
    mem, mmu = machine(cr4=CR4_PGE if pge else 0)
    map_page(mem, 0x1000, 0x5000, PG_P | PG_RW | PG_G)
    assert mmu.translate(0x1000, False, False) == 0x5000
    assert mmu.translate(0x1000, True, False) == 0x5000  # walks again (clean) and refills
    assert mmu.tlb.get(1).glob is pge
    mem.write_u32(PT0 + 4, 0x6000 | PG_P | PG_G)
    mmu.cr3 = PD2  # PD2 is empty: a walk there would fault
    if pge:
        assert mmu.translate(0x1000, False, False) == 0x5000
        mmu.invlpg(0x1000)  # INVLPG drops global entries too
        pf = fault_of(mmu.translate, 0x1000, False, False)
        assert pf.error_code == 0
    else:
        pf = fault_of(mmu.translate, 0x1000, False, False)
        assert pf.error_code == 0


def test_pge_change_flushes_globals():
    mem, mmu = machine(cr4=CR4_PGE)
    map_page(mem, 0x1000, 0x5000, PG_P | PG_G)
    assert mmu.translate(0x1000, False, False) == 0x5000
    mem.write_u32(PT0 + 4, 0x6000 | PG_P | PG_G)
    mmu.cr4 = 0
    assert mmu.translate(0x1000, False, False) == 0x6000
    assert mmu.tlb.get(1).glob is False


def test_clearing_pg_flushes_everything():
    mem, mmu = machine(cr4=CR4_PGE)
    map_page(mem, 0x1000, 0x5000, PG_P | PG_G)
    assert mmu.translate(0x1000, False, False) == 0x5000
    mmu.cr0 = CR0_PE
    assert len(mmu.tlb) == 0
    mem.write_u32(PT0 + 4, 0x6000 | PG_P | PG_G)
    mmu.cr0 = PAGING
    assert mmu.translate(0x1000, False, False) == 0x6000


def test_page_fault_invalidates_the_faulting_page():
    mem, mmu = machine()
    map_page(mem, 0x1000, 0x5000, PG_P | PG_RW | PG_US)
    map_page(mem, 0x2000, 0x6000, PG_P | PG_RW | PG_US)
    assert mmu.translate(0x1000, False, True) == 0x5000
    assert mmu.translate(0x2000, False, True) == 0x6000
    mem.write_u32(PT0 + 4, 0x5000 | PG_P | PG_RW)  # now supervisor-only, not invalidated
    mem.write_u32(PT0 + 8, 0x6000 | PG_P | PG_RW)
    assert mmu.translate(0x1000, False, True) == 0x5000  # stale hit
    # The write must walk (the entry is clean), the walk faults, the #PF drops the entry.
    pf = fault_of(mmu.translate, 0x1000, True, True)
    assert pf.error_code == PF_P | PF_W | PF_U
    assert 1 not in mmu.tlb
    pf = fault_of(mmu.translate, 0x1000, False, True)
    assert pf.error_code == PF_P | PF_U
    assert mmu.translate(0x2000, False, True) == 0x6000  # other pages stay stale


def test_rights_granted_without_invalidation_are_seen_at_once():
    mem, mmu = machine(PAGING | CR0_WP)
    map_page(mem, 0x1000, 0x5000, PG_P | PG_US)
    assert mmu.translate(0x1000, False, True) == 0x5000
    mem.write_u32(PT0 + 4, 0x5000 | PG_P | PG_US | PG_RW | PG_A)
    assert mmu.translate(0x1000, True, True) == 0x5000  # re-walked, not a spurious #PF


def test_invlpg_drops_every_fragment_of_a_4mib_page():
    mem, mmu = machine(cr4=CR4_PSE)
    mem.write_u32(PD + 4, 0x0080_0000 | PG_PS | PG_P | PG_US)
    assert mmu.translate(0x0040_1000, False, True) == 0x0080_1000
    assert mmu.translate(0x0070_0000, False, True) == 0x00B0_0000
    assert len(mmu.tlb) == 2
    mem.write_u32(PD + 4, 0x0C00_0000 | PG_PS | PG_P | PG_US)
    mmu.invlpg(0x0055_5555)  # a page of the 4 MiB page that was never touched
    assert len(mmu.tlb) == 0
    assert mmu.translate(0x0040_1000, False, True) == 0x0C00_1000


def test_tlb_capacity_empties_it():
    mem = PhysicalMemory(MEM_SIZE)
    mmu = MMU(mem, tlb_capacity=4)
    mmu.cr3 = PD
    mmu.cr0 = PAGING
    assert mmu.tlb.capacity == 4
    mem.write_u32(PD, PT0 | PG_P | PG_RW | PG_US)
    for i in range(6):
        mem.write_u32(PT0 + 4 * i, (0x10 + i) << 12 | PG_P)
        assert mmu.translate(i << 12, False, False) == (0x10 + i) << 12
    assert sorted(mmu.tlb.entries) == [4, 5]


def test_control_register_checks():
    _, mmu = machine(cr0=0)
    with pytest.raises(ValueError, match="PE"):
        mmu.cr0 = CR0_PG
    with pytest.raises(ValueError, match="PAE"):
        mmu.cr4 = CR4_PAE
    with pytest.raises(ValueError):
        mmu.cr3 = 1 << 32
    with pytest.raises(ValueError):
        mmu.translate(1 << 32, False, False)
    with pytest.raises(ValueError):
        mmu.translate(-1, False, False)
    with pytest.raises(ValueError):
        mmu.invlpg(1 << 32)
    assert (mmu.cr0, mmu.cr3, mmu.cr4, mmu.paging) == (0, PD, 0, False)


def test_walk_beyond_memory_is_a_bus_error():
    mem, mmu = machine(cr3=0x0100_0000)
    with pytest.raises(BusError) as info:
        mmu.translate(0x1000, False, False)
    assert info.value.paddr == 0x0100_0000
    mmu.cr3 = PD
    mem.write_u32(PD, 0x0200_0000 | PG_P | PG_RW)
    with pytest.raises(BusError) as info:
        mmu.walk(PD, 0x3000, False)
    assert info.value.paddr == 0x0200_0000 + 12


def test_page_fault_str_and_fields():
    pf = PageFault(0x804_8000, PF_P | PF_W | PF_U)
    assert (pf.cr2, pf.error_code, pf.present, pf.write, pf.user) == (
        0x804_8000,
        7,
        True,
        True,
        True,
    )
    assert str(pf) == "page fault at 0x08048000: user write, protection (error code 0x7)"
