"""Descriptor and attribute calls: dup, fcntl, umask, chdir, getcwd, stat, chmod, chown...

Also dup2, fchdir, lstat/fstat, fchmod, truncate/ftruncate and access (MINIX's
``misc.c``, ``stadir.c``, ``protect.c``, ``filedes.c``).

Attribute changes go to the file server under the vnode's WRITE lock; ownership
rules are checked here (chmod: owner or root, EPERM; chown: root, or the owner giving
the file to one of its own groups without changing the owner; utimens: the owner or
root sets any times, anyone with write permission both to now, else EPERM or EACCES).
"""

from __future__ import annotations

import errno
import os
import stat
from typing import TYPE_CHECKING

from fs import protocol as fsp
from kernel.grants import CPF_WRITE
from vfs import lock
from vfs.context import Job, Suspend, VfsError, locked, permitted
from vfs.filp import W_BIT
from vfs.lookup import resolve
from vfs.open import STATUS_FLAGS, close_fd, get_fd, get_filp, install
from vfs.protocol import (
    AT_SYMLINK_NOFOLLOW,
    F_DUPFD,
    F_DUPFD_CLOEXEC,
    F_GETFD,
    F_GETFL,
    F_GETLK,
    F_SETFD,
    F_SETFL,
    F_SETLK,
    F_SETLKW,
    FD_CLOEXEC,
    OPEN_MAX,
    STAT,
    UTIME_NOW,
    UTIME_OMIT,
    VfsAccess,
    VfsChdir,
    VfsChmod,
    VfsChown,
    VfsDup,
    VfsDup2,
    VfsFchdir,
    VfsFchmod,
    VfsFcntl,
    VfsFstat,
    VfsFtruncate,
    VfsGetcwd,
    VfsLstat,
    VfsStat,
    VfsTruncate,
    VfsUmask,
    VfsUtimens,
)
from vfs.tll import Mode

if TYPE_CHECKING:
    from vfs.vnode import Vnode


def _dup_to(job: Job, fd: int, newfd: int, *, cloexec: bool) -> int:
    f = get_filp(job.fp, fd)
    f.count += 1
    install(job.fp, newfd, f, cloexec=cloexec)
    return newfd


async def do_fcntl(job: Job) -> int | Suspend:
    """fcntl: F_DUPFD(_CLOEXEC), F_GETFD/F_SETFD, F_GETFL/F_SETFL, record locks.

    F_GETLK/F_SETLK/F_SETLKW go to :mod:`vfs.lock`; other commands are EINVAL.
    """
    m = job.msg
    assert isinstance(m, VfsFcntl)
    fp = job.fp
    f = get_filp(fp, m.fd)
    if m.cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
        if not 0 <= m.arg < OPEN_MAX:
            raise VfsError(errno.EINVAL)
        return _dup_to(job, m.fd, get_fd(fp, m.arg), cloexec=m.cmd == F_DUPFD_CLOEXEC)
    if m.cmd == F_GETFD:
        return FD_CLOEXEC if m.fd in fp.cloexec else 0
    if m.cmd == F_SETFD:
        install(fp, m.fd, f, cloexec=bool(m.arg & FD_CLOEXEC))
        return 0
    if m.cmd == F_GETFL:
        acc = {4: os.O_RDONLY, 2: os.O_WRONLY, 6: os.O_RDWR}[f.mode]
        return acc | (f.flags & STATUS_FLAGS)
    if m.cmd == F_SETFL:
        f.flags = (f.flags & ~STATUS_FLAGS) | (m.arg & STATUS_FLAGS)
        return 0
    if m.cmd in (F_GETLK, F_SETLK, F_SETLKW):
        return await lock.do_lock(job, f, m.cmd, m.arg)
    raise VfsError(errno.EINVAL, f"fcntl command {m.cmd}")


async def do_dup(job: Job) -> int:
    """dup(fd) -> the lowest free descriptor."""
    m = job.msg
    assert isinstance(m, VfsDup)
    get_filp(job.fp, m.fd)
    return _dup_to(job, m.fd, get_fd(job.fp), cloexec=False)


