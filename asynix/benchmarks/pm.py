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

import logging
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
import structlog

import asynix
from asynix.bench import benchmark
from userland import libc

if TYPE_CHECKING:
    from collections.abc import Iterator


@contextmanager
def _quiet() -> Iterator[None]:
    """Drop log events below WARNING for the duration (benchmarks only)."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        yield
    finally:
        structlog.configure(**saved)


@benchmark("pm.getpid", ops=20_000, kind="rate", unit="calls/s", ratio=True, goal="ratio <= 2.5")
async def _getpid(n: int) -> float:
    elapsed = [0.0]

    async def prog(argv: list[str]) -> int:
        await libc.getpid()
        start = time.perf_counter()
        for _ in range(n):
            await libc.getpid()
        elapsed[0] = time.perf_counter() - start
        return 0

    with _quiet():
        async with asynix.boot() as system:
            await system.wait(await system.spawn(prog))
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

    with _quiet():
        async with asynix.boot() as system:
            await system.wait(await system.spawn(prog))
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
    with _quiet():
        return min([await anyio.to_thread.run_sync(_boot_once) for _ in range(n)])
