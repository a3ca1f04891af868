"""Pipes and FIFOs (MINIX's ``pipe.c`` and ``open.c:pipe_open``; reference §8, §9).

There is no PFS yet: a pipe's data lives in its vnode (``Vnode.pipe``, at most
:data:`~vfs.protocol.PIPE_BUF` bytes). An anonymous pipe's vnode belongs to no file
server; a FIFO's vnode is the file server's inode, and only its data is VFS's.

How a blocking call parks and revives: a read of an empty pipe that still has writers,
or a write that does not fit, records what it was doing in the fproc (``blocked_on``,
``resume``: filp, buffer, count, bytes already moved), puts the fproc on the vnode's
``waiting`` list and returns SUSPEND: the worker replies nothing and is freed, the
process stays blocked in its sendrec. When the other side moves data (or closes), it
takes the waiters off the list and starts a :class:`~vfs.context.Revive` work item for
each (:func:`~vfs.context.start_work`); a worker then runs :func:`do_pending_pipe`,
which retries the call with the saved progress and replies, or parks it again. PM's
unpause ends a parked call: the bytes moved so far, else EINTR.

EPIPE: a write with no reader fails with EPIPE and raises SIGPIPE on the writer
(a kernel call, MINIX's sys_kill: the kernel hands the signal to PM and holds the
writer until PM has acted on it).
"""

from __future__ import annotations

import errno
import itertools
import os
import stat
from typing import TYPE_CHECKING

from kernel.endpoint import NONE
from servers.pm.protocol import SIGPIPE
from vfs.context import SUSPEND, Job, Revive, Suspend, VfsError, send_reply, start_work
from vfs.filp import R_BIT, W_BIT
from vfs.fproc import BLOCKED_CDEV, BLOCKED_NONE, BLOCKED_PIPE, BLOCKED_POPEN, BLOCKED_SELECT
from vfs.protocol import PIPE_BUF, VfsPipe
from vfs.tll import TLL
from vfs.vnode import Vnode

if TYPE_CHECKING:
    from vfs.context import Vfs
    from vfs.filp import Filp
    from vfs.fproc import Fproc

_pipe_inos = itertools.count(1)


def new_anon_ino() -> int:
    """A fresh inode number for a vnode of VFS's own (negative: no file server has it)."""
    return -next(_pipe_inos)


async def _wake(job: Job, v: Vnode) -> None:
    """Start every process parked on ``v`` again (they recheck their condition).

    Also re-judges the selects waiting on ``v`` (vfs.select).
    """
    from vfs import select

    await select.pipe_event(job.vfs, job.p, v)
    waiters, v.waiting = v.waiting, []
    for fp in waiters:
        assert isinstance(fp, type(job.fp))
        if fp.blocked_on == BLOCKED_PIPE:
            w = start_work(job.vfs, fp, Revive())
            if w is not None:
                await w.cond.signal()
        elif fp.blocked_on == BLOCKED_POPEN and _has_peer(v, fp.resume[1]):
            fp.blocked_on = BLOCKED_NONE
            await send_reply(job.p, fp.endpoint, 0, fp.resume[0])
        else:
            v.waiting.append(fp)


def _has_peer(v: Vnode, bits: int) -> bool:
    return (v.writers if bits & R_BIT else v.readers) > 0


def _open_end(v: Vnode, bits: int) -> None:
    if v.pipe is None or (v.readers == 0 and v.writers == 0):
        v.pipe = bytearray()  # the first opener drops leftover data
    if bits & R_BIT:
        v.readers += 1
    if bits & W_BIT:
        v.writers += 1


async def do_pipe(job: Job) -> tuple[int, int]:
    """pipe2(flags) -> (read fd, write fd)."""
    from vfs.open import claim_filps, get_fd, install, new_filp

    m = job.msg
    assert isinstance(m, VfsPipe)
    fp, vfs = job.fp, job.vfs
    assert vfs.root_vmnt is not None
    rfd = get_fd(fp)
    wfd = get_fd(fp, rfd + 1)
    vfs.vnode_room()  # ENFILE; nothing below blocks, so the slot stays free
    claim_filps(vfs, 2)  # ENFILE
    ino = new_anon_ino()
    v = Vnode(
        NONE, ino, stat.S_IFIFO | 0o600, 0, fp.euid, fp.egid, 0, TLL(vfs.kernel), vfs.root_vmnt
    )
    v.ref = 2
    vfs.vnodes[(NONE, ino)] = v
    _open_end(v, R_BIT)
    _open_end(v, W_BIT)
    cloexec = bool(m.flags & os.O_CLOEXEC)
    install(fp, rfd, new_filp(vfs, v, R_BIT, m.flags), cloexec=cloexec)
    install(fp, wfd, new_filp(vfs, v, W_BIT, m.flags), cloexec=cloexec)
    return rfd, wfd


async def fifo_open(job: Job, v: Vnode, fd: int, bits: int, flags: int) -> int | Suspend:
    """Open a FIFO (the caller's vnode reference goes to the new filp).

    O_RDWR is ENXIO (as in MINIX); a non-blocking writer with no reader is ENXIO; a
    blocking opener with no peer is parked until one opens (returns SUSPEND).
    """
    from vfs.open import install, new_filp

    if bits == R_BIT | W_BIT:
        raise VfsError(errno.ENXIO, "FIFO opened for reading and writing")
    if flags & os.O_NONBLOCK and bits & W_BIT and v.readers == 0:
        raise VfsError(errno.ENXIO, "no reader")
    fp = job.fp
    _open_end(v, bits)
    install(
        fp, fd, new_filp(job.vfs, v, bits, flags | os.O_APPEND), cloexec=bool(flags & os.O_CLOEXEC)
    )
    # Decide before _wake awaits: a peer that is here now may open, use and close
    # its end before we look again, and must still count as met.
    park = not _has_peer(v, bits) and not flags & os.O_NONBLOCK
    if park:
        fp.blocked_on = BLOCKED_POPEN
        fp.resume = (fd, bits)
        v.waiting.append(fp)
    await _wake(job, v)
    return SUSPEND if park else fd


