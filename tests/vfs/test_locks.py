"""fcntl record locks at the message level: ranges, conflicts, waits, release, limits."""

from __future__ import annotations

import errno
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.com import VFS_PROC_NR
from kernel.policy import PctPolicy, RandomPolicy
from servers.pm.protocol import PmVfsExit, PmVfsFork, PmVfsUnpause, VfsPmReply
from tests.vfs.support import BUF, errno_of, run
from vfs import protocol as P

FL = BUF + 12 * 4096
"""Where the tests keep their struct flock."""

RD, WR, UN = P.F_RDLCK, P.F_WRLCK, P.F_UNLCK
RW = os.O_RDWR


async def _tell(p, msg):
    await p.send(VFS_PROC_NR, msg)
    r = await p.receive(VFS_PROC_NR)
    assert isinstance(r, VfsPmReply)
    return (r.call, r.status)


def pids_pm(names, then=None):
    """A PM stand-in that gives each user in ``names`` the pid 100 + index, then runs ``then``."""

    async def pm(p, eps):
        for i, name in enumerate(names):
            await _tell(p, PmVfsFork(p.endpoint, eps[name], 100 + i))
        if then is not None:
            return await then(p, eps)
        return None

    return pm


async def setlk(u, fd, ltype, start=0, length=0, whence=os.SEEK_SET, cmd=P.F_SETLK):
    await u.p.poke(FL, P.FLOCK.pack(ltype, whence, start, length, 0))
    return await u.call(P.VfsFcntl(fd, cmd, FL))


async def setlkw(u, fd, ltype, start=0, length=0):
    return await setlk(u, fd, ltype, start, length, cmd=P.F_SETLKW)


async def getlk(u, fd, ltype, start=0, length=0, whence=os.SEEK_SET):
    await u.p.poke(FL, P.FLOCK.pack(ltype, whence, start, length, 777))
    await u.call(P.VfsFcntl(fd, P.F_GETLK, FL))
    return P.FLOCK.unpack(await u.p.peek(FL, P.FLOCK.size))


def e(coro):
    return errno_of(coro)


def test_ranges_conflicts_split_merge_and_getlk():
    async def a(u):
        fd = await u.open("/f", os.O_CREAT | RW)
        await u.write(fd, b"x" * 100)
        await setlk(u, fd, WR, 0, 10)
        await setlk(u, fd, RD, 20, 10)
        await u.p.sleep(5)
        await setlk(u, fd, UN, 3, 3)  # splits [0,9] into [0,2] and [6,9]
        await u.p.sleep(5)
        await setlk(u, fd, WR, 3, 3)  # fills the hole: merged back into [0,9]
        await u.p.sleep(5)
        await setlk(u, fd, RD, 0, 10)  # replaces (downgrades) the write lock
        await u.p.sleep(5)
        await setlk(u, fd, UN, 0, 0)  # everything from 0 on
        await u.p.sleep(5)
        return await u.close(fd)

    async def b(u):
        await u.p.sleep(2)
        fd = await u.open("/f", RW)
        out = [await getlk(u, fd, WR, 0, 1)]
        out.append(await getlk(u, fd, RD, 5, 1))
        out.append(await e(setlk(u, fd, RD, 5, 1)))
        out.append(await setlk(u, fd, RD, 25, 1))  # read locks share
        out.append(await e(setlk(u, fd, WR, 25, 1)))
        out.append(await getlk(u, fd, WR, 30, 10))  # free: only l_type changes
        out.append(await getlk(u, fd, RD, 20, 5))  # read vs read: no conflict
        await u.p.sleep(5)
        out.append(await getlk(u, fd, WR, 0, 1))
        out.append(await getlk(u, fd, WR, 4, 1))
        out.append(await getlk(u, fd, WR, 6, 1))
        out.append(await setlk(u, fd, WR, 3, 3))  # the hole is free for us
        await setlk(u, fd, UN, 3, 3)
        await u.p.sleep(5)
        out.append(await getlk(u, fd, WR, 5, 0))
        await u.p.sleep(5)
        out.append(await setlk(u, fd, RD, 0, 1))
        out.append(await getlk(u, fd, WR, 0, 1))  # a's read lock on [0,9] is first
        await u.p.sleep(5)
        out.append(await getlk(u, fd, WR, 0, 0))  # only our own locks remain
        out.append(await setlk(u, fd, WR, 50, 0))
        return out

    out = run({"a": a, "b": b}, pm=pids_pm(["a", "b"]))
    assert out["b"] == [
        (WR, 0, 0, 10, 100),
        (WR, 0, 0, 10, 100),
        errno.EAGAIN,
        0,
        errno.EAGAIN,
        (UN, 0, 30, 10, 777),
        (UN, 0, 20, 5, 777),
        (WR, 0, 0, 3, 100),
        (UN, 0, 4, 1, 777),
        (WR, 0, 6, 4, 100),
        0,
        (WR, 0, 0, 10, 100),
        0,
        (RD, 0, 0, 10, 100),
        (UN, 0, 0, 0, 777),
        0,
    ]


