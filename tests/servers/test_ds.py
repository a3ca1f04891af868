"""DS on a bare kernel: publish/retrieve, ownership, overwrite, blobs, subscriptions, errors."""

from __future__ import annotations

import errno

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.com import DS_PROC_NR, RS_PROC_NR
from kernel.endpoint import ANY
from kernel.errors import KernelError
from kernel.grants import CPF_READ, CPF_WRITE
from kernel.kernel import Kernel
from kernel.message import Notify
from kernel.priv import USER_PRIV
from servers.ds import client
from servers.ds.main import make_ds
from servers.ds.protocol import (
    DS_MAX_KEYLEN,
    DS_MAX_MEM,
    DSF_INITIAL,
    DSF_OVERWRITE,
    DSF_TYPE_LABEL,
    DSF_TYPE_MEM,
    DSF_TYPE_U32,
    DsCheck,
    DsDelete,
    DsPublishMem,
    DsPublishU32,
    DsReply,
    DsRetrieveLabel,
    DsRetrieveMem,
    DsRetrieveU32,
    DsSubscribe,
)
from tests.support import Ping, Sim


async def _errno(coro):
    with pytest.raises(KernelError) as exc:
        await coro
    return exc.value.errno


async def _with_ds(*clients, user=()):
    """Run DS and the given ``(name, fn)`` clients until they finish; return (ds, sim)."""
    async with Kernel() as k:
        sim = Sim(k)
        ds = make_ds()
        k.spawn("ds", ds, slot=DS_PROC_NR)
        for name, fn in clients:
            sim.spawn(name, fn)
        for name, fn in user:
            sim.spawn(name, fn, priv=USER_PRIV.allowing(DS_PROC_NR))
        await sim.wait(*(n for n, _ in (*clients, *user)))
        k.shutdown()
    assert ds.bugs == []
    assert sim.errors == {}
    return ds, sim


async def test_publish_and_retrieve_label_u32_mem(autojump_clock):
    async def svc(p):
        await client.ds_publish_label(p, "hello", 1234)
        await client.ds_publish_u32(p, "drv.chr.hello", 1)
        await client.ds_publish_mem(p, "blob", b"state bytes")
        return (
            await client.ds_retrieve_label(p, "hello"),
            await client.ds_retrieve_label_name(p, 1234),
            await client.ds_retrieve_u32(p, "drv.chr.hello"),
            await client.ds_retrieve_mem(p, "blob"),
            await client.ds_retrieve_mem(p, "blob", 5),
            await _errno(client.ds_retrieve_label(p, "nope")),
            await _errno(client.ds_retrieve_u32(p, "nope")),
            await _errno(client.ds_retrieve_mem(p, "nope", 4)),
            await _errno(client.ds_retrieve_label_name(p, 999)),
            await _errno(client.ds_retrieve_u32(p, "hello")),  # a label, not a u32
        )

    _, sim = await _with_ds(("svc", svc))
    assert sim.results["svc"] == (
        1234,
        "hello",
        1,
        b"state bytes",
        b"state",
        errno.ESRCH,
        errno.ENOENT,
        errno.ENOENT,
        errno.ENOENT,
        errno.EINVAL,
    )


async def test_retrieve_mem_reports_full_length_and_empty_blob(autojump_clock):
    async def svc(p):
        await client.ds_publish_mem(p, "empty", b"")
        await client.ds_publish_mem(p, "big", bytes(range(256)) * 4)
        buf = bytearray(10)
        gid = p.grant_buffer(DS_PROC_NR, buf, CPF_WRITE)
        reply = await p.sendrec(DS_PROC_NR, DsRetrieveMem("big", gid, 10))
        return reply.status, reply.value, bytes(buf), await client.ds_retrieve_mem(p, "empty")

    _, sim = await _with_ds(("svc", svc))
    assert sim.results["svc"] == (0, 1024, bytes(range(10)), b"")


async def test_ownership_and_overwrite(autojump_clock):
    order = []

    async def owner(p):
        await client.ds_publish_u32(p, "k", 1)
        e1 = await _errno(client.ds_publish_u32(p, "k", 2))  # no DSF_OVERWRITE
        await client.ds_publish_u32(p, "k", 3, DSF_OVERWRITE)
        e2 = await _errno(client.ds_publish_label(p, "k", 7, DSF_OVERWRITE))  # other type
        order.append("owner")
        await p.sleep(2)
        return e1, e2

    async def other(p):
        await p.sleep(1)
        e1 = await _errno(client.ds_publish_u32(p, "k", 9, DSF_OVERWRITE))
        e2 = await _errno(client.ds_delete(p, "k"))
        return e1, e2, await client.ds_retrieve_u32(p, "k")

    ds, sim = await _with_ds(("owner", owner), ("other", other))
    assert sim.results["owner"] == (errno.EEXIST, errno.EINVAL)
    assert sim.results["other"] == (errno.EPERM, errno.EPERM, 3)
    assert ds.store.entries["k"].owner == "owner"


