"""libc file calls on a booted system: each call's POSIX semantics, through VFS and ramfs.

Programs run inside the system and record what they saw in a dict the test reads
afterwards; errnos have their own file (test_files_errors.py).
"""

import errno
import functools
import pathlib
import stat

import pytest

from tests.pm.support import errno_of as _errno_of
from tests.pm.support import run
from userland import libc, programs

RW_CREAT = libc.O_RDWR | libc.O_CREAT

errno_of = functools.partial(_errno_of, ok=None)
"""The errno an awaitable fails with (None if it succeeds)."""


async def test_create_write_read_and_lseek_with_a_hole_reading_as_zeros(autojump_clock):
    seen = {}

    async def prog(argv):
        fd = await libc.open("/tmp/f", RW_CREAT, 0o644)
        seen["write"] = await libc.write(fd, b"hello")
        seen["seek end+3"] = await libc.lseek(fd, 3, libc.SEEK_END)
        seen["write2"] = await libc.write(fd, b"world")
        seen["seek cur"] = await libc.lseek(fd, 0, libc.SEEK_CUR)
        seen["seek set"] = await libc.lseek(fd, 0, libc.SEEK_SET)
        seen["all"] = await libc.read(fd, 100)
        seen["eof"] = await libc.read(fd, 100)
        await libc.lseek(fd, 2, libc.SEEK_SET)
        seen["middle"] = await libc.read(fd, 4)
        seen["size"] = (await libc.fstat(fd)).st_size
        seen["far"] = await libc.lseek(fd, 100_000, libc.SEEK_SET)
        await libc.write(fd, b"!")
        await libc.close(fd)
        fd = await libc.open("/tmp/f", libc.O_RDONLY)
        await libc.lseek(fd, 99_990, libc.SEEK_SET)
        seen["far tail"] = await libc.read(fd, 100)
        await libc.close(fd)
        return 0

    assert await run(prog) == 0
    assert seen == {
        "write": 5,
        "seek end+3": 8,
        "write2": 5,
        "seek cur": 13,
        "seek set": 0,
        "all": b"hello\0\0\0world",
        "eof": b"",
        "middle": b"llo\0",
        "size": 13,
        "far": 100_000,
        "far tail": bytes(10) + b"!",
    }


async def test_large_writes_and_reads_go_in_pieces_through_user_memory(autojump_clock):
    seen = {}
    data = bytes(range(256)) * 1000  # 256,000 bytes: several IO_CHUNKs

    async def prog(argv):
        fd = await libc.open("/tmp/big", RW_CREAT | libc.O_TRUNC, 0o600)
        seen["written"] = await libc.write(fd, data)
        await libc.lseek(fd, 0, libc.SEEK_SET)
        got = b""
        while chunk := await libc.read(fd, 100_000):
            seen.setdefault("longest read", len(chunk))
            got += chunk
        seen["same"] = got == data
        await libc.close(fd)
        return 0

    assert await run(prog) == 0
    assert seen == {"written": len(data), "longest read": libc.IO_CHUNK, "same": True}


async def test_open_flags_append_excl_trunc_directory(autojump_clock):
    seen = {}

    async def prog(argv):
        fd = await libc.open("/tmp/log", libc.O_WRONLY | libc.O_CREAT | libc.O_APPEND, 0o644)
        await libc.write(fd, b"one ")
        await libc.lseek(fd, 0, libc.SEEK_SET)
        await libc.write(fd, b"two")  # O_APPEND: at the end whatever the position
        seen["append pos"] = await libc.lseek(fd, 0, libc.SEEK_CUR)
        await libc.close(fd)
        fd = await libc.open("/tmp/log", libc.O_RDONLY)
        seen["append"] = await libc.read(fd, 100)
        await libc.close(fd)
        excl = libc.O_WRONLY | libc.O_CREAT | libc.O_EXCL
        seen["excl existing"] = await errno_of(libc.open("/tmp/log", excl, 0o644))
        fd = await libc.open("/tmp/new", excl, 0o644)
        seen["excl new"] = (await libc.fstat(fd)).st_size
        await libc.close(fd)
        fd = await libc.open("/tmp/log", libc.O_WRONLY | libc.O_TRUNC)
        seen["trunc"] = (await libc.fstat(fd)).st_size
        await libc.close(fd)
        seen["directory on file"] = await errno_of(
            libc.open("/tmp/log", libc.O_RDONLY | libc.O_DIRECTORY)
        )
        fd = await libc.open("/tmp", libc.O_RDONLY | libc.O_DIRECTORY)
        seen["directory on dir"] = stat.S_ISDIR((await libc.fstat(fd)).st_mode)
        await libc.close(fd)
        seen["dir for writing"] = await errno_of(libc.open("/tmp", libc.O_WRONLY))
        return 0

    assert await run(prog) == 0
    assert seen == {
        "append pos": 7,
        "append": b"one two",
        "excl existing": errno.EEXIST,
        "excl new": 0,
        "trunc": 0,
        "directory on file": errno.ENOTDIR,
        "directory on dir": True,
        "dir for writing": errno.EISDIR,
    }


