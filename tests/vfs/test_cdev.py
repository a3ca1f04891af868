"""Character devices behind VFS: the dmap, open/close, read/write/ioctl, cancel (§4.2, §9)."""

from __future__ import annotations

import errno
import os

from chardev.protocol import CDEV_NOCTTY, CDEV_R_BIT, CDEV_W_BIT, CdevReply
from kernel.com import RS_PROC_NR, VFS_PROC_NR
from servers.pm.protocol import PmVfsSetsid, PmVfsUnpause, VfsPmReply
from tests.vfs.standin import CLONE, MAJOR, MUTE, PARTIAL, TTY, Driver, dev, mknod, rs_call
from tests.vfs.support import BUF, errno_of, run
from vfs import protocol as P
from vfs.device import CANCEL_TIMEOUT


def _boot(users, drivers, *, rs_script=None, system=("rs",), **kw):
    """Run ``users`` with stand-in drivers; the RS stand-in maps MAJOR to "drv"."""

    async def rs(u):
        if rs_script is not None:
            return await rs_script(u)
        return await rs_call(u.p, P.VfsMapdriver("drv", MAJOR, u.eps["drv"]))

    procs = {"rs": rs, **{name: d.main for name, d in drivers.items()}, **users}
    return run(
        procs,
        system=(*system, *drivers),
        slots={"rs": RS_PROC_NR},
        ignore=tuple(drivers),
        **kw,
    )


async def _pm_tell(p, msg):
    await p.send(VFS_PROC_NR, msg)
    r = await p.receive(VFS_PROC_NR)
    assert isinstance(r, VfsPmReply)
    return r.status


def test_open_read_write_ioctl_lseek_close():
    drv = Driver()

    async def user(u):
        await u.p.sleep(1)
        out = []
        await mknod(u, "/d0", 0)
        fd = await u.open("/d0", os.O_RDWR)
        out.append(await u.write(fd, b"hello"))
        out.append(await u.read(fd, 5))
        out.append(await u.lseek(fd, 100))
        out.append(await u.write(fd, b"x"))
        out.append(await u.read(fd, 1))
        await u.p.poke(BUF, b"abcd")
        out.append(await u.call(P.VfsIoctl(fd, P.iowr("T", 7, 4), BUF)))
        out.append(await u.p.peek(BUF, 4))
        out.append(await u.call(P.VfsIoctl(fd, P.io("T", 9), 0)))
        out.append((await u.fstat(fd)).st_rdev)
        out.append(await u.read(fd, 0))
        reg = await u.open("/plain", os.O_CREAT | os.O_RDWR)
        out.append(await errno_of(u.call(P.VfsIoctl(reg, P.io("T", 1), 0))))
        out.append(await errno_of(u.call(P.VfsIoctl(99, P.io("T", 1), 0))))
        out.append(await u.close(fd))
        return out

    res = _boot({"u": user}, {"drv": drv})
    assert res["rs"] == 0
    assert res["u"] == [
        5,
        b"hello",
        100,
        1,
        b"x",
        7,
        b"dcba",
        9,
        dev(0),
        b"",
        errno.ENOTTY,
        errno.EBADF,
        0,
    ]
    assert ("open", 0, CDEV_R_BIT | CDEV_W_BIT | CDEV_NOCTTY) in drv.log
    assert ("write", 0, 0, b"hello") in drv.log
    assert ("write", 0, 100, b"x") in drv.log
    assert ("read", 0, 5, 5) in drv.log  # the position advances by each count
    assert ("read", 0, 101, 1) in drv.log
    assert drv.log[-1] == ("close", 0)


def test_blocking_read_frees_the_worker_and_is_revived():
    drv = Driver()

    async def reader(u):
        await u.p.sleep(1)
        fd = await u.open("/d1", os.O_RDONLY)
        t0 = u.p.now()
        data = await u.read(fd, 10)
        return data, u.p.now() - t0 >= 2

    async def writer(u):
        await u.p.sleep(0.5)
        await mknod(u, "/d1", 1)
        await u.p.sleep(2.5)
        fd = await u.open("/d1", os.O_WRONLY)
        return await u.write(fd, b"data")

    # two workers: normal work needs both, so the writer runs only if the parked
    # reader holds none
    res = _boot({"r": reader, "w": writer}, {"drv": drv}, workers=2)
    assert res["r"] == (b"data", True)
    assert res["w"] == 4


def test_nonblocking_read_eagain_and_fcntl_toggle():
    drv = Driver()

    async def user(u):
        await u.p.sleep(1)
        await mknod(u, "/d1", 1)
        fd = await u.open("/d1", os.O_RDWR | os.O_NONBLOCK)
        out = [await errno_of(u.read(fd, 4))]
        await u.write(fd, b"ab")
        out.append(await u.read(fd, 4))
        return out

    res = _boot({"u": user}, {"drv": drv})
    assert res["u"] == [errno.EAGAIN, b"ab"]


