"""Job control on the console: ^C/^\\/^Z to the foreground group, tcsetpgrp, SIGWINCH,
SIGTTIN/SIGTTOU for the background, SIGHUP when the controlling process exits.

Each scenario is a session leader (spawned by the test) that opens /dev/console as its
controlling terminal, forks a job into a group of its own and gives it the terminal;
the host types at the fake terminal.
"""

import errno

import anyio

from tests.pm.support import booted, errno_of
from userland import libc

CONSOLE = "/dev/console"


async def _session():
    """setsid + open: the console becomes the caller's controlling terminal."""
    await libc.setsid()
    return await libc.open(CONSOLE, libc.O_RDWR)


async def _job(bodies, tty=None):
    """Fork ``bodies`` into one new group (the first child's pid); returns (pgrp, pids).

    With ``tty`` the group becomes its foreground group; the children start their
    bodies only after that (they wait for a byte on a pipe), or a read would find them
    in the background.
    """
    go_r, go_w = await libc.pipe()
    pids = []
    pgrp = 0
    for body in bodies:

        async def child(body=body, pgrp=pgrp):
            await libc.setpgid(0, pgrp)
            await libc.read(go_r, 1)
            return await body()

        pid = await libc.fork(child)
        await libc.setpgid(pid, pgrp or pid)  # both sides, as a shell does: no race
        pgrp = pgrp or pid
        pids.append(pid)
    if tty is not None:
        await libc.tcsetpgrp(tty, pgrp)
    await libc.write(go_w, bytes(len(pids)))
    for end in (go_r, go_w):
        await libc.close(end)
    return pgrp, pids


async def _waitall(pids, options=0):
    return [(await libc.waitpid(pid, options))[1] for pid in pids]


async def _until_idle():
    await anyio.sleep(1)  # virtual time: everything that can run has run


# -- ^C, ^\, ^Z -----------------------------------------------------------------------------


async def test_ctrl_c_kills_the_foreground_group_blocked_in_reads(autojump_clock):
    seen = {}

    async def leader(argv):
        fd = await _session()

        async def reader():
            await libc.read(fd, 10)
            return 0

        pgrp, pids = await _job([reader, reader], fd)
        seen["fg"] = await libc.tcgetpgrp(fd)
        seen["pgrp"] = pgrp
        seen["statuses"] = await _waitall(pids)
        seen["leader_fg"] = await libc.tcgetpgrp(fd)
        return 0

    async with booted() as system:
        pid = await system.spawn(leader)
        await _until_idle()
        system.console.send("\x03")
        assert await system.wait(pid) == 0
    assert seen["fg"] == seen["pgrp"] == seen["leader_fg"]
    assert [(libc.WIFSIGNALED(s), libc.WTERMSIG(s)) for s in seen["statuses"]] == [
        (True, libc.SIGINT)
    ] * 2


async def test_ctrl_backslash_is_sigquit_and_leaves_the_background_alone(autojump_clock):
    seen = {}

    async def leader(argv):
        fd = await _session()

        async def reader():
            await libc.read(fd, 10)
            return 0

        async def sleeper():
            await libc.sleep(5)
            return 7

        _bg, bg_pids = await _job([sleeper])
        _fg, fg_pids = await _job([reader], fd)
        seen["fg"] = await _waitall(fg_pids)
        seen["bg"] = await _waitall(bg_pids)
        return 0

    async with booted() as system:
        pid = await system.spawn(leader)
        await _until_idle()
        system.console.send("\x1c")
        assert await system.wait(pid) == 0
    (fg,), (bg,) = seen["fg"], seen["bg"]
    assert libc.WIFSIGNALED(fg) and libc.WTERMSIG(fg) == libc.SIGQUIT
    assert libc.WIFEXITED(bg) and libc.WEXITSTATUS(bg) == 7


async def test_caught_sigint_interrupts_the_read_with_eintr(autojump_clock):
    seen = {}

    async def leader(argv):
        fd = await _session()

        async def reader():
            await libc.signal(libc.SIGINT, lambda s: seen.setdefault("handler", s))
            try:
                await libc.read(fd, 10)
            except OSError as exc:
                seen["errno"] = exc.errno
            return 3

        _pgrp, pids = await _job([reader], fd)
        seen["status"] = (await libc.waitpid(pids[0], 0))[1]
        return 0

    async with booted() as system:
        pid = await system.spawn(leader)
        await _until_idle()
        system.console.send("\x03")
        assert await system.wait(pid) == 0
    assert seen["handler"] == libc.SIGINT
    assert seen["errno"] == errno.EINTR
    assert libc.WEXITSTATUS(seen["status"]) == 3


