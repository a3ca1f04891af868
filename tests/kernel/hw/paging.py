"""An independent reference of 32-bit x86 paging, written straight from the Intel SDM.

It shares no code with kernel.hw.mmu: memory is a dict of 32-bit words, every rule is
spelled out in the order SDM vol. 3A ch. 4 gives it, and the TLB model follows the
reference pseudo-code (minix-kernel-vm-x86.md §5.7). Tests compare the MMU against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

P, RW, US, A, D, PS, G = 1, 2, 4, 0x20, 0x40, 0x80, 0x100


def bit(value: int, n: int) -> int:
    return (value >> n) & 1


def allowed(us: int, rw: int, write: bool, user: bool, wp: bool) -> bool:
    """SDM 4.6 with SMEP/SMAP off and no NX (reference §5.3)."""
    if user:
        return bool(us) and (bool(rw) or not write)
    return (not write) or bool(rw) or not wp


@dataclass
class Fault:
    code: int


@dataclass
class Leaf:
    pa: int  # physical address of the byte
    us: int
    rw: int
    dirty: int
    g: int
    large: bool


@dataclass
class Mem:
    """Physical memory as a dict of aligned 32-bit words (missing words read 0)."""

    words: dict[int, int] = field(default_factory=dict)

    def rd(self, addr: int) -> int:
        assert addr % 4 == 0
        return self.words.get(addr, 0)

    def wr(self, addr: int, value: int) -> None:
        self.words[addr] = value


def ref_walk(mem: Mem, cr0_wp: bool, cr3: int, cr4_pse: bool, la: int, write: bool, user: bool):
    """One access through the tables at cr3. Returns Leaf or Fault; A/D written to mem."""
    wu = (2 if write else 0) | (4 if user else 0)
    pde_addr = (cr3 & 0xFFFFF000) | ((la >> 22) << 2)
    pde = mem.rd(pde_addr)
    if bit(pde, 0) == 0:
        return Fault(wu)
    if cr4_pse and bit(pde, 7) == 1:
        # 4 MiB page (SDM table 4-4); bits 21:13 reserved since there is no PSE-36.
        for b in range(13, 22):
            if bit(pde, b):
                return Fault(wu | 1 | 8)
        us, rw = bit(pde, 2), bit(pde, 1)
        if not allowed(us, rw, write, user, cr0_wp):
            return Fault(wu | 1)
        mem.wr(pde_addr, pde | A | (D if write else 0))
        return Leaf(
            (pde & 0xFFC00000) | (la & 0x3FFFFF),
            us,
            rw,
            bit(mem.rd(pde_addr), 6),
            bit(pde, 8),
            True,
        )
    # PDE references a page table: it is used, so A is set in it.
    mem.wr(pde_addr, pde | A)
    pde = mem.rd(pde_addr)
    pte_addr = (pde & 0xFFFFF000) | (((la >> 12) & 0x3FF) << 2)
    pte = mem.rd(pte_addr)
    if bit(pte, 0) == 0:
        return Fault(wu)
    us = bit(pde, 2) & bit(pte, 2)
    rw = bit(pde, 1) & bit(pte, 1)
    if not allowed(us, rw, write, user, cr0_wp):
        return Fault(wu | 1)
    mem.wr(pte_addr, pte | A | (D if write else 0))
    return Leaf(
        (pte & 0xFFFFF000) | (la & 0xFFF), us, rw, bit(mem.rd(pte_addr), 6), bit(pte, 8), False
    )


@dataclass
class RefEntry:
    frame: int  # 4 KiB frame base of the page
    us: int
    rw: int
    dirty: int
    glob: bool
    large: bool


class RefMachine:
    """The reference CPU: control registers, memory and a TLB per the §5.7 pseudo-code."""

    def __init__(self, mem: Mem) -> None:
        self.mem = mem
        self.pg = False
        self.wp = False
        self.pse = False
        self.pge = False
        self.cr3 = 0
        self.cr2 = 0
        self.tlb: dict[int, RefEntry] = {}

    def set_cr3(self, value: int) -> None:
        self.cr3 = value
        self.tlb = {k: e for k, e in self.tlb.items() if e.glob}

    def set_cr4(self, pse: bool, pge: bool) -> None:
        if pse != self.pse or pge != self.pge:
            self.tlb = {}
        self.pse, self.pge = pse, pge

    def set_cr0(self, pg: bool, wp: bool) -> None:
        if self.pg and not pg:
            self.tlb = {}
        self.pg, self.wp = pg, wp

    def invalidate(self, vpn: int) -> None:
        # INVLPG / #PF: the page, and every cached fragment of a 4 MiB page holding it.
        self.tlb.pop(vpn, None)
        for k in [k for k, e in self.tlb.items() if e.large and k >> 10 == vpn >> 10]:
            del self.tlb[k]

    def access(self, la: int, write: bool, user: bool):
        """Returns the physical address or a Fault."""
        if not self.pg:
            return la
        vpn = la >> 12
        e = self.tlb.get(vpn)
        # A hit with rights that allow the access, unless it is a write to a clean entry
        # (the walk sets D); anything else walks again.
        if e is not None and allowed(e.us, e.rw, write, user, self.wp) and (e.dirty or not write):
            return e.frame | (la & 0xFFF)
        r = ref_walk(self.mem, self.wp, self.cr3, self.pse, la, write, user)
        if isinstance(r, Fault):
            self.cr2 = la
            self.invalidate(vpn)
            return r
        self.tlb[vpn] = RefEntry(
            r.pa & 0xFFFFF000, r.us, r.rw, r.dirty, bool(self.pge and r.g), r.large
        )
        return r.pa