def test_argument_errors_and_whence():
    async def a(u):
        fd = await u.open("/f", os.O_CREAT | RW)
        await u.write(fd, b"y" * 100)
        ro = await u.open("/f", os.O_RDONLY)
        wo = await u.open("/f", os.O_WRONLY)
        r, w = await u.call(P.VfsPipe(0))
        out = [
            await e(setlk(u, fd, 5)),
            await e(setlk(u, fd, RD, 0, 1, whence=9)),
            await e(setlk(u, fd, RD, -1, 1)),
            await e(getlk(u, fd, UN)),
            await e(setlk(u, wo, RD)),
            await e(setlk(u, ro, WR)),
            await e(setlk(u, 77, RD)),
            await e(setlk(u, r, RD)),
            await e(setlk(u, fd, RD, 3, -5)),
            await e(u.call(P.VfsFcntl(fd, P.F_SETLK, 0x7000_0000))),
            await setlk(u, ro, RD, 0, 1),  # each fd may take the lock its mode allows
            await setlk(u, wo, WR, 1, 1),
            await u.lseek(fd, 50),
        ]
        await setlk(u, fd, WR, 0, 10, whence=os.SEEK_CUR)  # [50, 59]
        await setlk(u, fd, WR, -10, 0, whence=os.SEEK_END)  # [90, for ever)
        await setlk(u, fd, RD, 10, -5)  # POSIX: [5, 9]
        await u.p.sleep(5)
        for x in (fd, ro, wo, r, w):
            await u.close(x)
        return out

    async def b(u):
        await u.p.sleep(2)
        fd = await u.open("/f", os.O_RDONLY)
        out = [await getlk(u, fd, WR, 2, 200)]
        out.append(await getlk(u, fd, WR, 0, 1))
        out.append(await getlk(u, fd, WR, 1, 1))
        out.append(await getlk(u, fd, WR, 45, 10))
        out.append(await getlk(u, fd, RD, 60, 1))
        out.append(await getlk(u, fd, RD, 1000, 1))
        out.append(await getlk(u, fd, RD, 95, -10, whence=os.SEEK_SET))
        return out

    out = run({"a": a, "b": b}, pm=pids_pm(["a", "b"]))
    assert out["a"] == [
        errno.EINVAL,
        errno.EINVAL,
        errno.EINVAL,
        errno.EINVAL,
        errno.EBADF,
        errno.EBADF,
        errno.EBADF,
        errno.EINVAL,
        errno.EINVAL,
        errno.EFAULT,
        0,
        0,
        50,
    ]
    assert out["b"] == [
        (RD, 0, 5, 5, 100),  # the first lock in the table in the way: [5,9]
        (RD, 0, 0, 1, 100),
        (WR, 0, 1, 1, 100),
        (WR, 0, 50, 10, 100),
        (UN, 0, 60, 1, 777),
        (WR, 0, 90, 0, 100),  # l_len 0: to the end, for ever
        (WR, 0, 90, 0, 100),
    ]


