"""utime/utimensat on a booted system: times set and read back, now, omit, rights, errors.

File servers keep times on the kernel clock (since boot); libc shows them as Unix time
(EPOCH + the clock), so a time given to utime is what stat gives back.
"""

import errno
import functools

import pytest

from tests.pm.support import errno_of as _errno_of
from tests.pm.support import run
from userland import libc

errno_of = functools.partial(_errno_of, ok=None)
NOW = (0, libc.UTIME_NOW)
OMIT = (0, libc.UTIME_OMIT)


async def _times(path, *, follow_symlinks=True):
    st = await libc.stat(path, follow_symlinks=follow_symlinks)
    return st.st_atime, st.st_mtime, st.st_ctime


async def _create(path, mode=0o644):
    await libc.close(await libc.open(path, libc.O_WRONLY | libc.O_CREAT, mode))


async def test_times_round_trip_through_stat(autojump_clock):
    seen = {}

    async def prog(argv):
        seen["t0"] = await libc.time()
        await _create("/tmp/f")
        seen["fresh"] = await _times("/tmp/f")
        await libc.sleep(100)
        seen["t1"] = await libc.time()
        await libc.utime("/tmp/f", (1_234_567_890.5, 1_767_000_000.25))
        seen["seconds"] = await _times("/tmp/f")
        seen["t2"] = await libc.time()
        await libc.utime("/tmp/f", (0, 1_800_000_000.987654321))
        seen["1970 and a fraction"] = (await _times("/tmp/f"))[:2]
        await libc.utime("/tmp/f", ns=(5 * 10**9, 1_767_000_000_123_456_789))
        seen["ns"] = (await _times("/tmp/f"))[:2]
        await libc.utimensat("/tmp/f", ((1_700_000_000, 999_999_000), (-86_400, 500_000_000)))
        seen["timespec, before 1970"] = (await _times("/tmp/f"))[:2]
        seen["to_timespec"] = [libc.to_timespec(t) for t in (1.5, -1.25, 2.9999999999)]
        return 0

    assert await run(prog) == 0
    t0, t1, t2 = seen["t0"], seen["t1"], seen["t2"]
    assert libc.EPOCH <= t0 < libc.EPOCH + 1  # 2026-01-01 00:00:00, just after boot
    atime, mtime, ctime = seen["fresh"]
    assert t0 <= atime == mtime == ctime < t0 + 1  # stamped with the clock time() shows
    assert seen["seconds"][:2] == (1_234_567_890.5, 1_767_000_000.25)
    assert t1 <= seen["seconds"][2] <= t2  # the ctime is now, whatever times were set
    assert seen["1970 and a fraction"] == (0.0, 1_800_000_000.987654321)
    assert seen["ns"] == (5.0, 1_767_000_000.123456789)
    assert seen["timespec, before 1970"] == (1_700_000_000.999999, -86_399.5)
    assert seen["to_timespec"] == [(1, 500_000_000), (-2, 750_000_000), (3, 0)]


async def test_now_omit_and_ctime(autojump_clock):
    seen = {}

    async def prog(argv):
        await _create("/tmp/f")
        await libc.utime("/tmp/f", (1000.0, 2000.0))
        await libc.sleep(50)
        seen["t0"] = await libc.time()
        await libc.utime("/tmp/f")
        seen["both now"] = await _times("/tmp/f")
        await libc.utime("/tmp/f", (1000.0, 2000.0))
        await libc.sleep(50)
        seen["t1"] = await libc.time()
        await libc.utimensat("/tmp/f", (OMIT, NOW))
        seen["mtime now"] = await _times("/tmp/f")
        await libc.utimensat("/tmp/f", ((3000, 0), OMIT))
        seen["atime set"] = await _times("/tmp/f")
        await libc.sleep(50)
        await libc.utimensat("/tmp/f", (OMIT, OMIT))
        seen["both omitted"] = await _times("/tmp/f")
        return 0

    assert await run(prog) == 0
    t0, t1 = seen["t0"], seen["t1"]
    atime, mtime, ctime = seen["both now"]
    assert t0 <= atime == mtime <= ctime < t0 + 1
    atime, mtime, ctime = seen["mtime now"]
    assert atime == 1000.0
    assert t1 <= mtime <= ctime < t1 + 1
    assert seen["atime set"][:2] == (3000.0, mtime)
    assert seen["both omitted"] == seen["atime set"]  # not even the ctime moves


