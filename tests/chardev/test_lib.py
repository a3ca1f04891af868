"""The chardev framework through test drivers, a stand-in VFS and an RS stand-in."""

from __future__ import annotations

import errno

import structlog

import chardev
from chardev.protocol import (
    CDEV_CLONED,
    CDEV_NONBLOCK,
    CDEV_NOTIFY,
    CDEV_OP_ERR,
    CDEV_OP_RD,
    CDEV_OP_WR,
    CdevRead,
)
from kernel.grants import CPF_WRITE
from servers.rs.protocol import SEF_INIT_FRESH, SEF_INIT_LU, SEF_INIT_RESTART, state_key
from tests.chardev.support import BUF, CRASH, USER, bench
from tests.support import Ping


class Bare(chardev.Driver):
    """No callbacks at all: every MINIX default."""


class Queue(chardev.Driver):
    """Minor 0: a byte queue (read waits for data); minor 1: moves 3 bytes then waits;
    minor 9: a clone device handing out minors 20, 21, ..."""

    def __init__(self):
        super().__init__()
        self.data = bytearray()
        self.cond = None
        self.next_clone = 20
        self.cancels = []

    async def init_fresh(self):
        self.cond = self.condition()

    async def open(self, minor, access, user):
        if minor == 9:
            self.next_clone += 1
            return CDEV_CLONED | (self.next_clone - 1)
        return 0

    async def read(self, minor, pos, grant, count, flags, user):
        if minor == 1:
            await grant.write(0, b"abc")
            while True:
                await self.wait(self.cond)
        while not self.data:
            await self.wait(self.cond)
        n = min(count, len(self.data))
        await grant.write(0, bytes(self.data[:n]))
        del self.data[:n]
        return n

    async def write(self, minor, pos, grant, count, flags, user):
        self.data += await grant.read(0, count)
        await self.cond.broadcast()
        await self.notify_select(minor, CDEV_OP_RD)
        return count

    async def select(self, minor, ops):
        return ops & ((CDEV_OP_RD if self.data else 0) | CDEV_OP_WR)

    async def cancel(self, minor, id_):
        self.cancels.append((minor, id_))


async def test_defaults_are_minix(autojump_clock):
    async def script(vfs, rs, k):
        out = [await vfs.open(0)]
        out.append(await vfs.read(0, 10))
        out.append(await vfs.write(0, b"xyz"))
        out.append(await vfs.ioctl(0, 0x1234))
        out.append(await vfs.select(0, CDEV_OP_RD | CDEV_NOTIFY))
        out.append(await vfs.close(0))
        return out

    out, rs, _ = await bench(Bare, script)
    assert out == [0, (-errno.EIO, b""), -errno.EIO, -errno.ENOTTY, -errno.EBADF, 0]
    assert rs.up == [(rs.endpoint, SEF_INIT_FRESH)]
    assert rs.deaths == []


async def test_requests_for_unopened_minors_are_dropped(autojump_clock):
    async def script(vfs, rs, k):
        gid = vfs.grant(4, CPF_WRITE)
        await vfs.send(CdevRead(3, 0, gid, 4, 0, USER))
        await vfs.send(chardev.lib.CdevClose(3, USER))
        await vfs.send(chardev.lib.CdevSelect(3, CDEV_OP_RD))
        silent = await vfs.no_reply()
        opened = await vfs.open(3)
        write = await vfs.write(3, b"hi")
        return silent, opened, write

    assert (await bench(Queue, script))[0] == (True, 0, 2)


async def test_blocking_read_is_woken_by_a_write(autojump_clock):
    async def script(vfs, rs, k):
        await vfs.open(0)
        gid = await vfs.start_read(0, 10, id_=7)
        waiting = await vfs.no_reply()
        written = await vfs.write(0, b"hello", id_=8)
        got = await vfs.finish_read(gid, id_=7)
        return waiting, written, got

    assert (await bench(Queue, script))[0] == (True, 5, (5, b"hello"))