async def _cloexec_probe(argv):
    """Exec'd by the O_CLOEXEC test: argv = [name, kept fd, cloexec fd, dup'd cloexec fd].

    Exit status: 0 when the kept descriptor still reads the file and the other two are
    closed; a distinct code for each thing that is wrong.
    """
    kept, gone, gone2 = (int(a) for a in argv[1:4])
    try:
        data = await libc.read(kept, 100)
    except OSError:
        return 10
    if data != b"kept":
        return 11
    for code, fd in ((12, gone), (13, gone2)):
        try:
            await libc.fstat(fd)
        except OSError as exc:
            if exc.errno != errno.EBADF:
                return code + 10
        else:
            return code
    return 0


async def test_o_cloexec_and_fd_cloexec_close_across_exec(autojump_clock):
    path = "/bin/test-files-cloexec-probe"
    programs.register(path, _cloexec_probe)
    seen = {}

    async def prog(argv):
        fd = await libc.open("/tmp/k", libc.O_RDWR | libc.O_CREAT, 0o644)
        await libc.write(fd, b"kept")
        await libc.lseek(fd, 0, libc.SEEK_SET)
        gone = await libc.open("/tmp/k", libc.O_RDONLY | libc.O_CLOEXEC)
        gone2 = await libc.dup(fd)
        await libc.fcntl(gone2, libc.F_SETFD, libc.FD_CLOEXEC)
        seen["flags"] = [await libc.fcntl(x, libc.F_GETFD) for x in (fd, gone, gone2)]
        await libc.execv(path, ["probe", str(fd), str(gone), str(gone2)])
        return 99  # pragma: no cover - exec does not return

    try:
        assert await run(prog) == 0
    finally:
        programs.unregister(path)
    assert seen == {"flags": [0, libc.FD_CLOEXEC, libc.FD_CLOEXEC]}


async def test_dup_dup2_and_fcntl_dupfd_share_the_offset(autojump_clock):
    seen = {}

    async def prog(argv):
        fd = await libc.open("/tmp/d", RW_CREAT, 0o644)
        await libc.write(fd, b"abcdefgh")
        await libc.lseek(fd, 0, libc.SEEK_SET)
        d = await libc.dup(fd)
        seen["dup is lowest"] = d == fd + 1
        seen["via dup"] = await libc.read(d, 2)
        seen["via fd"] = await libc.read(fd, 2)  # the offset moved for both
        other = await libc.open("/etc/motd", libc.O_RDONLY)
        seen["dup2 ret"] = await libc.dup2(fd, other) == other  # closes the motd filp
        seen["via dup2"] = await libc.read(other, 2)
        seen["dup2 same"] = await libc.dup2(fd, fd) == fd
        high = await libc.fcntl(fd, libc.F_DUPFD, 20)
        seen["F_DUPFD"] = high
        seen["via F_DUPFD"] = await libc.read(high, 2)
        ce = await libc.fcntl(fd, libc.F_DUPFD_CLOEXEC, 30)
        seen["F_DUPFD_CLOEXEC"] = (ce, await libc.fcntl(ce, libc.F_GETFD))
        seen["dup not cloexec"] = await libc.fcntl(d, libc.F_GETFD)
        nc = await libc.dup2(fd, 40, inheritable=False)
        seen["dup2 non-inheritable"] = await libc.fcntl(nc, libc.F_GETFD)
        await libc.close(fd)
        await libc.lseek(d, 0, libc.SEEK_SET)
        seen["after close of the original"] = await libc.read(d, 3)
        return 0

    assert await run(prog) == 0
    assert seen == {
        "dup is lowest": True,
        "via dup": b"ab",
        "via fd": b"cd",
        "dup2 ret": True,
        "via dup2": b"ef",
        "dup2 same": True,
        "F_DUPFD": 20,
        "via F_DUPFD": b"gh",
        "F_DUPFD_CLOEXEC": (30, libc.FD_CLOEXEC),
        "dup not cloexec": 0,
        "dup2 non-inheritable": libc.FD_CLOEXEC,
        "after close of the original": b"abc",
    }


async def test_fcntl_status_flags_and_nonblocking_pipe(autojump_clock):
    seen = {}

    async def prog(argv):
        fd = await libc.open("/tmp/s", RW_CREAT | libc.O_APPEND, 0o644)
        seen["GETFL"] = await libc.fcntl(fd, libc.F_GETFL)
        await libc.fcntl(fd, libc.F_SETFL, 0)
        seen["SETFL cleared"] = await libc.fcntl(fd, libc.F_GETFL)
        ro = await libc.open("/tmp/s", libc.O_RDONLY)
        seen["GETFL ro"] = await libc.fcntl(ro, libc.F_GETFL)
        r, w = await libc.pipe()
        seen["pipe ends"] = (
            await libc.fcntl(r, libc.F_GETFL) & libc.O_ACCMODE,
            await libc.fcntl(w, libc.F_GETFL) & libc.O_ACCMODE,
        )
        await libc.fcntl(r, libc.F_SETFL, libc.O_NONBLOCK)
        seen["nonblocking empty"] = await errno_of(libc.read(r, 10))
        await libc.write(w, b"x")
        seen["nonblocking data"] = await libc.read(r, 10)
        r2, w2 = await libc.pipe2(libc.O_NONBLOCK | libc.O_CLOEXEC)
        seen["pipe2"] = (
            await libc.fcntl(r2, libc.F_GETFL) & libc.O_NONBLOCK,
            await libc.fcntl(w2, libc.F_GETFD),
            await errno_of(libc.read(r2, 1)),
        )
        return 0

    assert await run(prog) == 0
    assert seen == {
        "GETFL": libc.O_RDWR | libc.O_APPEND,
        "SETFL cleared": libc.O_RDWR,
        "GETFL ro": libc.O_RDONLY,
        "pipe ends": (libc.O_RDONLY, libc.O_WRONLY),
        "nonblocking empty": errno.EAGAIN,
        "nonblocking data": b"x",
        "pipe2": (libc.O_NONBLOCK, libc.FD_CLOEXEC, errno.EAGAIN),
    }


async def test_stat_lstat_fstat_fields(autojump_clock):
    seen = {}

    async def prog(argv):
        fd = await libc.open("/tmp/st", RW_CREAT, 0o640)
        await libc.write(fd, b"12345")
        by_fd = await libc.fstat(fd)
        by_path = await libc.stat("/tmp/st")
        seen["fstat == stat"] = by_fd == by_path
        seen["fstat of an int path"] = await libc.stat(fd) == by_fd
        seen["mode"] = oct(by_path.st_mode)
        seen["size, nlink, uid, gid"] = (
            by_path.st_size,
            by_path.st_nlink,
            by_path.st_uid,
            by_path.st_gid,
        )
        await libc.symlink("/tmp/st", "/tmp/st-link")
        ls = await libc.lstat("/tmp/st-link")
        seen["lstat is link"] = libc.S_ISLNK(ls.st_mode)
        seen["lstat size"] = ls.st_size  # the target's length
        seen["stat follows"] = (await libc.stat("/tmp/st-link")).st_ino == by_path.st_ino
        nf = await libc.stat("/tmp/st-link", follow_symlinks=False)
        seen["no-follow"] = (nf.st_ino, nf.st_mode) == (ls.st_ino, ls.st_mode)
        null = await libc.stat("/dev/null")
        seen["/dev/null"] = (libc.S_ISCHR(null.st_mode), libc.major(null.st_rdev), null.st_rdev)
        root = await libc.stat("/")
        seen["/"] = (libc.S_ISDIR(root.st_mode), root.st_nlink >= 2)
        tmp = await libc.stat("/tmp")
        seen["/tmp"] = oct(libc.S_IMODE(tmp.st_mode))
        seen["dev"] = by_path.st_dev == tmp.st_dev
        seen["times"] = by_path.st_mtime >= by_path.st_atime >= 0
        return 0

    assert await run(prog) == 0
    assert seen == {
        "fstat == stat": True,
        "fstat of an int path": True,
        "mode": oct(stat.S_IFREG | 0o640),
        "size, nlink, uid, gid": (5, 1, 0, 0),
        "lstat is link": True,
        "lstat size": len("/tmp/st"),
        "stat follows": True,
        "no-follow": True,
        "/dev/null": (True, 1, libc.makedev(1, 3)),
        "/": (True, True),
        "/tmp": oct(0o1777),
        "dev": True,
        "times": True,
    }


async def test_listdir_of_the_booted_tree(autojump_clock):
    seen = {}

    async def prog(argv):
        seen["/"] = sorted(await libc.listdir("/"))
        seen["/dev"] = set(await libc.listdir("/dev"))
        seen["/etc"] = sorted(await libc.listdir("/etc"))
        seen["/sbin"] = await libc.listdir("/sbin")
        seen["/bin is a list"] = isinstance(await libc.listdir("/bin"), list)
        seen["/home"] = await libc.listdir("/home")
        await libc.chdir("/etc")
        seen["."] = sorted(await libc.listdir())
        seen["bytes"] = sorted(await libc.listdir(b"/etc"))
        await libc.mkdir("/tmp/many")
        for i in range(300):  # more entries than one getdents buffer holds
            await libc.close(await libc.open(f"/tmp/many/entry-{i:03}", RW_CREAT, 0o600))
        names = await libc.listdir("/tmp/many")
        seen["many"] = (len(names), names == sorted(names), names[0], names[-1])
        return 0

    assert await run(prog) == 0
    assert {"bin", "dev", "etc", "home", "root", "sbin", "tmp"} <= set(seen["/"])
    assert "." not in seen["/"] and ".." not in seen["/"]
    assert {"null", "zero", "tty", "console"} <= seen["/dev"]
    assert seen["/etc"] == ["group", "motd", "passwd"]
    assert "init" in seen["/sbin"]
    assert seen["/bin is a list"]
    assert seen["/home"] == ["user"]
    assert seen["."] == ["group", "motd", "passwd"]
    assert seen["bytes"] == [b"group", b"motd", b"passwd"]
    assert seen["many"] == (300, True, "entry-000", "entry-299")


async def test_names_mkdir_rmdir_unlink_rename_link_symlink_readlink(autojump_clock):
    seen = {}

    async def prog(argv):
        await libc.mkdir("/tmp/d", 0o755)
        seen["mkdir"] = libc.S_ISDIR((await libc.stat("/tmp/d")).st_mode)
        seen["mkdir again"] = await errno_of(libc.mkdir("/tmp/d"))
        fd = await libc.open("/tmp/d/a", RW_CREAT, 0o644)
        await libc.write(fd, b"data")
        await libc.close(fd)
        seen["rmdir non-empty"] = await errno_of(libc.rmdir("/tmp/d"))
        await libc.link("/tmp/d/a", "/tmp/d/b")
        seen["nlink 2"] = (await libc.stat("/tmp/d/a")).st_nlink
        seen["same inode"] = (await libc.stat("/tmp/d/a")).st_ino == (
            await libc.stat("/tmp/d/b")
        ).st_ino
        seen["link existing"] = await errno_of(libc.link("/tmp/d/a", "/tmp/d/b"))
        seen["link a directory"] = await errno_of(libc.link("/tmp/d", "/tmp/d2"))
        await libc.unlink("/tmp/d/a")
        seen["after unlink"] = (
            sorted(await libc.listdir("/tmp/d")),
            (await libc.stat("/tmp/d/b")).st_nlink,
        )
        await libc.rename("/tmp/d/b", "/tmp/d/c")
        fd = await libc.open("/tmp/d/c", libc.O_RDONLY)
        seen["renamed"] = (await libc.listdir("/tmp/d"), await libc.read(fd, 10))
        await libc.close(fd)
        fd = await libc.open("/tmp/other", RW_CREAT, 0o644)
        await libc.write(fd, b"other")
        await libc.close(fd)
        await libc.rename("/tmp/other", "/tmp/d/c")  # replaces the target
        fd = await libc.open("/tmp/d/c", libc.O_RDONLY)
        seen["replaced"] = await libc.read(fd, 10)
        await libc.close(fd)
        await libc.symlink("c", "/tmp/d/s")
        seen["readlink"] = await libc.readlink("/tmp/d/s")
        seen["readlink bytes"] = await libc.readlink(b"/tmp/d/s")
        seen["readlink of a file"] = await errno_of(libc.readlink("/tmp/d/c"))
        fd = await libc.open("/tmp/d/s", libc.O_RDONLY)  # relative target, from /tmp/d
        seen["through symlink"] = await libc.read(fd, 10)
        await libc.close(fd)
        await libc.symlink("/tmp/nowhere", "/tmp/d/dangling")
        seen["dangling"] = await errno_of(libc.stat("/tmp/d/dangling"))
        seen["dangling lstat"] = libc.S_ISLNK((await libc.lstat("/tmp/d/dangling")).st_mode)
        await libc.unlink("/tmp/d/dangling")
        await libc.remove("/tmp/d/s")
        seen["unlink a directory"] = await errno_of(libc.unlink("/tmp/d"))
        await libc.unlink("/tmp/d/c")
        await libc.rmdir("/tmp/d")
        seen["gone"] = await errno_of(libc.stat("/tmp/d"))
        await libc.mkdir("/tmp/e")
        await libc.mkdir("/tmp/e/sub")
        await libc.rename("/tmp/e", "/tmp/f")
        seen["renamed dir"] = await libc.listdir("/tmp/f")
        return 0

    assert await run(prog) == 0
    assert seen == {
        "mkdir": True,
        "mkdir again": errno.EEXIST,
        "rmdir non-empty": errno.ENOTEMPTY,
        "nlink 2": 2,
        "same inode": True,
        "link existing": errno.EEXIST,
        "link a directory": errno.EPERM,
        "after unlink": (["b"], 1),
        "renamed": (["c"], b"data"),
        "replaced": b"other",
        "readlink": "c",
        "readlink bytes": b"c",
        "readlink of a file": errno.EINVAL,
        "through symlink": b"other",
        "dangling": errno.ENOENT,
        "dangling lstat": True,
        "unlink a directory": errno.EPERM,
        "gone": errno.ENOENT,
        "renamed dir": ["sub"],
    }


async def test_chdir_getcwd_fchdir_and_relative_paths(autojump_clock):
    seen = {}

    async def prog(argv):
        seen["start"] = await libc.getcwd()
        await libc.mkdir("/tmp/w")
        await libc.mkdir("/tmp/w/x")
        await libc.chdir("/tmp/w")
        seen["chdir"] = await libc.getcwd()
        fd = await libc.open("rel", RW_CREAT, 0o644)  # relative to the cwd
        await libc.close(fd)
        seen["relative created"] = await libc.listdir("/tmp/w")
        await libc.chdir("x")
        seen["chdir relative"] = await libc.getcwd()
        await libc.chdir("..")
        seen["dotdot"] = await libc.getcwdb()
        d = await libc.open("/etc", libc.O_RDONLY)
        await libc.fchdir(d)
        seen["fchdir"] = await libc.getcwd()
        await libc.chdir(await libc.open("/tmp/w/x", libc.O_RDONLY))
        seen["chdir(fd)"] = await libc.getcwd()
        await libc.chdir("/")
        await libc.chdir("..")
        seen["root's parent"] = await libc.getcwd()
        seen["chdir to a file"] = await errno_of(libc.chdir("/etc/passwd"))
        seen["fchdir to a file"] = await errno_of(
            libc.fchdir(await libc.open("/etc/passwd", libc.O_RDONLY))
        )
        return 0

    assert await run(prog) == 0
    assert seen == {
        "start": "/",
        "chdir": "/tmp/w",
        "relative created": ["x", "rel"],
        "chdir relative": "/tmp/w/x",
        "dotdot": b"/tmp/w",
        "fchdir": "/etc",
        "chdir(fd)": "/tmp/w/x",
        "root's parent": "/",
        "chdir to a file": errno.ENOTDIR,
        "fchdir to a file": errno.ENOTDIR,
    }


async def test_umask_masks_created_modes(autojump_clock):
    seen = {}

    async def prog(argv):
        seen["default"] = oct(await libc.umask(0o027))
        seen["old"] = oct(await libc.umask(0o027))
        await libc.close(await libc.open("/tmp/u", RW_CREAT, 0o777))
        await libc.mkdir("/tmp/ud", 0o777)
        await libc.mkfifo("/tmp/ufifo", 0o666)
        seen["file"] = oct(libc.S_IMODE((await libc.stat("/tmp/u")).st_mode))
        seen["dir"] = oct(libc.S_IMODE((await libc.stat("/tmp/ud")).st_mode))
        seen["fifo"] = oct(libc.S_IMODE((await libc.stat("/tmp/ufifo")).st_mode))
        await libc.chmod("/tmp/u", 0o777)  # chmod is not masked
        seen["chmod"] = oct(libc.S_IMODE((await libc.stat("/tmp/u")).st_mode))

        async def child():
            return await libc.umask(0)  # inherited across fork

        _, status = await libc.waitpid(await libc.fork(child), 0)
        seen["inherited"] = oct(libc.WEXITSTATUS(status))
        return 0

    assert await run(prog) == 0
    assert seen == {
        "default": "0o22",
        "old": "0o27",
        "file": "0o750",
        "dir": "0o750",
        "fifo": "0o640",
        "chmod": "0o777",
        "inherited": "0o27",
    }


async def tell_vfs_our_ids():
    """WORKAROUND: PM's spawn(uid=...) does not send VFS the new ids (PmVfsSetids).

    The fproc is forked from init's (root); setuid to our own uid makes PM tell VFS.
    """
    await libc.setuid(await libc.getuid())


async def test_chmod_chown_and_permissions_as_a_user(autojump_clock):
    seen = {}

    async def prog(argv):
        await tell_vfs_our_ids()
        seen["uid"] = await libc.getuid()
        seen["chmod passwd"] = await errno_of(libc.chmod("/etc/passwd", 0o666))
        seen["chown passwd"] = await errno_of(libc.chown("/etc/passwd", 100, 100))
        seen["write passwd"] = await errno_of(libc.open("/etc/passwd", libc.O_WRONLY))
        seen["create in /root"] = await errno_of(libc.open("/root/x", RW_CREAT, 0o644))
        seen["list /root"] = await errno_of(libc.listdir("/root"))
        seen["mkdir in /"] = await errno_of(libc.mkdir("/mine"))
        seen["unlink in /etc"] = await errno_of(libc.unlink("/etc/motd"))
        fd = await libc.open("/tmp/mine", RW_CREAT, 0o644)
        st = await libc.fstat(fd)
        seen["owner"] = (st.st_uid, st.st_gid)
        await libc.fchmod(fd, 0o600)
        await libc.chmod("/tmp/mine", 0o400)
        seen["chmod own"] = oct(libc.S_IMODE((await libc.stat("/tmp/mine")).st_mode))
        seen["open 0400 for writing"] = await errno_of(libc.open("/tmp/mine", libc.O_WRONLY))
        seen["chown own to root"] = await errno_of(libc.chown("/tmp/mine", 0, -1))
        await libc.chown("/tmp/mine", -1, 100)  # own group: allowed
        seen["access"] = (
            await libc.access("/etc/passwd", libc.R_OK),
            await libc.access("/etc/passwd", libc.W_OK),
            await libc.access("/tmp/mine", libc.R_OK),
            await libc.access("/tmp/mine", libc.W_OK),
            await libc.access("/tmp/nope", libc.F_OK),
            await libc.access("/bin", libc.X_OK),
        )
        seen["mknod device"] = await errno_of(
            libc.mknod("/tmp/dev", libc.S_IFCHR | 0o600, libc.makedev(1, 3))
        )
        seen["mount"] = await errno_of(libc.mount("/tmp", 10))
        seen["umount"] = await errno_of(libc.umount("/"))
        return 0

    assert await run(prog, uid=100) == 0
    assert seen == {
        "uid": 100,
        "chmod passwd": errno.EPERM,
        "chown passwd": errno.EPERM,
        "write passwd": errno.EACCES,
        "create in /root": errno.EACCES,
        "list /root": errno.EACCES,
        "mkdir in /": errno.EACCES,
        "unlink in /etc": errno.EACCES,
        "owner": (100, 100),
        "chmod own": "0o400",
        "open 0400 for writing": errno.EACCES,
        "chown own to root": errno.EPERM,
        "access": (True, False, True, False, False, True),
        "mknod device": errno.EPERM,
        "mount": errno.EPERM,
        "umount": errno.EPERM,
    }


async def test_root_may_chown_chmod_and_mknod(autojump_clock):
    seen = {}

    async def prog(argv):
        await libc.close(await libc.open("/tmp/r", RW_CREAT, 0o644))
        await libc.chown("/tmp/r", 100, 100)
        st = await libc.stat("/tmp/r")
        seen["chown"] = (st.st_uid, st.st_gid)
        await libc.chown("/tmp/r", -1, 0)
        seen["chown gid only"] = ((await libc.stat("/tmp/r")).st_gid, st.st_uid)
        await libc.mknod("/tmp/null2", libc.S_IFCHR | 0o666, libc.makedev(1, 3))
        st = await libc.stat("/tmp/null2")
        seen["mknod"] = (
            libc.S_ISCHR(st.st_mode),
            libc.major(st.st_rdev),
            libc.minor(st.st_rdev),
        )
        await libc.mknod("/tmp/plain")
        seen["mknod default"] = oct((await libc.stat("/tmp/plain")).st_mode)
        seen["access as root"] = await libc.access("/root", libc.R_OK | libc.W_OK | libc.X_OK)
        return 0

    assert await run(prog) == 0
    assert seen == {
        "chown": (100, 100),
        "chown gid only": (0, 100),
        "mknod": (True, 1, 3),
        "mknod default": oct(stat.S_IFREG | 0o600),
        "access as root": True,
    }


async def test_truncate_and_ftruncate(autojump_clock):
    seen = {}

    async def prog(argv):
        fd = await libc.open("/tmp/t", RW_CREAT, 0o644)
        await libc.write(fd, b"0123456789")
        await libc.ftruncate(fd, 4)
        seen["shrunk"] = (await libc.fstat(fd)).st_size
        await libc.truncate("/tmp/t", 8)
        await libc.lseek(fd, 0, libc.SEEK_SET)
        seen["extended"] = await libc.read(fd, 100)
        await libc.truncate(fd, 2)  # an int: a descriptor
        seen["truncate(fd)"] = (await libc.stat("/tmp/t")).st_size
        seen["position kept"] = await libc.lseek(fd, 0, libc.SEEK_CUR)
        ro = await libc.open("/tmp/t", libc.O_RDONLY)
        seen["ftruncate read-only"] = await errno_of(libc.ftruncate(ro, 0))
        seen["negative"] = await errno_of(libc.ftruncate(fd, -1))
        seen["directory"] = await errno_of(libc.truncate("/tmp", 0))
        return 0

    assert await run(prog) == 0
    assert seen == {
        "shrunk": 4,
        "extended": b"0123\0\0\0\0",
        "truncate(fd)": 2,
        "position kept": 8,
        "ftruncate read-only": errno.EBADF,
        "negative": errno.EINVAL,
        "directory": errno.EISDIR,
    }


async def test_pipe_between_parent_and_forked_child(autojump_clock):
    seen = {}

    async def prog(argv):
        down_r, down_w = await libc.pipe()
        up_r, up_w = await libc.pipe()

        async def child():
            await libc.close(down_w)  # else our own copy keeps the pipe from EOF
            await libc.close(up_r)
            got = b""
            while chunk := await libc.read(down_r, 7):
                got += chunk
            await libc.write(up_w, got.upper())
            return 0

        pid = await libc.fork(child)
        await libc.close(down_r)
        await libc.close(up_w)
        await libc.write(down_w, b"hello ")
        await libc.write(down_w, b"through a pipe")
        await libc.close(down_w)
        seen["reply"] = await libc.read(up_r, 100)
        seen["eof"] = await libc.read(up_r, 100)
        seen["child"] = await libc.waitpid(pid, 0) == (pid, 0)
        return 0

    assert await run(prog) == 0
    assert seen == {"reply": b"HELLO THROUGH A PIPE", "eof": b"", "child": True}


async def test_pipe_holds_pipe_buf_and_big_writes_block_until_read(autojump_clock):
    seen = {}
    big = bytes(range(256)) * 512  # 128 KiB: four times what a pipe holds

    async def prog(argv):
        r, w = await libc.pipe()

        async def child():
            await libc.close(r)
            n = await libc.write(w, big)
            return 0 if n == len(big) else 1

        pid = await libc.fork(child)
        await libc.close(w)
        got = b""
        while chunk := await libc.read(r, 10_000):
            got += chunk
        seen["all"] = got == big
        seen["child"] = await libc.waitpid(pid, 0) == (pid, 0)
        return 0

    assert await run(prog) == 0
    assert seen == {"all": True, "child": True}


async def test_fifo_between_parent_and_forked_child(autojump_clock):
    seen = {}

    async def prog(argv):
        await libc.mkfifo("/tmp/fifo", 0o600)
        st = await libc.stat("/tmp/fifo")
        seen["is fifo"] = libc.S_ISFIFO(st.st_mode)

        async def child():
            fd = await libc.open("/tmp/fifo", libc.O_WRONLY)  # waits for the reader
            await libc.write(fd, b"via fifo")
            await libc.close(fd)
            return 0

        pid = await libc.fork(child)
        fd = await libc.open("/tmp/fifo", libc.O_RDONLY)  # waits for the writer
        got = b""
        while chunk := await libc.read(fd, 3):
            got += chunk
        seen["data"] = got
        await libc.close(fd)
        seen["child"] = await libc.waitpid(pid, 0) == (pid, 0)
        seen["nonblocking writer, no reader"] = await errno_of(
            libc.open("/tmp/fifo", libc.O_WRONLY | libc.O_NONBLOCK)
        )
        fd = await libc.open("/tmp/fifo", libc.O_RDONLY | libc.O_NONBLOCK)
        seen["nonblocking reader opens"] = fd >= 0
        seen["lseek on fifo"] = await errno_of(libc.lseek(fd, 0, libc.SEEK_SET))
        return 0

    assert await run(prog) == 0
    assert seen == {
        "is fifo": True,
        "data": b"via fifo",
        "child": True,
        "nonblocking writer, no reader": errno.ENXIO,
        "nonblocking reader opens": True,
        "lseek on fifo": errno.ESPIPE,
    }


async def test_descriptors_are_inherited_on_fork_and_released_on_exit(autojump_clock):
    seen = {}

    async def prog(argv):
        fd = await libc.open("/tmp/shared", RW_CREAT, 0o644)
        await libc.write(fd, b"0123456789")
        await libc.lseek(fd, 0, libc.SEEK_SET)
        r, w = await libc.pipe()

        async def child():
            # the same open file: reading moves the parent's position too
            data = await libc.read(fd, 4)
            for _ in range(20):  # and exits without closing any of these
                await libc.open("/etc/motd", libc.O_RDONLY)
            return 0 if data == b"0123" else 1

        pid = await libc.fork(child)
        await libc.close(w)
        seen["child"] = await libc.waitpid(pid, 0) == (pid, 0)
        seen["shared offset"] = await libc.read(fd, 3)
        # the child's copy of the write end went with it: end of file
        seen["eof after the child's exit"] = await libc.read(r, 10)
        return 0

    assert await run(prog) == 0
    assert seen == {"child": True, "shared offset": b"456", "eof after the child's exit": b""}


async def test_sa_restart_restarts_a_pipe_read_and_plain_handlers_get_eintr(autojump_clock):
    seen = {"handled": 0}

    async def prog(argv):
        def handler(sig):
            seen["handled"] += 1

        for restart in (True, False):
            flags = libc.SA_RESTART if restart else 0
            await libc.sigaction(libc.SIGALRM, handler, flags=flags)
            r, w = await libc.pipe()

            async def child(w=w):
                await libc.signal(libc.SIGALRM, lambda sig: None)
                await libc.signal(libc.SIGPIPE, libc.SIG_IGN)
                await libc.alarm(2)
                await libc.pause()  # until t=2: the parent's alarm went off at t=1
                await libc.write(w, b"late")
                return 0

            pid = await libc.fork(child)
            await libc.alarm(1)
            try:
                seen[f"restart={restart}"] = await libc.read(r, 10)
            except OSError as exc:
                seen[f"restart={restart}"] = exc.errno
            await libc.close(r)
            await libc.waitpid(pid, 0)
            await libc.close(w)
        return 0

    assert await run(prog) == 0
    assert seen == {"handled": 2, "restart=True": b"late", "restart=False": errno.EINTR}


async def test_mkfifo_stat_and_makedev_helpers():
    assert libc.makedev(4, 1) == 0x401
    assert (libc.major(0x401), libc.minor(0x401)) == (4, 1)
    assert libc.O_CREAT == 0o100 and libc.O_DIRECTORY == 0o200000  # Linux values
    assert libc.S_ISFIFO(libc.S_IFIFO | 0o600)


