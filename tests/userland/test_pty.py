"""Unix98 ptys through libc on a booted system (chardev/tty/pty.py, docs/pty.md)."""

import errno
import stat

from tests.pm.support import booted, errno_of
from userland import libc


async def _read_until(fd, want, limit=50):
    """Read ``fd`` until ``want`` has arrived (a pty master delivers in pieces)."""
    got = b""
    for _ in range(limit):
        if want in got:
            break
        got += await libc.read(fd, 1024)
    return got


async def _run(prog, *, uid=0):
    async with booted(memory=8 * 2**20) as system:
        status = await system.wait(await system.spawn(prog, uid=uid))
    return status


async def test_openpty_line_echo_and_output_processing(autojump_clock):
    seen = {}

    async def prog(argv):
        master, slave = await libc.openpty()
        seen["name"] = await libc.ptsname(master)
        seen["isatty"] = (await libc.isatty(master), await libc.isatty(slave))
        await libc.write(master, b"hello\r")
        seen["line"] = await libc.read(slave, 100)
        seen["echo"] = await _read_until(master, b"\r\n")
        await libc.write(slave, b"out\nput\n")
        seen["out"] = await _read_until(master, b"put\r\n")
        await libc.close(slave)
        await libc.close(master)
        return 0

    assert await _run(prog) == 0
    assert seen["name"] == "/dev/pts/0"
    assert seen["isatty"] == (True, True)
    assert seen["line"] == b"hello\n"
    assert seen["echo"] == b"hello\r\n"
    assert seen["out"] == b"out\r\nput\r\n"


async def test_pts_node_lifetime_owner_mode_and_lock(autojump_clock):
    seen = {}

    async def prog(argv):
        seen["empty"] = await libc.listdir("/dev/pts")
        master = await libc.posix_openpt(libc.O_RDWR | libc.O_NOCTTY)
        name = await libc.ptsname(master)
        seen["listed"] = await libc.listdir("/dev/pts")
        st = await libc.stat(name)
        seen["stat"] = (stat.S_IFMT(st.st_mode), st.st_mode & 0o7777, st.st_uid)
        seen["rdev"] = st.st_rdev
        seen["locked"] = await errno_of(libc.open(name, libc.O_RDWR))
        await libc.grantpt(master)
        await libc.unlockpt(master)
        slave = await libc.open(name, libc.O_RDWR | libc.O_NOCTTY)
        await libc.close(master)
        seen["after master"] = await libc.listdir("/dev/pts")
        await libc.close(slave)
        seen["after both"] = await libc.listdir("/dev/pts")
        seen["stat gone"] = await errno_of(libc.stat(name))
        return 0

    async with booted(memory=8 * 2**20) as system:
        pid = await system.spawn(prog)
        status = await system.wait(pid)
    assert status == 0, seen
    assert seen["empty"] == []
    assert seen["listed"] == ["0"]
    assert seen["stat"] == (stat.S_IFCHR, 0o620, 0)
    assert seen["rdev"] == (9 << 8) | 192
    assert seen["locked"] == errno.EIO
    assert seen["after master"] == ["0"]
    assert seen["after both"] == []
    assert seen["stat gone"] == errno.ENOENT


async def test_master_close_hangs_up_the_slave_and_sighups_its_leader_once(autojump_clock):
    seen = {"hups": 0}

    async def prog(argv):
        master = await libc.posix_openpt(libc.O_RDWR | libc.O_NOCTTY)
        await libc.unlockpt(master)
        name = await libc.ptsname(master)
        r, w = await libc.pipe()

        async def leader():
            def on_hup(sig):
                seen["hups"] += 1

            await libc.signal(libc.SIGHUP, on_hup)
            await libc.close(master)  # only the parent holds the master
            await libc.setsid()
            slave = await libc.open(name, libc.O_RDWR)  # becomes the controlling terminal
            ctty = await libc.open("/dev/tty", libc.O_RDWR)
            await libc.write(w, b"x")
            while True:  # the hang-up wakes the read, or SIGHUP interrupts it first
                try:
                    seen["read"] = await libc.read(slave, 10)
                    break
                except InterruptedError:
                    continue
            seen["read again"] = await libc.read(ctty, 10)
            seen["write"] = await errno_of(libc.write(slave, b"late\n"))
            seen["reopen"] = await errno_of(libc.open(name, libc.O_RDWR | libc.O_NOCTTY))
            await libc.sleep(1)
            seen["hups at exit"] = seen["hups"]
            return 0

        pid = await libc.fork(leader)
        await libc.read(r, 1)
        await libc.close(master)
        _, status = await libc.waitpid(pid, 0)
        seen["status"] = status
        seen["node"] = await libc.listdir("/dev/pts")
        return 0

    assert await _run(prog) == 0
    assert libc.WIFEXITED(seen["status"]) and libc.WEXITSTATUS(seen["status"]) == 0
    assert seen["read"] == b"" and seen["read again"] == b""
    assert seen["write"] == seen["reopen"] == errno.EIO
    assert seen["hups at exit"] == 1
    assert seen["node"] == []