async def test_delete_by_owner_and_by_rs(autojump_clock):
    async def owner(p):
        await client.ds_publish_u32(p, "a", 1)
        await client.ds_publish_u32(p, "b", 2)
        await client.ds_delete(p, "a")
        return await _errno(client.ds_retrieve_u32(p, "a")), await _errno(client.ds_delete(p, "a"))

    async def rs(p):
        await p.sleep(1)
        await client.ds_delete(p, "b")  # RS may delete any key
        return await _errno(client.ds_retrieve_u32(p, "b"))

    async with Kernel() as k:
        sim = Sim(k)
        ds = make_ds()
        k.spawn("ds", ds, slot=DS_PROC_NR)
        sim.spawn("owner", owner)
        sim.spawn("rs", rs, slot=RS_PROC_NR)
        await sim.wait("owner", "rs")
        k.shutdown()
    assert sim.results == {"owner": (errno.ENOENT, errno.ENOENT), "rs": errno.ENOENT}
    assert ds.bugs == []


async def test_user_processes_may_not_publish_but_may_retrieve(autojump_clock):
    async def svc(p):
        await client.ds_publish_u32(p, "x", 42)

    async def user(p):
        await p.sleep(1)
        out = []
        for msg in (DsPublishU32("y", 1), DsDelete("x"), DsSubscribe("x"), DsRetrieveU32("x")):
            reply = await p.sendrec(DS_PROC_NR, msg)
            out.append((reply.status, reply.value))
        return out

    ds, sim = await _with_ds(("svc", svc), user=[("user", user)])
    assert sim.results["user"] == [(errno.EPERM, 0)] * 3 + [(0, 42)]
    assert "y" not in ds.store.entries


async def test_subscribe_notify_and_check_one_key_at_a_time(autojump_clock):
    async def watcher(p):
        await client.ds_subscribe(p, r"drv\.chr\..*")
        await p.send(pub_proc.endpoint, Ping(1))  # subscribed: go on
        seen = []
        while len(seen) < 3:
            m = await p.receive(ANY)
            assert isinstance(m, Notify) and m.m_source == DS_PROC_NR
            while (changed := await client.ds_check(p)) is not None:
                seen.append(changed)
        return seen

    async def pub(p):
        await p.receive(ANY)
        await client.ds_publish_u32(p, "drv.chr.tty", 1)
        await client.ds_publish_u32(p, "other", 1)  # does not match
        await client.ds_publish_label(p, "drv.chr.hello", 77)
        await p.sleep(1)
        await client.ds_publish_u32(p, "drv.chr.tty", 2, DSF_OVERWRITE)

    async with Kernel() as k:
        sim = Sim(k)
        ds = make_ds()
        k.spawn("ds", ds, slot=DS_PROC_NR)
        sim.spawn("watcher", watcher)
        pub_proc = sim.spawn("pub", pub)
        await sim.wait("watcher", "pub")
        k.shutdown()
    assert sim.errors == {}
    assert sim.results["watcher"] == [
        ("drv.chr.tty", DSF_TYPE_U32),
        ("drv.chr.hello", DSF_TYPE_LABEL),
        ("drv.chr.tty", DSF_TYPE_U32),
    ]


async def test_subscribe_initial_reports_existing_keys(autojump_clock):
    async def svc(p):
        await client.ds_publish_u32(p, "drv.chr.a", 1)
        await client.ds_publish_mem(p, "drv.blk.b", b"x")
        await client.ds_subscribe(p, r"drv\..*", DSF_INITIAL)
        m = await p.receive(ANY)
        keys = []
        while (changed := await client.ds_check(p)) is not None:
            keys.append(changed)
        return isinstance(m, Notify), keys

    _, sim = await _with_ds(("svc", svc))
    assert sim.results["svc"] == (True, [("drv.chr.a", DSF_TYPE_U32), ("drv.blk.b", DSF_TYPE_MEM)])


async def test_check_without_subscription_and_deleted_keys_are_skipped(autojump_clock):
    async def svc(p):
        e = (await p.sendrec(DS_PROC_NR, DsCheck())).status
        await client.ds_subscribe(p, "k.*")
        await client.ds_publish_u32(p, "k1", 1)
        await client.ds_publish_u32(p, "k2", 2)
        await client.ds_delete(p, "k1")
        return e, await client.ds_check(p), await client.ds_check(p)

    _, sim = await _with_ds(("svc", svc))
    assert sim.results["svc"] == (errno.ENOENT, ("k2", DSF_TYPE_U32), None)


