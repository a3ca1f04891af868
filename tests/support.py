"""Helpers for tests that run simulated processes on a bare kernel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from kernel.message import Message
from kernel.priv import SYSTEM_PRIV, Priv

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from kernel.kernel import Kernel
    from kernel.proc import Proc
    from kernel.process import Process


@dataclass(slots=True)
class Ping(Message):
    n: int = 0


class Sim:
    """Spawn processes on a kernel and wait for them to finish, collecting results."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        self.results: dict[str, Any] = {}
        self.errors: dict[str, BaseException] = {}
        self.log: list[Any] = []
        self._done: dict[str, anyio.Event] = {}

    def spawn(
        self,
        name: str,
        fn: Callable[[Process], Awaitable[Any]],
        *,
        priv: Priv = SYSTEM_PRIV,
        slot: int | None = None,
        sig_mgr: int | None = None,
        catch: bool = True,
    ) -> Proc:
        done = self._done[name] = anyio.Event()

        async def body(p: Process) -> Any:
            try:
                self.results[name] = await fn(p)
            except Exception as exc:
                self.errors[name] = exc
                if not catch:
                    raise
            finally:
                done.set()

        from kernel.endpoint import NONE

        return self.k.spawn(
            name, body, priv=priv, slot=slot, sig_mgr=NONE if sig_mgr is None else sig_mgr
        )

    async def wait(self, *names: str) -> None:
        for name in names:
            await self._done[name].wait()


class Machine:
    """A small machine for kernel tests: physical memory, an MMU, and page tables built by hand.

    Tests only: the real page tables belong to the VM server.
    """

    def __init__(self, size: int = 8 * 2**20) -> None:
        from kernel.hw import CR0_PE, CR0_PG, CR0_WP, MMU, PhysicalMemory

        self.physmem = PhysicalMemory(size)
        self.mmu = MMU(self.physmem)
        self.mmu.cr0 = CR0_PE | CR0_PG | CR0_WP
        self._next = 1 << 20

    def frame(self) -> int:
        f = self._next
        self._next += 4096
        self.physmem.zero(f, 4096)
        return f

    def space(self) -> int:
        """A new, empty page directory; returns its CR3."""
        return self.frame()

    def map(self, cr3: int, va: int, *, writable: bool = True, user: bool = True) -> int:
        from kernel.hw import PG_FRAME, PG_P, PG_RW, PG_US

        pde_at = (cr3 & PG_FRAME) + (va >> 22) * 4
        pde = self.physmem.read_u32(pde_at)
        if not pde & PG_P:
            pde = self.frame() | PG_P | PG_RW | PG_US
            self.physmem.write_u32(pde_at, pde)
        pte_at = (pde & PG_FRAME) + ((va >> 12) & 0x3FF) * 4
        f = self.frame()
        flags = PG_P | (PG_RW if writable else 0) | (PG_US if user else 0)
        self.physmem.write_u32(pte_at, f | flags)
        return f

    def pte(self, cr3: int, va: int) -> int:
        from kernel.hw import PG_FRAME, PG_P

        pde = self.physmem.read_u32((cr3 & PG_FRAME) + (va >> 22) * 4)
        if not pde & PG_P:
            return 0
        return self.physmem.read_u32((pde & PG_FRAME) + ((va >> 12) & 0x3FF) * 4)

    def set_pte(self, cr3: int, va: int, value: int) -> None:
        from kernel.hw import PG_FRAME

        pde = self.physmem.read_u32((cr3 & PG_FRAME) + (va >> 22) * 4)
        self.physmem.write_u32((pde & PG_FRAME) + ((va >> 12) & 0x3FF) * 4, value)

    def poke(self, cr3: int, va: int, data: bytes) -> None:
        from kernel.hw import write_virt

        write_virt(self.mmu, cr3, va, data)

    def peek(self, cr3: int, va: int, n: int) -> bytes:
        from kernel.hw import read_virt

        return read_virt(self.mmu, cr3, va, n)


def vm_standin(machine: Machine, lazy: dict[int, tuple[int, int]], served: list[Any]) -> Any:
    """A test-only VM: maps missing pages of ``lazy[cr3] = (start, end)`` ranges on request.

    Speaks the kernel's VM protocol: a SIGKMEM notification, then get/reply memory
    requests. Pages outside a lazy range are refused with EFAULT; a write request on a
    present read-only page in the range makes it writable (a COW break stand-in).
    """
    import errno

    from kernel.endpoint import ANY as _ANY
    from kernel.hw import PG_P, PG_RW

    async def vm(p: Process) -> None:
        import signal

        from kernel.vmmsg import VmPagefault

        while True:
            msg = await p.receive(_ANY)
            if isinstance(msg, VmPagefault):
                target = p.kernel.lookup(msg.m_source)
                start, end = lazy.get(target.cr3 or -1, (0, 0))
                ok = start <= msg.addr < end
                served.append(("pf", target.name, msg.addr, msg.flags, p.status, ok))
                if ok:
                    pte = machine.pte(target.cr3, msg.addr)
                    if not pte & PG_P:
                        machine.map(target.cr3, msg.addr & ~0xFFF)
                    else:
                        machine.set_pte(target.cr3, msg.addr, pte | PG_RW)
                    p.kernel.mmu.invlpg(msg.addr)
                    await p.vmctl_clear_pagefault(msg.m_source)
                else:
                    await p.kill(msg.m_source, signal.SIGSEGV)
                continue
            while (req := await p.vmctl_get_memreq()) is not None:
                cr3 = req.target.cr3
                start, end = lazy.get(cr3, (0, 0)) if cr3 is not None else (0, 0)
                ok = start <= req.addr and req.addr + req.length <= end
                served.append((req.target.name, req.addr, req.length, req.write, ok))
                if ok:
                    first = req.addr & ~0xFFF
                    for va in range(first, req.addr + req.length, 4096):
                        pte = machine.pte(cr3, va)
                        if not pte & PG_P:
                            machine.map(cr3, va)
                        elif req.write and not pte & PG_RW:
                            machine.set_pte(cr3, va, pte | PG_RW)
                await p.vmctl_reply_memreq(req, 0 if ok else errno.EFAULT)

    return vm


class _Unit:
    """The length of one "tick" in tests that run on both backends.

    On trio with virtual time a tick is a second (free); on asyncio, which has no
    virtual clock, it is a few milliseconds of real time.
    """

    s = 1.0


UNIT = _Unit()


def both_backends(fn: Callable[[], Awaitable[None]]) -> Callable[[str], None]:
    """Run an async test on trio with virtual time and on asyncio (DESIGN: anyio-portable)."""
    import pytest
    import trio
    from trio.testing import MockClock

    @pytest.mark.parametrize("backend", ["trio", "asyncio"])
    def wrapper(backend: str) -> None:
        if backend == "trio":
            trio.run(fn, clock=MockClock(autojump_threshold=0))
            return
        UNIT.s = 0.003
        try:
            anyio.run(fn, backend="asyncio")
        finally:
            UNIT.s = 1.0

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper
