"""The VFS server: its dispatcher thread, its worker pool, and the call table.

:func:`make_vfs` returns VFS's ``main``. The main thread mounts the root file system,
starts the workers and becomes the *dispatcher*: it blocks only in ``receive(ANY)``
and handles everything that arrives without blocking:

- a file server's reply goes to the worker waiting for that transaction id (its
  kernel condition is signalled);
- PM's fork, set-ids and setsid notices are carried out at once (pure table updates)
  and answered; exit, exec and unpause become *postponed* PM work for a worker bound
  to the target process, run after any call of that process in progress;
- anything else is a system call: it becomes the caller's pending work, and a free
  worker is bound to the process (:func:`vfs.context.start_work`). Normal work needs
  two free workers, a system process one: the last worker is kept for system
  processes. Work that finds no worker waits in its fproc; a worker that finishes
  takes such work itself;
- except a read or write of a character device, which never waits in VFS: when the
  process has no worker, the dispatcher carries it out itself
  (:func:`vfs.readwrite.is_cdev_rw`).

A worker holds its process's lock for the whole job; it blocks in file-server
requests (:meth:`vfs.context.Job.fs_call`), in vnode and filp locks, and in kernel
copies; a call that must wait for another process (pipes) suspends instead and frees
the worker (:mod:`vfs.pipe`). Lock order: proc > vmnt > vnode > filp.
"""

from __future__ import annotations

import errno
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
import structlog

from chardev.protocol import CdevReply
from fs import protocol as fsp
from kernel.com import PM_PROC_NR, ROOT_FS_PROC_NR, VM_PROC_NR
from kernel.endpoint import ANY
from kernel.sync import Condition, Mutex
from servers.pm.protocol import (
    PmVfsExec,
    PmVfsExecRead,
    PmVfsExit,
    PmVfsFork,
    PmVfsSetids,
    PmVfsSetsid,
    PmVfsUnpause,
    VfsPmReply,
)
from vfs import device, dmap, execread, link, lock, misc, mount, pipe, readwrite, select, vmfile
from vfs import open as vopen
from vfs import protocol as P
from vfs.context import (
    SUSPEND,
    Job,
    Revive,
    Suspend,
    Vfs,
    VfsError,
    Worker,
    send_reply,
    start_work,
)
from vfs.fproc import BLOCKED_LOCK
from vfs.tll import TLL
from vfs.vmnt import Vmnt
from vfs.vnode import Vnode
from vm.protocol import VmReply, VmVfsClose, VmVfsOpen, VmVfsRead

if TYPE_CHECKING:
    from kernel.message import Message
    from kernel.process import Process
    from vfs.fproc import Fproc

log = structlog.get_logger("asynix.vfs")

Handler = Callable[[Job], Awaitable[Any]]

CALLS: dict[type[Message], Handler] = {
    P.VfsOpen: vopen.do_open,
    P.VfsClose: vopen.do_close,
    P.VfsRead: readwrite.do_read,
    P.VfsWrite: readwrite.do_write,
    P.VfsLseek: readwrite.do_lseek,
    P.VfsGetdents: readwrite.do_getdents,
    P.VfsFcntl: misc.do_fcntl,
    P.VfsDup: misc.do_dup,
    P.VfsDup2: misc.do_dup2,
    P.VfsUmask: misc.do_umask,
    P.VfsChdir: misc.do_chdir,
    P.VfsFchdir: misc.do_fchdir,
    P.VfsGetcwd: misc.do_getcwd,
    P.VfsStat: misc.do_stat,
    P.VfsLstat: misc.do_stat,
    P.VfsFstat: misc.do_fstat,
    P.VfsChmod: misc.do_chmod,
    P.VfsFchmod: misc.do_fchmod,
    P.VfsUtimens: misc.do_utimens,
    P.VfsChown: misc.do_chown,
    P.VfsTruncate: misc.do_truncate,
    P.VfsFtruncate: misc.do_ftruncate,
    P.VfsAccess: misc.do_access,
    P.VfsMkdir: link.do_mkdir,
    P.VfsMknod: link.do_mknod,
    P.VfsUnlink: link.do_unlink,
    P.VfsRmdir: link.do_rmdir,
    P.VfsRename: link.do_rename,
    P.VfsLink: link.do_link,
    P.VfsSymlink: link.do_symlink,
    P.VfsReadlink: link.do_readlink,
    P.VfsPipe: pipe.do_pipe,
    P.VfsMount: mount.do_mount,
    P.VfsUmount: mount.do_umount,
    P.VfsGetvfsstat: mount.do_getvfsstat,
    P.VfsSync: misc.do_sync,
    P.VfsSelect: select.do_select,
    P.VfsIoctl: device.do_ioctl,
    Revive: pipe.do_pending_pipe,
    vmfile.VmWork: vmfile.do_vm_work,
}

