"""VFS's global state and the per-call job context.

:class:`Vfs` holds the tables (fproc, vnode, vmnt) and the worker pool's bookkeeping;
:class:`Job` is what every system-call handler gets: the worker thread it runs on, the
calling process's fproc and message, and the helpers that block that worker, above
all :meth:`Job.fs_call` (MINIX's ``fs_sendrec``: send a request to a file server
asynchronously, then wait on the worker's own kernel condition until the dispatcher
hands over the reply). Handlers fail by raising :class:`VfsError`.
"""

from __future__ import annotations

import errno
import itertools
from collections import deque
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from fs import protocol as fsp
from kernel.grants import CPF_READ, CPF_TRY, CPF_WRITE, GRANT_FAULTED
from kernel.message import Message
from kernel.sync import Condition, Mutex
from vfs.fproc import Fproc
from vfs.protocol import VfsReply
from vfs.tll import TLL, Mode
from vfs.vnode import Vnode

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from kernel.kernel import Kernel
    from kernel.process import Process
    from vfs.dmap import Dmap
    from vfs.lock import FileLock
    from vfs.select import SelectEntry
    from vfs.vmnt import Vmnt


class VfsError(Exception):
    """A system call fails with ``errno``."""

    def __init__(self, err: int, detail: str = "") -> None:
        super().__init__(err, detail or errno.errorcode.get(err, str(err)))
        self.errno = err


class Suspend:
    """The type of :data:`SUSPEND`."""

    __slots__ = ()


SUSPEND: Final = Suspend()
"""Returned by a handler whose process was suspended: no reply now."""


@dataclass(slots=True, eq=False)
class Worker:
    """One worker thread and the kernel condition it sleeps on."""

    tid: int
    handle: Process
    mutex: Mutex
    cond: Condition
    fp: Fproc | None = None
    reply: Message | None = None


@dataclass(slots=True, eq=False)
class Vfs:
    """Everything VFS knows."""

    kernel: Kernel
    nworkers: int
    fprocs: dict[int, Fproc] = field(default_factory=dict)
    vnodes: dict[tuple[int, int], Vnode] = field(default_factory=dict)
    vmnts: list[Vmnt] = field(default_factory=list)
    root_vmnt: Vmnt | None = None
    workers: list[Worker] = field(default_factory=list)
    free: deque[Worker] = field(default_factory=deque)
    busy: int = 0
    waiting: dict[int, Worker] = field(default_factory=dict)
    """Workers waiting for a file-server reply, by transaction id."""
    tids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    vm_lock: Mutex | None = None
    """Serialises VFS's requests to VM (one outstanding at a time, as its replies carry
    no transaction id); set up by the server."""
    vm_waiter: Worker | None = None
    """The worker whose VM request is outstanding."""
    dmaps: dict[int, Dmap] = field(default_factory=dict)
    """Character majors and the drivers serving them (vfs.dmap)."""
    cdev_waiting: dict[tuple[int, int], Worker] = field(default_factory=dict)
    """Workers waiting for a driver's CdevReply, by (driver endpoint, request id)."""
    cancel_deadlines: dict[tuple[int, int], float] = field(default_factory=dict)
    """Cancels awaiting a driver's answer, by (driver, id): when VFS stops waiting."""
    selects: list[SelectEntry | None] = field(default_factory=list)
    """The select table (vfs.select); MAXSELECTS slots once VFS is up."""
    vm_queue: deque[Message] = field(default_factory=deque)
    """VM's file-mapping requests not answered yet (vfs.vmfile)."""
    vm_handles: dict[int, Vnode] = field(default_factory=dict)
    """VM's handles on files it maps."""
    nr_filps: int = 1024
    """Open-file descriptions system-wide (MINIX's NR_FILPS): past it, ENFILE."""
    nr_vnodes: int = 1024
    """Vnodes system-wide (MINIX's NR_VNODES): past it, ENFILE."""
    nr_locks: int = 8
    """fcntl record locks system-wide (MINIX's NR_LOCKS): past it, ENOLCK."""
    filps_used: int = 0
    """Filps in use or claimed by an open in progress (vfs.open.claim_filps)."""
    vnode_claims: int = 0
    """Vnode slots claimed by lookups in progress (Vfs.claim_vnode)."""
    locks: list[FileLock] = field(default_factory=list)
    """The record-lock table (vfs.lock)."""
    lock_waiters: list[Fproc] = field(default_factory=list)
    """Processes parked in F_SETLKW, in arrival order (vfs.lock)."""

    def claim_vnode(self) -> None:
        """Reserve a vnode slot before asking a file server for an inode (ENFILE).

        As MINIX's ``get_free_vnode`` before a lookup: the table must have room for
        the answer even if it turns out to be a vnode already in use. Give the claim
        back with :meth:`unclaim_vnode` once the answer is in the table.
        """
        self.vnode_room()
        self.vnode_claims += 1

    def vnode_room(self) -> None:
        """ENFILE unless the vnode table has a slot that is neither used nor claimed."""
        if len(self.vnodes) + self.vnode_claims >= self.nr_vnodes:
            raise VfsError(errno.ENFILE, "vnode table full")

    def unclaim_vnode(self) -> None:
        """Give back a claim of :meth:`claim_vnode`."""
        self.vnode_claims -= 1

    def available(self) -> int:
        """Workers not bound to a process."""
        return self.nworkers - self.busy

    def fproc(self, endpoint: int) -> Fproc:
        """The fproc of ``endpoint``, created (cwd and root at /, ids 0) on first use."""
        fp = self.fprocs.get(endpoint)
        if fp is None:
            fp = Fproc(endpoint, Mutex(self.kernel))
            root = self.root_vmnt.root if self.root_vmnt is not None else None
            if root is not None:
                root.ref += 2
                fp.root = fp.cwd = root
            try:
                fp.system = self.kernel.lookup(endpoint).priv.sys_proc
            except OSError:
                fp.system = False
            self.fprocs[endpoint] = fp
        return fp


