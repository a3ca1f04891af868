"""The file commands, run on a booted system: exact output and status."""

from __future__ import annotations

import errno
import os

import trio

from tests.pm.support import booted
from tests.userland.bin.fsupport import (  # noqa: F401 (redirect_fixture: a fixture)
    expect,
    od_x1,
    put,
    redirect_fixture,
    usage_error,
)
from userland import libc

LS = "/bin/ls"


async def test_ls(autojump_clock) -> None:
    async with booted() as s:
        await expect(s, [LS, "/"], "bin\ndev\netc\nhome\nroot\nsbin\ntmp\nusr\nvar\n")
        await expect(s, [LS, "-1", "/home"], "user\n")
        await expect(s, [LS, "-a", "/home"], ".\n..\nuser\n")
        await expect(s, [LS, "-d", "/tmp", "/etc"], "/etc\n/tmp\n")
        await expect(
            s,
            [LS, "-ld", "/tmp", "/home/user"],
            "drwxr-xr-x 2 user user 0 Jan  1 00:00 /home/user\n"
            "drwxrwxrwt 2 root root 0 Jan  1 00:00 /tmp\n",
        )
        await expect(
            s,
            [LS, "-l", "/dev/null", "/dev/console", "/etc/passwd"],
            "crw------- 1 root root 4, 0 Jan  1 00:00 /dev/console\n"
            "crw-rw-rw- 1 root root 1, 3 Jan  1 00:00 /dev/null\n"
            "-rw-r--r-- 1 root root   69 Jan  1 00:00 /etc/passwd\n",
        )
        await trio.sleep(3600 + 125)  # the file times that follow are 01:02
        await put(s, "/tmp/.hidden", "x")
        await put(s, "/tmp/b", "hello\n")
        await expect(s, ["/bin/ln", "-s", "/etc/motd", "/tmp/a"])
        await expect(s, ["/bin/mkdir", "/tmp/c"])
        await expect(s, ["/bin/chmod", "4755", "/tmp/b"])
        await expect(s, ["/bin/chmod", "700", "/tmp/c"])
        await expect(s, [LS, "/tmp"], "a\nb\nc\n")
        await expect(
            s,
            [LS, "-l", "/tmp"],
            "lrwxrwxrwx 1 root root 9 Jan  1 01:02 a -> /etc/motd\n"
            "-rwsr-xr-x 1 root root 6 Jan  1 01:02 b\n"
            "drwx------ 2 root root 0 Jan  1 01:02 c\n",
        )
        # a command-line link is followed unless -l or -d; several operands get headers
        await expect(s, [LS, "/tmp/a", "/tmp/c", "/home"], "/tmp/a\n\n/home:\nuser\n\n/tmp/c:\n")
        await expect(
            s,
            [LS, "-la", "/tmp/c"],
            "drwx------ 2 root root 0 Jan  1 01:02 .\ndrwxrwxrwt 3 root root 0 Jan  1 01:02 ..\n",
        )
        # owners without a name in /etc/passwd show as numbers
        assert await s.run(["/bin/touch", "/tmp/u"], uid=500) == (0, "")
        assert await s.run(["/bin/touch", "/home/user/f"], uid=100) == (0, "")
        await expect(
            s,
            [LS, "-l", "/tmp/u", "/home/user/f"],
            "-rw-r--r-- 1 user user 0 Jan  1 01:02 /home/user/f\n"
            "-rw-r--r-- 1 500  500  0 Jan  1 01:02 /tmp/u\n",
        )
        await expect(
            s, [LS, "/nope", "/home"], "ls: /nope: No such file or directory\n/home:\nuser\n", 1
        )
        await usage_error(s, [LS, "-Z"], "ls: option -Z not recognized")