async def test_slave_close_makes_master_io_fail_and_input_survives_reopen(autojump_clock):
    seen = {}

    async def prog(argv):
        master = await libc.posix_openpt(libc.O_RDWR | libc.O_NOCTTY)
        await libc.unlockpt(master)
        name = await libc.ptsname(master)
        await libc.write(master, b"early\r")  # before any slave open
        slave = await libc.open(name, libc.O_RDWR | libc.O_NOCTTY)
        seen["early"] = await libc.read(slave, 100)
        await libc.write(master, b"kept\r")
        await libc.write(slave, b"bye\n")
        await libc.close(slave)
        seen["master write"] = await errno_of(libc.write(master, b"x"))
        seen["pending"] = await _read_until(master, b"bye\r\n")
        seen["master read"] = await errno_of(libc.read(master, 100))
        slave = await libc.open(name, libc.O_RDWR | libc.O_NOCTTY)
        seen["kept"] = await libc.read(slave, 100)
        seen["write again"] = await libc.write(master, b"z")
        await libc.close(slave)
        await libc.close(master)
        return 0

    assert await _run(prog) == 0
    assert seen["early"] == b"early\n"
    assert seen["master write"] == errno.EIO
    assert seen["pending"] == b"early\r\nkept\r\nbye\r\n"
    assert seen["master read"] == errno.EIO
    assert seen["kept"] == b"kept\n"
    assert seen["write again"] == 1


async def test_full_pty_writers_finish_while_their_readers_read(autojump_clock):
    size = 20_000
    seen = {}

    async def prog(argv):
        master, slave = await libc.openpty()
        attrs = await libc.tcgetattr(slave)
        attrs[0] &= ~(libc.ICRNL | libc.INLCR | libc.IGNCR | libc.ISTRIP | libc.BRKINT)
        attrs[1] &= ~libc.OPOST
        attrs[3] &= ~(libc.ICANON | libc.ECHO | libc.ISIG | libc.IEXTEN)
        await libc.tcsetattr(slave, libc.TCSANOW, attrs)
        data = bytes(i % 251 for i in range(size))

        async def writer(fd):
            async def body():
                done = 0
                while done < size:
                    done += await libc.write(fd, data[done:])
                return 0

            return body

        async def drain(fd):
            got = b""
            while len(got) < size:
                got += await libc.read(fd, 4096)
            return got

        for wfd, rfd, key in (
            (slave, master, "slave to master"),
            (master, slave, "master to slave"),
        ):
            pid = await libc.fork(await writer(wfd))
            seen[key] = await drain(rfd) == data
            _, status = await libc.waitpid(pid, 0)
            seen[key + " status"] = status
        return 0

    assert await _run(prog) == 0
    assert seen["slave to master"] is True and seen["master to slave"] is True
    assert seen["slave to master status"] == 0 and seen["master to slave status"] == 0


async def test_select_on_master_and_slave(autojump_clock):
    seen = {}

    async def prog(argv):
        master, slave = await libc.openpty()
        seen["fds"] = (master, slave)
        seen["idle"] = await libc.select([master, slave], [master, slave], [], 0)
        await libc.write(master, b"ab")  # echoed, but no line yet
        seen["partial"] = await libc.select([master, slave], [], [], 0)
        await libc.read(master, 10)
        await libc.write(master, b"\r")
        seen["line"] = await libc.select([slave], [], [], 0)

        async def later():
            await libc.sleep(1)
            await libc.write(slave, b"!")
            return 0

        pid = await libc.fork(later)
        seen["wait"] = await libc.select([master], [], [], 5)
        await libc.waitpid(pid, 0)
        await libc.close(slave)
        seen["slave gone"] = await libc.select([master], [master], [], 0)
        return 0

    assert await _run(prog) == 0
    m, s = seen["fds"]
    assert seen["idle"] == ([], [m, s], [])
    assert seen["partial"] == ([m], [], [])  # the echo is readable; no line yet
    assert seen["line"] == ([s], [], [])
    assert seen["wait"] == ([m], [], [])
    assert seen["slave gone"] == ([m], [m], [])  # both fail at once with EIO


