"""Signals through libc: handlers, masks, EINTR, default actions, stop/continue, alarm."""

import errno

import anyio
import pytest

from tests.pm.support import BASE, booted, run
from userland import libc


async def test_handler_runs_when_the_call_returns(autojump_clock):
    log = []

    def handler(sig):
        log.append(("handler", sig))

    async def prog(argv):
        old = await libc.signal(libc.SIGUSR1, handler)
        log.append(("old", old))
        await libc.kill(await libc.getpid(), libc.SIGUSR1)
        log.append("kill returned")
        await libc.raise_signal(libc.SIGUSR1)
        log.append("raise returned")
        return 0

    assert await run(prog) == 0
    assert log == [
        ("old", libc.SIG_DFL),
        ("handler", libc.SIGUSR1),
        "kill returned",
        ("handler", libc.SIGUSR1),
        "raise returned",
    ]


async def test_async_handler_may_make_system_calls(autojump_clock):
    log = []

    async def handler(sig):
        log.append(("in handler, mask", await libc.sigprocmask(libc.SIG_BLOCK, ())))

    async def prog(argv):
        await libc.sigaction(libc.SIGUSR2, handler, mask={libc.SIGHUP})
        await libc.raise_signal(libc.SIGUSR2)
        log.append(("after, mask", await libc.sigprocmask(libc.SIG_BLOCK, ())))
        return 0

    assert await run(prog) == 0
    assert log == [
        ("in handler, mask", {libc.SIGUSR2, libc.SIGHUP}),
        ("after, mask", set()),
    ]


async def test_pause_returns_after_alarm_handler(autojump_clock):
    log = []

    async def prog(argv):
        await libc.signal(libc.SIGALRM, lambda sig: log.append(sig))
        assert await libc.alarm(3) == 0
        await libc.pause()
        return 0

    async with booted() as system:
        start = system.kernel.clock()
        assert await system.wait(await system.spawn(prog)) == 0
        elapsed = system.kernel.clock() - start
    assert log == [libc.SIGALRM]
    assert elapsed == pytest.approx(3, abs=1e-3)  # each kernel entry costs a µs of CPU


async def test_alarm_returns_the_time_left_and_default_action_kills(autojump_clock):
    seen = []

    async def prog(argv):
        seen.append(await libc.alarm(10))
        seen.append(await libc.alarm(3))
        seen.append(await libc.alarm(0))
        with pytest.raises(OSError) as exc:
            await libc.alarm(-1)
        seen.append(exc.value.errno)
        await libc.alarm(2)
        await libc.pause()  # SIGALRM's default action terminates
        seen.append("not reached")
        return 0

    assert await run(prog) == -libc.SIGALRM
    assert seen == [0, 10, 3, errno.EINVAL]


async def test_waitpid_is_interrupted_with_eintr(autojump_clock):
    seen = []

    async def prog(argv):
        async def child():
            await libc.pause()
            return 0

        pid = await libc.fork(child)
        await libc.signal(libc.SIGALRM, lambda sig: seen.append("handler"))
        await libc.alarm(1)
        try:
            await libc.waitpid(pid, 0)
        except InterruptedError as exc:
            seen.append(exc.errno)
        await libc.kill(pid, libc.SIGKILL)
        seen.append((await libc.waitpid(pid, 0))[0] == pid)
        return 0

    assert await run(prog) == 0
    assert seen == ["handler", errno.EINTR, True]


async def test_sa_restart_restarts_an_interrupted_waitpid(autojump_clock):
    seen = []

    async def prog(argv):
        async def child():
            await libc.pause()
            return 0

        pid = await libc.fork(child)

        async def on_alarm(sig):
            seen.append("handler")
            await libc.kill(pid, libc.SIGTERM)

        await libc.signal(libc.SIGALRM, on_alarm)
        await libc.siginterrupt(libc.SIGALRM, False)
        await libc.alarm(1)
        got, status = await libc.waitpid(pid, 0)  # restarted after the handler
        seen.append((got == pid, libc.WTERMSIG(status)))
        return 0

    assert await run(prog) == 0
    assert seen == ["handler", (True, libc.SIGTERM)]


