"""Job control on a pty slave (chardev/tty/terminal.py, docs/pty.md), ttyname of a slave,
and the owner of the slave's node.

Each scenario is a program (the "emulator") that holds a pty master and forks a session
leader; the leader opens the slave as its controlling terminal and runs jobs on it, as
a shell would; the emulator types at the master.
"""

import errno
import stat

from tests.pm.support import booted, errno_of
from tests.userland.test_jobcontrol import _job, _waitall
from userland import libc


async def _master():
    """A new unlocked pty: (master fd, slave path)."""
    master = await libc.posix_openpt(libc.O_RDWR | libc.O_NOCTTY)
    await libc.unlockpt(master)
    return master, await libc.ptsname(master)


async def _session(master, name):
    """In the leader: drop the master, setsid, open the slave as controlling terminal."""
    await libc.close(master)
    await libc.setsid()
    return await libc.open(name, libc.O_RDWR)


async def _run(prog, *, uid=0):
    async with booted(memory=8 * 2**20) as system:
        return await system.wait(await system.spawn(prog, uid=uid))


async def test_ctrl_c_on_the_master_kills_the_slaves_foreground_group(autojump_clock):
    seen = {}

    async def prog(argv):
        master, name = await _master()

        async def leader():
            fd = await _session(master, name)

            async def reader():
                await libc.read(fd, 10)
                return 0

            pgrp, pids = await _job([reader, reader], fd)
            seen["fg"], seen["pgrp"] = await libc.tcgetpgrp(fd), pgrp
            seen["statuses"] = await _waitall(pids)
            return 0

        pid = await libc.fork(leader)
        await libc.sleep(1)
        await libc.write(master, b"\x03")
        seen["leader"] = (await libc.waitpid(pid, 0))[1]
        seen["echo"] = await libc.read(master, 100)
        return 0

    assert await _run(prog) == 0
    assert seen["fg"] == seen["pgrp"]
    assert [(libc.WIFSIGNALED(s), libc.WTERMSIG(s)) for s in seen["statuses"]] == [
        (True, libc.SIGINT)
    ] * 2
    assert libc.WIFEXITED(seen["leader"]) and libc.WEXITSTATUS(seen["leader"]) == 0
    assert seen["echo"] == b"^C"


async def test_ctrl_z_on_the_master_stops_the_foreground_group(autojump_clock):
    seen = {}

    async def prog(argv):
        master, name = await _master()

        async def leader():
            fd = await _session(master, name)

            async def reader():
                return len(await libc.read(fd, 10))

            pgrp, pids = await _job([reader], fd)
            (stop,) = await _waitall(pids, libc.WUNTRACED)
            seen["stopped"] = (libc.WIFSTOPPED(stop), libc.WSTOPSIG(stop))
            await libc.killpg(pgrp, libc.SIGCONT)
            seen["exited"] = await _waitall(pids)
            return 0

        pid = await libc.fork(leader)
        await libc.sleep(1)
        await libc.write(master, b"\x1a")
        await libc.sleep(1)
        await libc.write(master, b"abc\r")
        await libc.waitpid(pid, 0)
        return 0

    assert await _run(prog) == 0
    assert seen["stopped"] == (True, libc.SIGTSTP)
    (status,) = seen["exited"]
    assert libc.WIFEXITED(status) and libc.WEXITSTATUS(status) == 4


async def test_tiocswinsz_from_either_side_sends_sigwinch_to_the_foreground(autojump_clock):
    seen = {"count": 0}

    def winch(sig):
        seen["count"] += 1

    async def prog(argv):
        master, name = await _master()

        async def leader():
            fd = await _session(master, name)

            async def reader():
                await libc.signal(libc.SIGWINCH, lambda s: seen.setdefault("handler", s))
                seen["errno"] = await errno_of(libc.read(fd, 10))
                seen["size"] = await libc.tcgetwinsize(fd)
                return 0

            _pgrp, pids = await _job([reader], fd)
            await _waitall(pids)
            await libc.signal(libc.SIGTTOU, libc.SIG_IGN)  # take the terminal back, as a shell
            await libc.tcsetpgrp(fd, await libc.getpgrp())
            await libc.signal(libc.SIGWINCH, winch)
            await libc.sigprocmask(libc.SIG_BLOCK, [libc.SIGWINCH])
            await libc.tcsetwinsize(fd, (40, 120))  # the slave's own side
            await libc.sigsuspend([])
            seen["slave side"] = seen["count"]
            return 0

        pid = await libc.fork(leader)
        await libc.sleep(1)
        await libc.tcsetwinsize(master, (30, 100))
        await libc.waitpid(pid, 0)
        seen["final"] = await libc.tcgetwinsize(master)
        return 0

    assert await _run(prog) == 0
    assert seen["handler"] == libc.SIGWINCH
    assert seen["errno"] == errno.EINTR
    assert seen["size"] == (30, 100)
    assert seen["slave side"] == 1
    assert seen["final"] == (40, 120)


