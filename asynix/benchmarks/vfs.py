"""VFS benchmarks: open + close of a file, and 4 KiB writes through a pipe.

- ``vfs.open_close``: ``libc.open`` + ``libc.close`` of an existing ``/tmp`` file per
  second in a user process of a booted system (libc lays the path out in the heap,
  VFS copies it in and walks it with one ``ReqLookup`` per component to ramfs, then
  the close gives the vnode back with ``ReqPutnode``), with its ratio to the baseline
  round trip;
- ``vfs.pipe_4k``: 4 KiB ``libc.write`` calls from one process through a pipe to a
  forked child reading 4 KiB at a time, in MiB/s, with the ratio of one write's time
  to the baseline round trip. It includes the copies into and out of the pipe and,
  whenever the pipe fills or empties, a side parking in VFS and its revival.

The system's own logging is quieted to warnings while they run.
"""

from __future__ import annotations

import time

from asynix.bench import benchmark
from asynix.benchmarks import run_program
from userland import libc

_PIPE_CHUNK = 4096


@benchmark("vfs.open_close", ops=5_000, kind="rate", unit="open+close/s", ratio=True)
async def _open_close(n: int) -> float:
    elapsed = [0.0]

    async def prog(argv: list[str]) -> int:
        path = "/tmp/bench-open-close"
        await libc.close(await libc.open(path, libc.O_WRONLY | libc.O_CREAT, 0o644))
        start = time.perf_counter()
        for _ in range(n):
            await libc.close(await libc.open(path, libc.O_RDONLY))
        elapsed[0] = time.perf_counter() - start
        return 0

    await run_program(prog)
    return elapsed[0]


@benchmark(
    "vfs.pipe_4k",
    ops=5_000,
    kind="bandwidth",
    unit="MiB/s",
    ratio=True,
    scale=_PIPE_CHUNK / 2**20,
)
async def _pipe_4k(n: int) -> float:
    elapsed = [0.0]

    async def prog(argv: list[str]) -> int:
        r, w = await libc.pipe()
        block = bytes(range(256)) * (_PIPE_CHUNK // 256)

        async def reader() -> int:
            await libc.close(w)
            total = 0
            while chunk := await libc.read(r, _PIPE_CHUNK):
                total += len(chunk)
            return 0 if total == n * _PIPE_CHUNK else 1

        pid = await libc.fork(reader)
        await libc.close(r)
        start = time.perf_counter()
        for _ in range(n):
            await libc.write(w, block)
        await libc.close(w)
        _, status = await libc.waitpid(pid, 0)
        elapsed[0] = time.perf_counter() - start
        return libc.waitstatus_to_exitcode(status)

    code = await run_program(prog)
    if code != 0:
        raise RuntimeError(f"vfs.pipe_4k: the reader saw the wrong byte count ({code})")
    return elapsed[0]