async def test_mkdir_rmdir_rm(autojump_clock) -> None:
    async with booted() as s:
        await expect(s, ["/bin/mkdir", "/tmp/a", "/tmp/b"])
        await expect(
            s,
            ["/bin/mkdir", "/tmp/a", "/tmp/x/y"],
            "mkdir: /tmp/a: File exists\nmkdir: /tmp/x/y: No such file or directory\n",
            1,
        )
        await expect(s, ["/bin/mkdir", "-p", "/tmp/x/y/z", "/tmp/a"])
        await expect(s, ["/bin/mkdir", "-m", "700", "/tmp/m7"])
        await expect(s, ["/bin/mkdir", "-m", "u=rwx,go=", "/tmp/ms"])
        await expect(s, ["/bin/mkdir", "-p", "-m", "1777", "/tmp/p/q"])
        await expect(
            s,
            [LS, "-ld", "/tmp/m7", "/tmp/ms", "/tmp/p", "/tmp/p/q", "/tmp/x/y"],
            "drwx------ 2 root root 0 Jan  1 00:00 /tmp/m7\n"
            "drwx------ 2 root root 0 Jan  1 00:00 /tmp/ms\n"
            "drwxr-xr-x 3 root root 0 Jan  1 00:00 /tmp/p\n"
            "drwxrwxrwt 2 root root 0 Jan  1 00:00 /tmp/p/q\n"
            "drwxr-xr-x 3 root root 0 Jan  1 00:00 /tmp/x/y\n",
        )
        await usage_error(s, ["/bin/mkdir"], "mkdir: missing operand")
        await usage_error(s, ["/bin/mkdir", "-m", "u+q", "/tmp/z"], "mkdir: invalid mode: u+q")
        await expect(
            s,
            ["/bin/rmdir", "/tmp/b", "/tmp/x", "/tmp/nope"],
            "rmdir: /tmp/x: Directory not empty\nrmdir: /tmp/nope: No such file or directory\n",
            1,
        )
        await expect(s, ["/bin/rmdir", "-p", "/tmp/x/y/z"], "rmdir: /tmp: Directory not empty\n", 1)
        await expect(s, [LS, "/tmp"], "a\nm7\nms\np\n")
        await usage_error(s, ["/bin/rmdir"], "rmdir: missing operand")
        await put(s, "/tmp/p/q/f", "x")
        await expect(s, ["/bin/touch", "/tmp/a/f"])
        await expect(
            s,
            ["/bin/rm", "/tmp/a/f", "/tmp/p", "/tmp/nope"],
            "rm: /tmp/p: Is a directory\nrm: /tmp/nope: No such file or directory\n",
            1,
        )
        await expect(
            s,
            ["/bin/rm", "-f", "/tmp/nope", "/tmp/m7/.."],
            "rm: /tmp/m7/..: refusing to remove '.' or '..'\n",
            1,
        )
        await expect(s, ["/bin/rm", "-r", "/tmp/p", "/tmp/a"])
        await expect(s, ["/bin/rm", "-R", "/tmp/ms"])
        await expect(s, [LS, "/tmp"], "m7\n")
        await expect(s, ["/bin/rm", "-f"])
        await usage_error(s, ["/bin/rm"], "rm: missing operand")
        await usage_error(s, ["/bin/rm", "-i", "x"], "rm: option -i not recognized")
        # an entry deep in a tree that cannot be removed is named
        await expect(s, ["/bin/mkdir", "-p", "/tmp/m7/sub/deeper"])
        assert await s.run(["/bin/chmod", "755", "/tmp/m7"]) == (0, "")
        assert await s.run(["/bin/rm", "-r", "/tmp/m7/sub"], uid=100) == (
            1,
            "rm: /tmp/m7/sub/deeper: Permission denied\n",
        )
        assert await s.run(["/bin/rm", "-r", "/tmp/m7"], uid=100) == (
            1,
            "rm: /tmp/m7/sub/deeper: Permission denied\n",
        )