async def test_background_jobs_get_sigttin_and_sigttou_on_the_slave(autojump_clock):
    seen = {}

    async def prog(argv):
        master, name = await _master()

        async def leader():
            fd = await _session(master, name)
            await libc.signal(libc.SIGTTOU, libc.SIG_IGN)  # a shell's tcsetpgrp from behind

            async def reader():
                seen["line"] = await libc.read(fd, 10)
                return 0

            async def changer():
                await libc.signal(libc.SIGTTOU, libc.SIG_DFL)
                await libc.tcsetattr(fd, libc.TCSANOW, await libc.tcgetattr(fd))
                return 0

            pgrp, pids = await _job([reader])  # in the background
            _, status = await libc.waitpid(pids[0], libc.WUNTRACED)
            seen["ttin"] = (libc.WIFSTOPPED(status), libc.WSTOPSIG(status))
            await libc.tcsetpgrp(fd, pgrp)
            await libc.killpg(pgrp, libc.SIGCONT)
            seen["reader"] = (await libc.waitpid(pids[0], 0))[1]
            await libc.tcsetpgrp(fd, await libc.getpgrp())
            pgrp, pids = await _job([changer])
            _, status = await libc.waitpid(pids[0], libc.WUNTRACED)
            seen["ttou"] = (libc.WIFSTOPPED(status), libc.WSTOPSIG(status))
            await libc.killpg(pgrp, libc.SIGKILL)
            await libc.waitpid(pids[0], 0)
            return 0

        pid = await libc.fork(leader)
        await libc.sleep(1)
        await libc.write(master, b"hi\r")
        await libc.waitpid(pid, 0)
        return 0

    assert await _run(prog) == 0
    assert seen["ttin"] == (True, libc.SIGTTIN)
    assert seen["line"] == b"hi\n"
    assert libc.WIFEXITED(seen["reader"]) and libc.WEXITSTATUS(seen["reader"]) == 0
    assert seen["ttou"] == (True, libc.SIGTTOU)


async def test_master_close_sighups_only_the_leader_and_ends_the_session(autojump_clock):
    seen = {"leader hups": 0, "job hups": 0}

    async def prog(argv):
        master, name = await _master()
        ready_r, ready_w = await libc.pipe()

        async def leader():
            await libc.signal(
                libc.SIGHUP, lambda s: seen.update({"leader hups": 1 + seen["leader hups"]})
            )
            fd = await _session(master, name)

            async def reader():
                await libc.signal(libc.SIGHUP, lambda s: seen.update({"job hups": 1}))
                await libc.write(ready_w, b"!")
                seen["job read"] = await libc.read(fd, 10)  # end of file
                return 0

            _pgrp, pids = await _job([reader], fd)
            while "job" not in seen:  # SIGHUP interrupts the wait
                try:
                    seen["job"] = (await libc.waitpid(pids[0], 0))[1]
                except InterruptedError:
                    continue
            seen["tcgetpgrp"] = await errno_of(libc.tcgetpgrp(fd))
            await libc.sleep(1)
            seen["hups later"] = seen["leader hups"]
            return 0

        pid = await libc.fork(leader)
        await libc.read(ready_r, 1)
        await libc.sleep(1)
        await libc.close(master)
        seen["leader"] = (await libc.waitpid(pid, 0))[1]
        return 0

    assert await _run(prog) == 0
    assert seen["job read"] == b""
    assert libc.WIFEXITED(seen["job"]) and libc.WEXITSTATUS(seen["job"]) == 0
    assert seen["job hups"] == 0
    assert seen["tcgetpgrp"] == errno.ENOTTY
    assert seen["hups later"] == 1
    assert libc.WIFEXITED(seen["leader"]) and libc.WEXITSTATUS(seen["leader"]) == 0


async def test_ttyname_of_a_slave_and_a_master(autojump_clock):
    seen = {}

    async def prog(argv):
        master, slave = await libc.openpty()
        seen["slave"] = await libc.ttyname(slave)
        seen["master"] = await errno_of(libc.ttyname(master))
        _master2, slave2 = await libc.openpty()
        seen["second"] = await libc.ttyname(slave2)
        return 0

    assert await _run(prog) == 0
    assert seen == {"slave": "/dev/pts/0", "master": errno.ENODEV, "second": "/dev/pts/1"}


async def test_the_slave_node_belongs_to_the_opener_of_ptmx(autojump_clock):
    seen = {}

    async def prog(argv):
        async def user():
            await libc.setgid(50)
            await libc.setuid(100)
            master, name = await _master()
            st = await libc.stat(name)
            seen["node"] = (stat.S_IFMT(st.st_mode), st.st_mode & 0o7777, st.st_uid, st.st_gid)
            slave = await libc.open(name, libc.O_RDWR | libc.O_NOCTTY)
            await libc.write(master, b"mine\r")
            seen["line"] = await libc.read(slave, 10)
            nonblocking = await libc.open("/dev/ptmx", libc.O_RDWR | libc.O_NONBLOCK)
            seen["nonblocking"] = await libc.ptsname(nonblocking)  # waits for the node anyway
            seen["its owner"] = (await libc.stat(seen["nonblocking"])).st_uid
            return 0

        seen["status"] = (await libc.waitpid(await libc.fork(user), 0))[1]
        return 0

    assert await _run(prog) == 0
    assert seen["status"] == 0
    assert seen["node"] == (stat.S_IFCHR, 0o620, 100, 50)
    assert seen["line"] == b"mine\n"
    assert seen["nonblocking"] == "/dev/pts/1" and seen["its owner"] == 100
