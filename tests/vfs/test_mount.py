"""Mounting a second file system: lookup across mount points, EXDEV, EBUSY, getcwd."""

from __future__ import annotations

import errno
import os

from tests.vfs.support import errno_of, run
from vfs import protocol as P


def test_mount_cross_dotdot_exdev_busy_and_umount():
    async def user(u):
        out = []
        fs2 = u.eps["fs2"]
        await u.path_call(P.VfsMkdir, "/mnt", 0o755)
        fd = await u.open("/mnt/under", os.O_CREAT | os.O_WRONLY)
        await u.close(fd)
        out.append(await u.path_call(P.VfsMount, "/mnt", fs2, 7))
        out.append(await errno_of(u.path_call(P.VfsMount, "/mnt", fs2, 7)))
        out.append(await u.listdir("/mnt"))  # the new, empty root hides "under"
        await u.path_call(P.VfsMkdir, "/mnt/d", 0o755)
        fd = await u.open("/mnt/d/f", os.O_CREAT | os.O_RDWR)
        await u.write(fd, b"on fs2")
        out.append((await u.stat("/mnt/d/../../mnt/d/f")).st_size)
        out.append((await u.stat("/mnt/..")).st_ino == (await u.stat("/")).st_ino)
        out.append((await u.stat("/mnt")).st_dev != (await u.stat("/")).st_dev)
        out.append(await errno_of(u.two_paths(P.VfsRename, "/mnt/d/f", "/g")))
        out.append(await errno_of(u.two_paths(P.VfsLink, "/mnt/d/f", "/g")))
        out.append(await errno_of(u.path_call(P.VfsRmdir, "/mnt")))
        await u.path_call(P.VfsChdir, "/mnt/d")
        out.append(await u.getcwd())
        out.append(await errno_of(u.path_call(P.VfsUmount, "/mnt")))
        await u.path_call(P.VfsChdir, "/")
        out.append(await errno_of(u.path_call(P.VfsUmount, "/mnt")))  # fd still open
        await u.close(fd)
        out.append(await errno_of(u.path_call(P.VfsUmount, "/mnt/d")))
        out.append(await u.path_call(P.VfsUmount, "/mnt"))
        out.append(await u.listdir("/mnt"))
        return out

    out = run({"u": user}, extra_fs=("fs2",))
    assert out["u"] == [
        0,
        errno.EBUSY,
        [".", ".."],
        6,
        True,
        True,
        errno.EXDEV,
        errno.EXDEV,
        errno.EBUSY,
        "/mnt/d",
        errno.EBUSY,
        errno.EBUSY,
        errno.EINVAL,
        0,
        [".", "..", "under"],
    ]
