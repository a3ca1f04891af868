"""VM benchmarks: anonymous page faults, and copy-on-write fork against an eager copy.

Each run boots a bare kernel over simulated memory with the real VM server, a
privileged stand-in for PM (it gives the user process an address space and forks
it) and one user process, then times the operation from inside the simulation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio

from asynix.bench import benchmark
from kernel.com import PM_PROC_NR, VM_PROC_NR
from kernel.endpoint import ANY, NONE
from kernel.hw import CR0_PE, CR0_PG, CR0_WP, MMU, PhysicalMemory
from kernel.kernel import Kernel
from kernel.message import Message, Reply
from kernel.priv import USER_PRIV
from vm.protocol import (
    MAP_ANON,
    MAP_PRIVATE,
    PROT_READ,
    PROT_WRITE,
    VmExecNew,
    VmExit,
    VmFork,
    VmMmap,
)
from vm.server import make_vm

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from kernel.process import Process

_PAGE = 4096
_FORK_BYTES = 8 * 2**20


@dataclass(slots=True)
class _Ready(Message):
    """The user process has set up its memory; PM may start timing."""

    addr: int


async def _machine(
    memory: int,
    user: Callable[[Process], Awaitable[None]],
    pm: Callable[[Process, int], Awaitable[float]],
) -> float:
    """Boot, start ``user`` with an address space, run ``pm(proc, user_ep)``: its seconds."""
    physmem = PhysicalMemory(memory)
    mmu = MMU(physmem)
    mmu.cr0 = CR0_PE | CR0_PG | CR0_WP
    done = anyio.Event()
    elapsed = 0.0

    async def pm_main(p: Process) -> None:
        nonlocal elapsed
        child = p.kernel.spawn(
            "user", user, priv=USER_PRIV.allowing(VM_PROC_NR, PM_PROC_NR), stopped=True
        )
        await p.sendrec(VM_PROC_NR, VmExecNew(child.endpoint))
        p.kernel.resume(child)
        try:
            elapsed = await pm(p, child.endpoint)
        finally:
            done.set()

    async with Kernel(physmem, mmu) as k:
        k.vm_endpoint = k.spawn("vm", make_vm(), slot=VM_PROC_NR).endpoint
        k.spawn("pm", pm_main, slot=PM_PROC_NR)
        await done.wait()
        k.shutdown()
    return elapsed


async def _map(p: Process, length: int) -> int:
    r = await p.sendrec(
        VM_PROC_NR, VmMmap(0, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON)
    )
    addr: int = r.value  # type: ignore[attr-defined]
    return addr


@benchmark("vm.fault", ops=4000, kind="rate", unit="faults/s", goal=">= 20,000/s")
async def _fault(n: int) -> float:
    """Anonymous zero-fill faults: a user process writes one byte to each of ``n`` pages."""
    out = 0.0

    async def user(p: Process) -> None:
        nonlocal out
        addr = await _map(p, n * _PAGE)
        start = time.perf_counter()
        for va in range(addr, addr + n * _PAGE, _PAGE):
            await p.poke(va, b"x")
        out = time.perf_counter() - start
        await p.sendrec(PM_PROC_NR, _Ready(addr))

    async def pm(p: Process, user_ep: int) -> float:
        await p.receive(user_ep)
        await p.send(user_ep, Reply())
        return out

    return await _machine(n * _PAGE + 16 * 2**20, user, pm)


def _fork_bench(eager: bool) -> Callable[[int], Awaitable[float]]:
    async def run(n: int) -> float:
        """``n`` forks of a process with 8 MiB written, timed at PM (VmFork round trips)."""

        async def user(p: Process) -> None:
            addr = await _map(p, _FORK_BYTES)
            for va in range(addr, addr + _FORK_BYTES, _PAGE):
                await p.poke(va, b"y")
            await p.sendrec(PM_PROC_NR, _Ready(addr))

        async def pm(p: Process, user_ep: int) -> float:
            await p.receive(user_ep)
            total = 0.0
            for i in range(n):
                child = p.kernel.spawn(
                    f"child{i}", _idle, priv=USER_PRIV, stopped=True, sig_mgr=NONE
                )
                start = time.perf_counter()
                await p.sendrec(VM_PROC_NR, VmFork(user_ep, child.endpoint, eager=eager))
                total += time.perf_counter() - start
                await p.sendrec(VM_PROC_NR, VmExit(child.endpoint))
                await p.clear(child.endpoint)
            await p.send(user_ep, Reply())
            return total

        return await _machine(3 * _FORK_BYTES + 16 * 2**20, user, pm)

    return run


async def _idle(p: Process) -> None:
    await p.receive(ANY)


benchmark("vm.fork_cow", ops=20, kind="latency", unit="us/fork", goal=">= 10x faster than eager")(
    _fork_bench(eager=False)
)
benchmark("vm.fork_eager", ops=20, kind="latency", unit="us/fork")(_fork_bench(eager=True))
