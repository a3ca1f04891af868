"""A character driver dies (reference §6.2): EIO, ready selects, FILP_CLOSED, remap."""

from __future__ import annotations

import errno
import os
import random
import signal
import stat

from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.com import RS_PROC_NR
from tests.vfs.standin import MAJOR, Driver, mknod, rs_call, select
from tests.vfs.support import BUF, errno_of, run
from vfs import protocol as P


def _run(users, drivers, rs, **kw):
    return run(
        {"rs": rs, **{n: d.main for n, d in drivers.items()}, **users},
        system=("rs", *drivers),
        slots={"rs": RS_PROC_NR},
        ignore=tuple(drivers),
        **kw,
    )


def test_crash_fails_waiters_readies_selects_invalidates_and_remap_serves_new_opens():
    old, new = Driver(), Driver()
    seen = {}

    async def rs(u):
        out = [await rs_call(u.p, P.VfsMapdriver("drv", MAJOR, u.eps["old"]))]
        await u.p.sleep(4)
        await u.p.kill(u.eps["old"], signal.SIGKILL)
        out.append(await rs_call(u.p, P.VfsServiceDown(u.eps["old"])))
        await u.p.sleep(2)
        out.append(await rs_call(u.p, P.VfsMapdriver("drv", MAJOR, u.eps["new"])))
        return out

    async def reader(u):
        await u.p.sleep(1)
        fd = await u.open("/d1", os.O_RDONLY)
        return await errno_of(u.read(fd, 8))

    async def selector(u):
        await u.p.sleep(1)
        fd = await u.open("/d1", os.O_RDWR)
        await u.open("/f", os.O_CREAT | os.O_RDWR)
        r, w = await u.call(P.VfsPipe(0))
        # blocks: the device is not readable, the pipe empty
        return await select(u, w + 1, [fd, r], None, None)

    async def holder(u):
        await mknod(u, "/d1", 1)
        await u.p.sleep(1)
        fd = await u.open("/d1", os.O_RDWR)
        dup = await u.call(P.VfsDup(fd))
        await u.p.sleep(5)  # the driver died at t=5; remapped at t=7
        out = [
            await errno_of(u.read(fd, 1)),
            await errno_of(u.write(fd, b"x")),
            await errno_of(u.call(P.VfsIoctl(fd, P.io("T", 1), 0))),
            await errno_of(u.fstat(fd)),
            await errno_of(u.lseek(fd, 0)),
            await errno_of(u.call(P.VfsFcntl(fd, P.F_GETFL, 0))),
            await errno_of(u.call(P.VfsDup(fd))),
            await select(u, fd + 1, [fd], [fd], None, 0),
            await select(u, fd + 1, [fd], None, None),
            await u.close(fd),
        ]
        await u.p.sleep(2)
        fd2 = await u.open("/d1", os.O_RDWR)
        out.append(await u.write(fd2, b"new"))
        out.append(await u.read(fd2, 3))
        out.append(await errno_of(u.read(dup, 1)))
        out.append(await u.close(dup))
        out.append(await u.close(fd2))
        return out

    res = _run(
        {"reader": reader, "selector": selector, "holder": holder},
        {"old": old, "new": new},
        rs,
        on_start=lambda vfs: seen.setdefault("vfs", vfs),
    )
    assert res["rs"] == [0, 0, 0]
    assert res["reader"] == errno.EIO
    assert res["selector"] == (1, {0}, set(), set())
    fd = 0
    assert res["holder"] == [
        errno.EIO,
        errno.EIO,
        errno.EIO,
        errno.EIO,
        errno.EIO,
        errno.EIO,
        errno.EIO,
        (2, {fd}, {fd}, set()),
        (1, {fd}, set(), set()),
        0,
        3,
        b"new",
        errno.EIO,
        0,
        0,
    ]
    # the dead driver never saw a close; the new one saw one open and one close
    assert not [e for e in old.log if isinstance(e, tuple) and e[0] == "close"]
    assert [e[0] for e in new.log if isinstance(e, tuple) and e[0] in ("open", "close")] == [
        "open",
        "close",
    ]
    assert all(se is None for se in seen["vfs"].selects)


