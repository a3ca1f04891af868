"""open and close, descriptors and filps (MINIX's ``open.c``, ``filedes.c``).

``open`` resolves the path (creating the file for O_CREAT, under the parent directory's
WRITE lock so two creators cannot both succeed with O_EXCL), checks the access rights,
truncates for O_TRUNC and installs a new filp at the lowest free descriptor.
Character devices go to their driver (:mod:`vfs.device`; ENXIO when no driver serves
the major); block devices and sockets are ENXIO for now. FIFOs go to :mod:`vfs.pipe`.
A filp whose driver died is FILP_CLOSED: :func:`get_filp` fails with EIO for it, and
only close (which uses :func:`get_filp2`) still works, without asking any driver.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import TYPE_CHECKING

from fs import protocol as fsp
from kernel.sync import Mutex
from vfs import device, lock, pipe
from vfs.context import Job, Suspend, VfsError, locked, permitted
from vfs.filp import FILP_CLOSED, R_BIT, W_BIT, Filp
from vfs.lookup import lookup_in, resolve, resolve_parent
from vfs.protocol import OPEN_MAX, VfsClose, VfsOpen
from vfs.tll import Mode

if TYPE_CHECKING:
    from vfs.context import Vfs
    from vfs.fproc import Fproc
    from vfs.vnode import Vnode

STATUS_FLAGS = os.O_APPEND | os.O_NONBLOCK


def get_fd(fp: Fproc, start: int = 0) -> int:
    """The lowest free descriptor at or above ``start`` (EMFILE if none)."""
    for fd in range(start, OPEN_MAX):
        if fd not in fp.fds:
            return fd
    raise VfsError(errno.EMFILE)


def get_filp(fp: Fproc, fd: int) -> Filp:
    """The filp behind ``fd`` (EBADF; EIO if its driver died)."""
    f = get_filp2(fp, fd)
    if f.mode == FILP_CLOSED:
        raise VfsError(errno.EIO, "device driver gone")
    return f


def get_filp2(fp: Fproc, fd: int) -> Filp:
    """The filp behind ``fd``, even an invalidated one (EBADF)."""
    f = fp.fds.get(fd)
    if f is None:
        raise VfsError(errno.EBADF)
    return f


def new_filp(vfs: Vfs, v: Vnode, mode: int, flags: int) -> Filp:
    """A filp on ``v`` (which it takes a reference from the caller for).

    The slot in the filp table must have been claimed with :func:`claim_filps`.
    """
    return Filp(v, mode, flags & STATUS_FLAGS, Mutex(vfs.kernel))


def claim_filps(vfs: Vfs, n: int) -> None:
    """Reserve ``n`` slots of the filp table before making filps (ENFILE if full).

    Claimed before anything that blocks, so concurrent opens cannot overfill the
    table; a call that fails gives its claim back with :func:`unclaim_filps`. The
    slot is freed when the filp's last descriptor closes (:func:`close_filp`).
    """
    if vfs.filps_used + n > vfs.nr_filps:
        raise VfsError(errno.ENFILE, "filp table full")
    vfs.filps_used += n


def unclaim_filps(vfs: Vfs, n: int) -> None:
    """Give back ``n`` slots claimed by :func:`claim_filps` and not used."""
    vfs.filps_used -= n


def access_bits(flags: int) -> int:
    """R_BIT/W_BIT for the access mode in ``flags`` (EINVAL for O_ACCMODE)."""
    acc = flags & os.O_ACCMODE
    if acc == os.O_RDONLY:
        return R_BIT
    if acc == os.O_WRONLY:
        return W_BIT
    if acc == os.O_RDWR:
        return R_BIT | W_BIT
    raise VfsError(errno.EINVAL, "bad access mode")


async def _create(job: Job, path: bytes, flags: int, mode: int) -> tuple[Vnode, bool]:
    fp = job.fp
    d, name = await resolve_parent(job, path)
    try:
        async with locked(d.tll, Mode.WRITE):
            try:
                v = await lookup_in(job, d, name)
            except VfsError as exc:
                if exc.errno != errno.ENOENT:
                    raise
            else:
                if flags & os.O_EXCL:
                    await job.put_vnode(v)
                    raise VfsError(errno.EEXIST)
                if stat.S_ISLNK(v.mode):
                    # an existing symlink is followed (as a full lookup would)
                    await job.put_vnode(v)
                    return await resolve(job, path), False
                return v, False
            if d.vmnt.fs_e != d.fs_e:  # pragma: no cover - defensive
                raise VfsError(errno.EIO)
            job.vfs.claim_vnode()
            try:
                r = await job.named(
                    d.fs_e,
                    fsp.ReqCreate,
                    name,
                    dir=d.ino,
                    mode=mode & 0o7777 & ~fp.umask,
                    uid=fp.euid,
                    gid=fp.egid,
                )
                return job.get_vnode(d.vmnt, r), True
            finally:
                job.vfs.unclaim_vnode()
    finally:
        await job.put_vnode(d)


async def do_open(job: Job) -> int | Suspend:
    """open(path, flags, mode) -> fd (EMFILE, ENFILE when the filp table is full)."""
    get_fd(job.fp)
    claim_filps(job.vfs, 1)
    try:
        return await _open(job)
    except BaseException:
        unclaim_filps(job.vfs, 1)
        raise


async def _open(job: Job) -> int | Suspend:
    m = job.msg
    assert isinstance(m, VfsOpen)
    fp = job.fp
    bits = access_bits(m.flags)
    path = await job.copy_path(m.path, m.path_len)
    fd = get_fd(fp)
    if m.flags & os.O_CREAT:
        v, created = await _create(job, path, m.flags, m.mode)
    else:
        v, created = await resolve(job, path, follow=not m.flags & os.O_NOFOLLOW), False
    try:
        if stat.S_ISLNK(v.mode):
            raise VfsError(errno.ELOOP)
        if m.flags & os.O_DIRECTORY and not v.is_dir:
            raise VfsError(errno.ENOTDIR)
        if v.is_dir and bits & W_BIT:
            raise VfsError(errno.EISDIR)
        if not created and not permitted(fp, v, bits):
            raise VfsError(errno.EACCES)
        if stat.S_ISCHR(v.mode):
            v = await device.cdev_open(job, v, bits, m.flags)
        elif stat.S_ISBLK(v.mode) or stat.S_ISSOCK(v.mode):
            raise VfsError(errno.ENXIO, "no driver for this device")
        if v.is_fifo:
            return await pipe.fifo_open(job, v, fd, bits, m.flags)
        if m.flags & os.O_TRUNC and bits & W_BIT and stat.S_ISREG(v.mode):
            async with locked(v.tll, Mode.WRITE):
                await job.fs_call(v.fs_e, fsp.ReqTruncate(ino=v.ino, size=0))
                v.size = 0
    except BaseException:
        await job.put_vnode(v)
        raise
    install(fp, fd, new_filp(job.vfs, v, bits, m.flags), cloexec=bool(m.flags & os.O_CLOEXEC))
    return fd


def install(fp: Fproc, fd: int, f: Filp, *, cloexec: bool) -> None:
    """Put ``f`` at descriptor ``fd``."""
    fp.fds[fd] = f
    if cloexec:
        fp.cloexec.add(fd)
    else:
        fp.cloexec.discard(fd)


async def close_filp(job: Job, f: Filp) -> None:
    """Drop one descriptor's hold on ``f``; the last one releases the vnode (blocks)."""
    v = f.vnode
    f.count -= 1
    if v.is_fifo:
        await pipe.release(job, f)
    if f.count == 0:
        job.vfs.filps_used -= 1
        if stat.S_ISCHR(v.mode):
            await device.cdev_close(job, f)
        await job.put_vnode(v)


async def close_fd(job: Job, fp: Fproc, fd: int) -> None:
    """close(fd) for ``fp`` (EBADF)."""
    f = get_filp2(fp, fd)
    del fp.fds[fd]
    fp.cloexec.discard(fd)
    await lock.release(job, fp, f.vnode)  # POSIX: any close drops the file's locks
    await close_filp(job, f)


async def do_close(job: Job) -> int:
    """close(fd)."""
    m = job.msg
    assert isinstance(m, VfsClose)
    await close_fd(job, job.fp, m.fd)
    return 0
