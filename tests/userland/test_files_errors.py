"""libc file calls on a booted system: the errno of each way a call can go wrong.

EBADF, EFAULT (raw addresses: unmapped, read-only), ENAMETOOLONG, ENOTDIR, ENOENT,
EMFILE, ELOOP, EEXIST, EISDIR, ESPIPE, EINVAL, and Python's OSError subclasses.
"""

import errno
import functools

import pytest

from tests.pm.support import errno_of as _errno_of
from tests.pm.support import run
from userland import libc

RW_CREAT = libc.O_RDWR | libc.O_CREAT
UNMAPPED = 0x5000_0000
"""An address no process has mapped (between the heap and the mmap area)."""

errno_of = functools.partial(_errno_of, ok=None)
"""The errno an awaitable fails with (None if it succeeds)."""


async def test_ebadf(autojump_clock):
    seen = {}

    async def prog(argv):
        fd = await libc.open("/tmp/f", RW_CREAT, 0o644)
        ro = await libc.open("/tmp/f", libc.O_RDONLY)
        wo = await libc.open("/tmp/f", libc.O_WRONLY)
        await libc.close(fd)
        seen["after close"] = [
            await errno_of(libc.read(fd, 1)),
            await errno_of(libc.read(fd, 0)),
            await errno_of(libc.write(fd, b"x")),
            await errno_of(libc.close(fd)),
            await errno_of(libc.fstat(fd)),
            await errno_of(libc.lseek(fd, 0, libc.SEEK_SET)),
            await errno_of(libc.dup(fd)),
            await errno_of(libc.dup2(fd, 50)),
            await errno_of(libc.fcntl(fd, libc.F_GETFD)),
            await errno_of(libc.fchdir(fd)),
            await errno_of(libc.fchmod(fd, 0o600)),
            await errno_of(libc.ftruncate(fd, 0)),
        ]
        seen["never opened"] = [
            await errno_of(libc.read(-1, 1)),
            await errno_of(libc.read(200, 1)),
            await errno_of(libc.close(1000)),
        ]
        seen["wrong direction"] = [
            await errno_of(libc.write(ro, b"x")),
            await errno_of(libc.read(wo, 1)),
        ]
        seen["dup2 target out of range"] = await errno_of(libc.dup2(ro, libc.OPEN_MAX))
        r, w = await libc.pipe()
        seen["pipe wrong ends"] = [
            await errno_of(libc.write(r, b"x")),
            await errno_of(libc.read(w, 1)),
        ]
        try:
            await libc.read(200, 1)
        except OSError as exc:
            seen["class"] = type(exc).__name__
        return 0

    assert await run(prog) == 0
    assert seen == {
        "after close": [errno.EBADF] * 12,
        "never opened": [errno.EBADF] * 3,
        "wrong direction": [errno.EBADF] * 2,
        "dup2 target out of range": errno.EBADF,
        "pipe wrong ends": [errno.EBADF] * 2,
        "class": "OSError",
    }


async def test_efault_for_unmapped_and_read_only_buffers(autojump_clock):
    seen = {}

    async def prog(argv):
        fd = await libc.open("/tmp/f", RW_CREAT, 0o644)
        await libc.write(fd, b"some data")
        await libc.lseek(fd, 0, libc.SEEK_SET)
        seen["read_into unmapped"] = await errno_of(libc.read_into(fd, UNMAPPED, 9))
        seen["write_from unmapped"] = await errno_of(libc.write_from(fd, UNMAPPED, 4))
        seen["read_into kernel"] = await errno_of(libc.read_into(fd, 0xF000_0000, 4))
        ro = await libc.mmap(0, libc.PAGE_SIZE, libc.PROT_READ, libc.MAP_ANON | libc.MAP_PRIVATE)
        seen["read_into PROT_READ"] = await errno_of(libc.read_into(fd, ro, 9))
        seen["write_from PROT_READ"] = await libc.write_from(fd, ro, 3)  # reading it is fine
        await libc.lseek(fd, 0, libc.SEEK_SET)
        buf = await libc.malloc(16)
        seen["read_into heap"] = await libc.read_into(fd, buf, 16)
        seen["heap bytes"] = await libc.peek(buf, 9)
        st = await libc.fstat(fd)
        seen["size unchanged by the failures"] = st.st_size
        r, w = await libc.pipe()
        seen["pipe write_from unmapped"] = await errno_of(libc.write_from(w, UNMAPPED, 4))
        await libc.write(w, b"xyz")
        seen["pipe read_into unmapped"] = await errno_of(libc.read_into(r, UNMAPPED, 3))
        seen["pipe still readable"] = await libc.read(r, 3)
        return 0

    assert await run(prog) == 0
    assert seen == {
        "read_into unmapped": errno.EFAULT,
        "write_from unmapped": errno.EFAULT,
        "read_into kernel": errno.EFAULT,
        "read_into PROT_READ": errno.EFAULT,
        "write_from PROT_READ": 3,
        "read_into heap": 9,
        "heap bytes": b"\0\0\0e data",  # the page's zeros went over "som"
        "size unchanged by the failures": 9,
        "pipe write_from unmapped": errno.EFAULT,
        "pipe read_into unmapped": errno.EFAULT,
        "pipe still readable": b"xyz",
    }


