"""The three-level lock: modes, queues, write bias, upgrade/downgrade, random schedules."""

from __future__ import annotations

import errno

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st
from trio.testing import MockClock

from kernel.errors import KernelError
from kernel.kernel import Kernel
from kernel.policy import RandomPolicy
from tests.support import Sim
from vfs.tll import TLL, Mode

R, S, W = Mode.READ, Mode.READSER, Mode.WRITE


def _run(script, policy=None):
    """Run ``script(p, tll, log)`` in the main thread of one server process."""

    async def outer():
        async with Kernel(policy=policy) as k:
            sim = Sim(k)
            tll = TLL(k)
            log = []

            async def main(p):
                return await script(p, tll, log)

            sim.spawn("srv", main)
            await sim.wait("srv")
            k.shutdown()
        assert not sim.errors, sim.errors
        return sim.results["srv"], log

    out = []

    async def runner():
        out.append(await outer())

    trio.run(runner, clock=MockClock(autojump_threshold=0))
    return out[0]


def _holder(tll, log, name, mode, hold, *, upgrade=False, downgrade=False):
    async def fn(p):
        log.append(("req", name))
        assert await tll.lock(mode) == 0
        log.append(("got", name))
        await p.sleep(hold)
        if upgrade:
            await tll.upgrade()
            log.append(("up", name))
            await p.sleep(1)
        if downgrade:
            await tll.downgrade()
            log.append(("down", name))
            await p.sleep(1)
        await tll.unlock()
        log.append(("rel", name))

    return fn


def test_readers_share_writer_waits_and_blocks_later_readers():
    async def script(p, tll, log):
        p.start_thread("r1", _holder(tll, log, "r1", R, 5))
        await p.sleep(1)
        p.start_thread("w", _holder(tll, log, "w", W, 3))
        await p.sleep(1)
        p.start_thread("r2", _holder(tll, log, "r2", R, 1))  # write bias: queues
        await p.sleep(30)

    _, log = _run(script)
    assert log == [
        ("req", "r1"),
        ("got", "r1"),
        ("req", "w"),
        ("req", "r2"),
        ("rel", "r1"),
        ("got", "w"),
        ("rel", "w"),
        ("got", "r2"),
        ("rel", "r2"),
    ]


def test_readser_admits_readers_excludes_readser_and_fifo_across_queues():
    async def script(p, tll, log):
        p.start_thread("s1", _holder(tll, log, "s1", S, 5))
        await p.sleep(1)
        p.start_thread("r1", _holder(tll, log, "r1", R, 10))  # granted with s1
        p.start_thread("s2", _holder(tll, log, "s2", S, 2))  # waits for s1
        await p.sleep(1)
        state = (tll.current, tll.readers, tll.waiters)
        await p.sleep(40)
        return state

    state, log = _run(script)
    assert state == (S, 1, 1)
    assert log == [
        ("req", "s1"),
        ("got", "s1"),
        ("req", "r1"),
        ("got", "r1"),
        ("req", "s2"),
        ("rel", "s1"),
        ("got", "s2"),  # READSER alongside the remaining reader
        ("rel", "s2"),
        ("rel", "r1"),
    ]


def test_upgrade_waits_for_readers_and_queues_new_readers_then_downgrades():
    async def script(p, tll, log):
        p.start_thread("s", _holder(tll, log, "s", S, 2, upgrade=True, downgrade=True))
        p.start_thread("r1", _holder(tll, log, "r1", R, 6))
        await p.sleep(3)  # s now waits to upgrade, r1 still reads
        p.start_thread("r2", _holder(tll, log, "r2", R, 3))
        await p.sleep(40)

    _, log = _run(script)
    assert log == [
        ("req", "s"),
        ("got", "s"),
        ("req", "r1"),
        ("got", "r1"),
        ("req", "r2"),  # queued: an upgrade is pending
        ("rel", "r1"),
        ("up", "s"),
        ("down", "s"),  # WRITE -> READSER admits the queued reader
        ("got", "r2"),
        ("rel", "s"),
        ("rel", "r2"),
    ]


