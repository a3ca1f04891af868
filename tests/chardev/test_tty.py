"""The console TTY driver on a bare kernel: keyboard interrupts, reads, echo, ioctls."""

import errno

import chardev
from chardev.protocol import (
    CDEV_CTTY,
    CDEV_NOCTTY,
    CDEV_NONBLOCK,
    CDEV_NOTIFY,
    CDEV_OP_RD,
    CDEV_OP_WR,
    CDEV_R_BIT,
    CDEV_W_BIT,
    CdevIoctl,
    CdevOpen,
)
from chardev.tty import Termios, Tty
from chardev.tty.ioctl import TIOCSCTTY as _TIOCSCTTY
from chardev.tty.termios import (
    ECHO,
    ICANON,
    PGRP,
    TCGETS,
    TCGETS_IOC,
    TCSETS,
    TCSETS_IOC,
    TERMIOS_SIZE,
    TIOCGPGRP_IOC,
    TIOCGWINSZ_IOC,
    TIOCSPGRP_IOC,
    TIOCSWINSZ,
    VMIN,
    VTIME,
    WINSIZE,
)
from kernel.grants import CPF_READ, CPF_WRITE
from kernel.hw.console import Console
from servers.pm.protocol import (
    SIGCONT,
    SIGHUP,
    SIGINT,
    SIGWINCH,
    TTYQ_ACQUIRE,
    TTYQ_READ,
    TTYQ_SETPGRP,
    PmTtyAnswer,
    PmTtyHangup,
)
from tests.chardev.support import BUF, USER, bench
from vfs.protocol import TIOCSCTTY

_NOCTTY = CDEV_R_BIT | CDEV_W_BIT | CDEV_NOCTTY
"""The bench has no PM (its VFS sits in PM's slot): no open may make a controlling tty."""


def _tty():
    console = Console()
    return console, (lambda: Tty(console))


async def test_read_waits_for_a_line_and_echoes(autojump_clock):
    console, factory = _tty()

    async def script(vfs, rs, kernel):
        assert await vfs.open(0, _NOCTTY) == 0
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
        await vfs.open(0, _NOCTTY)
        console.keyboard.press(b"bax\x7f\x7fob\r")
        return await vfs.read(0, 100)

    result, _, _ = await bench(factory, script, label="tty")
    assert result == (4, b"bob\n")
    assert console.screen.output == b"bax\b \b\b \bob\r\n"


async def test_write_maps_newline_to_crlf(autojump_clock):
    console, factory = _tty()

    async def script(vfs, rs, kernel):
        await vfs.open(0, _NOCTTY)
        return await vfs.write(0, b"a\nb")

    result, _, _ = await bench(factory, script, label="tty")
    assert result == 3
    assert console.screen.output == b"a\r\nb"


async def test_nonblocking_read_and_bad_minor(autojump_clock):
    console, factory = _tty()

    async def script(vfs, rs, kernel):
        bad = await vfs.open(1, _NOCTTY)
        await vfs.open(0, _NOCTTY)
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
        await vfs.open(0, _NOCTTY)
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
        await vfs.open(0, _NOCTTY)
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
        await vfs.open(0, _NOCTTY)
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
        await vfs.open(0, _NOCTTY)
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
        await vfs.open(0, _NOCTTY)
        unknown = await vfs.ioctl(0, 0x5409, bytes(4))  # TCSBRK: not implemented
        await vfs.send(CdevIoctl(0, _TIOCSCTTY, -1, USER, 0, USER))
        ask = await _receive(vfs)  # the console becomes the caller's session's
        sctty = (await _receive(vfs)).status
        return unknown, (ask.op, ask.ep), sctty

    result, _, _ = await bench(factory, script, label="tty")
    assert _TIOCSCTTY == TIOCSCTTY
    assert result == (-errno.ENOTTY, (TTYQ_ACQUIRE, USER), 0)


