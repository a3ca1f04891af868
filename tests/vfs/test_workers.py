"""The worker pool: one worker per process, pending work, the spare for system processes."""

from __future__ import annotations

import os

from fs.lib import serve
from fs.ramfs import RamFs
from tests.vfs.support import run
from vfs import protocol as P


class SlowFs(RamFs):
    async def read(self, ino, pos, n):
        await self.proc.sleep(10)
        return await super().read(ino, pos, n)


async def slow_main(p):
    await serve(p, SlowFs())


def test_pending_work_waits_in_fproc_and_spare_serves_system_processes():
    state = {}
    snaps = {}

    def on_start(vfs):
        state["vfs"] = vfs

    def snapshot(tag):
        vfs = state["vfs"]
        pend = sorted(fp.endpoint for fp in vfs.fprocs.values() if fp.pending is not None)
        snaps[tag] = (vfs.busy, len(pend))

    async def setup(u):
        fd = await u.open("/f", os.O_CREAT | os.O_WRONLY)
        await u.write(fd, b"hello")
        return await u.close(fd)

    def reader(i):
        async def fn(u):
            await u.p.sleep(2)
            fd = await u.open("/f")
            out = await u.read(fd, 5)
            return out, u.p.now() // 1

        return fn

    async def system(u):
        await u.p.sleep(5)
        snapshot("before")
        old = await u.call(P.VfsUmask(0o077))  # a system process may take the spare
        snapshot("after")
        return old, u.p.now() // 1

    out = run(
        {"setup": setup, **{f"r{i}": reader(i) for i in range(4)}, "sys": system},
        workers=3,
        fs_main=slow_main,
        system=("sys",),
        on_start=on_start,
    )
    # three workers: two may serve user processes, the third is the spare
    assert snaps["before"] == (2, 2)
    assert snaps["after"] == (2, 2)  # the spare is free again, the queue unchanged
    assert out["sys"] == (0o022, 6.0)  # served at once by the spare, not queued
    times = sorted(t for _, t in (out[f"r{i}"] for i in range(4)))
    assert [out[f"r{i}"][0] for i in range(4)] == [b"hello"] * 4
    assert times == [13.0, 23.0, 33.0, 43.0]  # the slow FS serves one read at a time
    assert state["vfs"].busy == 0


def test_pending_work_of_a_system_process_may_take_the_spare():
    async def setup(u):
        fd = await u.open("/f", os.O_CREAT | os.O_WRONLY)
        await u.write(fd, b"x")
        return await u.close(fd)

    def reader(start):
        async def fn(u):
            await u.p.sleep(1)
            fd = await u.open("/f")  # t=2, after setup: quick
            await u.p.sleep(start - 1)
            await u.read(fd, 1)  # each read holds a worker for 10 s (the FS is serial)
            return u.p.now() // 1

        return fn

    async def quick(u):
        await u.p.sleep(4)
        await u.call(P.VfsUmask(0o077))  # no worker free: waits in its fproc
        return u.p.now() // 1

    out = run(
        {"setup": setup, "r1": reader(2), "r2": reader(2.5), "s1": reader(3), "s2": quick},
        workers=3,
        fs_main=slow_main,
        system=("s1", "s2"),
    )
    # r1 and r2 take the two normal workers, s1 (a system process) the spare. When r1
    # is done one worker is free: s2's pending work may take it, as a system process
    # may use the last worker; a user's pending work would wait for a second one.
    assert (out["r1"], out["r2"], out["s1"]) == (13.0, 23.0, 33.0)
    assert out["s2"] == 13.0