async def test_cp_mv_ln_touch(autojump_clock) -> None:
    async with booted() as s:
        await put(s, "/tmp/f", "file\n")
        await expect(s, ["/bin/chmod", "750", "/tmp/f"])
        await expect(s, ["/bin/mkdir", "/tmp/d"])
        await expect(s, ["/bin/cp", "/tmp/f", "/tmp/g"])
        await expect(s, ["/bin/cp", "/tmp/f", "/tmp/g", "/tmp/d"])
        await expect(s, ["/bin/cat", "/tmp/g", "/tmp/d/f", "/tmp/d/g"], "file\n" * 3)
        await expect(s, [LS, "-l", "/tmp/g"], "-rwxr-x--- 1 root root 5 Jan  1 00:00 /tmp/g\n")
        await expect(
            s, ["/bin/cp", "/tmp/f", "/tmp/f"], "cp: /tmp/f and /tmp/f are the same file\n", 1
        )
        await expect(
            s, ["/bin/cp", "/tmp/d", "/tmp/e"], "cp: /tmp/d: is a directory (not copied)\n", 1
        )
        await expect(
            s, ["/bin/cp", "/tmp/f", "/tmp/g", "/tmp/f"], "cp: /tmp/f: Not a directory\n", 1
        )
        await expect(
            s, ["/bin/cp", "/nope", "/tmp/f", "/tmp/d"], "cp: /nope: No such file or directory\n", 1
        )
        await expect(
            s, ["/bin/cp", "/tmp/f", "/tmp/no/x"], "cp: /tmp/no/x: No such file or directory\n", 1
        )
        await usage_error(s, ["/bin/cp", "/tmp/f"], "cp: missing operand")
        await expect(s, ["/bin/ln", "-s", "../f", "/tmp/d/link"])
        await expect(s, ["/bin/cp", "-r", "/tmp/d", "/tmp/e"])
        await expect(s, ["/bin/cp", "-R", "/tmp/d", "/tmp/e"])  # into the existing e
        await expect(
            s,
            [LS, "-l", "/tmp/e", "/tmp/e/d"],
            "/tmp/e:\n"
            "drwxr-xr-x 2 root root 0 Jan  1 00:00 d\n"
            "-rwxr-x--- 1 root root 5 Jan  1 00:00 f\n"
            "-rwxr-x--- 1 root root 5 Jan  1 00:00 g\n"
            "lrwxrwxrwx 1 root root 4 Jan  1 00:00 link -> ../f\n"
            "\n/tmp/e/d:\n"
            "-rwxr-x--- 1 root root 5 Jan  1 00:00 f\n"
            "-rwxr-x--- 1 root root 5 Jan  1 00:00 g\n"
            "lrwxrwxrwx 1 root root 4 Jan  1 00:00 link -> ../f\n",
        )
        await expect(s, ["/bin/cat", "/tmp/e/link"], "file\n")
        # mv: rename, into a directory, errors
        await expect(s, ["/bin/mv", "/tmp/g", "/tmp/h"])
        await expect(s, ["/bin/mv", "/tmp/h", "/tmp/e", "/tmp/d"])
        await expect(s, [LS, "/tmp", "/tmp/d"], "/tmp:\nd\nf\n\n/tmp/d:\ne\nf\ng\nh\nlink\n")
        await expect(s, ["/bin/mv", "/nope", "/tmp/x"], "mv: /nope: No such file or directory\n", 1)
        await expect(s, ["/bin/mv", "/tmp/d", "/tmp/d/e"], "mv: /tmp/d: Invalid argument\n", 1)
        await usage_error(s, ["/bin/mv", "/tmp/f"], "mv: missing operand")
        # ln: hard by default, -s, -f, into a directory
        await expect(s, ["/bin/ln", "/tmp/f", "/tmp/hard"])
        await expect(s, ["/bin/ln", "/tmp/f", "/tmp/hard"], "ln: /tmp/hard: File exists\n", 1)
        await expect(s, ["/bin/ln", "-s", "-f", "f", "/tmp/hard"])
        await expect(s, ["/bin/mkdir", "/tmp/L"])
        await expect(s, ["/bin/ln", "/tmp/f", "/tmp/L"])
        await expect(
            s, ["/bin/ln", "/tmp/d", "/tmp/dd"], "ln: /tmp/dd: Operation not permitted\n", 1
        )
        await expect(
            s,
            [LS, "-l", "/tmp/hard", "/tmp/f", "/tmp/L/f"],
            "-rwxr-x--- 2 root root 5 Jan  1 00:00 /tmp/L/f\n"
            "-rwxr-x--- 2 root root 5 Jan  1 00:00 /tmp/f\n"
            "lrwxrwxrwx 1 root root 1 Jan  1 00:00 /tmp/hard -> f\n",
        )
        await usage_error(s, ["/bin/ln"], "ln: missing operand")
        # touch: creates missing files, gives existing ones (and directories) the time now;
        # -c creates nothing
        await expect(
            s,
            ["/bin/touch", "/tmp/new", "/tmp/f", "/tmp/d", "/tmp/no/x"],
            "touch: /tmp/no/x: No such file or directory\n",
            1,
        )
        await expect(s, ["/bin/touch", "-c", "/tmp/none"])
        await expect(s, ["/bin/cat", "/tmp/new", "/tmp/f"], "file\n")
        await expect(s, [LS, "/tmp"], "L\nd\nf\nhard\nnew\n")
        await usage_error(s, ["/bin/touch"], "touch: missing operand")