def test_remap_to_a_new_endpoint_invalidates_first():
    old, new = Driver(), Driver()

    async def rs(u):
        out = [await rs_call(u.p, P.VfsMapdriver("drv", MAJOR, u.eps["old"]))]
        await u.p.sleep(3)
        out.append(await rs_call(u.p, P.VfsMapdriver("drv", MAJOR, u.eps["new"])))
        return out

    async def user(u):
        await mknod(u, "/d1", 1)
        await u.p.sleep(1)
        fd = await u.open("/d1", os.O_RDWR)
        await u.p.sleep(3)  # remapped at t=4
        out = [await errno_of(u.write(fd, b"a")), await u.close(fd)]
        fd = await u.open("/d1", os.O_RDWR)
        out.append(await u.write(fd, b"b"))
        return out

    async def blocked(u):
        await u.p.sleep(1.5)
        fd = await u.open("/d1", os.O_RDONLY)
        return await errno_of(u.read(fd, 4))  # waits on the old driver

    res = _run({"u": user, "b": blocked}, {"old": old, "new": new}, rs)
    assert res["rs"] == [0, 0]
    assert res["u"] == [errno.EIO, 0, 1]
    assert res["b"] == errno.EIO
    assert ("write", 1, 0, b"b") in new.log
    assert not [e for e in old.log if isinstance(e, tuple) and e[0] == "write"]


def test_driver_dies_during_open_and_during_cancel():
    class Mute(Driver):
        async def handle(self, p, m):
            from chardev.protocol import CdevCancel, CdevOpen

            if isinstance(m, CdevOpen) and m.minor == 7:
                return None  # never answers this open
            if isinstance(m, CdevCancel):
                return None  # nor any cancel
            return await super().handle(p, m)

    drv = Mute()

    async def pm(p, eps):
        from kernel.com import VFS_PROC_NR
        from servers.pm.protocol import PmVfsUnpause

        await p.sleep(3.5)  # the driver dies within CANCEL_TIMEOUT of the cancel
        await p.send(VFS_PROC_NR, PmVfsUnpause(eps["r"]))
        return (await p.receive(VFS_PROC_NR)).status

    async def rs(u):
        await rs_call(u.p, P.VfsMapdriver("drv", MAJOR, u.eps["drv"]))
        await u.p.sleep(3)
        return await rs_call(u.p, P.VfsServiceDown(u.eps["drv"]))

    async def opener(u):
        await mknod(u, "/d7", 7)
        await mknod(u, "/d1", 1)
        return await errno_of(u.open("/d7", os.O_RDONLY))

    async def reader(u):
        await u.p.sleep(0.5)
        fd = await u.open("/d1", os.O_RDONLY)
        e = await errno_of(u.read(fd, 4))
        await u.p.sleep(1)  # let PM hear VFS's answer before the run ends
        return e

    res = _run({"o": opener, "r": reader}, {"drv": drv}, rs, pm=pm)
    assert res["o"] == errno.EIO
    assert res["r"] == errno.EIO
    assert res["pm"] == 0
    assert res["rs"] == 0


def test_buffer_addresses_survive():
    """Sanity for the harness: BUF is where reads land."""
    drv = Driver()

    async def rs(u):
        return await rs_call(u.p, P.VfsMapdriver("drv", MAJOR, u.eps["drv"]))

    async def user(u):
        await mknod(u, "/d1", 1)
        await u.p.sleep(1)
        fd = await u.open("/d1", os.O_RDWR)
        await u.write(fd, b"xyz")
        await u.call(P.VfsRead(fd, BUF + 100, 3))
        return await u.p.peek(BUF + 100, 3)

    assert _run({"u": user}, {"drv": drv}, rs)["u"] == b"xyz"


# -- random programs with crashes ----------------------------------------------------------

STEPS = ("open", "write", "read", "select", "close", "dup", "sleep")


def _program(rng):
    prog = []
    for _ in range(rng.randint(4, 10)):
        kind = rng.choice(STEPS)
        if kind == "open":
            prog.append(("open", rng.choice((1, 6)), rng.random() < 0.5))
        elif kind == "select":
            prog.append(
                ("select", rng.randint(0, 3), rng.choice((0.0, 0.2, -1.0)), rng.random() < 0.3)
            )
        elif kind == "sleep":
            prog.append(("sleep", rng.choice((0.1, 0.5, 1.0))))
        else:
            prog.append((kind, rng.randint(0, 3)))
    return prog


def _user(prog, trace):
    async def body(u):
        await mknod_once(u)
        fds = []  # (fd, opened_at)
        for step in prog:
            t0 = u.p.now()
            kind = step[0]
            if kind == "sleep":
                await u.p.sleep(step[1])
                continue
            if kind == "open":
                flags = os.O_RDWR | (os.O_NONBLOCK if step[2] else 0)
                try:
                    fds.append((await u.open(f"/r{step[1]}", flags), u.p.now()))
                    res = "fd"
                except OSError as exc:
                    res = exc.errno
                trace.append(("open", t0, u.p.now(), None, res))
                continue
            if not fds:
                continue
            fd, opened = fds[step[1] % len(fds)]
            if kind == "write":
                res = await _try(u.write(fd, b"w" * 3))
            elif kind == "read":
                res = await _try(u.read(fd, 4))
            elif kind == "dup":
                try:
                    fds.append((await u.call(P.VfsDup(fd)), opened))
                    res = "fd"
                except OSError as exc:
                    res = exc.errno
            elif kind == "select":
                res = await _try(select(u, fd + 1, [fd], [fd] if step[3] else [], None, step[2]))
            else:
                res = await u.close(fd)
                fds.remove((fd, opened))
            trace.append((kind, t0, u.p.now(), opened, res, fd))
        for fd, _ in fds:
            assert await u.close(fd) == 0
        return True

    return body


