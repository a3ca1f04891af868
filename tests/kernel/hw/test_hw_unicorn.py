"""Differential test of the MMU against a real x86 emulator (Unicorn, i.e. QEMU's TCG).

Runs only where the ``unicorn`` package is installed (it is not a project dependency).
Each example builds the same page tables in the emulator and in :class:`kernel.hw.MMU`,
executes one supervisor ``mov`` through the test mapping, and compares: fault or not, CR2,
the physical address used, and the paging entries afterwards (A/D bits). Unicorn reports a
#PF to the interrupt hook without its error code, and running at CPL 3 needs a GDT, a TSS
and an IDT, so error codes and user-mode accesses are covered by the SDM reference tests
instead. The reserved bits of a 4 MiB PDE are kept clear except bit 21, the only one QEMU
treats as reserved (it implements PSE-36; this model has no PSE-36, see kernel.hw.mmu).
"""

from __future__ import annotations

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from kernel.hw import (
    CR0_PE,
    CR0_PG,
    CR0_WP,
    CR4_PSE,
    MMU,
    PG_A,
    PG_D,
    PG_P,
    PG_PS,
    PG_RW,
    PageFault,
    PhysicalMemory,
)

unicorn = pytest.importorskip("unicorn")
x86 = pytest.importorskip("unicorn.x86_const")

MEM = 8 << 20
PD, PT_K, PT_T = 0x1000, 0x2000, 0x3000
CODE_READ, CODE_WRITE = 0x10000, 0x10010  # never rewritten: no stale translated blocks
READ = b"\x8b\x03"  # mov eax, [ebx]
WRITE = b"\x89\x03"  # mov [ebx], eax
MARK = 0xCAFEBABE


def initial_memory() -> bytearray:
    """Every data word holds its own address, so a load tells where it read from."""
    words = bytearray(b"".join(a.to_bytes(4, "little") for a in range(0, 0x10000, 4)))
    mem = words * (MEM // 0x10000)
    for a in range(0x10000, MEM, 0x10000):  # fix up the high halves of the pattern
        mem[a : a + 0x10000] = b"".join(x.to_bytes(4, "little") for x in range(a, a + 0x10000, 4))
    mem[0:0x4000] = bytes(0x4000)  # page directory and page tables start empty
    # PDE 0 maps the code page (identity, supervisor, already accessed and dirty).
    mem[PD : PD + 4] = (PT_K | PG_P | PG_RW | PG_A).to_bytes(4, "little")
    k = PT_K + (CODE_READ >> 12) * 4
    mem[k : k + 4] = (CODE_READ | PG_P | PG_RW | PG_A | PG_D).to_bytes(4, "little")
    mem[CODE_READ : CODE_READ + 2] = READ
    mem[CODE_WRITE : CODE_WRITE + 2] = WRITE
    return mem


_PATTERN = initial_memory()


class Emulator:
    """One Unicorn instance, reused (creating one costs tens of milliseconds)."""

    def __init__(self) -> None:
        self.uc = unicorn.Uc(unicorn.UC_ARCH_X86, unicorn.UC_MODE_32)
        self.uc.mem_map(0, MEM)
        self.interrupts: list[int] = []
        self.uc.hook_add(unicorn.UC_HOOK_INTR, self._on_interrupt)
        # The hook stops emulation before the #PF is delivered, which leaves the CPU
        # believing it is still delivering one (the next #PF would become a #DF): every
        # run starts again from this pristine CPU state.
        self.reset = self.uc.context_save()

    def _on_interrupt(self, uc, intno, _data):
        self.interrupts.append(intno)
        uc.emu_stop()

    def run(self, mem: bytes, cr0: int, cr4: int, la: int, write: bool) -> None:
        uc = self.uc
        self.interrupts.clear()
        uc.context_restore(self.reset)
        uc.reg_write(x86.UC_X86_REG_CR0, 0x11)  # paging off: flushes the emulator's TLB
        uc.mem_write(0, mem)
        uc.reg_write(x86.UC_X86_REG_CR4, cr4)
        uc.reg_write(x86.UC_X86_REG_CR3, PD)
        uc.reg_write(x86.UC_X86_REG_CR0, cr0 | 0x10)  # ET, as the emulator keeps it
        uc.reg_write(x86.UC_X86_REG_CR2, 0)
        uc.reg_write(x86.UC_X86_REG_EBX, la)
        uc.reg_write(x86.UC_X86_REG_EAX, MARK)
        code = CODE_WRITE if write else CODE_READ
        uc.emu_start(code, code + 2, count=1)


_EMULATOR: list[Emulator] = []


def emulator() -> Emulator:
    if not _EMULATOR:
        _EMULATOR.append(Emulator())
    return _EMULATOR[0]


@given(
    wp=st.booleans(),
    pse=st.booleans(),
    big=st.booleans(),
    pde_low=st.integers(0, 0xFFF),
    big_frame=st.sampled_from([0, 0x40_0000]),
    rsvd21=st.booleans(),
    pte=st.integers(0, 0xFFFFFFFF).map(lambda v: v & 0x007F_FFFF),
    pti=st.integers(0, 0x3FF),
    off=st.integers(0, 0x3FF).map(lambda v: v * 4),
    write=st.booleans(),
)
@settings(max_examples=150)
def test_supervisor_access_matches_unicorn(
    wp, pse, big, pde_low, big_frame, rsvd21, pte, pti, off, write
):
    if big and pse:
        pde = big_frame | (1 << 21 if rsvd21 else 0) | pde_low | PG_PS
    else:
        pde = PT_T | pde_low & ~(PG_PS if pse else 0)  # with PSE=0, PS stays (ignored)
    la = 0x0040_0000 | pti << 12 | off
    mem = bytearray(_PATTERN)
    mem[PD + 4 : PD + 8] = pde.to_bytes(4, "little")
    t = PT_T + pti * 4
    mem[t : t + 4] = pte.to_bytes(4, "little")
    note(f"pde={pde:#x} pte={pte:#x} la={la:#x} write={write} wp={wp} pse={pse}")

    cr0 = CR0_PE | CR0_PG | (CR0_WP if wp else 0)
    cr4 = CR4_PSE if pse else 0

    # The model.
    phys = PhysicalMemory(MEM)
    phys.write(0, mem)
    mmu = MMU(phys)
    mmu.cr4 = cr4
    mmu.cr3 = PD
    mmu.cr0 = cr0
    try:
        pa = mmu.translate(la, write, False)
        fault = None
    except PageFault as pf:
        pa, fault = None, pf.cr2

    # The emulator.
    emu = emulator()
    emu.run(bytes(mem), cr0, cr4, la, write)
    uc, interrupts = emu.uc, emu.interrupts

    if fault is None:
        assert interrupts == []
        if write:
            assert uc.mem_read(pa, 4) == MARK.to_bytes(4, "little")
            phys.write_u32(pa, MARK)  # the store itself (it may land in a paging structure)
        else:
            assert uc.reg_read(x86.UC_X86_REG_EAX) == int.from_bytes(phys.read(pa, 4), "little")
    else:
        assert interrupts == [14]
        assert uc.reg_read(x86.UC_X86_REG_CR2) == fault == mmu.cr2
    # The paging structures, A and D bits included, are identical.
    assert bytes(uc.mem_read(PD, 0x3000)) == phys.read(PD, 0x3000)
