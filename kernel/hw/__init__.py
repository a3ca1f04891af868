"""kernel.hw: the simulated machine's memory and paging hardware.

- :mod:`kernel.hw.physmem`: :class:`PhysicalMemory`, RAM as a byte array of 4 KiB frames.
- :mod:`kernel.hw.mmu`: the :class:`MMU`, 32-bit x86 paging without PAE, bit-exact to the
  Intel SDM (control registers, two-level walk, rights, A/D flags, :class:`PageFault`).
- :mod:`kernel.hw.tlb`: the MMU's translation cache and its invalidation rules.
- :mod:`kernel.hw.copy`: the copy engine the kernel's vircopy/safecopy build on.
- :mod:`kernel.hw.rtc`: the real-time clock the kernel reads the boot time from.
- :mod:`kernel.hw.console`: the :class:`Console`, a :class:`Keyboard` the host types into
  (IRQ :data:`KEYBOARD_IRQ`) and a :class:`Screen` the TTY driver writes to.

Everything above this package sees the machine only through these names.
"""

from kernel.hw.console import (
    KEYBOARD_IRQ,
    RESIZE_IRQ,
    Console,
    Keyboard,
    Screen,
)
from kernel.hw.copy import CopyFault, copy_virt, memset_virt, read_virt, write_virt
from kernel.hw.mmu import (
    CR0_PE,
    CR0_PG,
    CR0_WP,
    CR3_PCD,
    CR3_PWT,
    CR4_PAE,
    CR4_PGE,
    CR4_PSE,
    MMU,
    PDE_4M_FRAME,
    PDE_4M_RSVD,
    PF_I,
    PF_P,
    PF_RSVD,
    PF_U,
    PF_W,
    PG_A,
    PG_D,
    PG_FRAME,
    PG_G,
    PG_P,
    PG_PAT,
    PG_PCD,
    PG_PS,
    PG_PWT,
    PG_RW,
    PG_US,
    PageFault,
)
from kernel.hw.physmem import FRAME_SHIFT, FRAME_SIZE, BusError, PhysicalMemory
from kernel.hw.tlb import TLB, TLBEntry

__all__ = [
    "CR0_PE",
    "CR0_PG",
    "CR0_WP",
    "CR3_PCD",
    "CR3_PWT",
    "CR4_PAE",
    "CR4_PGE",
    "CR4_PSE",
    "FRAME_SHIFT",
    "FRAME_SIZE",
    "KEYBOARD_IRQ",
    "MMU",
    "PDE_4M_FRAME",
    "PDE_4M_RSVD",
    "PF_I",
    "PF_P",
    "PF_RSVD",
    "PF_U",
    "PF_W",
    "PG_A",
    "PG_D",
    "PG_FRAME",
    "PG_G",
    "PG_P",
    "PG_PAT",
    "PG_PCD",
    "PG_PS",
    "PG_PWT",
    "PG_RW",
    "PG_US",
    "RESIZE_IRQ",
    "TLB",
    "BusError",
    "Console",
    "CopyFault",
    "Keyboard",
    "PageFault",
    "PhysicalMemory",
    "Screen",
    "TLBEntry",
    "copy_virt",
    "memset_virt",
    "read_virt",
    "write_virt",
]
