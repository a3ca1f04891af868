"""A machine with the real VM server, a stand-in PM and helpers for VM tests.

``async with booted() as h:`` gives a kernel over simulated memory with VM at its slot,
a reaper at PM's slot (the signal manager of user processes: it frees a dead process's
memory with VmExit and releases its slot, as PM will) and helpers to start user
processes with an address space of their own. Test logic that needs privileges runs
in a system process: ``await h.run(driver)``. Inside the simulation nothing may wait on
anyio objects (the kernel owns the CPU), so waiting there polls with kernel sleeps.
"""

from __future__ import annotations

import signal
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from kernel.com import PM_PROC_NR, VFS_PROC_NR, VM_PROC_NR
from kernel.endpoint import ANY, NONE, SYSTEM
from kernel.hw import CR4_PSE
from kernel.kernel import Kernel
from kernel.message import Notify
from kernel.priv import USER_PRIV
from tests.support import Machine
from vm.check import check
from vm.protocol import (
    MAP_ANON,
    MAP_PRIVATE,
    MAP_SHARED,
    PROT_READ,
    PROT_WRITE,
    VfsVmReply,
    VmExecNew,
    VmExit,
    VmFork,
    VmMmap,
    VmReply,
    VmVfsClose,
    VmVfsOpen,
    VmVfsRead,
)
from vm.server import make_vm

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from kernel.proc import Proc
    from kernel.process import Process
    from vm.server import VmMain, VmServer
    from vm.state import Vm

VM = VM_PROC_NR
USER = USER_PRIV.allowing(VM_PROC_NR)
RW = PROT_READ | PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANON
SHARED_ANON = MAP_SHARED | MAP_ANON
MiB = 2**20


@dataclass
class Harness:
    k: Kernel
    machine: Machine
    vm_main: VmMain
    results: dict[str, Any]
    errors: dict[str, BaseException]
    deaths: dict[int, int]
    names: dict[int, str]
    notes: dict[str, Any]
    """Scratch space tests share between their processes."""

    @property
    def server(self) -> VmServer:
        assert self.vm_main.server is not None
        return self.vm_main.server

    @property
    def vm(self) -> Vm:
        return self.vm_main.vm

    def check(self) -> list[str]:
        """The invariant checker's report (call only while VM waits for a message)."""
        return check(self.vm)

    def spawn(self, name: str, fn: Callable[[Process], Awaitable[Any]], **kw: Any) -> Proc:
        """Start ``fn`` as a process now; its result or exception is recorded by name."""

        async def body(p: Process) -> None:
            try:
                self.results[name] = await fn(p)
            except Exception as exc:
                self.errors[name] = exc
                raise

        kw.setdefault("sig_mgr", PM_PROC_NR)
        if kw.get("slot") is None:
            # Low slots are the boot image's (VFS's among them): keep them free.
            kw["slot"] = next(s for s in range(40, 256) if self.k.proc_at(s) is None)
        proc = self.k.spawn(name, body, **kw)
        self.names[proc.endpoint] = name
        return proc

    async def user(
        self, p: Process, name: str, fn: Callable[[Process], Awaitable[Any]], priv: Any = USER
    ) -> int:
        """From a system process: start user ``fn`` with a fresh address space; its endpoint."""
        proc = self.spawn(name, fn, priv=priv, stopped=True)
        r = await call(p, VmExecNew(proc.endpoint))
        assert r.status == 0, r
        self.k.resume(proc)
        return proc.endpoint

    async def fork(
        self,
        p: Process,
        parent: int,
        name: str,
        fn: Callable[[Process], Awaitable[Any]],
        priv: Any = None,
    ) -> int:
        """From a system process: a copy-on-write child of ``parent`` running ``fn``.

        The child may send to slot 30 unless ``priv`` says otherwise.
        """
        proc = self.spawn(name, fn, priv=priv or USER.allowing(30), stopped=True)
        r = await call(p, VmFork(parent, proc.endpoint))
        assert r.status == 0, r
        self.k.resume(proc)
        return proc.endpoint

    async def wait_dead(self, p: Process, *eps: int) -> None:
        """From any process: poll until the reaper has seen every one of ``eps`` die.

        Fails after a minute of kernel time instead of hanging the test.
        """
        deadline = p.now() + 60
        while not all(ep in self.deaths for ep in eps):
            if p.now() > deadline:
                alive = [self.names.get(ep, ep) for ep in eps if ep not in self.deaths]
                raise AssertionError(f"still alive after a minute: {alive}")
            await p.sleep(0.01)

    def killed_by(self, ep: int) -> int | None:
        """The signal that ended ``ep`` (None: a normal exit or still alive)."""
        sigs = self.deaths.get(ep)
        if sigs is None or (sigs == 1 << signal.SIGKILL and self.names[ep] in self.results):
            return None
        return sigs.bit_length() - 1

    async def run(
        self,
        driver: Callable[[Process], Awaitable[Any]],
        name: str = "driver",
        slot: int | None = None,
    ) -> Any:
        """Run ``driver`` as a system process until it returns; re-raise its exception."""
        done = anyio.Event()

        async def body(p: Process) -> Any:
            try:
                return await driver(p)
            finally:
                done.set()

        self.spawn(name, body, sig_mgr=NONE, slot=slot)
        await done.wait()
        if name in self.errors:
            raise self.errors[name]
        return self.results.get(name)


