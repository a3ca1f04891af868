"""Random raw PM requests with hostile arguments: errnos only, no server bug, system fine."""

from __future__ import annotations

import errno

import anyio
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

import asynix
from kernel.com import PM_PROC_NR
from servers.pm import protocol as pmp
from tests.pm.support import BASE
from userland.libc._syscall import call

ints = st.one_of(
    st.sampled_from([0, 1, -1, 2, 9, 11, 19, 31, 32, 64, -2, 2**31 - 1, -(2**31), 2**40]),
    st.integers(-100, 100),
)

requests = st.one_of(
    st.builds(pmp.PmKill, ints, ints),
    st.builds(pmp.PmWaitpid, ints, ints),
    st.builds(pmp.PmSigaction, ints, ints, ints, ints),
    st.builds(pmp.PmSigprocmask, ints, ints),
    st.builds(pmp.PmSigpending),
    st.builds(pmp.PmSigreturn, ints),
    st.builds(pmp.PmAlarm, st.integers(-5, 3)),
    st.builds(pmp.PmSetuid, ints, st.booleans()),
    st.builds(pmp.PmSetgid, ints, st.booleans()),
    st.builds(pmp.PmSetsid),
    st.builds(pmp.PmSetpgid, ints, ints),
    st.builds(pmp.PmGetpgid, ints),
    st.builds(pmp.PmGetsid, ints),
    st.builds(pmp.PmGetpid),
    st.builds(pmp.PmGetuid),
    st.builds(pmp.PmFork),
    st.builds(pmp.PmExec, ints, ints, ints, ints),
)

ALLOWED = {
    errno.EINVAL,
    errno.EPERM,
    errno.ESRCH,
    errno.ECHILD,
    errno.EFAULT,
    errno.ENOENT,
    errno.ENAMETOOLONG,
    errno.E2BIG,
    errno.EACCES,
    errno.EINTR,
}


async def scenario(msgs) -> None:
    outcomes = []

    async def prog(argv):
        for msg in msgs:
            try:
                await call(PM_PROC_NR, msg)
                outcomes.append(0)
            except OSError as exc:
                outcomes.append(exc.errno)
        return 0

    async def probe(argv):
        return 7

    async with asynix.boot() as system:
        pid = await system.spawn(prog)
        code = await system.wait(pid)
        await anyio.sleep(5)  # any alarm fires, init reaps
        assert await system.wait(await system.spawn(probe)) == 7
        await anyio.sleep(1)
        assert (await system.meminfo())["processes"] == BASE
        assert system.bugs == []
    assert code == 0 or code < 0  # finished, or killed by a signal it asked for
    assert set(outcomes) <= ALLOWED | {0}, outcomes


@settings(max_examples=30, deadline=None)
@given(msgs=st.lists(requests, max_size=15))
def test_random_requests_never_hurt_pm(msgs):
    trio.run(scenario, msgs, clock=trio.testing.MockClock(autojump_threshold=0))
