"""Benchmarks of the whole system as a user meets it: the shell's prompt and a pipeline.

- ``boot.prompt``: wall seconds from ``asynix.boot()`` to the shell's prompt on the
  console (``# ``: the shell runs as root), with ``/sbin/getty /dev/console`` started
  as the ``asynix`` command starts it; on real time, as the command runs;
- ``sh.pipeline``: lines per second through ``yes | head -n 100000 | wc -l`` run with
  ``System.sh`` (three processes and two pipes, the shell's fork and exec, and the
  pipe's blocking both ways), with the ratio of a line's cost to the baseline round trip.
  The output is checked: a wrong count is an error, not a figure.

The system's own logging is quieted to warnings while they run.
"""

from __future__ import annotations

import time

import asynix
from asynix.bench import benchmark
from asynix.benchmarks import quiet
from userland import getty

_PROMPT_TIMEOUT = 60.0
"""Seconds to wait for the prompt before the benchmark fails."""


@benchmark("boot.prompt", ops=1, kind="wall", unit="s", goal="<= 0.5 s")
async def _prompt(n: int) -> float:
    best = float("inf")
    with quiet():
        for _ in range(n):
            start = time.perf_counter()
            async with asynix.boot() as system:
                await system.spawn(getty.main, ["getty", "/dev/console"])
                await system.console.expect("# ", timeout=_PROMPT_TIMEOUT)
                best = min(best, time.perf_counter() - start)
    return best


@benchmark("sh.pipeline", ops=100_000, kind="rate", unit="lines/s", ratio=True)
async def _pipeline(n: int) -> float:
    with quiet():
        async with asynix.boot() as system:
            start = time.perf_counter()
            status, output = await system.sh(f"yes | head -n {n} | wc -l")
            elapsed = time.perf_counter() - start
    if status != 0 or output.split() != [str(n)]:
        raise RuntimeError(f"the pipeline went wrong: status {status}, output {output!r}")
    return elapsed
