"""Permissions, PM notices (setids, fork, exec, exit, unpause), pipes and FIFOs."""

from __future__ import annotations

import errno
import os
import stat

from kernel.com import VFS_PROC_NR
from servers.pm.protocol import (
    PmVfsExec,
    PmVfsExit,
    PmVfsFork,
    PmVfsSetids,
    PmVfsUnpause,
    VfsPmReply,
)
from tests.vfs.support import BUF, errno_of, run
from vfs import protocol as P


async def _tell(p, msg):
    await p.send(VFS_PROC_NR, msg)
    r = await p.receive(VFS_PROC_NR)
    assert isinstance(r, VfsPmReply)
    return (r.call, r.status)


def test_permissions_follow_ids_from_pm():
    box = {}

    async def pm(p, eps):
        box["pm"] = [await _tell(p, PmVfsSetids(eps["u"], 100, 100, 100, 100))]

    async def user(u):
        out = []
        await u.p.sleep(2)  # after PM made us uid 100
        out.append(await errno_of(u.path_call(P.VfsMkdir, "/d", 0o755)))
        out.append(await errno_of(u.open("/f", os.O_CREAT | os.O_WRONLY)))
        out.append(await errno_of(u.path_call(P.VfsMknod, "/tty", stat.S_IFCHR | 0o600, 0x401)))
        out.append(await errno_of(u.path_call(P.VfsChmod, "/", 0o777)))
        out.append(await errno_of(u.path_call(P.VfsChown, "/", 100, -1)))
        out.append(await u.path_call(P.VfsAccess, "/", 5))
        out.append(await errno_of(u.path_call(P.VfsAccess, "/", 2)))
        out.append(await errno_of(u.path_call(P.VfsAccess, "/", 8)))
        return out

    async def root(u):
        out = []
        await u.path_call(P.VfsMkdir, "/tmp", 0o777)
        await u.path_call(P.VfsChmod, "/tmp", 0o1777)
        fd = await u.open("/secret", os.O_CREAT | os.O_WRONLY, 0o600)
        await u.write(fd, b"x")
        await u.close(fd)
        out.append(oct((await u.stat("/tmp")).st_mode & 0o7777))
        out.append(await u.path_call(P.VfsMknod, "/tty", stat.S_IFCHR | 0o620, 0x401))
        st = await u.stat("/tty")
        out.append((stat.S_ISCHR(st.st_mode), st.st_rdev))
        out.append(await errno_of(u.open("/tty")))
        return out

    async def user2(u):
        await u.p.sleep(3)
        out = []
        out.append(await errno_of(u.open("/secret")))
        fd = await u.open("/tmp/mine", os.O_CREAT | os.O_WRONLY, 0o640)
        st = await u.fstat(fd)
        out.append((st.st_uid, st.st_gid, st.st_mode & 0o777))
        out.append(await u.path_call(P.VfsChmod, "/tmp/mine", 0o600))
        out.append(await u.path_call(P.VfsChown, "/tmp/mine", -1, 100))
        out.append(await errno_of(u.path_call(P.VfsChown, "/tmp/mine", 0, -1)))
        out.append(await errno_of(u.path_call(P.VfsTruncate, "/secret", 0)))
        out.append(await u.call(P.VfsFtruncate(fd, 10)))
        out.append((await u.stat("/tmp/mine")).st_size)
        return out

    async def pm2(p, eps):
        r = [await _tell(p, PmVfsSetids(eps["u"], 100, 100, 100, 100))]
        r.append(await _tell(p, PmVfsSetids(eps["u2"], 100, 100, 100, 100)))
        box["pm"] = r

    out = run({"u": user, "root": root, "u2": user2}, pm=pm2)
    assert box["pm"] == [("PmVfsSetids", 0), ("PmVfsSetids", 0)]
    assert out["u"] == [
        errno.EACCES,
        errno.EACCES,
        errno.EPERM,
        errno.EPERM,
        errno.EPERM,
        0,
        errno.EACCES,
        errno.EINVAL,
    ]
    assert out["root"] == ["0o1777", 0, (True, 0x401), errno.ENXIO]
    assert out["u2"] == [errno.EACCES, (100, 100, 0o640), 0, 0, errno.EPERM, errno.EACCES, 0, 10]


