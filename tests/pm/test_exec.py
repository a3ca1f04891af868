"""exec: the image is replaced, the pid stays, argv and envp arrive, errors come back."""

import errno

import pytest

from servers.pm.protocol import PmExec
from tests.pm.support import run
from userland import libc, programs


@pytest.fixture
def program():
    """Register programs for one test."""
    paths = []

    def register(path, main):
        programs.register(path, main)
        paths.append(path)

    yield register
    for path in paths:
        programs.unregister(path)


async def test_exec_replaces_the_image_and_keeps_the_pid(autojump_clock, program):
    seen = {}

    async def newprog(argv):
        seen["argv"] = argv
        seen["pid_after"] = await libc.getpid()
        seen["ppid_after"] = await libc.getppid()
        seen["env"] = (libc.getenv("GREETING"), libc.getenv("PATH"))
        return 42

    async def prog(argv):
        async def child():
            seen["pid_before"] = await libc.getpid()
            libc.putenv("GREETING", "hi")
            await libc.execv("/bin/newprog", ["newprog", "x", "y z"])
            seen["not reached"] = True
            return 1

        pid = await libc.fork(child)
        _, status = await libc.waitpid(pid, 0)
        seen["child"] = pid
        seen["ppid"] = await libc.getpid()
        return libc.WEXITSTATUS(status)

    program("/bin/newprog", newprog)
    assert await run(prog) == 42
    assert seen["argv"] == ["newprog", "x", "y z"]
    assert seen["pid_before"] == seen["pid_after"] == seen["child"]
    assert seen["ppid_after"] == seen["ppid"]
    assert seen["env"] == ("hi", "/bin:/usr/bin")
    assert "not reached" not in seen


async def test_execve_with_an_explicit_environment_and_an_empty_one(autojump_clock, program):
    seen = []

    async def show(argv):
        seen.append((argv, libc.getenv("A"), libc.getenv("PATH")))
        if len(argv) == 1:
            await libc.execve("/bin/show", ["show", "again"], {})
        return 0

    async def prog(argv):
        await libc.execve(b"/bin/show", [b"show"], {"A": "1=2"})

    program("/bin/show", show)
    assert await run(prog) == 0
    assert seen == [(["show"], "1=2", None), (["show", "again"], None, None)]


async def test_exec_replaces_the_address_space(autojump_clock, program):
    seen = {}

    async def after(argv):
        addr = int(argv[1])
        try:
            seen["after"] = await libc.peek(addr, 6)
        except Exception as exc:  # pragma: no cover - the process dies instead
            seen["error"] = exc
        return 0

    async def prog(argv):
        addr = await libc.mmap(
            0, 4096, libc.PROT_READ | libc.PROT_WRITE, libc.MAP_ANON | libc.MAP_PRIVATE
        )
        await libc.poke(addr, b"secret")
        await libc.execv("/bin/after", ["after", str(addr)])

    program("/bin/after", after)
    assert await run(prog) == -libc.SIGSEGV  # the old mapping is gone
    assert seen == {}


async def test_exec_errors_leave_the_caller_running(autojump_clock, program):
    seen = []

    async def prog(argv):
        with pytest.raises(FileNotFoundError):
            await libc.execv("/bin/nothing", ["nothing"])
        with pytest.raises(FileNotFoundError):
            await libc.execv("relative", ["relative"])
        with pytest.raises(ValueError):
            await libc.execv("/bin/ok", [])
        with pytest.raises(ValueError):
            await libc.execv("/bin/ok", [""])
        with pytest.raises(ValueError):
            await libc.execv("/bin/o\0k", ["ok"])
        with pytest.raises(OSError) as exc:
            await libc.execv("/bin/ok", ["ok", "x" * 70000])
        seen.append(exc.value.errno)
        seen.append(await libc.getpid() > 1)
        return 5

    program("/bin/ok", prog)
    assert await run(prog) == 5
    assert seen == [errno.E2BIG, True]


async def test_exec_with_bad_pointers_gets_efault(autojump_clock):
    from kernel.com import PM_PROC_NR
    from userland.libc._syscall import call

    seen = []

    async def prog(argv):
        good = await libc.malloc(64)
        await libc.poke(good, b"/bin/x")
        frame = await libc.malloc(64)
        await libc.poke(frame, bytes(16))
        for msg in (
            PmExec(0x10, 6, frame, 16),  # path at page 0
            PmExec(good, 6, 0xF000_0000, 16),  # frame in kernel memory
            PmExec(good, 0, frame, 16),  # empty path
            PmExec(good, 5000, frame, 16),  # path too long
            PmExec(good, 6, frame, 4),  # frame too short
            PmExec(good, 6, frame, 10**6),  # frame too long
        ):
            try:
                await call(PM_PROC_NR, msg)
            except OSError as exc:
                seen.append(exc.errno)
        await libc.poke(frame, (1000).to_bytes(4, "little") + bytes(12))
        try:
            await call(PM_PROC_NR, PmExec(good, 6, frame, 16))  # argc beyond the frame
        except OSError as exc:
            seen.append(exc.errno)
        return 0

    assert await run(prog) == 0
    assert seen == [
        errno.EFAULT,
        errno.EFAULT,
        errno.ENOENT,
        errno.ENAMETOOLONG,
        errno.EINVAL,
        errno.E2BIG,
        errno.EINVAL,
    ]


async def test_setpgid_on_a_child_that_has_exec_d_is_eacces(autojump_clock, program):
    seen = []

    async def waiting(argv):
        await libc.pause()
        return 0

    async def prog(argv):
        async def child():
            await libc.execv("/bin/waiting", ["waiting"])

        await libc.signal(libc.SIGALRM, lambda s: None)
        pid = await libc.fork(child)
        await libc.alarm(1)
        await libc.pause()
        with pytest.raises(PermissionError) as exc:
            await libc.setpgid(pid, pid)
        seen.append(exc.value.errno)
        await libc.kill(pid, libc.SIGKILL)
        await libc.waitpid(pid, 0)
        return 0

    program("/bin/waiting", waiting)
    assert await run(prog) == 0
    assert seen == [errno.EACCES]


async def test_program_files_name_their_entry_point():
    from userland import init

    text = programs.contents(init.main)
    assert text == b"#!asynix userland.init:main\n"
    assert programs.resolve(text) is init.main
    for bad in (b"#!/bin/sh\n", b"#!asynix nosuch.module:main\n", b"#!asynix userland.init:nope\n"):
        with pytest.raises(OSError) as exc:
            programs.resolve(bad)
        assert exc.value.errno == errno.ENOEXEC
    assert programs.RUNTIME.load("/sbin/init").main is init.main
