"""The console TTY driver on a bare kernel: keyboard interrupts, reads, echo, ioctls."""

import errno

import chardev
from chardev.protocol import CDEV_NONBLOCK, CDEV_NOTIFY, CDEV_OP_RD, CDEV_OP_WR
from chardev.tty import Termios, Tty
from chardev.tty.driver import (
    _TIOCSCTTY,
    TCGETS,
    TCGETS_IOC,
    TCSETS,
    TCSETS_IOC,
    TIOCGWINSZ_IOC,
    TIOCSWINSZ,
    WINSIZE,
)
from chardev.tty.termios import ECHO, ICANON, TERMIOS_SIZE, VMIN, VTIME
from kernel.hw.console import Console
from tests.chardev.support import BUF, bench
from vfs.protocol import TIOCSCTTY


def _tty():
    console = Console()
    return console, (lambda: Tty(console))


async def test_read_waits_for_a_line_and_echoes(autojump_clock):
    console, factory = _tty()

    async def script(vfs, rs, kernel):
        assert await vfs.open(0) == 0
        reader = await vfs.start_read(0, 100)
        assert await vfs.no_reply()
        console.keyboard.press(b"bob")
        assert await vfs.no_reply()  # no line yet
        console.keyboard.press(b"\r")
        return await vfs.finish_read(reader)

    result, _, _ = await bench(factory, script, label="tty")
    assert result == (4, b"bob\n")
    assert console.screen.output == b"bob\r\n"
    assert console.keyboard.driver is not None


async def test_erase_edits_the_line_before_it_is_read(autojump_clock):
    console, factory = _tty()

    async def script(vfs, rs, kernel):
        await vfs.open(0)
        console.keyboard.press(b"bax\x7f\x7fob\r")
        return await vfs.read(0, 100)

    result, _, _ = await bench(factory, script, label="tty")
    assert result == (4, b"bob\n")
    assert console.screen.output == b"bax\b \b\b \bob\r\n"


async def test_write_maps_newline_to_crlf(autojump_clock):
    console, factory = _tty()

    async def script(vfs, rs, kernel):
        await vfs.open(0)
        return await vfs.write(0, b"a\nb")

    result, _, _ = await bench(factory, script, label="tty")
    assert result == 3
    assert console.screen.output == b"a\r\nb"


async def test_nonblocking_read_and_bad_minor(autojump_clock):
    console, factory = _tty()

    async def script(vfs, rs, kernel):
        bad = await vfs.open(1)
        await vfs.open(0)
        empty = await vfs.read(0, 10, flags=CDEV_NONBLOCK)
        console.keyboard.press(b"x\r")
        await vfs.no_reply()
        full = await vfs.read(0, 10, flags=CDEV_NONBLOCK)
        return bad, empty, full

    result, _, _ = await bench(factory, script, label="tty")
    assert result == (-errno.ENXIO, (-errno.EAGAIN, b""), (2, b"x\n"))


async def test_select_notifies_when_a_line_arrives(autojump_clock):
    console, factory = _tty()

    async def script(vfs, rs, kernel):
        await vfs.open(0)
        first = await vfs.select(0, CDEV_OP_RD | CDEV_OP_WR | CDEV_NOTIFY)
        console.keyboard.press(b"hi")
        assert await vfs.no_reply()  # a partial line is not readable
        console.keyboard.press(b"\r")
        late = await vfs.sel2()
        again = await vfs.select(0, CDEV_OP_RD)
        return first, late, again

    result, _, _ = await bench(factory, script, label="tty")
    assert result == (CDEV_OP_WR, (0, CDEV_OP_RD), CDEV_OP_RD)


