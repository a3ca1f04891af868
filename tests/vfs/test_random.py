"""Several processes at once under the random scheduling policy (seeds printed on failure)."""

from __future__ import annotations

import os

import pytest

from kernel.com import VFS_PROC_NR
from kernel.policy import PctPolicy, RandomPolicy
from servers.pm.protocol import PmVfsFork
from tests.vfs.support import errno_of, run
from vfs import protocol as P


@pytest.mark.parametrize("policy", ["random", "pct"])
@pytest.mark.parametrize("seed", range(1, 16))
def test_concurrent_files_and_atomic_pipe_writes(seed, policy):
    box = {}

    async def owner(u):
        r, w = await u.call(P.VfsPipe(0))
        box["fds"] = (r, w)
        await u.path_call(P.VfsMkdir, "/shared", 0o777)
        await u.p.sleep(3)  # the writers are forks of us by now
        await u.close(w)
        got = b""
        while True:
            chunk = await u.read(r, 4096)
            if not chunk:
                break
            got += chunk
        return got

    def writer(i):
        letter = bytes([ord("a") + i])

        async def fn(u):
            await u.p.sleep(4)
            r, w = box["fds"]
            await u.close(r)
            name = f"/shared/f{i}"
            fd = await u.open(name, os.O_CREAT | os.O_RDWR | os.O_EXCL, 0o644)
            for _ in range(3):
                await u.write(w, letter * 1000)
                await u.write(fd, letter * 100)
            await u.lseek(fd, 0)
            back = await u.read(fd, 1000)
            await u.two_paths(P.VfsRename, name, f"/shared/g{i}")
            gone = await errno_of(u.stat(name))
            await u.close(w)
            await u.close(fd)
            return back == letter * 300, gone

        return fn

    async def pm(p, eps):
        await p.sleep(1)
        for i in range(3):
            await p.send(VFS_PROC_NR, PmVfsFork(eps["owner"], eps[f"w{i}"], 100 + i))
            await p.receive(VFS_PROC_NR)

    async def lister(u):
        await u.p.sleep(30)
        return sorted(await u.listdir("/shared"))

    users = {"owner": owner, **{f"w{i}": writer(i) for i in range(3)}, "ls": lister}
    pol = RandomPolicy(seed) if policy == "random" else PctPolicy(seed)
    out = run(users, pm=pm, policy=pol, workers=4)
    got = out["owner"]
    assert len(got) == 9000, f"{policy} seed {seed}"
    chunks = [got[i : i + 1000] for i in range(0, 9000, 1000)]
    assert all(len(set(c)) == 1 for c in chunks), f"{policy} seed {seed}: interleaved pipe writes"
    assert sorted(c[:1] for c in chunks) == [b"a"] * 3 + [b"b"] * 3 + [b"c"] * 3, (
        f"{policy} seed {seed}"
    )
    for i in range(3):
        assert out[f"w{i}"] == (True, 2), f"{policy} seed {seed}"
    assert out["ls"] == [".", "..", "g0", "g1", "g2"], f"{policy} seed {seed}"