_FS_REPLIES = (fsp.FsReply, fsp.NodeReply, fsp.IoReply)
_SYSCALLS = frozenset(CALLS) - {Revive, vmfile.VmWork}
"""The messages a process may send VFS (the rest of CALLS are VFS's own work items)."""


def _kernel_failure(msg: Message, exc: OSError) -> int:
    """The errno for a call that a kernel call (a copy, a grant) failed under.

    The call fails, VFS lives. Kernel-only codes (>= 1000) are not POSIX errnos: EIO.
    """
    log.warning("call failed in the kernel", call=msg.mtype, error=str(exc))
    return exc.errno if isinstance(exc.errno, int) and 0 < exc.errno < 1000 else errno.EIO


async def _run_call(vfs: Vfs, w: Worker, fp: Fproc, msg: Message) -> None:
    job = Job(vfs, w, fp, msg)
    handler = CALLS.get(type(msg))
    status, value, value2 = 0, 0, 0
    try:
        if handler is None:
            raise VfsError(errno.ENOSYS, type(msg).__name__)
        result = await handler(job)
    except VfsError as exc:
        status = exc.errno
    except OSError as exc:
        status = _kernel_failure(msg, exc)
    else:
        if result is SUSPEND or isinstance(msg, vmfile.VmWork):
            return  # no reply now (the kernel tracer shows the wait)
        if isinstance(result, tuple):
            value, value2 = result
        else:
            value = result
    await send_reply(w.handle, fp.endpoint, status, value, value2)


async def _run_cdev_rw(vfs: Vfs, p: Process, fp: Fproc, msg: P.VfsRead | P.VfsWrite) -> None:
    """Carry out a character device's read or write on the dispatcher ``p`` itself.

    It never waits (:func:`vfs.readwrite.is_cdev_rw`), so the dispatcher spares the
    hand-off to a worker and back: the call usually just suspends the process until
    the driver's reply, which the dispatcher handles anyway.
    """
    try:
        result = await readwrite.cdev_rw(vfs, p, fp, msg)
    except VfsError as exc:
        await send_reply(p, fp.endpoint, exc.errno)
    except OSError as exc:
        await send_reply(p, fp.endpoint, _kernel_failure(msg, exc))
    else:
        if not isinstance(result, Suspend):
            await send_reply(p, fp.endpoint, 0, result)


async def _exit(job: Job, fp: Fproc) -> None:
    await device.forget(job, fp)
    pipe.forget(job.vfs, fp)
    await lock.release_all(job, fp)
    for fd in sorted(fp.fds):
        await vopen.close_fd(job, fp, fd)
    cwd, root, fp.cwd, fp.root = fp.cwd, fp.root, None, None
    await job.put_vnode(cwd)
    await job.put_vnode(root)
    job.vfs.fprocs.pop(fp.endpoint, None)


async def _run_pm(vfs: Vfs, w: Worker, fp: Fproc, msg: Message) -> None:
    job = Job(vfs, w, fp, msg)
    status = value = 0
    try:
        if isinstance(msg, PmVfsExit):
            fp.exiting = True
            await _exit(job, fp)
        elif isinstance(msg, PmVfsExecRead):
            value = await execread.read_program(job, msg)
        elif isinstance(msg, PmVfsExec):
            for fd in sorted(fp.cloexec):
                await vopen.close_fd(job, fp, fd)
        elif isinstance(msg, PmVfsUnpause) and fp.blocked_on == BLOCKED_LOCK:
            await lock.unpause(job, fp)
        elif isinstance(msg, PmVfsUnpause):
            await pipe.unpause(job, fp)
    except VfsError as exc:
        status = exc.errno
    except OSError as exc:
        log.warning("PM work failed in the kernel", call=msg.mtype, error=str(exc))
        status = exc.errno if isinstance(exc.errno, int) and 0 < exc.errno < 1000 else errno.EIO
    await _pm_reply(w.handle, msg, status, value)


