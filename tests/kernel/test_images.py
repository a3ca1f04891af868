"""Kernel support for PM: fork entries, exec of a new image, user signal delivery."""

from __future__ import annotations

import errno

import pytest

from kernel.endpoint import ANY
from kernel.errors import KernelError
from kernel.kernel import Kernel
from kernel.message import Reply
from kernel.priv import USER_PRIV
from tests.support import Ping, Sim


async def test_fork_runs_the_parents_entry_stopped_until_resumed(autojump_clock):
    async with Kernel() as k:
        sim = Sim(k)
        log = []

        async def pm(p):
            m = await p.receive(ANY)
            child = await p.fork(m.m_source)
            log.append(("forked", k.find(child).name, child))
            await p.sleep(1)
            log.append("resume")
            await p.resume(child)
            await p.send(m.m_source, Reply(child))
            with pytest.raises(KernelError) as exc:
                await p.fork(m.m_source)  # no entry left
            return exc.value.errno

        async def parent(p):
            async def child_main(c):
                log.append(("child runs", c.endpoint != p.endpoint))

            p.set_fork_entry(child_main)
            r = await p.sendrec(pm_p.endpoint, Ping())
            log.append(("parent got", r.status))

        pm_p = sim.spawn("pm", pm)
        sim.spawn("parent", parent, priv=USER_PRIV.allowing(0, 1, 2, 3, 4, 5))
        await sim.wait("pm", "parent")
        await anyio_sleep(1)
        k.shutdown()
    assert not sim.errors, sim.errors
    assert sim.results["pm"] == errno.EINVAL
    child = log[0][2]
    assert log == [
        ("forked", "parent", child),
        "resume",
        ("child runs", True),
        ("parent got", child),
    ]


async def test_exec_replaces_the_image_and_keeps_the_endpoint(autojump_clock):
    async with Kernel() as k:
        sim = Sim(k)
        log = []

        async def new_image(p):
            log.append(("new image", p.endpoint))
            await p.sendrec(pm_p.endpoint, Ping(2))

        async def pm(p):
            m = await p.receive(ANY)  # the exec request: no reply, the caller is replaced
            await p.exec(m.m_source, new_image)
            m2 = await p.receive(ANY)
            await p.send(m2.m_source, Reply(0))
            return m.m_source, m2.m_source, m2.n

        async def old_image(p):
            try:
                await p.sendrec(pm_p.endpoint, Ping(1))
            finally:
                log.append("old image unwound")
            log.append("old image continued")  # never

        pm_p = sim.spawn("pm", pm)
        user = k.spawn("user", old_image, priv=USER_PRIV.allowing(pm_p.slot))
        await sim.wait("pm")
        k.shutdown()
    first, second, n = sim.results["pm"]
    assert first == second == user.endpoint and n == 2
    assert log == ["old image unwound", ("new image", user.endpoint)]


async def test_sigsend_marks_signals_for_the_handler(autojump_clock):
    async with Kernel() as k:
        sim = Sim(k)

        async def pm(p):
            m = await p.receive(ANY)
            await p.sigsend(m.m_source, 2)
            await p.sigsend(m.m_source, 14)
            with pytest.raises(KernelError) as exc:
                await p.sigsend(m.m_source, 99)
            await p.send(m.m_source, Reply(0))
            return exc.value.errno

        async def user(p):
            before = p.take_signals()
            await p.sendrec(pm_p.endpoint, Ping())
            return before, p.take_signals(), p.take_signals()

        pm_p = sim.spawn("pm", pm)
        sim.spawn("user", user, priv=USER_PRIV.allowing(pm_p.slot))
        await sim.wait("pm", "user")
        k.shutdown()
    assert sim.results["pm"] == errno.EINVAL
    assert sim.results["user"] == (0, 1 << 2 | 1 << 14, 0)


async def anyio_sleep(t):
    import anyio

    await anyio.sleep(t)


async def test_a_crashing_thread_crashes_its_process_only(autojump_clock):
    import signal

    async with Kernel() as k:
        sim = Sim(k)

        async def mgr(p):
            await p.receive(ANY)
            return await p.getksig()

        async def srv(p):
            async def bad(q):
                await q.yield_()
                raise RuntimeError("thread bug")

            p.start_thread("bad", bad)
            await p.sleep(10)

        async def bystander(p):
            await p.sleep(20)
            return "alive"

        m = sim.spawn("mgr", mgr)
        s = k.spawn("srv", srv, sig_mgr=m.endpoint)
        sim.spawn("bystander", bystander)
        await sim.wait("mgr", "bystander")
        k.shutdown()
    assert sim.results == {"mgr": (s.endpoint, 1 << signal.SIGSEGV), "bystander": "alive"}


async def test_unwinding_threads_that_touch_the_kernel_do_not_break_shutdown(autojump_clock):
    from kernel.sync import Mutex

    async with Kernel() as k:
        m = Mutex(k)
        entered = []

        async def srv(p):
            async def w(q):
                try:
                    await q.sleep(100)
                finally:
                    entered.append("finally")
                    await m.lock()  # refused: the thread no longer holds the CPU

            p.start_thread("w", w)
            await p.sleep(100)

        k.spawn("srv", srv)
        await anyio_sleep(1)
        k.shutdown()
    assert entered == ["finally"]


async def test_old_image_failing_while_torn_down_for_exec_is_ignored(autojump_clock):
    async with Kernel() as k:
        sim = Sim(k)
        log = []

        async def new_image(p):
            log.append("new image")

        async def pm(p):
            m = await p.receive(ANY)
            await p.exec(m.m_source, new_image)
            await p.sleep(5)

        async def old_image(p):
            try:
                await p.sendrec(pm_p.endpoint, Ping(1))
            finally:
                await p.notify(pm_p.endpoint)  # refused with an exception: irrelevant

        pm_p = sim.spawn("pm", pm)
        k.spawn("user", old_image, priv=USER_PRIV.allowing(pm_p.slot))
        await sim.wait("pm")
        k.shutdown()
    assert log == ["new image"]