def test_pipe_blocking_read_parks_and_write_revives():
    async def user(u):
        out = []
        r, w = await u.call(P.VfsPipe(0))
        out.append((r, w))
        box["fds"] = (r, w)
        await u.p.sleep(2)  # forked meanwhile: the child has both ends too
        await u.close(w)
        out.append(await u.read(r, 10))  # parks until the child writes
        out.append(await u.read(r, 10))
        out.append(await u.read(r, 10))  # parks again
        out.append(await u.read(r, 10))  # end of file: the last writer closed
        st = await u.fstat(r)
        out.append(stat.S_ISFIFO(st.st_mode))
        out.append(await errno_of(u.lseek(r, 0)))
        return out

    async def pm(p, eps):
        # Give the user's pipe to a "child" via fork, then let the child write.
        await p.sleep(1)
        box["fork"] = await _tell(p, PmVfsFork(eps["u"], eps["child"], 42))

    async def child(u):
        await u.p.sleep(5)
        r, w = box["fds"]
        await u.close(r)
        n = await u.write(w, b"abcdefghijkl")
        await u.p.sleep(1)
        await u.write(w, b"xyz")
        await u.p.sleep(1)
        await u.close(w)
        return n

    box = {}
    out = run({"u": user, "child": child}, pm=pm)
    assert box["fork"] == ("PmVfsFork", 0)
    assert out["child"] == 12
    assert out["u"] == [(0, 1), b"abcdefghij", b"kl", b"xyz", b"", True, errno.ESPIPE]


def test_pipe_epipe_nonblock_atomic_and_unpause():
    box = {}

    async def user(u):
        out = []
        r, w = await u.call(P.VfsPipe(os.O_NONBLOCK))
        out.append(await errno_of(u.read(r, 5)))
        big = b"x" * P.PIPE_BUF
        out.append(await u.write(w, big[: P.PIPE_BUF - 10]))
        out.append(await errno_of(u.write(w, b"y" * 20)))  # atomic: no room for all
        out.append(await u.write(w, b"z" * 10))
        out.append(await errno_of(u.write(w, b"q")))
        await u.close(r)
        out.append(await errno_of(u.write(w, b"q")))
        await u.close(w)
        r, w = await u.call(P.VfsPipe(0))
        box["ep"] = u.p.endpoint
        out.append(await errno_of(u.read(r, 5)))  # PM interrupts this
        await u.write(w, b"ab")
        out.append(await u.read(r, 5))
        return out

    async def pm(p, eps):
        await p.sleep(5)
        box["unpause"] = await _tell(p, PmVfsUnpause(eps["u"]))
        box["unpause_idle"] = await _tell(p, PmVfsUnpause(eps["u"]))

    out = run({"u": user}, pm=pm)
    assert out["u"] == [
        errno.EAGAIN,
        P.PIPE_BUF - 10,
        errno.EAGAIN,
        10,
        errno.EAGAIN,
        errno.EPIPE,
        errno.EINTR,
        b"ab",
    ]
    assert box["unpause"] == ("PmVfsUnpause", 0)


