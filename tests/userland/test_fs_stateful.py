"""Random file-system programs run by several user processes at once, against a model.

Hypothesis draws 2-3 operation lists (open with assorted flags, read, write, lseek,
close, dup, dup2, fcntl F_GETFL/F_SETFL, ftruncate, pipe2(O_NONBLOCK), unlink, rename,
mkdir, rmdir, link, symlink, stat/lstat/fstat, readlink, listdir), a scheduling seed
and a VFS worker count (3, 4 or 9). Each list runs in its own user process (uid 1000,
SIGPIPE ignored) in its own directory ``/tmp/p<i>`` (its cwd); the processes also share
the read-only ``/tmp/shared`` (root's, in the sticky /tmp), which they may open, read,
stat, hard-link or symlink to, and fail to write, unlink or rename. That choice keeps
every result independent of the interleaving (see fsmodel.py), so each process's
transcript must equal the model's whatever the policy does. The processes are
released together through a FIFO so their calls really overlap in VFS.

Afterwards a checker process compares every directory tree with the model and the
shared file's link count with the links the processes made.

The hypothesis settings are the "ci" profile's (derandomized, so every run tries the
same examples) with 12 examples per policy: FIFO, random and PCT. On a failure the
message names the policy, seed, worker count, process and the first operation whose
result differs; hypothesis prints the whole example, and ``run_programs(progs, policy,
seed, workers)`` replays it.
"""

from __future__ import annotations

import errno
import os

import anyio
import pytest
import trio
from hypothesis import example, given, settings
from hypothesis import strategies as st
from trio.testing import MockClock

from tests.pm.support import booted
from tests.userland.fsmodel import SHARED, SHARED_DATA, UID, FsModel, finish
from userland import libc

PATHS = ["a", "b", "d", "d/a", "d/e", "d/e/a", "s", "s/a", "t", "/tmp/shared"]
TARGETS = ["a", "d", "d/a", "e", "s", "t", "missing", "../shared", "/tmp/shared"]
FLAGS = [
    os.O_RDONLY,
    os.O_WRONLY,
    os.O_RDWR,
    os.O_CREAT | os.O_WRONLY,
    os.O_CREAT | os.O_RDWR,
    os.O_CREAT | os.O_EXCL | os.O_RDWR,
    os.O_CREAT | os.O_TRUNC | os.O_WRONLY,
    os.O_CREAT | os.O_APPEND | os.O_RDWR,
    os.O_RDWR | os.O_APPEND,
    os.O_TRUNC | os.O_RDWR,
    os.O_RDONLY | os.O_DIRECTORY,
    os.O_RDONLY | os.O_NOFOLLOW,
]
GO = "/tmp/go"

paths = st.sampled_from(PATHS)
fds = st.integers(0, 3)
data = st.integers(0, 40).map(lambda n: bytes((n + i) % 251 + 1 for i in range(n)))
ops = st.one_of(
    st.tuples(st.just("open"), paths, st.sampled_from(FLAGS), st.sampled_from([0o644, 0o444])),
    st.tuples(st.just("open"), paths, st.sampled_from(FLAGS[3:8]), st.just(0o644)),
    st.tuples(st.just("close"), fds),
    st.tuples(st.just("write"), fds, data),
    st.tuples(st.just("write"), fds, data),
    st.tuples(st.just("read"), fds, st.integers(1, 60)),
    st.tuples(st.just("lseek"), fds, st.integers(-5, 60), st.integers(0, 2)),
    st.tuples(st.just("dup"), fds),
    st.tuples(st.just("dup2"), fds, st.integers(0, 5)),
    st.tuples(st.just("fcntl"), fds, st.just(libc.F_GETFL), st.just(0)),
    st.tuples(
        st.just("fcntl"),
        fds,
        st.just(libc.F_SETFL),
        st.sampled_from([os.O_NONBLOCK, os.O_NONBLOCK | os.O_APPEND]),
    ),
    st.tuples(st.just("pipe")),
    st.tuples(st.just("ftruncate"), fds, st.integers(0, 60)),
    st.tuples(st.just("fstat"), fds),
    st.tuples(st.just("unlink"), paths),
    st.tuples(st.just("rename"), paths, paths),
    st.tuples(st.just("mkdir"), paths),
    st.tuples(st.just("rmdir"), paths),
    st.tuples(st.just("link"), paths, paths),
    st.tuples(st.just("symlink"), st.sampled_from(TARGETS), paths),
    st.tuples(st.just("stat"), paths),
    st.tuples(st.just("lstat"), paths),
    st.tuples(st.just("readlink"), paths),
    st.tuples(st.just("listdir"), st.sampled_from(["d", "d/e", "s", "a", "."])),
)
PRELUDE = [
    ("open", "a", os.O_CREAT | os.O_RDWR, 0o644),
    ("write", 0, b"0123456789"),
    ("mkdir", "d"),
    ("open", "d/a", os.O_CREAT | os.O_WRONLY, 0o644),
    ("symlink", "d", "s"),
    ("open", "a", os.O_WRONLY | os.O_APPEND, 0),
]
"""Every program starts with some files to work on (random ops alone mostly hit ENOENT)."""
programs = st.lists(
    st.lists(ops, min_size=5, max_size=30).map(lambda p: PRELUDE + p), min_size=2, max_size=3
)


