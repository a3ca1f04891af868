"""Files: open, read, write, descriptors, names, attributes, mounts (as Python's ``os``).

Every call here is a system call to VFS (one ``VfsXxx`` message, one ``VfsReply``).
Paths, data buffers, ``stat`` structures, ``struct flock`` and ioctl arguments live in
the process's own simulated memory: libc lays them out in one heap block per call
(:func:`~userland.libc.memory.malloc`), pokes the arguments in, passes VFS their
virtual addresses, peeks the results back and frees the block. A path crosses as its
bytes plus the terminating NUL (its length counts the NUL, as MINIX's ``_loadname``).

Reads and writes move at most :data:`IO_CHUNK` bytes per request: a larger ``read``
returns what one request brought (a short read, as POSIX allows), a larger ``write``
goes in pieces and stops at the first short or failed piece (returning what was
written, or raising if nothing was). :func:`read_into` and :func:`write_from` take a
raw address for programs that manage their own buffers (a bad one is EFAULT).

Calls that may block in VFS and that POSIX lets SA_RESTART restart are made
restartable: read, write, open (a FIFO's open waits for its peer), ``fcntl`` F_SETLKW
and ioctl.

Device numbers are MINIX's: ``major << 8 | minor`` (:func:`makedev`).

File times: file servers keep them in seconds on the kernel clock (since boot); libc
shows them as Unix time, as :func:`~userland.libc.time` does the clock, by adding the
kernel's boot time (:attr:`~kernel.process.Process.boottime`, whole Unix seconds read
from the RTC at boot: :data:`~userland.libc.EPOCH` on virtual time, the host's clock on
real time) in :func:`stat` and subtracting it in :func:`utime` and :func:`utimensat`.
Whole seconds round-trip exactly; a fraction does to the nanosecond (and so exactly for
times of the machine's era, within a factor 2 of the boot time).
"""

from __future__ import annotations

import math
import os
import stat as _stat
from typing import TYPE_CHECKING, Final, overload

