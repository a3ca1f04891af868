"""mount and umount (MINIX's ``mount.c``): the vmnt table's changes.

Mounting asks the new file server for its root (``ReqMount``), then, under the WRITE
lock of the directory mounted on, records the vmnt and marks the directory
(``Vnode.mounted``), which path lookup then crosses. Unmounting refuses while any
vnode of that file system other than its root is in use, or the root is referenced by
more than the mount (a cwd there): EBUSY.
"""

from __future__ import annotations

import errno

from fs import protocol as fsp
from vfs.context import Job, VfsError, locked
from vfs.lookup import resolve
from vfs.protocol import VfsMount, VfsUmount
from vfs.tll import TLL, Mode
from vfs.vmnt import Vmnt


async def do_mount(job: Job) -> int:
    """mount(path, fs, dev): root only."""
    m = job.msg
    assert isinstance(m, VfsMount)
    vfs = job.vfs
    if job.fp.euid != 0:
        raise VfsError(errno.EPERM)
    if any(x.fs_e == m.fs for x in vfs.vmnts):
        raise VfsError(errno.EBUSY, "file server already mounted")
    v = await resolve(job, await job.copy_path(m.path, m.path_len))
    try:
        if not v.is_dir:
            raise VfsError(errno.ENOTDIR)
        if v.mounted is not None or v.vmnt.root is v:
            raise VfsError(errno.EBUSY)
        async with locked(v.tll, Mode.WRITE):
            vmnt = Vmnt(m.fs, m.dev, TLL(vfs.kernel))
            async with locked(vmnt.tll, Mode.WRITE):
                r = await job.fs_call(m.fs, fsp.ReqMount(dev=m.dev))
                vmnt.root = job.get_vnode(vmnt, r)
                vmnt.mounted_on = v
                v.mounted = vmnt
                vfs.vmnts.append(vmnt)
    except BaseException:
        await job.put_vnode(v)
        raise
    return 0  # the mount keeps the reference to ``v``


async def do_umount(job: Job) -> int:
    """umount(path): EINVAL unless ``path`` is a mounted root, EBUSY while in use."""
    m = job.msg
    assert isinstance(m, VfsUmount)
    vfs = job.vfs
    if job.fp.euid != 0:
        raise VfsError(errno.EPERM)
    v = await resolve(job, await job.copy_path(m.path, m.path_len))
    vmnt = v.vmnt
    await job.put_vnode(v)
    if vmnt.root is not v or vmnt.mounted_on is None:
        raise VfsError(errno.EINVAL)
    async with locked(vmnt.tll, Mode.WRITE):
        in_use = [x for x in vfs.vnodes.values() if x.vmnt is vmnt and x is not vmnt.root]
        if in_use or v.ref > 1:
            raise VfsError(errno.EBUSY)
        await job.put_vnode(vmnt.root)
        await job.fs_call(vmnt.fs_e, fsp.ReqUnmount())
        on = vmnt.mounted_on
        on.mounted = None
        vmnt.root = vmnt.mounted_on = None
        vfs.vmnts.remove(vmnt)
        await job.put_vnode(on)
    return 0