def transcript(prog, home):
    """The concrete calls and expected results for ``prog``, and the final model."""
    model = FsModel(home)
    calls, expected = [], []
    for op in prog:
        call, result = model.step(op)
        calls.append(call)
        expected.append(result)
    return calls, expected, model


async def do(call):
    """Make one concrete call through libc; ("ok", value) or ("err", errno name)."""
    name, *args = call
    try:
        if name in ("stat", "lstat", "fstat"):
            st_ = await getattr(libc, name)(*args)
            value = (st_.st_mode, st_.st_size, st_.st_nlink)
        elif name == "listdir":
            value = sorted(await libc.listdir(*args))
        elif name == "open":
            value = await libc.open(*args)
        elif name == "pipe":
            value = await libc.pipe2(libc.O_NONBLOCK)
        else:
            value = await getattr(libc, name)(*args)
    except OSError as exc:
        return ("err", errno.errorcode.get(exc.errno, exc.errno))
    return ("ok", value)


def settle(expected, got):
    """``got`` with what the model does not predict (None in ``expected``) blanked."""
    if expected[0] == got[0] == "ok" and isinstance(expected[1], tuple):
        return (
            "ok",
            tuple(None if e is None else g for e, g in zip(expected[1], got[1], strict=True)),
        )
    return got


async def lstat_tree(top):
    out = {}
    for name in await libc.listdir(top):
        path = f"{top}/{name}"
        st_ = await libc.lstat(path)
        rel = path.split("/", 3)[3]
        out[rel] = (st_.st_mode, st_.st_size, st_.st_nlink)
        if libc.S_ISDIR(st_.st_mode):
            out.update(await lstat_tree(path))
    return out


