"""Boot order: init's first program runs only once RS has brought up its boot services.

In MINIX init may run only once RS allows it, from RS's boot-image loop. Here RS
notifies PM when every boot service of its table has finished starting (up, or given
up on), and PM holds init until then. So the first program finds the drivers mapped
(its first open of /dev/console succeeds on the first try, under every policy), and a
service that hangs or crashes in its initialisation delays init only until RS gives up
on it.
"""

from __future__ import annotations

import errno

import anyio
import pytest

from chardev.drivers import services as char_drivers
from kernel.endpoint import ANY
from servers.rs.main import DOWN, RUNNING
from servers.rs.sef import sef_init_done, sef_receive, sef_startup
from servers.rs.service import ServiceSpec
from tests.pm.support import booted
from userland import libc, programs
from userland.libc.service import service

SLOW_INIT = 2.0
"""Seconds of kernel time the "slow" service takes to initialise."""


@pytest.fixture
def first_program():
    """Register ``/bin/firstopen``: records the errno of its first open of /dev/console."""
    seen: list[tuple[str, int]] = []

    async def firstopen(argv: list[str]) -> int:
        try:
            fd = await libc.open("/dev/console", libc.O_RDWR | libc.O_NOCTTY)
        except OSError as exc:
            seen.append(("open", exc.errno or -1))
        else:
            seen.append(("open", 0))
            await libc.close(fd)
        for label in argv[1:]:
            try:
                await service("lookup", label)
            except OSError as exc:
                seen.append((label, exc.errno or -1))
            else:
                seen.append((label, 0))
        return 0

    programs.register("/bin/firstopen", firstopen)
    try:
        yield seen
    finally:
        programs.unregister("/bin/firstopen")


@pytest.mark.parametrize(
    ("policy", "seed"),
    [("fifo", 0)] + [(p, s) for p in ("random", "pct") for s in range(1, 9)],
)
async def test_first_program_finds_the_console_up(autojump_clock, first_program, policy, seed):
    async with booted(init_program=["/bin/firstopen", "tty"], policy=policy, seed=seed) as system:
        await anyio.sleep(1)  # boot returns once init waits; its child may still run
        assert first_program == [("open", 0), ("tty", 0)]
        tty = system.bodies["rs"].rs.services["tty"]
        assert tty.state == RUNNING


def _slow():
    async def main(p):
        await sef_startup(p)
        await p.sleep(SLOW_INIT)
        await sef_init_done(p)
        while True:
            await sef_receive(p)

    return main


def _hang():
    async def main(p):
        await sef_startup(p)
        while True:  # never says init-done: RS gives up after its init_timeout
            await p.receive(ANY)

    return main


def _crash():
    async def main(p):
        await sef_startup(p)
        raise RuntimeError("init failed")

    return main


async def test_first_program_waits_for_a_slow_service(autojump_clock, first_program):
    table = (*char_drivers(), ServiceSpec("slow", _slow))
    async with booted(init_program=["/bin/firstopen", "slow"], services=table) as system:
        await anyio.sleep(1)
        assert first_program == [("open", 0), ("slow", 0)]
        assert system.kernel.clock() >= SLOW_INIT


async def test_services_that_never_come_up_do_not_stop_init(autojump_clock, first_program):
    table = (
        *char_drivers(),
        ServiceSpec("hang", _hang),
        ServiceSpec("crash", _crash),
    )
    async with booted(init_program=["/bin/firstopen", "hang", "crash"], services=table) as system:
        await anyio.sleep(1)
        rs = system.bodies["rs"].rs
        assert rs.services["hang"].state == DOWN
        assert rs.services["hang"].last_status == errno.ETIMEDOUT
        assert rs.services["crash"].state == DOWN
        assert rs.services["crash"].last_status == errno.EIO
        assert first_program == [("open", 0), ("hang", errno.ESRCH), ("crash", errno.ESRCH)]
        assert system.kernel.clock() >= rs.config.init_timeout
        # The system runs on: a program spawned now works.
        status, out = await system.sh("echo up")
        assert (status, out) == (0, "up\n")


async def test_getty_fails_at_once_on_a_terminal_without_driver(autojump_clock):
    table = tuple(s for s in char_drivers() if s.label != "tty")
    async with booted(services=table) as system:
        start = system.kernel.clock()
        status, out = await system.run(["/sbin/getty", "/dev/console"])
        assert (status, out) == (1, "getty: /dev/console: No such device or address\n")
        assert system.kernel.clock() - start < 1.0  # no retrying
