"""RS on a bare kernel (with DS and a stand-in VFS), and on a booted system via kill_service.

Toy services count the Pings they receive and save the count in DS after each one,
so a restarted or updated instance shows whether it got its predecessor's state.
"""

from __future__ import annotations

import errno
import itertools
import signal
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.com import DS_PROC_NR, RS_PROC_NR, VFS_PROC_NR
from kernel.endpoint import ANY, endpoint_generation, endpoint_slot
from kernel.kernel import Kernel
from kernel.policy import make_policy
from kernel.priv import USER_PRIV
from servers.ds import client
from servers.ds.main import make_ds
from servers.ds.protocol import DSF_TYPE_MEM
from servers.ds.store import Entry
from servers.rs.host import KillServiceRequest, RsHostMailbox
from servers.rs.main import BACKOFF, DOWN, RUNNING, RsConfig, make_rs
from servers.rs.protocol import (
    SEF_INIT_FRESH,
    SEF_INIT_LU,
    SEF_INIT_RESTART,
    RsDown,
    RsLookup,
    RsRefresh,
    RsReply,
    RsRestart,
    RsUp,
    RsUpdate,
    state_key,
)
from servers.rs.sef import (
    sef_handle,
    sef_init_done,
    sef_receive,
    sef_restore_state,
    sef_save_state,
    sef_startup,
)
from servers.rs.service import ServiceSpec
from tests.support import Ping, Sim
from vfs.protocol import VfsMapdriver, VfsServiceDown


@dataclass
class Toy:
    """A toy service's knobs, and what its instances saw."""

    starts: list[tuple[int, int, int]] = field(default_factory=list)
    init_status: int = 0
    answer_init: bool = True
    hang_after_init: bool = False
    crash_after_init: bool = False
    init_delay: float = 0.0

    def factory(self):
        async def main(p):
            init = await sef_startup(p)
            saved = await sef_restore_state(p, init)
            count = int(saved) if saved else 0
            self.starts.append((init.init_type, p.endpoint, count))
            if not self.answer_init:
                await p.sleep(1000)
            if self.init_delay:
                await p.sleep(self.init_delay)
            await sef_init_done(p, self.init_status)
            if self.crash_after_init:
                raise RuntimeError("toy crash")
            if self.hang_after_init:
                await p.sleep(1000)  # never answers a heartbeat
            while True:
                m = await p.receive(ANY)
                if await sef_handle(p, m):
                    continue
                if isinstance(m, Ping):
                    count += m.n
                    await sef_save_state(p, init.label, str(count).encode())
                    await p.send(m.m_source, Ping(count))

        return main


def fake_vfs(log: list[Any]):
    async def vfs(p):
        while True:
            m = await p.receive(ANY)
            if isinstance(m, VfsMapdriver):
                log.append(("map", m.label, m.major, m.endpoint))
            elif isinstance(m, VfsServiceDown):
                log.append(("down", m.endpoint))

    return vfs


@dataclass
class Run:
    rs: Any
    ds: Any
    sim: Sim
    vfs: list[Any]


async def _run(specs, clients=(), *, user=(), vfs=True, policy="fifo", seed=0) -> Run:
    async with Kernel(policy=make_policy(policy, seed)) as k:
        sim = Sim(k)
        ds = make_ds()
        k.spawn("ds", ds, slot=DS_PROC_NR)
        vfs_log: list[Any] = []
        if vfs:
            k.spawn("vfs", fake_vfs(vfs_log), slot=VFS_PROC_NR)
        rs = make_rs(
            RsConfig(services=specs, host=RsHostMailbox(), vfs=VFS_PROC_NR if vfs else None)
        )
        k.spawn("rs", rs, slot=RS_PROC_NR)
        for name, fn in clients:
            sim.spawn(name, fn)
        for name, fn in user:
            sim.spawn(name, fn, priv=USER_PRIV.allowing(RS_PROC_NR))
        await sim.wait(*(n for n, _ in (*clients, *user)))
        k.shutdown()
    assert sim.errors == {}
    assert rs.rs.bugs == []
    assert ds.bugs == []
    return Run(rs.rs, ds, sim, vfs_log)


