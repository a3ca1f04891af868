"""User and group ids, sessions and process groups."""

import errno

import pytest

from tests.pm.support import run
from userland import libc


async def ids():
    return (await libc.getuid(), await libc.geteuid(), await libc.getgid(), await libc.getegid())


async def test_root_setuid_drops_everything(autojump_clock):
    seen = []

    async def prog(argv):
        seen.append(await ids())
        await libc.setgid(50)
        await libc.setuid(1000)
        seen.append(await ids())
        for call, value in ((libc.setuid, 0), (libc.seteuid, 0), (libc.setgid, 0)):
            with pytest.raises(PermissionError):
                await call(value)
        seen.append(await ids())
        return 0

    assert await run(prog) == 0
    assert seen == [(0, 0, 0, 0), (1000, 1000, 50, 50), (1000, 1000, 50, 50)]


async def test_root_seteuid_can_come_back(autojump_clock):
    seen = []

    async def prog(argv):
        await libc.seteuid(1000)
        seen.append(await ids())
        with pytest.raises(PermissionError):
            await libc.setuid(5)  # no longer root in effect
        await libc.seteuid(0)  # back to the real (saved) uid
        seen.append(await ids())
        await libc.setegid(7)
        seen.append(await ids())
        return 0

    assert await run(prog) == 0
    assert seen == [(0, 1000, 0, 0), (0, 0, 0, 0), (0, 0, 0, 7)]


async def test_unprivileged_id_rules_and_bad_ids(autojump_clock):
    seen = []

    async def prog(argv):
        seen.append(await ids())
        await libc.setuid(1000)  # its own uid: allowed
        await libc.seteuid(1000)
        for call, value, code in (
            (libc.setuid, 0, errno.EPERM),
            (libc.setgid, 0, errno.EPERM),
            (libc.setuid, -1, errno.EINVAL),
            (libc.setuid, 70000, errno.EINVAL),
        ):
            with pytest.raises(OSError) as exc:
                await call(value)
            seen.append(exc.value.errno == code)
        return 0

    assert await run(prog, uid=1000) == 0
    assert seen == [(1000, 1000, 1000, 1000), True, True, True, True]


async def test_setsid_makes_a_session_and_group_leader(autojump_clock):
    seen = {}

    async def prog(argv):
        pid = await libc.getpid()
        seen["before"] = (await libc.getsid(0), await libc.getpgrp())
        seen["sid"] = await libc.setsid()
        seen["after"] = (await libc.getsid(0), await libc.getpgrp(), await libc.getpgid(pid))
        with pytest.raises(PermissionError):
            await libc.setsid()  # a group leader already
        with pytest.raises(PermissionError):
            await libc.setpgid(0, 0)  # a session leader cannot move
        seen["pid"] = pid

        async def child():
            seen["child"] = (await libc.getsid(0), await libc.getpgrp())
            seen["child_sid"] = await libc.setsid()
            return 0

        await libc.waitpid(await libc.fork(child), 0)
        with pytest.raises(ProcessLookupError):
            await libc.getsid(29999)
        with pytest.raises(ProcessLookupError):
            await libc.getpgid(-3)
        seen["init"] = (await libc.getsid(1), await libc.getpgid(1))
        return 0

    assert await run(prog) == 0
    pid = seen["pid"]
    assert seen["before"] == (1, 1)
    assert seen["sid"] == pid
    assert seen["after"] == (pid, pid, pid)
    assert seen["child"] == (pid, pid)
    assert seen["child_sid"] not in (pid, 1)
    assert seen["init"] == (1, 1)


async def test_setpgid_rules_and_group_kill(autojump_clock):
    seen = {}

    async def prog(argv):
        await libc.setsid()

        async def sleeper():
            await libc.pause()
            return 0

        a = await libc.fork(sleeper)
        b = await libc.fork(sleeper)
        await libc.setpgid(a, 0)  # a leads a new group
        await libc.setpgid(b, a)  # b joins it
        seen["groups"] = (await libc.getpgid(a), await libc.getpgid(b))
        for args, code in (
            ((b, 12345), errno.EPERM),  # no such group in the session
            ((1, 1), errno.ESRCH),  # not our child
            ((29999, 0), errno.ESRCH),
            ((a, -1), errno.EINVAL),
        ):
            with pytest.raises(OSError) as exc:
                await libc.setpgid(*args)
            assert exc.value.errno == code, args
        await libc.killpg(a, libc.SIGTERM)
        got = {await libc.wait(), await libc.wait()}
        seen["killed"] = {(pid, libc.WTERMSIG(status)) for pid, status in got}
        seen["ab"] = (a, b)
        with pytest.raises(OSError):
            await libc.killpg(-2, libc.SIGTERM)
        with pytest.raises(ProcessLookupError):
            await libc.killpg(a, libc.SIGTERM)  # the group is gone
        return 0

    assert await run(prog) == 0
    a, b = seen["ab"]
    assert seen["groups"] == (a, a)
    assert seen["killed"] == {(a, libc.SIGTERM), (b, libc.SIGTERM)}


async def test_kill_zero_signals_the_callers_group(autojump_clock):
    log = []

    async def prog(argv):
        await libc.setsid()
        await libc.signal(libc.SIGUSR1, lambda s: log.append("parent"))
        await libc.sigprocmask(libc.SIG_BLOCK, {libc.SIGCHLD})

        async def child():
            await libc.signal(libc.SIGUSR1, lambda s: log.append("child"))
            await libc.kill(0, libc.SIGUSR1)
            return 0

        pid = await libc.fork(child)
        try:
            await libc.waitpid(pid, 0)
        except InterruptedError:
            log.append("EINTR")  # our own handler interrupted the wait
            await libc.waitpid(pid, 0)
        return 0

    assert await run(prog) == 0
    # Both handlers run; the parent's interrupts its wait (where the child's runs
    # relative to that depends on the schedule).
    assert sorted(log) == ["EINTR", "child", "parent"]
    assert log.index("parent") < log.index("EINTR")
