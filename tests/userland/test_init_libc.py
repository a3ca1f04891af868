"""init and libc odds and ends: the first program, init's resilience, libc outside a process."""

import errno

import anyio
import pytest

from tests.pm.support import BASE, booted
from userland import libc, programs


async def test_libc_outside_a_user_process_says_enosys():
    with pytest.raises(OSError) as exc:
        await libc.getpid()
    assert exc.value.errno == errno.ENOSYS


def test_pure_helpers_decode_linux_wait_statuses():
    assert libc.WIFEXITED(3 << 8) and libc.WEXITSTATUS(3 << 8) == 3
    assert libc.WIFSIGNALED(9) and libc.WTERMSIG(9) == 9 and not libc.WIFEXITED(9)
    stopped = (libc.SIGTSTP << 8) | 0x7F
    assert libc.WIFSTOPPED(stopped) and libc.WSTOPSIG(stopped) == libc.SIGTSTP
    assert not libc.WIFSIGNALED(stopped) and not libc.WIFEXITED(stopped)
    assert libc.WIFCONTINUED(0xFFFF) and not libc.WIFCONTINUED(0)
    assert not libc.WCOREDUMP(9)
    assert libc.waitstatus_to_exitcode(9) == -9
    with pytest.raises(ValueError):
        libc.waitstatus_to_exitcode(stopped)
    assert libc.strsignal(libc.SIGINT) == "SIGINT" and libc.strsignal(0) is None
    assert libc.valid_signals() == set(range(1, 32))
    assert libc.SIG_DFL == 0 and libc.SIG_IGN == 1


async def test_init_reaps_the_first_program_and_its_orphans(autojump_clock):
    seen = []

    async def first(argv):
        async def orphan():
            await libc.signal(libc.SIGALRM, lambda s: None)
            await libc.alarm(2)
            await libc.pause()
            seen.append(("orphan's parent", await libc.getppid()))
            return 0

        await libc.fork(orphan)
        seen.append(("first", argv[1:]))
        return 0

    programs.register("/bin/first", first)
    try:
        async with booted(init_program=["/bin/first", "a"]) as system:
            await anyio.sleep(1)
            assert (await system.meminfo())["processes"] == BASE + 1  # the orphan lives on
            await anyio.sleep(5)
            assert (await system.meminfo())["processes"] == BASE
    finally:
        programs.unregister("/bin/first")
    assert seen == [("first", ["a"]), ("orphan's parent", 1)]


async def test_init_survives_a_missing_first_program_and_signals(autojump_clock):
    async def root(argv):
        for sig in (libc.SIGTERM, libc.SIGINT, libc.SIGHUP, libc.SIGCHLD):
            await libc.kill(1, sig)
        with pytest.raises(PermissionError):
            await libc.kill(1, libc.SIGSTOP)
        return 0

    async with booted(init_program=["/bin/missing"]) as system:
        assert await system.wait(await system.spawn(root)) == 0
        await anyio.sleep(1)
        assert (await system.meminfo())["processes"] == BASE  # init, and nothing left over
        assert await system.wait(await system.spawn(root)) == 0
