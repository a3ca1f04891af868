"""fork, exit, waitpid, zombies, orphans and the process-table limit, through libc."""

import errno

import anyio
import pytest

from tests.pm.support import BASE, booted, run
from userland import libc


async def test_spawn_and_wait_return_the_exit_status(autojump_clock):
    async def three(argv):
        return 3

    async def none(argv):
        return None

    async def big(argv):
        return 300

    async def raises(argv):
        raise ValueError("boom")

    async def exits(argv):
        raise SystemExit(5)

    async def underscore_exit(argv):
        await libc._exit(9)

    async with booted() as system:
        mains = (three, none, big, raises, exits, underscore_exit)
        got = [await system.wait(await system.spawn(main)) for main in mains]
    assert got == [3, 0, 300 & 0xFF, 1, 5, 9]


async def test_argv_reaches_main_through_the_stack(autojump_clock):
    seen = []

    async def prog(argv):
        seen.append(argv)
        seen.append(libc.getenv("PATH"))
        return len(argv)

    assert await run(prog, ["prog", "a b", "", "ünï"]) == 4
    assert seen == [["prog", "a b", "", "ünï"], "/bin:/usr/bin"]


async def test_pids_and_parents(autojump_clock):
    seen = {}

    async def prog(argv):
        seen["pid"] = await libc.getpid()
        seen["ppid"] = await libc.getppid()

        async def child():
            seen["child_pid"] = await libc.getpid()
            seen["child_ppid"] = await libc.getppid()
            return 7

        seen["forked"] = await libc.fork(child)
        seen["waited"] = await libc.waitpid(seen["forked"], 0)
        return 0

    assert await run(prog) == 0
    assert seen["ppid"] == 1
    assert seen["child_pid"] == seen["forked"] != seen["pid"]
    assert seen["child_ppid"] == seen["pid"]
    pid, status = seen["waited"]
    assert pid == seen["forked"]
    assert libc.WIFEXITED(status) and libc.WEXITSTATUS(status) == 7
    assert not libc.WIFSIGNALED(status)


async def test_fork_copy_on_write_keeps_parent_and_child_apart(autojump_clock):
    seen = {}

    async def prog(argv):
        addr = await libc.malloc(64)
        await libc.poke(addr, b"parent")

        async def child():
            seen["child_sees"] = await libc.peek(addr, 6)
            await libc.poke(addr, b"child!")
            seen["child_after"] = await libc.peek(addr, 6)
            return 0

        pid = await libc.fork(child)
        await libc.waitpid(pid, 0)
        seen["parent_after"] = await libc.peek(addr, 6)
        await libc.poke(addr, b"again!")

        async def child2():
            seen["child2_sees"] = await libc.peek(addr, 6)
            return 0

        await libc.waitpid(await libc.fork(child2), 0)
        return 0

    assert await run(prog) == 0
    assert seen == {
        "child_sees": b"parent",
        "child_after": b"child!",
        "parent_after": b"parent",
        "child2_sees": b"again!",
    }


async def test_fork_child_inherits_dispositions_mask_ids_and_heap_books(autojump_clock):
    seen = {}

    async def handler(sig):
        seen.setdefault("handled", []).append(sig)

    async def prog(argv):
        await libc.signal(libc.SIGUSR1, libc.SIG_IGN)
        await libc.signal(libc.SIGUSR2, handler)
        await libc.sigprocmask(libc.SIG_BLOCK, {libc.SIGHUP})
        block = await libc.malloc(100)

        async def child():
            seen["usr1"] = await libc.getsignal(libc.SIGUSR1)
            seen["usr2"] = await libc.getsignal(libc.SIGUSR2)
            seen["mask"] = await libc.sigprocmask(libc.SIG_BLOCK, ())
            seen["ids"] = (await libc.getuid(), await libc.geteuid(), await libc.getgid())
            seen["pgrp"] = await libc.getpgrp()
            await libc.free(block)  # the child's malloc knows the parent's blocks
            await libc.kill(await libc.getpid(), libc.SIGUSR2)
            return 0

        _, status = await libc.waitpid(await libc.fork(child), 0)
        seen["parent_pgrp"] = await libc.getpgrp()
        return libc.WEXITSTATUS(status)

    assert await run(prog, uid=1000) == 0
    assert seen["usr1"] is libc.SIG_IGN
    assert seen["usr2"] is handler
    assert seen["mask"] == {libc.SIGHUP}
    assert seen["ids"] == (1000, 1000, 1000)
    assert seen["pgrp"] == seen["parent_pgrp"]
    assert seen["handled"] == [libc.SIGUSR2]


async def test_waitpid_errors_and_wnohang(autojump_clock):
    seen = {}

    async def prog(argv):
        with pytest.raises(ChildProcessError):
            await libc.waitpid(-1, 0)
        with pytest.raises(ChildProcessError):
            await libc.waitpid(1, 0)  # init is not our child

        async def child():
            await libc.pause()
            return 0

        pid = await libc.fork(child)
        seen["nohang"] = await libc.waitpid(pid, libc.WNOHANG)
        with pytest.raises(OSError) as exc:
            await libc.waitpid(pid, 0x4000)
        seen["badflags"] = exc.value.errno
        await libc.kill(pid, libc.SIGTERM)
        seen["killed"] = await libc.waitpid(-1, 0)
        with pytest.raises(ChildProcessError):
            await libc.waitpid(pid, 0)  # reaped already
        return 0

    assert await run(prog) == 0
    assert seen["nohang"] == (0, 0)
    assert seen["badflags"] == errno.EINVAL
    _, status = seen["killed"]
    assert libc.WIFSIGNALED(status) and libc.WTERMSIG(status) == libc.SIGTERM
    assert libc.waitstatus_to_exitcode(status) == -libc.SIGTERM


