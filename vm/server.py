"""The VM server process: its main loop, request dispatch, privileges and replies.

Boot spawns ``make_vm(...)`` (a :class:`VmMain`, callable as a process body) at slot
VM_PROC_NR with system privileges and sets ``kernel.vm_endpoint`` to its endpoint.
VM then serves, one message at a time, blocking only in ``receive(ANY)``:

- page faults (:class:`~kernel.vmmsg.VmPagefault`, FROM_KERNEL, sent on the faulting
  process's behalf): fixed, then ``vmctl_clear_pagefault`` lets the access run again;
  a fault VM cannot fix kills the process with SIGSEGV. Never a reply message;
- SIGKMEM from SYSTEM: the kernel's memory requests, answered with
  ``vmctl_reply_memreq(req, 0 or errno)`` (the whole kernel call then re-runs);
- the requests of :mod:`vm.protocol`, each answered with one reply (``sendnb``, which
  cannot block on a caller waiting in sendrec, else ``senda``);
- VFS's answers to the file requests VM sent it with ``senda``.

Each message is handled synchronously by the operation modules, which only change
VM's books and the page tables; then, in order, the TLB invalidations the changes
call for, the messages for VFS, and the kernel calls and replies the operation queued
(so a process never runs on a stale translation); a fault fixed with nothing of that
kind queued (a zero-fill) is cleared at once, the hot path. A request VM refuses gets an
errno; an exception from VM's own code is a bug: logged loudly, recorded in
:attr:`VmServer.bugs`, answered with EIO (or SIGSEGV for a fault), never fatal.

Privilege rule: requests that act on another process (``for_ep``, VmFork, VmExit,
VmExecNew, VmSetHeap, VmHandleMem) and VmMapPhys need a caller whose kernel privilege
structure says ``sys_proc`` (PM, VFS, RS, drivers); anyone else gets EPERM.
"""

from __future__ import annotations

import errno
import signal
from typing import TYPE_CHECKING, Any

import structlog

from kernel.com import VFS_PROC_NR
from kernel.endpoint import ANY, NONE, SYSTEM
from kernel.errors import ENOTREADY, KernelError
from kernel.hw import CR4_PSE, PF_W
from kernel.kernel import SIGKMEM
from kernel.message import FROM_KERNEL, Message, Notify
from kernel.vmmsg import VmPagefault
from vm import fault, fork, mmap
from vm.check import check
from vm.errors import VmError
from vm.file import FileRef
from vm.protocol import (
    KERNEL_BASE,
    VfsVmReply,
    VmBrk,
    VmCheck,
    VmExecNew,
    VmExit,
    VmFork,
    VmHandleMem,
    VmInfo,
    VmInfoReply,
    VmMapPhys,
    VmMmap,
    VmMprotect,
    VmMunmap,
    VmReply,
    VmSetHeap,
    VmShmat,
    VmShmctl,
    VmShmdt,
    VmShmget,
    VmVfsClose,
    VmVfsOpen,
    VmVfsRead,
)
from vm.state import Vm

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from kernel.process import Process
    from kernel.safecopy import MemRequest
    from vm.region import AddressSpace

    Done = Callable[[int], None]
    Post = tuple[Callable[..., Awaitable[Any]], tuple[Any, ...]]

_log = structlog.get_logger("asynix.vm")


