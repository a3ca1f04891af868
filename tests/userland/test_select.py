"""select through libc on a booted system: files, pipes, char devices, timeouts, EINTR."""

import errno

from tests.pm.support import errno_of, run
from userland import libc


async def test_select_on_files_and_pipes(autojump_clock):
    seen = {}

    async def prog(argv):
        fd = await libc.open("/tmp/f", libc.O_RDWR | libc.O_CREAT, 0o644)
        r, w = await libc.pipe()
        seen["fds"] = (fd, r, w)
        seen["file"] = await libc.select([fd], [fd], [], 0)
        seen["empty pipe"] = await libc.select([r], [w], [], 0)
        await libc.write(w, b"x")
        seen["data"] = await libc.select([r], [], [], 0)

        async def writer():
            await libc.sleep(2)
            await libc.write(w, b"late")
            return 0

        await libc.read(r, 1)
        pid = await libc.fork(writer)
        t0 = await libc.time()
        seen["blocked"] = await libc.select([r], [], [], None)
        seen["waited"] = round(await libc.time() - t0)
        await libc.waitpid(pid, 0)
        await libc.close(w)
        await libc.read(r, 100)
        seen["eof"] = await libc.select([r], [], [], 0)
        return 0

    assert await run(prog) == 0
    fd, r, w = seen.pop("fds")
    assert seen == {
        "file": ([fd], [fd], []),
        "empty pipe": ([], [w], []),
        "data": ([r], [], []),
        "blocked": ([r], [], []),
        "waited": 2,
        "eof": ([r], [], []),
    }


async def test_select_timeout_and_errors(autojump_clock):
    seen = {}

    async def prog(argv):
        r, _w = await libc.pipe()
        t0 = await libc.time()
        seen["timeout"] = await libc.select([r], [], [], 1.5)
        seen["took"] = await libc.time() - t0
        seen["ebadf"] = await errno_of(libc.select([77], [], [], 0))
        seen["einval"] = await errno_of(libc.select([r], [], [], -1))
        fd = await libc.open("/tmp", libc.O_RDONLY)
        seen["dir"] = await errno_of(libc.select([fd], [], [], 0))
        return 0

    assert await run(prog) == 0
    assert seen["timeout"] == ([], [], [])
    assert 1.5 <= seen["took"] < 1.6
    assert seen["ebadf"] == errno.EBADF
    assert seen["einval"] == errno.EINVAL
    assert seen["dir"] == errno.EBADF


async def test_a_signal_interrupts_select(autojump_clock):
    seen = {}

    async def prog(argv):
        r, _w = await libc.pipe()
        await libc.signal(libc.SIGALRM, lambda s: seen.setdefault("handler", s))
        await libc.alarm(1)
        seen["errno"] = await errno_of(libc.select([r], [], [], None))
        return 0

    assert await run(prog) == 0
    assert seen == {"handler": libc.SIGALRM, "errno": errno.EINTR}


async def test_select_on_char_devices(autojump_clock):
    seen = {}

    async def prog(argv):
        log = await libc.open("/dev/log", libc.O_RDWR)
        null = await libc.open("/dev/null", libc.O_RDWR)
        seen["fd"] = log
        seen["log idle"] = await libc.select([log], [log], [], 0)

        async def writer():
            fd = await libc.open("/dev/log", libc.O_WRONLY)
            await libc.sleep(1)
            await libc.write(fd, b"hello")
            return 0

        pid = await libc.fork(writer)
        seen["log woken"] = await libc.select([log], [], [], 10)
        await libc.waitpid(pid, 0)
        # /dev/null's driver has no select hook: the driver answers EBADF.
        seen["null"] = await errno_of(libc.select([null], [], [], 0))
        return 0

    assert await run(prog) == 0
    log = seen.pop("fd")
    assert seen == {
        "log idle": ([], [log], []),
        "log woken": ([log], [], []),
        "null": errno.EBADF,
    }
