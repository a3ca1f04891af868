"""select(2) in VFS (reference §7): files, pipes, FIFOs, character devices, errors."""

from __future__ import annotations

import errno
import os
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.com import RS_PROC_NR, VFS_PROC_NR
from servers.pm.protocol import PmVfsFork, PmVfsUnpause, VfsPmReply
from tests.vfs.standin import MAJOR, SETS, Driver, fdset, mknod, rs_call, select, unset
from tests.vfs.support import errno_of, run
from vfs import protocol as P


async def _pm_tell(p, msg):
    await p.send(VFS_PROC_NR, msg)
    r = await p.receive(VFS_PROC_NR)
    assert isinstance(r, VfsPmReply)
    return r.status


def _with_driver(users, drv, **kw):
    async def rs(u):
        return await rs_call(u.p, P.VfsMapdriver("drv", MAJOR, u.eps["drv"]))

    system = ("rs", "drv", *kw.pop("system", ()))
    return run(
        {"rs": rs, "drv": drv.main, **users},
        system=system,
        slots={"rs": RS_PROC_NR},
        ignore=("drv", *kw.pop("ignore", ())),
        **kw,
    )


def test_regular_files_are_always_ready():
    async def user(u):
        fd = await u.open("/f", os.O_CREAT | os.O_RDWR)
        ro = await u.open("/f", os.O_RDONLY)
        return [
            await select(u, fd + 1, [fd], [fd], [fd], 0),
            await select(u, fd + 1, [fd], [fd], [fd]),
            # a descriptor not open for writing is "ready" for writing (it would fail)
            await select(u, ro + 1, [], [ro], None, 0),
            await select(u, 0, None, None, None, 0),
        ]

    res = run({"u": user})["u"]
    fd = 0
    assert res[0] == (3, {fd}, {fd}, {fd})
    assert res[1] == (3, {fd}, {fd}, {fd})
    assert res[2] == (1, set(), {1}, set())
    assert res[3] == (0, set(), set(), set())


def test_pipe_readiness_and_wakeup_by_a_sharing_process():
    seen = {}

    async def pm(p, eps):
        await p.sleep(1)
        return await _pm_tell(p, PmVfsFork(eps["a"], eps["b"], 77))

    async def a(u):
        r, w = await u.call(P.VfsPipe(0))
        out = [await select(u, w + 1, [r], [w], [r, w], 0)]
        await u.p.sleep(1)  # b is forked now
        t0 = u.p.now()
        out.append(await select(u, w + 1, [r], None, None))
        out.append(u.p.now() - t0 >= 1.5)
        out.append(await u.read(r, 10))
        await u.close(w)
        # b still holds a write end: not readable until b closes its copy too
        out.append(await select(u, r + 1, [r], None, None))
        await u.close(r)
        return out

    async def b(u):
        await u.p.sleep(2)
        await u.close(0)  # its copy of a's read end, while a selects on it
        await u.p.sleep(1)
        await u.write(1, b"hi")
        await u.p.sleep(1)
        await u.close(1)
        return True

    res = run({"a": a, "b": b}, pm=pm, on_start=lambda vfs: seen.setdefault("vfs", vfs))
    r, w = 0, 1
    assert res["a"] == [
        (1, set(), {w}, set()),
        (1, {r}, set(), set()),
        True,
        b"hi",
        (1, {r}, set(), set()),
    ]
    vfs = seen["vfs"]
    assert all(se is None for se in vfs.selects)
    assert not [v for v in vfs.vnodes.values() if v.is_fifo]  # the pipe's vnode is gone


def test_pipe_full_and_reader_gone():
    async def user(u):
        r, w = await u.call(P.VfsPipe(os.O_NONBLOCK))
        out = [await select(u, w + 1, None, [w], None, 0)]
        n = 0
        while True:
            e = await errno_of(u.write(w, b"x" * 4096))
            if e:
                break
            n += 4096
        out.append(n)
        out.append(await select(u, w + 1, [r], [w], None, 0))
        await u.close(r)
        out.append(await select(u, w + 1, None, [w], [w], 0))
        return out

    res = run({"u": user})["u"]
    assert res == [(1, set(), {1}, set()), 32768, (1, {0}, set(), set()), (2, set(), {1}, {1})]


def test_fifo_select_across_processes():
    async def reader(u):
        await u.path_call(P.VfsMknod, "/fifo", 0o010666, 0)
        fd = await u.open("/fifo", os.O_RDONLY)  # parks until the writer opens
        out = [await select(u, fd + 1, [fd], None, None)]
        out.append(await u.read(fd, 10))
        out.append(await select(u, fd + 1, [fd], None, None))  # writer closed: EOF
        out.append(await u.read(fd, 10))
        return out

    async def writer(u):
        await u.p.sleep(1)
        fd = await u.open("/fifo", os.O_WRONLY)
        await u.p.sleep(2)
        await u.write(fd, b"fifo")
        await u.p.sleep(2)
        await u.close(fd)
        return True

    res = run({"r": reader, "w": writer})
    assert res["r"] == [(1, {0}, set(), set()), b"fifo", (1, {0}, set(), set()), b""]


