"""VFS system calls on regular files and directories, from user processes."""

from __future__ import annotations

import errno
import os
import stat

from tests.vfs.support import errno_of, run
from vfs import protocol as P


def test_create_write_read_seek_close():
    async def user(u):
        out = []
        fd = await u.open("/hello", os.O_CREAT | os.O_RDWR, 0o666)
        out.append(fd)
        out.append(await u.write(fd, b"hello, world"))
        out.append(await u.lseek(fd, 0, os.SEEK_CUR))
        out.append(await u.lseek(fd, 7))
        out.append(await u.read(fd, 100))
        out.append(await u.read(fd, 100))
        out.append(await u.lseek(fd, -5, os.SEEK_END))
        out.append(await errno_of(u.lseek(fd, -100, os.SEEK_CUR)))
        out.append(await u.lseek(fd, 20))
        await u.write(fd, b"!")
        await u.lseek(fd, 0)
        out.append(await u.read(fd, 100))
        st = await u.fstat(fd)
        out.append((stat.S_ISREG(st.st_mode), st.st_mode & 0o777, st.st_size, st.st_nlink))
        out.append(await u.close(fd))
        out.append(await errno_of(u.close(fd)))
        out.append(await errno_of(u.open("/hello", os.O_CREAT | os.O_EXCL | os.O_WRONLY)))
        fd = await u.open("/hello", os.O_WRONLY | os.O_APPEND)
        out.append(await errno_of(u.read(fd, 1)))
        await u.write(fd, b"+")
        out.append((await u.stat("/hello")).st_size)
        fd2 = await u.open("/hello", os.O_RDONLY | os.O_TRUNC)
        out.append(await errno_of(u.write(fd2, b"x")))
        fd3 = await u.open("/hello", os.O_WRONLY | os.O_TRUNC)
        out.append((fd, fd2, fd3, (await u.stat("/hello")).st_size))
        out.append(await errno_of(u.open("/nope")))
        out.append(await errno_of(u.open("/hello/x")))
        out.append(await errno_of(u.open("/", os.O_WRONLY)))
        out.append(await errno_of(u.open("/hello", os.O_DIRECTORY)))
        return out

    out = run({"u": user})["u"]
    assert out == [
        0,
        12,
        12,
        7,
        b"world",
        b"",
        7,
        errno.EINVAL,
        20,
        b"hello, world" + b"\0" * 8 + b"!",
        (True, 0o644, 21, 1),  # umask 022
        0,
        errno.EBADF,
        errno.EEXIST,
        errno.EBADF,
        22,
        errno.EBADF,
        (0, 1, 2, 0),
        errno.ENOENT,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.ENOTDIR,
    ]