async def test_blocked_signal_stays_pending_until_sigsuspend(autojump_clock):
    log = []

    async def prog(argv):
        await libc.signal(libc.SIGUSR1, lambda sig: log.append("handler"))
        await libc.sigprocmask(libc.SIG_BLOCK, {libc.SIGUSR1})
        await libc.raise_signal(libc.SIGUSR1)
        await libc.raise_signal(libc.SIGUSR1)  # standard signals do not queue
        log.append(("pending", await libc.sigpending()))
        await libc.sigsuspend(())
        log.append(("mask", await libc.sigprocmask(libc.SIG_BLOCK, ())))
        log.append(("pending", await libc.sigpending()))
        return 0

    assert await run(prog) == 0
    assert log == [
        ("pending", {libc.SIGUSR1}),
        "handler",
        ("mask", {libc.SIGUSR1}),
        ("pending", set()),
    ]


async def test_unblocking_delivers_pending_signals(autojump_clock):
    log = []

    async def prog(argv):
        await libc.signal(libc.SIGUSR1, lambda sig: log.append(sig))
        await libc.signal(libc.SIGUSR2, lambda sig: log.append(sig))
        await libc.sigprocmask(libc.SIG_SETMASK, {libc.SIGUSR1, libc.SIGUSR2})
        await libc.raise_signal(libc.SIGUSR2)
        await libc.raise_signal(libc.SIGUSR1)
        log.append("blocked")
        old = await libc.sigprocmask(libc.SIG_UNBLOCK, {libc.SIGUSR1, libc.SIGUSR2})
        log.append(old)
        return 0

    assert await run(prog) == 0
    assert log == ["blocked", libc.SIGUSR1, libc.SIGUSR2, {libc.SIGUSR1, libc.SIGUSR2}]


async def test_default_actions(autojump_clock):
    async def ignores_chld_and_winch(argv):
        await libc.raise_signal(libc.SIGCHLD)
        await libc.raise_signal(libc.SIGWINCH)
        await libc.raise_signal(libc.SIGCONT)
        return 0

    async def dies_of_usr1(argv):
        await libc.raise_signal(libc.SIGUSR1)
        return 0

    async def ignored_term(argv):
        await libc.signal(libc.SIGTERM, libc.SIG_IGN)
        await libc.raise_signal(libc.SIGTERM)
        return 0

    async def ignoring_discards_pending(argv):
        await libc.sigprocmask(libc.SIG_BLOCK, {libc.SIGINT})
        await libc.raise_signal(libc.SIGINT)
        await libc.signal(libc.SIGINT, libc.SIG_IGN)
        await libc.sigprocmask(libc.SIG_UNBLOCK, {libc.SIGINT})
        return 0

    async def unblocked_pending_kills(argv):
        await libc.sigprocmask(libc.SIG_BLOCK, {libc.SIGQUIT})
        await libc.raise_signal(libc.SIGQUIT)
        await libc.sigprocmask(libc.SIG_UNBLOCK, {libc.SIGQUIT})
        return 0

    async with booted() as system:
        codes = [
            await system.wait(await system.spawn(main))
            for main in (
                ignores_chld_and_winch,
                dies_of_usr1,
                ignored_term,
                ignoring_discards_pending,
                unblocked_pending_kills,
            )
        ]
    assert codes == [0, -libc.SIGUSR1, 0, 0, -libc.SIGQUIT]


