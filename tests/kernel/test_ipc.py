"""IPC semantics: rendezvous, receive order, sendrec, notify, senda, ELOCKED, death."""

from __future__ import annotations

import errno

import pytest

from kernel import errors
from kernel.endpoint import ANY, ASYNCM, CLOCK, NONE, SELF, SYSTEM
from kernel.errors import KernelError
from kernel.ipc import AMF_NOREPLY, AMF_NOTIFY
from kernel.kernel import SIGKSIG, Kernel
from kernel.message import CALL_NOTIFY, CALL_SEND, CALL_SENDA, CALL_SENDREC, Notify, Reply
from kernel.priv import USER_PRIV, Priv
from tests.support import UNIT, Ping, Sim, both_backends


@both_backends
async def test_send_is_a_rendezvous():
    async with Kernel() as k:
        sim = Sim(k)

        async def sender(p):
            sim.log.append("send-start")
            await p.send(rcv.endpoint, Ping(7))
            sim.log.append("send-done")

        async def receiver(p):
            await p.sleep(1 * UNIT.s)
            sim.log.append("receiving")
            m = await p.receive(ANY)
            sim.log.append(("got", m.n, m.m_source == snd.endpoint, p.status))

        rcv = sim.spawn("rcv", receiver)
        snd = sim.spawn("snd", sender)
        await sim.wait("rcv", "snd")
        k.shutdown()
    assert sim.log == ["send-start", "receiving", ("got", 7, True, CALL_SEND), "send-done"]


@both_backends
async def test_receive_takes_notify_then_async_then_callers():
    async with Kernel() as k:
        sim = Sim(k)

        async def server(p):
            await p.sleep(1 * UNIT.s)  # let everyone queue up
            got = []
            for _ in range(3):
                m = await p.receive(ANY)
                got.append((type(m).__name__, p.status))
            return got

        async def caller(p):
            await p.send(srv.endpoint, Ping(1))

        async def notifier(p):
            await p.notify(srv.endpoint)
            await p.sleep(5 * UNIT.s)  # a dead notifier's pending bits are cleared

        async def asender(p):
            await p.senda(srv.endpoint, Ping(2))
            await p.sleep(5 * UNIT.s)

        srv = sim.spawn("srv", server)
        sim.spawn("caller", caller)
        sim.spawn("asender", asender)
        sim.spawn("notifier", notifier)
        await sim.wait("srv")
        k.shutdown()
    assert sim.results["srv"] == [
        ("Notify", CALL_NOTIFY),
        ("Ping", CALL_SENDA),
        ("Ping", CALL_SEND),
    ]


@both_backends
async def test_callers_served_in_fifo_order():
    async with Kernel() as k:
        sim = Sim(k)

        async def server(p):
            await p.sleep(1 * UNIT.s)
            return [(await p.receive(ANY)).n for _ in range(4)]

        async def caller(p, n):
            await p.send(srv.endpoint, Ping(n))

        srv = sim.spawn("srv", server)
        for n in range(4):
            sim.spawn(f"c{n}", lambda p, n=n: caller(p, n))
        await sim.wait("srv")
        k.shutdown()
    assert sim.results["srv"] == [0, 1, 2, 3]


@both_backends
async def test_receive_from_specific_source_skips_others():
    async with Kernel() as k:
        sim = Sim(k)

        async def server(p):
            await p.sleep(1 * UNIT.s)
            first = await p.receive(b.endpoint)
            second = await p.receive(ANY)
            return [first.n, second.n]

        srv = sim.spawn("srv", server)
        sim.spawn("a", lambda p: p.send(srv.endpoint, Ping(1)))
        b = sim.spawn("b", lambda p: p.send(srv.endpoint, Ping(2)))
        await sim.wait("srv")
        k.shutdown()
    assert sim.results["srv"] == [2, 1]


@both_backends
async def test_sendrec_is_immune_to_notify():
    async with Kernel() as k:
        sim = Sim(k)

        async def server(p):
            m = await p.receive(ANY)
            await p.notify(m.m_source)  # arrives while the client waits for its reply
            await p.sleep(1 * UNIT.s)
            await p.send(m.m_source, Reply(m.n * 2))
            await p.sleep(5 * UNIT.s)  # stay alive: a dead notifier's pending bit is cleared

        async def client(p):
            r = await p.sendrec(srv.endpoint, Ping(21))
            status = p.status
            n = await p.receive(ANY)
            return r.status, status, type(n).__name__, n.m_source == srv.endpoint

        srv = sim.spawn("srv", server)
        sim.spawn("cli", client)
        await sim.wait("cli")
        k.shutdown()
    assert sim.results["cli"] == (42, CALL_SEND, "Notify", True)