async def test_cancel_interrupts_a_waiting_read_with_eintr(autojump_clock):
    drivers = []

    def factory():
        drivers.append(Queue())
        return drivers[-1]

    async def script(vfs, rs, k):
        await vfs.open(0)
        await vfs.start_read(0, 10)
        await vfs.no_reply()
        status = await vfs.cancel(0)
        # The driver is still serving, and the cancelled read took nothing.
        after = [await vfs.write(0, b"ab", id_=9), await vfs.read(0, 10)]
        return status, after

    status, after = (await bench(factory, script))[0]
    assert status == -errno.EINTR
    assert after == [2, (2, b"ab")]
    assert drivers[0].cancels == [(0, USER)]


async def test_cancel_after_partial_transfer_answers_the_count(autojump_clock):
    async def script(vfs, rs, k):
        await vfs.open(1)
        await vfs.start_read(1, 10)
        await vfs.no_reply()
        status = await vfs.cancel(1)
        return status, await vfs.p.peek(BUF, 3)

    assert (await bench(Queue, script))[0] == (3, b"abc")


async def test_cancel_for_no_request_gets_no_reply(autojump_clock):
    async def script(vfs, rs, k):
        await vfs.open(0)
        await vfs.send(chardev.lib.CdevCancel(0, 555))
        return await vfs.no_reply()

    assert (await bench(Queue, script))[0] is True


async def test_nonblocking_read_gets_eagain(autojump_clock):
    async def script(vfs, rs, k):
        await vfs.open(0)
        empty = await vfs.read(0, 4, flags=CDEV_NONBLOCK)
        await vfs.write(0, b"zz")
        full = await vfs.read(0, 4, flags=CDEV_NONBLOCK)
        return empty, full

    assert (await bench(Queue, script))[0] == ((-errno.EAGAIN, b""), (2, b"zz"))


async def test_select_immediate_and_late_notification(autojump_clock):
    async def script(vfs, rs, k):
        await vfs.open(0)
        first = await vfs.select(0, CDEV_OP_RD | CDEV_OP_WR | CDEV_NOTIFY)
        await vfs.write(0, b"x", id_=11)
        late = await vfs.sel2()
        # One-shot: another write sends nothing more until VFS re-arms.
        await vfs.write(0, b"y", id_=11)
        silent = await vfs.no_reply()
        ready = await vfs.select(0, CDEV_OP_RD | CDEV_OP_ERR)
        return first, late, silent, ready

    first, late, silent, ready = (await bench(Queue, script))[0]
    assert first == CDEV_OP_WR
    assert late == (0, CDEV_OP_RD)
    assert silent is True
    assert ready == CDEV_OP_RD


async def test_select_without_notify_registers_nothing(autojump_clock):
    async def script(vfs, rs, k):
        await vfs.open(0)
        first = await vfs.select(0, CDEV_OP_RD)
        await vfs.write(0, b"x")
        return first, await vfs.no_reply()

    assert (await bench(Queue, script))[0] == (0, True)


async def test_cloned_open_marks_the_new_minor_open(autojump_clock):
    async def script(vfs, rs, k):
        status = await vfs.open(9)
        minor = status & ~CDEV_CLONED
        wrote = await vfs.write(minor, b"ok")
        # The clone device itself was not marked open: only the new minor.
        gid = vfs.grant(2, CPF_WRITE)
        await vfs.send(CdevRead(9, 0, gid, 2, 0, USER))
        return status, wrote, await vfs.no_reply()

    assert (await bench(Queue, script))[0] == (CDEV_CLONED | 20, 2, True)


async def test_bad_grant_fails_the_request_and_the_driver_stays_up(autojump_clock):
    async def script(vfs, rs, k):
        await vfs.open(0)
        await vfs.write(0, b"data")
        await vfs.send(CdevRead(0, 0, 999_999, 4, 0, USER))
        bad = await vfs._reply(USER)
        # A grant too small for the count: the copy is refused (EPERM).
        gid = vfs.grant(1, CPF_WRITE)
        await vfs.send(CdevRead(0, 0, gid, 4, 0, USER))
        small = await vfs._reply(USER)
        return bad, small, await vfs.read(0, 4)

    out, rs, _ = await bench(Queue, script)
    assert out == (-errno.EPERM, -errno.EPERM, (4, b"data"))
    assert rs.deaths == []


