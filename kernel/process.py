"""The handle a simulated process uses to reach the kernel (MINIX's libsys).

A server, driver or the kernel side of libc is ``async def main(proc: Process)``;
every method here is a trap into the kernel and a choice point. Only the thread that
holds the CPU may trap: a call from any other (a thread of a process that was killed
and is unwinding) fails with EDEADSRCDST.

IPC: :meth:`send`, :meth:`sendnb`, :meth:`receive`, :meth:`sendrec`, :meth:`notify`,
:meth:`senda`. Kernel calls (checked against the process's privileges, ECALLDENIED
otherwise): alarms and sleeping, threads, kernel signals, killing and clearing
processes, and the grant and copy calls added by :mod:`kernel.safecopy`.
"""

from __future__ import annotations

import errno as _errno
from typing import TYPE_CHECKING, Any

import anyio.abc
import anyio.lowlevel

from kernel import errors, ipc, safecopy, usermem
from kernel.endpoint import NONE
from kernel.errors import KernelError
from kernel.grants import CPF_READ, CPF_WRITE, GrantTable, verify_grant
from kernel.hw import PageFault
from kernel.message import CALL_SEND, CALL_SENDNB, Message
from kernel.proc import BLOCK_SLEEP, Proc, Thread
from kernel.safecopy import MemRequest, Side, VirSide

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from kernel.hw import MMU
    from kernel.kernel import Kernel
    from kernel.priv import Priv