@both_backends
async def test_server_sees_sendrec_status():
    async with Kernel() as k:
        sim = Sim(k)

        async def server(p):
            m = await p.receive(ANY)
            status = p.status
            await p.send(m.m_source, Reply(0))
            return status

        srv = sim.spawn("srv", server)
        sim.spawn("cli", lambda p: p.sendrec(srv.endpoint, Ping()))
        await sim.wait("srv", "cli")
        k.shutdown()
    assert sim.results["srv"] == CALL_SENDREC


@both_backends
async def test_notifications_coalesce():
    async with Kernel() as k:
        sim = Sim(k)

        async def server(p):
            await p.sleep(1 * UNIT.s)
            first = await p.receive(ANY)
            with pytest.raises(KernelError) as exc:
                await p.receive_nb(ANY)
            return type(first).__name__, exc.value.errno

        async def notifier(p):
            for _ in range(3):
                await p.notify(srv.endpoint)
            await p.sleep(5 * UNIT.s)

        srv = sim.spawn("srv", server)
        sim.spawn("n", notifier)
        await sim.wait("srv")
        k.shutdown()
    assert sim.results["srv"] == ("Notify", errors.ENOTREADY)


@both_backends
async def test_sendnb_fails_when_not_receiving():
    async with Kernel() as k:
        sim = Sim(k)

        async def idle(p):
            await p.sleep(10 * UNIT.s)

        async def sender(p):
            with pytest.raises(KernelError) as exc:
                await p.sendnb(dst.endpoint, Ping())
            return exc.value.errno

        dst = sim.spawn("dst", idle)
        sim.spawn("snd", sender)
        await sim.wait("snd")
        k.shutdown()
    assert sim.results["snd"] == errors.ENOTREADY


@both_backends
async def test_two_way_send_fails_with_elocked():
    async with Kernel() as k:
        sim = Sim(k)

        async def a(p):
            await p.send(pb.endpoint, Ping(1))  # blocks: b is not receiving

        async def b(p):
            with pytest.raises(KernelError) as exc:
                await p.send(pa.endpoint, Ping(2))
            return exc.value.errno

        pa = sim.spawn("a", a)
        pb = sim.spawn("b", b)
        await sim.wait("b")
        k.shutdown()
    assert sim.results["b"] == errors.ELOCKED


@both_backends
async def test_three_cycle_fails_with_elocked():
    async with Kernel() as k:
        sim = Sim(k)
        procs = {}

        async def node(p, nxt):
            try:
                await p.sendrec(procs[nxt].endpoint, Ping())
            except KernelError as exc:
                return exc.errno
            return 0

        procs["a"] = sim.spawn("a", lambda p: node(p, "b"))
        procs["b"] = sim.spawn("b", lambda p: node(p, "c"))
        procs["c"] = sim.spawn("c", lambda p: node(p, "a"))
        await sim.wait("c")
        k.shutdown()
    assert sim.results["c"] == errors.ELOCKED


@both_backends
async def test_send_to_self_fails_with_elocked():
    async with Kernel() as k:
        sim = Sim(k)

        async def me(p):
            codes = []
            for call in (lambda: p.send(SELF, Ping()), lambda: p.receive(SELF)):
                with pytest.raises(KernelError) as exc:
                    await call()
                codes.append(exc.value.errno)
            return codes

        sim.spawn("me", me)
        await sim.wait("me")
        k.shutdown()
    assert sim.results["me"] == [errors.ELOCKED, errors.ELOCKED]


@both_backends
async def test_bad_destinations_and_messages():
    async with Kernel() as k:
        sim = Sim(k)

        async def me(p):
            out = []
            for dst, msg in (
                (ANY, Ping()),
                (12345, Ping()),
                (NONE, Ping()),
                (other.endpoint, "junk"),
                (k.proc_at(CLOCK).endpoint, Ping()),
            ):
                with pytest.raises(KernelError) as exc:
                    await p.send(dst, msg)
                out.append(exc.value.errno)
            return out

        other = sim.spawn("other", lambda p: p.sleep(5 * UNIT.s))
        sim.spawn("me", me)
        await sim.wait("me")
        k.shutdown()
    assert sim.results["me"] == [
        errno.EINVAL,
        errors.EDEADSRCDST,
        errors.EDEADSRCDST,
        errno.EINVAL,
        errors.ETRAPDENIED,
    ]