async def rs_call(p, msg) -> tuple[int, int]:
    reply = await p.sendrec(RS_PROC_NR, msg)
    assert isinstance(reply, RsReply)
    return reply.status, reply.value


async def wait_up(p, label: str, *, not_ep: int | None = None) -> int:
    """Poll RsLookup until ``label`` runs (at an endpoint other than ``not_ep``)."""
    for _ in range(1000):
        status, ep = await rs_call(p, RsLookup(label))
        if status == 0 and ep != not_ep:
            return ep
        await p.sleep(0.05)
    raise AssertionError(f"{label} never came up")


async def ping(p, ep: int, n: int = 1) -> int:
    await p.send(ep, Ping(n))
    return (await p.receive(ep)).n


POLICIES = pytest.mark.parametrize(("policy", "seed"), [("fifo", 0), ("random", 3), ("pct", 4)])


@POLICIES
async def test_start_publish_map_then_crash_restart_with_new_endpoint_and_state(
    autojump_clock, policy, seed
):
    toy = Toy()

    async def test(p):
        ep1 = await wait_up(p, "toy")
        assert await client.ds_retrieve_label(p, "toy") == ep1
        for _ in range(3):
            await ping(p, ep1)
        await p.kill(ep1, signal.SIGSEGV)  # a fault
        ep2 = await wait_up(p, "toy", not_ep=ep1)
        label_ep = await client.ds_retrieve_label(p, "toy")
        return ep1, ep2, label_ep, await ping(p, ep2, 10)

    run = await _run(
        [ServiceSpec("toy", toy.factory, major=42)], [("test", test)], policy=policy, seed=seed
    )
    ep1, ep2, label_ep, count = run.sim.results["test"]
    assert ep2 != ep1 and label_ep == ep2
    assert endpoint_slot(ep2) == endpoint_slot(ep1)  # the slot is reused ...
    assert endpoint_generation(ep2) == endpoint_generation(ep1) + 1  # ... with a new generation
    assert toy.starts == [(SEF_INIT_FRESH, ep1, 0), (SEF_INIT_RESTART, ep2, 3)]
    assert count == 13
    assert run.vfs == [("map", "toy", 42, ep1), ("down", ep1), ("map", "toy", 42, ep2)]
    rp = run.rs.services["toy"]
    assert rp.state == RUNNING and rp.crashes == 1
    assert [e for _, e, _, _ in rp.history] == ["start", "up", "died", "start", "up"]
    assert rp.history[2][3] == 1 << signal.SIGSEGV


async def test_restart_works_without_vfs(autojump_clock):
    toy = Toy()

    async def test(p):
        ep1 = await wait_up(p, "toy")
        await p.kill(ep1, signal.SIGSEGV)
        return await wait_up(p, "toy", not_ep=ep1)

    await _run([ServiceSpec("toy", toy.factory, major=1)], [("test", test)], vfs=False)
    assert [t for t, _, _ in toy.starts] == [SEF_INIT_FRESH, SEF_INIT_RESTART]


async def test_hung_service_is_killed_and_restarted(autojump_clock):
    toy = Toy(hang_after_init=True)

    async def test(p):
        ep1 = await wait_up(p, "hung")
        t0 = p.now()
        ep2 = await wait_up(p, "hung", not_ep=ep1)
        return p.now() - t0, ep1, ep2

    run = await _run([ServiceSpec("hung", toy.factory)], [("test", test)])
    elapsed, _ep1, _ep2 = run.sim.results["test"]
    assert 2.0 < elapsed <= 3.5  # missed more than two periods, noticed at the next tick
    events = [e for _, e, _, _ in run.rs.services["hung"].history]
    assert events[:5] == ["start", "up", "hung", "died", "start"]