async def do_dup2(job: Job) -> int:
    """dup2(fd, fd2): EBADF for a bad fd or fd2 out of range; fd == fd2 is a no-op."""
    m = job.msg
    assert isinstance(m, VfsDup2)
    get_filp(job.fp, m.fd)
    if not 0 <= m.fd2 < OPEN_MAX:
        raise VfsError(errno.EBADF)
    if m.fd == m.fd2:
        return m.fd2
    if m.fd2 in job.fp.fds:
        await close_fd(job, job.fp, m.fd2)
    return _dup_to(job, m.fd, m.fd2, cloexec=False)


async def do_umask(job: Job) -> int:
    """umask(mask) -> the old mask."""
    m = job.msg
    assert isinstance(m, VfsUmask)
    old, job.fp.umask = job.fp.umask, m.mask & 0o777
    return old


async def _set_dir(job: Job, v: Vnode, *, root: bool = False) -> int:
    if not v.is_dir:
        await job.put_vnode(v)
        raise VfsError(errno.ENOTDIR)
    if not permitted(job.fp, v, 1):
        await job.put_vnode(v)
        raise VfsError(errno.EACCES)
    fp = job.fp
    if root:
        old, fp.root = fp.root, v
    else:
        old, fp.cwd = fp.cwd, v
    await job.put_vnode(old)
    return 0


async def do_chdir(job: Job) -> int:
    """chdir(path): ENOTDIR, EACCES (no search right)."""
    m = job.msg
    assert isinstance(m, VfsChdir)
    return await _set_dir(job, await resolve(job, await job.copy_path(m.path, m.path_len)))


async def do_fchdir(job: Job) -> int:
    """fchdir(fd)."""
    m = job.msg
    assert isinstance(m, VfsFchdir)
    return await _set_dir(job, job.dup_vnode(get_filp(job.fp, m.fd).vnode))


async def _name_in(job: Job, parent: Vnode, child: Vnode) -> bytes:
    """The name of ``child`` in directory ``parent`` (scanning its entries)."""
    pos = 0
    while True:
        buf = bytearray(4096)
        gid = job.p.grant_buffer(parent.fs_e, buf, CPF_WRITE)
        try:
            req = fsp.ReqGetdents(ino=parent.ino, pos=pos, grant=gid, length=len(buf))
            r = await job.fs_call(parent.fs_e, req)
        finally:
            job.p.revoke(gid)
        assert isinstance(r, fsp.IoReply)
        if r.count == 0:
            raise VfsError(errno.ENOENT, "directory no longer linked")
        for ino, name in fsp.unpack_dirents(bytes(buf[: r.count])):
            if ino == child.ino and name not in (b".", b".."):
                return name
        pos = r.pos


async def do_getcwd(job: Job) -> int:
    """getcwd(buf, size) -> length with the NUL (ERANGE if it does not fit)."""
    from vfs.lookup import lookup_in

    m = job.msg
    assert isinstance(m, VfsGetcwd)
    fp = job.fp
    assert fp.cwd is not None
    parts: list[bytes] = []
    cur = job.dup_vnode(fp.cwd)
    try:
        while cur is not fp.root:
            while cur.vmnt.root is cur and cur.vmnt.mounted_on is not None:
                up = job.dup_vnode(cur.vmnt.mounted_on)
                await job.put_vnode(cur)
                cur = up
            if cur is fp.root or (cur.vmnt.root is cur and cur.vmnt.mounted_on is None):
                break
            parent = await lookup_in(job, cur, b"..")
            try:
                parts.append(await _name_in(job, parent, cur))
            except BaseException:
                await job.put_vnode(parent)
                raise
            await job.put_vnode(cur)
            cur = parent
    finally:
        await job.put_vnode(cur)
    path = b"/" + b"/".join(reversed(parts)) + b"\0"
    if len(path) > m.size:
        raise VfsError(errno.ERANGE)
    await job.copy_out(m.buf, path)
    return len(path)


