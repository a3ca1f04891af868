"""Bad input gets POSIX errnos and never hurts a server; a crashing program is just a death."""

import errno
from dataclasses import dataclass

import anyio
import pytest

from kernel.com import PM_PROC_NR, VM_PROC_NR
from kernel.message import Message
from servers.pm import protocol as pmp
from tests.pm.support import BASE, booted, run
from userland import libc
from userland.libc._context import handle
from userland.libc._syscall import call


@dataclass(slots=True)
class Garbage(Message):
    x: int = 0


async def raw(msg, dst=PM_PROC_NR):
    try:
        reply = await call(dst, msg)
    except OSError as exc:
        return exc.errno
    return ("ok", getattr(reply, "value", None))


async def test_raw_requests_with_bad_arguments(autojump_clock):
    seen = []

    async def prog(argv):
        for msg in (
            Garbage(),
            pmp.PmReply(0),  # a reply is not a request
            pmp.PmKill(1, 64),
            pmp.PmKill(-999, 1),
            pmp.PmWaitpid(-1, -1),
            pmp.PmWaitpid(10**9, 0),
            pmp.PmSigaction(0, pmp.DISP_IGN),
            pmp.PmSigaction(1, 7),
            pmp.PmSigaction(-5, pmp.DISP_QUERY),
            pmp.PmSigaction(2, pmp.DISP_CATCH, flags=-1),
            pmp.PmSigprocmask(-1, 0),
            pmp.PmAlarm(-5),
            pmp.PmAlarm(10**12),
            pmp.PmSetpgid(-1, 0),
            pmp.PmGetsid(-1),
            pmp.PmSetuid(1 << 40),
            pmp.PmFork(),  # no fork entry left: EINVAL
            pmp.PmSigreturn(3),  # nothing to return from: ignored
            pmp.PmSigsuspend(~(1 << libc.SIGALRM)),  # a negative mask: bits beyond NSIG ignored
        ):
            if isinstance(msg, pmp.PmSigsuspend):
                await libc.signal(libc.SIGALRM, lambda s: None)
                await libc.alarm(1)
            seen.append(await raw(msg))
        seen.append(await raw(Garbage(), VM_PROC_NR))
        return 0

    assert await run(prog) == 0
    assert seen == [
        errno.ENOSYS,
        errno.ENOSYS,
        errno.EINVAL,
        errno.ESRCH,
        errno.EINVAL,
        errno.ECHILD,
        errno.EINVAL,
        errno.EINVAL,
        errno.EINVAL,
        errno.EINVAL,
        errno.EINVAL,
        errno.EINVAL,
        errno.EINVAL,
        errno.EINVAL,
        errno.ESRCH,
        errno.EINVAL,
        errno.EINVAL,
        ("ok", 0),
        errno.EINTR,
        errno.ENOSYS,
    ]


async def test_user_processes_only_reach_the_servers_they_may(autojump_clock):
    seen = []

    async def prog(argv):
        h = handle()
        for dst in (3, 11, 200):  # memory driver slot, init, nobody
            try:
                await call(dst, Garbage())
            except OSError as exc:
                seen.append(exc.errno)
        try:
            await h.send(PM_PROC_NR, Garbage())  # only sendrec is allowed
        except OSError as exc:
            seen.append(type(exc).__name__)
        try:
            await h.kill(PM_PROC_NR, 9)  # no kernel calls
        except OSError as exc:
            seen.append(type(exc).__name__)
        return 0

    assert await run(prog) == 0
    # The memory driver (slot 3) and init: EPERM; nobody at 200: ENOSYS (the dead-endpoint
    # check comes first).
    assert seen == [errno.EPERM, errno.EPERM, errno.ENOSYS, "KernelError", "KernelError"]


async def test_a_program_that_raises_is_a_process_that_dies(autojump_clock):
    async def crashes(argv):
        raise RuntimeError("bug in a user program")

    async def crashes_after_fork(argv):
        async def child():
            return 1 // 0

        _, status = await libc.waitpid(await libc.fork(child), 0)
        return libc.WEXITSTATUS(status) + 10

    async def ends_without_exit(argv):
        # The process's code returns without calling _exit: the kernel reports the end
        # as SIGKILL and PM records that.
        await handle().exit()

    async def kernel_level_crash(argv):
        # An exception escaping the process task itself (no libc _start to catch it):
        # the kernel kills it with SIGSEGV and PM records that.
        async def entry(h):
            raise RuntimeError("no libc here")

        handle().set_fork_entry(entry)
        pid = (await call(PM_PROC_NR, pmp.PmFork())).value
        _, status = await libc.waitpid(pid, 0)
        return libc.WTERMSIG(status)

    async with booted() as system:
        assert await system.wait(await system.spawn(crashes)) == 1
        assert await system.wait(await system.spawn(crashes_after_fork)) == 11
        assert await system.wait(await system.spawn(ends_without_exit)) == -libc.SIGKILL
        assert await system.wait(await system.spawn(kernel_level_crash)) == libc.SIGSEGV
        await anyio.sleep(1)
        assert (await system.meminfo())["processes"] == BASE


async def test_spawn_argument_errors(autojump_clock):
    async def ok(argv):
        return 0

    async with booted() as system:
        with pytest.raises(ValueError):
            await system.spawn(ok, uid=-1)
        with pytest.raises(OSError) as exc:
            await system.spawn(ok, ["x" * 70000])
        assert exc.value.errno == errno.E2BIG
        assert await system.wait(await system.spawn(ok)) == 0