async def _stat_times(s, path):
    """The Access/Modify/Change lines ``/bin/stat`` prints for ``path``."""
    status, out = await s.run(["/bin/stat", path])
    assert status == 0, out
    return [line.split(": ", 1)[1] for line in out.splitlines()[-3:]]


async def test_touch_times(autojump_clock) -> None:
    async with booted() as s:
        await put(s, "/tmp/f", "x")
        await expect(s, ["/bin/chmod", "666", "/tmp/f"])
        boot = "2026-01-01 00:00:00"
        assert await _stat_times(s, "/tmp/f") == [boot, boot, boot]
        await trio.sleep(3600 + 125)
        now = "2026-01-01 01:02:05"
        await expect(s, ["/bin/touch", "/tmp/f", "/tmp"])
        assert await _stat_times(s, "/tmp/f") == [now, now, now]
        assert await _stat_times(s, "/tmp") == [now, now, now]
        # -t [[CC]YY]MMDDhhmm[.SS] (UTC); -a and -m pick one time, the ctime is now
        await expect(s, ["/bin/touch", "-t", "202403151230.45", "/tmp/f"])
        assert await _stat_times(s, "/tmp/f") == ["2024-03-15 12:30:45"] * 2 + [now]
        await expect(s, ["/bin/touch", "-a", "-t", "6812312359", "/tmp/f"])
        assert await _stat_times(s, "/tmp/f") == ["2068-12-31 23:59:00", "2024-03-15 12:30:45", now]
        await expect(s, ["/bin/touch", "-m", "-t", "7001010000.07", "/tmp/f"])
        assert await _stat_times(s, "/tmp/f") == ["2068-12-31 23:59:00", "1970-01-01 00:00:07", now]
        await expect(s, ["/bin/touch", "-am", "-t", "07041200", "/tmp/f"])  # this year
        assert await _stat_times(s, "/tmp/f") == ["2026-07-04 12:00:00"] * 2 + [now]
        await expect(s, ["/bin/touch", "-m", "/tmp/f"])
        assert await _stat_times(s, "/tmp/f") == ["2026-07-04 12:00:00", now, now]
        # -r: another file's times; a file created gets them too
        await expect(s, ["/bin/touch", "-t", "199912312359.59", "/tmp/ref"])
        await expect(s, ["/bin/touch", "-r", "/tmp/ref", "/tmp/f", "/tmp/new"])
        old = "1999-12-31 23:59:59"
        assert await _stat_times(s, "/tmp/f") == [old, old, now]
        assert await _stat_times(s, "/tmp/new") == [old, old, now]
        await expect(s, ["/bin/touch", "-c", "-t", "202001010000", "/tmp/none", "/tmp/no/x"])
        await expect(s, [LS, "/tmp"], "f\nnew\nref\n")
        # rights: now needs write permission (or ownership), other times ownership
        await expect(s, ["/bin/chmod", "644", "/tmp/new"])
        assert await s.run(["/bin/touch", "/tmp/f"], uid=100) == (0, "")
        assert await s.run(["/bin/touch", "-t", "202001010000", "/tmp/f"], uid=100) == (
            1,
            "touch: /tmp/f: Operation not permitted\n",
        )
        assert await s.run(["/bin/touch", "/tmp/new", "/tmp/mine"], uid=100) == (
            1,
            "touch: /tmp/new: Permission denied\n",
        )
        assert await s.run(["/bin/touch", "-t", "202001010000", "/tmp/mine"], uid=100) == (0, "")
        assert await _stat_times(s, "/tmp/mine") == ["2020-01-01 00:00:00"] * 2 + [now]
        # errors
        await expect(
            s,
            ["/bin/touch", "-r", "/nope", "/tmp/f"],
            "touch: /nope: No such file or directory\n",
            1,
        )
        for bad in (
            "2024",
            "20240315123",
            "202413011200",
            "202402301200",
            "01010000.61",
            "1x010000",
        ):
            await usage_error(s, ["/bin/touch", "-t", bad, "/tmp/f"], f"touch: invalid date: {bad}")
        await usage_error(
            s,
            ["/bin/touch", "-r", "/tmp/f", "-t", "202001010000", "/tmp/f"],
            "touch: -r and -t are mutually exclusive",
        )
        await usage_error(s, ["/bin/touch", "-t"], "touch: option -t requires argument")
        assert (await _stat_times(s, "/tmp/f"))[:2] == [now, now]