def test_setlkw_waits_and_is_granted_on_unlock_close_and_exit():
    """Three waits: the holder unlocks; closes another fd of the file; exits."""
    log = []

    async def holder(u):
        fd = await u.open("/f", os.O_CREAT | RW)
        other = await u.open("/f", os.O_RDONLY)
        await setlk(u, fd, WR, 0, 10)
        await u.p.sleep(10)
        log.append("unlock")
        await setlk(u, fd, UN, 0, 10)
        await u.p.sleep(2)
        await setlk(u, fd, WR, 0, 10)  # the waiter has let go again
        await u.p.sleep(10)
        log.append("close")
        await u.close(other)  # any descriptor of the file drops its locks
        await u.p.sleep(2)
        await setlk(u, fd, WR, 0, 10)
        await u.p.sleep(40)  # PM says we exit meanwhile
        return 0

    async def waiter(u):
        await u.p.sleep(2)
        fd = await u.open("/f", RW)
        out = []
        for why in ("unlock", "close", "exit"):
            out.append((await setlkw(u, fd, WR, 5, 1), log[-1] if log else None, why))
            await setlk(u, fd, UN, 5, 1)
            await u.p.sleep(5)
        return out

    async def after(p, eps):
        await p.sleep(30)
        log.append("exit")
        return await _tell(p, PmVfsExit(eps["holder"]))

    out = run({"holder": holder, "waiter": waiter}, pm=pids_pm(["holder", "waiter"], after))
    assert out["waiter"] == [(0, "unlock", "unlock"), (0, "close", "close"), (0, "exit", "exit")]
    assert out["pm"] == ("PmVfsExit", 0)


def test_unpause_ends_setlkw_with_eintr_and_no_lock_is_held():
    async def holder(u):
        fd = await u.open("/f", os.O_CREAT | RW)
        await setlk(u, fd, WR, 0, 0)
        await u.p.sleep(10)
        out = [await getlk(u, fd, WR, 0, 0)]  # the interrupted waiter holds nothing
        await setlk(u, fd, UN, 0, 0)
        return out

    async def waiter(u):
        await u.p.sleep(2)
        fd = await u.open("/f", RW)
        out = [await e(setlkw(u, fd, WR, 0, 1))]
        await u.p.sleep(10)
        out.append(await setlk(u, fd, WR, 0, 1))  # free now; no stale waiter state
        return out

    async def after(p, eps):
        await p.sleep(5)
        return [
            await _tell(p, PmVfsUnpause(eps["waiter"])),
            await _tell(p, PmVfsUnpause(eps["waiter"])),
        ]

    out = run({"holder": holder, "waiter": waiter}, pm=pids_pm(["holder", "waiter"], after))
    assert out["waiter"] == [errno.EINTR, 0]
    assert out["holder"] == [(UN, 0, 0, 0, 777)]
    assert out["pm"] == [("PmVfsUnpause", 0), ("PmVfsUnpause", 0)]


def test_several_waiters_all_granted_and_readers_share():
    grants = []

    async def holder(u):
        fd = await u.open("/f", os.O_CREAT | RW)
        await setlk(u, fd, WR, 0, 0)
        await u.p.sleep(10)
        await setlk(u, fd, UN, 0, 0)
        return 0

    def writer(name):
        async def body(u):
            await u.p.sleep(2)
            fd = await u.open("/f", RW)
            await setlkw(u, fd, WR, 0, 100)
            grants.append(name)
            await u.p.sleep(3)
            await setlk(u, fd, UN, 0, 100)
            return name

        return body

    def reader(name):
        async def body(u):
            await u.p.sleep(30)
            fd = await u.open("/f", os.O_RDONLY)
            got = await setlkw(u, fd, RD, 10, 1)
            grants.append(name)
            await u.p.sleep(5)  # all readers hold it at once
            others = await getlk(u, fd, WR, 10, 1)
            await u.close(fd)
            return got, others[0]

        return body

    async def blocker(u):  # makes the readers wait
        await u.p.sleep(29)
        fd = await u.open("/f", RW)
        await setlk(u, fd, WR, 0, 0)
        await u.p.sleep(5)
        await u.close(fd)
        return 0

    users = {"holder": holder, "blocker": blocker}
    users.update({f"w{i}": writer(f"w{i}") for i in range(3)})
    users.update({f"r{i}": reader(f"r{i}") for i in range(3)})
    out = run(users, pm=pids_pm(list(users)))
    assert sorted(grants[:3]) == ["w0", "w1", "w2"]
    assert sorted(grants[3:]) == ["r0", "r1", "r2"]
    for i in range(3):
        assert out[f"r{i}"] == (0, RD)  # another reader's lock is in the way of a write


