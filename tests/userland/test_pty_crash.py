"""A pty driver crash: its ptys fail with EIO, the console lives on, /dev/pts is cleared."""

import errno

import anyio

from tests.pm.support import booted, errno_of
from userland import libc


async def test_pty_crash_fails_its_ptys_and_the_restart_clears_dev_pts(autojump_clock):
    seen = {}

    async def prog(argv):
        await libc.openpty()
        master, slave = await libc.openpty()
        seen["before"] = await libc.listdir("/dev/pts")
        seen["ready"] = True
        seen["read"] = await errno_of(libc.read(slave, 10))  # blocks until the crash
        seen["master write"] = await errno_of(libc.write(master, b"x"))
        for _ in range(100):  # ENXIO until RS has the driver back and VFS knows it
            again = await errno_of(libc.openpty(), ok=None)
            if again != errno.ENXIO:
                break
            await libc.sleep(0.1)
        seen["again"] = again
        seen["after"] = await libc.listdir("/dev/pts")
        seen["console"] = await libc.isatty(await libc.open("/dev/console", libc.O_RDWR))
        return 0

    async with booted(memory=8 * 2**20) as system:
        pid = await system.spawn(prog)
        for _ in range(1000):
            if "ready" in seen:
                break
            await anyio.sleep(0.1)
        await anyio.sleep(1)
        await system.kill_service("pty")
        assert await system.wait(pid) == 0
    assert sorted(seen["before"]) == ["0", "1"]
    assert seen["read"] == seen["master write"] == errno.EIO
    assert seen["again"] is None
    assert seen["after"] == ["0"]  # the new pty's node; the dead ones' are gone
    assert seen["console"] is True