def run_programs(progs, policy, seed, workers):
    where = f"policy={policy!r} seed={seed} workers={workers}"
    plans = [transcript(p, f"/tmp/p{i}") for i, p in enumerate(progs)]
    got: dict[int, list] = {}
    final: dict[str, object] = {}
    status: dict[str, object] = {}

    async def setup(argv):
        fd = await libc.open(SHARED, libc.O_CREAT | libc.O_WRONLY, 0o644)
        await libc.write(fd, SHARED_DATA)
        await libc.close(fd)
        await libc.mkfifo(GO, 0o666)
        return 0

    def worker(i, calls):
        async def main(argv):
            await libc.setuid(UID)  # as login does (spawn's uid is the other test's)
            await libc.signal(libc.SIGPIPE, libc.SIG_IGN)  # the model expects EPIPE
            await libc.mkdir(f"/tmp/p{i}", 0o755)
            await libc.chdir(f"/tmp/p{i}")
            go = await libc.open(GO, libc.O_RDONLY)  # parks until the starter opens
            # End of file once the starter has closed: leaving earlier could race
            # with its open (see test_fs_concurrency's FIFO rendezvous test).
            assert await libc.read(go, 1) == b""
            await libc.close(go)
            for fd in range(8):
                try:
                    await libc.close(fd)
                except OSError:
                    pass
            out = got.setdefault(i, [])
            for call in calls:
                out.append(await do(call))
            return 0

        return main

    async def starter(argv):
        fd = await libc.open(GO, libc.O_WRONLY)
        await libc.close(fd)
        return 0

    async def checker(argv):
        await libc.setuid(UID)
        for i in range(len(progs)):
            final[f"tree{i}"] = await lstat_tree(f"/tmp/p{i}")
        final["shared nlink"] = (await libc.stat(SHARED)).st_nlink
        fd = await libc.open(SHARED, libc.O_RDONLY)
        final["shared data"] = await libc.read(fd, 4096)
        await libc.close(fd)
        return 0

    async def outer():
        async with booted(policy=policy, seed=seed, workers=workers) as system:
            assert await finish(system, await system.spawn(setup)) == 0, where
            pids = [await system.spawn(worker(i, plan[0])) for i, plan in enumerate(plans)]
            await anyio.sleep(1)  # every worker is parked in its FIFO open
            status["starter"] = await finish(system, await system.spawn(starter))
            status["workers"] = [await finish(system, pid) for pid in pids]
            status["checker"] = await finish(system, await system.spawn(checker))

    trio.run(outer, clock=MockClock(autojump_threshold=0))

    for i, (calls, expected, _) in enumerate(plans):
        results = got.get(i, [])
        for k, (call, exp) in enumerate(zip(calls, expected, strict=True)):
            res = settle(exp, results[k]) if k < len(results) else None
            assert res == exp, (
                f"{where} process {i} op {k} {call!r}: got {res!r}, model {exp!r}"
                f" (exit statuses {status})"
            )
    assert status == {"starter": 0, "workers": [0] * len(progs), "checker": 0}, where
    for i, (_, _, model) in enumerate(plans):
        want = model.tree()
        tree = final[f"tree{i}"]
        seen = {
            p: settle(("ok", want[p]), ("ok", d))[1] if p in want else d for p, d in tree.items()
        }
        assert seen == want, f"{where} process {i}: final tree"
    assert final["shared nlink"] == 1 + sum(m.shared_links() for _, _, m in plans), where
    assert final["shared data"] == SHARED_DATA, where


CASE = [
    [
        ("open", "a", os.O_CREAT | os.O_RDWR, 0o644),
        ("write", 0, b"hello"),
        ("lseek", 0, 10, 0),
        ("write", 0, b"x"),
        ("lseek", 0, 0, 0),
        ("read", 0, 20),
        ("dup", 0),
        ("mkdir", "d"),
        ("rename", "a", "d/a"),
        ("symlink", "d/a", "s"),
        ("stat", "s"),
        ("link", "/tmp/shared", "t"),
        ("open", "t", os.O_RDWR, 0o644),
        ("unlink", "/tmp/shared"),
        ("rename", "d", "d/e"),
        ("rmdir", "d"),
        ("ftruncate", 1, 3),
        ("fstat", 0),
        ("unlink", "d/a"),
        ("fstat", 1),
        ("close", 0),
        ("read", 0, 10),
    ],
    [("symlink", "t", "s"), ("symlink", "s", "t"), ("stat", "s"), ("open", "s", os.O_RDONLY, 0)],
]


@pytest.mark.parametrize("policy", ["fifo", "random", "pct"])
@settings(settings.get_profile("ci"), max_examples=12)
@given(progs=programs, seed=st.integers(0, 2**16), workers=st.sampled_from([3, 4, 9]))
@example(progs=CASE, seed=1, workers=3)
def test_processes_see_the_model_file_system(policy, progs, seed, workers):
    run_programs(progs, policy, seed, workers)


async def test_a_spawned_process_has_its_uid_in_vfs(autojump_clock):
    seen = {}

    async def prog(argv):
        try:
            await libc.open("/etc/passwd", libc.O_WRONLY)  # root's, 0644
        except OSError as exc:
            seen["open"] = exc.errno
        return 0

    async with booted() as system:
        assert await system.wait(await system.spawn(prog, uid=UID)) == 0
    assert seen == {"open": errno.EACCES}
