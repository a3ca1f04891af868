"""getvfsstat: VFS's mount table copied out as STATVFS records (count, fit, EFAULT)."""

from __future__ import annotations

import errno

from tests.vfs.support import BUF, errno_of, run
from vfs import protocol as P

SIZE = P.STATVFS.size
UNMAPPED = 0x3000_0000
"""An address no test process has mapped."""


async def _table(u, nbytes=16 * SIZE):
    n = await u.call(P.VfsGetvfsstat(BUF, nbytes))
    return n, P.unpack_statvfs(await u.p.peek(BUF, n * SIZE)) if n else []


async def _mount(u, path, fs, dev, source):
    a, n = await u.path(path, 0)
    if source is None:
        return await u.call(P.VfsMount(a, n, fs, dev))
    b, m = await u.path(source, 1)
    return await u.call(P.VfsMount(a, n, fs, dev, b, m))


def test_root_mount_listed_and_gone_after_umount():
    async def user(u):
        out = {}
        out["count0"] = await u.call(P.VfsGetvfsstat(0, 0))
        out["root"] = await _table(u)
        await u.path_call(P.VfsMkdir, "/mnt", 0o755)
        await _mount(u, "/mnt", u.eps["fs2"], 7, "/dev/fake")
        out["count2"] = await u.call(P.VfsGetvfsstat(0, 12345))
        out["two"] = await _table(u)
        await u.path_call(P.VfsUmount, "/mnt")
        out["after"] = await _table(u)
        return out

    out = run({"u": user}, extra_fs=("fs2",))["u"]
    root = P.Statvfs(0, "ramfs", "/", "ramfs")
    assert out == {
        "count0": 1,
        "root": (1, [root]),
        "count2": 2,
        "two": (2, [root, P.Statvfs(0, "fs2", "/mnt", "/dev/fake")]),
        "after": (1, [root]),
    }


def test_small_buffer_gets_what_fits_bad_buffer_efault():
    async def user(u):
        out = {}
        await u.path_call(P.VfsMkdir, "/mnt", 0o755)
        await _mount(u, "/mnt", u.eps["fs2"], 0, None)
        out["table"] = (await _table(u))[1][1]
        await u.p.poke(BUF, b"\xee" * (2 * SIZE))
        out["one"] = await u.call(P.VfsGetvfsstat(BUF, 2 * SIZE - 1))
        raw = await u.p.peek(BUF, 2 * SIZE)
        out["first"] = P.unpack_statvfs(raw[:SIZE])
        out["untouched"] = raw[SIZE:] == b"\xee" * SIZE
        out["none_fit"] = await u.call(P.VfsGetvfsstat(BUF, SIZE - 1))
        out["unmapped_small"] = await u.call(P.VfsGetvfsstat(UNMAPPED, SIZE - 1))
        out["efault"] = await errno_of(u.call(P.VfsGetvfsstat(UNMAPPED, 2 * SIZE)))
        out["einval"] = await errno_of(u.call(P.VfsGetvfsstat(BUF, -1)))
        out["still"] = await u.call(P.VfsGetvfsstat(0, 0))
        return out

    out = run({"u": user}, extra_fs=("fs2",))["u"]
    assert out == {
        "table": P.Statvfs(0, "fs2", "/mnt", "none"),
        "one": 1,
        "first": [P.Statvfs(0, "ramfs", "/", "ramfs")],
        "untouched": True,
        "none_fit": 0,
        "unmapped_small": 0,
        "efault": errno.EFAULT,
        "einval": errno.EINVAL,
        "still": 2,
    }


def test_pack_truncates_names_and_keeps_flags():
    rec = P.pack_statvfs(P.ST_RDONLY | P.ST_NOSUID, b"x" * 40, b"/" + b"a" * 2000, b"src")
    assert len(rec) == SIZE == 8 + P.VFS_NAMELEN + 2 * P.VFS_MNAMELEN
    (st,) = P.unpack_statvfs(rec + b"partial")
    assert st.f_flag == P.ST_RDONLY | P.ST_NOSUID
    assert st.f_fstypename == "x" * (P.VFS_NAMELEN - 1)
    assert len(st.f_mntonname) == P.VFS_MNAMELEN - 1
    assert st.f_mntfromname == "src"
