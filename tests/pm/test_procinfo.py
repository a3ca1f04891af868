"""PmProcinfo / libc.getprocs: every entry of PM's table, states, names, bad requests."""

import errno

from kernel.com import PM_PROC_NR
from servers.pm import protocol as pmp
from tests.pm.support import BASE, booted, errno_of
from userland import libc
from userland.libc._syscall import call


async def test_getprocs_walks_the_whole_table(autojump_clock):
    seen = {}

    async def prog(argv):
        me = await libc.getpid()

        async def sleeper():
            await libc.pause()
            return 0

        async def quitter():
            return 7

        sleeping = await libc.fork(sleeper)
        stopped = await libc.fork(sleeper)
        zombie = await libc.fork(quitter)
        await libc.kill(stopped, libc.SIGSTOP)
        await libc.waitpid(stopped, libc.WUNTRACED)
        await libc.sleep(1)  # let the sleeper reach pause and the quitter exit
        seen["procs"] = await libc.getprocs()
        seen["ids"] = (me, sleeping, stopped, zombie)
        for pid in (sleeping, stopped):
            await libc.kill(pid, libc.SIGKILL)
        for pid in (sleeping, stopped, zombie):
            await libc.waitpid(pid, 0)
        seen["after"] = [p.pid for p in await libc.getprocs()]
        return 0

    async with booted() as system:
        pid = await system.spawn(prog, ["prog"], uid=100)
        assert await system.wait(pid) == 0
    procs = seen["procs"]
    me, sleeping, stopped, zombie = seen["ids"]
    by_pid = {p.pid: p for p in procs}
    assert [p.pid for p in procs] == sorted(by_pid)
    assert len(procs) == BASE + 4
    assert by_pid[0].cpu_time > 0  # PM has run (its CPU time is the kernel's)
    assert by_pid[0]._replace(cpu_time=0.0) == libc.ProcInfo(0, 0, 0, 0, 0, 0, "R", True, "pm")
    assert {p.name for p in procs if p.system} == {"pm", "vm", "vfs", "ramfs", "ds", "rs"}
    init = by_pid[1]
    assert (init.name, init.ppid, init.system, init.state) == ("init", 0, False, "S")
    mine = by_pid[me]
    assert (mine.name, mine.ppid, mine.uid, mine.euid, mine.state) == ("prog", 1, 100, 100, "R")
    assert mine.pgrp == by_pid[sleeping].pgrp
    states = {p.pid: p.state for p in procs}
    assert (states[sleeping], states[stopped], states[zombie]) == ("S", "T", "Z")
    assert by_pid[zombie].ppid == me
    assert sleeping not in seen["after"]
    assert me in seen["after"]
    assert len(seen["after"]) == BASE + 1


async def test_bad_procinfo_requests(autojump_clock):
    seen = []

    async def prog(argv):
        buf = await libc.malloc(pmp.PROCINFO.size)
        seen.extend(
            [
                await errno_of(call(PM_PROC_NR, msg))
                for msg in (
                    pmp.PmProcinfo(-1, buf, pmp.PROCINFO.size - 1),
                    pmp.PmProcinfo(-1, 0, pmp.PROCINFO.size),
                    pmp.PmProcinfo(-1, 0xF000_0000, pmp.PROCINFO.size),
                    pmp.PmProcinfo(-1, 0x1000, pmp.PROCINFO.size),  # never mapped
                    pmp.PmProcinfo(-1, 0x0804_8000, pmp.PROCINFO.size),  # read-only text
                    pmp.PmProcinfo(10**9, buf, pmp.PROCINFO.size),
                    pmp.PmProcinfo("x", buf, pmp.PROCINFO.size),
                )
            ]
        )
        reply = await call(PM_PROC_NR, pmp.PmProcinfo(0, buf, pmp.PROCINFO.size))
        seen.append(reply.value)
        return 0

    async with booted() as system:
        assert await system.wait(await system.spawn(prog)) == 0
    assert seen == [errno.EINVAL] + [errno.EFAULT] * 4 + [errno.ESRCH, errno.EINVAL, 1]


async def test_getprocs_reports_the_sessions_controlling_terminal(autojump_clock):
    seen = {}

    async def prog(argv):
        master = await libc.posix_openpt(libc.O_RDWR | libc.O_NOCTTY)
        await libc.unlockpt(master)
        name = await libc.ptsname(master)
        r, w = await libc.pipe()

        async def leader():
            await libc.close(master)
            await libc.setsid()
            fd = await libc.open(name, libc.O_RDWR)  # becomes the controlling terminal
            seen["rdev"] = (await libc.fstat(fd)).st_rdev
            seen["ttyname"] = await libc.ttyname(fd)
            await libc.write(w, b"x")
            while True:
                await libc.pause()

        pid = await libc.fork(leader)
        await libc.read(r, 1)
        seen["during"] = {p.pid: p.tty for p in await libc.getprocs()}
        await libc.kill(pid, libc.SIGKILL)
        await libc.waitpid(pid, 0)
        seen["after"] = {p.pid: p.tty for p in await libc.getprocs()}
        seen["ids"] = (await libc.getpid(), pid, name)
        return 0

    async with booted() as system:
        assert await system.wait(await system.spawn(prog)) == 0
    me, leader, name = seen["ids"]
    rdev = seen["rdev"]
    assert rdev != 0 and seen["ttyname"] == name
    assert seen["during"][leader] == rdev  # the device number VFS's stat reports
    assert {pid: tty for pid, tty in seen["during"].items() if tty} == {leader: rdev}
    assert seen["during"][me] == 0
    assert not any(seen["after"].values())
