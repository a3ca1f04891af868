"""VM's operations without a kernel: a Vm over bare memory and a user-mode CPU stand-in.

The operation modules are synchronous, so most of VM's behaviour is tested here,
quickly: ``access`` plays the CPU (a user-mode walk of the page tables) and, on a
page fault, VM's fault handler, as the kernel and the server would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kernel.hw import CR0_PE, CR0_PG, CR0_WP, CR4_PSE, MMU, PageFault, PhysicalMemory
from vm import fault, fork, mmap
from vm.check import check
from vm.errors import VmError
from vm.protocol import MAP_ANON, MAP_PRIVATE, PROT_READ, PROT_WRITE, VmMmap
from vm.state import Vm

if TYPE_CHECKING:
    from vm.region import AddressSpace

RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANON
MiB = 2**20


class Segv(Exception):
    """The access would have killed the process with SIGSEGV."""


@dataclass
class Box:
    vm: Vm
    mmu: MMU

    def space(self, ep: int = 100) -> AddressSpace:
        return fork.exec_new(self.vm, ep, f"p{ep}")

    def mmap(
        self,
        sp: AddressSpace,
        length: int,
        prot: int = RW,
        flags: int = ANON,
        addr: int = 0,
        **kw: int,
    ) -> int:
        m = VmMmap(addr, length, prot, flags, **kw)
        assert not mmap.validate_mmap(m)
        return mmap.mmap_anon(self.vm, sp, m)

    def _pieces(self, sp: AddressSpace, va: int, n: int, write: bool) -> list[tuple[int, int]]:
        out = []
        done = 0
        while done < n:
            a = va + done
            chunk = min(n - done, 4096 - (a & 0xFFF))
            while True:
                try:
                    pa = self.mmu.walk(sp.pd, a, write, True)
                    break
                except PageFault:
                    try:
                        fault.touch(self.vm, sp, a, write)
                    except VmError as exc:
                        raise Segv(hex(a)) from exc
            out.append((pa, chunk))
            done += chunk
        return out

    def read(self, sp: AddressSpace, va: int, n: int) -> bytes:
        view = self.vm.view
        return b"".join(bytes(view[pa : pa + c]) for pa, c in self._pieces(sp, va, n, False))

    def write(self, sp: AddressSpace, va: int, data: bytes) -> None:
        view = self.vm.view
        done = 0
        for pa, c in self._pieces(sp, va, len(data), True):
            view[pa : pa + c] = data[done : done + c]
            done += c

    def ok(self) -> None:
        problems = check(self.vm)
        assert problems == [], "\n".join(problems)


def box(memory: int = 8 * MiB, reserved: int = 256, pse: bool = False) -> Box:
    mem = PhysicalMemory(memory)
    mmu = MMU(mem)
    mmu.cr0 = CR0_PE | CR0_PG | CR0_WP
    if pse:
        mmu.cr4 = CR4_PSE
    return Box(Vm(mem, reserved, pse), mmu)
