"""read, write, lseek and getdents (MINIX's ``read.c``, ``misc.c``).

Regular files: the vnode is locked READ for a read and WRITE for a write, then the
filp's mutex (order vnode > filp); the file server copies straight to or from the
caller's buffer through a magic grant VFS makes on the caller's memory, so the data
never passes through VFS. Pipes and FIFOs go to :mod:`vfs.pipe`, character devices to
:mod:`vfs.device` (the process is suspended until the driver answers; the filp's
position, which lseek sets, is passed to the driver and advanced by the count). A
character device's read or write never waits in VFS, so the dispatcher carries it out
itself when the process has no worker (:func:`is_cdev_rw`, :func:`cdev_rw`).
"""

from __future__ import annotations

import errno
import os
import stat
from typing import TYPE_CHECKING, TypeGuard

from fs import protocol as fsp
from kernel.grants import CPF_READ, CPF_WRITE
from vfs import device, pipe
from vfs.context import Job, Suspend, VfsError, locked
from vfs.filp import R_BIT, W_BIT
from vfs.open import get_filp
from vfs.protocol import VfsGetdents, VfsLseek, VfsRead, VfsWrite
from vfs.tll import Mode

if TYPE_CHECKING:
    from kernel.message import Message
    from kernel.process import Process
    from vfs.context import Vfs
    from vfs.filp import Filp
    from vfs.fproc import Fproc
    from vfs.vnode import Vnode

SSIZE_MAX = 2**31 - 1
_RW_CALLS = (VfsRead, VfsWrite)


async def _fs_io(
    job: Job, req: type[fsp.ReqRead | fsp.ReqWrite], v: Vnode, pos: int, buf: int, n: int
) -> fsp.IoReply:
    access = CPF_WRITE if req is fsp.ReqRead else CPF_READ
    r = await job.try_copy(
        v.fs_e,
        job.fp.endpoint,
        buf,
        n,
        access,
        lambda gid: req(ino=v.ino, pos=pos, grant=gid, length=n),
    )
    assert isinstance(r, fsp.IoReply)
    return r


async def do_read(job: Job) -> int | Suspend:
    """read(fd, buf, nbytes) -> count (0 at end of file)."""
    m = job.msg
    assert isinstance(m, VfsRead)
    return await read_write(job, m.fd, m.buf, m.nbytes, write=False)


async def do_write(job: Job) -> int | Suspend:
    """write(fd, buf, nbytes) -> count."""
    m = job.msg
    assert isinstance(m, VfsWrite)
    return await read_write(job, m.fd, m.buf, m.nbytes, write=True)


def _rw_filp(fp: Fproc, fd: int, n: int, write: bool) -> Filp:
    """The filp a read or write of ``n`` bytes on ``fd`` goes to (EBADF, EIO, EINVAL)."""
    f = get_filp(fp, fd)
    if not f.mode & (W_BIT if write else R_BIT):
        raise VfsError(errno.EBADF)
    if n < 0 or n > SSIZE_MAX:
        raise VfsError(errno.EINVAL)
    return f


async def read_write(job: Job, fd: int, buf: int, n: int, *, write: bool) -> int | Suspend:
    """The common path of read and write; may suspend the process (pipes, devices)."""
    f = _rw_filp(job.fp, fd, n, write)
    v = f.vnode
    if v.is_fifo:
        return await pipe.rw_pipe(job, f, buf, n, write=write, cum=0)
    if n == 0:
        return 0
    if stat.S_ISCHR(v.mode):
        op = device.WRITE if write else device.READ
        return await device.cdev_io(job.vfs, job.p, job.fp, f, op, buf, n)
    if v.is_dir:
        raise VfsError(errno.EISDIR)
    if not stat.S_ISREG(v.mode):
        raise VfsError(errno.ENXIO)
    async with locked(v.tll, Mode.WRITE if write else Mode.READ), f.mutex:
        pos = f.pos
        if write and f.flags & os.O_APPEND:
            await job.refresh(v)
            pos = v.size
        r = await _fs_io(job, fsp.ReqWrite if write else fsp.ReqRead, v, pos, buf, n)
        f.pos = r.pos
        if write:
            v.size = max(v.size, r.pos)
        return r.count


def is_cdev_rw(m: Message, fp: Fproc) -> TypeGuard[VfsRead | VfsWrite]:
    """Whether ``m`` is a read or write of a character device by ``fp``.

    Such a call never waits inside VFS: it fails at once, or grants the buffer, sends
    the request to the driver and suspends the process (:func:`vfs.device.cdev_io`),
    so the dispatcher may carry it out itself with :func:`cdev_rw`.
    """
    if not isinstance(m, _RW_CALLS):
        return False
    f = fp.fds.get(m.fd)
    return f is not None and stat.S_ISCHR(f.vnode.mode)


async def cdev_rw(vfs: Vfs, p: Process, fp: Fproc, m: VfsRead | VfsWrite) -> int | Suspend:
    """A read or write of a character device (:func:`is_cdev_rw`) on thread ``p``; never waits.

    The same checks and outcome as :func:`read_write`: 0 for 0 bytes, else SUSPEND.
    """
    write = isinstance(m, VfsWrite)
    f = _rw_filp(fp, m.fd, m.nbytes, write)
    if m.nbytes == 0:
        return 0
    op = device.WRITE if write else device.READ
    return await device.cdev_io(vfs, p, fp, f, op, m.buf, m.nbytes)


async def do_lseek(job: Job) -> int:
    """lseek(fd, offset, whence) -> the new position (ESPIPE on a pipe, EINVAL)."""
    m = job.msg
    assert isinstance(m, VfsLseek)
    f = get_filp(job.fp, m.fd)
    v = f.vnode
    if v.is_fifo:
        raise VfsError(errno.ESPIPE)
    async with locked(v.tll, Mode.READ), f.mutex:
        if m.whence == os.SEEK_SET:
            base = 0
        elif m.whence == os.SEEK_CUR:
            base = f.pos
        elif m.whence == os.SEEK_END:
            base = 0 if stat.S_ISCHR(v.mode) else (await job.refresh(v)).size
        else:
            raise VfsError(errno.EINVAL, "bad whence")
        pos = base + m.offset
        if pos < 0:
            raise VfsError(errno.EINVAL, "negative position")
        f.pos = pos
        return pos


async def do_getdents(job: Job) -> int:
    """getdents(fd, buf, nbytes) -> bytes of entries (ENOTDIR, EINVAL if too small)."""
    m = job.msg
    assert isinstance(m, VfsGetdents)
    f = get_filp(job.fp, m.fd)
    v = f.vnode
    if not v.is_dir:
        raise VfsError(errno.ENOTDIR)
    if not f.mode & R_BIT:
        raise VfsError(errno.EBADF)
    if m.nbytes <= 0:
        raise VfsError(errno.EINVAL)
    async with locked(v.tll, Mode.READ), f.mutex:
        pos = f.pos
        r = await job.try_copy(
            v.fs_e,
            job.fp.endpoint,
            m.buf,
            m.nbytes,
            CPF_WRITE,
            lambda gid: fsp.ReqGetdents(ino=v.ino, pos=pos, grant=gid, length=m.nbytes),
        )
        assert isinstance(r, fsp.IoReply)
        f.pos = r.pos
        return r.count