async def test_answering_service_is_not_killed_by_heartbeats(autojump_clock):
    toy = Toy()

    async def test(p):
        ep = await wait_up(p, "toy")
        await p.sleep(20)
        return ep, await wait_up(p, "toy")

    run = await _run([ServiceSpec("toy", toy.factory)], [("test", test)])
    ep1, ep2 = run.sim.results["test"]
    assert ep1 == ep2 and len(toy.starts) == 1


async def test_backoff_grows_for_a_service_that_keeps_crashing(autojump_clock):
    toy = Toy(crash_after_init=True)

    async def test(p):
        await p.sleep(30)

    run = await _run([ServiceSpec("crashy", toy.factory)], [("test", test)])
    rp = run.rs.services["crashy"]
    starts = [t for t, e, _, _ in rp.history if e == "start"]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(gaps) >= 5
    assert gaps[0] < 0.01  # the first restart is immediate
    assert 0 < gaps[1] <= 1.01  # then the next tick
    assert 1 < gaps[2] <= 2.01
    assert 3 < gaps[3] <= 4.01
    assert 7 < gaps[4] <= 8.01
    assert rp.state in (BACKOFF, RUNNING) or rp.state == "starting"


async def test_down_stops_for_good(autojump_clock):
    toy = Toy()

    async def test(p):
        ep = await wait_up(p, "toy")
        down = await rs_call(p, RsDown("toy"))
        await p.sleep(10)
        return (
            ep,
            down,
            await rs_call(p, RsLookup("toy")),
            await rs_call(p, RsDown("toy")),
            p.kernel.find(ep) is None,
        )

    run = await _run([ServiceSpec("toy", toy.factory, major=3)], [("test", test)])
    ep, down, lookup, again, gone = run.sim.results["test"]
    assert down == (0, 0) and lookup == (errno.ESRCH, 0) and again == (errno.ESRCH, 0) and gone
    assert len(toy.starts) == 1
    assert "toy" not in run.ds.store.entries
    assert run.vfs[-1] == ("down", ep)
    assert run.rs.services["toy"].state == DOWN


async def test_up_restart_refresh(autojump_clock):
    toy = Toy()

    async def test(p):
        up = await rs_call(p, RsUp("toy"))  # boot=False: not started yet
        ep1 = up[1]
        await ping(p, ep1, 5)
        busy = await rs_call(p, RsUp("toy"))
        restarted = await rs_call(p, RsRestart("toy"))
        await ping(p, restarted[1], 1)
        refreshed = await rs_call(p, RsRefresh("toy"))
        return up, busy, restarted, refreshed, await ping(p, refreshed[1], 1)

    spec = ServiceSpec("toy", toy.factory, boot=False)
    run = await _run([spec], [("test", test)])
    up, busy, restarted, refreshed, last = run.sim.results["test"]
    assert up[0] == 0 and busy == (errno.EBUSY, 0) and restarted[0] == 0 and refreshed[0] == 0
    assert [(t, c) for t, _, c in toy.starts] == [
        (SEF_INIT_FRESH, 0),
        (SEF_INIT_RESTART, 5),
        (SEF_INIT_FRESH, 0),  # refresh: the saved state is discarded
    ]
    assert last == 1
    assert run.rs.services["toy"].crashes == 0  # asked for, not crashes


@POLICIES
async def test_update_hands_state_over_and_old_instance_is_not_a_crash(
    autojump_clock, policy, seed
):
    toy = Toy()

    async def test(p):
        ep1 = await wait_up(p, "toy")
        await ping(p, ep1, 7)
        status, ep2 = await rs_call(p, RsUpdate("toy"))
        return ep1, status, ep2, p.kernel.find(ep1) is None, await ping(p, ep2, 1)

    run = await _run([ServiceSpec("toy", toy.factory)], [("test", test)], policy=policy, seed=seed)
    ep1, status, ep2, old_gone, count = run.sim.results["test"]
    assert status == 0 and ep2 != ep1 and old_gone and count == 8
    assert toy.starts == [(SEF_INIT_FRESH, ep1, 0), (SEF_INIT_LU, ep2, 7)]
    rp = run.rs.services["toy"]
    assert "died" not in [e for _, e, _, _ in rp.history] and rp.crashes == 0