def test_enolck_table_full_split_and_merge():
    async def a(u):
        fd = await u.open("/f", os.O_CREAT | RW)
        out = []
        for i in range(6):
            await setlk(u, fd, WR, 2 * i, 1)  # [0] [2] [4] [6] [8] [10]
        out.append(await setlk(u, fd, WR, 100, 100))  # 7 locks
        out.append(await setlk(u, fd, UN, 150, 1))  # split: 8, the table is full
        out.append(await e(setlk(u, fd, UN, 120, 1)))  # another split does not fit
        out.append(await e(setlk(u, fd, WR, 20, 1)))
        out.append(await setlk(u, fd, WR, 1, 1))  # merges [0] [1] [2]: 7 locks
        out.append(await e(setlk(u, fd, RD, 1, 1)))  # splits [0,2] in three: 9 locks
        out.append(await setlk(u, fd, WR, 30, 1))  # 8 again
        return out

    async def b(u):
        await u.p.sleep(5)
        fd = await u.open("/f", RW)
        out = [await getlk(u, fd, WR, 120, 1)]  # the failed unlock changed nothing
        out.append(await e(setlk(u, fd, WR, 300, 1)))  # the table is system-wide
        return out

    out = run({"a": a, "b": b}, pm=pids_pm(["a", "b"]))
    assert out["a"] == [0, 0, errno.ENOLCK, errno.ENOLCK, 0, errno.ENOLCK, 0]
    assert out["b"] == [(WR, 0, 100, 50, 100), errno.ENOLCK]


def test_deadlock_is_detected():
    async def a(u):
        fd = await u.open("/f", os.O_CREAT | RW)
        await setlk(u, fd, WR, 0, 1)
        await u.p.sleep(5)
        got = await setlkw(u, fd, WR, 1, 1)  # waits for b
        return got

    async def b(u):
        await u.p.sleep(2)
        fd = await u.open("/f", RW)
        await setlk(u, fd, WR, 1, 1)
        await u.p.sleep(5)
        out = [await e(setlkw(u, fd, WR, 0, 1))]  # a waits for us: EDEADLK
        out.append(await setlk(u, fd, UN, 1, 1))  # lets a go on
        return out

    out = run({"a": a, "b": b}, pm=pids_pm(["a", "b"]))
    assert out["b"] == [errno.EDEADLK, 0]
    assert out["a"] == 0


def test_locks_belong_to_the_process_not_inherited_by_fork():
    async def a(u):
        fd = await u.open("/f", os.O_CREAT | RW)
        second = await u.open("/f", RW)
        await setlk(u, fd, WR, 0, 10)
        await u.p.sleep(10)  # forked meanwhile
        out = [await setlk(u, fd, WR, 0, 10)]  # ours still: the child closed its fd only
        await u.close(second)  # any of our descriptors of the file drops our locks
        await u.p.sleep(10)
        return out

    async def child(u):
        await u.p.sleep(5)  # the fork copied a's descriptors 0 and 1
        out = [await getlk(u, 0, WR, 0, 1)]
        out.append(await e(setlk(u, 0, WR, 0, 1)))
        await u.close(1)  # drops the child's locks on the file only
        out.append(await getlk(u, 0, WR, 0, 1))
        await u.p.sleep(10)
        out.append(await setlk(u, 0, WR, 0, 1))
        return out

    async def fork(p, eps):
        await p.sleep(3)
        return await _tell(p, PmVfsFork(eps["a"], eps["child"], 200))

    out = run({"a": a, "child": child}, pm=pids_pm(["a"], fork))
    assert out["a"] == [0]
    assert out["child"] == [(WR, 0, 0, 10, 100), errno.EAGAIN, (WR, 0, 0, 10, 100), 0]


# -- a property: random F_SETLK/F_GETLK sequences of three owners against a byte model --

U = 40
"""Model bytes 0..U-1. Finite ranges end by byte 38; a "to the end" lock covers U-1."""

OWNERS = ("a", "b", "c")
step = st.tuples(
    st.sampled_from(["set", "get"]),
    st.sampled_from(OWNERS),
    st.sampled_from([RD, WR, UN]),
    st.integers(0, 31),
    st.one_of(st.just(0), st.integers(1, 8)),
)


def _runs(bytemap):
    runs, prev = 0, None
    for t in bytemap:
        if t is not None and t != prev:
            runs += 1
        prev = t
    return runs