async def test_enametoolong(autojump_clock):
    seen = {}

    async def prog(argv):
        name = "n" * 256
        seen["component"] = [
            await errno_of(libc.open(f"/tmp/{name}", RW_CREAT, 0o644)),
            await errno_of(libc.stat(f"/tmp/{name}")),
            await errno_of(libc.mkdir(f"/tmp/{name}")),
        ]
        fd = await libc.open("/tmp/" + "n" * 255, RW_CREAT, 0o644)  # NAME_MAX is fine
        seen["NAME_MAX ok"] = fd >= 0
        long_path = "/tmp" + "/." * 1100
        seen["path"] = [
            await errno_of(libc.stat(long_path)),
            await errno_of(libc.chdir(long_path)),
            await errno_of(libc.rename("/tmp/" + "n" * 255, long_path)),
        ]
        return 0

    assert await run(prog) == 0
    assert seen == {
        "component": [errno.ENAMETOOLONG] * 3,
        "NAME_MAX ok": True,
        "path": [errno.ENAMETOOLONG] * 3,
    }


async def test_enotdir_and_enoent(autojump_clock):
    seen = {}

    async def prog(argv):
        seen["enotdir"] = [
            await errno_of(libc.open("/etc/passwd/x", libc.O_RDONLY)),
            await errno_of(libc.open("/etc/passwd/x", RW_CREAT, 0o644)),
            await errno_of(libc.stat("/etc/passwd/")),
            await errno_of(libc.mkdir("/etc/passwd/d")),
            await errno_of(libc.listdir("/etc/passwd")),
            await errno_of(libc.rmdir("/etc/passwd")),
        ]
        seen["enoent"] = [
            await errno_of(libc.open("/nope", libc.O_RDONLY)),
            await errno_of(libc.open("/nope/x", RW_CREAT, 0o644)),
            await errno_of(libc.open("", libc.O_RDONLY)),
            await errno_of(libc.stat("/tmp/nope")),
            await errno_of(libc.unlink("/tmp/nope")),
            await errno_of(libc.rmdir("/tmp/nope")),
            await errno_of(libc.rename("/tmp/nope", "/tmp/x")),
            await errno_of(libc.link("/tmp/nope", "/tmp/x")),
            await errno_of(libc.readlink("/tmp/nope")),
            await errno_of(libc.chdir("/tmp/nope")),
            await errno_of(libc.chmod("/tmp/nope", 0)),
            await errno_of(libc.truncate("/tmp/nope", 0)),
        ]
        try:
            await libc.open("/nope", libc.O_RDONLY)
        except OSError as exc:
            seen["class"] = type(exc).__name__
        return 0

    assert await run(prog) == 0
    assert seen == {
        "enotdir": [errno.ENOTDIR] * 6,
        "enoent": [errno.ENOENT] * 12,
        "class": "FileNotFoundError",
    }


async def test_emfile_at_open_max(autojump_clock):
    seen = {}

    async def prog(argv):
        fds = []
        try:
            while True:
                fds.append(await libc.open("/etc/motd", libc.O_RDONLY))
        except OSError as exc:
            seen["errno"] = exc.errno
        seen["count"] = len(fds)
        seen["all distinct, lowest first"] = fds == list(range(libc.OPEN_MAX))
        seen["dup"] = await errno_of(libc.dup(0))
        seen["pipe"] = await errno_of(libc.pipe())
        seen["F_DUPFD"] = await errno_of(libc.fcntl(0, libc.F_DUPFD, 0))
        await libc.close(100)
        seen["reuses the freed one"] = await libc.open("/etc/motd", libc.O_RDONLY)
        await libc.close(7)
        await libc.close(8)
        seen["pipe into two freed"] = await libc.pipe()
        return 0

    assert await run(prog) == 0
    assert seen == {
        "errno": errno.EMFILE,
        "count": 255,
        "all distinct, lowest first": True,
        "dup": errno.EMFILE,
        "pipe": errno.EMFILE,
        "F_DUPFD": errno.EMFILE,
        "reuses the freed one": 100,
        "pipe into two freed": (7, 8),
    }