async def test_failed_update_rolls_back_to_the_old_instance(autojump_clock):
    toy = Toy()

    async def test(p):
        ep1 = await wait_up(p, "toy")
        await ping(p, ep1, 2)
        toy.init_status = errno.EINVAL  # the new instance refuses to start
        result = await rs_call(p, RsUpdate("toy"))
        return ep1, result, await rs_call(p, RsLookup("toy")), await ping(p, ep1, 1)

    run = await _run([ServiceSpec("toy", toy.factory)], [("test", test)])
    ep1, result, lookup, count = run.sim.results["test"]
    assert result == (errno.EINVAL, 0) and lookup == (0, ep1) and count == 3


async def test_failed_init_is_not_retried(autojump_clock):
    bad = Toy(init_status=errno.ENODEV)
    silent = Toy(answer_init=False)

    async def test(p):
        await p.sleep(10)
        return (
            await rs_call(p, RsLookup("bad")),
            await rs_call(p, RsUp("bad")),
            await rs_call(p, RsLookup("silent")),
        )

    specs = [ServiceSpec("bad", bad.factory), ServiceSpec("silent", silent.factory)]
    run = await _run(specs, [("test", test)])
    lookup_bad, up_bad, lookup_silent = run.sim.results["test"]
    assert lookup_bad == (errno.ESRCH, 0) and up_bad == (errno.ENODEV, 0)
    assert lookup_silent == (errno.ESRCH, 0)
    assert len(bad.starts) == 2 and len(silent.starts) == 1  # once at boot, once by RsUp
    assert run.rs.services["silent"].last_status == errno.ETIMEDOUT
    assert run.rs.services["bad"].state == DOWN


async def test_control_errors_and_permissions(autojump_clock):
    toy = Toy()

    async def sysclient(p):
        await wait_up(p, "toy")
        return [
            await rs_call(p, RsUp("nosuch")),
            await rs_call(p, RsRestart("nosuch")),
            await rs_call(p, RsLookup("nosuch")),
            await rs_call(p, RsLookup(None)),  # type: ignore[arg-type]
            await rs_call(p, RsDown(7)),  # type: ignore[arg-type]
            await rs_call(p, Ping(1)),
        ]

    async def user(p):
        await p.sleep(1)
        return [
            await rs_call(p, RsUp("toy")),
            await rs_call(p, RsDown("toy")),
            (await rs_call(p, RsLookup("toy")))[0],
        ]

    run = await _run([ServiceSpec("toy", toy.factory)], [("sys", sysclient)], user=[("user", user)])
    e = errno
    assert run.sim.results["sys"] == [
        (e.ESRCH, 0),
        (e.ESRCH, 0),
        (e.ESRCH, 0),
        (e.EINVAL, 0),
        (e.EINVAL, 0),
        (e.ENOSYS, 0),
    ]
    assert run.sim.results["user"] == [(e.EPERM, 0), (e.EPERM, 0), 0]
    assert run.rs.services["toy"].state == RUNNING


async def test_sef_receive_hides_heartbeats(autojump_clock):
    got = []

    def factory():
        async def main(p):
            await sef_startup(p)
            await sef_init_done(p)
            while True:
                m = await sef_receive(p)
                got.append(type(m).__name__)
                await p.send(m.m_source, Ping(0))

        return main

    async def test(p):
        ep = await wait_up(p, "svc")
        await p.sleep(5)
        await ping(p, ep)
        await p.sleep(5)
        return await rs_call(p, RsLookup("svc"))

    run = await _run([ServiceSpec("svc", factory)], [("test", test)])
    assert got == ["Ping"]
    assert run.sim.results["test"][0] == 0
    assert len([e for _, e, _, _ in run.rs.services["svc"].history if e == "start"]) == 1