async def test_caught_sigint_with_sa_restart_restarts_the_read(autojump_clock):
    seen = {}

    async def leader(argv):
        fd = await _session()

        async def reader():
            await libc.sigaction(
                libc.SIGINT, lambda s: seen.setdefault("handler", s), flags=libc.SA_RESTART
            )
            seen["line"] = await libc.read(fd, 10)
            return 0

        _pgrp, pids = await _job([reader], fd)
        await _waitall(pids)
        return 0

    async with booted() as system:
        pid = await system.spawn(leader)
        await _until_idle()
        system.console.send("ab\x03")  # ^C drops the unfinished line
        await _until_idle()
        system.console.send("cd\r")
        assert await system.wait(pid) == 0
    assert seen == {"handler": libc.SIGINT, "line": b"cd\n"}


async def test_ctrl_z_stops_the_group_and_sigcont_resumes_it(autojump_clock):
    seen = {}

    async def leader(argv):
        fd = await _session()

        async def reader():
            return len(await libc.read(fd, 10))

        pgrp, pids = await _job([reader, reader], fd)
        stops = await _waitall(pids, libc.WUNTRACED)
        seen["stopped"] = [(libc.WIFSTOPPED(s), libc.WSTOPSIG(s)) for s in stops]
        await libc.killpg(pgrp, libc.SIGCONT)
        seen["continued"] = await _waitall(pids, libc.WCONTINUED)
        seen["exited"] = await _waitall(pids)
        return 0

    async with booted() as system:
        pid = await system.spawn(leader)
        await _until_idle()
        system.console.send("\x1a")
        await _until_idle()
        system.console.send("abc\r")  # one line each
        await _until_idle()
        system.console.send("d\r")
        assert await system.wait(pid) == 0
    assert seen["stopped"] == [(True, libc.SIGTSTP)] * 2
    assert all(libc.WIFCONTINUED(s) for s in seen["continued"])
    assert sorted(libc.WEXITSTATUS(s) for s in seen["exited"]) == [2, 4]


# -- tcgetpgrp / tcsetpgrp -------------------------------------------------------------------


async def test_tcsetpgrp_and_tcgetpgrp_errors(autojump_clock):
    seen = {}

    async def leader(argv):
        fd = await _session()
        me = await libc.getpid()
        seen["initial"] = await libc.tcgetpgrp(fd)
        seen["eperm"] = await errno_of(libc.tcsetpgrp(fd, 9999))
        seen["einval"] = await errno_of(libc.tcsetpgrp(fd, 0))
        r, _w = await libc.pipe()
        seen["pipe_get"] = await errno_of(libc.tcgetpgrp(r))
        seen["pipe_set"] = await errno_of(libc.tcsetpgrp(r, me))

        async def other_session():
            await libc.setsid()  # the console is not this session's terminal
            got = await errno_of(libc.tcgetpgrp(fd))
            put = await errno_of(libc.tcsetpgrp(fd, await libc.getpid()))
            return 10 * (got == errno.ENOTTY) + (put == errno.ENOTTY)

        pid = await libc.fork(other_session)
        seen["other"] = libc.WEXITSTATUS((await libc.waitpid(pid, 0))[1])
        seen["me"] = me
        return 0

    async with booted() as system:
        pid = await system.spawn(leader)
        assert await system.wait(pid) == 0
    assert seen["initial"] == seen["me"]
    assert seen["eperm"] == errno.EPERM
    assert seen["einval"] == errno.EINVAL
    assert seen["pipe_get"] == seen["pipe_set"] == errno.ENOTTY
    assert seen["other"] == 11


async def test_a_process_without_the_console_as_ctty_gets_enotty(autojump_clock):
    seen = {}

    async def prog(argv):
        fd = await libc.open(CONSOLE, libc.O_RDWR | libc.O_NOCTTY)
        seen["get"] = await errno_of(libc.tcgetpgrp(fd))
        seen["set"] = await errno_of(libc.tcsetpgrp(fd, await libc.getpgrp()))
        return 0

    async with booted() as system:
        pid = await system.spawn(prog)
        assert await system.wait(pid) == 0
    assert seen == {"get": errno.ENOTTY, "set": errno.ENOTTY}


# -- SIGWINCH ----------------------------------------------------------------------------


async def test_a_resize_sends_sigwinch_to_the_foreground_group(autojump_clock):
    seen = {}

    async def leader(argv):
        fd = await _session()

        async def reader():
            await libc.signal(libc.SIGWINCH, lambda s: seen.setdefault("handler", s))
            try:
                await libc.read(fd, 10)
            except OSError as exc:
                seen["errno"] = exc.errno
            seen["size"] = await libc.tcgetwinsize(fd)
            return 0

        _pgrp, pids = await _job([reader], fd)
        await _waitall(pids)
        return 0

    async with booted() as system:
        pid = await system.spawn(leader)
        await _until_idle()
        system.console.resize(30, 100)
        assert await system.wait(pid) == 0
    assert seen == {"handler": libc.SIGWINCH, "errno": errno.EINTR, "size": (30, 100)}


