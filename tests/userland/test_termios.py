"""libc's terminal calls on a booted system: a program on /dev/console, the host typing."""

import errno
import re

from tests.pm.support import booted, errno_of
from userland import libc


async def test_isatty_ttyname_and_defaults(autojump_clock):
    seen = {}

    async def prog(argv):
        tty = await libc.open("/dev/console", libc.O_RDWR)
        null = await libc.open("/dev/null", libc.O_RDWR)
        f = await libc.open("/tmp/f", libc.O_RDWR | libc.O_CREAT, 0o644)
        r, w = await libc.pipe()
        seen["isatty"] = [await libc.isatty(fd) for fd in (tty, null, f, r, w, 99)]
        seen["ttyname"] = await libc.ttyname(tty)
        seen["ttyname pipe"] = await errno_of(libc.ttyname(r))
        seen["ttyname null"] = await errno_of(libc.ttyname(null))
        seen["attrs"] = await libc.tcgetattr(tty)
        seen["get pipe"] = await errno_of(libc.tcgetattr(r))
        seen["get file"] = await errno_of(libc.tcgetattr(f))
        seen["get bad fd"] = await errno_of(libc.tcgetattr(99))
        attrs = seen["attrs"]
        seen["bad when"] = await errno_of(libc.tcsetattr(tty, 7, attrs))
        seen["bad attrs"] = await errno_of(libc.tcsetattr(tty, libc.TCSANOW, attrs[:6]))
        seen["bad cc"] = await errno_of(
            libc.tcsetattr(tty, libc.TCSANOW, [*attrs[:6], [b"ab"] * libc.NCCS])
        )
        seen["set pipe"] = await errno_of(libc.tcsetattr(w, libc.TCSANOW, attrs))
        seen["unchanged"] = await libc.tcgetattr(tty) == attrs
        return 0

    async with booted(memory=8 * 2**20) as system:
        assert await system.wait(await system.spawn(prog)) == 0
    assert seen["isatty"] == [True, False, False, False, False, False]
    assert seen["ttyname"] == "/dev/console"
    assert seen["ttyname pipe"] == errno.ENOTTY
    assert seen["ttyname null"] == errno.ENOTTY
    iflag, oflag, cflag, lflag, ispeed, ospeed, cc = seen["attrs"]
    assert lflag & libc.ICANON and lflag & libc.ECHO and lflag & libc.ISIG
    assert oflag & libc.OPOST and oflag & libc.ONLCR and iflag & libc.ICRNL
    assert cflag & libc.CSIZE == libc.CS8 and ispeed == ospeed
    assert len(cc) == libc.NCCS and cc[libc.VINTR] == b"\x03" and cc[libc.VEOF] == b"\x04"
    assert seen["get pipe"] == seen["get file"] == errno.ENOTTY
    assert seen["get bad fd"] == errno.EBADF
    assert seen["bad when"] == seen["bad attrs"] == seen["bad cc"] == errno.EINVAL
    assert seen["set pipe"] == errno.ENOTTY
    assert seen["unchanged"] is True


async def test_echo_off_hides_the_typed_line(autojump_clock):
    seen = {}

    async def prog(argv):
        fd = await libc.open("/dev/console", libc.O_RDWR)
        attrs = await libc.tcgetattr(fd)
        attrs[3] &= ~libc.ECHO
        await libc.tcsetattr(fd, libc.TCSAFLUSH, attrs)
        seen["lflag"] = (await libc.tcgetattr(fd))[3]
        await libc.write(fd, b"password: ")
        seen["line"] = await libc.read(fd, 100)
        attrs[3] |= libc.ECHO
        await libc.tcsetattr(fd, libc.TCSADRAIN, attrs)
        await libc.write(fd, b"\ndone\n")
        return 0

    async with booted(memory=8 * 2**20) as system:
        console = system.console
        pid = await system.spawn(prog)
        await console.expect(re.compile(r"^password:$", re.MULTILINE))
        console.send("hunter2\r")
        await console.expect(re.compile(r"^done$", re.MULTILINE))
        assert await system.wait(pid) == 0
        assert "hunter2" not in console.text
        assert b"hunter2" not in console.output
    assert seen["line"] == b"hunter2\n"
    assert not seen["lflag"] & libc.ECHO


