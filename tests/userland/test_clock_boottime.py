"""The time of day is the boot time plus the uptime: libc's time(), date, stat, utime.

On virtual time the boot time is EPOCH (2026-01-01 00:00:00 UTC); ``asynix.boot(boottime=X)``
sets it; on real time it is the host's clock. The real-time run here is one tiny boot and
asserts nothing about timing beyond "well under a minute".
"""

from __future__ import annotations

import time

import trio

import asynix
from tests.pm.support import booted, run
from userland import libc

X = 2_000_000_000
"""A boot time: 2033-05-18 03:33:20 UTC."""


async def _create(path):
    await libc.close(await libc.open(path, libc.O_WRONLY | libc.O_CREAT, 0o644))


async def test_time_at_boot_is_epoch_and_moves_with_virtual_time(autojump_clock):
    seen = {}

    async def prog(argv):
        seen["up0"] = await libc.monotonic()
        seen["t0"] = await libc.time()
        await libc.sleep(5)
        seen["t1"] = await libc.time()
        seen["up1"] = await libc.monotonic()
        return 0

    autojump_clock.jump(54_321.0)  # whatever the backend's clock says, uptime starts at 0
    assert await run(prog) == 0
    assert 0 <= seen["up0"] < 1
    assert libc.EPOCH <= seen["t0"] < libc.EPOCH + 1
    assert 5 <= seen["t1"] - seen["t0"] < 5.1
    assert seen["t1"] - libc.EPOCH <= seen["up1"] < 6


async def test_date_and_stat_show_the_given_boot_time(autojump_clock):
    seen = {}

    async def prog(argv):
        seen["t"] = await libc.time()
        await _create("/tmp/new")
        st = await libc.stat("/tmp/new")
        seen["times"] = (st.st_atime, st.st_mtime, st.st_ctime)
        # utime/stat round-trip with a boot time other than EPOCH
        await libc.utime("/tmp/new", (1_234_567_890.5, 2_100_000_000.25))
        st = await libc.stat("/tmp/new")
        seen["set"] = (st.st_atime, st.st_mtime)
        await libc.utimensat("/tmp/new", ((1_700_000_000, 999_999_000), (-86_400, 500_000_000)))
        st = await libc.stat("/tmp/new")
        seen["timespec"] = (st.st_atime, st.st_mtime)
        return 0

    async with booted(boottime=X) as system:
        status, out = await system.sh("date +%s")
        assert status == 0
        assert X <= int(out) < X + 60
        status, out = await system.sh("date")
        assert status == 0
        assert out.startswith("Wed May 18 03:3") and out.endswith(" UTC 2033\n"), out
        status, out = await system.sh("touch /tmp/f && ls -l /tmp/f")
        assert status == 0 and " May 18 03:3" in out, out
        pid = await system.spawn(prog)
        assert await system.wait(pid) == 0
    t = seen["t"]
    assert X <= t < X + 60
    assert all(X <= s <= t + 1 for s in seen["times"]), seen["times"]
    assert seen["set"] == (1_234_567_890.5, 2_100_000_000.25)
    assert seen["timespec"] == (1_700_000_000.999999, -86_399.5)


def test_real_time_boot_shows_the_hosts_date():
    """On real time (trio's SystemClock, a random offset) date shows the host's clock."""
    seen = {}

    async def prog(argv):
        seen["up"] = await libc.monotonic()
        seen["t"] = await libc.time()
        return 0

    async def main():
        async with asynix.boot() as system:
            pid = await system.spawn(prog)
            assert await system.wait(pid) == 0
            status, out = await system.sh("date +%s")
            assert status == 0
            seen["date"] = int(out)
            assert system.bugs == []

    before = time.time()
    trio.run(main)
    after = time.time()
    assert 0 <= seen["up"] < 60  # seconds since boot, not trio's clock
    assert before - 1 <= seen["t"] <= after
    assert before - 1 <= seen["date"] <= after