class VmServer:
    """The running VM server: its state, and the loop that serves messages.

    Attributes:
        proc: VM's handle on the kernel.
        vm: all of VM's books.
        vfs: the endpoint file requests go to.
        report: the invariant checker's last report (VmCheck).
        bugs: exceptions VM's own code raised (each one is a VM bug).
        faults: page faults served.
    """

    def __init__(self, proc: Process, vm: Vm, vfs: int) -> None:
        self.proc = proc
        self.vm = vm
        self.vfs = vfs
        self.report: list[str] = []
        self.bugs: list[BaseException] = []
        self.faults = 0
        self.log = _log.bind(proc=proc.name, endpoint=proc.endpoint)
        self._touched: list[AddressSpace] = []
        self._post: list[Post] = []
        self._handlers: dict[type[Message], Callable[[Any], Message | None]] = {
            VmMmap: self._mmap,
            VmMunmap: self._munmap,
            VmMprotect: self._mprotect,
            VmBrk: self._brk,
            VmMapPhys: self._map_phys,
            VmFork: self._fork,
            VmExit: self._exit,
            VmExecNew: self._exec_new,
            VmSetHeap: self._set_heap,
            VmHandleMem: self._handle_mem,
            VmInfo: self._info,
            VmShmget: self._shmget,
            VmShmat: self._shmat,
            VmShmdt: self._shmdt,
            VmShmctl: self._shmctl,
            VmCheck: self._check,
        }

    # -- the loop ----------------------------------------------------------------------

    async def run(self) -> None:
        """Serve forever."""
        proc = self.proc
        while True:
            try:
                m = await proc.receive(ANY)
            except KernelError as exc:
                self.log.error("VM cannot receive", error=str(exc))
                continue
            status = proc.status
            if type(m) is not VmPagefault or not status & FROM_KERNEL:
                await self.serve(m, status)
                continue
            # The hot path: no dispatch table, and when nothing is queued to go first
            # (no TLB invalidation, VFS message or kernel call) the clear goes at once.
            try:
                fixed = self._pagefault(m.m_source, m.addr, m.flags)
            except Exception as exc:
                self._bug(exc, m)
                fixed = False
            if fixed and not (self._touched or self._post or self.vm.files.outbox):
                try:
                    await proc.vmctl_clear_pagefault(m.m_source)
                except KernelError as exc:
                    self.log.debug("cannot clear the fault", src=m.m_source, error=str(exc))
                continue
            if fixed:
                self._clear_later(m.m_source)
            await self._finish()

    async def serve(self, m: Message, status: int) -> None:
        """Handle one message received with IPC status ``status``."""
        try:
            if isinstance(m, Notify):
                if m.m_source == SYSTEM and m.signals & (1 << SIGKMEM):
                    await self._memreqs()
            else:
                self._dispatch(m, status)
        except Exception as exc:
            self._bug(exc, m)
        await self._finish()

    def _dispatch(self, m: Message, status: int) -> None:
        if isinstance(m, VmPagefault):
            if status & FROM_KERNEL:
                if self._pagefault(m.m_source, m.addr, m.flags):
                    self._clear_later(m.m_source)
            else:
                self.log.warning("page fault message not from the kernel", src=m.m_source)
                self._reply(m.m_source, VmReply(errno.EPERM))
            return
        if isinstance(m, VfsVmReply):
            self._vfs_reply(m)
            return
        handler = self._handlers.get(type(m))
        if handler is None:
            self._reply(m.m_source, VmReply(errno.ENOSYS))
            return
        try:
            reply = handler(m)
        except VmError as exc:
            self.log.debug("request refused", mtype=m.mtype, src=m.m_source, error=str(exc))
            reply = VmReply(exc.errno)
        if reply is not None:
            self._reply(m.m_source, reply)

    def _bug(self, exc: Exception, m: Message | None) -> None:
        self.bugs.append(exc)
        self.log.error(
            "VM bug", mtype=None if m is None else m.mtype, error=repr(exc), exc_info=exc
        )
        if isinstance(m, VmPagefault):
            self._post.append((self.proc.kill, (m.m_source, signal.SIGSEGV)))
        elif m is not None and not isinstance(m, (Notify, VfsVmReply)):
            self._reply(m.m_source, VmReply(errno.EIO))

    async def _finish(self) -> None:
        """Invalidate stale translations, talk to VFS, then run the queued kernel calls."""
        try:
            await self._drain()
        except Exception as exc:
            self._bug(exc, None)
            self._touched.clear()
            self._post.clear()

    async def _drain(self) -> None:
        outbox = self.vm.files.outbox
        while self._touched or self._post or outbox:
            touched, self._touched = self._touched, []
            for space in touched:
                if space.flush_all or space.flush_pages:
                    await self._flush(space)
            if outbox:
                await self._send_outbox()
            posts, self._post = self._post, []
            for fn, args in posts:
                try:
                    await fn(*args)
                except KernelError as exc:
                    self.log.debug("kernel call failed", call=fn.__name__, error=str(exc))

    async def _flush(self, space: AddressSpace) -> None:
        pages, space.flush_pages = sorted(space.flush_pages), set()
        flush_all, space.flush_all = space.flush_all, False
        if self.vm.spaces.get(space.endpoint) is not space:
            return  # gone: nothing can run on it any more
        try:
            if flush_all:
                await self.proc.vmctl_flushtlb(space.endpoint)
            else:
                for va in pages:
                    await self.proc.vmctl_invlpg(space.endpoint, va)
        except KernelError:
            pass  # the process died; its translations die with it

    def _reply(self, dst: int, msg: Message) -> None:
        self._post.append((self._send_reply, (dst, msg)))

    async def _send_reply(self, dst: int, msg: Message) -> None:
        try:
            await self.proc.sendnb(dst, msg)
        except KernelError as exc:
            if exc.errno != ENOTREADY:
                raise
            await self.proc.senda(dst, msg)

    # -- privileges and address spaces -------------------------------------------------

    def _privileged(self, endpoint: int) -> bool:
        p = self.proc.kernel.find(endpoint)
        return p is not None and p.priv.sys_proc

    def _require_privilege(self, endpoint: int) -> None:
        if not self._privileged(endpoint):
            raise VmError(errno.EPERM, f"endpoint {endpoint} is not a system process")

    def _target(self, src: int, for_ep: int) -> int:
        if for_ep in (NONE, src):
            return src
        self._require_privilege(src)
        return for_ep

    def _space(self, endpoint: int) -> AddressSpace:
        space = self.vm.space_of(endpoint)
        self._touched.append(space)
        return space

    # -- page faults and memory requests -----------------------------------------------

    def _pagefault(self, ep: int, addr: int, flags: int) -> bool:
        """Fix ``ep``'s fault at ``addr``: True when fixed now (the caller clears it).

        False when the process is to die (queued) or waits for a file read, whose end
        fixes and clears it.
        """
        self.faults += 1
        space = self.vm.spaces.get(ep)
        if space is None:
            self._segv(ep, addr, "no address space")
            return False
        try:
            fill = fault.touch(self.vm, space, addr, bool(flags & PF_W))
        except VmError as exc:
            self._segv(ep, addr, str(exc))
            return False
        finally:
            if space.flush_all or space.flush_pages:
                self._touched.append(space)  # a live mapping changed (copy-on-write)
        if fill is None:
            return True

        def resume(status: int) -> None:
            if status:
                self._segv(ep, addr, f"file read failed: {errno.errorcode.get(status)}")
            elif self._pagefault(ep, addr, flags):
                self._clear_later(ep)

        fill.waiters.append(resume)
        return False

    def _clear_later(self, ep: int) -> None:
        self._post.append((self.proc.vmctl_clear_pagefault, (ep,)))

    def _segv(self, ep: int, addr: int, why: str) -> None:
        self.log.info("SIGSEGV", endpoint=ep, addr=hex(addr), why=why)
        self._post.append((self.proc.kill, (ep, signal.SIGSEGV)))

    def _make_present(
        self, space: AddressSpace, addr: int, length: int, write: bool, vfs_ok: bool, done: Done
    ) -> None:
        """Make a range present; ``done(0 or errno)`` now or once file reads end."""
        try:
            fill = fault.touch_range(self.vm, space, addr, length, write, vfs_ok)
        except VmError as exc:
            done(exc.errno)
            return
        if fill is None:
            done(0)
            return

        def resume(status: int) -> None:
            if status:
                done(status)
            elif self.vm.spaces.get(space.endpoint) is not space:
                done(errno.EFAULT)
            else:
                self._touched.append(space)
                self._make_present(space, addr, length, write, vfs_ok, done)

        fill.waiters.append(resume)

    async def _memreqs(self) -> None:
        """SIGKMEM: serve every pending kernel memory request (newest first)."""
        while (req := await self.proc.vmctl_get_memreq()) is not None:
            try:
                self._memreq(req)
            except Exception as exc:
                self._bug(exc, None)
                self._post.append((self.proc.vmctl_reply_memreq, (req, errno.EIO)))
            await self._finish()

    def _memreq(self, req: MemRequest) -> None:
        def done(result: int) -> None:
            self._post.append((self.proc.vmctl_reply_memreq, (req, result)))

        space = self.vm.spaces.get(req.target.endpoint)
        if space is None:
            done(errno.EFAULT)
            return
        self._touched.append(space)
        # MINIX's vfs_avail: a copy VFS itself waits in must not wait for VFS.
        vfs_ok = req.caller.proc.endpoint != self.vfs
        self._make_present(space, req.addr, req.length, req.write, vfs_ok, done)

    # -- requests ----------------------------------------------------------------------

    def _mmap(self, m: VmMmap) -> Message | None:
        target = self._target(m.m_source, m.for_ep)
        space = self._space(target)
        if not mmap.validate_mmap(m):
            return VmReply(0, mmap.mmap_anon(self.vm, space, m))
        src = m.m_source

        def opened(status: int, handle: int, size: int) -> None:
            if status:
                self._reply(src, VmReply(status))
                return
            ref = FileRef(handle, size)
            try:
                if self.vm.spaces.get(target) is not space:
                    raise VmError(errno.EFAULT, "the address space went while VFS answered")
                self._touched.append(space)
                self._reply(src, VmReply(0, mmap.mmap_file(self.vm, space, m, ref)))
            except VmError as exc:
                self._reply(src, VmReply(exc.errno))
            if not ref.links:
                self.vm.files.outbox.append(VmVfsClose(handle))

        self.vm.files.open(target, m.fd, opened)
        return None

    def _munmap(self, m: VmMunmap) -> Message:
        space = self._space(self._target(m.m_source, m.for_ep))
        mmap.unmap(self.vm, space, m.addr, m.length)
        return VmReply(0)

    def _mprotect(self, m: VmMprotect) -> Message:
        space = self._space(self._target(m.m_source, m.for_ep))
        mmap.protect(self.vm, space, m.addr, m.length, m.prot)
        return VmReply(0)

    def _brk(self, m: VmBrk) -> Message:
        space = self._space(self._target(m.m_source, m.for_ep))
        try:
            return VmReply(0, mmap.brk(self.vm, space, m.addr))
        except VmError as exc:
            return VmReply(exc.errno, space.brk)

    def _map_phys(self, m: VmMapPhys) -> Message:
        self._require_privilege(m.m_source)
        space = self._space(self._target(m.m_source, m.for_ep))
        return VmReply(0, mmap.map_phys(self.vm, space, m.phys, m.length))

    def _fork(self, m: VmFork) -> Message:
        self._require_privilege(m.m_source)
        parent = self._space(m.parent)
        child_proc = self.proc.kernel.find(m.child)
        if child_proc is None:
            raise VmError(errno.EINVAL, f"fork child {m.child} is not alive")
        child = fork.fork(self.vm, parent, m.child, child_proc.name, m.eager)
        self._post.append((self.proc.vmctl_setaddrspace, (m.child, child.pd)))
        return VmReply(0)

    def _exit(self, m: VmExit) -> Message:
        self._require_privilege(m.m_source)
        space = self.vm.space_of(m.ep)
        self.vm.free_space(space)
        if self.proc.kernel.find(m.ep) is not None:
            self._post.append((self.proc.vmctl_setaddrspace, (m.ep, None)))
        return VmReply(0)

    def _exec_new(self, m: VmExecNew) -> Message:
        self._require_privilege(m.m_source)
        p = self.proc.kernel.find(m.ep)
        if p is None:
            raise VmError(errno.EINVAL, f"exec target {m.ep} is not alive")
        space = fork.exec_new(self.vm, m.ep, p.name)
        self._post.append((self.proc.vmctl_setaddrspace, (m.ep, space.pd)))
        return VmReply(0)

    def _set_heap(self, m: VmSetHeap) -> Message:
        self._require_privilege(m.m_source)
        space = self._space(m.ep)
        if not mmap.USER_MIN <= m.addr < KERNEL_BASE:
            raise VmError(errno.EINVAL, f"heap start {m.addr:#x}")
        space.heap_start = space.brk = m.addr
        return VmReply(0)

    def _handle_mem(self, m: VmHandleMem) -> Message | None:
        self._require_privilege(m.m_source)
        space = self._space(m.ep)
        if m.length <= 0:
            raise VmError(errno.EINVAL, f"length {m.length}")
        src = m.m_source

        def done(status: int) -> None:
            self._reply(src, VmReply(status))

        self._make_present(space, m.addr, m.length, m.write, True, done)
        return None

    def _info(self, m: VmInfo) -> Message:
        alloc = self.vm.alloc
        return VmInfoReply(0, alloc.nframes, alloc.free, alloc.largest_run())

    def _shmget(self, m: VmShmget) -> Message:
        return VmReply(0, self.vm.shm.shmget(m.key, m.size, m.flags))

    def _shmat(self, m: VmShmat) -> Message:
        space = self._space(m.m_source)
        return VmReply(0, mmap.shmat(self.vm, space, m.shmid, m.addr, m.flags))

    def _shmdt(self, m: VmShmdt) -> Message:
        mmap.shmdt(self.vm, self._space(m.m_source), m.addr)
        return VmReply(0)

    def _shmctl(self, m: VmShmctl) -> Message:
        return VmReply(0, self.vm.shm.shmctl(self.vm, m.shmid, m.cmd))

    def _check(self, m: VmCheck) -> Message:
        self.report = check(self.vm)
        if self.report:
            self.log.error("VM invariants broken", problems=self.report)
        return VmReply(errno.EIO if self.report else 0, len(self.report))

    # -- VFS ---------------------------------------------------------------------------

    def _vfs_reply(self, m: VfsVmReply) -> None:
        if m.m_source != self.vfs:
            self.log.warning("VFS reply from someone else", src=m.m_source)
            return
        done = self.vm.files.opened(m.req_id)
        if done is not None:
            done(m.status, m.value, m.size)
            return
        self._fill_done(m.req_id, m.status)

    def _fill_done(self, req_id: int, status: int) -> None:
        fill = self.vm.files.finish_fill(self.vm, req_id, status)
        if fill is None:
            self.log.warning("VFS answered an unknown request", req_id=req_id)
            return
        self._touched.append(fill.space)
        for waiter in fill.waiters:
            waiter(status)

    async def _send_outbox(self) -> None:
        outbox = self.vm.files.outbox
        while outbox:
            msg = outbox.pop(0)
            try:
                await self.proc.senda(self.vfs, msg)
            except KernelError as exc:
                self.log.warning("cannot reach VFS", mtype=msg.mtype, error=str(exc))
                if isinstance(msg, VmVfsRead):
                    self._fill_done(msg.req_id, errno.EIO)
                elif isinstance(msg, VmVfsOpen):
                    done = self.vm.files.opened(msg.req_id)
                    if done is not None:
                        done(errno.EIO, 0, 0)


