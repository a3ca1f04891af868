"""Calls that change names: mkdir, mknod, unlink, rmdir, rename, link, symlink, readlink.

MINIX's ``link.c``, ``open.c:do_mkdir``, ``do_mknod``.

Each resolves the parent directory of the last component, locks it WRITE (rename: both
directories, the one with the lower (fs, inode) first, so two renames cannot deadlock)
and asks the file server, which checks write and search rights on the directory.
EXDEV when two names are on different file systems; EBUSY when a name is a mount point
or a mounted root.
"""

from __future__ import annotations

import errno
import stat
from contextlib import AsyncExitStack

from fs import protocol as fsp
from kernel.grants import CPF_READ
from vfs.context import Job, VfsError, locked
from vfs.lookup import readlink, resolve, resolve_parent
from vfs.protocol import (
    VfsLink,
    VfsMkdir,
    VfsMknod,
    VfsReadlink,
    VfsRename,
    VfsRmdir,
    VfsSymlink,
    VfsUnlink,
)
from vfs.tll import Mode


async def do_mkdir(job: Job) -> int:
    """mkdir(path, mode) (EEXIST, ENOENT, EACCES...)."""
    m = job.msg
    assert isinstance(m, VfsMkdir)
    fp = job.fp
    d, name = await resolve_parent(job, await job.copy_path(m.path, m.path_len))
    try:
        async with locked(d.tll, Mode.WRITE):
            mode = m.mode & 0o7777 & ~fp.umask
            kw = {"dir": d.ino, "mode": mode, "uid": fp.euid, "gid": fp.egid}
            await job.named(d.fs_e, fsp.ReqMkdir, name, **kw)
        return 0
    finally:
        await job.put_vnode(d)


async def do_mknod(job: Job) -> int:
    """mknod(path, mode, dev) / mkfifo: devices need root (EPERM)."""
    m = job.msg
    assert isinstance(m, VfsMknod)
    fp = job.fp
    fmt = stat.S_IFMT(m.mode) or stat.S_IFREG
    if fmt not in (stat.S_IFIFO, stat.S_IFREG) and fp.euid != 0:
        raise VfsError(errno.EPERM)
    if fmt == stat.S_IFDIR:
        raise VfsError(errno.EINVAL)
    d, name = await resolve_parent(job, await job.copy_path(m.path, m.path_len))
    try:
        async with locked(d.tll, Mode.WRITE):
            mode = fmt | (m.mode & 0o7777 & ~fp.umask)
            kw = {"dir": d.ino, "mode": mode, "uid": fp.euid, "gid": fp.egid, "rdev": m.dev}
            await job.named(d.fs_e, fsp.ReqMknod, name, **kw)
        return 0
    finally:
        await job.put_vnode(d)


async def _remove(job: Job, path: bytes, req: type[fsp.ReqUnlink | fsp.ReqRmdir]) -> int:
    from vfs.lookup import lookup_in

    fp = job.fp
    d, name = await resolve_parent(job, path)
    try:
        async with locked(d.tll, Mode.WRITE):
            if req is fsp.ReqRmdir and name in (b".", b".."):
                raise VfsError(errno.EINVAL if name == b"." else errno.ENOTEMPTY)
            if name not in (b".", b".."):
                v = await lookup_in(job, d, name)
                busy = v.mounted is not None
                await job.put_vnode(v)
                if busy:
                    raise VfsError(errno.EBUSY)
            await job.named(d.fs_e, req, name, dir=d.ino, uid=fp.euid, gid=fp.egid)
        return 0
    finally:
        await job.put_vnode(d)


async def do_unlink(job: Job) -> int:
    """unlink(path): EPERM for a directory (POSIX allows it; MINIX and Linux refuse)."""
    m = job.msg
    assert isinstance(m, VfsUnlink)
    return await _remove(job, await job.copy_path(m.path, m.path_len), fsp.ReqUnlink)