async def _pm_reply(p: Process, msg: Message, status: int, value: int = 0) -> None:
    ep = getattr(msg, "ep", getattr(msg, "child", 0))
    try:
        await p.senda(msg.m_source, VfsPmReply(ep, msg.mtype, status, value))
    except OSError as exc:
        log.warning("PM unreachable", error=str(exc))


async def _worker_main(vfs: Vfs, w: Worker) -> None:
    """A worker's life: wait to be bound to a process, run its work, repeat."""
    await w.mutex.lock()  # held for good, except inside cond.wait()
    while True:
        while w.fp is None:
            await w.cond.wait()
        fp = w.fp
        async with fp.lock:
            while True:
                if fp.pending is not None:
                    msg, fp.pending = fp.pending, None
                    await _run_call(vfs, w, fp, msg)
                elif fp.pending_pm is not None:
                    msg, fp.pending_pm = fp.pending_pm, None
                    await _run_pm(vfs, w, fp, msg)
                else:
                    fp.worker = None
                    break
        w.fp = None
        vfs.busy -= 1
        for other in list(vfs.fprocs.values()):
            # Pending work of a user process never takes the spare; a system process's may.
            if vfs.available() < (1 if other.system else 2):
                continue
            if other.worker is None and (other.pending or other.pending_pm):
                w.fp, other.worker = other, w
                vfs.busy += 1
                break
        if w.fp is None:
            vfs.free.append(w)


def _fork(vfs: Vfs, m: PmVfsFork) -> None:
    parent = vfs.fproc(m.parent)
    child = vfs.fproc(m.child)
    child.fds = dict(parent.fds)
    for f in child.fds.values():
        f.count += 1
    # The child's lazily made cwd/root references are replaced by the parent's.
    for v in (child.cwd, child.root):
        if v is not None:
            v.ref -= 1
    child.cwd, child.root = parent.cwd, parent.root
    for v in (child.cwd, child.root):
        if v is not None:
            v.ref += 1
    child.cloexec = set(parent.cloexec)
    child.umask = parent.umask
    child.uid, child.gid, child.euid, child.egid = parent.uid, parent.gid, parent.euid, parent.egid
    child.pid = m.child_pid


def make_vfs(
    *,
    workers: int = 9,
    root_fs: int = ROOT_FS_PROC_NR,
    pm: int = PM_PROC_NR,
    on_start: Callable[[Vfs], None] | None = None,
    nr_filps: int = 1024,
    nr_vnodes: int = 1024,
    nr_locks: int = P.NR_LOCKS,
) -> Callable[[Process], Awaitable[None]]:
    """VFS's ``main``, with ``workers`` worker threads, mounting ``root_fs`` at /.

    ``pm`` is the endpoint whose PmVfs* notices VFS obeys; ``on_start`` receives VFS's
    state once it is up (for tests and debugging tools). ``nr_filps``, ``nr_vnodes``
    and ``nr_locks`` size the tables (MINIX's NR_FILPS, NR_VNODES, NR_LOCKS).
    """
    if workers < 2:
        raise ValueError("VFS needs at least two workers (one is the spare)")

    async def main(p: Process) -> None:
        vfs = Vfs(p.kernel, workers, nr_filps=nr_filps, nr_vnodes=nr_vnodes, nr_locks=nr_locks)
        vfs.vm_lock = Mutex(p.kernel)
        blog = log.bind(endpoint=p.endpoint)
        r = await p.sendrec(root_fs, fsp.ReqMount(tid=0, dev=0))
        if not isinstance(r, fsp.NodeReply) or r.status:
            raise RuntimeError(f"cannot mount the root file system: {r}")
        vmnt = Vmnt(root_fs, 0, TLL(p.kernel))
        vmnt.label = vmnt.source = (await p.getinfo(root_fs))[0].encode()
        root = Vnode(root_fs, r.ino, r.mode, r.size, r.uid, r.gid, r.rdev, TLL(p.kernel), vmnt)
        root.ref, root.fs_refs = 1, 1
        vmnt.root = root
        vfs.vmnts.append(vmnt)
        vfs.root_vmnt = vmnt
        vfs.vnodes[(root_fs, r.ino)] = root
        for i in range(workers):
            mx = Mutex(p.kernel)
            holder: list[Worker] = []

            async def body(h: Process, holder: list[Worker] = holder) -> None:
                try:
                    await _worker_main(vfs, holder[0])
                except Exception as exc:
                    cancelled = anyio.get_cancelled_exc_class()
                    if isinstance(exc.__context__, cancelled):
                        # cleanup (a finally making a kernel call) met the kernel's
                        # cancellation of this thread: let the cancellation go on
                        raise exc.__context__ from None
                    # The kernel does not wrap a secondary thread as it wraps a process:
                    # an exception here would take the whole simulation down.
                    log.error("worker thread died", worker=holder[0].tid, error=repr(exc))

            handle = p.start_thread(f"worker{i}", body)
            w = Worker(i, handle, mx, Condition(p.kernel, mx))
            holder.append(w)
            vfs.workers.append(w)
            vfs.free.append(w)
        blog.info("vfs up", workers=workers, root_fs=root_fs)
        if on_start is not None:
            on_start(vfs)
        while True:
            msg = await p.receive(ANY)
            await _dispatch(vfs, p, msg, pm)

    return main