def _model(program):
    """Per step: the expected answer and every owner's byte map before the step."""
    held = dict.fromkeys(OWNERS, (None,) * U)
    out = []
    for kind, who, ltype, start, length in program:
        before = held
        span = range(start, U if length == 0 else start + length)
        others = {
            o
            for o in OWNERS
            if o != who
            for i in span
            if held[o][i] is not None and (ltype == WR or held[o][i] == WR)
        }
        if kind == "get":
            if ltype == UN:
                out.append((errno.EINVAL, before))
            elif not others:
                out.append(((UN, 0, start, length, 777), before))
            else:
                out.append((("conflict", others), before))
            continue
        if ltype != UN and others:
            out.append((errno.EAGAIN, before))
            continue
        new = list(held[who])
        for i in span:
            new[i] = None if ltype == UN else ltype
        trial = {**held, who: tuple(new)}
        if sum(_runs(trial[o]) for o in OWNERS) > P.NR_LOCKS:
            out.append((errno.ENOLCK, before))
            continue
        held = trial
        out.append((0, before))
    return out


def _run_program(program):
    results = {}

    def owner(me):
        async def body(u):
            fd = await u.open("/f", os.O_CREAT | RW)
            for i, (kind, who, ltype, start, length) in enumerate(program):
                if who != me:
                    continue
                await u.p.sleep(max(0, 3 + i - u.p.now()))
                if kind == "set":
                    results[i] = await e(setlk(u, fd, ltype, start, length))
                else:
                    try:
                        results[i] = await getlk(u, fd, ltype, start, length)
                    except OSError as exc:
                        results[i] = exc.errno
            return fd

        return body

    run({o: owner(o) for o in OWNERS}, pm=pids_pm(list(OWNERS)))
    return [results[i] for i in range(len(program))]


def _check_conflict(answer, owners, held, ltype, start, length):
    """F_GETLK's answer must be one whole lock (a maximal run) of an owner in the way."""
    typ, whence, first, n, pid = answer
    owner = OWNERS[pid - 100]
    assert owner in owners and whence == os.SEEK_SET
    last = U - 1 if n == 0 else first + n - 1
    row = held[owner]
    assert all(row[i] == typ for i in range(first, last + 1))
    assert first == 0 or row[first - 1] != typ
    assert last == U - 1 or row[last + 1] != typ
    assert first < (U if length == 0 else start + length) and last >= start
    assert ltype == WR or typ == WR


@settings(max_examples=25, deadline=None)
@given(program=st.lists(step, min_size=1, max_size=25))
def test_lock_ranges_match_a_byte_model(program):
    got = _run_program(program)
    for op, answer, (want, held) in zip(program, got, _model(program), strict=True):
        if isinstance(want, tuple) and want[0] == "conflict":
            _check_conflict(answer, want[1], held, *op[2:])
        else:
            assert answer == want, op


@pytest.mark.parametrize("policy", ["random", "pct"])
@pytest.mark.parametrize("seed", range(1, 7))
def test_lock_protected_counter_under_random_schedules(seed, policy):
    """Four processes increment a counter in a file under F_SETLKW: no update is lost."""

    async def setup(u):
        fd = await u.open("/counter", os.O_CREAT | RW)
        await u.write(fd, b"%08d" % 0)
        return await u.close(fd)

    def worker(i):
        async def body(u):
            await u.p.sleep(2)
            fd = await u.open("/counter", RW)
            for _ in range(3):
                await setlkw(u, fd, WR, 0, 0)
                await u.lseek(fd, 0)
                n = int(await u.read(fd, 8))
                await u.p.sleep(0.01 * i)  # hold the lock across a real wait
                await u.lseek(fd, 0)
                await u.write(fd, b"%08d" % (n + 1))
                await setlk(u, fd, UN, 0, 0)
            await u.close(fd)
            return i

        return body

    async def check(u):
        await u.p.sleep(100)
        fd = await u.open("/counter", os.O_RDONLY)
        return int(await u.read(fd, 8))

    users = {"setup": setup, "check": check, **{f"w{i}": worker(i) for i in range(4)}}
    pol = RandomPolicy(seed) if policy == "random" else PctPolicy(seed)
    out = run(users, pm=pids_pm(list(users)), policy=pol, workers=3)
    assert out["check"] == 12, f"{policy} seed {seed}"


@pytest.mark.parametrize("seed", range(1, 9))
def test_unpause_and_exit_storm_leaves_clean_tables(seed):
    """Waiters interrupted at random retry; after every exit no lock or waiter is left."""
    assert _storm(seed) > 0, f"seed {seed}: no F_SETLKW was interrupted"