async def test_bad_minors_and_not_a_master(autojump_clock):
    seen = {}

    async def prog(argv):
        for name, minor in (("master0", 128), ("slave5", 197), ("other", 100)):
            await libc.mknod(f"/tmp/{name}", stat.S_IFCHR | 0o666, libc.makedev(9, minor))
            seen[name] = await errno_of(libc.open(f"/tmp/{name}", libc.O_RDWR))
        fd = await libc.open("/dev/null", libc.O_RDWR)
        seen["ptsname null"] = await errno_of(libc.ptsname(fd))
        seen["unlockpt null"] = await errno_of(libc.unlockpt(fd))
        seen["bad flags"] = await errno_of(libc.posix_openpt(libc.O_RDONLY))
        _master, slave = await libc.openpty()
        seen["ptsname slave"] = await errno_of(libc.ptsname(slave))
        seen["second"] = await libc.ptsname(await libc.posix_openpt(libc.O_RDWR))
        return 0

    assert await _run(prog) == 0
    assert seen["master0"] == seen["slave5"] == seen["other"] == errno.ENXIO
    assert seen["ptsname null"] == seen["unlockpt null"] == errno.EINVAL
    assert seen["bad flags"] == errno.EINVAL
    assert seen["ptsname slave"] == errno.EINVAL
    assert seen["second"] == "/dev/pts/1"


async def test_blocked_writers_wake_when_the_other_side_closes(autojump_clock):
    seen = {}

    async def prog(argv):
        master = await libc.posix_openpt(libc.O_RDWR | libc.O_NOCTTY)
        await libc.unlockpt(master)
        slave = await libc.open(await libc.ptsname(master), libc.O_RDWR | libc.O_NOCTTY)
        attrs = await libc.tcgetattr(slave)
        attrs[3] &= ~(libc.ICANON | libc.ECHO)
        await libc.tcsetattr(slave, libc.TCSANOW, attrs)

        async def slave_writer():
            await libc.close(master)
            seen["slave wrote"] = await libc.write(slave, b"s" * 5000)  # the master never reads
            seen["slave again"] = await errno_of(libc.write(slave, b"s"))
            return 0

        async def master_writer():
            await libc.close(slave)
            seen["master wrote"] = await libc.write(master, b"m" * 1000)  # nobody reads
            seen["master again"] = await errno_of(libc.write(master, b"m"))
            return 0

        pid = await libc.fork(slave_writer)
        await libc.sleep(1)
        await libc.close(master)  # the hang-up ends the blocked write with its count so far
        await libc.waitpid(pid, 0)
        master = await libc.posix_openpt(libc.O_RDWR | libc.O_NOCTTY)
        await libc.unlockpt(master)
        await libc.close(slave)
        slave = await libc.open(await libc.ptsname(master), libc.O_RDWR | libc.O_NOCTTY)
        await libc.tcsetattr(slave, libc.TCSANOW, attrs)
        pid = await libc.fork(master_writer)
        await libc.sleep(1)
        await libc.close(slave)  # the slave's last close ends it the same way
        await libc.waitpid(pid, 0)
        return 0

    assert await _run(prog) == 0
    assert seen["slave wrote"] == 2048  # what the master's buffer took
    assert seen["slave again"] == errno.EIO
    assert seen["master wrote"] == 256  # what the slave's raw input queue took
    assert seen["master again"] == errno.EIO


async def test_settings_and_window_size_on_either_side(autojump_clock):
    seen = {}

    async def prog(argv):
        master, slave = await libc.openpty(winsize=(24, 80))
        seen["size"] = await libc.tcgetwinsize(master)
        await libc.tcsetwinsize(master, (30, 100))
        seen["slave size"] = await libc.tcgetwinsize(slave)
        attrs = await libc.tcgetattr(master)
        attrs[3] &= ~libc.ECHO
        await libc.tcsetattr(master, libc.TCSANOW, attrs)
        seen["slave lflag"] = (await libc.tcgetattr(slave))[3]
        await libc.write(master, b"secret\r")
        seen["line"] = await libc.read(slave, 100)
        await libc.write(slave, b"done\n")
        seen["master sees"] = await libc.read(master, 100)  # no echo came before it
        return 0

    assert await _run(prog) == 0
    assert seen["size"] == (24, 80) and seen["slave size"] == (30, 100)
    assert not seen["slave lflag"] & libc.ECHO
    assert seen["line"] == b"secret\n"
    assert seen["master sees"] == b"done\r\n"
