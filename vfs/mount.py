"""mount, umount and getvfsstat (MINIX's ``mount.c``, ``misc.c``): the vmnt table.

Mounting asks the new file server for its root (``ReqMount``), then, under the WRITE
lock of the directory mounted on, records the vmnt and marks the directory
(``Vnode.mounted``), which path lookup then crosses. Unmounting refuses while any
vnode of that file system other than its root is in use, or the root is referenced by
more than the mount (a cwd there): EBUSY.

getvfsstat copies the table out as :data:`vfs.protocol.STATVFS` records. A vmnt
remembers what it reports: the path mount was given, the source name, and the file
server's label (its process name, from the kernel's ``getinfo``), as MINIX's vmnt
keeps ``m_mount_path``, ``m_mount_dev`` and ``m_fstype``.
"""

from __future__ import annotations

import errno

from fs import protocol as fsp
from vfs.context import Job, VfsError, locked
from vfs.lookup import resolve
from vfs.protocol import STATVFS, VfsGetvfsstat, VfsMount, VfsUmount, pack_statvfs
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
    path = await job.copy_path(m.path, m.path_len)
    source = b"none"
    if m.source or m.source_len:
        source = await job.copy_path(m.source, m.source_len) or source
    v = await resolve(job, path)
    try:
        if not v.is_dir:
            raise VfsError(errno.ENOTDIR)
        if v.mounted is not None or v.vmnt.root is v:
            raise VfsError(errno.EBUSY)
        try:
            label = (await job.p.getinfo(m.fs))[0].encode()
        except OSError as exc:  # as fs_call reports an unreachable file server
            raise VfsError(errno.EIO, f"file server {m.fs} unreachable: {exc}") from exc
        async with locked(v.tll, Mode.WRITE):
            vmnt = Vmnt(m.fs, m.dev, TLL(vfs.kernel), path=path, source=source, label=label)
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


async def do_getvfsstat(job: Job) -> int:
    """getvfsstat(buf, bufsize) -> file systems counted (buf 0) or records written.

    The table is read in one step (no wait in between), so a concurrent mount or
    umount is either wholly in the answer or not at all.
    """
    m = job.msg
    assert isinstance(m, VfsGetvfsstat)
    if m.bufsize < 0:
        raise VfsError(errno.EINVAL)
    vmnts = list(job.vfs.vmnts)
    if m.buf == 0:
        return len(vmnts)
    fit = vmnts[: m.bufsize // STATVFS.size]
    data = b"".join(pack_statvfs(x.flags, x.label, x.path, x.source) for x in fit)
    if data:
        await job.copy_out(m.buf, data)
    return len(fit)