@dataclass(slots=True, eq=False)
class Job:
    """One call being carried out by a worker for a process."""

    vfs: Vfs
    worker: Worker
    fp: Fproc
    msg: Message

    @property
    def p(self) -> Process:
        """The worker thread's kernel handle."""
        return self.worker.handle

    # -- file-server requests --------------------------------------------------------

    async def fs_call(self, fs_e: int, req: fsp.FsRequest) -> Message:
        """Send ``req`` to ``fs_e`` and wait for its reply; raises VfsError on failure.

        Blocks this worker (not the dispatcher) until the reply arrives.
        """
        w = self.worker
        req.tid = next(self.vfs.tids)
        w.reply = None
        self.vfs.waiting[req.tid] = w
        try:
            await self.p.senda(fs_e, req)
        except OSError as exc:
            del self.vfs.waiting[req.tid]
            raise VfsError(errno.EIO, f"file server {fs_e} unreachable: {exc}") from exc
        while w.reply is None:
            await w.cond.wait()
        reply, w.reply = w.reply, None
        status = getattr(reply, "status", 0)
        if status:
            raise VfsError(status)
        return reply

    async def vm_handlemem(self, ep: int, addr: int, length: int, *, write: bool) -> None:
        """Ask VM to make ``[addr, +length)`` of ``ep`` present (the CPF_TRY flow).

        Blocks this worker on the VFS-wide VM lock and then on VM's reply.

        Raises:
            VfsError: EFAULT if VM cannot (or there is no VM).
        """
        from kernel.com import VM_PROC_NR
        from vm.protocol import VmHandleMem

        vfs, w = self.vfs, self.worker
        assert vfs.vm_lock is not None
        async with vfs.vm_lock:
            w.reply = None
            vfs.vm_waiter = w
            try:
                await self.p.senda(VM_PROC_NR, VmHandleMem(ep, addr, length, write))
            except OSError as exc:
                vfs.vm_waiter = None
                raise VfsError(errno.EFAULT, f"no VM: {exc}") from exc
            while w.reply is None:
                await w.cond.wait()
            reply, w.reply = w.reply, None
        if getattr(reply, "status", errno.EFAULT):
            raise VfsError(errno.EFAULT)

    async def try_copy(
        self,
        fs_e: int,
        ep: int,
        addr: int,
        length: int,
        access: int,
        make: Callable[[int], fsp.FsRequest],
    ) -> Message:
        """A file-server request on a magic grant of ``ep``'s memory, with CPF_TRY.

        If the file server's copy meets a missing page it fails with EFAULT instead of
        waiting for VM inside the kernel (which could deadlock when VM needs VFS); the
        revoked grant then says GRANT_FAULTED, VFS asks VM to bring the range in, and
        the request runs once more. Reads and writes are idempotent for this: a file
        server copies a write's data in before changing anything.
        """
        for attempt in range(2):
            gid = self.p.grant_magic(fs_e, ep, addr, length, access | CPF_TRY)
            try:
                r = await self.fs_call(fs_e, make(gid))
            except VfsError as exc:
                faulted = self.p.revoke(gid) == GRANT_FAULTED
                if exc.errno == errno.EFAULT and faulted and attempt == 0:
                    await self.vm_handlemem(ep, addr, length, write=bool(access & CPF_WRITE))
                    continue
                raise
            self.p.revoke(gid)
            return r
        raise AssertionError("unreachable")  # pragma: no cover

    async def named(
        self, fs_e: int, req: Callable[..., fsp.FsRequest], name: bytes, **kw: object
    ) -> Message:
        """A request naming ``name``: VFS grants its own copy of the name."""
        buf = bytearray(name)
        gid = self.p.grant_buffer(fs_e, buf, CPF_READ)
        try:
            return await self.fs_call(fs_e, req(grant=gid, length=len(buf), **kw))
        finally:
            self.p.revoke(gid)

    # -- vnodes -----------------------------------------------------------------------

    def get_vnode(self, vmnt: Vmnt, r: Message) -> Vnode:
        """The vnode for the inode in NodeReply ``r`` (which gave one FS reference)."""
        assert isinstance(r, fsp.NodeReply)
        key = (vmnt.fs_e, r.ino)
        v = self.vfs.vnodes.get(key)
        if v is None:
            v = Vnode(
                vmnt.fs_e, r.ino, r.mode, r.size, r.uid, r.gid, r.rdev, TLL(self.vfs.kernel), vmnt
            )
            self.vfs.vnodes[key] = v
        else:
            v.mode, v.size, v.uid, v.gid = r.mode, r.size, r.uid, r.gid
        v.ref += 1
        v.fs_refs += 1
        return v

    def dup_vnode(self, v: Vnode) -> Vnode:
        """One more VFS reference to ``v``."""
        v.ref += 1
        return v

    async def put_vnode(self, v: Vnode | None) -> None:
        """Drop a reference; the last one gives the FS its references back (blocks)."""
        if v is None:
            return
        v.ref -= 1
        if v.ref > 0:
            return
        self.vfs.vnodes.pop((v.fs_e, v.ino), None)
        if v.fs_refs:
            count, v.fs_refs = v.fs_refs, 0
            try:
                await self.fs_call(v.fs_e, fsp.ReqPutnode(ino=v.ino, count=count))
            except VfsError:
                pass  # the inode is gone for VFS either way

    async def refresh(self, v: Vnode) -> fsp.NodeReply:
        """Ask the FS for ``v``'s current attributes and update the vnode."""
        r = await self.fs_call(v.fs_e, fsp.ReqStat(ino=v.ino))
        assert isinstance(r, fsp.NodeReply)
        v.mode, v.size, v.uid, v.gid, v.rdev = r.mode, r.size, r.uid, r.gid, r.rdev
        return r

    # -- user memory ------------------------------------------------------------------

    async def copy_path(self, addr: int, length: int) -> bytes:
        """Read a path argument from the caller (ENAMETOOLONG, EFAULT, ENOENT if empty)."""
        from vfs.protocol import PATH_MAX

        if length <= 0:
            raise VfsError(errno.ENOENT, "empty path")
        if length >= PATH_MAX:
            raise VfsError(errno.ENAMETOOLONG)
        try:
            data = await self.p.datacopy_from(self.fp.endpoint, addr, length)
        except OSError as exc:
            raise VfsError(errno.EFAULT) from exc
        return data.split(b"\0", 1)[0]

    async def copy_out(self, addr: int, data: bytes) -> None:
        """Write ``data`` into the caller's memory (EFAULT)."""
        try:
            await self.p.datacopy_to(self.fp.endpoint, addr, data)
        except OSError as exc:
            raise VfsError(errno.EFAULT) from exc


