"""CPU time accounting: the kernel's charge per hand-off, times(), and ps's TIME column.

On virtual time each kernel entry costs ``cpu_tick`` (1 µs by default) of kernel clock,
charged to the process that holds the CPU, so a process that makes N kernel calls has
used at least N µs, and an idle sleeper almost nothing.
"""

import functools
import re
import sys

import pytest

import asynix  # noqa: F401  (loads asynix.boot, which the package's boot() shadows)
from kernel.kernel import Kernel
from tests.pm.support import booted
from userland import libc
from userland.bin.ps import cpu_time

CALLS = 200_000


async def _busy(n: int) -> None:
    for _ in range(n):
        await libc.getpid()


async def test_busy_process_uses_more_cpu_than_a_sleeper(autojump_clock):
    seen = {}

    async def prog(argv):
        async def sleeper():
            await libc.sleep(5)
            return 0

        async def busy():
            await _busy(CALLS)
            return 0

        slow = await libc.fork(sleeper)
        fast = await libc.fork(busy)
        await libc.sleep(1)
        seen["procs"] = {p.pid: p for p in await libc.getprocs()}
        seen["ids"] = (slow, fast)
        for pid in (slow, fast):
            await libc.waitpid(pid, 0)
        return 0

    async with booted() as system:
        pid = await system.spawn(prog, ["prog"])
        assert await system.wait(pid) == 0
    slow, fast = seen["ids"]
    procs = seen["procs"]
    # getprocs ran after a second of kernel clock; the busy child may still be running.
    assert procs[slow].cpu_time < 0.001
    assert procs[fast].cpu_time > procs[slow].cpu_time


async def test_times_counts_own_time_and_waited_children(autojump_clock):
    seen = {}

    async def prog(argv):
        t0 = await libc.times()

        async def busy():
            await _busy(CALLS)
            return 0

        await _busy(1000)
        t1 = await libc.times()
        child = await libc.fork(busy)
        await libc.sleep(1)
        # The child has finished (its own clock time alone is 0.2 s) but is not waited for.
        t2 = await libc.times()
        await libc.waitpid(child, 0)
        t3 = await libc.times()
        seen["t"] = (t0, t1, t2, t3)
        return 0

    async with booted() as system:
        pid = await system.spawn(prog, ["prog"])
        assert await system.wait(pid) == 0
    t0, t1, t2, t3 = seen["t"]
    assert isinstance(t0, libc.TimesResult)
    assert t1.user - t0.user >= 1000e-6
    assert t0.children_user == t1.children_user == t2.children_user == 0.0
    assert t3.children_user >= CALLS * 1e-6
    assert t3.user < 0.1  # the parent mostly slept
    assert (t3.system, t3.children_system) == (0.0, 0.0)
    assert t0.elapsed < t1.elapsed <= t2.elapsed - 1 < t3.elapsed - 1


async def test_grandchildren_count_once_their_parent_is_waited_for(autojump_clock):
    seen = {}

    async def prog(argv):
        async def middle():
            async def busy():
                await _busy(50_000)
                return 0

            await libc.waitpid(await libc.fork(busy), 0)
            return 0

        await libc.waitpid(await libc.fork(middle), 0)
        seen["t"] = await libc.times()
        return 0

    async with booted() as system:
        pid = await system.spawn(prog, ["prog"])
        assert await system.wait(pid) == 0
    assert seen["t"].children_user >= 50_000e-6


@pytest.mark.parametrize(
    ("seconds", "column"),
    [(0.0, "00:00:00"), (0.99, "00:00:00"), (3725.5, "01:02:05"), (2 * 86400 + 61, "2-00:01:01")],
)
def test_ps_time_format(seconds, column):
    assert cpu_time(seconds) == column


async def test_ps_shows_time_of_busy_process(autojump_clock, monkeypatch):
    # A coarser tick (10 ms per kernel entry) so that yes uses whole seconds quickly.
    monkeypatch.setattr(
        sys.modules["asynix.boot"], "Kernel", functools.partial(Kernel, cpu_tick=0.01)
    )
    async with booted() as system:
        status, out = await system.sh("yes > /dev/null 2>&1 & sleep 100 & sleep 10; ps; kill $!")
    assert status == 0
    times = {}
    for line in out.splitlines()[1:]:
        _pid, _tty, time, cmd = re.fullmatch(r" *(\d+) (\S+) +(\S+) (.*)", line).groups()
        times.setdefault(cmd, []).append(time)
    assert times["yes"] != ["00:00:00"], out
    assert "00:00:00" in times["sleep"], out
