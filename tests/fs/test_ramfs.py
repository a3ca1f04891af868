"""ramfs driven with raw protocol messages from a test process."""

from __future__ import annotations

import errno
import stat

from fs import protocol as P
from fs import ramfs
from kernel.grants import CPF_READ, CPF_WRITE
from kernel.kernel import Kernel
from tests.support import Sim


class Client:
    """Speaks fs.protocol to one file server, granting its own buffers."""

    def __init__(self, p, fs_ep):
        self.p, self.fs, self.tid = p, fs_ep, 0

    def name(self, s):
        buf = bytearray(s.encode() if isinstance(s, str) else s)
        return self.p.grant_buffer(self.fs, buf, CPF_READ), len(buf)

    async def req(self, cls, **kw):
        self.tid += 1
        r = await self.p.sendrec(self.fs, cls(tid=self.tid, **kw))
        assert r.tid == self.tid
        return r

    async def named(self, cls, name, **kw):
        g, n = self.name(name)
        r = await self.req(cls, grant=g, length=n, **kw)
        self.p.revoke(g)
        return r

    async def lookup(self, d, name, uid=0, gid=0):
        return await self.named(P.ReqLookup, name, dir=d, uid=uid, gid=gid)

    async def write(self, ino, pos, data):
        buf = bytearray(data)
        g = self.p.grant_buffer(self.fs, buf, CPF_READ)
        return await self.req(P.ReqWrite, ino=ino, pos=pos, grant=g, length=len(buf))

    async def read(self, ino, pos, n):
        buf = bytearray(n)
        g = self.p.grant_buffer(self.fs, buf, CPF_WRITE)
        r = await self.req(P.ReqRead, ino=ino, pos=pos, grant=g, length=n)
        return r, bytes(buf[: r.count])

    async def getdents(self, ino, pos, n=4096):
        buf = bytearray(n)
        g = self.p.grant_buffer(self.fs, buf, CPF_WRITE)
        r = await self.req(P.ReqGetdents, ino=ino, pos=pos, grant=g, length=n)
        return r, P.unpack_dirents(bytes(buf[: getattr(r, "count", 0)]))


async def _drive(body, *, advance=0):
    async with Kernel() as k:
        sim = Sim(k)
        fs = sim.spawn("ramfs", ramfs.main)

        async def client(p):
            if advance:
                await p.sleep(advance)
            c = Client(p, fs.endpoint)
            root = await c.req(P.ReqMount, dev=0)
            return await body(c, root)

        sim.spawn("client", client)
        await sim.wait("client")
        k.shutdown()
    assert not sim.errors, sim.errors
    return sim.results["client"]


async def test_mount_create_write_read_with_holes_and_stat(autojump_clock):
    async def body(c, root):
        out = [(root.status, root.ino, stat.S_ISDIR(root.mode), root.mode & 0o7777, root.nlink)]
        denied = await c.named(P.ReqCreate, "hello", dir=root.ino, mode=0o644, uid=5, gid=6)
        out.append(denied.status)
        await c.req(P.ReqChmod, ino=root.ino, mode=0o777)
        f = await c.named(P.ReqCreate, "hello", dir=root.ino, mode=0o644, uid=5, gid=6)
        out.append((f.status, f.ino, stat.S_ISREG(f.mode), f.mode & 0o777, f.uid, f.gid, f.nlink))
        w = await c.write(f.ino, 10000, b"tail")
        out.append((w.status, w.count, w.pos))
        r, data = await c.read(f.ino, 9998, 100)
        out.append((r.count, r.pos, data))
        r, data = await c.read(f.ino, 0, 5)
        out.append(data)
        r, data = await c.read(f.ino, 20000, 5)
        out.append((r.status, r.count))
        st = await c.req(P.ReqStat, ino=f.ino)
        out.append((st.size, round(st.mtime, 2), round(st.ctime, 2)))
        again = await c.named(P.ReqCreate, "hello", dir=root.ino, mode=0o644)
        out.append(again.status)
        return out

    out = await _drive(body, advance=42)
    assert out == [
        (0, P.ROOT_INO, True, 0o755, 2),
        errno.EACCES,
        (0, 2, True, 0o644, 5, 6, 1),
        (0, 4, 10004),
        (6, 10004, b"\0\0tail"),
        b"\0" * 5,
        (0, 0),
        (10004, 42.0, 42.0),
        errno.EEXIST,
    ]


