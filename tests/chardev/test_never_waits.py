"""``@never_waits`` callbacks run on the driver's main thread; a wait in one fails loudly."""

from __future__ import annotations

import errno

import structlog

import chardev
from chardev.lib import never_waits
from tests.chardev.support import bench


class Inline(chardev.Driver):
    """Minor 0: reads and writes on the main thread; a read of minor 1 waits (a bug).

    ``threads`` records the kernel thread each request ran on.
    """

    def __init__(self):
        super().__init__()
        self.threads = []
        self.data = bytearray()
        self.cond = None

    async def init_fresh(self):
        self.cond = self.condition()

    @never_waits
    async def read(self, minor, pos, grant, count, flags, user):
        self.threads.append(self.proc.thread.name)
        if minor == 1:
            await self.wait(self.cond)  # the bug: a never_waits callback may not wait
        n = min(count, len(self.data))
        await grant.write(0, bytes(self.data[:n]))
        del self.data[:n]
        return n

    @never_waits
    async def write(self, minor, pos, grant, count, flags, user):
        self.threads.append(self.proc.thread.name)
        self.data += await grant.read(0, count)
        return count


async def test_never_waits_requests_run_on_the_main_thread(autojump_clock):
    drivers = []

    def factory():
        drivers.append(Inline())
        return drivers[-1]

    async def script(vfs, rs, kernel):
        await vfs.open(0)
        wrote = await vfs.write(0, b"hello")
        got = await vfs.read(0, 10)
        return wrote, got

    result, _, _ = await bench(factory, script, label="inline")
    wrote, got = result
    assert wrote == 5
    assert got == (5, b"hello")
    assert drivers[0].threads == ["inline", "inline"]  # the main thread: the process's name
    assert drivers[0]._pool == 0  # no request thread was ever started


async def test_a_wait_in_a_never_waits_callback_fails_the_request_with_eio(autojump_clock):
    async def script(vfs, rs, kernel):
        await vfs.open(0)
        await vfs.open(1)
        await vfs.write(1, b"ab")
        failed = await vfs.read(1, 10)  # must not hang the driver's main thread
        after = await vfs.read(0, 10)  # the driver goes on serving
        return failed, after

    with structlog.testing.capture_logs() as logs:
        result, rs, _ = await bench(Inline, script, label="inline")
    assert result == ((-errno.EIO, b""), (2, b"ab"))
    assert rs.deaths == []  # the driver stayed up
    assert any(e["event"].startswith("a never_waits callback called wait()") for e in logs)