async def test_waitpid_by_group_and_any(autojump_clock):
    seen = []

    async def prog(argv):
        async def leader():
            await libc.setpgid(0, 0)
            await libc.pause()
            return 0

        async def quick():
            return 5

        a = await libc.fork(leader)
        await libc.setpgid(a, a)  # both sides set it: no race
        b = await libc.fork(quick)
        seen.append(await libc.waitpid(0, 0))  # b is in our group, a is not
        await libc.kill(a, libc.SIGKILL)
        seen.append(await libc.waitpid(-a, 0))
        seen.append((a, b))
        return 0

    assert await run(prog) == 0
    (pb, sb), (pa, sa), (a, b) = seen
    assert (pb, libc.WEXITSTATUS(sb)) == (b, 5)
    assert (pa, libc.WTERMSIG(sa)) == (a, libc.SIGKILL)


async def test_system_wait_reports_signals_negative(autojump_clock):
    async def sleeper(argv):
        await libc.pause()
        return 0

    async def killer(argv):
        await libc.kill(int(argv[1]), libc.SIGUSR1)
        return 0

    async with booted() as system:
        victim = await system.spawn(sleeper)
        assert await system.wait(await system.spawn(killer, ["killer", str(victim)])) == 0
        assert await system.wait(victim) == -libc.SIGUSR1
        assert await system.wait(victim) == -libc.SIGUSR1  # remembered after init reaped it
        with pytest.raises(ChildProcessError):
            await system.wait(12345)


@pytest.mark.parametrize(
    ("what", "addr"),
    [("peek", 0), ("peek", 0xF000_0000), ("poke", 0x0804_8000), ("poke", 0xDEAD_0000)],
)
async def test_bad_memory_access_is_sigsegv(autojump_clock, what, addr):
    reached = []

    async def prog(argv):
        if what == "peek":
            await libc.peek(addr, 4)
        else:
            await libc.poke(addr, b"x")
        reached.append(True)
        return 0

    assert await run(prog) == -libc.SIGSEGV
    assert reached == []


async def test_parent_sees_sigsegv_of_a_child(autojump_clock):
    seen = []

    async def prog(argv):
        async def child():
            await libc.peek(8, 1)
            return 0

        _, status = await libc.waitpid(await libc.fork(child), 0)
        seen.append(status)
        return 0

    assert await run(prog) == 0
    assert libc.WIFSIGNALED(seen[0]) and libc.WTERMSIG(seen[0]) == libc.SIGSEGV


async def test_orphans_go_to_init_which_reaps_them(autojump_clock):
    seen = {}

    def noop(sig):
        pass

    async def prog(argv):
        async def middle():
            async def grandchild():
                await libc.signal(libc.SIGALRM, noop)
                await libc.alarm(5)
                await libc.pause()  # the middle process is gone by now
                seen["ppid"] = await libc.getppid()
                return 4

            seen["grandchild"] = await libc.fork(grandchild)
            return 0

        await libc.waitpid(await libc.fork(middle), 0)
        return 0

    async def probe(argv):
        try:
            await libc.kill(seen["grandchild"], 0)
        except ProcessLookupError:
            return 1
        return 0

    async with booted() as system:
        assert await system.wait(await system.spawn(prog)) == 0
        assert await system.wait(await system.spawn(probe)) == 0  # still alive
        await anyio.sleep(10)
        assert await system.wait(await system.spawn(probe)) == 1  # reaped by init
        await anyio.sleep(1)  # let init reap the probe too
        info = await system.meminfo()
    assert seen["ppid"] == 1
    assert info["processes"] == BASE  # the boot image: every zombie was collected


async def test_process_table_limit_gives_eagain_and_the_system_carries_on(autojump_clock):
    seen = {}

    async def prog(argv):
        async def child():
            await libc.pause()
            return 0

        pids = []
        try:
            while True:
                pids.append(await libc.fork(child))
        except BlockingIOError as exc:
            seen["errno"] = exc.errno
        seen["count"] = len(pids)
        for pid in pids:
            await libc.kill(pid, libc.SIGKILL)
        for pid in pids:
            await libc.waitpid(pid, 0)

        async def again():
            return 6

        _, status = await libc.waitpid(await libc.fork(again), 0)
        return libc.WEXITSTATUS(status)

    async with booted(max_procs=24) as system:
        assert await system.wait(await system.spawn(prog, uid=100)) == 6
    # pm, vm, init and prog: 4 entries; LAST_FEW = 2 are kept for root.
    assert seen == {"errno": errno.EAGAIN, "count": 24 - 2 - (BASE + 1)}


async def test_default_process_table_limit(autojump_clock):
    seen = {}

    async def prog(argv):
        async def child():
            await libc.pause()
            return 0

        pids = []
        try:
            while True:
                pids.append(await libc.fork(child))
        except BlockingIOError:
            pass
        seen["count"] = len(pids)
        await libc.kill(-1, libc.SIGKILL)  # everyone we may signal, ourselves last
        return 0

    async with booted() as system:
        pid = await system.spawn(prog)
        assert await system.wait(pid) == -libc.SIGKILL
        await anyio.sleep(1)
        info = await system.meminfo()
        services = len(system.bodies["rs"].rs.services)  # RS's drivers hold kernel slots too
    assert seen["count"] == 256 - (BASE + 1) - services
    assert info["processes"] == BASE