async def mknod_once(u):
    for minor in (1, 6):
        e = await errno_of(mknod(u, f"/r{minor}", minor))
        assert e in (0, errno.EEXIST)


async def _try(coro):
    try:
        return await coro
    except OSError as exc:
        return exc.errno


def _check(trace, crashes):
    allowed = {
        "open": {errno.ENXIO, errno.EIO, "fd"},
        "read": {errno.EAGAIN, errno.EIO, errno.EINTR},
        "write": {errno.EIO, 3},
        "dup": {errno.EIO, "fd"},
        "select": {errno.EINTR},
        "close": {0},
    }
    for kind, t0, _t1, opened, res, *rest in trace:
        if kind == "read" and isinstance(res, bytes):
            assert res and set(res) == {ord("w")}, res
        elif kind == "select" and isinstance(res, tuple):
            pass
        else:
            assert res in allowed[kind], (kind, res)
        if opened is None:
            continue
        dead = any(opened < begin and end < t0 for begin, end in crashes)
        if not dead:
            continue
        if kind in ("read", "write", "dup"):
            assert res == errno.EIO, (kind, res)
        elif kind == "select" and res != errno.EINTR:
            fd = rest[0]
            assert res[1] == {fd}, res


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), policy=st.sampled_from(["fifo", "random"]))
def test_random_programs_with_crashes_keep_vfs_consistent(seed, policy):
    from kernel.policy import RandomPolicy

    rng = random.Random(seed)
    drivers = {f"d{i}": Driver() for i in range(4)}
    progs = {f"u{i}": _program(rng) for i in range(3)}
    ncrash = rng.randint(0, 2)
    crash_at = sorted(rng.uniform(1.2, 5) for _ in range(ncrash))
    kill = [rng.random() < 0.5 for _ in range(ncrash + 1)]
    unpauses = sorted((rng.uniform(1, 6), rng.randrange(3)) for _ in range(rng.randint(0, 3)))
    crashes = []
    traces = {name: [] for name in progs}
    seen = {}

    async def rs(u):
        cur = 0
        await rs_call(u.p, P.VfsMapdriver("drv", MAJOR, u.eps["d0"]))
        for i, t in [*enumerate(crash_at), (ncrash, 9.0)]:
            await u.p.sleep(max(0.0, t - u.p.now()))
            begin = u.p.now()
            if kill[i]:
                await u.p.kill(u.eps[f"d{cur}"], signal.SIGKILL)
            await rs_call(u.p, P.VfsServiceDown(u.eps[f"d{cur}"]))
            crashes.append((begin, u.p.now()))
            if i < ncrash:
                await u.p.sleep(rng.choice((0.0, 0.3)))
                cur += 1
                await rs_call(u.p, P.VfsMapdriver("drv", MAJOR, u.eps[f"d{cur}"]))
        return True

    async def pm(p, eps):
        from kernel.com import VFS_PROC_NR
        from servers.pm.protocol import PmVfsUnpause

        for t, who in unpauses:
            await p.sleep(max(0.0, t - p.now()))
            await p.send(VFS_PROC_NR, PmVfsUnpause(eps[f"u{who}"]))
            assert (await p.receive(VFS_PROC_NR)).status == 0
        return True

    users = {name: _user(prog, traces[name]) for name, prog in progs.items()}
    res = _run(
        users,
        drivers,
        rs,
        pm=pm,
        policy=RandomPolicy(seed) if policy == "random" else None,
        on_start=lambda vfs: seen.setdefault("vfs", vfs),
        timeout=1000,
    )
    assert all(res[name] is True for name in progs), (seed, res)
    for name in progs:
        _check(traces[name], crashes)
    vfs = seen["vfs"]
    assert all(se is None for se in vfs.selects)
    assert not vfs.cdev_waiting
    assert all(fp.blocked_on == 0 for fp in vfs.fprocs.values())
    assert not [v for v in vfs.vnodes.values() if stat.S_ISCHR(v.mode)]