async def test_sigkill_and_sigstop_cannot_be_caught_or_blocked(autojump_clock):
    seen = []

    async def prog(argv):
        for sig in (libc.SIGKILL, libc.SIGSTOP):
            for handler in (libc.SIG_IGN, lambda s: None):
                with pytest.raises(OSError) as exc:
                    await libc.signal(sig, handler)
                seen.append(exc.value.errno)
        await libc.sigprocmask(libc.SIG_BLOCK, {libc.SIGKILL, libc.SIGSTOP, libc.SIGINT})
        seen.append(await libc.sigprocmask(libc.SIG_BLOCK, ()))
        await libc.raise_signal(libc.SIGKILL)
        return 0

    assert await run(prog) == -libc.SIGKILL
    assert seen == [errno.EINVAL] * 4 + [{libc.SIGINT}]


async def test_stop_and_continue(autojump_clock):
    counter = [0]
    seen = []

    target = [0]

    async def prog(argv):
        async def busy():
            while not target[0] or counter[0] < target[0]:
                counter[0] += 1
                await libc.getpid()
            return 0

        await libc.signal(libc.SIGALRM, lambda s: None)
        pid = await libc.fork(busy)
        await libc.kill(pid, libc.SIGSTOP)
        got, status = await libc.waitpid(pid, libc.WUNTRACED)
        seen.append((got == pid, libc.WIFSTOPPED(status), libc.WSTOPSIG(status)))
        frozen = counter[0]
        await libc.alarm(2)
        await libc.pause()  # time passes; a stopped child does not run
        seen.append(counter[0] == frozen)
        await libc.kill(pid, libc.SIGCONT)
        got, status = await libc.waitpid(pid, libc.WCONTINUED)
        seen.append((got == pid, libc.WIFCONTINUED(status)))
        seen.append(await libc.waitpid(pid, libc.WNOHANG | libc.WUNTRACED | libc.WCONTINUED))
        target[0] = frozen + 10  # it runs on while we wait, and finishes
        _, status = await libc.waitpid(pid, 0)
        seen.append((counter[0] == frozen + 10, libc.WEXITSTATUS(status)))
        return 0

    assert await run(prog) == 0
    assert seen == [
        (True, True, libc.SIGSTOP),
        True,
        (True, True),
        (0, 0),
        (True, 0),
    ]


async def test_stopped_process_keeps_signals_pending_until_continued(autojump_clock):
    log = []

    async def prog(argv):
        async def child():
            await libc.signal(libc.SIGUSR1, lambda s: log.append("child handler"))
            await libc.pause()
            log.append("child pause returned")
            return 0

        await libc.signal(libc.SIGALRM, lambda s: None)
        pid = await libc.fork(child)
        await libc.alarm(1)
        await libc.pause()  # let the child install its handler and pause
        await libc.kill(pid, libc.SIGTSTP)
        await libc.waitpid(pid, libc.WUNTRACED)
        await libc.kill(pid, libc.SIGUSR1)
        log.append("sent usr1")
        await libc.kill(pid, libc.SIGCONT)
        _, status = await libc.waitpid(pid, 0)
        log.append(libc.WEXITSTATUS(status))
        return 0

    assert await run(prog) == 0
    assert log == ["sent usr1", "child handler", "child pause returned", 0]


async def test_sigchld_reaches_the_parent_and_ignoring_it_reaps(autojump_clock):
    log = []

    async def prog(argv):
        async def quick():
            return 1

        await libc.signal(libc.SIGCHLD, lambda s: log.append("sigchld"))
        await libc.sigprocmask(libc.SIG_BLOCK, {libc.SIGCHLD})  # no lost wake-up
        pid = await libc.fork(quick)
        await libc.sigsuspend(())
        log.append((await libc.waitpid(pid, 0))[0] == pid)
        await libc.signal(libc.SIGCHLD, libc.SIG_IGN)
        await libc.fork(quick)
        await libc.fork(quick)
        with pytest.raises(ChildProcessError):
            await libc.waitpid(-1, 0)  # reaped for us: no zombies
        log.append("echild")
        return 0

    assert await run(prog) == 0
    assert log == ["sigchld", True, "echild"]


