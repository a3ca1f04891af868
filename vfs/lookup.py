"""Path lookup (MINIX's ``path.c``): walk a path one component at a time.

VFS asks the file server for each component (``ReqLookup``, which checks search
permission), crosses mount points downward (a vnode with a file system mounted on it
stands for that file system's root) and upward (".." at a mounted root continues from
the vnode it is mounted on; ".." at the process's root stays there), and follows
symbolic links, at most :data:`~vfs.protocol.SYMLOOP_MAX` per lookup (ELOOP beyond).
Errors: ENOENT, ENOTDIR, ENAMETOOLONG (a component over NAME_MAX, a path at PATH_MAX),
EACCES, ELOOP. Every vnode returned carries one reference the caller must put.
"""

from __future__ import annotations

import errno
import stat
from collections import deque
from typing import TYPE_CHECKING

from fs import protocol as fsp
from kernel.grants import CPF_WRITE
from vfs.context import VfsError
from vfs.protocol import SYMLOOP_MAX

if TYPE_CHECKING:
    from vfs.context import Job
    from vfs.vnode import Vnode


async def lookup_in(job: Job, dir: Vnode, name: bytes) -> Vnode:  # noqa: A002
    """One component: ``name`` in directory ``dir`` (blocks on the file server).

    ENFILE when the vnode table has no room for the answer (MINIX's lookup claims a
    free vnode before it asks, even if the inode turns out to be in use already).
    """
    job.vfs.claim_vnode()
    try:
        r = await job.named(
            dir.fs_e, fsp.ReqLookup, name, dir=dir.ino, uid=job.fp.euid, gid=job.fp.egid
        )
        return job.get_vnode(dir.vmnt, r)
    finally:
        job.vfs.unclaim_vnode()


async def readlink(job: Job, v: Vnode, limit: int = 4096) -> bytes:
    """The target of symlink ``v`` (blocks on the file server)."""
    buf = bytearray(limit)
    gid = job.p.grant_buffer(v.fs_e, buf, CPF_WRITE)
    try:
        r = await job.fs_call(v.fs_e, fsp.ReqReadlink(ino=v.ino, grant=gid, length=limit))
    finally:
        job.p.revoke(gid)
    assert isinstance(r, fsp.IoReply)
    return bytes(buf[: r.count])


async def _walk(job: Job, path: bytes, *, follow: bool, parent: bool) -> tuple[Vnode, bytes]:
    fp = job.fp
    if not path:
        raise VfsError(errno.ENOENT)
    start = fp.root if path.startswith(b"/") else fp.cwd
    if start is None:
        raise VfsError(errno.ENOENT, "no root file system")
    cur = job.dup_vnode(start)
    comps = deque(c for c in path.split(b"/") if c)
    trailing = path.endswith(b"/")
    links = 0
    try:
        if parent and not comps:
            raise VfsError(errno.EEXIST, "the root has no parent entry")
        while comps:
            c = comps.popleft()
            last = not comps
            if len(c) > fsp.NAME_MAX:
                raise VfsError(errno.ENAMETOOLONG)
            if not cur.is_dir:
                raise VfsError(errno.ENOTDIR)
            if parent and last:
                return cur, c
            if c == b"..":
                if cur is fp.root:
                    continue
                while cur.vmnt.root is cur and cur.vmnt.mounted_on is not None:
                    up = job.dup_vnode(cur.vmnt.mounted_on)
                    await job.put_vnode(cur)
                    cur = up
            nv = await lookup_in(job, cur, c)
            while nv.mounted is not None and nv.mounted.root is not None:
                root = job.dup_vnode(nv.mounted.root)
                await job.put_vnode(nv)
                nv = root
            if stat.S_ISLNK(nv.mode) and (not last or follow or trailing):
                links += 1
                if links > SYMLOOP_MAX:
                    await job.put_vnode(nv)
                    raise VfsError(errno.ELOOP)
                target = await readlink(job, nv)
                await job.put_vnode(nv)
                if not target:
                    raise VfsError(errno.ENOENT, "empty symlink")
                if target.startswith(b"/"):
                    assert fp.root is not None
                    root = job.dup_vnode(fp.root)
                    await job.put_vnode(cur)
                    cur = root
                comps.extendleft(reversed([x for x in target.split(b"/") if x]))
                if last and target.endswith(b"/"):
                    trailing = True
                if parent and not comps:
                    raise VfsError(errno.EEXIST)
                continue
            await job.put_vnode(cur)
            cur = nv
        if trailing and not cur.is_dir:
            raise VfsError(errno.ENOTDIR)
        return cur, b""
    except BaseException:
        await job.put_vnode(cur)
        raise


async def resolve(job: Job, path: bytes, *, follow: bool = True) -> Vnode:
    """The vnode ``path`` names (a final symlink followed if ``follow``); blocks on FSes."""
    v, _ = await _walk(job, path, follow=follow, parent=False)
    return v


async def resolve_parent(job: Job, path: bytes) -> tuple[Vnode, bytes]:
    """The directory holding ``path``'s last component, and that component."""
    return await _walk(job, path, follow=False, parent=True)