async def _dispatch(vfs: Vfs, p: Process, m: Message, pm: int) -> None:
    """Handle one message on the dispatcher thread; never blocks."""
    # The common cases first (the kinds of message are disjoint): a system call, and a
    # character driver's answer, which wakes a worker or revives a suspended process.
    if type(m) in _SYSCALLS:
        await _syscall(vfs, p, m)
        return
    if isinstance(m, CdevReply):
        await device.cdev_reply(vfs, p, m)
        return
    src = m.m_source
    if isinstance(m, _FS_REPLIES):
        w = vfs.waiting.pop(m.tid, None)
        if w is None:
            log.warning("stray file-server reply", src=src, tid=m.tid)
            return
        w.reply = m
        await w.cond.signal()
        return
    if src == VM_PROC_NR and isinstance(m, VmReply):
        w = vfs.vm_waiter
        if w is None:
            log.warning("stray VM reply")
            return
        vfs.vm_waiter = None
        w.reply = m
        await w.cond.signal()
        return
    if src == VM_PROC_NR and isinstance(m, VmVfsOpen | VmVfsRead | VmVfsClose):
        vfs.vm_queue.append(m)
        w = start_work(vfs, vfs.fproc(src), vmfile.VmWork())
        if w is not None:
            await w.cond.signal()
        return
    if src == pm and isinstance(m, PmVfsFork | PmVfsSetids | PmVfsSetsid):
        if isinstance(m, PmVfsFork):
            _fork(vfs, m)
        elif isinstance(m, PmVfsSetids):
            fp = vfs.fproc(m.ep)
            fp.uid, fp.euid, fp.gid, fp.egid = m.uid, m.euid, m.gid, m.egid
        else:
            fp = vfs.fproc(m.ep)
            fp.sesldr, fp.tty = True, 0
        await _pm_reply(p, m, 0)
        return
    if src == pm and isinstance(m, PmVfsExit | PmVfsExecRead | PmVfsExec | PmVfsUnpause):
        fp0 = vfs.fprocs.get(m.ep)
        if fp0 is None:
            await _pm_reply(p, m, 0)
            return
        w = start_work(vfs, fp0, m, pm=True)
        if w is not None:
            await w.cond.signal()
        return
    if await dmap.dispatch(vfs, p, m):
        return  # drivers' select replies, RS's notices, CLOCK (select timeouts)
    if type(m).__name__ != "Notify":
        await send_reply(p, src, errno.ENOSYS)


async def _syscall(vfs: Vfs, p: Process, m: Message) -> None:
    """A process's system call: start it on the dispatcher or hand it to a worker."""
    src = m.m_source
    fp = vfs.fproc(src)
    if fp.pending is not None or fp.blocked_on:
        log.warning("process has two calls", endpoint=src, call=m.mtype)
        return
    if fp.worker is None and fp.pending_pm is None and readwrite.is_cdev_rw(m, fp):
        # No worker holds fp.lock, and none can be bound to fp before this returns.
        await _run_cdev_rw(vfs, p, fp, m)
        return
    w = start_work(vfs, fp, m)
    if w is not None:
        await w.cond.signal()


main = make_vfs()
"""VFS with the default nine workers and the root file system at ROOT_FS_PROC_NR."""
