"""The log driver: a bounded ring, blocking reads, select, structlog."""

from __future__ import annotations

import errno

import structlog

from chardev.log import LOG_MAX_WRITE, Log
from chardev.protocol import CDEV_NONBLOCK, CDEV_NOTIFY, CDEV_OP_RD, CDEV_OP_WR, CdevRead
from tests.chardev.support import bench


async def test_write_then_read_consumes(autojump_clock):
    async def script(vfs, rs, k):
        await vfs.open(0)
        return [
            await vfs.write(0, b"boot ok\n"),
            await vfs.write(0, b"second\n"),
            await vfs.read(0, 5),
            await vfs.read(0, 100),
            await vfs.read(0, 10, flags=CDEV_NONBLOCK),
            await vfs.open(1),
        ]

    with structlog.testing.capture_logs() as logs:
        out = (await bench(Log, script, label="log"))[0]
    assert out == [8, 7, (5, b"boot "), (10, b"ok\nsecond\n"), (-errno.EAGAIN, b""), -errno.ENXIO]
    texts = [e["text"] for e in logs if e["event"] == "log"]
    assert texts == ["boot ok", "second"]


async def test_blocking_read_waits_for_a_write_and_can_be_cancelled(autojump_clock):
    async def script(vfs, rs, k):
        await vfs.open(0)
        gid = await vfs.start_read(0, 10, id_=1)
        waited = await vfs.no_reply()
        await vfs.write(0, b"news", id_=2)
        got = await vfs.finish_read(gid, id_=1)
        await vfs.start_read(0, 10, id_=3)
        await vfs.no_reply()
        return waited, got, await vfs.cancel(0, id_=3)

    assert (await bench(Log, script))[0] == (True, (4, b"news"), -errno.EINTR)


async def test_two_waiting_readers_share_the_messages(autojump_clock):
    async def script(vfs, rs, k):
        await vfs.open(0)
        g1 = await vfs.start_read(0, 3, id_=1)
        await vfs.no_reply()
        g2 = vfs.p.grant_direct(vfs.drv, 0x0804_9000, 3, 2)
        await vfs.send(CdevRead(0, 0, g2, 3, 0, 2))
        await vfs.no_reply()
        await vfs.write(0, b"abcdef", id_=3)
        first = await vfs.finish_read(g1, id_=1)
        second = await vfs._reply(2)
        return first, second, await vfs.p.peek(0x0804_9000, 3)

    first, second, data2 = (await bench(Log, script))[0]
    assert first == (3, b"abc")
    assert (second, data2) == (3, b"def")


async def test_select_and_late_notification(autojump_clock):
    async def script(vfs, rs, k):
        await vfs.open(0)
        empty = await vfs.select(0, CDEV_OP_RD | CDEV_OP_WR | CDEV_NOTIFY)
        await vfs.write(0, b"x", id_=5)
        late = await vfs.sel2()
        ready = await vfs.select(0, CDEV_OP_RD)
        return empty, late, ready

    assert (await bench(Log, script))[0] == (CDEV_OP_WR, (0, CDEV_OP_RD), CDEV_OP_RD)


async def test_ring_is_bounded(autojump_clock):
    drivers = []

    def factory():
        drivers.append(Log(size=10))
        return drivers[-1]

    async def script(vfs, rs, k):
        await vfs.open(0)
        await vfs.write(0, b"0123456789")
        await vfs.write(0, b"abcd")
        long = await vfs.write(0, b"z" * (LOG_MAX_WRITE + 10))
        return long

    long = (await bench(factory, script))[0]
    assert long == LOG_MAX_WRITE
    assert bytes(drivers[0].ring) == b"z" * 10
    assert drivers[0].dropped == 4 + LOG_MAX_WRITE