def test_large_blocking_write_goes_in_pieces():
    async def user(u):
        r, w = await u.call(P.VfsPipe(0))
        box["fds"] = (r, w)
        n = P.PIPE_BUF + 5000
        # poke a large buffer in pieces that fit our mapped pages
        return await u.write(w, bytes(range(256)) * (n // 256) + b"!" * (n % 256))

    async def reader(u):
        await u.p.sleep(5)
        r, _ = box["fds"]
        got = b""
        while len(got) < P.PIPE_BUF + 5000:
            got += await u.read(r, 16384, at=BUF)
        return len(got), got[-1:]

    async def pm(p, eps):
        await p.sleep(1)
        await _tell(p, PmVfsFork(eps["w"], eps["r"], 7))

    box = {}
    out = run({"w": user, "r": reader}, pm=pm)
    assert out["w"] == P.PIPE_BUF + 5000
    assert out["r"] == (P.PIPE_BUF + 5000, b"!")


def test_fifo_open_rules_and_exec_exit():
    box = {}

    async def a(u):
        out = []
        out.append(await u.path_call(P.VfsMknod, "/fifo", stat.S_IFIFO | 0o666, 0))
        out.append(await errno_of(u.open("/fifo", os.O_RDWR)))
        out.append(await errno_of(u.open("/fifo", os.O_WRONLY | os.O_NONBLOCK)))
        fd = await u.open("/fifo", os.O_RDONLY | os.O_NONBLOCK)
        out.append(fd)
        await u.close(fd)
        fd = await u.open("/fifo", os.O_RDONLY)  # parks until b opens for writing
        out.append(fd)
        out.append(await u.read(fd, 10))
        keep = await u.open("/keep", os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC)
        plain = await u.open("/plain", os.O_CREAT | os.O_WRONLY)
        box["fds"] = (keep, plain)
        await u.p.sleep(30)  # PM execs us meanwhile
        out.append(await errno_of(u.write(keep, b"x")))
        out.append(await u.write(plain, b"x"))
        return out

    async def b(u):
        await u.p.sleep(5)
        fd = await u.open("/fifo", os.O_WRONLY)
        await u.write(fd, b"through")
        return fd

    async def pm(p, eps):
        await p.sleep(20)
        box["exec"] = await _tell(p, PmVfsExec(eps["a"]))
        box["exit"] = await _tell(p, PmVfsExit(eps["b"]))
        box["exit_unknown"] = await _tell(p, PmVfsExit(12345))

    out = run({"a": a, "b": b}, pm=pm)
    assert out["a"] == [0, errno.ENXIO, errno.ENXIO, 0, 0, b"through", errno.EBADF, 1]
    assert out["b"] == 0
    assert box["exec"] == ("PmVfsExec", 0)
    assert box["exit"] == ("PmVfsExit", 0)


def test_unpause_fifo_open_and_exit_while_parked():
    box = {}

    async def a(u):
        out = []
        await u.path_call(P.VfsMknod, "/fifo", stat.S_IFIFO | 0o666, 0)
        out.append(await errno_of(u.open("/fifo", os.O_WRONLY)))  # parks; PM interrupts
        fd = await u.open("/other", os.O_CREAT | os.O_WRONLY)
        out.append(fd)  # descriptor 0 was given back
        r, w = await u.call(P.VfsPipe(0))
        box["fds"] = (r, w)
        await u.p.sleep(4)  # forked to b by now
        await u.close(r)  # b (parked in read) is the only reader left
        await u.p.sleep(10)  # PM ends b meanwhile
        out.append(await errno_of(u.write(w, b"x")))
        return out

    async def b(u):
        await u.p.sleep(5)
        r, w = box["fds"]
        await u.close(w)
        await u.read(r, 10)  # parks for good: PM makes us exit
        return "not reached"

    async def pm(p, eps):
        await p.sleep(2)
        box["unpause"] = await _tell(p, PmVfsUnpause(eps["a"]))
        await p.sleep(1)
        await _tell(p, PmVfsFork(eps["a"], eps["b"], 9))
        await p.sleep(8)
        box["exit"] = await _tell(p, PmVfsExit(eps["b"]))
        await p.kill(eps["b"], 9)

    out = run({"a": a, "b": b}, pm=pm, ignore=("b",))
    assert out["a"] == [errno.EINTR, 0, errno.EPIPE]
    assert box["unpause"] == ("PmVfsUnpause", 0)
    assert box["exit"] == ("PmVfsExit", 0)
