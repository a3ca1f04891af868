"""IPC benchmarks: the sendrec round trip between two simulated processes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio

from asynix.bench import Stopwatch, benchmark
from kernel.endpoint import ANY
from kernel.kernel import Kernel
from kernel.message import Message, Reply

if TYPE_CHECKING:
    from kernel.process import Process


@dataclass(slots=True)
class _Ping(Message):
    n: int


@benchmark(
    "ipc.sendrec", ops=20_000, kind="latency", unit="us/roundtrip", ratio=True, goal="ratio <= 1.5"
)
async def _sendrec(n: int) -> float:
    done = anyio.Event()
    elapsed = 0.0
    reply = Reply()

    async def server(p: Process) -> None:
        while True:
            m = await p.receive(ANY)
            await p.send(m.m_source, reply)

    async def client(p: Process) -> None:
        nonlocal elapsed
        msg = _Ping(0)
        await p.sendrec(srv.endpoint, msg)
        sw = Stopwatch(n, 2000)  # laps of about 50 ms, as the baseline's
        for k in sw.laps():
            for _ in range(k):
                await p.sendrec(srv.endpoint, msg)
        elapsed = sw.seconds
        done.set()

    async with Kernel() as k:
        srv = k.spawn("server", server)
        k.spawn("client", client)
        await done.wait()
        k.shutdown()
    return elapsed