async def test_handler_exception_propagates_and_the_mask_is_restored(autojump_clock):
    log = []

    def handler(sig):
        raise ValueError(sig)

    async def prog(argv):
        await libc.signal(libc.SIGUSR1, handler)
        for _ in range(2):
            try:
                await libc.raise_signal(libc.SIGUSR1)
            except ValueError as exc:
                log.append(exc.args)
        log.append(await libc.sigprocmask(libc.SIG_BLOCK, ()))
        return 0

    assert await run(prog) == 0
    assert log == [(libc.SIGUSR1,), (libc.SIGUSR1,), set()]


async def test_sa_resethand_and_sa_nodefer(autojump_clock):
    log = []

    async def once(sig):
        log.append(("once", await libc.getsignal(sig)))

    async def nodefer(sig):
        log.append(("nodefer", await libc.sigprocmask(libc.SIG_BLOCK, ())))

    async def prog(argv):
        await libc.sigaction(libc.SIGUSR1, once, flags=libc.SA_RESETHAND)
        await libc.raise_signal(libc.SIGUSR1)
        await libc.sigaction(libc.SIGUSR2, nodefer, flags=libc.SA_NODEFER)
        await libc.raise_signal(libc.SIGUSR2)
        old = await libc.sigaction(libc.SIGUSR2, libc.SIG_DFL)
        log.append(old == (nodefer, set(), libc.SA_NODEFER))
        await libc.raise_signal(libc.SIGUSR1)  # back to the default: terminate
        return 0

    assert await run(prog) == -libc.SIGUSR1
    assert log == [("once", libc.SIG_DFL), ("nodefer", set()), True]


async def test_exec_resets_caught_signals_and_keeps_ignored_and_mask(autojump_clock):
    from userland import programs

    seen = {}

    async def after(argv):
        seen["usr1"] = await libc.getsignal(libc.SIGUSR1)
        seen["usr2"] = await libc.getsignal(libc.SIGUSR2)
        seen["mask"] = await libc.sigprocmask(libc.SIG_BLOCK, ())
        return 0

    async def prog(argv):
        await libc.signal(libc.SIGUSR1, lambda s: None)
        await libc.signal(libc.SIGUSR2, libc.SIG_IGN)
        await libc.sigprocmask(libc.SIG_BLOCK, {libc.SIGHUP})
        await libc.execv("/test/after", ["after"])

    programs.register("/test/after", after)
    try:
        assert await run(prog) == 0
    finally:
        programs.unregister("/test/after")
    assert seen == {"usr1": libc.SIG_DFL, "usr2": libc.SIG_IGN, "mask": {libc.SIGHUP}}


async def test_kill_permissions_and_errors(autojump_clock):
    seen = {}

    async def victim(argv):
        await libc.pause()
        return 0

    async def user(argv):
        other = int(argv[1])
        for name, pid, sig in [
            ("root's", other, libc.SIGTERM),
            ("init", 1, libc.SIGTERM),
            ("vm term", 2, libc.SIGTERM),
            ("nobody", 30000, libc.SIGTERM),
            ("badsig", other, 99),
            ("negsig", other, -1),
        ]:
            try:
                await libc.kill(pid, sig)
                seen[name] = 0
            except OSError as exc:
                seen[name] = exc.errno
        seen["probe mine"] = await libc.kill(await libc.getpid(), 0)
        return 0

    async def root(argv):
        for name, pid, sig in [("init kill", 1, libc.SIGKILL), ("vm", 2, libc.SIGKILL)]:
            try:
                await libc.kill(pid, sig)
                seen[name] = 0
            except OSError as exc:
                seen[name] = exc.errno
        await libc.kill(1, libc.SIGTERM)  # dropped: init only gets what it catches
        seen["init term"] = 0
        return 0

    async with booted() as system:
        other = await system.spawn(victim)
        assert await system.wait(await system.spawn(user, ["user", str(other)], uid=1000)) == 0
        assert await system.wait(await system.spawn(root)) == 0
        # init is still there: spawning still works, and the victim is unharmed.
        assert await system.wait(await system.spawn(user, ["user", str(other)], uid=1000)) == 0
        await anyio.sleep(1)
        assert (await system.meminfo())["processes"] == BASE + 1
    assert seen == {
        "root's": errno.EPERM,
        "init": errno.EPERM,
        "vm term": errno.EPERM,
        "nobody": errno.ESRCH,
        "badsig": errno.EINVAL,
        "negsig": errno.EINVAL,
        "probe mine": None,
        "init kill": errno.EPERM,
        "vm": errno.EPERM,
        "init term": 0,
    }