def test_readser_downgrade_to_read_and_errors():
    async def script(p, tll, log):
        out = []
        assert await tll.lock(S) == 0
        out.append(await tll.lock(W))  # already mine: EBUSY, not recursive
        await tll.downgrade()
        out.append((tll.current, tll.owner, tll.readers))
        for coro in (tll.upgrade(), tll.downgrade()):
            with pytest.raises(KernelError) as exc:
                await coro
            out.append(exc.value.errno)
        await tll.unlock()
        with pytest.raises(KernelError) as exc:
            await tll.unlock()
        out.append(exc.value.errno)
        with pytest.raises(KernelError) as exc:
            await tll.lock(Mode.NONE)
        out.append(exc.value.errno)
        out.append((tll.current, tll.locked))
        return out

    out, _ = _run(script)
    assert out == [
        errno.EBUSY,
        (R, None, 1),
        errno.EPERM,
        errno.EPERM,
        errno.EPERM,
        errno.EINVAL,
        (Mode.NONE, False),
    ]


_op = st.tuples(
    st.sampled_from([R, S, W]),
    st.integers(0, 3),  # yields while holding
    st.booleans(),  # upgrade (READSER only)
    st.booleans(),  # downgrade (READSER/WRITE)
)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    programs=st.lists(st.lists(_op, min_size=1, max_size=4), min_size=2, max_size=5),
)
def test_random_schedules_keep_compatibility_and_fairness(seed, programs):
    """Random operation sequences from several threads under the random policy."""

    async def script(p, tll, log):
        held: dict[str, Mode] = {}
        seq = iter(range(10**9))
        violations = []
        done = []

        def check(where):
            modes = list(held.values())
            if modes.count(W) > 1 or (W in modes and len(modes) > 1):
                violations.append((where, dict(held)))
            if modes.count(S) + modes.count(W) > 1:
                violations.append((where, dict(held)))

        def thread(name, program):
            async def fn(q):
                for i, (mode, hold, up, down) in enumerate(program):
                    # Writers already queued when we ask must be granted before us.
                    ahead = [x.thread.name.split(":")[-1] for x in tll._write if x.mode is W]
                    await tll.lock(mode)
                    me = next(seq)
                    log.append((name, i, mode, me, tuple(ahead)))
                    held[name] = mode
                    check((name, i, "lock"))
                    for _ in range(hold):
                        await q.yield_()
                        check((name, i, "hold"))
                    if up and mode is S:
                        await tll.upgrade()
                        held[name] = W
                        check((name, i, "up"))
                        await q.yield_()
                    if down and held[name] in (S, W):
                        # Narrowing: record it before other threads can be admitted.
                        held[name] = S if held[name] is W else R
                        await tll.downgrade()
                        check((name, i, "down"))
                        await q.yield_()
                    del held[name]
                    await tll.unlock()
                done.append(name)

            return fn

        names = [f"t{i}" for i in range(len(programs))]
        for name, program in zip(names, programs, strict=True):
            p.start_thread(name, thread(name, program))
        for _ in range(2000):
            if len(done) == len(names):
                break
            await p.sleep(1)
        return violations, sorted(done), names, (tll.current, tll.readers, tll.waiters)

    (violations, done, names, final), log = _run(script, RandomPolicy(seed))
    assert violations == [], f"seed {seed}"
    assert done == sorted(names), f"seed {seed}: starved or deadlocked"
    assert final == (Mode.NONE, 0, 0), f"seed {seed}"
    # Fairness: a writer queued when a request was made is granted before it.
    order = {}
    for name, _i, mode, me, _ahead in log:
        order.setdefault(name, []).append((me, mode))
    for name, i, _mode, me, ahead in log:
        for other in ahead:
            # ``other`` was queued for a WRITE; its next grant comes before ours.
            later = [m for m, md in order[other] if md is W]
            assert any(m < me for m in later), f"seed {seed}: {name}#{i} overtook writer {other}"
