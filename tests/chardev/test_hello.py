"""The hello driver, under the real RS and DS: reads by position, a counter that survives."""

from __future__ import annotations

import errno
import signal

import chardev
from chardev.drivers import DRIVERS, driver, services
from chardev.hello import HELLO_MAJOR, HELLO_MESSAGE, Hello
from chardev.protocol import CDEV_OP_RD
from servers.rs.protocol import RsUpdate
from servers.rs.service import ServiceSpec
from tests.chardev.support import bench, bench_rs, lookup


async def test_reads_by_position_and_defaults(autojump_clock):
    async def script(vfs, rs, k):
        await vfs.open(0)
        return [
            await vfs.read(0, 100),
            await vfs.read(0, 5, pos=7),
            await vfs.read(0, 10, pos=13),
            await vfs.read(0, 10, pos=14),
            await vfs.read(0, 10, pos=-1),
            await vfs.write(0, b"hi"),
            await vfs.ioctl(0, 1),
            await vfs.select(0, CDEV_OP_RD),
        ]

    assert (await bench(Hello, script, label="hello"))[0] == [
        (14, HELLO_MESSAGE),
        (5, b"World"),
        (1, b"\n"),
        (0, b""),
        (-errno.EINVAL, b""),
        -errno.EIO,
        -errno.ENOTTY,
        -errno.EBADF,
    ]


def _spec(made, faults=None):
    def factory():
        made.append(Hello())
        return made[-1]

    return ServiceSpec("hello", lambda: chardev.run(factory, "hello", faults=faults), major=17)


async def test_open_counter_survives_a_crash_under_the_real_rs(autojump_clock):
    made = []

    async def script(vfs, holder, k):
        holder.endpoint = ep1 = await lookup(vfs.p, "hello")
        for _ in range(3):
            await vfs.open(0)
        await vfs.p.kill(ep1, signal.SIGSEGV)  # a fault, as kill_service does
        holder.endpoint = await lookup(vfs.p, "hello", not_ep=ep1)
        await vfs.open(0)
        return await vfs.read(0, 5)

    read, rs, _ = await bench_rs([_spec(made)], script)
    assert read == (5, b"Hello")
    assert [d.open_counter for d in made] == [3, 4]
    rp = rs.services["hello"]
    assert rp.crashes == 1


async def test_injected_crash_before_reply_then_restart(autojump_clock):
    made = []
    faults = chardev.Faults(crash_at={"before_reply": 2})

    async def script(vfs, holder, k):
        holder.endpoint = ep1 = await lookup(vfs.p, "hello")
        await vfs.open(0)
        try:
            await vfs.open(0)
        except OSError as exc:
            died = exc.errno
        holder.endpoint = await lookup(vfs.p, "hello", not_ep=ep1)
        await vfs.open(0)
        return died

    died, _, _ = await bench_rs([_spec(made, faults)], script)
    assert died == 1105  # EDEADSRCDST: the driver died while we waited for it
    assert [d.open_counter for d in made] == [2, 3]


async def test_live_update_keeps_counter_and_open_minor(autojump_clock):
    made = []

    async def script(vfs, holder, k):
        holder.endpoint = ep1 = await lookup(vfs.p, "hello")
        await vfs.open(0)
        await vfs.open(0)
        reply = await vfs.p.sendrec(2, RsUpdate("hello"))
        holder.endpoint = await lookup(vfs.p, "hello", not_ep=ep1)
        return reply.status, await vfs.read(0, 5)  # no new open: minor 0 handed over

    (status, read), _, _ = await bench_rs([_spec(made)], script)
    assert status == 0
    assert read == (5, b"Hello")
    assert [d.open_counter for d in made] == [2, 2]


def test_driver_table():
    assert [(d.label, d.major) for d in DRIVERS] == [
        ("memory", 1),
        ("log", 15),
        ("hello", 17),
        ("tty", 4),
        ("pty", 9),
    ]
    assert driver("hello").major == HELLO_MAJOR
    specs = services()
    assert [(s.label, s.major) for s in specs] == [
        ("memory", 1),
        ("log", 15),
        ("hello", 17),
        ("tty", 4),
        ("pty", 9),
    ]
    assert all(callable(s.factory()) for s in specs)