def test_timeouts_on_the_kernel_clock():
    async def user(u):
        r, _w = await u.call(P.VfsPipe(0))
        t0 = u.p.now()
        a = await select(u, r + 1, [r], None, None, 2.5)
        t1 = u.p.now()
        return a, round(t1 - t0, 1)

    async def other(u):
        r, _w = await u.call(P.VfsPipe(0))
        t0 = u.p.now()
        a = await select(u, r + 1, [r], None, None, 1.0)
        return a, round(u.p.now() - t0, 1)

    res = run({"u": user, "o": other})
    assert res["u"][0] == (0, set(), set(), set())
    assert 2.5 <= res["u"][1] < 3.0
    assert res["o"][0] == (0, set(), set(), set())
    assert 1.0 <= res["o"][1] < 1.5


def test_eintr_leaves_the_sets_untouched():
    async def pm(p, eps):
        await p.sleep(2.5)
        return await _pm_tell(p, PmVfsUnpause(eps["u"]))

    async def user(u):
        r, w = await u.call(P.VfsPipe(0))
        e = await errno_of(select(u, w + 1, [r], [], [r, w]))
        rs = await u.p.peek(SETS, 1)
        ws = await u.p.peek(SETS + 64, 1)
        xs = await u.p.peek(SETS + 128, 1)
        await u.p.sleep(1)  # let PM hear VFS's answer before the run ends
        return e, unset(rs), unset(ws), unset(xs)

    res = run({"u": user}, pm=pm)
    assert res["u"] == (errno.EINTR, {0}, set(), {0, 1})
    assert res["pm"] == 0


def test_errors_ebadf_einval():
    async def user(u):
        fd = await u.open("/f", os.O_CREAT | os.O_RDWR)
        d = await u.open("/", os.O_RDONLY)
        await u.p.poke(SETS, fdset(fd, 7))
        before = await u.p.peek(SETS, 1)
        out = [await errno_of(select(u, 8, [fd, 7], None, None, 0))]
        out.append(await u.p.peek(SETS, 1) == before)
        out.append(await errno_of(select(u, d + 1, [d], None, None, 0)))
        out.append(await errno_of(u.call(P.VfsSelect(-1, 0, 0, 0, 0))))
        out.append(await errno_of(u.call(P.VfsSelect(P.FD_SETSIZE + 1, 0, 0, 0, 0))))
        out.append(await errno_of(select(u, fd + 1, [fd], None, None, -2.0)))
        out.append(await errno_of(u.call(P.VfsSelect(fd + 1, 0x7000_0000, 0, 0, 0))))
        return out

    res = run({"u": user})["u"]
    assert res == [
        errno.EBADF,
        True,
        errno.EBADF,
        errno.EINVAL,
        errno.EINVAL,
        errno.EINVAL,
        errno.EFAULT,
    ]


def test_table_full_is_enospc_and_selects_hold_no_worker():
    n = P.MAXSELECTS

    def sel(i):
        async def body(u):
            await u.p.sleep(i * 0.01)
            r, _w = await u.call(P.VfsPipe(0))
            return await select(u, r + 1, [r], None, None, 5.0)

        return body

    async def late(u):
        await u.p.sleep(2)
        r, _w = await u.call(P.VfsPipe(0))
        a = await errno_of(select(u, r + 1, [r], None, None, 1.0))
        await u.p.sleep(5)
        b = await select(u, r + 1, [r], None, None, 0)
        return a, b

    users = {f"s{i}": sel(i) for i in range(n)}
    res = run({**users, "late": late}, workers=3)
    assert all(res[f"s{i}"] == (0, set(), set(), set()) for i in range(n))
    assert res["late"] == (errno.ENOSPC, (0, set(), set(), set()))


def test_char_device_select_with_late_notification_for_all_waiters():
    drv = Driver()

    async def sel(u):
        await u.p.sleep(1)
        fd = await u.open("/d1", os.O_RDONLY)
        out = [await select(u, fd + 1, [fd], None, None, 0)]
        t0 = u.p.now()
        out.append(await select(u, fd + 1, [fd], None, None))
        out.append(u.p.now() - t0 >= 1)
        return out

    async def feeder(u):
        await mknod(u, "/d1", 1)
        await u.p.sleep(3)
        fd = await u.open("/d1", os.O_WRONLY)
        return await u.write(fd, b"!")

    res = _with_driver({"a": sel, "b": sel, "f": feeder}, drv)
    for who in ("a", "b"):
        assert res[who] == [(0, set(), set(), set()), (1, {0}, set(), set()), True]
    selects = [e for e in drv.log if isinstance(e, tuple) and e[0] == "select"]
    assert selects[0] == ("select", 1, 1)  # the poll asks without CDEV_NOTIFY
    assert ("select", 1, 1 | 8) in selects


