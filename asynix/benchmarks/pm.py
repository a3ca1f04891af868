"""PM benchmarks: a system call's round trip through libc, fork + exit + wait, and boot.

- ``pm.getpid``: ``libc.getpid()`` calls per second in a user process of a booted
  system (libc's trap, PM's dispatch and reply), with its ratio to the baseline
  round trip;
- ``pm.fork_wait``: fork + the child's exit + waitpid per second (kernel fork, VM's
  copy-on-write copy of the address space, PM's books, the child's run and exit);
- ``boot``: wall seconds from ``asynix.boot()`` to a running init, on virtual time
  (a MockClock in a trio run of its own).

The system's own logging is quieted to warnings while they run, so that the figures
measure the system rather than the console.
"""

from __future__ import annotations

import time

import anyio
import anyio.to_thread

import asynix
from asynix.bench import Stopwatch, benchmark
from asynix.benchmarks import quiet, run_program
from userland import libc


@benchmark("pm.getpid", ops=20_000, kind="rate", unit="calls/s", ratio=True, goal="ratio <= 2.5")
async def _getpid(n: int) -> float:
    elapsed = [0.0]

    async def prog(argv: list[str]) -> int:
        await libc.getpid()
        sw = Stopwatch(n, 2000)  # laps of about 60 ms
        for k in sw.laps():
            for _ in range(k):
                await libc.getpid()
        elapsed[0] = sw.seconds
        return 0

    await run_program(prog)
    return elapsed[0]


@benchmark("pm.fork_wait", ops=500, kind="rate", unit="forks/s")
async def _fork_wait(n: int) -> float:
    elapsed = [0.0]

    async def child() -> int:
        return 0

    async def prog(argv: list[str]) -> int:
        heap = await libc.malloc(64 * 1024)  # a little memory to copy on write
        await libc.poke(heap, bytes(64 * 1024))
        start = time.perf_counter()
        for _ in range(n):
            await libc.waitpid(await libc.fork(child), 0)
        elapsed[0] = time.perf_counter() - start
        return 0

    await run_program(prog)
    return elapsed[0]


def _boot_once() -> float:
    import trio
    import trio.testing

    async def main() -> float:
        start = time.perf_counter()
        async with asynix.boot():
            elapsed = time.perf_counter() - start
        return elapsed

    return trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


@benchmark("boot", ops=1, kind="wall", unit="s", goal="<= 0.5 s")
async def _boot(n: int) -> float:
    with quiet():
        return min([await anyio.to_thread.run_sync(_boot_once) for _ in range(n)])