async def test_grant_over_unmapped_memory_is_efault(autojump_clock):
    async def script(vfs, rs, k):
        await vfs.open(0)
        await vfs.write(0, b"data")
        gid = vfs.p.grant_direct(vfs.drv, 0x0900_0000, 4, CPF_WRITE)  # nothing mapped there
        await vfs.send(CdevRead(0, 0, gid, 4, 0, USER))
        return await vfs._reply(USER), await vfs.read(0, 4)

    out, rs, _ = await bench(Queue, script)
    assert out == (-errno.EFAULT, (4, b"data"))  # the data stayed for the next reader
    assert rs.deaths == []


async def test_garbage_messages_are_ignored_and_logged(autojump_clock):
    async def script(vfs, rs, k):
        await vfs.send(Ping(5))
        await vfs.send(chardev.lib.CdevOpen([1], 1, USER, USER))  # unhashable minor
        await vfs.send(CdevRead(0, "pos", 1, 2, 0, USER))
        await vfs.send(chardev.lib.CdevSelect(0, None))
        silent = await vfs.no_reply()
        return silent, await vfs.open(0), await vfs.read(0, 1, flags=CDEV_NONBLOCK)

    with structlog.testing.capture_logs() as logs:
        out, rs, _ = await bench(Queue, script)
    assert out == (True, 0, (-errno.EAGAIN, b""))
    assert rs.deaths == []
    assert any(e["event"] == "ignoring message" and e["mtype"] == "Ping" for e in logs)
    assert sum(e["event"] == "dropped: malformed request" for e in logs) == 3


async def test_heartbeats_are_answered(autojump_clock):
    async def script(vfs, rs, k):
        await vfs.p.sleep(10)
        return rs.alive

    alive = (await bench(Queue, script, period=1.0))[0]
    assert 8 <= alive <= 11


async def test_driver_announces_itself_in_ds(autojump_clock):
    async def script(vfs, rs, k):
        return None

    _, _, ds = await bench(Queue, script, label="q")
    status, entry = ds.store.retrieve("drv.chr.q", 0x20)
    assert status == 0 and entry.value == 1


class Counting(chardev.Driver):
    """Stateful: counts opens, saved by the framework after each one."""

    stateful = True

    def __init__(self):
        super().__init__()
        self.opens = 0
        self.inits = []

    async def init_fresh(self):
        self.inits.append("fresh")

    async def init_restart(self, state):
        self.inits.append(("restart", state))
        self.opens = int.from_bytes(state or b"\0", "little")

    async def init_lu(self, state):
        self.inits.append(("lu", state))
        self.opens = int.from_bytes(state or b"\0", "little")

    def save_state(self):
        return self.opens.to_bytes(1, "little")

    async def open(self, minor, access, user):
        self.opens += 1
        return 0

    async def read(self, minor, pos, grant, count, flags, user):
        data = bytes([self.opens]) * min(count, 2)
        await grant.write(0, data[:1])
        await grant.write(1, data[1:])
        return len(data)


def _instances():
    made = []

    def factory():
        made.append(Counting())
        return made[-1]

    return made, factory


async def test_crash_before_reply_restarts_with_saved_state(autojump_clock):
    made, factory = _instances()
    faults = chardev.Faults(crash_at={"before_reply": 3})

    async def script(vfs, rs, k):
        first = vfs.drv
        await vfs.open(0)  # reply 1
        await vfs.open(0)  # reply 2
        await vfs.send(chardev.lib.CdevOpen(0, 1, USER, USER))  # third open: crash
        try:
            await vfs._reply(USER)
        except OSError as exc:
            died = exc.errno
        await vfs.until_up(2)
        # The new instance dropped nothing it knew about: minor 0 is not open there.
        gid = vfs.grant(2, CPF_WRITE)
        await vfs.send(CdevRead(0, 0, gid, 2, 0, USER))
        dropped = await vfs.no_reply()
        await vfs.open(0)
        return first, died, dropped, await vfs.read(0, 2)

    (first, died, dropped, read), rs, ds = await bench(factory, script, label="cnt", faults=faults)
    assert died == chardev.lib.KernelError(1105).errno  # EDEADSRCDST
    assert dropped is True
    assert faults.crashes == [("before_reply", 3)]
    assert rs.deaths == [(first, CRASH)]
    assert [t for _, t in rs.up] == [SEF_INIT_FRESH, SEF_INIT_RESTART]
    # The third open counted and was saved before its reply was due: 3, then one more.
    assert made[1].inits == [("restart", b"\x03")]
    assert read == (2, b"\x04\x04")
    assert ds.store.retrieve(state_key("cnt"), 0x40)[0] == 0