async def do_rmdir(job: Job) -> int:
    """rmdir(path): ENOTEMPTY, ENOTDIR, EBUSY for a mount point."""
    m = job.msg
    assert isinstance(m, VfsRmdir)
    return await _remove(job, await job.copy_path(m.path, m.path_len), fsp.ReqRmdir)


async def do_rename(job: Job) -> int:
    """rename(old, new): EXDEV across file systems."""
    m = job.msg
    assert isinstance(m, VfsRename)
    fp = job.fp
    old = await job.copy_path(m.path, m.path_len)
    new = await job.copy_path(m.path2, m.path2_len)
    od, oname = await resolve_parent(job, old)
    try:
        nd, nname = await resolve_parent(job, new)
        try:
            if od.fs_e != nd.fs_e:
                raise VfsError(errno.EXDEV)
            async with AsyncExitStack() as stack:
                dirs = [od] if od is nd else sorted((od, nd), key=lambda v: v.ino)
                for v in dirs:
                    await stack.enter_async_context(locked(v.tll, Mode.WRITE))
                ob, nb = bytearray(oname), bytearray(nname)
                og = job.p.grant_buffer(od.fs_e, ob, CPF_READ)
                ng = job.p.grant_buffer(od.fs_e, nb, CPF_READ)
                try:
                    req = fsp.ReqRename(
                        old_dir=od.ino,
                        old_grant=og,
                        old_length=len(ob),
                        new_dir=nd.ino,
                        new_grant=ng,
                        new_length=len(nb),
                        uid=fp.euid,
                        gid=fp.egid,
                    )
                    await job.fs_call(od.fs_e, req)
                finally:
                    job.p.revoke(og)
                    job.p.revoke(ng)
            return 0
        finally:
            await job.put_vnode(nd)
    finally:
        await job.put_vnode(od)


async def do_link(job: Job) -> int:
    """link(path, path2): EXDEV across file systems, EPERM for a directory."""
    m = job.msg
    assert isinstance(m, VfsLink)
    fp = job.fp
    v = await resolve(job, await job.copy_path(m.path, m.path_len), follow=False)
    try:
        d, name = await resolve_parent(job, await job.copy_path(m.path2, m.path2_len))
        try:
            if d.fs_e != v.fs_e:
                raise VfsError(errno.EXDEV)
            async with locked(d.tll, Mode.WRITE):
                kw = {"ino": v.ino, "dir": d.ino, "uid": fp.euid, "gid": fp.egid}
                await job.named(d.fs_e, fsp.ReqLink, name, **kw)
            return 0
        finally:
            await job.put_vnode(d)
    finally:
        await job.put_vnode(v)


async def do_symlink(job: Job) -> int:
    """symlink(target, linkpath)."""
    m = job.msg
    assert isinstance(m, VfsSymlink)
    fp = job.fp
    target = await job.copy_path(m.path, m.path_len)
    d, name = await resolve_parent(job, await job.copy_path(m.path2, m.path2_len))
    try:
        async with locked(d.tll, Mode.WRITE):
            tb = bytearray(target)
            tg = job.p.grant_buffer(d.fs_e, tb, CPF_READ)
            try:
                kw = {
                    "dir": d.ino,
                    "tgrant": tg,
                    "tlength": len(tb),
                    "uid": fp.euid,
                    "gid": fp.egid,
                }
                await job.named(d.fs_e, fsp.ReqSymlink, name, **kw)
            finally:
                job.p.revoke(tg)
        return 0
    finally:
        await job.put_vnode(d)


async def do_readlink(job: Job) -> int:
    """readlink(path, buf, nbytes) -> count (EINVAL if not a symlink)."""
    m = job.msg
    assert isinstance(m, VfsReadlink)
    if m.nbytes <= 0:
        raise VfsError(errno.EINVAL)
    v = await resolve(job, await job.copy_path(m.path, m.path_len), follow=False)
    try:
        if not stat.S_ISLNK(v.mode):
            raise VfsError(errno.EINVAL)
        target = (await readlink(job, v))[: m.nbytes]
        await job.copy_out(m.buf, target)
        return len(target)
    finally:
        await job.put_vnode(v)