def test_unpause_cancels_eintr_or_partial_count():
    drv = Driver()

    async def pm(p, eps):
        await p.sleep(3)
        a = await _pm_tell(p, PmVfsUnpause(eps["u1"]))
        await p.sleep(1)
        b = await _pm_tell(p, PmVfsUnpause(eps["u2"]))
        return a, b

    async def u1(u):
        await u.p.sleep(1)
        await mknod(u, "/d1", 1)
        fd = await u.open("/d1", os.O_RDONLY)
        r = await errno_of(u.read(fd, 8))
        await u.p.sleep(3)
        # the driver holds no stale request: a later write and read work
        fd2 = await u.open("/d1", os.O_WRONLY)
        await u.write(fd2, b"zz")
        return r, await u.read(fd, 8)

    async def u2(u):
        await u.p.sleep(2)
        await mknod(u, "/dp", PARTIAL)
        fd = await u.open("/dp", os.O_RDONLY)
        data = await u.read(fd, 10)
        await u.p.sleep(1)  # let PM hear VFS's answer before the run ends
        return data

    res = _boot({"u1": u1, "u2": u2}, {"drv": drv}, pm=pm)
    assert res["u1"] == (errno.EINTR, b"zz")
    assert res["u2"] == b"abc"
    assert res["pm"] == (0, 0)
    cancels = [e for e in drv.log if isinstance(e, tuple) and e[0] == "cancel"]
    assert [c[1] for c in cancels] == [1, PARTIAL]


def test_a_driver_that_never_answers_cannot_keep_a_process_blocked():
    drv = Driver()

    async def pm(p, eps):
        await p.sleep(3)
        t0 = p.now()
        status = await _pm_tell(p, PmVfsUnpause(eps["u"]))
        return status, round(p.now() - t0, 1)

    async def u(u):
        await u.p.sleep(1)
        await mknod(u, "/mute", MUTE)
        fd = await u.open("/mute", os.O_RDONLY)
        r = await errno_of(u.read(fd, 8))
        # the process goes on: VFS serves it (and the driver) as before
        fd2 = await u.open("/d1", os.O_RDWR | os.O_CREAT)
        return r, fd2 > fd

    res = _boot({"u": u}, {"drv": drv}, pm=pm)
    assert res["u"] == (errno.EINTR, True)
    assert res["pm"] == (0, CANCEL_TIMEOUT)
    assert [e[:2] for e in drv.log if isinstance(e, tuple) and e[0] == "cancel"] == [
        ("cancel", MUTE)
    ]


def test_cloning_open_gets_its_own_minor():
    drv = Driver(first_clone=100)

    async def user(u):
        await u.p.sleep(1)
        await mknod(u, "/ptmx", CLONE)
        a = await u.open("/ptmx", os.O_RDWR)
        b = await u.open("/ptmx", os.O_RDWR)
        await u.write(a, b"A")
        await u.write(b, b"B")
        out = [await u.read(b, 5), await u.read(a, 5)]
        out.append((await u.fstat(a)).st_rdev)
        await u.close(a)
        await u.close(b)
        return out

    seen = {}
    res = _boot({"u": user}, {"drv": drv}, on_start=lambda vfs: seen.setdefault("vfs", vfs))
    assert res["u"] == [b"B", b"A", dev(101)]
    assert ("write", 101, 0, b"A") in drv.log
    assert ("write", 102, 0, b"B") in drv.log
    assert ("close", 101) in drv.log
    assert ("close", 102) in drv.log
    # the clones' own vnodes went with their filps
    assert not [v for v in seen["vfs"].vnodes.values() if v.ino < 0]


def test_controlling_tty_and_dev_tty():
    drv = Driver()

    async def pm(p, eps):
        return await _pm_tell(p, PmVfsSetsid(eps["leader"]))

    async def leader(u):
        await u.p.sleep(1)
        await mknod(u, "/tty4", TTY)
        await u.path_call(P.VfsMknod, "/tty", 0o20666, dev(0, 5))
        fd = await u.open("/tty4", os.O_RDWR)
        t = await u.open("/tty", os.O_RDWR)
        await u.write(t, b"via /dev/tty")
        out = [await u.read(fd, 64)]
        out.append(await u.close(t))
        fd2 = await u.open("/tty4", os.O_RDWR)  # already has a ctty: NOCTTY
        out.append(fd2 > fd)
        return out

    async def other(u):
        await u.p.sleep(3)
        fd = await u.open("/tty4", os.O_RDWR)
        e = await errno_of(u.open("/tty", os.O_RDWR))
        await u.close(fd)
        return e

    res = _boot({"leader": leader, "other": other}, {"drv": drv}, pm=pm)
    assert res["pm"] == 0
    assert res["leader"] == [b"via /dev/tty", 0, True]
    assert res["other"] == errno.ENXIO
    opens = [e for e in drv.log if isinstance(e, tuple) and e[0] == "open"]
    assert [o[2] & CDEV_NOCTTY for o in opens] == [0, CDEV_NOCTTY, CDEV_NOCTTY]
    assert ("write", TTY, 0, b"via /dev/tty") in drv.log
    # /dev/tty's own open and close never reach the driver
    assert len([e for e in drv.log if isinstance(e, tuple) and e[0] == "close"]) == 1