async def test_tiocswinsz_signals_only_a_change(autojump_clock):
    seen = {"count": 0}

    def winch(sig):
        seen["count"] += 1

    async def leader(argv):
        fd = await _session()
        await libc.signal(libc.SIGWINCH, winch)  # the leader's group is the foreground
        size = await libc.tcgetwinsize(fd)
        await libc.tcsetwinsize(fd, size)
        await libc.sleep(1)
        seen["same"] = seen["count"]
        await libc.sigprocmask(libc.SIG_BLOCK, [libc.SIGWINCH])
        await libc.tcsetwinsize(fd, (size[0] + 1, size[1]))
        await libc.sigsuspend([])
        seen["changed"] = seen["count"]
        return 0

    async with booted() as system:
        pid = await system.spawn(leader)
        assert await system.wait(pid) == 0
    assert seen == {"count": 1, "same": 0, "changed": 1}


# -- SIGTTIN / SIGTTOU -----------------------------------------------------------------------


async def test_a_background_reader_stops_with_sigttin_and_reads_once_in_the_foreground(
    autojump_clock,
):
    seen = {}

    async def leader(argv):
        fd = await _session()

        async def reader():
            seen["line"] = await libc.read(fd, 10)
            return 0

        pgrp, pids = await _job([reader])  # stays in the background
        _, status = await libc.waitpid(pids[0], libc.WUNTRACED)
        seen["stop"] = (libc.WIFSTOPPED(status), libc.WSTOPSIG(status))
        await libc.tcsetpgrp(fd, pgrp)  # "fg"
        await libc.killpg(pgrp, libc.SIGCONT)
        seen["exit"] = (await libc.waitpid(pids[0], 0))[1]
        return 0

    async with booted() as system:
        pid = await system.spawn(leader)
        await _until_idle()
        system.console.send("hi\r")
        assert await system.wait(pid) == 0
    assert seen["stop"] == (True, libc.SIGTTIN)
    assert seen["line"] == b"hi\n"
    assert libc.WIFEXITED(seen["exit"]) and libc.WEXITSTATUS(seen["exit"]) == 0


async def test_a_background_reader_that_ignores_or_blocks_sigttin_gets_eio(autojump_clock):
    seen = {}

    async def leader(argv):
        fd = await _session()

        async def ignoring():
            await libc.signal(libc.SIGTTIN, libc.SIG_IGN)
            seen["ignored"] = await errno_of(libc.read(fd, 10))
            return 0

        async def blocking():
            await libc.sigprocmask(libc.SIG_BLOCK, [libc.SIGTTIN])
            seen["blocked"] = await errno_of(libc.read(fd, 10))
            return 0

        _pgrp, pids = await _job([ignoring])
        _pgrp, pids2 = await _job([blocking])
        seen["statuses"] = await _waitall(pids + pids2)
        return 0

    async with booted() as system:
        pid = await system.spawn(leader)
        assert await system.wait(pid) == 0
    assert seen["ignored"] == seen["blocked"] == errno.EIO
    assert [libc.WIFEXITED(s) for s in seen["statuses"]] == [True, True]


async def test_sigttou_for_background_writes_with_tostop_and_for_tcsetattr(autojump_clock):
    seen = {}

    async def leader(argv):
        fd = await _session()

        async def writer():
            await libc.write(fd, b"before\n")  # TOSTOP is off: allowed
            attrs = await libc.tcgetattr(fd)  # reading the settings is allowed too
            attrs[3] |= libc.TOSTOP
            await libc.tcsetattr(fd, libc.TCSANOW, attrs)  # SIGTTOU: stops here
            await libc.write(fd, b"after\n")  # and here, once TOSTOP is on
            return 0

        pgrp, pids = await _job([writer])
        stops = []
        for _ in range(2):
            _, status = await libc.waitpid(pids[0], libc.WUNTRACED)
            stops.append((libc.WIFSTOPPED(status), libc.WSTOPSIG(status)))
            if len(stops) == 1:
                seen["lflag"] = (await libc.tcgetattr(fd))[3] & libc.TOSTOP
                await libc.killpg(pgrp, libc.SIGCONT)  # still background: stops again
            else:
                await libc.tcsetpgrp(fd, pgrp)
                await libc.killpg(pgrp, libc.SIGCONT)
        seen["stops"] = stops
        seen["exit"] = (await libc.waitpid(pids[0], 0))[1]
        return 0

    async with booted() as system:
        pid = await system.spawn(leader)
        assert await system.wait(pid) == 0
        assert b"before" in system.console.output
        assert system.console.output.count(b"after") == 1
    assert seen["lflag"] == 0  # the first stop was before tcsetattr took effect
    assert seen["stops"] == [(True, libc.SIGTTOU)] * 2
    assert libc.WIFEXITED(seen["exit"])