async def test_chmod_and_stat(autojump_clock) -> None:
    async with booted() as s:
        await put(s, "/tmp/f", "abc")
        await expect(s, ["/bin/mkdir", "/tmp/d"])
        modes = [
            ("600", "-rw-------"),
            ("u+x,go-w", "-rwx------"),
            ("a=r", "-r--r--r--"),
            ("ug+w", "-rw-rw-r--"),
            ("g=u", "-rw-rw-r--"),
            ("o+X", "-rw-rw-r--"),
            ("u+s,+t", "-rwSrw-r-T"),
            ("=", "----------"),
            ("+x", "---x--x--x"),
        ]
        for spec, shown in modes:
            await expect(s, ["/bin/chmod", spec, "/tmp/f"])
            await expect(s, [LS, "-l", "/tmp/f"], f"{shown} 1 root root 3 Jan  1 00:00 /tmp/f\n")
        await expect(s, ["/bin/chmod", "go-rx,o+X", "/tmp/d"])
        await expect(s, [LS, "-ld", "/tmp/d"], "drwx-----x 2 root root 0 Jan  1 00:00 /tmp/d\n")
        await expect(
            s,
            ["/bin/chmod", "644", "/nope", "/tmp/f"],
            "chmod: /nope: No such file or directory\n",
            1,
        )
        assert await s.run(["/bin/chmod", "777", "/tmp/f"], uid=100) == (
            1,
            "chmod: /tmp/f: Operation not permitted\n",
        )
        await usage_error(s, ["/bin/chmod", "u+q", "/tmp/f"], "chmod: invalid mode: u+q")
        await usage_error(s, ["/bin/chmod", "8", "/tmp/f"], "chmod: invalid mode: 8")
        await usage_error(s, ["/bin/chmod", "644"], "chmod: missing operand")
        await expect(s, ["/bin/ln", "-s", "f", "/tmp/l"])
        status, out = await s.run(["/bin/stat", "/tmp/f", "/tmp/l", "/dev/null"])
        assert status == 0
        lines = out.splitlines()
        ino = lines[2].split()[3]
        assert lines[:7] == [
            "  File: /tmp/f",
            "  Size: 3             Type: regular file",
            f"Device: 0,10   Inode: {ino}   Links: 1",
            "Access: (0644/-rw-r--r--)  Uid: (    0/    root)   Gid: (    0/    root)",
            "Access: 2026-01-01 00:00:00",
            "Modify: 2026-01-01 00:00:00",
            "Change: 2026-01-01 00:00:00",
        ]
        assert lines[7:9] == ["  File: /tmp/l -> f", "  Size: 1             Type: symbolic link"]
        assert lines[10].startswith("Access: (0777/lrwxrwxrwx)")
        assert lines[14:16] == [
            "  File: /dev/null",
            "  Size: 0             Type: character special file",
        ]
        assert lines[16].endswith("   Links: 1   Device type: 1,3")
        assert len(lines) == 21
        status, out = await s.run(["/bin/stat", "-L", "/tmp/l", "/home/user", "/nope"])
        assert status == 1
        lines = out.splitlines()
        assert lines[0] == "stat: /nope: No such file or directory"
        assert lines[1:3] == ["  File: /tmp/l", "  Size: 3             Type: regular file"]
        assert (
            lines[11] == "Access: (0755/drwxr-xr-x)  Uid: (  100/    user)   Gid: (  100/    user)"
        )
        await usage_error(s, ["/bin/stat"], "stat: missing operand")