from fs.protocol import unpack_dirents
from kernel.com import VFS_PROC_NR
from userland.libc._context import handle
from userland.libc._syscall import call
from userland.libc.memory import free, malloc, peek, poke
from vfs import protocol as P
from vfs.protocol import (
    F_DUPFD,
    F_DUPFD_CLOEXEC,
    F_GETFD,
    F_GETFL,
    F_GETLK,
    F_RDLCK,
    F_SETFD,
    F_SETFL,
    F_SETLK,
    F_SETLKW,
    F_UNLCK,
    F_WRLCK,
    FD_CLOEXEC,
    FLOCK,
    OPEN_MAX,
    PATH_MAX,
    PIPE_BUF,
    ST_NOSUID,
    ST_RDONLY,
    STAT,
    STATVFS,
    UTIME_NOW,
    UTIME_OMIT,
    Stat,
    Statvfs,
    unpack_stat,
    unpack_statvfs,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from kernel.message import Message

__all__ = [
    "FD_CLOEXEC",
    "FLOCK",
    "F_DUPFD",
    "F_DUPFD_CLOEXEC",
    "F_GETFD",
    "F_GETFL",
    "F_GETLK",
    "F_OK",
    "F_RDLCK",
    "F_SETFD",
    "F_SETFL",
    "F_SETLK",
    "F_SETLKW",
    "F_UNLCK",
    "F_WRLCK",
    "IO_CHUNK",
    "OPEN_MAX",
    "O_ACCMODE",
    "O_APPEND",
    "O_CLOEXEC",
    "O_CREAT",
    "O_DIRECTORY",
    "O_EXCL",
    "O_NOCTTY",
    "O_NOFOLLOW",
    "O_NONBLOCK",
    "O_RDONLY",
    "O_RDWR",
    "O_TRUNC",
    "O_WRONLY",
    "PATH_MAX",
    "PIPE_BUF",
    "R_OK",
    "SEEK_CUR",
    "SEEK_END",
    "SEEK_SET",
    "ST_NOSUID",
    "ST_RDONLY",
    "S_IFBLK",
    "S_IFCHR",
    "S_IFDIR",
    "S_IFIFO",
    "S_IFLNK",
    "S_IFMT",
    "S_IFREG",
    "S_IFSOCK",
    "S_IMODE",
    "S_ISBLK",
    "S_ISCHR",
    "S_ISDIR",
    "S_ISFIFO",
    "S_ISGID",
    "S_ISLNK",
    "S_ISREG",
    "S_ISSOCK",
    "S_ISUID",
    "S_ISVTX",
    "UTIME_NOW",
    "UTIME_OMIT",
    "W_OK",
    "X_OK",
    "Statvfs",
    "access",
    "chdir",
    "chmod",
    "chown",
    "close",
    "dup",
    "dup2",
    "fchdir",
    "fchmod",
    "fcntl",
    "fstat",
    "ftruncate",
    "getcwd",
    "getcwdb",
    "getvfsstat",
    "ioctl",
    "link",
    "listdir",
    "lseek",
    "lstat",
    "major",
    "makedev",
    "minor",
    "mkdir",
    "mkfifo",
    "mknod",
    "mount",
    "open",
    "pipe",
    "pipe2",
    "read",
    "read_into",
    "readlink",
    "remove",
    "rename",
    "rmdir",
    "stat",
    "stat_result",
    "symlink",
    "sync",
    "to_timespec",
    "truncate",
    "umask",
    "umount",
    "unlink",
    "utime",
    "utimensat",
    "write",
    "write_from",
]

# open flags: Linux's values, which are the ones VFS reads (Python's os on Linux).
O_RDONLY: Final = os.O_RDONLY
O_WRONLY: Final = os.O_WRONLY
O_RDWR: Final = os.O_RDWR
O_ACCMODE: Final = os.O_ACCMODE
O_CREAT: Final = os.O_CREAT
O_EXCL: Final = os.O_EXCL
O_TRUNC: Final = os.O_TRUNC
O_APPEND: Final = os.O_APPEND
O_NONBLOCK: Final = os.O_NONBLOCK
O_CLOEXEC: Final = os.O_CLOEXEC
O_DIRECTORY: Final = os.O_DIRECTORY
O_NOCTTY: Final = os.O_NOCTTY
O_NOFOLLOW: Final = os.O_NOFOLLOW

SEEK_SET: Final = os.SEEK_SET
SEEK_CUR: Final = os.SEEK_CUR
SEEK_END: Final = os.SEEK_END

F_OK: Final = os.F_OK
R_OK: Final = os.R_OK
W_OK: Final = os.W_OK
X_OK: Final = os.X_OK

S_IFMT = _stat.S_IFMT
S_IMODE = _stat.S_IMODE
S_IFREG: Final = _stat.S_IFREG
S_IFDIR: Final = _stat.S_IFDIR
S_IFLNK: Final = _stat.S_IFLNK
S_IFIFO: Final = _stat.S_IFIFO
S_IFCHR: Final = _stat.S_IFCHR
S_IFBLK: Final = _stat.S_IFBLK
S_IFSOCK: Final = _stat.S_IFSOCK
S_ISUID: Final = _stat.S_ISUID
S_ISGID: Final = _stat.S_ISGID
S_ISVTX: Final = _stat.S_ISVTX
S_ISREG = _stat.S_ISREG
S_ISDIR = _stat.S_ISDIR
S_ISLNK = _stat.S_ISLNK
S_ISFIFO = _stat.S_ISFIFO
S_ISCHR = _stat.S_ISCHR
S_ISBLK = _stat.S_ISBLK
S_ISSOCK = _stat.S_ISSOCK

stat_result = Stat
"""What :func:`stat`, :func:`lstat` and :func:`fstat` return (``st_mode``, ``st_size``...)."""

IO_CHUNK: Final = 64 * 1024
"""Most bytes one read or write request moves (at least PIPE_BUF, so small pipe
writes stay atomic)."""

_VFS: Final = VFS_PROC_NR
_NS: Final = 1_000_000_000
_DIRENT_BUF: Final = 4096

Path = str | bytes | os.PathLike[str] | os.PathLike[bytes]
"""A path argument, as :mod:`os` takes it: ``str`` (encoded with :func:`os.fsencode`),
``bytes`` or an :class:`os.PathLike`."""


# -- helpers -------------------------------------------------------------------------------


def _cpath(path: Path) -> bytes:
    """``path`` as the NUL-terminated bytes that cross to VFS."""
    if isinstance(path, int):
        raise TypeError("a descriptor is not a path here")
    b = os.fsencode(os.fspath(path))
    if b"\0" in b:
        raise ValueError("embedded null byte")
    return b + b"\0"


def _vfs(msg: Message, *, restartable: bool = False) -> Awaitable[P.VfsReply]:
    # call() itself, not a coroutine around it: one frame less on every file call.
    reply: Awaitable[P.VfsReply] = call(_VFS, msg, restartable=restartable)
    return reply


async def _path_call(make: Callable[..., Message], path: Path, *args: int) -> P.VfsReply:
    """A call whose first argument is one path: ``make(addr, len, *args)``."""
    raw = _cpath(path)
    at = await malloc(len(raw))
    try:
        await poke(at, raw)
        return await _vfs(make(at, len(raw), *args))
    finally:
        await free(at)


async def _two_paths(make: Callable[..., Message], path: Path, path2: Path) -> None:
    a, b = _cpath(path), _cpath(path2)
    at = await malloc(len(a) + len(b))
    try:
        await poke(at, a + b)
        await _vfs(make(at, len(a), at + len(a), len(b)))
    finally:
        await free(at)


# -- open, close, read, write --------------------------------------------------------------


async def open(path: Path, flags: int, mode: int = 0o777) -> int:  # noqa: A001
    """Open ``path``; returns the lowest free descriptor.

    ``mode`` (less the umask) is the new file's permissions with O_CREAT. Opening a
    FIFO waits for the other side unless O_NONBLOCK.

    Raises:
        FileNotFoundError, FileExistsError (O_CREAT|O_EXCL), NotADirectoryError,
        IsADirectoryError, PermissionError: as POSIX says. OSError: EMFILE, ELOOP,
            ENAMETOOLONG, ENXIO (a device with no driver), EFAULT.
    """
    raw = _cpath(path)
    at = await malloc(len(raw))
    try:
        await poke(at, raw)
        reply = await _vfs(P.VfsOpen(at, len(raw), flags, mode), restartable=True)
    finally:
        await free(at)
    return reply.value


async def close(fd: int) -> None:
    """Close descriptor ``fd`` (EBADF)."""
    await _vfs(P.VfsClose(fd))


async def read(fd: int, n: int) -> bytes:
    """Read up to ``n`` bytes (at most :data:`IO_CHUNK`); ``b""`` at end of file.

    Raises:
        OSError: EBADF, EISDIR, EAGAIN (O_NONBLOCK), EINTR, EINVAL (negative ``n``).
    """
    if n <= 0:
        await _vfs(P.VfsRead(fd, 0, n), restartable=True)
        return b""
    n = min(n, IO_CHUNK)
    buf = await malloc(n)
    try:
        count = (await _vfs(P.VfsRead(fd, buf, n), restartable=True)).value
        return await peek(buf, count) if count else b""
    finally:
        await free(buf)


async def write(fd: int, data: bytes | bytearray | memoryview) -> int:
    """Write ``data``; returns the bytes written (fewer only if a piece came up short).

    Raises:
        OSError: EBADF, EPIPE (no reader), EAGAIN (O_NONBLOCK), EINTR, ENOSPC... when
            nothing at all was written.
    """
    data = memoryview(data).cast("B")
    total = len(data)
    if total == 0:
        await _vfs(P.VfsWrite(fd, 0, 0), restartable=True)
        return 0
    size = min(total, IO_CHUNK)
    buf = await malloc(size)
    done = 0
    try:
        while done < total:
            piece = data[done : done + size]
            await poke(buf, piece)
            try:
                n = (await _vfs(P.VfsWrite(fd, buf, len(piece)), restartable=True)).value
            except OSError:
                if done:
                    break
                raise
            done += n
            if n < len(piece):
                break
    finally:
        await free(buf)
    return done


async def read_into(fd: int, addr: int, n: int) -> int:
    """Read up to ``n`` bytes into the process's memory at ``addr``; returns the count.

    Raises:
        OSError: EFAULT when ``[addr, addr+n)`` is not writable user memory; as read.
    """
    return (await _vfs(P.VfsRead(fd, addr, n), restartable=True)).value


async def write_from(fd: int, addr: int, n: int) -> int:
    """Write ``n`` bytes from the process's memory at ``addr``; returns the count.

    Raises:
        OSError: EFAULT when ``[addr, addr+n)`` is not readable user memory; as write.
    """
    return (await _vfs(P.VfsWrite(fd, addr, n), restartable=True)).value


async def lseek(fd: int, pos: int, whence: int) -> int:
    """Move ``fd``'s position; returns the new one (ESPIPE on a pipe, EINVAL)."""
    return (await _vfs(P.VfsLseek(fd, pos, whence))).value


async def pipe2(flags: int) -> tuple[int, int]:
    """A pipe: ``(read end, write end)``; ``flags`` may hold O_NONBLOCK and O_CLOEXEC."""
    reply = await _vfs(P.VfsPipe(flags))
    return reply.value, reply.value2


async def pipe() -> tuple[int, int]:
    """A pipe: ``(read end, write end)`` (EMFILE when two descriptors are not free)."""
    return await pipe2(0)


# -- descriptors ---------------------------------------------------------------------------


async def dup(fd: int) -> int:
    """A new descriptor for ``fd``'s open file (shared position and status flags)."""
    return (await _vfs(P.VfsDup(fd))).value


async def dup2(fd: int, fd2: int, inheritable: bool = True) -> int:
    """Make ``fd2`` a copy of ``fd`` (closing ``fd2`` first); returns ``fd2``.

    ``inheritable=False`` sets close-on-exec on ``fd2`` (Python's keyword).
    """
    fd2 = (await _vfs(P.VfsDup2(fd, fd2))).value
    if not inheritable:
        await _vfs(P.VfsFcntl(fd2, F_SETFD, FD_CLOEXEC))
    return fd2


@overload
async def fcntl(fd: int, cmd: int, arg: int = 0) -> int: ...
@overload
async def fcntl(fd: int, cmd: int, arg: bytes) -> bytes: ...


async def fcntl(fd: int, cmd: int, arg: int | bytes = 0) -> int | bytes:
    """fcntl, as Python's ``fcntl.fcntl``: an int ``arg`` returns the call's int result.

    A bytes ``arg`` (a packed :data:`FLOCK` for F_GETLK/F_SETLK/F_SETLKW) is placed in
    the process's memory, VFS gets its address, and the buffer as VFS left it comes
    back (F_GETLK: the conflicting lock, or ``l_type`` F_UNLCK).

    Raises:
        OSError: EBADF, EINVAL (an unknown command), EMFILE (F_DUPFD), EAGAIN/EACCES
            (F_SETLK conflicts), EINTR (F_SETLKW), EDEADLK, ENOLCK.
    """
    restartable = cmd == F_SETLKW
    if isinstance(arg, int):
        return (await _vfs(P.VfsFcntl(fd, cmd, arg), restartable=restartable)).value
    data = bytes(arg)
    at = await malloc(len(data))
    try:
        await poke(at, data)
        await _vfs(P.VfsFcntl(fd, cmd, at), restartable=restartable)
        return await peek(at, len(data))
    finally:
        await free(at)


def _ioc_size(request: int) -> int:
    """The argument size an ``_IOR``/``_IOW`` request encodes (bits 16..28)."""
    return (request >> 16) & 0x1FFF


@overload
async def ioctl(fd: int, request: int, arg: int = 0) -> int: ...
@overload
async def ioctl(fd: int, request: int, arg: bytes) -> bytes: ...


async def ioctl(fd: int, request: int, arg: int | bytes = 0) -> int | bytes:
    """A device control request, as Python's ``fcntl.ioctl``.

    An int ``arg`` goes to VFS as it is (0, or an address the program manages) and the
    call's int result comes back. A bytes ``arg`` is placed in the process's memory in
    a buffer of at least the size ``request`` encodes, and the buffer as the driver left
    it comes back (that many bytes, or ``len(arg)`` if longer).

    Raises:
        OSError: ENOTTY (not a character device), EBADF, EINVAL, EFAULT, EIO, EINTR.
    """
    if isinstance(arg, int):
        return (await _vfs(P.VfsIoctl(fd, request, arg), restartable=True)).value
    size = max(len(arg), _ioc_size(request))
    at = await malloc(size)
    try:
        await poke(at, bytes(arg).ljust(size, b"\0"))
        await _vfs(P.VfsIoctl(fd, request, at), restartable=True)
        return await peek(at, size)
    finally:
        await free(at)


# -- attributes ----------------------------------------------------------------------------


def _unpack_stat(data: bytes) -> Stat:
    """The stat structure VFS wrote, its times moved from the kernel clock to Unix time."""
    st = unpack_stat(data)
    boot = handle().boottime
    return st._replace(
        st_atime=boot + st.st_atime, st_mtime=boot + st.st_mtime, st_ctime=boot + st.st_ctime
    )


async def _stat_call(make: type[P.VfsStat | P.VfsLstat], path: Path) -> Stat:
    raw = _cpath(path)
    at = await malloc(len(raw) + STAT.size)
    try:
        await poke(at, raw)
        await _vfs(make(at, len(raw), at + len(raw)))
        return _unpack_stat(await peek(at + len(raw), STAT.size))
    finally:
        await free(at)


async def fstat(fd: int) -> Stat:
    """The status of ``fd``'s file."""
    at = await malloc(STAT.size)
    try:
        await _vfs(P.VfsFstat(fd, at))
        return _unpack_stat(await peek(at, STAT.size))
    finally:
        await free(at)


async def stat(path: Path | int, *, follow_symlinks: bool = True) -> Stat:
    """The status of ``path`` (a final symlink followed); an int is a descriptor."""
    if isinstance(path, int):
        return await fstat(path)
    return await _stat_call(P.VfsStat if follow_symlinks else P.VfsLstat, path)


async def lstat(path: Path) -> Stat:
    """The status of ``path`` itself (a final symlink is not followed)."""
    return await _stat_call(P.VfsLstat, path)


async def chmod(path: Path, mode: int) -> None:
    """Set ``path``'s permission bits (EPERM unless its owner or root)."""
    await _path_call(P.VfsChmod, path, mode)


async def fchmod(fd: int, mode: int) -> None:
    """Set the permission bits of ``fd``'s file."""
    await _vfs(P.VfsFchmod(fd, mode))


Timespec = tuple[int, int]
"""A time as C's ``struct timespec``: (seconds since the Unix epoch, nanoseconds)."""


def to_timespec(t: float) -> Timespec:
    """Unix time ``t`` in seconds as (seconds, nanoseconds), to the nearest nanosecond.

    For :func:`utimensat`, from a time :func:`stat` or :func:`~userland.libc.time` gave.
    """
    sec = math.floor(t)
    nsec = round((t - sec) * _NS)  # t - floor(t) is exact
    return (sec + 1, 0) if nsec == _NS else (sec, nsec)


async def utimensat(
    path: Path | int,
    times: tuple[Timespec, Timespec] | None = None,
    *,
    follow_symlinks: bool = True,
) -> None:
    """Set ``path``'s access and modification times (an int: a descriptor, futimens).

    ``times`` is ((atime_sec, atime_nsec), (mtime_sec, mtime_nsec)) in Unix time; a
    nanosecond field of :data:`UTIME_NOW` means now, :data:`UTIME_OMIT` leaves that
    time alone; None sets both to now. The ctime becomes now. The owner or root may set
    any times; anyone with write permission both to now (else EACCES); other times
    need the owner or root (EPERM). EINVAL for nanoseconds outside 0..999999999.
    """
    (asec, ansec), (msec, mnsec) = times or ((0, UTIME_NOW), (0, UTIME_NOW))
    boot = handle().boottime  # whole seconds: the nanoseconds (and UTIME_*) pass as they are
    fields = (asec - boot, ansec, msec - boot, mnsec)
    if isinstance(path, int):
        await _vfs(P.VfsUtimens(0, 0, path, *fields))
        return
    flags = 0 if follow_symlinks else P.AT_SYMLINK_NOFOLLOW
    await _path_call(P.VfsUtimens, path, -1, *fields, flags)


async def utime(
    path: Path | int,
    times: tuple[float, float] | None = None,
    *,
    ns: tuple[int, int] | None = None,
    follow_symlinks: bool = True,
) -> None:
    """Set ``path``'s access and modification times, as :func:`os.utime`.

    ``times`` is (atime, mtime) in seconds of Unix time (as :func:`~userland.libc.time`
    and :func:`stat` show them), ``ns`` the same in nanoseconds; neither: both now.
    An int ``path`` is a descriptor. Rights and errors as :func:`utimensat`.
    """
    if times is not None and ns is not None:
        raise ValueError("utime: you may specify either 'times' or 'ns' but not both")
    if ns is not None:
        a, m = (divmod(n, _NS) for n in ns)
    elif times is not None:
        a, m = (to_timespec(t) for t in times)
    else:
        await utimensat(path, follow_symlinks=follow_symlinks)
        return
    await utimensat(path, (a, m), follow_symlinks=follow_symlinks)


async def chown(path: Path, uid: int, gid: int) -> None:
    """Set ``path``'s owner and group (-1 keeps one); EPERM unless allowed."""
    await _path_call(P.VfsChown, path, uid, gid)


async def truncate(path: Path | int, length: int) -> None:
    """Cut or extend ``path`` (an int: a descriptor) to ``length`` bytes (zeros)."""
    if isinstance(path, int):
        await ftruncate(path, length)
        return
    await _path_call(P.VfsTruncate, path, length)


async def ftruncate(fd: int, length: int) -> None:
    """Cut or extend ``fd``'s file (EBADF/EINVAL unless open for writing)."""
    await _vfs(P.VfsFtruncate(fd, length))


async def access(path: Path, mode: int) -> bool:
    """Whether the real user may access ``path`` as ``mode`` (R_OK|W_OK|X_OK, or F_OK).

    As :func:`os.access`, every failure (no such file, no permission, a bad mode) is
    False.
    """
    try:
        await _path_call(P.VfsAccess, path, mode)
    except OSError:
        return False
    return True


async def umask(mask: int) -> int:
    """Set the file-creation mask; returns the old one."""
    return (await _vfs(P.VfsUmask(mask))).value


# -- names ---------------------------------------------------------------------------------


async def mkdir(path: Path, mode: int = 0o777) -> None:
    """Make directory ``path`` with ``mode`` less the umask (EEXIST, ENOENT, EACCES)."""
    await _path_call(P.VfsMkdir, path, mode)


async def rmdir(path: Path) -> None:
    """Remove the empty directory ``path`` (ENOTEMPTY, ENOTDIR, EBUSY)."""
    await _path_call(P.VfsRmdir, path)


async def unlink(path: Path) -> None:
    """Remove the name ``path`` (EPERM/EISDIR for a directory)."""
    await _path_call(P.VfsUnlink, path)


async def remove(path: Path) -> None:
    """Python's name for :func:`unlink`."""
    await unlink(path)


async def rename(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst``, replacing ``dst`` (EXDEV across file systems)."""
    await _two_paths(P.VfsRename, src, dst)


async def link(src: Path, dst: Path) -> None:
    """Make ``dst`` a new hard link to ``src`` (EEXIST, EPERM for a directory)."""
    await _two_paths(P.VfsLink, src, dst)


async def symlink(src: Path, dst: Path) -> None:
    """Make ``dst`` a symbolic link whose target is ``src``."""
    await _two_paths(P.VfsSymlink, src, dst)


async def readlink(path: Path) -> str | bytes:
    """The target of symlink ``path`` (``bytes`` for a bytes path; EINVAL if not one)."""
    raw = _cpath(path)
    at = await malloc(len(raw) + PATH_MAX)
    try:
        await poke(at, raw)
        buf = at + len(raw)
        n = (await _vfs(P.VfsReadlink(at, len(raw), buf, PATH_MAX))).value
        target = await peek(buf, n) if n else b""
    finally:
        await free(at)
    return target if isinstance(os.fspath(path), bytes) else os.fsdecode(target)


async def mknod(path: Path, mode: int = 0o600, device: int = 0) -> None:
    """Make a file system node: ``mode`` holds the type (S_IFIFO, S_IFCHR...) and bits.

    Devices need root (EPERM).
    """
    await _path_call(P.VfsMknod, path, mode, device)


async def mkfifo(path: Path, mode: int = 0o666) -> None:
    """Make a FIFO (a named pipe) at ``path``."""
    await mknod(path, _stat.S_IFIFO | (mode & 0o7777), 0)


async def listdir(path: Path = ".") -> list[str] | list[bytes]:
    """The names in directory ``path``, without ``.`` and ``..`` (bytes for bytes).

    Raises:
        NotADirectoryError, FileNotFoundError, PermissionError.
    """
    fd = await open(path, O_RDONLY | O_DIRECTORY)
    names: list[bytes] = []
    buf = 0
    try:
        buf = await malloc(_DIRENT_BUF)
        while n := (await _vfs(P.VfsGetdents(fd, buf, _DIRENT_BUF))).value:
            names += [e for _, e in unpack_dirents(await peek(buf, n)) if e not in (b".", b"..")]
    finally:
        await free(buf)
        await close(fd)
    if isinstance(os.fspath(path), bytes):
        return names
    return [os.fsdecode(e) for e in names]


# -- working directory ---------------------------------------------------------------------


async def chdir(path: Path | int) -> None:
    """Make ``path`` (an int: a descriptor) the working directory (ENOTDIR, EACCES)."""
    if isinstance(path, int):
        await fchdir(path)
        return
    await _path_call(P.VfsChdir, path)


async def fchdir(fd: int) -> None:
    """Make the directory open at ``fd`` the working directory."""
    await _vfs(P.VfsFchdir(fd))


async def getcwdb() -> bytes:
    """The working directory as bytes."""
    at = await malloc(PATH_MAX)
    try:
        n = (await _vfs(P.VfsGetcwd(at, PATH_MAX))).value
        return await peek(at, n - 1)
    finally:
        await free(at)


async def getcwd() -> str:
    """The working directory (ENOENT if it has been removed)."""
    return os.fsdecode(await getcwdb())


# -- file systems --------------------------------------------------------------------------


async def mount(path: Path, fs_endpoint: int, dev: int = 0, source: Path | None = None) -> None:
    """Mount the file server at endpoint ``fs_endpoint`` on directory ``path`` (root only).

    ``source`` is the name :func:`getvfsstat` reports as the mount's source (a device
    path; None: ``none``); ``path`` is reported as given.

    Raises:
        PermissionError: not root. OSError: EBUSY, ENOTDIR.
    """
    if source is None:
        await _path_call(P.VfsMount, path, fs_endpoint, dev)
        return
    a, b = _cpath(path), _cpath(source)
    at = await malloc(len(a) + len(b))
    try:
        await poke(at, a + b)
        await _vfs(P.VfsMount(at, len(a), fs_endpoint, dev, at + len(a), len(b)))
    finally:
        await free(at)


async def umount(path: Path) -> None:
    """Unmount the file system whose root is ``path`` (EINVAL, EBUSY, EPERM)."""
    await _path_call(P.VfsUmount, path)


async def sync() -> None:
    """Have every mounted file system write back what it holds."""
    await _vfs(P.VfsSync())


async def getvfsstat() -> list[Statvfs]:
    """The mounted file systems, the root first (NetBSD's ``getvfsstat``).

    Each :class:`~vfs.protocol.Statvfs` has f_mntonname, f_mntfromname, f_fstypename
    and f_flag (:data:`ST_RDONLY`, :data:`ST_NOSUID`). Asks VFS for the count, then
    for the records in a buffer with room for one more, and asks again if that one was
    filled too (file systems mounted in between).
    """
    while True:
        n = (await _vfs(P.VfsGetvfsstat(0, 0))).value
        size = (n + 1) * STATVFS.size
        buf = await malloc(size)
        try:
            got = (await _vfs(P.VfsGetvfsstat(buf, size))).value
            if got <= n:
                return unpack_statvfs(await peek(buf, got * STATVFS.size))
        finally:
            await free(buf)


# -- device numbers ------------------------------------------------------------------------


def makedev(major: int, minor: int) -> int:
    """A device number from its major and minor (MINIX: ``major << 8 | minor``)."""
    return (major & 0xFF) << 8 | (minor & 0xFF)


def major(device: int) -> int:
    """The major number of ``device``."""
    return (device >> 8) & 0xFF


def minor(device: int) -> int:
    """The minor number of ``device``."""
    return device & 0xFF