def test_directories_links_symlinks_and_lookup_errors():
    async def user(u):
        out = []
        out.append(await u.path_call(P.VfsMkdir, "/a", 0o755))
        out.append(await u.path_call(P.VfsMkdir, "/a/b", 0o700))
        out.append(await errno_of(u.path_call(P.VfsMkdir, "/a", 0o755)))
        out.append(await errno_of(u.path_call(P.VfsMkdir, "/x/y", 0o755)))
        fd = await u.open("/a/b/f", os.O_CREAT | os.O_WRONLY, 0o600)
        await u.write(fd, b"data")
        await u.close(fd)
        out.append(await u.listdir("/a/b"))
        out.append(await u.path_call(P.VfsChdir, "/a/b"))
        out.append(await u.getcwd())
        out.append((await u.stat("f")).st_size)
        out.append((await u.stat("../../a/./b/f")).st_size)
        out.append(await u.path_call(P.VfsChdir, ".."))
        out.append(await u.getcwd())
        out.append(await u.two_paths(P.VfsLink, "/a/b/f", "/a/g"))
        out.append((await u.stat("/a/g")).st_nlink)
        out.append(await u.two_paths(P.VfsSymlink, "b/f", "/a/s"))
        out.append(await u.readlink("/a/s"))
        st = await u.stat("/a/s", lstat=True)
        out.append((stat.S_ISLNK(st.st_mode), st.st_size))
        out.append((await u.stat("/a/s")).st_size)
        await u.two_paths(P.VfsSymlink, "/a/loop", "/a/loop")
        out.append(await errno_of(u.stat("/a/loop")))
        await u.two_paths(P.VfsSymlink, "/a", "/a/up")
        out.append((await u.stat("/a/up/up/up/b/f")).st_size)
        out.append(await errno_of(u.stat("/a/" + "n" * 256)))
        out.append(await errno_of(u.stat("/" + "a/" * 600)))
        out.append(await errno_of(u.stat("/a/b/f/")))
        out.append(await errno_of(u.readlink("/a/b/f")))
        out.append(await u.two_paths(P.VfsRename, "/a/g", "/a/h"))
        out.append(await errno_of(u.stat("/a/g")))
        out.append(await errno_of(u.two_paths(P.VfsRename, "/a", "/a/b/c")))
        out.append(await errno_of(u.path_call(P.VfsRmdir, "/a/b")))
        out.append(await errno_of(u.path_call(P.VfsUnlink, "/a/b")))
        out.append(await u.path_call(P.VfsUnlink, "/a/b/f"))
        out.append(await u.path_call(P.VfsRmdir, "/a/b"))
        out.append(sorted(await u.listdir("/a")))
        out.append((await u.stat("/a/h")).st_nlink)
        out.append(await errno_of(u.path_call(P.VfsChdir, "/a/h")))
        return out

    out = run({"u": user})["u"]
    assert out == [
        0,
        0,
        errno.EEXIST,
        errno.ENOENT,
        [".", "..", "f"],
        0,
        "/a/b",
        4,
        4,
        0,
        "/a",
        0,
        2,
        0,
        "b/f",
        (True, 3),
        4,
        errno.ELOOP,
        4,
        errno.ENAMETOOLONG,
        errno.ENAMETOOLONG,
        errno.ENOTDIR,
        errno.EINVAL,
        0,
        errno.ENOENT,
        errno.EINVAL,
        errno.ENOTEMPTY,
        errno.EPERM,
        0,
        0,
        [".", "..", "h", "loop", "s", "up"],
        1,
        errno.ENOTDIR,
    ]


def test_descriptors_dup_dup2_fcntl_umask():
    async def user(u):
        out = []
        fd = await u.open("/f", os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o644)
        out.append(await u.call(P.VfsFcntl(fd, P.F_GETFD, 0)))
        d = await u.call(P.VfsDup(fd))
        out.append((d, await u.call(P.VfsFcntl(d, P.F_GETFD, 0))))
        await u.write(fd, b"abc")
        out.append(await u.lseek(d, 0, os.SEEK_CUR))  # shared position
        out.append(await u.call(P.VfsDup2(fd, 7)))
        out.append(await u.call(P.VfsDup2(fd, fd)))
        out.append(await errno_of(u.call(P.VfsDup2(55, 7))))
        out.append(await errno_of(u.call(P.VfsDup2(fd, P.OPEN_MAX))))
        out.append(await u.call(P.VfsFcntl(fd, P.F_DUPFD, 5)))
        out.append(await errno_of(u.call(P.VfsFcntl(fd, P.F_DUPFD, -1))))
        out.append(await u.call(P.VfsFcntl(fd, P.F_GETFL, 0)) == os.O_RDWR)
        await u.call(P.VfsFcntl(fd, P.F_SETFL, os.O_APPEND | os.O_NONBLOCK | os.O_TRUNC))
        out.append(
            await u.call(P.VfsFcntl(d, P.F_GETFL, 0)) == os.O_RDWR | os.O_APPEND | os.O_NONBLOCK
        )
        out.append(await errno_of(u.call(P.VfsFcntl(fd, 999, 0))))
        out.append(await u.call(P.VfsUmask(0o077)))
        out.append(await u.call(P.VfsUmask(0o022)))
        await u.call(P.VfsUmask(0o077))
        fd2 = await u.open("/g", os.O_CREAT | os.O_WRONLY, 0o666)
        out.append(((await u.fstat(fd2)).st_mode & 0o777, fd2))
        return out

    out = run({"u": user})["u"]
    assert out == [
        P.FD_CLOEXEC,
        (1, 0),
        3,
        7,
        0,
        errno.EBADF,
        errno.EBADF,
        5,
        errno.EINVAL,
        True,
        True,
        errno.EINVAL,
        0o022,
        0o077,
        (0o600, 2),
    ]