def test_dmap_rules():
    drv = Driver()

    async def rs(u):
        out = [await rs_call(u.p, P.VfsMapdriver("drv", 0, u.eps["drv"]))]
        out.append(await rs_call(u.p, P.VfsMapdriver("drv", 5, u.eps["drv"])))
        out.append(await rs_call(u.p, P.VfsMapdriver("drv", 135, u.eps["drv"])))
        out.append(await rs_call(u.p, P.VfsMapdriver("drv", MAJOR, u.eps["drv"])))
        return out

    async def user(u):
        await u.p.sleep(1)
        await mknod(u, "/nodrv", 0, major=40)
        await mknod(u, "/d0", 0)
        return [
            await errno_of(u.call(P.VfsMapdriver("evil", MAJOR, u.p.endpoint))),
            await errno_of(u.call(P.VfsServiceDown(u.eps["drv"]))),
            await errno_of(u.open("/nodrv", os.O_RDONLY)),
            await errno_of(u.open("/d0", os.O_RDONLY)),
        ]

    res = _boot({"u": user}, {"drv": drv}, rs_script=rs, system=("rs", "u"))
    assert res["rs"] == [errno.EINVAL, errno.EINVAL, errno.EINVAL, 0]
    assert res["u"] == [errno.EPERM, errno.EPERM, errno.ENXIO, 0]


def test_stray_and_garbage_replies_are_ignored():
    drv = Driver()

    async def rogue(u):
        await u.p.sleep(2)
        target = u.eps["u"]
        await u.p.senda(VFS_PROC_NR, CdevReply(5, target))  # not its request
        await u.p.senda(VFS_PROC_NR, CdevReply("junk", target))
        await u.p.senda(VFS_PROC_NR, CdevReply(3, 12345))
        return True

    async def user(u):
        await u.p.sleep(1)
        await mknod(u, "/d1", 1)
        fd = await u.open("/d1", os.O_RDONLY)
        t0 = u.p.now()
        data = await u.read(fd, 4)
        return data, u.p.now() - t0 >= 2

    async def feeder(u):
        await u.p.sleep(4)
        fd = await u.open("/d1", os.O_WRONLY)
        return await u.write(fd, b"real")

    res = _boot(
        {"u": user, "rogue": rogue, "feeder": feeder},
        {"drv": drv},
        system=("rs", "rogue"),
    )
    assert res["u"] == (b"real", True)


def test_driver_answering_more_than_asked_is_eio():
    class Liar(Driver):
        async def handle(self, p, m):
            from chardev.protocol import CdevRead

            if isinstance(m, CdevRead):
                return await self.reply(p, m, m.count + 10)
            return await super().handle(p, m)

    drv = Liar()

    async def user(u):
        await u.p.sleep(1)
        await mknod(u, "/d1", 1)
        fd = await u.open("/d1", os.O_RDONLY)
        return await errno_of(u.read(fd, 4))

    assert _boot({"u": user}, {"drv": drv})["u"] == errno.EIO


def test_tiocsctty_sets_the_controlling_terminal():
    drv = Driver()

    async def rs(u):
        return await rs_call(u.p, P.VfsMapdriver("tty", 4, u.eps["drv"]))

    async def user(u):
        await u.p.sleep(1)
        await mknod(u, "/t1", 1, major=4)
        await u.path_call(P.VfsMknod, "/tty", 0o20666, dev(0, 5))
        out = [await errno_of(u.open("/tty", os.O_RDWR))]
        fd = await u.open("/t1", os.O_RDWR)
        out.append(await u.call(P.VfsIoctl(fd, P.TIOCSCTTY, 0)))
        t = await u.open("/tty", os.O_RDWR)
        out.append(await u.write(t, b"ctty"))
        out.append(await u.read(fd, 10))
        return out

    res = _boot({"u": user}, {"drv": drv}, rs_script=rs)
    assert res["rs"] == 0
    assert res["u"] == [errno.ENXIO, 97, 4, b"ctty"]