async def test_termios_get_and_set_raw_mode(autojump_clock):
    console, factory = _tty()

    async def script(vfs, rs, kernel):
        await vfs.open(0)
        assert await vfs.ioctl(0, TCGETS_IOC, bytes(TERMIOS_SIZE)) == 0
        before = Termios.unpack(await vfs.p.peek(BUF, TERMIOS_SIZE))
        raw = before.copy()
        raw.lflag &= ~(ICANON | ECHO)
        raw.cc[VMIN], raw.cc[VTIME] = 1, 0
        assert await vfs.ioctl(0, TCSETS_IOC, raw.pack()) == 0
        console.keyboard.press(b"q")
        got = await vfs.read(0, 10)
        assert await vfs.ioctl(0, TCGETS, bytes(TERMIOS_SIZE)) == 0  # Linux's number
        after = Termios.unpack(await vfs.p.peek(BUF, TERMIOS_SIZE))
        short = await vfs.ioctl(0, TCSETS, b"\0" * 4)  # a grant too small to read
        return before, got, after, short

    result, _, _ = await bench(factory, script, label="tty")
    before, got, after, short = result
    assert before.lflag & ICANON and before.lflag & ECHO
    assert got == (1, b"q")
    assert console.screen.output == b""  # no echo in raw mode
    assert not after.lflag & ICANON and after.cc[VMIN] == 1
    assert short < 0


async def test_raw_read_times_out_with_vtime(autojump_clock):
    _, factory = _tty()

    async def script(vfs, rs, kernel):
        await vfs.open(0)
        raw = Termios()
        raw.lflag &= ~ICANON
        raw.cc[VMIN], raw.cc[VTIME] = 0, 5  # half a second
        await vfs.ioctl(0, TCSETS_IOC, raw.pack())
        start = kernel.clock()
        got = await vfs.read(0, 10)
        return got, kernel.clock() - start

    result, _, _ = await bench(factory, script, label="tty")
    (got, elapsed) = result
    assert got == (0, b"")
    assert 0.5 <= elapsed < 1.5


async def test_window_size_follows_the_screen(autojump_clock):
    console, factory = _tty()

    async def script(vfs, rs, kernel):
        await vfs.open(0)
        await vfs.ioctl(0, TIOCGWINSZ_IOC, bytes(WINSIZE.size))
        first = WINSIZE.unpack(await vfs.p.peek(BUF, WINSIZE.size))
        console.screen.resize(30, 100)
        await vfs.no_reply()
        await vfs.ioctl(0, TIOCGWINSZ_IOC, bytes(WINSIZE.size))
        resized = WINSIZE.unpack(await vfs.p.peek(BUF, WINSIZE.size))
        await vfs.ioctl(0, TIOCSWINSZ, WINSIZE.pack(10, 20, 1, 2))
        await vfs.ioctl(0, TIOCGWINSZ_IOC, bytes(WINSIZE.size))
        set_ = WINSIZE.unpack(await vfs.p.peek(BUF, WINSIZE.size))
        return first, resized, set_

    result, _, _ = await bench(factory, script, label="tty")
    assert result == ((24, 80, 0, 0), (30, 100, 0, 0), (10, 20, 1, 2))


async def test_other_ioctls(autojump_clock):
    _, factory = _tty()

    async def script(vfs, rs, kernel):
        await vfs.open(0)
        return await vfs.ioctl(0, _TIOCSCTTY), await vfs.ioctl(0, 0x540F, bytes(4))

    result, _, _ = await bench(factory, script, label="tty")
    assert _TIOCSCTTY == TIOCSCTTY
    assert result == (0, -errno.ENOTTY)


async def test_restarted_driver_takes_the_interrupts(autojump_clock):
    console, factory = _tty()
    faults = chardev.Faults(crash_at={"before_reply": 2})

    async def script(vfs, rs, kernel):
        first = vfs.drv
        await vfs.open(0)  # reply 1
        try:
            await vfs.write(0, b"lost")  # crashes before reply 2
        except OSError:
            pass
        await vfs.until_up(2)
        await vfs.open(0)
        console.keyboard.press(b"ok\r")
        return first, vfs.drv, await vfs.read(0, 10)

    result, _, _ = await bench(factory, script, label="tty", faults=faults)
    first, second, got = result
    assert first != second
    assert console.keyboard.driver is not None and console.keyboard.driver.endpoint == second
    assert got == (3, b"ok\n")


async def test_waiting_read_is_cancelled(autojump_clock):
    console, factory = _tty()

    async def script(vfs, rs, kernel):
        await vfs.open(0)
        await vfs.start_read(0, 10)
        assert await vfs.no_reply()
        cancelled = await vfs.cancel(0)
        console.keyboard.press(b"later\r")
        return cancelled, await vfs.read(0, 10)

    result, _, _ = await bench(factory, script, label="tty")
    assert result == (-errno.EINTR, (6, b"later\n"))
