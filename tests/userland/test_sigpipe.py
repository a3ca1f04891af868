"""SIGPIPE: a write to a pipe with no reader raises it (and fails with EPIPE)."""

import errno

from kernel.com import VFS_PROC_NR
from tests.pm.support import run
from userland import libc
from userland.libc._syscall import call
from vfs import protocol as P


async def _pipe():
    r = await call(VFS_PROC_NR, P.VfsPipe(0))
    return r.value, r.value2


async def _write(fd, addr, n):
    return (await call(VFS_PROC_NR, P.VfsWrite(fd, addr, n))).value


async def test_sigpipe_kills_a_writer_with_the_default_action(autojump_clock):
    async def prog(argv):
        r, w = await _pipe()
        await call(VFS_PROC_NR, P.VfsClose(r))
        buf = await libc.malloc(16)
        await _write(w, buf, 4)
        return 0  # not reached: SIGPIPE's default action terminates

    assert await run(prog) == -libc.SIGPIPE


async def test_an_ignored_sigpipe_leaves_epipe(autojump_clock):
    async def prog(argv):
        await libc.signal(libc.SIGPIPE, libc.SIG_IGN)
        r, w = await _pipe()
        await call(VFS_PROC_NR, P.VfsClose(r))
        buf = await libc.malloc(16)
        try:
            await _write(w, buf, 4)
        except OSError as exc:
            return 10 if exc.errno == errno.EPIPE else 1
        return 2

    assert await run(prog) == 10


async def test_a_caught_sigpipe_runs_its_handler_when_the_write_returns(autojump_clock):
    async def prog(argv):
        seen = []
        await libc.signal(libc.SIGPIPE, lambda s: seen.append(s))
        r, w = await _pipe()
        await call(VFS_PROC_NR, P.VfsClose(r))
        buf = await libc.malloc(16)
        try:
            await _write(w, buf, 4)
        except OSError as exc:
            # The handler ran as the call returned, before the error reached us.
            return 20 + len(seen) if exc.errno == errno.EPIPE and seen == [13] else 1
        return 2

    assert await run(prog) == 21
