"""The kernel clock counts from boot on every backend; the boot time comes from the RTC.

Real-time runs here are tiny (a kernel and one process) and assert nothing about timing
beyond "well under a minute since boot".
"""

from __future__ import annotations

import time

import anyio
import pytest
import trio
from trio.testing import MockClock

from kernel.hw.rtc import EPOCH
from kernel.kernel import Kernel
from tests.support import Sim


async def _uptime_at_boot(nap=2.0, **kwargs):
    """Boot a kernel, have one process read getuptime twice around a sleep of ``nap`` s."""
    async with Kernel(**kwargs) as k:
        sim = Sim(k)

        async def reader(p):
            first = await p.getuptime()
            assert p.boottime == first[1]
            await p.sleep(nap)
            return first, await p.getuptime(), p.now()

        sim.spawn("reader", reader)
        await sim.wait("reader")
        k.shutdown()
    assert not sim.errors, sim.errors
    return sim.results["reader"]


async def test_virtual_time_boots_at_epoch_and_counts_uptime(autojump_clock):
    autojump_clock.jump(12_345.0)  # the backend's clock is far from 0 at boot
    (up0, boot0), (up1, boot1), now = await _uptime_at_boot()
    assert boot0 == boot1 == EPOCH
    assert 0 <= up0 < 0.001  # the kernel clock starts at 0, not at the backend's 12345
    assert 2 <= up1 < 2.001
    assert up1 <= now < 2.001


async def test_boottime_override(autojump_clock):
    (_up, boot), _, _ = await _uptime_at_boot(boottime=2_000_000_000.9)
    assert boot == 2_000_000_000  # whole seconds, as MINIX's time_t


def _real_time_check(result, before, after):
    (up0, boot0), (up1, boot1), _ = result
    assert boot0 == boot1
    assert before - 1 <= boot0 <= after  # the RTC read the host's wall clock
    assert 0 <= up0 < 60  # uptime, not trio's random offset or the host's uptime
    assert up0 + 0.009 <= up1 < 60  # an asyncio timeout may expire a nanosecond early


def test_real_time_trio_clock_starts_at_boot():
    """trio's SystemClock starts at a random offset of 10^4..2*10^5 s; uptime does not."""
    before = time.time()
    result = trio.run(_uptime_at_boot, 0.01)
    _real_time_check(result, before, time.time())


def test_real_time_asyncio_clock_starts_at_boot():
    """asyncio's loop time is the host's uptime; the kernel clock still starts at 0."""
    before = time.time()
    result = anyio.run(_uptime_at_boot, 0.01, backend="asyncio")
    _real_time_check(result, before, time.time())


@pytest.mark.parametrize("offset", [1e5, 1e9])
def test_alarm_closer_than_the_backends_resolution_fires(offset):
    """A deadline less than one ulp of the backend's clock away still fires (no busy loop).

    The kernel clock (small, since boot) resolves far finer than the backend's (large):
    a sleep of 1e-12 s is a positive gap on the one, an already expired timeout on the
    other. The idle task's expired wait is the timer interrupt and fires the alarm.
    """

    async def main():
        async with Kernel(cpu_tick=0.0) as k:
            sim = Sim(k)

            async def sleeper(p):
                for _ in range(3):
                    await p.sleep(1e-12)
                return p.now()

            sim.spawn("sleeper", sleeper)
            await sim.wait("sleeper")
            k.shutdown()
        assert not sim.errors, sim.errors
        return sim.results["sleeper"]

    clock = MockClock(autojump_threshold=0)
    clock.jump(offset)
    watchdog = _Watchdog(clock)
    assert 0 <= trio.run(main, clock=clock, instruments=[watchdog]) < 1
    assert watchdog.steps < _Watchdog.LIMIT


class _Watchdog(trio.abc.Instrument):
    """Breaks a busy loop on virtual time (autojump never comes) by moving the clock on."""

    LIMIT = 20_000

    def __init__(self, clock):
        self.clock = clock
        self.steps = 0

    def before_task_step(self, task):
        self.steps += 1
        if self.steps % self.LIMIT == 0:
            self.clock.jump(1.0)