async def test_background_tcsetpgrp_ignoring_sigttou_succeeds(autojump_clock):
    seen = {}

    async def leader(argv):
        fd = await _session()

        async def grab():
            await libc.signal(libc.SIGTTOU, libc.SIG_IGN)  # what a shell does
            await libc.tcsetpgrp(fd, await libc.getpgrp())
            return 0

        pgrp, pids = await _job([grab])
        seen["exit"] = await _waitall(pids)
        seen["fg"] = await libc.tcgetpgrp(fd)
        seen["pgrp"] = pgrp
        return 0

    async with booted() as system:
        pid = await system.spawn(leader)
        assert await system.wait(pid) == 0
    assert seen["fg"] == seen["pgrp"]
    assert libc.WIFEXITED(seen["exit"][0])


# -- hang-up -------------------------------------------------------------------------------


async def test_the_controlling_process_exit_hangs_up_the_foreground_group(autojump_clock):
    seen = {}

    async def leader(argv):
        fd = await _session()
        ready_r, ready_w = await libc.pipe()

        async def catcher():
            async def victim():  # SIGHUP's default action: terminate
                await libc.read(fd, 10)
                return 0

            pid = await libc.fork(victim)
            await libc.sigprocmask(libc.SIG_BLOCK, [libc.SIGHUP])
            await libc.signal(libc.SIGHUP, lambda s: seen.setdefault("handler", s))
            await libc.write(ready_w, b"!")
            await libc.sigsuspend([])  # until the hang-up
            seen["victim"] = (await libc.waitpid(pid, 0))[1]
            seen["dev_tty"] = await errno_of(libc.open("/dev/tty", libc.O_RDWR))
            seen["tcgetpgrp"] = await errno_of(libc.tcgetpgrp(fd))
            return 0

        await _job([catcher], fd)
        await libc.read(ready_r, 1)
        seen["leader_dev_tty"] = await errno_of(libc.open("/dev/tty", libc.O_RDWR), ok="ok")
        return 0  # the controlling process exits

    async with booted() as system:
        pid = await system.spawn(leader)
        assert await system.wait(pid) == 0
        for _ in range(20):
            if "tcgetpgrp" in seen:
                break
            await _until_idle()
    assert seen["leader_dev_tty"] == "ok"
    assert seen["handler"] == libc.SIGHUP
    assert libc.WIFSIGNALED(seen["victim"]) and libc.WTERMSIG(seen["victim"]) == libc.SIGHUP
    assert seen["dev_tty"] == errno.ENXIO
    assert seen["tcgetpgrp"] == errno.ENOTTY


async def test_a_new_session_can_take_the_console_after_a_hang_up(autojump_clock):
    seen = {}

    async def first(argv):
        await _session()
        return 0

    async def second(argv):
        fd = await _session()
        seen["fg"] = await libc.tcgetpgrp(fd)
        seen["me"] = await libc.getpid()
        return 0

    async with booted() as system:
        assert await system.wait(await system.spawn(first)) == 0
        assert await system.wait(await system.spawn(second)) == 0
    assert seen["fg"] == seen["me"]


async def test_a_reader_in_an_orphaned_background_group_gets_eio(autojump_clock):
    seen = {}

    async def leader(argv):
        fd = await _session()

        async def parent():
            async def orphan():
                while await libc.getppid() != 1:  # until its parent has gone
                    await libc.sleep(0.1)
                seen["read"] = await errno_of(libc.read(fd, 10))
                return 0

            await libc.fork(orphan)
            return 0  # leaves its group with no parent in the session

        _pgrp, pids = await _job([parent])
        await _waitall(pids)
        while "read" not in seen:
            await libc.sleep(0.1)
        return 0

    async with booted() as system:
        pid = await system.spawn(leader)
        assert await system.wait(pid) == 0
    assert seen["read"] == errno.EIO


async def test_a_user_process_cannot_use_the_drivers_requests(autojump_clock):
    from kernel.com import PM_PROC_NR
    from servers.pm.protocol import TTYQ_ACQUIRE, PmTtyQuery, PmTtySignal
    from userland.libc._syscall import call

    seen = {}

    async def prog(argv):
        me = await libc.getpgrp()
        seen["signal"] = await errno_of(call(PM_PROC_NR, PmTtySignal(me, libc.SIGKILL)))
        seen["query"] = await errno_of(call(PM_PROC_NR, PmTtyQuery(TTYQ_ACQUIRE, 0, 0, 0, 0, 1)))
        return 0

    async with booted() as system:
        assert await system.wait(await system.spawn(prog)) == 0
    assert seen == {"signal": errno.ENOSYS, "query": errno.ENOSYS}