@both_backends
async def test_stale_endpoint_never_reaches_new_instance():
    async with Kernel() as k:
        sim = Sim(k)
        first = sim.spawn("svc", lambda p: p.receive(ANY), slot=40)
        old = first.endpoint
        await anyio_sleep(1 * UNIT.s)
        k.clear(old)
        second = sim.spawn("svc2", lambda p: p.receive(ANY), slot=40)
        assert second.endpoint != old
        assert second.slot == first.slot

        async def client(p):
            with pytest.raises(KernelError) as exc:
                await p.send(old, Ping())
            await p.send(second.endpoint, Ping(5))
            return exc.value.errno

        sim.spawn("cli", client)
        await sim.wait("cli", "svc2")
        k.shutdown()
    assert sim.results["cli"] == errors.EDEADSRCDST
    assert sim.results["svc2"].n == 5


async def anyio_sleep(t):
    import anyio

    await anyio.sleep(t)


@both_backends
async def test_crashing_partner_fails_blocked_callers_and_tells_manager():
    async with Kernel() as k:
        sim = Sim(k)

        async def manager(p):
            m = await p.receive(ANY)
            assert isinstance(m, Notify)
            ep, sigs = await p.getksig()
            await p.clear(ep)
            return m.m_source, m.signals, ep, sigs

        async def crasher(p):
            await p.receive(ANY)
            raise RuntimeError("driver bug")

        async def client(p):
            with pytest.raises(KernelError) as exc:
                await p.sendrec(bad.endpoint, Ping())
            return exc.value.errno

        async def waiter(p):
            with pytest.raises(KernelError) as exc:
                await p.receive(bad.endpoint)
            return exc.value.errno

        mgr = sim.spawn("mgr", manager)
        bad = sim.spawn("bad", crasher, sig_mgr=mgr.endpoint, catch=False)
        sim.spawn("waiter", waiter)
        sim.spawn("cli", client)
        await sim.wait("cli", "waiter", "mgr")
        k.shutdown()
    import signal

    assert sim.results["cli"] == errors.EDEADSRCDST
    assert sim.results["waiter"] == errors.EDEADSRCDST
    src, ksigs, ep, sigs = sim.results["mgr"]
    assert src == k.proc_at(SYSTEM).endpoint
    assert ksigs == 1 << SIGKSIG
    assert ep == bad.endpoint
    assert sigs == 1 << signal.SIGSEGV
    assert k.proc_at(bad.slot) is None


@both_backends
async def test_queued_sender_dropped_when_it_dies():
    async with Kernel() as k:
        sim = Sim(k)

        async def server(p):
            await p.sleep(2 * UNIT.s)
            return (await p.receive(ANY)).n

        srv = sim.spawn("srv", server)
        doomed = sim.spawn("doomed", lambda p: p.send(srv.endpoint, Ping(1)))
        sim.spawn("later", lambda p: p.send(srv.endpoint, Ping(2)))
        await anyio_sleep(1 * UNIT.s)
        k.kill(doomed, 9)
        await sim.wait("srv")
        k.shutdown()
    assert sim.results["srv"] == 2


@both_backends
async def test_user_privileges():
    async with Kernel() as k:
        sim = Sim(k)

        async def server(p):
            m = await p.receive(ANY)
            await p.send(m.m_source, Reply(1))

        async def user(p):
            out = []
            for call in (
                lambda: p.send(srv.endpoint, Ping()),
                lambda: p.notify(srv.endpoint),
                lambda: p.receive(ANY),
                lambda: p.sendrec(other.endpoint, Ping()),
                lambda: p.senda(srv.endpoint, Ping()),
                lambda: p.setalarm(1.0),
            ):
                with pytest.raises(KernelError) as exc:
                    await call()
                out.append(exc.value.errno)
            out.append((await p.sendrec(srv.endpoint, Ping())).status)
            return out

        srv = sim.spawn("srv", server)
        other = sim.spawn("other", lambda p: p.sleep(5 * UNIT.s))
        sim.spawn("user", user, priv=USER_PRIV.allowing(srv.slot))
        await sim.wait("user")
        k.shutdown()
    assert not sim.errors, sim.errors
    assert sim.results["user"] == [
        errors.ETRAPDENIED,
        errors.ETRAPDENIED,
        errors.ETRAPDENIED,
        errors.ECALLDENIED,
        errno.EPERM,
        errors.ECALLDENIED,
        1,
    ]