async def release(job: Job, f: Filp) -> None:
    """A descriptor on a pipe end closed; the last close of an end wakes the other side."""
    if f.count > 0:
        return
    v = f.vnode
    if f.mode & R_BIT:
        v.readers -= 1
    if f.mode & W_BIT:
        v.writers -= 1
    await _wake(job, v)


async def rw_pipe(job: Job, f: Filp, buf: int, n: int, *, write: bool, cum: int) -> int | Suspend:
    """Move data for a pipe read or write; returns the total count or SUSPEND."""
    fp, v = job.fp, f.vnode
    assert v.pipe is not None
    data = v.pipe
    nonblock = bool(f.flags & os.O_NONBLOCK)
    if not write:
        if n == 0:
            return 0
        if not data:
            if v.writers == 0:
                return 0  # end of file
            if nonblock:
                raise VfsError(errno.EAGAIN)
            return _park(fp, v, f, buf, n, write, cum)
        chunk = bytes(data[:n])
        # Take the bytes before the copy awaits: another reader revived meanwhile
        # must not read them again (no vnode lock is held here).
        del data[: len(chunk)]
        try:
            await job.copy_out(buf, chunk)
        except BaseException:
            data[:0] = chunk
            raise
        await _wake(job, v)
        return len(chunk)
    while True:
        if v.readers == 0:
            if cum:
                return cum
            # POSIX: the writer also gets SIGPIPE. The kernel holds it until PM has acted,
            # so with the default action it dies before it can see the EPIPE.
            await job.p.cause_sig(fp.endpoint, SIGPIPE)
            raise VfsError(errno.EPIPE)
        left = n - cum
        space = PIPE_BUF - len(data)
        if left == 0:
            return cum
        if left <= space:
            take = left
        elif left <= PIPE_BUF or space == 0:
            # an atomic write waits for room for all of it; a full pipe takes nothing
            if nonblock:
                if cum:
                    return cum
                raise VfsError(errno.EAGAIN)
            # Parked with no await since the room was checked: a reader that drains
            # the pipe from now on finds this writer waiting and wakes it.
            return _park(fp, v, f, buf, n, write, cum)
        else:
            take = space  # a write larger than PIPE_BUF goes in pieces
        chunk = await _copy_in(job, buf + cum, take)
        # The copy awaited: decide again if a writer took the room or the readers left.
        if v.readers == 0 or len(data) + take > PIPE_BUF:
            continue
        data += chunk
        cum += take
        await _wake(job, v)
        if cum < n and nonblock:
            return cum
        # More to write: look at the pipe again (the wake-up awaited, so readers may
        # have drained it meanwhile; parking now without looking would miss them).


async def _copy_in(job: Job, addr: int, n: int) -> bytes:
    try:
        return await job.p.datacopy_from(job.fp.endpoint, addr, n)
    except OSError as exc:
        raise VfsError(errno.EFAULT) from exc


def _park(fp: Fproc, v: Vnode, f: Filp, buf: int, n: int, write: bool, cum: int) -> int | Suspend:
    fp.blocked_on = BLOCKED_PIPE
    fp.resume = (f, buf, n, write, cum)
    v.waiting.append(fp)
    return SUSPEND


async def do_pending_pipe(job: Job) -> int | Suspend:
    """Retry a parked pipe call (a worker bound to the revived process runs this)."""
    fp = job.fp
    if fp.blocked_on != BLOCKED_PIPE:
        return SUSPEND  # unpaused meanwhile: already answered
    f, buf, n, write, cum = fp.resume
    fp.blocked_on, fp.resume = BLOCKED_NONE, None
    return await rw_pipe(job, f, buf, n, write=write, cum=cum)


async def unpause(job: Job, fp: Fproc) -> None:
    """End ``fp``'s parked call: reply the bytes moved so far, else EINTR (§9).

    A select ends with EINTR and the sets untouched; a driver request is cancelled
    (vfs.device.cancel).
    """
    kind = fp.blocked_on
    if kind == BLOCKED_NONE:
        return
    if kind == BLOCKED_SELECT:
        from vfs import select

        await select.forget(job.vfs, job.p, fp, reply=True)
        return
    if kind == BLOCKED_CDEV:
        from vfs import device

        await device.cancel(job, fp)
        return
    fp.blocked_on = BLOCKED_NONE
    resume, fp.resume = fp.resume, None
    for v in list(job.vfs.vnodes.values()):
        if fp in v.waiting:
            v.waiting.remove(fp)
    if kind == BLOCKED_PIPE and resume[4] > 0:
        await send_reply(job.p, fp.endpoint, 0, resume[4])
        return
    if kind == BLOCKED_POPEN:
        from vfs.open import close_fd

        await close_fd(job, fp, resume[0])
    await send_reply(job.p, fp.endpoint, errno.EINTR)


def forget(vfs: Vfs, fp: Fproc) -> None:
    """``fp`` is exiting: take it off every wait list."""
    fp.blocked_on = BLOCKED_NONE
    for v in vfs.vnodes.values():
        if fp in v.waiting:
            v.waiting.remove(fp)