async def test_host_kill_service_request(autojump_clock):
    toy = Toy()
    mailbox = RsHostMailbox()

    async with Kernel() as k:
        k.spawn("ds", make_ds(), slot=DS_PROC_NR)
        rs = make_rs(RsConfig(services=[ServiceSpec("toy", toy.factory)], host=mailbox, vfs=None))
        rs_p = k.spawn("rs", rs, slot=RS_PROC_NR)
        await mailbox.services_up.wait()
        await anyio.sleep(1)
        req = KillServiceRequest(label="toy")
        mailbox.requests.append(req)
        k.interrupt(1, rs_p)
        await req.done.wait()
        bad = KillServiceRequest(label="nosuch")
        mailbox.requests.append(bad)
        k.interrupt(1, rs_p)
        await bad.done.wait()
        await anyio.sleep(1)
        k.shutdown()
    assert req.error is None and req.result == toy.starts[0][1]
    assert isinstance(bad.error, OSError) and bad.error.errno == errno.ESRCH
    assert [t for t, _, _ in toy.starts] == [SEF_INIT_FRESH, SEF_INIT_RESTART]


# -- on a booted system ------------------------------------------------------------------


async def test_kill_service_on_a_booted_system_restarts_the_driver(autojump_clock):
    import asynix
    from userland.libc.service import service

    seen = {}

    async def prog(argv):
        seen.setdefault("lookup", await service("lookup", argv[1]))
        for action in ("restart", "bogus"):
            try:
                seen[action, argv[2]] = await service(action, argv[1])
            except OSError as exc:
                seen[action, argv[2]] = exc.errno
        return 0

    async with asynix.boot() as system:
        rs = system.bodies["rs"].rs
        assert {"memory", "log", "hello"} <= set(rs.services)
        assert all(rp.state == RUNNING for rp in rs.services.values())
        old = rs.services["hello"].endpoint
        await system.kill_service("hello")
        assert system.kernel.find(old) is None  # the crash has happened
        await anyio.sleep(2)
        rp = rs.services["hello"]
        new = rp.endpoint
        assert rp.state == RUNNING and new != old
        assert endpoint_generation(new) == endpoint_generation(old) + 1
        assert rp.init_type == SEF_INIT_RESTART
        assert [e for _, e, _, _ in rp.history][-3:] == ["died", "start", "up"]
        assert rp.history[-3][3] == 1 << signal.SIGSEGV
        pid = await system.spawn(prog, ["prog", "hello", "user"], uid=100)
        assert await system.wait(pid) == 0
        pid = await system.spawn(prog, ["prog", "hello", "root"], uid=0)
        assert await system.wait(pid) == 0
        await anyio.sleep(1)
        restarted = rs.services["hello"].endpoint
        assert restarted != new  # root's restart took effect
        await anyio.sleep(10)  # heartbeats: every driver answers, none is taken for hung
        assert all(rp.state == RUNNING for rp in rs.services.values())
        assert [e for rp in rs.services.values() for _, e, _, _ in rp.history if e == "hung"] == []
        with pytest.raises(OSError) as exc:
            await system.kill_service("nosuch")
        assert exc.value.errno == errno.ESRCH
        assert system.bugs == []
    assert seen == {
        "lookup": new,
        ("restart", "user"): errno.EPERM,
        ("bogus", "user"): errno.EINVAL,
        ("restart", "root"): restarted,  # the new instance's endpoint
        ("bogus", "root"): errno.EINVAL,
    }


async def test_kill_service_hands_saved_state_to_the_new_instance(autojump_clock):
    import asynix

    toy = Toy()

    async def prog(argv):
        return 0

    async with asynix.boot(services=[ServiceSpec("toy", toy.factory)]) as system:
        rs = system.bodies["rs"].rs
        assert set(rs.services) == {"toy"} and rs.services["toy"].state == RUNNING
        # Give the toy some state through DS directly, as its own earlier instance would.
        ep1 = rs.services["toy"].endpoint
        store = system.bodies["ds"].store
        store.entries[state_key("toy")] = Entry(DSF_TYPE_MEM, "toy", 2, b"41")
        await system.kill_service("toy")
        await anyio.sleep(1)
        ep2 = rs.services["toy"].endpoint
        assert system.bugs == []
    assert toy.starts == [(SEF_INIT_FRESH, ep1, 0), (SEF_INIT_RESTART, ep2, 41)]


