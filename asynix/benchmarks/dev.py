"""Device benchmarks: a char-device read end to end, and select over many descriptors.

- ``dev.zero_4k``: ``read(/dev/zero, 4096)`` calls per second in a user process of a
  booted system: libc's trap, VFS's dispatcher (which starts a character device's
  read itself, without a worker), the CDEV_READ to the memory driver (served on its
  main thread: its callbacks never wait), the driver's grant copy into the user's
  buffer through the MMU, the driver's reply, VFS's revival of the caller and its
  reply: four task switches; with its ratio to the bare-handoff baseline (goal <= 6),
  timed in laps of 500 reads (:class:`asynix.bench.Stopwatch`);
- ``select.64``: ``select`` calls per second over 64 descriptors that are all ready
  (32 pipe read ends with data, 32 regular files), which costs VFS a pass over every
  descriptor and the copies of three fd sets each way.
"""

from __future__ import annotations

import time

from asynix.bench import Stopwatch, benchmark
from asynix.benchmarks import run_program
from userland import libc

_SELECT_FDS = 64


@benchmark("dev.zero_4k", ops=5000, kind="rate", unit="reads/s", ratio=True, goal="ratio <= 6")
async def _zero_4k(n: int) -> float:
    elapsed = [0.0]

    async def prog(argv: list[str]) -> int:
        fd = await libc.open("/dev/zero", libc.O_RDONLY)
        buf = await libc.malloc(4096)
        await libc.read_into(fd, buf, 4096)
        sw = Stopwatch(n, 500)  # laps of about 50 ms, as the baseline's
        for k in sw.laps():
            for _ in range(k):
                await libc.read_into(fd, buf, 4096)
        elapsed[0] = sw.seconds
        return 0

    await run_program(prog)
    return elapsed[0]


@benchmark("select.64", ops=2000, kind="rate", unit="selects/s")
async def _select_64(n: int) -> float:
    elapsed = [0.0]

    async def prog(argv: list[str]) -> int:
        fds = []
        for _ in range(_SELECT_FDS // 2):
            r, w = await libc.pipe()
            await libc.write(w, b"x")
            fds.append(r)
        for i in range(_SELECT_FDS // 2):
            fd = await libc.open(f"/tmp/s{i}", libc.O_RDWR | libc.O_CREAT, 0o600)
            fds.append(fd)
        start = time.perf_counter()
        for _ in range(n):
            await libc.select(fds, [], [], 0)
        elapsed[0] = time.perf_counter() - start
        return 0

    await run_program(prog)
    return elapsed[0]
