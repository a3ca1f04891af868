"""Table limits (EMFILE, ENFILE for filps and vnodes) and sync reaching every file server."""

from __future__ import annotations

import errno
import os

from fs import ramfs
from tests.vfs.support import errno_of, run
from vfs import protocol as P


def _sizes(box, **limits):
    def on_start(vfs):
        for k, v in limits.items():
            setattr(vfs, k, v)
        box["vfs"] = vfs

    return on_start


def _live_filps(vfs):
    return len({id(f) for fp in vfs.fprocs.values() for f in fp.fds.values()})


def test_emfile_at_open_max_descriptors():
    async def user(u):
        fd = await u.open("/f", os.O_CREAT | os.O_RDWR)
        for _ in range(P.OPEN_MAX - 1):
            await u.call(P.VfsDup(fd))
        out = [
            await errno_of(u.open("/f")),
            await errno_of(u.call(P.VfsDup(fd))),
            await errno_of(u.call(P.VfsPipe(0))),
            await errno_of(u.call(P.VfsFcntl(fd, P.F_DUPFD, 0))),
        ]
        await u.close(P.OPEN_MAX - 1)
        out.append(await u.open("/f"))
        await u.close(P.OPEN_MAX - 1)
        await u.close(P.OPEN_MAX - 2)
        out.append(await u.call(P.VfsPipe(0)))
        return out

    out = run({"u": user})
    assert out["u"] == [
        errno.EMFILE,
        errno.EMFILE,
        errno.EMFILE,
        errno.EMFILE,
        P.OPEN_MAX - 1,
        (P.OPEN_MAX - 2, P.OPEN_MAX - 1),
    ]


def test_enfile_when_the_filp_table_is_full():
    box = {}

    async def a(u):
        fds = [await u.open(f"/f{i}", os.O_CREAT | os.O_RDWR) for i in range(3)]
        used = box["vfs"].filps_used
        await u.p.sleep(4)
        await u.close(fds[0])
        return used

    async def b(u):
        await u.p.sleep(2)
        vfs = box["vfs"]
        out = [await u.open("/g", os.O_CREAT | os.O_WRONLY)]  # the last filp
        vnodes = len(vfs.vnodes)
        out.append(await errno_of(u.open("/g")))
        out.append(await errno_of(u.open("/new", os.O_CREAT | os.O_WRONLY)))
        out.append(await errno_of(u.call(P.VfsPipe(0))))
        out.append((vfs.filps_used, len(vfs.vnodes) - vnodes))  # the failures leaked nothing
        out.append(await u.call(P.VfsDup(0)))  # a new descriptor, no new filp
        await u.close(0)
        out.append(await errno_of(u.call(P.VfsPipe(0))))  # fd 1 still holds the filp
        await u.close(1)
        out.append(await errno_of(u.call(P.VfsPipe(0))))  # one filp short
        await u.p.sleep(4)  # a closes one of its files meanwhile
        r, w = await u.call(P.VfsPipe(0))
        out.append((r, w, vfs.filps_used))
        await u.close(r)
        await u.close(w)
        out.append(await u.open("/new", os.O_CREAT | os.O_WRONLY))
        out.append((vfs.filps_used, _live_filps(vfs), vfs.vnode_claims))
        return out

    out = run({"a": a, "b": b}, on_start=_sizes(box, nr_filps=4))
    assert out["a"] == 3
    assert out["b"] == [
        0,
        errno.ENFILE,
        errno.ENFILE,
        errno.ENFILE,
        (4, 0),
        1,
        errno.ENFILE,
        errno.ENFILE,
        (0, 1, 4),
        0,
        (3, 3, 0),
    ]


def test_enfile_when_the_vnode_table_is_full():
    box = {}

    async def user(u):
        vfs = box["vfs"]
        out = [len(vfs.vnodes)]  # the root
        fds = [await u.open(f"/f{i}", os.O_CREAT | os.O_RDWR) for i in range(3)]
        out.append(len(vfs.vnodes))
        out.append(await errno_of(u.open("/f3", os.O_CREAT | os.O_RDWR)))
        out.append(await errno_of(u.open("/f0")))  # a lookup claims a vnode first (MINIX)
        out.append(await errno_of(u.call(P.VfsPipe(0))))
        out.append(await errno_of(u.stat("/f1")))
        out.append(await u.open("/", os.O_RDONLY))  # no lookup: the root is in the table
        out.append((len(vfs.vnodes), vfs.vnode_claims, vfs.filps_used))
        await u.close(fds[2])
        out.append(await u.open("/f3", os.O_CREAT | os.O_RDWR))
        await u.close(fds[1])
        out.append((await u.stat("/f3")).st_size)
        return out

    out = run({"u": user}, on_start=_sizes(box, nr_vnodes=4))
    assert out["u"] == [
        1,
        4,
        errno.ENFILE,
        errno.ENFILE,
        errno.ENFILE,
        errno.ENFILE,
        3,
        (4, 0, 4),
        2,
        0,
    ]


def test_sync_reaches_every_mounted_file_system(monkeypatch):
    synced = []
    orig = ramfs.RamFs.sync

    async def sync(self):
        synced.append(id(self))
        await orig(self)

    monkeypatch.setattr(ramfs.RamFs, "sync", sync)

    async def user(u):
        out = [await u.call(P.VfsSync())]
        await u.path_call(P.VfsMkdir, "/mnt", 0o755)
        await u.path_call(P.VfsMount, "/mnt", u.eps["fs2"], 7)
        out.append(len(synced))
        out.append(await u.call(P.VfsSync()))
        out.append(len(synced))
        out.append(len(set(synced)))
        return out

    out = run({"u": user}, extra_fs=("fs2",))
    assert out["u"] == [0, 1, 0, 3, 2]