def test_one_query_per_major_deferral_and_restart():
    drv = Driver()

    async def user(u):
        await u.p.sleep(1)
        await mknod(u, "/d1", 1)
        await mknod(u, "/d2", 2 + 7)
        await mknod(u, "/d3", 3 + 7)
        fds = [await u.open(p, os.O_RDWR) for p in ("/d1", "/d2", "/d3")]
        await u.write(fds[1], b"x")
        return await select(u, fds[-1] + 1, fds, fds, None, 0)

    res = _with_driver({"u": user}, drv)
    assert res["u"] == (4, {1}, {0, 1, 2}, set())
    assert len([e for e in drv.log if isinstance(e, tuple) and e[0] == "select"]) == 3


def test_driver_without_select_fails_with_ebadf():
    drv = Driver(select_support=False)

    async def user(u):
        await u.p.sleep(1)
        await mknod(u, "/d1", 1)
        fd = await u.open("/d1", os.O_RDWR)
        f = await u.open("/f", os.O_CREAT | os.O_RDWR)
        return [
            await errno_of(select(u, f + 1, [fd, f], None, None, 0)),
            await errno_of(select(u, f + 1, [fd, f], None, None)),
            await select(u, f + 1, [f], None, None),
        ]

    res = _with_driver({"u": user}, drv)
    assert res["u"] == [errno.EBADF, errno.EBADF, (1, {1}, set(), set())]


def test_char_select_timeout_and_eintr():
    drv = Driver()

    async def pm(p, eps):
        await p.sleep(5)
        return await _pm_tell(p, PmVfsUnpause(eps["u"]))

    async def user(u):
        await u.p.sleep(1)
        await mknod(u, "/d1", 1)
        fd = await u.open("/d1", os.O_RDONLY)
        t0 = u.p.now()
        a = await select(u, fd + 1, [fd], None, None, 1.5)
        b = round(u.p.now() - t0, 1)
        c = await errno_of(select(u, fd + 1, [fd], None, None))
        await u.p.sleep(1)
        return a, 1.5 <= b < 2, c

    res = _with_driver({"u": user}, drv, pm=pm)
    assert res["u"] == ((0, set(), set(), set()), True, errno.EINTR)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31), policy=st.sampled_from(["fifo", "random", "pct"]))
def test_random_fifo_traffic_through_select(seed, policy):
    """One reader multiplexes two FIFOs with select (timeouts, signals); nothing is lost."""
    from kernel.policy import PctPolicy, RandomPolicy

    rng = random.Random(seed)
    chunks = {
        name: [bytes([65 + i]) * rng.randint(1, 40) for i in range(rng.randint(1, 5))]
        for name in ("a", "b")
    }
    naps = {name: [rng.choice((0.0, 0.1, 0.4)) for _ in chunks[name]] for name in chunks}
    waits = [rng.choice((0.0, 0.05, 0.3, -1.0)) for _ in range(200)]
    signals = sorted(rng.uniform(1.5, 4) for _ in range(rng.randint(0, 3)))
    seen = {}

    async def pm(p, eps):
        for t in signals:
            await p.sleep(max(0.0, t - p.now()))
            assert await _pm_tell(p, PmVfsUnpause(eps["r"])) == 0
        return True

    def writer(name):
        async def body(u):
            await u.p.sleep(0.1)
            fd = await u.open(f"/{name}", os.O_WRONLY)
            for data, nap in zip(chunks[name], naps[name], strict=True):
                await u.p.sleep(nap)
                assert await u.write(fd, data) == len(data)
            await u.close(fd)
            return True

        return body

    async def reader(u):
        for name in ("a", "b"):
            await u.path_call(P.VfsMknod, f"/{name}", 0o010666, 0)
        fds = {await u.open("/a", os.O_RDONLY): "a"}
        fds[await u.open("/b", os.O_RDONLY)] = "b"
        got = {"a": b"", "b": b""}
        errs = []
        i = 0
        while fds:
            i += 1
            try:
                n, rset, _, _ = await select(u, max(fds) + 1, list(fds), None, None, waits[i % 200])
            except OSError as exc:
                errs.append(exc.errno)
                continue
            assert n == len(rset) and rset <= set(fds)
            for fd in sorted(rset):
                data = await u.read(fd, 64)
                if data:
                    got[fds[fd]] += data
                else:
                    await u.close(fd)
                    del fds[fd]
        await u.p.sleep(1)  # PM hears its last answer
        return got, errs

    pol = {"fifo": None, "random": RandomPolicy(seed), "pct": PctPolicy(seed)}[policy]
    res = run(
        {"r": reader, "wa": writer("a"), "wb": writer("b")},
        pm=pm,
        policy=pol,
        workers=4,
        on_start=lambda vfs: seen.setdefault("vfs", vfs),
        timeout=1000,
    )
    got, errs = res["r"]
    assert set(errs) <= {errno.EINTR}
    assert got == {name: b"".join(chunks[name]) for name in chunks}
    assert all(se is None for se in seen["vfs"].selects)
