"""Kernel mutexes and condition variables between threads of one process."""

from __future__ import annotations

import errno

import pytest

from kernel.errors import KernelError
from kernel.kernel import Kernel
from kernel.policy import RandomPolicy
from kernel.sync import Condition, Mutex
from tests.support import Sim


async def _counter_race(k, sim, nthreads, steps):
    m = Mutex(k)
    state = {"value": 0, "inside": 0, "max_inside": 0}

    async def worker(p):
        for _ in range(steps):
            async with m:
                state["inside"] += 1
                state["max_inside"] = max(state["max_inside"], state["inside"])
                v = state["value"]
                await p.yield_()  # a choice point inside the critical section
                state["value"] = v + 1
                state["inside"] -= 1

    async def main(p):
        handles = [p.start_thread(f"w{i}", worker) for i in range(nthreads)]
        await p.sleep(100)
        return handles

    sim.spawn("srv", main)
    await sim.wait("srv")
    return state


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_mutex_excludes_under_random_policy(autojump_clock, seed):
    async with Kernel(policy=RandomPolicy(seed)) as k:
        sim = Sim(k)
        state = await _counter_race(k, sim, 4, 25)
        k.shutdown()
    assert not sim.errors, f"seed {seed}: {sim.errors}"
    assert state["value"] == 100, f"seed {seed}"
    assert state["max_inside"] == 1, f"seed {seed}"


async def test_unprotected_counter_loses_updates_under_random_policy(autojump_clock):
    """The choice points are real: without the mutex the random policy interleaves."""
    async with Kernel(policy=RandomPolicy(7)) as k:
        sim = Sim(k)
        state = {"value": 0}

        async def worker(p):
            for _ in range(25):
                v = state["value"]
                await p.yield_()
                state["value"] = v + 1

        async def main(p):
            for i in range(4):
                p.start_thread(f"w{i}", worker)
            await p.sleep(100)

        sim.spawn("srv", main)
        await sim.wait("srv")
        k.shutdown()
    assert state["value"] < 100


async def test_mutex_fifo_handoff_and_errors(autojump_clock):
    async with Kernel() as k:
        sim = Sim(k)
        m = Mutex(k)
        order = []

        async def holder(p):
            await m.lock()
            with pytest.raises(KernelError) as exc:
                await m.lock()
            order.append(("relock", exc.value.errno))
            for i in range(3):
                p.start_thread(f"w{i}", lambda q, i=i: waiter(q, i))
            await p.sleep(1)
            await m.unlock()
            await p.sleep(10)

        async def waiter(p, i):
            await m.lock()
            order.append(i)
            await m.unlock()

        async def stranger(p):
            await p.sleep(0.5)
            with pytest.raises(KernelError) as exc:
                await m.unlock()
            order.append(("stranger", exc.value.errno))

        sim.spawn("holder", holder)
        sim.spawn("stranger", stranger)
        await sim.wait("holder", "stranger")
        k.shutdown()
    assert order == [("relock", errno.EDEADLK), ("stranger", errno.EPERM), 0, 1, 2]


async def test_condition_wait_signal_broadcast(autojump_clock):
    async with Kernel() as k:
        sim = Sim(k)
        m = Mutex(k)
        c = Condition(k, m)
        box = {"items": [], "woken": []}

        async def consumer(p, i):
            async with m:
                while not box["items"]:
                    await c.wait()
                box["woken"].append((i, box["items"].pop(0)))

        async def main(p):
            for i in range(3):
                p.start_thread(f"c{i}", lambda q, i=i: consumer(q, i))
            await p.sleep(1)
            async with m:
                box["items"].append("a")
                await c.signal()
            await p.sleep(1)
            async with m:
                box["items"] += ["b", "c"]
                await c.broadcast()
            await p.sleep(1)

        sim.spawn("main", main)
        await sim.wait("main")
        k.shutdown()
    assert box["woken"] == [(0, "a"), (1, "b"), (2, "c")]


async def test_only_one_thread_of_a_process_blocks_in_ipc(autojump_clock):
    from kernel.endpoint import ANY

    async with Kernel() as k:
        sim = Sim(k)

        async def server(p):
            async def second(q):
                with pytest.raises(KernelError) as exc:
                    await q.receive(ANY)
                box.append(exc.value.errno)
                await q.notify(other.endpoint)  # non-blocking IPC is fine meanwhile

            box = []
            p.start_thread("second", second)
            m = await p.receive(ANY)  # blocks first; the second thread then tries
            return box, type(m).__name__

        async def other_fn(p):
            await p.sleep(1)
            await p.notify(srv.endpoint)
            await p.receive(ANY)

        srv = sim.spawn("srv", server)
        other = sim.spawn("other", other_fn)
        await sim.wait("srv")
        k.shutdown()
    assert sim.results["srv"] == ([errno.EBUSY], "Notify")