class Process:
    """One thread's door into the kernel."""

    __slots__ = ("_tg", "kernel", "proc", "thread")

    def __init__(self, kernel: Kernel, proc: Proc, thread: Thread) -> None:
        self.kernel = kernel
        self.proc = proc
        self.thread = thread
        self._tg: anyio.abc.TaskGroup | None = None

    @property
    def endpoint(self) -> int:
        """This process's endpoint."""
        return self.proc.endpoint

    @property
    def name(self) -> str:
        """This process's name (its label in the boot image)."""
        return self.proc.name

    @property
    def status(self) -> int:
        """The IPC status of the last message received: CALL_SEND, CALL_SENDREC, ..."""
        return self.proc.ipc_status

    def _enter(self) -> Thread:
        thread = self.thread
        k = self.kernel
        if k.current is not thread:
            raise KernelError(errors.EDEADSRCDST, f"{thread.name} does not hold the CPU")
        # Kernel.trap() inlined, Kernel.clock() too: this runs on every kernel entry.
        k.steps += 1
        if (
            k.alarms
            and not k.steps & k._timer_mask
            and k.next_deadline <= k._native() - k._t0 + k.steps * k._tick
        ):
            k.fire_alarms()
        return thread

    def _kcall(self, name: str) -> Thread:
        thread = self._enter()
        if not self.proc.priv.may_call(name):
            raise KernelError(errors.ECALLDENIED, f"{self.proc.name} may not call {name}")
        return thread

    # -- IPC ---------------------------------------------------------------------------
    #
    # Each primitive returns the kernel's coroutine for the caller to await, instead of
    # being a coroutine of its own that awaits it: one frame less on every IPC. The
    # entry checks (_enter) run at the call, which is where the caller awaits it.

    def send(self, dst: int, msg: Message) -> Awaitable[None]:
        """Send ``msg`` to ``dst``, blocking until it is received: await the result."""
        return ipc.send(self.kernel, self._enter(), dst, msg, CALL_SEND)

    def sendnb(self, dst: int, msg: Message) -> Awaitable[None]:
        """Send without blocking; ENOTREADY if ``dst`` is not receiving from us."""
        return ipc.send(self.kernel, self._enter(), dst, msg, CALL_SENDNB)

    def receive(self, src: int) -> Awaitable[Message]:
        """Receive from ``src`` (an endpoint or ANY): await the result."""
        return ipc.receive(self.kernel, self._enter(), src)

    def receive_nb(self, src: int) -> Awaitable[Message]:
        """Receive only what is already pending; ENOTREADY otherwise."""
        return ipc.receive(self.kernel, self._enter(), src, nonblock=True)

    def sendrec(self, dst: int, msg: Message) -> Awaitable[Message]:
        """Send ``msg`` to ``dst`` and wait for its reply: await the result."""
        return ipc.sendrec(self.kernel, self._enter(), dst, msg)

    def notify(self, dst: int) -> Awaitable[None]:
        """Send a notification to ``dst``; never blocks."""
        return ipc.notify(self.kernel, self._enter(), dst)

    def senda(self, dst: int, msg: Message, flags: int = 0) -> Awaitable[ipc.AsyncEntry]:
        """Send ``msg`` asynchronously; await the entry that records its outcome."""
        return ipc.senda(self.kernel, self._enter(), dst, msg, flags)

    # -- time --------------------------------------------------------------------------

    def now(self) -> float:
        """The kernel clock: seconds since boot."""
        return self.kernel.clock()

    @property
    def boottime(self) -> int:
        """Unix time at boot, whole seconds (MINIX's ``boottime``; it never changes).

        A plain read, as MINIX's libc reads it from the kernel's shared clock page.
        """
        return self.kernel.boottime

    async def getuptime(self) -> tuple[float, int]:
        """Trap: ``(uptime, boottime)``, MINIX's ``getuptime``; a choice point like ``yield_``.

        The time of day is their sum.
        """
        k = self.kernel
        await k.yield_cpu(self._enter())
        return k.clock(), k.boottime

    async def setalarm(self, seconds: float | None) -> float:
        """Kernel call: CLOCK notifies in ``seconds`` (None cancels); returns old time left."""
        thread = self._kcall("setalarm")
        if seconds is not None and seconds < 0:
            raise KernelError(_errno.EINVAL, "negative alarm")
        left = self.kernel.set_alarm(self.proc, None if seconds is None else self.now() + seconds)
        await self.kernel.yield_cpu(thread)
        return left

    async def sleep(self, seconds: float) -> None:
        """Block this thread for ``seconds`` of kernel time."""
        thread = self._enter()
        if seconds < 0:
            raise KernelError(_errno.EINVAL, "negative sleep")
        thread.blocked |= BLOCK_SLEEP
        self.kernel.set_alarm(self.proc, self.now() + seconds, thread)
        await self.kernel.block(thread)

    async def yield_(self) -> None:
        """A bare choice point: let the policy run someone else if it wants."""
        await self.kernel.yield_cpu(self._enter())

    # -- threads and processes ---------------------------------------------------------

    def start_thread(self, name: str, fn: Callable[[Process], Awaitable[Any]]) -> Process:
        """Start another thread of this process running ``fn(handle)``; returns its handle."""
        self._enter()
        from kernel.process import Process as _P

        holder: list[Process] = []

        async def body() -> None:
            await fn(holder[0])

        thread = self.kernel.start_thread(self, name, body)
        handle = _P(self.kernel, self.proc, thread)
        handle._tg = self._tg
        holder.append(handle)
        return handle

    async def spawn(
        self,
        name: str,
        main: Callable[[Process], Awaitable[Any]],
        *,
        priv: Priv,
        slot: int | None = None,
        sig_mgr: int | None = None,
        stopped: bool = False,
    ) -> int:
        """Kernel call: create a process running ``main``; returns its endpoint.

        Its signal manager is the caller unless ``sig_mgr`` says otherwise; ``stopped``
        leaves it stopped until :meth:`resume`.
        """
        thread = self._kcall("spawn")
        sig_mgr = self.endpoint if sig_mgr is None else sig_mgr
        p = self.kernel.spawn(name, main, priv=priv, slot=slot, sig_mgr=sig_mgr, stopped=stopped)
        await self.kernel.yield_cpu(thread)
        return p.endpoint

    async def stop(self, endpoint: int) -> None:
        """Kernel call: keep ``endpoint`` from running until :meth:`resume`."""
        thread = self._kcall("spawn")
        target = self.kernel.lookup(endpoint)
        if target is self.proc:
            raise KernelError(_errno.EINVAL, "a process cannot stop itself this way")
        self.kernel.stop(target)
        await self.kernel.yield_cpu(thread)

    async def resume(self, endpoint: int) -> None:
        """Kernel call: let the stopped process ``endpoint`` run."""
        thread = self._kcall("spawn")
        self.kernel.resume(self.kernel.lookup(endpoint))
        await self.kernel.yield_cpu(thread)

    async def getksig(self) -> tuple[int, int]:
        """Kernel call: the next (endpoint, signal set) for this signal manager, or (NONE, 0)."""
        thread = self._kcall("getksig")
        result = self.kernel.getksig(self.proc)
        await self.kernel.yield_cpu(thread)
        return result

    async def kill(self, endpoint: int, signo: int) -> None:
        """Kernel call: end ``endpoint`` as if it died of ``signo``; its manager is told."""
        thread = self._kcall("kill")
        target = self.kernel.lookup(endpoint)
        if target.slot < 0:
            raise KernelError(_errno.EPERM, "cannot kill a kernel task")
        self.kernel.kill(target, signo)
        await self.kernel.yield_cpu(thread)

    async def cause_sig(self, endpoint: int, signo: int) -> None:
        """Kernel call (MINIX's sys_kill): raise ``signo`` on ``endpoint`` through its manager.

        The target is held until its signal manager has handled the signal (see
        :meth:`Kernel.cause_sig`). VFS raises SIGPIPE this way.
        """
        thread = self._kcall("kill")
        if not 0 < signo < 64:
            raise KernelError(_errno.EINVAL, f"bad signal {signo}")
        target = self.kernel.lookup(endpoint)
        if target.slot < 0:
            raise KernelError(_errno.EPERM, "cannot signal a kernel task")
        self.kernel.cause_sig(target, signo)
        await self.kernel.yield_cpu(thread)

    async def endksig(self, endpoint: int) -> None:
        """Kernel call (signal managers): ``endpoint``'s kernel signals are handled."""
        thread = self._kcall("getksig")
        self.kernel.endksig(self.kernel.lookup(endpoint))
        await self.kernel.yield_cpu(thread)

    async def clear(self, endpoint: int) -> None:
        """Kernel call: release the slot of ``endpoint`` (killing it first if alive)."""
        thread = self._kcall("clear")
        self.kernel.clear(endpoint)
        await self.kernel.yield_cpu(thread)

    async def getinfo(self, endpoint: int) -> tuple[str, bool]:
        """Kernel call (sys_getinfo): ``endpoint``'s name; whether it is a system process.

        DS and RS use it to authorise requests (only system processes may publish or
        control services) and DS to name a key's owner (a service's name is its label).
        """
        thread = self._kcall("getinfo")
        target = self.kernel.resolve(self.proc, endpoint)
        result = (target.name, target.priv.sys_proc)
        await self.kernel.yield_cpu(thread)
        return result

    async def times(self, endpoint: int) -> tuple[float, float]:
        """Kernel call (MINIX's sys_times): ``(cpu_seconds, uptime)`` of ``endpoint``.

        The CPU time is what the kernel has charged the process at CPU hand-offs
        (:attr:`Proc.cpu_time`, plus the current slice if it holds the CPU now). A
        zombie (dead, its slot not yet cleared) still answers, so that PM can read the
        final time of a process that died. EDEADSRCDST for an unknown endpoint.
        """
        thread = self._kcall("times")
        target = self.kernel.occupant(endpoint)
        result = (self.kernel.cpu_time(target), self.kernel.clock())
        await self.kernel.yield_cpu(thread)
        return result

    async def exit(self) -> None:
        """End this process (normal exit)."""
        self._enter()
        self.kernel.kill(self.proc, 0)
        await anyio.lowlevel.checkpoint()

    # -- grants and copies -------------------------------------------------------------

    @property
    def grants(self) -> GrantTable:
        """This process's grant table."""
        table = self.proc.grants
        assert table is not None
        return table

    def grant_direct(self, who_to: int, addr: int, length: int, access: int) -> int:
        """Grant ``who_to`` (or ANY) ``access`` (CPF_READ/WRITE/TRY) to our ``[addr, +length)``."""
        self._enter()
        return self.grants.direct(who_to, addr, length, access)

    def grant_buffer(self, who_to: int, buf: bytearray, access: int) -> int:
        """Grant ``who_to`` ``access`` (CPF_READ/WRITE) to our own Python buffer ``buf``."""
        self._enter()
        return self.grants.buffer(who_to, buf, access)

    def grant_indirect(self, who_to: int, who_from: int, gid: int) -> int:
        """Pass grant ``gid``, which ``who_from`` gave us, on to ``who_to``."""
        self._enter()
        return self.grants.indirect(who_to, who_from, gid)

    def grant_magic(self, who_to: int, who_from: int, addr: int, length: int, access: int) -> int:
        """Grant ``who_to`` access to ``who_from``'s memory (privileged: VFS)."""
        self._enter()
        if not self.proc.priv.magic_grants:
            raise KernelError(_errno.EPERM, f"{self.proc.name} may not make magic grants")
        return self.grants.magic(who_to, who_from, addr, length, access)

    def revoke(self, gid: int) -> int:
        """Revoke ``gid`` for good; GRANT_FAULTED if a CPF_TRY copy faulted on it."""
        self._enter()
        return self.grants.revoke(gid)

    async def _safecopy(
        self, name: str, granter: int, gid: int, offset: int, n: int, access: int, local: Side
    ) -> None:
        thread = self._kcall(name)
        k = self.kernel
        while True:  # as with_vm(), without a closure: this is every driver's data path
            v = verify_grant(k, granter, self.endpoint, gid, n, access, offset)
            remote: Side = VirSide(v.owner, v.vaddr)
            if v.buffer is not None:
                remote = memoryview(v.buffer)[v.vaddr : v.vaddr + n]
            try:
                if access == CPF_READ:
                    safecopy.copy(k, remote, local, n)
                else:
                    safecopy.copy(k, local, remote, n)
                break
            except safecopy.NeedsVM as exc:
                need = exc
            if v.try_grant is not None:
                v.try_grant.faulted = v.try_gid
            await safecopy.wait_vm(k, thread, need, try_=v.try_grant is not None)
        await k.yield_cpu(thread)

    async def safecopyfrom(self, granter: int, gid: int, offset: int, length: int) -> bytes:
        """Kernel call: read ``length`` bytes at ``offset`` of ``granter``'s grant ``gid``."""
        buf = bytearray(length) if length >= 0 else bytearray()
        await self._safecopy("safecopyfrom", granter, gid, offset, length, CPF_READ, buf)
        return bytes(buf)

    async def safecopyfrom_vir(
        self, granter: int, gid: int, offset: int, addr: int, length: int
    ) -> None:
        """Kernel call: copy from a grant into our own address space at ``addr``."""
        side = VirSide(self.proc, addr)
        await self._safecopy("safecopyfrom", granter, gid, offset, length, CPF_READ, side)

    def safecopyto(
        self, granter: int, gid: int, offset: int, data: bytes | bytearray | memoryview
    ) -> Awaitable[None]:
        """Kernel call: write ``data`` at ``offset`` of ``granter``'s grant ``gid``.

        Await the result (the kernel call itself: every driver read ends in one).
        """
        if type(data) is not bytes:  # a view of other than bytes, or a bytes subclass
            data = memoryview(bytes(data) if isinstance(data, bytes) else data).cast("B")
        return self._safecopy("safecopyto", granter, gid, offset, len(data), CPF_WRITE, data)

    async def safecopyto_vir(
        self, granter: int, gid: int, offset: int, addr: int, length: int
    ) -> None:
        """Kernel call: copy from our own address space at ``addr`` into a grant."""
        side = VirSide(self.proc, addr)
        await self._safecopy("safecopyto", granter, gid, offset, length, CPF_WRITE, side)

    async def vircopy(
        self,
        src_ep: int,
        src_addr: int,
        dst_ep: int,
        dst_addr: int,
        length: int,
        *,
        try_: bool = False,
    ) -> None:
        """Kernel call: copy between two address spaces (NONE: physical memory).

        With ``try_`` a missing page fails with EFAULT instead of asking VM.
        """
        thread = self._kcall("vircopy")
        k = self.kernel

        def side(ep: int, addr: int) -> VirSide:
            return VirSide(None if ep == NONE else k.resolve(self.proc, ep), addr)

        def attempt() -> None:
            safecopy.copy(k, side(src_ep, src_addr), side(dst_ep, dst_addr), length)

        await safecopy.with_vm(k, thread, attempt, (lambda: None) if try_ else None)
        await k.yield_cpu(thread)

    # -- VM's kernel calls -------------------------------------------------------------

    async def vmctl_get_memreq(self) -> MemRequest | None:
        """Kernel call (VM): the newest pending memory request, or None."""
        thread = self._kcall("vmctl")
        req = safecopy.take_request(self.kernel)
        await self.kernel.yield_cpu(thread)
        return req

    async def vmctl_reply_memreq(self, req: MemRequest, result: int) -> None:
        """Kernel call (VM): answer ``req``: 0 resumes the copy, an errno fails it."""
        thread = self._kcall("vmctl")
        safecopy.reply_request(self.kernel, req, result)
        await self.kernel.yield_cpu(thread)

    def _mmu_holding(self, cr3: int | None) -> MMU | None:
        """The MMU if ``cr3`` is the directory loaded in it (only then can the TLB be stale)."""
        mmu = self.kernel.mmu
        if mmu is None or cr3 is None or mmu.cr3 != cr3:
            return None
        return mmu

    async def vmctl_setaddrspace(self, endpoint: int, cr3: int | None) -> None:
        """Kernel call (VM): give ``endpoint`` the page directory at ``cr3``."""
        thread = self._kcall("vmctl")
        self.kernel.resolve(self.proc, endpoint).cr3 = cr3
        mmu = self._mmu_holding(cr3)
        if mmu is not None:
            mmu.cr3 = mmu.cr3  # the directory's contents changed: reload (flushes the TLB)
        await self.kernel.yield_cpu(thread)

    async def vmctl_flushtlb(self, endpoint: int) -> None:
        """Kernel call (VM): ``endpoint``'s live mappings changed; drop stale translations.

        Reloads CR3 (flushing non-global TLB entries) if ``endpoint``'s directory is the
        one loaded; a directory not loaded has nothing cached, since loading it flushes.
        """
        thread = self._kcall("vmctl")
        cr3 = self.kernel.resolve(self.proc, endpoint).cr3
        mmu = self._mmu_holding(cr3)
        if mmu is not None:
            mmu.cr3 = mmu.cr3
        await self.kernel.yield_cpu(thread)

    async def vmctl_invlpg(self, endpoint: int, addr: int) -> None:
        """Kernel call (VM): invalidate one page of ``endpoint``'s mappings, if loaded."""
        thread = self._kcall("vmctl")
        mmu = self._mmu_holding(self.kernel.resolve(self.proc, endpoint).cr3)
        if mmu is not None:
            mmu.invlpg(addr)
        await self.kernel.yield_cpu(thread)

    async def vmctl_clear_pagefault(self, endpoint: int) -> None:
        """Kernel call (VM): ``endpoint``'s page fault is fixed; its access runs again."""
        thread = self._kcall("vmctl")
        usermem.clear_pagefault(self.kernel, self.kernel.resolve(self.proc, endpoint))
        await self.kernel.yield_cpu(thread)

    # -- the process's own memory ------------------------------------------------------

    async def peek(self, addr: int, n: int) -> bytes:
        """Load ``n`` bytes at ``addr`` of our own address space, as user-mode code does.

        A page fault goes to VM and the load runs again once VM has fixed it; a fault VM
        cannot fix kills the process with SIGSEGV.
        """
        thread = self._enter()
        if n < 0:
            raise KernelError(_errno.EINVAL, f"negative length {n}")
        while True:
            try:
                return usermem.load(self.kernel, self.proc, addr, n)
            except PageFault as fault:
                await usermem.pagefault(self.kernel, thread, fault)

    async def poke(self, addr: int, data: bytes | bytearray | memoryview) -> None:
        """Store ``data`` at ``addr`` of our own address space, as user-mode code does."""
        thread = self._enter()
        while True:
            try:
                usermem.store(self.kernel, self.proc, addr, data)
                return
            except PageFault as fault:
                await usermem.pagefault(self.kernel, thread, fault)

    # -- a server's own copies (MINIX's sys_datacopy) ---------------------------------

    async def datacopy_from(self, endpoint: int, addr: int, length: int) -> bytes:
        """Kernel call: read ``length`` bytes at ``addr`` of ``endpoint``'s address space."""
        thread = self._kcall("vircopy")
        k = self.kernel
        buf = bytearray(length) if length >= 0 else bytearray()

        def attempt() -> None:
            safecopy.copy(k, VirSide(k.resolve(self.proc, endpoint), addr), buf, length)

        await safecopy.with_vm(k, thread, attempt, None)
        await k.yield_cpu(thread)
        return bytes(buf)

    async def datacopy_to(
        self, endpoint: int, addr: int, data: bytes | bytearray | memoryview, *, try_: bool = False
    ) -> None:
        """Kernel call: write ``data`` at ``addr`` of ``endpoint``'s address space.

        With ``try_`` a missing page fails with EFAULT instead of asking VM.
        """
        thread = self._kcall("vircopy")
        k = self.kernel
        view = memoryview(data).cast("B")

        def attempt() -> None:
            safecopy.copy(k, view, VirSide(k.resolve(self.proc, endpoint), addr), view.nbytes)

        await safecopy.with_vm(k, thread, attempt, (lambda: None) if try_ else None)
        await k.yield_cpu(thread)

    # -- process images and user signals (PM's kernel calls) ---------------------------

    def set_fork_entry(self, entry: Callable[[Process], Awaitable[Any]]) -> None:
        """Leave ``entry`` where a fork will start the child (our "registers").

        Not a trap: libc does this just before asking PM to fork.
        """
        self._enter()
        self.proc.fork_entry = entry

    async def fork(self, parent: int) -> int:
        """Kernel call (PM): a stopped child of ``parent`` running its fork entry."""
        thread = self._kcall("fork")
        child = self.kernel.fork(self.kernel.lookup(parent), self.endpoint)
        await self.kernel.yield_cpu(thread)
        return child.endpoint

    async def exec(
        self,
        endpoint: int,
        image: Callable[[Process], Awaitable[Any]],
        name: str | None = None,
    ) -> None:
        """Kernel call (PM): replace ``endpoint``'s code with ``image``, renamed ``name``."""
        thread = self._kcall("exec")
        target = self.kernel.lookup(endpoint)
        if target is self.proc:
            raise KernelError(_errno.EINVAL, "a server cannot exec itself")
        self.kernel.exec(target, image, name)
        await self.kernel.yield_cpu(thread)

    async def sigsend(self, endpoint: int, signo: int) -> None:
        """Kernel call (PM): have ``endpoint`` run its handler for ``signo``.

        The handler runs when the process next returns from a system call (libc checks
        :meth:`take_signals`), as a signal frame pushed by MINIX's sys_sigsend would.
        """
        thread = self._kcall("sigsend")
        if not 0 < signo < 64:
            raise KernelError(_errno.EINVAL, f"bad signal {signo}")
        self.kernel.lookup(endpoint).sig_deliver |= 1 << signo
        await self.kernel.yield_cpu(thread)

    def take_signals(self) -> int:
        """The signals PM has sent for handling since the last call, as a bit set."""
        sigs, self.proc.sig_deliver = self.proc.sig_deliver, 0
        return sigs