async def test_many_creates_and_unlinks_leave_the_directory_empty(autojump_clock):
    async def prog(argv):
        for i in range(50):
            fd = await libc.open(f"/tmp/x{i}", RW_CREAT, 0o600)
            await libc.write(fd, b"x" * i)
            await libc.close(fd)
            await libc.unlink(f"/tmp/x{i}")
        return 40 + len(await libc.listdir("/tmp"))

    assert await run(prog) == 40


@pytest.mark.parametrize("path", ["/tmp/p", b"/tmp/p", pathlib.PurePosixPath("/tmp/p")])
async def test_str_and_bytes_paths(autojump_clock, path):
    seen = {}

    async def prog(argv):
        fd = await libc.open(path, RW_CREAT, 0o600)
        await libc.close(fd)
        seen["listed"] = await libc.listdir(b"/tmp")
        return 0

    assert await run(prog) == 0
    assert seen == {"listed": [b"p"]}


async def test_fcntl_record_locks_pass_struct_flock_through_user_memory(autojump_clock):
    seen = {}

    def flock(ltype, start, length, whence=libc.SEEK_SET, pid=0):
        return libc.FLOCK.pack(ltype, whence, start, length, pid)

    async def prog(argv):
        fd = await libc.open("/tmp/lk", RW_CREAT, 0o644)
        await libc.write(fd, bytes(100))
        me = await libc.getpid()
        got = await libc.fcntl(fd, libc.F_SETLK, flock(libc.F_WRLCK, 0, 10))
        seen["F_SETLK returns the buffer"] = got == flock(libc.F_WRLCK, 0, 10)

        async def child():
            # locks are per process: the inherited descriptor holds none of ours
            out = libc.FLOCK.unpack(await libc.fcntl(fd, libc.F_GETLK, flock(libc.F_RDLCK, 5, 1)))
            if out[0] != libc.F_WRLCK or out[2:] != (0, 10, me):
                return 10
            free = libc.FLOCK.unpack(await libc.fcntl(fd, libc.F_GETLK, flock(libc.F_WRLCK, 50, 5)))
            if free[0] != libc.F_UNLCK:
                return 11
            try:
                await libc.fcntl(fd, libc.F_SETLK, flock(libc.F_WRLCK, 0, 1))
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    return 12
            else:
                return 13
            await libc.fcntl(fd, libc.F_SETLKW, flock(libc.F_WRLCK, 0, 1))  # waits for us
            return 0

        await libc.signal(libc.SIGALRM, lambda sig: None)
        pid = await libc.fork(child)
        await libc.alarm(1)
        await libc.pause()  # the child has long been parked in F_SETLKW
        await libc.fcntl(fd, libc.F_SETLK, flock(libc.F_UNLCK, 0, 0))
        _, status = await libc.waitpid(pid, 0)
        seen["child"] = libc.waitstatus_to_exitcode(status)
        seen["bad l_type"] = await errno_of(libc.fcntl(fd, libc.F_SETLK, flock(9, 0, 1)))
        return 0

    assert await run(prog) == 0
    assert seen == {"F_SETLK returns the buffer": True, "child": 0, "bad l_type": errno.EINVAL}


async def test_sync_and_ioctl_on_a_regular_file(autojump_clock):
    seen = {}

    async def prog(argv):
        seen["sync"] = await libc.sync()
        fd = await libc.open("/tmp/io", RW_CREAT, 0o644)
        seen["ioctl int"] = await errno_of(libc.ioctl(fd, 0x5401))
        seen["ioctl bytes"] = await errno_of(libc.ioctl(fd, 0x80045430, b"\0" * 4))
        seen["ioctl bad fd"] = await errno_of(libc.ioctl(99, 0x5401))
        return 0

    assert await run(prog) == 0
    assert seen == {
        "sync": None,
        "ioctl int": errno.ENOTTY,
        "ioctl bytes": errno.ENOTTY,
        "ioctl bad fd": errno.EBADF,
    }


async def test_read_and_write_character_devices(autojump_clock):
    seen = {}

    async def prog(argv):
        zero = await libc.open("/dev/zero", libc.O_RDONLY)
        seen["zero"] = await libc.read(zero, 5)
        null = await libc.open("/dev/null", libc.O_RDWR)
        seen["null write"] = await libc.write(null, b"gone")
        seen["null read"] = await libc.read(null, 5)
        seen["stat"] = libc.S_ISCHR((await libc.fstat(null)).st_mode)
        return 0

    assert await run(prog) == 0
    assert seen == {"zero": bytes(5), "null write": 4, "null read": b"", "stat": True}


async def test_the_vfs_benchmarks_run_and_check_their_work(autojump_clock):
    from asynix import bench
    from asynix.benchmarks import vfs as vfs_bench

    registry = bench._load()
    assert {"vfs.open_close", "vfs.pipe_4k"} <= set(registry)
    assert registry["vfs.pipe_4k"].ratio and registry["vfs.open_close"].ratio
    # tiny runs: the pipe benchmark raises if the reader did not get every byte
    assert await vfs_bench._open_close(20) > 0
    assert await vfs_bench._pipe_4k(20) > 0