async def test_descriptor_and_symlink_variants(autojump_clock):
    seen = {}

    async def prog(argv):
        await _create("/tmp/f")
        await libc.symlink("/tmp/f", "/tmp/l")
        fd = await libc.open("/tmp/f", libc.O_RDONLY)  # futimens needs no write mode
        await libc.utime(fd, (10.0, 20.0))
        seen["fd"] = (await _times("/tmp/f"))[:2]
        await libc.utimensat(fd, (NOW, (30, 0)))
        seen["fd timespec"] = (await libc.fstat(fd)).st_mtime
        await libc.close(fd)
        seen["closed fd"] = await errno_of(libc.utime(fd))
        await libc.utime("/tmp/l", (40.0, 50.0))
        seen["followed"] = (await _times("/tmp/f"))[:2]
        await libc.utime("/tmp/l", (60.0, 70.0), follow_symlinks=False)
        seen["link itself"] = (await _times("/tmp/l", follow_symlinks=False))[:2]
        seen["target kept"] = (await _times("/tmp/f"))[:2]
        await libc.utime("/tmp", (80.0, 90.0))
        seen["directory"] = (await _times("/tmp"))[:2]
        r, _w = await libc.pipe()
        await libc.utime(r, (1.0, 2.0))  # accepted; a pipe keeps no times
        seen["pipe"] = (await libc.fstat(r)).st_mtime
        return 0

    assert await run(prog) == 0
    assert seen == {
        "fd": (10.0, 20.0),
        "fd timespec": 30.0,
        "closed fd": errno.EBADF,
        "followed": (40.0, 50.0),
        "link itself": (60.0, 70.0),
        "target kept": (40.0, 50.0),
        "directory": (80.0, 90.0),
        "pipe": libc.EPOCH,
    }


async def test_rights_of_owner_writer_and_others(autojump_clock):
    seen = {}

    async def prog(argv):
        for name, mode in (("shared", 0o666), ("private", 0o644)):
            await _create(f"/tmp/{name}", mode)
            await libc.chmod(f"/tmp/{name}", mode)
            await libc.chown(f"/tmp/{name}", 200, 200)
        await libc.utime("/tmp/private", (1.0, 2.0))  # root: any file, any time
        seen["root"] = (await _times("/tmp/private"))[:2]
        await libc.setuid(100)
        seen["writer: now"] = await errno_of(libc.utime("/tmp/shared"))
        seen["writer: NOW, NOW"] = await errno_of(libc.utimensat("/tmp/shared", (NOW, NOW)))
        seen["writer: a time"] = await errno_of(libc.utime("/tmp/shared", (1.0, 2.0)))
        seen["writer: NOW, OMIT"] = await errno_of(libc.utimensat("/tmp/shared", (NOW, OMIT)))
        seen["other: now"] = await errno_of(libc.utime("/tmp/private"))
        seen["other: a time"] = await errno_of(libc.utime("/tmp/private", (3.0, 4.0)))
        seen["other: OMIT, OMIT"] = await errno_of(libc.utimensat("/tmp/private", (OMIT, OMIT)))
        seen["unchanged"] = (await _times("/tmp/private"))[:2]
        seen["other: fd"] = await errno_of(
            libc.utime(await libc.open("/tmp/private", libc.O_RDONLY), (3.0, 4.0))
        )
        await _create("/tmp/mine", 0o444)
        seen["owner, read-only file"] = await errno_of(libc.utime("/tmp/mine", (5.0, 6.0)))
        seen["owner: times"] = (await _times("/tmp/mine"))[:2]
        return 0

    assert await run(prog) == 0
    assert seen == {
        "root": (1.0, 2.0),
        "writer: now": None,
        "writer: NOW, NOW": None,
        "writer: a time": errno.EPERM,
        "writer: NOW, OMIT": errno.EPERM,
        "other: now": errno.EACCES,
        "other: a time": errno.EPERM,
        "other: OMIT, OMIT": None,
        "unchanged": (1.0, 2.0),
        "other: fd": errno.EPERM,
        "owner, read-only file": None,
        "owner: times": (5.0, 6.0),
    }


async def test_errors(autojump_clock):
    seen = {}

    async def prog(argv):
        await _create("/tmp/f")
        await libc.symlink("/tmp/loop2", "/tmp/loop1")
        await libc.symlink("/tmp/loop1", "/tmp/loop2")
        seen["ENOENT"] = await errno_of(libc.utime("/tmp/nope"))
        seen["ENOENT dir"] = await errno_of(libc.utime("/tmp/no/f", (1.0, 2.0)))
        seen["empty"] = await errno_of(libc.utime(""))
        seen["ENOTDIR"] = await errno_of(libc.utime("/tmp/f/x"))
        seen["ELOOP"] = await errno_of(libc.utime("/tmp/loop1"))
        seen["loop itself"] = await errno_of(libc.utime("/tmp/loop1", follow_symlinks=False))
        seen["nsec too big"] = await errno_of(libc.utimensat("/tmp/f", ((0, 10**9), NOW)))
        seen["nsec negative"] = await errno_of(libc.utimensat("/tmp/f", (NOW, (0, -1))))
        seen["EBADF"] = await errno_of(libc.utime(77))
        with pytest.raises(ValueError, match="either 'times' or 'ns'"):
            await libc.utime("/tmp/f", (1.0, 2.0), ns=(1, 2))
        return 0

    assert await run(prog) == 0
    assert seen == {
        "ENOENT": errno.ENOENT,
        "ENOENT dir": errno.ENOENT,
        "empty": errno.ENOENT,
        "ENOTDIR": errno.ENOTDIR,
        "ELOOP": errno.ELOOP,
        "loop itself": None,
        "nsec too big": errno.EINVAL,
        "nsec negative": errno.EINVAL,
        "EBADF": errno.EBADF,
    }
