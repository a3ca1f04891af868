"""A booted system's console: a program on /dev/console, the host at the fake terminal."""

import re

import anyio

from chardev.drivers import DRIVERS
from tests.pm.support import booted
from userland import libc


async def greet(argv):
    fd = await libc.open("/dev/console", libc.O_RDWR)
    await libc.write(fd, b"name? ")
    line = await libc.read(fd, 100)
    await libc.write(fd, b"hello " + line)
    await libc.write(fd, b"a\nb\n")
    await libc.close(fd)
    return 0 if line == b"bob\n" else 1


async def test_program_talks_to_the_fake_terminal(autojump_clock):
    async with booted(memory=8 * 2**20) as system:
        assert "tty" in system.bodies["rs"].rs.services
        console = system.console
        pid = await system.spawn(greet)
        # The fake terminal strips trailing spaces from rows, so the prompt's space
        # shows as the cursor position instead.
        await console.expect(re.compile(r"^name\?$", re.MULTILINE))
        assert console.cursor == (0, 6)
        console.send("box")
        console.send(console.BACKSPACE)  # erase edits the line before it is read
        console.send("b\r")
        await console.expect(re.compile(r"^hello bob$", re.MULTILINE))
        assert await system.wait(pid) == 0
        lines = [line.rstrip() for line in console.screen]
        assert lines[:4] == ["name? bob", "hello bob", "a", "b"]  # ONLCR: two lines
        assert b"a\r\nb\r\n" in console.output


def _tty_endpoint(system):
    return next((p.endpoint for p in system.kernel.procs() if p.name == "tty"), None)


async def test_console_survives_a_driver_crash(autojump_clock):
    async with booted(memory=8 * 2**20) as system:
        before = _tty_endpoint(system)
        await system.kill_service("tty")
        await anyio.sleep(1)  # RS restarts it
        assert _tty_endpoint(system) not in (None, before)
        console = system.console
        pid = await system.spawn(greet)
        await console.expect(re.compile(r"^name\?$", re.MULTILINE))
        console.send("bob\r")
        await console.expect(re.compile(r"^hello bob$", re.MULTILINE))
        assert await system.wait(pid) == 0


def test_tty_row_in_driver_table():
    row = next(d for d in DRIVERS if d.label == "tty")
    assert (row.major, row.console) == (4, True)