async def test_eloop(autojump_clock):
    seen = {}

    async def prog(argv):
        await libc.symlink("/tmp/b", "/tmp/a")
        await libc.symlink("/tmp/a", "/tmp/b")
        await libc.symlink("self", "/tmp/self")
        seen["loop"] = [
            await errno_of(libc.open("/tmp/a", libc.O_RDONLY)),
            await errno_of(libc.stat("/tmp/b")),
            await errno_of(libc.stat("/tmp/self")),
            await errno_of(libc.chdir("/tmp/a")),
            await errno_of(libc.open("/tmp/a/x", RW_CREAT, 0o644)),
        ]
        seen["lstat is fine"] = libc.S_ISLNK((await libc.lstat("/tmp/a")).st_mode)
        seen["readlink is fine"] = await libc.readlink("/tmp/self")
        await libc.close(await libc.open("/tmp/l0", RW_CREAT, 0o644))
        for i in range(1, 18):  # a chain of 17 links: one more than SYMLOOP_MAX
            await libc.symlink(f"/tmp/l{i - 1}", f"/tmp/l{i}")
        seen["16 links ok"] = (await libc.stat("/tmp/l16")).st_size
        seen["17 links"] = await errno_of(libc.stat("/tmp/l17"))
        seen["O_NOFOLLOW"] = await errno_of(libc.open("/tmp/l1", libc.O_RDONLY | libc.O_NOFOLLOW))
        return 0

    assert await run(prog) == 0
    assert seen == {
        "loop": [errno.ELOOP] * 5,
        "lstat is fine": True,
        "readlink is fine": "self",
        "16 links ok": 0,
        "17 links": errno.ELOOP,
        "O_NOFOLLOW": errno.ELOOP,
    }


async def test_einval_espipe_eisdir_eexist(autojump_clock):
    seen = {}

    async def prog(argv):
        fd = await libc.open("/tmp/f", RW_CREAT, 0o644)
        r, _w = await libc.pipe()
        d = await libc.open("/tmp", libc.O_RDONLY)
        seen["einval"] = [
            await errno_of(libc.lseek(fd, -1, libc.SEEK_SET)),
            await errno_of(libc.lseek(fd, 0, 42)),
            await errno_of(libc.read(fd, -1)),
            await errno_of(libc.fcntl(fd, 999)),
            await errno_of(libc.fcntl(fd, libc.F_DUPFD, -1)),
            await errno_of(libc.open("/tmp/f", libc.O_ACCMODE)),
            await errno_of(libc.rmdir("/tmp/.")),
            await errno_of(libc.readlink("/tmp/f")),
            await errno_of(libc.umount("/")),
        ]
        seen["espipe"] = await errno_of(libc.lseek(r, 0, libc.SEEK_CUR))
        seen["eisdir"] = [
            await errno_of(libc.read(d, 10)),
            await errno_of(libc.open("/tmp", libc.O_RDWR)),
        ]
        seen["eexist"] = [
            await errno_of(libc.mkdir("/tmp")),
            await errno_of(libc.symlink("x", "/tmp/f")),
            await errno_of(libc.mkfifo("/tmp/f")),
            await errno_of(libc.open("/tmp/f", RW_CREAT | libc.O_EXCL, 0o644)),
        ]
        seen["enotempty"] = await errno_of(libc.rmdir("/etc"))
        seen["ebusy mount on /"] = await errno_of(libc.mount("/", 10))
        seen["access bad mode"] = await libc.access("/tmp", 8)
        return 0

    assert await run(prog) == 0
    assert seen == {
        "einval": [errno.EINVAL] * 9,
        "espipe": errno.ESPIPE,
        "eisdir": [errno.EISDIR] * 2,
        "eexist": [errno.EEXIST] * 4,
        "enotempty": errno.ENOTEMPTY,
        "ebusy mount on /": errno.EBUSY,
        "access bad mode": False,
    }


async def test_bad_arguments_are_caught_before_the_call(autojump_clock):
    seen = {}

    async def prog(argv):
        with pytest.raises(ValueError, match="null byte"):
            await libc.open("/tmp/a\0b", libc.O_RDONLY)
        with pytest.raises(TypeError):
            await libc.stat(1.5)
        seen["ok"] = True
        return 0

    assert await run(prog) == 0
    assert seen == {"ok": True}


async def test_epipe_when_no_reader_is_left(autojump_clock):
    seen = {}

    async def prog(argv):
        await libc.signal(libc.SIGPIPE, libc.SIG_IGN)
        r, w = await libc.pipe()

        async def child():
            return 0  # holds a copy of both ends, then exits

        await libc.waitpid(await libc.fork(child), 0)
        await libc.close(r)
        seen["epipe"] = await errno_of(libc.write(w, b"x"))
        return 0

    assert await run(prog) == 0
    assert seen == {"epipe": errno.EPIPE}