async def _stat_out(job: Job, v: Vnode, buf: int) -> int:
    if v.fs_e < 0 or v.ino < 0:  # an anonymous pipe or a cloned device: VFS's own
        data = STAT.pack(
            0, v.ino & 0xFFFFFFFF, v.mode, 1, v.uid, v.gid, v.rdev, len(v.pipe or b""), 0.0, 0, 0
        )
    else:
        r = await job.refresh(v)
        size = len(v.pipe or b"") if v.is_fifo else r.size
        data = STAT.pack(
            v.fs_e & 0xFFFFFFFF,
            r.ino,
            r.mode,
            r.nlink,
            r.uid,
            r.gid,
            r.rdev,
            size,
            r.atime,
            r.mtime,
            r.ctime,
        )
    await job.copy_out(buf, data)
    return 0


async def do_stat(job: Job) -> int:
    """stat(path, buf) / lstat(path, buf)."""
    m = job.msg
    assert isinstance(m, VfsStat | VfsLstat)
    path = await job.copy_path(m.path, m.path_len)
    v = await resolve(job, path, follow=isinstance(m, VfsStat))
    try:
        return await _stat_out(job, v, m.buf)
    finally:
        await job.put_vnode(v)


async def do_fstat(job: Job) -> int:
    """fstat(fd, buf)."""
    m = job.msg
    assert isinstance(m, VfsFstat)
    return await _stat_out(job, get_filp(job.fp, m.fd).vnode, m.buf)


async def _chmod(job: Job, v: Vnode, mode: int) -> int:
    fp = job.fp
    if fp.euid not in (0, v.uid):
        raise VfsError(errno.EPERM)
    if fp.euid != 0 and fp.egid != v.gid:
        mode &= ~stat.S_ISGID  # POSIX: not a member of the file's group
    async with locked(v.tll, Mode.WRITE):
        r = await job.fs_call(v.fs_e, fsp.ReqChmod(ino=v.ino, mode=mode & 0o7777))
        assert isinstance(r, fsp.NodeReply)
        v.mode = r.mode
    return 0


async def do_chmod(job: Job) -> int:
    """chmod(path, mode): EPERM unless owner or root."""
    m = job.msg
    assert isinstance(m, VfsChmod)
    v = await resolve(job, await job.copy_path(m.path, m.path_len))
    try:
        return await _chmod(job, v, m.mode)
    finally:
        await job.put_vnode(v)


async def do_fchmod(job: Job) -> int:
    """fchmod(fd, mode)."""
    m = job.msg
    assert isinstance(m, VfsFchmod)
    return await _chmod(job, get_filp(job.fp, m.fd).vnode, m.mode)


def _new_time(sec: int, nsec: int, now: float) -> float | None:
    """The time a (seconds, nanoseconds) pair asks for: None for UTIME_OMIT (EINVAL)."""
    if nsec == UTIME_OMIT:
        return None
    if nsec == UTIME_NOW:
        return now
    if not 0 <= nsec < 1_000_000_000:
        raise VfsError(errno.EINVAL, f"nanoseconds {nsec}")
    return sec + nsec / 1_000_000_000


async def _utimens(job: Job, v: Vnode, m: VfsUtimens) -> int:
    fp = job.fp
    now = job.p.now()
    atime, mtime = _new_time(m.atime, m.ansec, now), _new_time(m.mtime, m.mnsec, now)
    if atime is None and mtime is None:
        return 0  # POSIX: nothing to change needs no right
    if fp.euid not in (0, v.uid):
        if m.ansec != UTIME_NOW or m.mnsec != UTIME_NOW:
            raise VfsError(errno.EPERM)
        if not permitted(fp, v, 2):
            raise VfsError(errno.EACCES)
    if v.fs_e < 0 or v.ino < 0:
        return 0  # an anonymous pipe or a cloned device keeps no times (stat shows 0)
    async with locked(v.tll, Mode.WRITE):
        req = fsp.ReqUtime(
            ino=v.ino,
            atime=now if atime is None else atime,
            mtime=now if mtime is None else mtime,
            omit_atime=atime is None,
            omit_mtime=mtime is None,
        )
        await job.fs_call(v.fs_e, req)
    return 0