@asynccontextmanager
async def locked(tll: TLL, mode: Mode) -> AsyncIterator[None]:
    """Hold ``tll`` in ``mode`` for a block (not released if it was already ours)."""
    mine = await tll.lock(mode) == 0
    try:
        yield
    finally:
        if mine:
            await tll.unlock()


def permitted(fp: Fproc, v: Vnode, want: int, *, real: bool = False) -> bool:
    """Whether ``fp`` has the rights ``want`` (4 r, 2 w, 1 x) on ``v``.

    Root may do anything except execute a file nobody may execute. ``real`` checks the
    real ids (access()).
    """
    uid, gid = (fp.uid, fp.gid) if real else (fp.euid, fp.egid)
    if uid == 0:
        return not (want & 1) or v.is_dir or bool(v.mode & 0o111)
    if uid == v.uid:
        bits = (v.mode >> 6) & 7
    elif gid == v.gid:
        bits = (v.mode >> 3) & 7
    else:
        bits = v.mode & 7
    return bits & want == want


async def send_reply(
    p: Process, endpoint: int, status: int, value: int = 0, value2: int = 0
) -> None:
    """Answer a system call without blocking (MINIX's reply with ipc_sendnb).

    A caller that is gone, or not waiting for us, loses the reply.
    """
    try:
        await p.sendnb(endpoint, VfsReply(status, value, value2))
    except OSError:
        pass


@dataclass(slots=True)
class Revive(Message):
    """Internal work item: restart a suspended pipe call of this process (never sent)."""


def start_work(vfs: Vfs, fp: Fproc, work: Message, *, pm: bool = False) -> Worker | None:
    """Give ``work`` to ``fp``: bind a free worker, or leave it pending in the fproc.

    Never blocks; returns the worker to wake (the caller signals it) or None. Normal
    work needs two free workers unless the caller is a system process: the last one is
    the spare (MINIX's deadlock resolver).
    """
    if pm:
        fp.pending_pm = work
    else:
        fp.pending = work
    if fp.worker is not None:
        return None  # the bound worker runs it after the current job
    if vfs.available() < (1 if fp.system else 2) or not vfs.free:
        return None
    w = vfs.free.popleft()
    w.fp = fp
    fp.worker = w
    vfs.busy += 1
    return w