async def test_directories_links_counts_and_getdents(autojump_clock):
    async def body(c, root):
        r = root.ino
        out = []
        out.append((await c.named(P.ReqMkdir, "d", dir=r, mode=0o755)).status)
        d = await c.lookup(r, "d")
        out.append((d.ino, d.nlink, (await c.req(P.ReqStat, ino=r)).nlink))
        out.append((await c.lookup(d.ino, "..")).ino)
        out.append((await c.lookup(r, "..")).ino)
        f = await c.named(P.ReqCreate, "f", dir=d.ino, mode=0o600)
        out.append((await c.named(P.ReqLink, "g", ino=f.ino, dir=r)).status)
        out.append((await c.req(P.ReqStat, ino=f.ino)).nlink)
        out.append((await c.named(P.ReqLink, "dd", ino=d.ino, dir=r)).status)
        res, ents = await c.getdents(d.ino, 0)
        out.append((res.pos, ents))
        res, ents = await c.getdents(r, 1, n=2 * 6 + 2)
        out.append((res.count, res.pos, ents))
        res, ents = await c.getdents(r, 4)
        out.append((res.count, res.pos, ents))
        res, _ = await c.getdents(r, 0, n=6)
        out.append(res.status)
        out.append((await c.named(P.ReqRmdir, "d", dir=r)).status)
        out.append((await c.named(P.ReqUnlink, "d", dir=r)).status)
        out.append((await c.named(P.ReqUnlink, "f", dir=d.ino)).status)
        out.append((await c.named(P.ReqRmdir, "d", dir=r)).status)
        out.append((await c.req(P.ReqStat, ino=r)).nlink)
        out.append((await c.lookup(r, "d")).status)
        # d is unlinked but still referenced (by the lookup above): still there
        out.append((await c.req(P.ReqStat, ino=d.ino)).nlink)
        out.append((await c.req(P.ReqPutnode, ino=d.ino, count=1)).status)
        out.append((await c.req(P.ReqPutnode, ino=d.ino, count=1)).status)
        return out

    out = await _drive(body)
    assert out == [
        0,
        (2, 2, 3),
        P.ROOT_INO,
        P.ROOT_INO,
        0,
        2,
        errno.EPERM,
        (3, [(2, b"."), (1, b".."), (3, b"f")]),
        (6 + 2, 2, [(1, b"..")]),  # only one record of 6+2 bytes fits in 14
        (0, 4, []),
        errno.EINVAL,
        errno.ENOTEMPTY,
        errno.EPERM,
        0,
        0,
        2,
        errno.ENOENT,
        0,
        0,
        errno.EINVAL,  # the inode was freed with its last reference
    ]