async def test_crash_mid_copy(autojump_clock):
    _, factory = _instances()
    faults = chardev.Faults(crash_at={"mid_copy": 1})

    async def script(vfs, rs, k):
        await vfs.open(0)
        gid = await vfs.start_read(0, 2)
        try:
            await vfs.finish_read(gid)
        except OSError as exc:
            died = exc.errno
        await vfs.until_up(2)
        return died, await vfs.p.peek(BUF, 2)

    (died, buf), rs, _ = await bench(factory, script, faults=faults)
    assert died == 1105
    assert buf[:1] == b"\x01"  # the first copy happened, the second never did
    assert len(rs.deaths) == 1


async def test_crash_while_a_select_is_pending(autojump_clock):
    faults = chardev.Faults(crash_at={"select_pending": 1})

    async def script(vfs, rs, k):
        await vfs.open(0)
        ready = await vfs.select(0, CDEV_OP_RD | CDEV_NOTIFY)
        await vfs.until_up(2)
        return ready

    ready, rs, _ = await bench(Queue, script, faults=faults)
    assert ready == 0
    assert len(rs.deaths) == 1 and faults.crashes == [("select_pending", 1)]


async def test_random_faults_are_reproducible(autojump_clock):
    async def run_once():
        faults = chardev.Faults(probability=0.3, seed=7, points=("before_reply",))

        async def script(vfs, rs, k):
            for i in range(12):
                try:
                    await vfs.open(0, id_=100 + i)
                except OSError:
                    await vfs.until_up(len(rs.up) + 1)
            return len(rs.deaths)

        deaths = (await bench(Queue, script, faults=faults))[0]
        return deaths, faults.crashes

    first = await run_once()
    assert first == await run_once()
    assert first[0] >= 1


async def test_live_update_hands_over_state_and_open_minors(autojump_clock):
    made, factory = _instances()

    async def script(vfs, rs, k):
        from servers.rs.protocol import RsUpdate

        await vfs.open(0)
        await vfs.open(0)
        old = vfs.drv
        await vfs.p.senda(2, RsUpdate("cnt"))
        await vfs.until_up(2)
        # Minor 0 stayed open across the update: no new open needed.
        return old != vfs.drv, await vfs.read(0, 2)

    (moved, read), rs, _ = await bench(factory, script, label="cnt")
    assert moved and read == (2, b"\x02\x02")
    assert [t for _, t in rs.up] == [SEF_INIT_FRESH, SEF_INIT_LU]
    assert made[1].inits == [("lu", b"\x02")]


def test_faults_reject_unknown_points():
    import pytest

    with pytest.raises(ValueError, match="unknown fault points"):
        chardev.Faults(crash_at={"nowhere": 1})


class Ticker(chardev.Driver):
    """A read waits for the next alarm tick; the alarm re-arms itself every 2 s."""

    async def init_fresh(self):
        self.ticks = 0
        self.tick = self.condition()
        await self.set_alarm(2)

    async def alarm(self, now):
        self.ticks += 1
        await self.tick.broadcast()
        await self.set_alarm(2)

    async def read(self, minor, pos, grant, count, flags, user):
        seen = self.ticks
        while self.ticks == seen:
            await self.wait(self.tick)
        await grant.write(0, bytes([self.ticks]))
        return 1


async def test_alarm_hook_wakes_waiting_reads(autojump_clock):
    async def script(vfs, rs, k):
        await vfs.open(0)
        t0 = vfs.p.now()
        first = await vfs.read(0, 1)
        second = await vfs.read(0, 1)
        return first, second, vfs.p.now() - t0

    first, second, elapsed = (await bench(Ticker, script))[0]
    assert (first, second) == ((1, b"\x01"), (1, b"\x02"))
    assert 3.5 < elapsed < 4.5