async def do_utimens(job: Job) -> int:
    """utimensat(path, times, flags) / futimens(fd, times) (MINIX's do_utimens).

    Both UTIME_OMIT changes nothing. The owner or root may set any times; anyone else
    only both to now, with write permission (EACCES without it, EPERM for other times).
    EINVAL for a bad nanosecond field or flag.
    """
    m = job.msg
    assert isinstance(m, VfsUtimens)
    if m.path == 0:
        if m.flags:
            raise VfsError(errno.EINVAL)
        return await _utimens(job, get_filp(job.fp, m.fd).vnode, m)
    if m.flags & ~AT_SYMLINK_NOFOLLOW:
        raise VfsError(errno.EINVAL)
    path = await job.copy_path(m.path, m.path_len)
    v = await resolve(job, path, follow=not m.flags & AT_SYMLINK_NOFOLLOW)
    try:
        return await _utimens(job, v, m)
    finally:
        await job.put_vnode(v)


async def do_chown(job: Job) -> int:
    """chown(path, uid, gid): root, or the owner changing only the group to its own."""
    m = job.msg
    assert isinstance(m, VfsChown)
    fp = job.fp
    v = await resolve(job, await job.copy_path(m.path, m.path_len))
    try:
        if fp.euid != 0:
            own = fp.euid == v.uid and m.uid in (-1, v.uid) and m.gid in (-1, fp.egid)
            if not own:
                raise VfsError(errno.EPERM)
        async with locked(v.tll, Mode.WRITE):
            r = await job.fs_call(v.fs_e, fsp.ReqChown(ino=v.ino, uid=m.uid, gid=m.gid))
            assert isinstance(r, fsp.NodeReply)
            v.mode, v.uid, v.gid = r.mode, r.uid, r.gid
        return 0
    finally:
        await job.put_vnode(v)


async def _truncate(job: Job, v: Vnode, length: int) -> int:
    if length < 0:
        raise VfsError(errno.EINVAL)
    if v.is_dir:
        raise VfsError(errno.EISDIR)
    if not stat.S_ISREG(v.mode):
        raise VfsError(errno.EINVAL)
    async with locked(v.tll, Mode.WRITE):
        await job.fs_call(v.fs_e, fsp.ReqTruncate(ino=v.ino, size=length))
        v.size = length
    return 0


async def do_truncate(job: Job) -> int:
    """truncate(path, length): needs write permission."""
    m = job.msg
    assert isinstance(m, VfsTruncate)
    v = await resolve(job, await job.copy_path(m.path, m.path_len))
    try:
        if not permitted(job.fp, v, 2):
            raise VfsError(errno.EACCES)
        return await _truncate(job, v, m.length)
    finally:
        await job.put_vnode(v)


async def do_ftruncate(job: Job) -> int:
    """ftruncate(fd, length): the descriptor must be open for writing (EBADF/EINVAL)."""
    m = job.msg
    assert isinstance(m, VfsFtruncate)
    f = get_filp(job.fp, m.fd)
    if not f.mode & W_BIT:
        raise VfsError(errno.EINVAL if f.vnode.is_dir else errno.EBADF)
    return await _truncate(job, f.vnode, m.length)


async def do_access(job: Job) -> int:
    """access(path, mode) with the real ids: EACCES, ENOENT..."""
    m = job.msg
    assert isinstance(m, VfsAccess)
    if m.mode & ~7:
        raise VfsError(errno.EINVAL)
    v = await resolve(job, await job.copy_path(m.path, m.path_len))
    try:
        if m.mode and not permitted(job.fp, v, m.mode, real=True):
            raise VfsError(errno.EACCES)
        return 0
    finally:
        await job.put_vnode(v)


async def do_sync(job: Job) -> int:
    """sync(): ask every mounted file system to write back (ReqSync); always 0.

    Each file system is synced under its vmnt's READ lock, so not while it is being
    mounted or unmounted. A file system that fails is skipped, as in MINIX.
    """
    for vmnt in list(job.vfs.vmnts):
        async with locked(vmnt.tll, Mode.READ):
            try:
                await job.fs_call(vmnt.fs_e, fsp.ReqSync())
            except VfsError:
                pass
    return 0