async def test_kill_all_spares_other_users(autojump_clock):
    async def victim(argv):
        await libc.pause()
        return 0

    async def killer(argv):
        await libc.signal(libc.SIGTERM, libc.SIG_IGN)
        await libc.kill(-1, libc.SIGTERM)
        return 0

    async with booted() as system:
        mine = await system.spawn(victim, uid=1000)
        theirs = await system.spawn(victim, uid=2000)
        assert await system.wait(await system.spawn(killer, uid=1000)) == 0
        assert await system.wait(mine) == -libc.SIGTERM
        await anyio.sleep(1)
        assert (await system.meminfo())["processes"] == BASE + 1  # the boot image, and theirs

        async def reaper(argv):
            await libc.kill(int(argv[1]), libc.SIGKILL)
            return 0

        await system.wait(await system.spawn(reaper, ["r", str(theirs)]))
        assert await system.wait(theirs) == -libc.SIGKILL


async def test_signal_argument_errors(autojump_clock):
    seen = []

    async def prog(argv):
        for bad in (0, 32, 99):
            with pytest.raises(OSError) as exc:
                await libc.signal(bad, libc.SIG_IGN)
            seen.append(exc.value.errno)
        with pytest.raises(TypeError):
            await libc.signal(libc.SIGINT, "nope")
        with pytest.raises(ValueError):
            await libc.sigprocmask(libc.SIG_BLOCK, {77})
        with pytest.raises(OSError) as exc:
            await libc.sigprocmask(7, ())
        seen.append(exc.value.errno)
        with pytest.raises(OSError) as exc:
            await libc.sigaction(libc.SIGINT, libc.SIG_IGN, flags=0x4)
        seen.append(exc.value.errno)
        return 0

    assert await run(prog) == 0
    assert seen == [errno.EINVAL] * 5


@pytest.mark.parametrize(
    ("policy", "seed"), [("fifo", 0)] + [(p, s) for p in ("random", "pct") for s in range(12)]
)
async def test_a_signal_racing_a_blocking_call_never_leaves_its_handler_behind(
    autojump_clock, policy, seed
):
    """A caught signal marked while the target's waitpid is on its way to PM must not
    let the waitpid block with the handler waiting behind it (MINIX's DELAY_CALL)."""
    log = []

    async def prog(argv):
        me = await libc.getpid()
        await libc.signal(libc.SIGUSR1, lambda s: log.append("handler"))

        async def sleeper():
            await libc.pause()
            return 0

        a = await libc.fork(sleeper)

        async def signaller():
            await libc.kill(me, libc.SIGUSR1)
            await libc.signal(libc.SIGALRM, lambda s: log.append("timeout"))
            await libc.alarm(1)
            await libc.pause()
            await libc.kill(a, libc.SIGKILL)  # ends the wait if the signal came first
            return 0

        b = await libc.fork(signaller)
        try:
            got, _ = await libc.waitpid(a, 0)
            log.append(("reaped", got == a))
        except InterruptedError:
            log.append("EINTR")
            await libc.kill(a, libc.SIGKILL)
            await libc.waitpid(a, 0)
        await libc.waitpid(b, 0)
        return 0

    assert await run(prog, policy=policy, seed=seed) == 0
    # The handler ran at once: as the interrupted call returned EINTR, or on the way
    # into a waitpid that then waited for the timeout - never after the timeout.
    assert log in (
        ["handler", "EINTR", "timeout"],
        ["handler", "timeout", ("reaped", True)],
    )