@both_backends
async def test_senda_queues_in_order_and_notifies():
    async with Kernel() as k:
        sim = Sim(k)

        async def server(p):
            await p.sleep(1 * UNIT.s)
            return [(await p.receive(ANY)).n for _ in range(3)]

        async def sender(p):
            entries = [await p.senda(srv.endpoint, Ping(n), AMF_NOTIFY) for n in range(3)]
            before = [e.done for e in entries]
            notes = [await p.receive(ANY) for _ in range(1)]
            return before, [e.done for e in entries], notes[0].m_source

        srv = sim.spawn("srv", server)
        sim.spawn("snd", sender)
        await sim.wait("srv", "snd")
        k.shutdown()
    assert sim.results["srv"] == [0, 1, 2]
    before, after, src = sim.results["snd"]
    assert before == [False] * 3
    assert after == [True] * 3
    assert src == k.proc_at(ASYNCM).endpoint


@both_backends
async def test_senda_noreply_held_back_during_sendrec():
    async with Kernel() as k:
        sim = Sim(k)

        async def server(p):
            m = await p.receive(ANY)  # the client's request
            await p.senda(m.m_source, Ping(99), AMF_NOREPLY)
            await p.send(m.m_source, Reply(1))
            await p.sleep(5 * UNIT.s)  # a dead sender's queued messages are dropped

        async def client(p):
            r = await p.sendrec(srv.endpoint, Ping())
            late = await p.receive(ANY)
            return r.status, late.n

        srv = sim.spawn("srv", server)
        sim.spawn("cli", client)
        await sim.wait("cli")
        k.shutdown()
    assert sim.results["cli"] == (1, 99)


@both_backends
async def test_senda_to_dead_destination_is_cancelled():
    async with Kernel() as k:
        sim = Sim(k)

        async def sender(p):
            entry = await p.senda(dst.endpoint, Ping(), AMF_NOTIFY)
            await p.sleep(2 * UNIT.s)
            return entry.done, entry.result

        dst = sim.spawn("dst", lambda p: p.sleep(10 * UNIT.s))
        sim.spawn("snd", sender)
        await anyio_sleep(1 * UNIT.s)
        k.kill(dst, 9)
        await sim.wait("snd")
        k.shutdown()
    assert sim.results["snd"] == (True, errors.EDEADSRCDST)


async def test_alarm_notifies_from_clock_on_virtual_time(autojump_clock):
    async with Kernel() as k:
        sim = Sim(k)

        async def me(p):
            t0 = p.now()
            await p.setalarm(5.0)
            m = await p.receive(ANY)
            return m.m_source, p.now() - t0

        sim.spawn("me", me)
        await sim.wait("me")
        k.shutdown()
    src, elapsed = sim.results["me"]
    assert src == k.proc_at(CLOCK).endpoint
    assert elapsed == pytest.approx(5.0, abs=1e-3)


async def test_alarm_cancel_returns_time_left(autojump_clock):
    async with Kernel() as k:
        sim = Sim(k)

        async def me(p):
            await p.setalarm(5.0)
            await p.sleep(2.0)
            left = await p.setalarm(None)
            with pytest.raises(KernelError):
                await p.receive_nb(ANY)
            return left

        sim.spawn("me", me)
        await sim.wait("me")
        k.shutdown()
    assert sim.results["me"] == pytest.approx(3.0, abs=1e-3)


@both_backends
async def test_kernel_call_denied_without_privilege():
    async with Kernel() as k:
        sim = Sim(k)

        async def me(p):
            with pytest.raises(KernelError) as exc:
                await p.getksig()
            return exc.value.errno

        sim.spawn("me", me, priv=Priv(kcalls=frozenset({"setalarm"})))
        await sim.wait("me")
        k.shutdown()
    assert sim.results["me"] == errors.ECALLDENIED


async def test_alarm_fires_while_the_cpu_never_idles(autojump_clock):
    """On virtual time each kernel entry costs CPU time, so a busy system still sees time pass."""
    async with Kernel() as k:
        sim = Sim(k)

        async def spinner(p):
            await p.setalarm(0.01)
            for spins in range(1_000_000):
                try:
                    m = await p.receive_nb(ANY)
                except KernelError:
                    continue
                return m.m_source, spins
            return None

        sim.spawn("spin", spinner)
        await sim.wait("spin")
        k.shutdown()
    src, spins = sim.results["spin"]
    assert src == k.proc_at(CLOCK).endpoint
    assert 5_000 <= spins <= 10_000  # 1 µs per kernel entry, two entries per spin