class VmMain:
    """The VM server's process body: ``await vm_main(proc)``.

    Args:
        reserved_frames: frames at the bottom of RAM that belong to the kernel image.
        vfs_endpoint: where file-mapping requests go.

    Attributes:
        server: the running server, once started (tests and the fuzzer read its
            ``report``, ``bugs`` and ``vm``).
    """

    def __init__(self, reserved_frames: int = 256, vfs_endpoint: int = VFS_PROC_NR) -> None:
        self.reserved_frames = reserved_frames
        self.vfs_endpoint = vfs_endpoint
        self.server: VmServer | None = None

    async def __call__(self, proc: Process) -> None:
        """Run VM as ``proc``: set up physical memory, then serve."""
        k = proc.kernel
        if k.physmem is None or k.mmu is None:
            raise RuntimeError("VM needs a machine with physical memory and an MMU")
        vm = Vm(k.physmem, self.reserved_frames, bool(k.mmu.cr4 & CR4_PSE))
        self.server = VmServer(proc, vm, self.vfs_endpoint)
        _log.info(
            "VM up",
            total_frames=vm.alloc.nframes,
            free_frames=vm.alloc.free,
            reserved=self.reserved_frames,
        )
        await self.server.run()

    @property
    def vm(self) -> Vm:
        """VM's state (once started)."""
        assert self.server is not None, "VM has not started"
        return self.server.vm


def make_vm(*, reserved_frames: int = 256, vfs_endpoint: int = VFS_PROC_NR) -> VmMain:
    """The VM server's process body, for boot to spawn at VM_PROC_NR."""
    return VmMain(reserved_frames, vfs_endpoint)


async def main(proc: Process) -> None:
    """VM with the default settings (1 MiB reserved for the kernel, VFS at its slot)."""
    await make_vm()(proc)