async def test_restarted_driver_takes_the_interrupts(autojump_clock):
    console, factory = _tty()
    faults = chardev.Faults(crash_at={"before_reply": 2})

    async def script(vfs, rs, kernel):
        first = vfs.drv
        await vfs.open(0, _NOCTTY)  # reply 1
        try:
            await vfs.write(0, b"lost")  # crashes before reply 2
        except OSError:
            pass
        await vfs.until_up(2)
        await vfs.open(0, _NOCTTY)
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
        await vfs.open(0, _NOCTTY)
        await vfs.start_read(0, 10)
        assert await vfs.no_reply()
        cancelled = await vfs.cancel(0)
        console.keyboard.press(b"later\r")
        return cancelled, await vfs.read(0, 10)

    result, _, _ = await bench(factory, script, label="tty")
    assert result == (-errno.EINTR, (6, b"later\n"))


# -- job control: the driver's side of the conversation with PM ----------------------------
# The bench's VFS stand-in sits in PM's slot, so it plays PM too.


async def _receive(vfs):
    return await vfs.p.receive(vfs.drv)


async def test_ctty_open_signals_and_hangup_go_to_pm(autojump_clock):
    console, factory = _tty()

    async def script(vfs, rs, kernel):
        await vfs.send(CdevOpen(0, CDEV_R_BIT | CDEV_W_BIT, USER, USER))
        ask = await _receive(vfs)
        opened = await _receive(vfs)
        await vfs.send(PmTtyAnswer(ask.tag, 0, sid=50, pgrp=50))
        again = await vfs.open(0)  # the console has a session now: no second ctty
        console.keyboard.press(b"x\x03")
        intr = await _receive(vfs)
        console.screen.resize(30, 90)
        winch = await _receive(vfs)
        await vfs.send(PmTtyHangup(50))
        hup, cont = await _receive(vfs), await _receive(vfs)
        return ask, opened.status, again, intr, winch, hup, cont

    result, _, _ = await bench(factory, script, label="tty")
    ask, opened, again, intr, winch, hup, cont = result
    assert (ask.op, ask.ep) == (TTYQ_ACQUIRE, USER)
    assert opened == CDEV_CTTY
    assert again == 0
    assert [(m.pgrp, m.sig) for m in (intr, winch, hup, cont)] == [
        (50, SIGINT),
        (50, SIGWINCH),
        (50, SIGHUP),
        (50, SIGCONT),
    ]
    assert console.screen.output == b"x^C"  # echoed; the line was flushed


async def test_tiocspgrp_asks_pm_and_a_cancel_ends_the_wait(autojump_clock):
    _console, factory = _tty()

    async def script(vfs, rs, kernel):
        await vfs.send(CdevOpen(0, CDEV_R_BIT | CDEV_W_BIT, USER, USER))
        ask = await _receive(vfs)
        await _receive(vfs)
        await vfs.send(PmTtyAnswer(ask.tag, 0, sid=50, pgrp=50))
        await vfs.p.poke(BUF, PGRP.pack(60))
        gid = vfs.grant(PGRP.size, CPF_READ | CPF_WRITE)
        await vfs.send(CdevIoctl(0, TIOCSPGRP_IOC, gid, USER, 0, USER))
        setq = await _receive(vfs)
        await vfs.send(PmTtyAnswer(setq.tag, 0))
        set_status = (await _receive(vfs)).status
        await vfs.send(CdevIoctl(0, TIOCGPGRP_IOC, gid, USER, 0, USER))
        getq = await _receive(vfs)
        await vfs.send(PmTtyAnswer(getq.tag, 0))
        get_status = (await _receive(vfs)).status
        fg = PGRP.unpack(await vfs.p.peek(BUF, PGRP.size))[0]
        reader = await vfs.start_read(0, 10)
        readq = await _receive(vfs)  # PM would stop a background reader: no answer
        cancelled = await vfs.cancel(0)
        await vfs.send(PmTtyAnswer(readq.tag, errno.EAGAIN))  # too late: dropped
        vfs.p.revoke(reader)
        assert await vfs.no_reply()
        return setq, set_status, get_status, fg, readq, cancelled

    result, _, _ = await bench(factory, script, label="tty")
    setq, set_status, get_status, fg, readq, cancelled = result
    assert (setq.op, setq.sid, setq.fg, setq.pgrp) == (TTYQ_SETPGRP, 50, 50, 60)
    assert set_status == get_status == 0
    assert fg == 60
    assert (readq.op, readq.fg) == (TTYQ_READ, 60)
    assert cancelled == -errno.EINTR