async def mmap(
    p: Process, length: int, prot: int = RW, flags: int = ANON, addr: int = 0, **kw: Any
) -> int:
    """mmap through VM from a process; returns the address (asserts success)."""
    r = await p.sendrec(VM, VmMmap(addr, length, prot, flags, **kw))
    assert isinstance(r, VmReply) and r.status == 0, r
    return int(r.value)


async def call(p: Process, msg: Any) -> VmReply:
    """sendrec ``msg`` to VM; the reply."""
    r = await p.sendrec(VM, msg)
    assert isinstance(r, VmReply), r
    return r


@asynccontextmanager
async def booted(
    memory: int = 16 * MiB, reserved: int = 256, pse: bool = False, **kernel_kw: Any
) -> AsyncIterator[Harness]:
    """A kernel with memory, the real VM and a reaper; checks VM for bugs on the way out."""
    machine = Machine(memory)
    if pse:
        machine.mmu.cr4 |= CR4_PSE
    async with Kernel(machine.physmem, machine.mmu, **kernel_kw) as k:
        vm_main = make_vm(reserved_frames=reserved)
        h = Harness(k, machine, vm_main, {}, {}, {}, {}, {})
        k.vm_endpoint = k.spawn("vm", vm_main, slot=VM_PROC_NR).endpoint
        h.spawn("pm", _reaper(h), slot=PM_PROC_NR, sig_mgr=NONE)
        yield h
        k.shutdown()
    assert h.server.bugs == [], h.server.bugs


def _reaper(h: Harness) -> Callable[[Process], Awaitable[None]]:
    async def reaper(p: Process) -> None:
        while True:
            m = await p.receive(ANY)
            if not isinstance(m, Notify) or m.m_source != SYSTEM:
                continue
            while True:
                ep, sigs = await p.getksig()
                if ep == NONE:
                    break
                await p.sendrec(VM, VmExit(ep))
                await p.clear(ep)
                h.deaths[ep] = sigs

    return reaper


def file_server(
    files: dict[tuple[int, int], bytes], log: list[Any], delay: float = 0.0
) -> Callable[[Process], Awaitable[None]]:
    """A stand-in VFS at VFS_PROC_NR serving VM's file requests from ``files[(ep, fd)]``."""

    async def vfs(p: Process) -> None:
        handles: dict[int, bytes] = {}
        while True:
            m = await p.receive(ANY)
            log.append(m)
            if delay:
                await p.sleep(delay)
            if isinstance(m, VmVfsOpen):
                data = files.get((m.ep, m.fd))
                if data is None:
                    await p.send(m.m_source, VfsVmReply(m.req_id, 9))  # EBADF
                    continue
                handle = len(handles) + 100
                handles[handle] = data
                await p.send(m.m_source, VfsVmReply(m.req_id, 0, handle, len(data)))
            elif isinstance(m, VmVfsRead):
                chunk = handles[m.handle][m.offset : m.offset + m.length]
                try:
                    await p.datacopy_to(m.ep, m.addr, chunk)
                    await p.send(m.m_source, VfsVmReply(m.req_id, 0, len(chunk)))
                except OSError as exc:
                    await p.send(m.m_source, VfsVmReply(m.req_id, exc.errno or 5))
            elif isinstance(m, VmVfsClose):
                del handles[m.handle]

    return vfs


__all__ = [
    "ANON",
    "RW",
    "SHARED_ANON",
    "USER",
    "VFS_PROC_NR",
    "VM",
    "Harness",
    "booted",
    "call",
    "file_server",
    "mmap",
]