async def test_dead_subscriber_is_dropped(autojump_clock):
    async def sub(p):
        await client.ds_subscribe(p, "k")

    async def pub(p):
        await p.sleep(1)
        await client.ds_publish_u32(p, "k", 1)
        return "ok"

    ds, sim = await _with_ds(("sub", sub), ("pub", pub))
    assert sim.results["pub"] == "ok"
    assert ds.store.subs == {}


async def test_bad_input_never_crashes_ds(autojump_clock):
    async def svc(p):
        buf = bytearray(8)
        gid = p.grant_buffer(DS_PROC_NR, buf, CPF_READ)
        cases = [
            DsPublishU32("x" * (DS_MAX_KEYLEN + 1), 1),
            DsPublishU32("", 1),
            DsPublishU32("v", 1 << 32),
            DsPublishU32("v", -1),
            DsPublishU32(None, 1),  # type: ignore[arg-type]
            DsPublishU32("v", "1"),  # type: ignore[arg-type]
            DsSubscribe("(unclosed"),
            DsSubscribe("x" * (DS_MAX_KEYLEN + 1)),
            DsSubscribe(None),  # type: ignore[arg-type]
            DsPublishMem("m", gid, DS_MAX_MEM + 1),
            DsPublishMem("m", gid, -1),
            DsPublishMem("m", gid, 16),  # longer than the grant
            DsPublishMem("m", 999999, 4),  # no such grant
            DsRetrieveMem("m", gid, 4),  # no such key
            DsRetrieveLabel(42),  # type: ignore[arg-type]
            Ping(3),  # not a DS request at all
        ]
        out = []
        for msg in cases:
            reply = await p.sendrec(DS_PROC_NR, msg)
            assert isinstance(reply, DsReply)
            out.append(reply.status)
        await client.ds_publish_mem(p, "m", b"abc")
        # A retrieval into a read-only grant fails with the copy's errno.
        reply = await p.sendrec(DS_PROC_NR, DsRetrieveMem("m", gid, 3))
        out.append(reply.status)
        await p.notify(DS_PROC_NR)  # ignored
        out.append(await client.ds_retrieve_mem(p, "m"))
        return out

    _, sim = await _with_ds(("svc", svc))
    e = errno
    assert sim.results["svc"] == [
        *[e.EINVAL] * 6,
        *[e.EINVAL] * 3,
        e.E2BIG,
        e.EINVAL,
        e.EPERM,  # the copy's errno: past the grant's end
        e.EPERM,  # the copy's errno: no such grant
        e.ENOENT,
        e.EINVAL,
        e.ENOSYS,
        e.EPERM,
        b"abc",
    ]


def _junk(rng):
    return rng.choice(
        [None, -1, 0, 1, 2**40, "", "k", "drv.chr.x", "(", "x" * 100, b"b", 1.5, True]
    )


def _random_messages(rng, n):
    kinds = [
        DsPublishU32,
        DsPublishMem,
        DsRetrieveLabel,
        DsRetrieveU32,
        DsRetrieveMem,
        DsDelete,
        DsSubscribe,
        DsCheck,
    ]
    from servers.ds.protocol import DsPublishLabel, DsRetrieveLabelName

    kinds += [DsPublishLabel, DsRetrieveLabelName]
    out = []
    for _ in range(n):
        kind = rng.choice(kinds)
        nfields = len(kind.__dataclass_fields__)
        out.append(kind(*[_junk(rng) for _ in range(nfields)]))
    return out


@given(st.integers(0, 2**32))
@settings(max_examples=25, deadline=None)
def test_random_requests_never_break_ds(seed):
    import random

    import trio
    from trio.testing import MockClock

    msgs = _random_messages(random.Random(seed), 40)

    async def svc(p):
        statuses = []
        for msg in msgs:
            reply = await p.sendrec(DS_PROC_NR, msg)
            assert isinstance(reply, DsReply)
            statuses.append(reply.status)
        await client.ds_publish_u32(p, "still.alive", 1, DSF_OVERWRITE)
        return statuses, await client.ds_retrieve_u32(p, "still.alive")

    async def main():
        _, sim = await _with_ds(("svc", svc))
        statuses, alive = sim.results["svc"]
        assert alive == 1 and len(statuses) == len(msgs)

    trio.run(main, clock=MockClock(autojump_threshold=0))