async def test_echo_on_shows_the_typed_line(autojump_clock):
    async def prog(argv):
        fd = await libc.open("/dev/console", libc.O_RDWR)
        await libc.write(fd, b"name: ")
        line = await libc.read(fd, 100)
        await libc.write(fd, b"done\n")
        return 0 if line == b"bob\n" else 1

    async with booted(memory=8 * 2**20) as system:
        console = system.console
        pid = await system.spawn(prog)
        await console.expect(re.compile(r"^name:$", re.MULTILINE))
        console.send("bob\r")
        await console.expect(re.compile(r"^done$", re.MULTILINE))
        assert await system.wait(pid) == 0
        assert "name: bob" in console.screen


async def test_raw_mode_delivers_one_key_without_enter(autojump_clock):
    seen = {}

    async def prog(argv):
        fd = await libc.open("/dev/console", libc.O_RDWR)
        saved = await libc.tcgetattr(fd)
        raw = [*saved[:6], list(saved[6])]
        raw[3] &= ~(libc.ICANON | libc.ECHO)
        raw[6][libc.VMIN] = 1
        raw[6][libc.VTIME] = 0
        await libc.tcsetattr(fd, libc.TCSANOW, raw)
        got = await libc.tcgetattr(fd)
        seen["vmin"] = (got[6][libc.VMIN], got[6][libc.VTIME])
        await libc.write(fd, b"key? ")
        seen["key"] = await libc.read(fd, 100)
        await libc.tcsetattr(fd, libc.TCSANOW, saved)
        seen["restored"] = await libc.tcgetattr(fd) == saved
        await libc.write(fd, b"got it\n")
        return 0

    async with booted(memory=8 * 2**20) as system:
        console = system.console
        pid = await system.spawn(prog)
        await console.expect(re.compile(r"^key\?$", re.MULTILINE))
        console.send("q")
        await console.expect(re.compile(r"got it$", re.MULTILINE))
        assert await system.wait(pid) == 0
    assert seen == {"vmin": (1, 0), "key": b"q", "restored": True}


async def test_window_size_follows_the_terminal(autojump_clock):
    seen = {}

    async def prog(argv):
        fd = await libc.open("/dev/console", libc.O_RDWR)
        seen["before"] = await libc.tcgetwinsize(fd)
        await libc.write(fd, b"resize me\n")
        await libc.read(fd, 100)  # the host resizes, then presses Enter
        seen["after"] = await libc.tcgetwinsize(fd)
        await libc.tcsetwinsize(fd, (50, 132))
        seen["set"] = await libc.tcgetwinsize(fd)
        seen["bad"] = await errno_of(libc.tcsetwinsize(fd, (1, 2, 3)))
        seen["range"] = await errno_of(libc.tcsetwinsize(fd, (-1, 80)))
        r, _w = await libc.pipe()
        seen["pipe"] = await errno_of(libc.tcgetwinsize(r))
        await libc.write(fd, b"done\n")
        return 0

    async with booted(memory=8 * 2**20) as system:
        console = system.console
        pid = await system.spawn(prog)
        await console.expect(re.compile(r"^resize me$", re.MULTILINE))
        console.resize(30, 100)
        console.send("\r")
        await console.expect(re.compile(r"^done$", re.MULTILINE))
        assert await system.wait(pid) == 0
    assert seen["before"] == (24, 80)
    assert seen["after"] == (30, 100)
    assert seen["set"] == (50, 132)
    assert seen["bad"] == seen["range"] == errno.EINVAL
    assert seen["pipe"] == errno.ENOTTY