async def test_dd(autojump_clock, redirect) -> None:
    data = bytes(range(256)) * 4
    async with booted() as s:
        await expect(
            s,
            ["/bin/dd", "of=/tmp/a", "bs=100"],
            "10+1 records in\n10+1 records out\n1024 bytes copied\n",
            stdin=data,
        )
        await expect(s, ["/bin/od", "-An", "-v", "-t", "x1", "/tmp/a"], od_x1(data))
        await expect(
            s,
            [redirect, "/tmp/b", "/bin/dd", "if=/tmp/a", "bs=1k", "count=1"],
            "1+0 records in\n1+0 records out\n1024 bytes copied\n",
        )
        await expect(s, ["/bin/od", "-An", "-v", "-t", "x1", "/tmp/b"], od_x1(data))
        await expect(
            s,
            ["/bin/dd", "if=/tmp/a", "of=/tmp/c", "bs=2", "skip=128", "count=3"],
            "3+0 records in\n3+0 records out\n6 bytes copied\n",
        )
        await expect(s, ["/bin/od", "-An", "-t", "x1", "/tmp/c"], " 00 01 02 03 04 05\n")
        await expect(
            s,
            ["/bin/dd", "of=/tmp/c", "bs=2", "seek=1", "conv=notrunc"],
            "1+0 records in\n1+0 records out\n2 bytes copied\n",
            stdin="AB",
        )
        await expect(s, ["/bin/od", "-An", "-t", "x1", "/tmp/c"], " 00 01 41 42 04 05\n")
        await expect(
            s,
            ["/bin/dd", "of=/tmp/c", "bs=1", "seek=1"],
            "1+0 records in\n1+0 records out\n1 bytes copied\n",
            stdin="Z",
        )
        await expect(s, ["/bin/od", "-An", "-t", "x1", "/tmp/c"], " 00 5a\n")
        # skip on a pipe reads and drops; a short last read is a partial record
        await expect(
            s,
            ["/bin/dd", "bs=4", "skip=1"],
            "efghij1+1 records in\n1+1 records out\n6 bytes copied\n",
            stdin="abcdefghij",
        )
        await expect(
            s,
            ["/bin/dd", "if=/nope"],
            "dd: /nope: No such file or directory\n"
            "0+0 records in\n0+0 records out\n0 bytes copied\n",
            1,
        )
        await usage_error(s, ["/bin/dd", "bs=0"], "dd: invalid operand: bs=0")
        await usage_error(s, ["/bin/dd", "conv=sync"], "dd: invalid operand: conv=sync")
        await usage_error(s, ["/bin/dd", "junk"], "dd: invalid operand: junk")


async def test_ls_on_a_terminal_uses_columns(autojump_clock, redirect) -> None:
    async with booted() as s:
        await expect(s, [redirect, "/dev/console", LS, "/", "/dev"])
        await expect(s, [redirect, "/dev/console", LS, "-1", "/home"])
        s.console.resize(24, 40)
        await trio.sleep(1)
        await expect(s, [redirect, "/dev/console", LS, "/dev"])
        await trio.sleep(1)
        assert s.console.output.decode().split("\r\n") == [
            "/:",
            "bin   dev   etc   home  root  sbin  tmp   usr   var",
            "",
            "/dev:",
            "console  hello    log      null     pts      random   urandom",
            "full     kmem     mem      ptmx     ram      tty      zero",
            "user",
            "console  log      pts      urandom",
            "full     mem      ram      zero",
            "hello    null     random",
            "kmem     ptmx     tty",
            "",
        ]


async def test_mv_across_file_systems_copies_then_removes(autojump_clock, monkeypatch) -> None:
    # A booted system has one file system: rename's EXDEV is injected instead.
    async def cross_device_rename(src, dst):
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))

    async with booted() as s:
        await expect(s, ["/bin/mkdir", "-p", "/tmp/d/sub"])
        await put(s, "/tmp/d/sub/f", "deep\n")
        await expect(s, ["/bin/ln", "-s", "sub/f", "/tmp/d/link"])
        await put(s, "/tmp/g", "g\n")
        await expect(s, ["/bin/mkdir", "/tmp/into"])
        monkeypatch.setattr(libc, "rename", cross_device_rename)
        await expect(s, ["/bin/mv", "/tmp/d", "/tmp/e"])
        await expect(s, ["/bin/mv", "/tmp/g", "/tmp/into"])
        await expect(
            s,
            [LS, "/tmp", "/tmp/e", "/tmp/into"],
            "/tmp:\ne\ninto\n\n/tmp/e:\nlink\nsub\n\n/tmp/into:\ng\n",
        )
        await expect(s, ["/bin/cat", "/tmp/e/link", "/tmp/into/g"], "deep\ng\n")
        await expect(
            s, ["/bin/mv", "/tmp/nope", "/tmp/x"], "mv: /tmp/nope: No such file or directory\n", 1
        )