async def test_symlinks_devices_rename_truncate_chmod_chown(autojump_clock):
    async def body(c, root):
        r = root.ino
        out = []
        tbuf = bytearray(b"/some/where")
        tg = c.p.grant_buffer(c.fs, tbuf, CPF_READ)
        s = await c.named(P.ReqSymlink, "ln", dir=r, tgrant=tg, tlength=len(tbuf))
        out.append(s.status)
        ln = await c.lookup(r, "ln")
        out.append((stat.S_ISLNK(ln.mode), ln.size))
        buf = bytearray(5)
        g = c.p.grant_buffer(c.fs, buf, CPF_WRITE)
        rl = await c.req(P.ReqReadlink, ino=ln.ino, grant=g, length=5)
        out.append((rl.count, bytes(buf)))
        mk = await c.named(P.ReqMknod, "tty", dir=r, mode=stat.S_IFCHR | 0o620, rdev=(4 << 8) | 1)
        out.append(mk.status)
        tty = await c.lookup(r, "tty")
        out.append((stat.S_ISCHR(tty.mode), tty.rdev, tty.size))
        bad = await c.named(P.ReqMknod, "x", dir=r, mode=stat.S_IFDIR | 0o755)
        out.append(bad.status)
        f = await c.named(P.ReqCreate, "f", dir=r, mode=0o644)
        await c.write(f.ino, 0, b"x" * 5000)
        await c.req(P.ReqTruncate, ino=f.ino, size=3)
        await c.req(P.ReqTruncate, ino=f.ino, size=4100)
        rr, data = await c.read(f.ino, 0, 5000)
        out.append((rr.count, data[:4], data[4096:]))
        await c.req(P.ReqChmod, ino=f.ino, mode=0o4755)
        ch = await c.req(P.ReqChown, ino=f.ino, uid=7, gid=-1)
        out.append((ch.mode & 0o7777, ch.uid, ch.gid))
        await c.named(P.ReqMkdir, "a", dir=r, mode=0o755)
        a = await c.lookup(r, "a")
        await c.named(P.ReqMkdir, "b", dir=a.ino, mode=0o755)
        b = await c.lookup(a.ino, "b")
        old, n1 = c.name("a")
        new, n2 = c.name("inside")
        rn = await c.req(
            P.ReqRename,
            old_dir=r,
            old_grant=old,
            old_length=n1,
            new_dir=b.ino,
            new_grant=new,
            new_length=n2,
        )
        out.append(rn.status)
        old, n1 = c.name("f")
        new, n2 = c.name("a")
        rn = await c.req(
            P.ReqRename,
            old_dir=r,
            old_grant=old,
            old_length=n1,
            new_dir=r,
            new_grant=new,
            new_length=n2,
        )
        out.append(rn.status)
        old, n1 = c.name("b")
        new, n2 = c.name("b2")
        rn = await c.req(
            P.ReqRename,
            old_dir=a.ino,
            old_grant=old,
            old_length=n1,
            new_dir=r,
            new_grant=new,
            new_length=n2,
        )
        out.append(rn.status)
        out.append(
            ((await c.req(P.ReqStat, ino=a.ino)).nlink, (await c.req(P.ReqStat, ino=r)).nlink)
        )
        out.append((await c.lookup(b.ino, "..")).ino)
        long = await c.lookup(r, "n" * 256)
        out.append(long.status)
        return out

    out = await _drive(body)
    assert out == [
        0,
        (True, 11),
        (5, b"/some"),
        0,
        (True, (4 << 8) | 1, 0),
        errno.EINVAL,
        (4100, b"xxx\0", b"\0" * 4),
        (0o755, 7, 0),  # chown clears set-user-id
        errno.EINVAL,  # a into its own subtree
        errno.EISDIR,
        0,
        (2, 4),
        P.ROOT_INO,
        errno.ENAMETOOLONG,
    ]


async def test_directory_permissions_for_non_root(autojump_clock):
    async def body(c, root):
        r = root.ino
        out = []
        out.append((await c.named(P.ReqMkdir, "priv", dir=r, mode=0o700, uid=1, gid=1)).status)
        await c.req(P.ReqChmod, ino=r, mode=0o777)
        await c.named(P.ReqMkdir, "priv", dir=r, mode=0o700, uid=1, gid=1)
        pd = await c.lookup(r, "priv")
        out.append((await c.lookup(pd.ino, "x", uid=2, gid=2)).status)
        out.append((await c.lookup(pd.ino, "x", uid=1, gid=1)).status)
        out.append((await c.named(P.ReqCreate, "x", dir=pd.ino, mode=0o644, uid=2, gid=2)).status)
        out.append((await c.named(P.ReqCreate, "x", dir=pd.ino, mode=0o644, uid=1)).status)
        await c.named(P.ReqMkdir, "tmp", dir=r, mode=0o1777)
        t = await c.lookup(r, "tmp")
        await c.named(P.ReqCreate, "mine", dir=t.ino, mode=0o644, uid=3, gid=3)
        out.append((await c.named(P.ReqUnlink, "mine", dir=t.ino, uid=4, gid=4)).status)
        out.append((await c.named(P.ReqUnlink, "mine", dir=t.ino, uid=3, gid=3)).status)
        f = await c.req(P.ReqStat, ino=pd.ino)
        out.append((await c.lookup(f.ino, "nope", uid=1, gid=1)).status)
        fi = await c.named(P.ReqCreate, "file", dir=r, mode=0o644)
        out.append((await c.lookup(fi.ino, "x")).status)
        return out

    out = await _drive(body)
    assert out == [
        errno.EACCES,
        errno.EACCES,
        errno.ENOENT,
        errno.EACCES,
        0,
        errno.EPERM,
        0,
        errno.ENOENT,
        errno.ENOTDIR,
    ]