async def test_host_kill_of_a_starting_service_waits_for_its_init(autojump_clock):
    toy = Toy(init_delay=2.0)
    mailbox = RsHostMailbox()

    async with Kernel() as k:
        k.spawn("ds", make_ds(), slot=DS_PROC_NR)
        rs = make_rs(RsConfig(services=[ServiceSpec("toy", toy.factory)], host=mailbox, vfs=None))
        rs_p = k.spawn("rs", rs, slot=RS_PROC_NR)
        await anyio.sleep(0.5)  # the toy is still initialising
        req = KillServiceRequest(label="toy")
        mailbox.requests.append(req)
        k.interrupt(1, rs_p)
        await req.done.wait()
        killed_at = anyio.current_time()
        await anyio.sleep(5)
        k.shutdown()
    assert killed_at > 1.9 and req.error is None and req.result == toy.starts[0][1]
    assert [t for t, _, _ in toy.starts] == [SEF_INIT_FRESH, SEF_INIT_RESTART]
    assert rs.rs.services["toy"].state == RUNNING


@given(st.integers(0, 2**32))
@settings(max_examples=15, deadline=None)
def test_random_control_requests_never_break_rs(seed):
    import random

    import trio
    from trio.testing import MockClock

    from servers.rs.protocol import RsAlive, RsInitReply

    rng = random.Random(seed)
    kinds = [RsUp, RsDown, RsRestart, RsRefresh, RsUpdate, RsLookup]
    labels = ["toy", "toy", "toy", "nosuch", "", None, 5, 1.5]
    script = [(rng.choice([*kinds, RsInitReply, RsAlive]), rng.choice(labels)) for _ in range(25)]
    toy = Toy()

    async def test(p):
        for kind, label in script:
            if kind in (RsInitReply, RsAlive):
                await p.senda(RS_PROC_NR, kind(label) if kind is RsInitReply else kind())
                continue
            status, _ = await rs_call(p, kind(label))
            assert status >= 0
            await p.sleep(rng.choice([0, 0.3, 2]))
        await rs_call(p, RsUp("toy"))  # up again if a Down took it down
        ep = await wait_up(p, "toy")
        return await ping(p, ep, 1) >= 1

    async def main():
        run = await _run([ServiceSpec("toy", toy.factory)], [("test", test)])
        assert run.sim.results["test"] is True

    trio.run(main, clock=MockClock(autojump_threshold=0))


@pytest.mark.parametrize(("policy", "seed"), [("fifo", 0), ("random", 1), ("pct", 2)])
async def test_kill_service_end_to_end_through_vfs(autojump_clock, policy, seed):
    """An fd on the crashed driver fails with EIO (close works); a new open reaches the
    restarted instance, which carried its open counter over through DS."""
    import asynix
    from userland import libc
    from userland.libc.clock import sleep

    seen = {}

    async def holder(argv):
        fd = await libc.open("/dev/hello", libc.O_RDONLY)
        seen["first"] = await libc.read(fd, 100)
        await sleep(3)  # the host kills the driver meanwhile
        try:
            await libc.read(fd, 100)
        except OSError as exc:
            seen["stale"] = exc.errno
        await libc.close(fd)
        fd = await libc.open("/dev/hello", libc.O_RDONLY)
        seen["again"] = await libc.read(fd, 100)
        await libc.close(fd)
        return 0

    async with asynix.boot(policy=policy, seed=seed) as system:
        pid = await system.spawn(holder)
        await anyio.sleep(1)
        old = system.bodies["rs"].rs.services["hello"].body
        await system.kill_service("hello")
        assert await system.wait(pid) == 0
        rp = system.bodies["rs"].rs.services["hello"]
        assert rp.body is not old and rp.init_type == SEF_INIT_RESTART
        assert system.bugs == []
    assert seen == {"first": b"Hello, World!\n", "stale": errno.EIO, "again": b"Hello, World!\n"}
