"""A driver crash seen from user processes on a booted system (RS, VFS, the log driver)."""

import errno

import anyio

from tests.pm.support import booted
from userland import libc


async def _errno(coro):
    try:
        return await coro
    except OSError as exc:
        return exc.errno


async def test_processes_blocked_on_a_crashed_driver_wake_and_new_opens_work(autojump_clock):
    seen = {}

    async def reader(argv):
        fd = await libc.open("/dev/log", libc.O_RDONLY)
        seen["reader ready"] = True
        seen["read"] = await _errno(libc.read(fd, 100))  # blocks: the log is empty
        seen["read again"] = await _errno(libc.read(fd, 100))
        seen["fstat"] = await _errno(libc.fstat(fd))
        seen["close"] = await _errno(libc.close(fd))
        for _ in range(100):  # ENXIO until RS has the driver back and VFS knows it
            fd = await _errno(libc.open("/dev/log", libc.O_RDWR))
            if fd != errno.ENXIO:
                break
            await libc.sleep(0.1)
        await libc.write(fd, b"after the crash")
        seen["new"] = await libc.read(fd, 100)
        return 0

    async def selector(argv):
        fd = await libc.open("/dev/log", libc.O_RDONLY)
        seen["selector ready"] = True
        seen["select"] = await libc.select([fd], [], [], None)  # blocks until the crash
        seen["select fd"] = fd
        return 0

    async with booted() as system:
        r = await system.spawn(reader)
        s = await system.spawn(selector)
        for _ in range(1000):  # the host polls the programs' progress on virtual time
            if "reader ready" in seen and "selector ready" in seen:
                break
            await anyio.sleep(0.1)
        await anyio.sleep(1)  # both are blocked in the driver by now
        old = system.bodies["rs"].rs.services["log"].endpoint
        await system.kill_service("log")
        assert await system.wait(r) == 0
        assert await system.wait(s) == 0
        assert system.bodies["rs"].rs.services["log"].endpoint != old
    assert seen.pop("read") == errno.EIO
    assert seen.pop("read again") == errno.EIO
    assert seen.pop("fstat") == errno.EIO
    assert seen.pop("close") is None  # close of an invalidated fd succeeds
    assert seen.pop("new") == b"after the crash"
    del seen["reader ready"], seen["selector ready"]
    fd = seen.pop("select fd")
    assert seen == {"select": ([fd], [], [])}