def _storm(seed):
    import random

    box = {}
    rng = random.Random(seed)
    names = [f"w{i}" for i in range(4)]

    def worker(i):
        async def body(u):
            await u.p.sleep(2)
            fd = await u.open("/counter", os.O_CREAT | RW)
            done = intr = 0
            while done < 3:
                if await e(setlkw(u, fd, WR, 0, 8)) == errno.EINTR:
                    intr += 1
                    continue
                await u.lseek(fd, 0)
                n = int(await u.read(fd, 8) or b"0")
                await u.p.sleep(0.01 * (i + 1))
                await u.lseek(fd, 0)
                await u.write(fd, b"%08d" % (n + 1))
                await setlk(u, fd, UN, 0, 8)
                done += 1
            while await e(setlkw(u, fd, WR, 100 + i, 1)) == errno.EINTR:
                intr += 1  # the lock is left for exit to release
            return intr

        return body

    async def storm(p, eps):
        await p.sleep(2.5)  # the workers start at 3
        for _ in range(12):
            await p.sleep(rng.choice([0.003, 0.007, 0.011]))
            await _tell(p, PmVfsUnpause(eps[rng.choice(names)]))
        await p.sleep(50)
        vfs = box["vfs"]
        box["before"] = len(vfs.locks)
        for n in names:
            await _tell(p, PmVfsExit(eps[n]))
        box["after"] = (len(vfs.locks), len(vfs.lock_waiters), vfs.filps_used)

    async def check(u):
        await u.p.sleep(100)
        fd = await u.open("/counter", os.O_RDONLY)
        return int(await u.read(fd, 8))

    def on_start(vfs):
        box["vfs"] = vfs

    users = {"check": check, **{n: worker(i) for i, n in enumerate(names)}}
    out = run(
        users,
        pm=pids_pm(list(users), storm),
        policy=RandomPolicy(seed),
        workers=4,
        on_start=on_start,
    )
    assert out["check"] == 12
    assert box["before"] == 4
    assert box["after"] == (0, 0, 0)
    return sum(out[n] for n in names)


async def test_libc_locks_on_a_booted_system(autojump_clock):
    """Through libc and the real PM: fork, l_pid, EAGAIN, a wait, release on close and exit."""
    from tests.pm.support import run as boot_run
    from userland import libc

    seen = {}

    def flock(ltype, start=0, length=0):
        return libc.FLOCK.pack(ltype, libc.SEEK_SET, start, length, 0)

    async def prog(argv):
        fd = await libc.open("/tmp/lk", libc.O_RDWR | libc.O_CREAT, 0o644)
        await libc.fcntl(fd, libc.F_SETLK, flock(libc.F_WRLCK, 0, 10))
        me = await libc.getpid()
        r, w = await libc.pipe()

        async def child():
            got = libc.FLOCK.unpack(await libc.fcntl(fd, libc.F_GETLK, flock(libc.F_RDLCK, 5, 1)))
            seen["child sees"] = (got[0], got[2], got[3], got[4] == me)
            try:
                await libc.fcntl(fd, libc.F_SETLK, flock(libc.F_RDLCK, 5, 1))
            except OSError as exc:
                seen["child setlk"] = exc.errno
            await libc.write(w, b"!")
            await libc.fcntl(fd, libc.F_SETLKW, flock(libc.F_WRLCK, 5, 1))  # waits for us
            seen["child granted"] = True
            return 0  # exits holding [5, 5]

        pid = await libc.fork(child)
        await libc.read(r, 1)
        seen["parent sees own"] = libc.FLOCK.unpack(
            await libc.fcntl(fd, libc.F_GETLK, flock(libc.F_WRLCK, 0, 0))
        )[0]
        dup = await libc.dup(fd)
        await libc.close(dup)  # any descriptor of the file: our locks go, the child goes on
        _, status = await libc.waitpid(pid, 0)
        seen["child status"] = status
        seen["after exit"] = libc.FLOCK.unpack(
            await libc.fcntl(fd, libc.F_GETLK, flock(libc.F_WRLCK, 0, 0))
        )[0]
        return 0

    assert await boot_run(prog) == 0
    assert seen == {
        "child sees": (libc.F_WRLCK, 0, 10, True),
        "child setlk": errno.EAGAIN,
        "parent sees own": libc.F_UNLCK,
        "child granted": True,
        "child status": 0,
        "after exit": libc.F_UNLCK,
    }
