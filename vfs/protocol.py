"""The user -> VFS system-call messages (what libc sends with sendrec).

Every path and buffer is an (address, length) pair in the caller's own address space:
VFS reads paths with a kernel copy and lets file servers reach buffers through magic
grants. VFS answers every call with one :class:`VfsReply`: ``status`` is 0 or a
positive errno, ``value`` the call's result (a descriptor, a byte count, an offset),
``value2`` a second result (the write end of a pipe).

PM's notices to VFS (fork, exit, exec, set ids, unpause) and VFS's answers are defined
by PM in :mod:`servers.pm.protocol` (``PmVfs*``, ``VfsPmReply``).

``stat`` structures are written into the caller's buffer packed as :data:`STAT`; use
:func:`unpack_stat`. Directory entries from :class:`VfsGetdents` use the file servers'
record format (:func:`fs.protocol.unpack_dirents`). The mount table from
:class:`VfsGetvfsstat` comes as :data:`STATVFS` records (:func:`unpack_statvfs`).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import Final, NamedTuple

from kernel.message import Message

PATH_MAX: Final = 1024
"""Longest path, terminating NUL included (MINIX's value): longer is ENAMETOOLONG."""
SYMLOOP_MAX: Final = 16
"""Symbolic links followed in one lookup before ELOOP."""
OPEN_MAX: Final = 255
"""Descriptors per process (MINIX's value)."""
PIPE_BUF: Final = 32768
"""Atomic pipe write size, and a pipe's capacity (MINIX's value)."""

# fcntl commands and flags (Linux numbering, as Python's fcntl module has them).
F_DUPFD: Final = 0
F_GETFD: Final = 1
F_SETFD: Final = 2
F_GETFL: Final = 3
F_SETFL: Final = 4
F_DUPFD_CLOEXEC: Final = 1030
FD_CLOEXEC: Final = 1

# Advisory record locks (fcntl F_GETLK/F_SETLK/F_SETLKW with a struct flock).
F_GETLK: Final = 5
F_SETLK: Final = 6
F_SETLKW: Final = 7
F_RDLCK: Final = 0
F_WRLCK: Final = 1
F_UNLCK: Final = 2
FLOCK: Final = struct.Struct("<hhqqi")
"""Packed struct flock: l_type, l_whence, l_start, l_len (0 = to the end), l_pid.

For F_GETLK/F_SETLK/F_SETLKW, ``VfsFcntl.arg`` is the address of one in the caller's
memory; F_GETLK writes the conflicting lock back (or sets l_type to F_UNLCK).
"""
NR_LOCKS: Final = 8
"""Record locks system-wide (MINIX's value): past it F_SETLK fails with ENOLCK."""

MAXSELECTS: Final = 25
"""Selects blocked at once system-wide (MINIX's value): past it select fails with ENOSPC."""
FD_SETSIZE: Final = OPEN_MAX
"""Descriptors a select set can name."""

STAT: Final = struct.Struct("<IIIIIIIqddd")
"""Packed stat: dev, ino, mode, nlink, uid, gid, rdev, size, atime, mtime, ctime.

The times are seconds on the kernel clock (since boot), as file servers stamp files;
libc adds the kernel's boot time (Unix seconds) to show them as Unix time.
"""

# utimensat/futimens (NetBSD's and Linux's values, as MINIX has them).
UTIME_NOW: Final = (1 << 30) - 1
"""A nanosecond field meaning "the current time"."""
UTIME_OMIT: Final = (1 << 30) - 2
"""A nanosecond field meaning "leave this time as it is"."""
AT_SYMLINK_NOFOLLOW: Final = 0x200
"""utimensat flag: act on a final symlink itself."""


class Stat(NamedTuple):
    """An unpacked stat structure (the names of Python's ``os.stat_result``)."""

    st_dev: int
    st_ino: int
    st_mode: int
    st_nlink: int
    st_uid: int
    st_gid: int
    st_rdev: int
    st_size: int
    st_atime: float
    st_mtime: float
    st_ctime: float


def unpack_stat(data: bytes) -> Stat:
    """Decode a stat structure VFS wrote."""
    return Stat(*STAT.unpack(data[: STAT.size]))


@dataclass(slots=True)
class VfsReply(Message):
    """VFS's answer to every system call."""

    status: int = 0
    value: int = 0
    value2: int = 0


@dataclass(slots=True)
class VfsOpen(Message):
    """open(path, flags, mode) -> fd."""

    path: int = 0
    path_len: int = 0
    flags: int = 0
    mode: int = 0


@dataclass(slots=True)
class VfsClose(Message):
    """close(fd)."""

    fd: int = 0


@dataclass(slots=True)
class VfsRead(Message):
    """read(fd, buf, nbytes) -> count."""

    fd: int = 0
    buf: int = 0
    nbytes: int = 0


@dataclass(slots=True)
class VfsWrite(Message):
    """write(fd, buf, nbytes) -> count."""

    fd: int = 0
    buf: int = 0
    nbytes: int = 0


@dataclass(slots=True)
class VfsLseek(Message):
    """lseek(fd, offset, whence) -> new offset."""

    fd: int = 0
    offset: int = 0
    whence: int = 0


@dataclass(slots=True)
class VfsFcntl(Message):
    """fcntl(fd, cmd, arg): F_DUPFD(_CLOEXEC), F_GETFD/F_SETFD, F_GETFL/F_SETFL."""

    fd: int = 0
    cmd: int = 0
    arg: int = 0


@dataclass(slots=True)
class VfsDup(Message):
    """dup(fd) -> lowest free descriptor."""

    fd: int = 0


@dataclass(slots=True)
class VfsDup2(Message):
    """dup2(fd, fd2) -> fd2 (closing fd2 first)."""

    fd: int = 0
    fd2: int = 0


@dataclass(slots=True)
class VfsStat(Message):
    """stat(path, buf): follows a final symlink."""

    path: int = 0
    path_len: int = 0
    buf: int = 0


@dataclass(slots=True)
class VfsLstat(Message):
    """lstat(path, buf): describes a final symlink itself."""

    path: int = 0
    path_len: int = 0
    buf: int = 0


@dataclass(slots=True)
class VfsFstat(Message):
    """fstat(fd, buf)."""

    fd: int = 0
    buf: int = 0


@dataclass(slots=True)
class VfsGetdents(Message):
    """getdents(fd, buf, nbytes) -> bytes of packed entries (0 at the end)."""

    fd: int = 0
    buf: int = 0
    nbytes: int = 0


@dataclass(slots=True)
class VfsMkdir(Message):
    """mkdir(path, mode)."""

    path: int = 0
    path_len: int = 0
    mode: int = 0


@dataclass(slots=True)
class VfsMknod(Message):
    """mknod(path, mode, dev); mkfifo is mknod with S_IFIFO."""

    path: int = 0
    path_len: int = 0
    mode: int = 0
    dev: int = 0


@dataclass(slots=True)
class VfsUnlink(Message):
    """unlink(path)."""

    path: int = 0
    path_len: int = 0


@dataclass(slots=True)
class VfsRmdir(Message):
    """rmdir(path)."""

    path: int = 0
    path_len: int = 0


@dataclass(slots=True)
class VfsRename(Message):
    """rename(path, path2)."""

    path: int = 0
    path_len: int = 0
    path2: int = 0
    path2_len: int = 0


@dataclass(slots=True)
class VfsLink(Message):
    """link(path, path2): path2 becomes a new name of path."""

    path: int = 0
    path_len: int = 0
    path2: int = 0
    path2_len: int = 0


@dataclass(slots=True)
class VfsSymlink(Message):
    """symlink(target=path, linkpath=path2)."""

    path: int = 0
    path_len: int = 0
    path2: int = 0
    path2_len: int = 0


@dataclass(slots=True)
class VfsReadlink(Message):
    """readlink(path, buf, nbytes) -> count (no NUL added)."""

    path: int = 0
    path_len: int = 0
    buf: int = 0
    nbytes: int = 0


@dataclass(slots=True)
class VfsChdir(Message):
    """chdir(path)."""

    path: int = 0
    path_len: int = 0


@dataclass(slots=True)
class VfsFchdir(Message):
    """fchdir(fd)."""

    fd: int = 0


@dataclass(slots=True)
class VfsGetcwd(Message):
    """getcwd(buf, size) -> length written, NUL included (ERANGE if it does not fit)."""

    buf: int = 0
    size: int = 0


@dataclass(slots=True)
class VfsUmask(Message):
    """umask(mask) -> the old mask."""

    mask: int = 0


@dataclass(slots=True)
class VfsChmod(Message):
    """chmod(path, mode)."""

    path: int = 0
    path_len: int = 0
    mode: int = 0


@dataclass(slots=True)
class VfsFchmod(Message):
    """fchmod(fd, mode)."""

    fd: int = 0
    mode: int = 0


@dataclass(slots=True)
class VfsUtimens(Message):
    """utimensat(AT_FDCWD, path, times, flags), or futimens(fd, times) when ``path`` is 0.

    Each time is whole seconds on the kernel clock (since boot; negative is before boot)
    and nanoseconds, or a nanosecond field of :data:`UTIME_NOW` or :data:`UTIME_OMIT`
    (times NULL is both UTIME_NOW). ``flags``: :data:`AT_SYMLINK_NOFOLLOW` (path only).
    """

    path: int = 0
    path_len: int = 0
    fd: int = -1
    atime: int = 0
    ansec: int = UTIME_NOW
    mtime: int = 0
    mnsec: int = UTIME_NOW
    flags: int = 0


@dataclass(slots=True)
class VfsChown(Message):
    """chown(path, uid, gid); -1 keeps one."""

    path: int = 0
    path_len: int = 0
    uid: int = -1
    gid: int = -1


@dataclass(slots=True)
class VfsTruncate(Message):
    """truncate(path, length)."""

    path: int = 0
    path_len: int = 0
    length: int = 0


@dataclass(slots=True)
class VfsFtruncate(Message):
    """ftruncate(fd, length)."""

    fd: int = 0
    length: int = 0


@dataclass(slots=True)
class VfsAccess(Message):
    """access(path, mode): R_OK 4, W_OK 2, X_OK 1, F_OK 0; checks the real ids."""

    path: int = 0
    path_len: int = 0
    mode: int = 0


@dataclass(slots=True)
class VfsPipe(Message):
    """pipe2(flags) -> (read fd in value, write fd in value2)."""

    flags: int = 0


@dataclass(slots=True)
class VfsMount(Message):
    """mount(path, fs endpoint, dev): the file server ``fs`` serves the tree at ``path``.

    Root only (EPERM). EBUSY if ``path`` is already a mount point, is the root, or is
    in use as some process's cwd; ENOTDIR if it is not a directory.
    """

    path: int = 0
    path_len: int = 0
    fs: int = 0
    dev: int = 0
    source: int = 0
    """Address of the source name (a device path or ``none``; NUL-terminated) or 0.

    VFS keeps it for :class:`VfsGetvfsstat` (0: ``none``); ``path`` is kept as given
    (the ``mount`` command passes an absolute path, as MINIX's mount(8) does).
    """
    source_len: int = 0


@dataclass(slots=True)
class VfsUmount(Message):
    """umount(path): ``path`` names a mounted root; EBUSY while files there are in use."""

    path: int = 0
    path_len: int = 0


@dataclass(slots=True)
class VfsSync(Message):
    """sync(): every mounted file system writes back what it holds."""


ST_RDONLY: Final = 1
"""f_flag: the file system is mounted read-only (Python's ``os.ST_RDONLY``)."""
ST_NOSUID: Final = 2
"""f_flag: set-user-id bits are ignored (Python's ``os.ST_NOSUID``)."""
VFS_NAMELEN: Final = 32
"""Bytes of f_fstypename, NUL padding included (NetBSD's ``_VFS_NAMELEN``)."""
VFS_MNAMELEN: Final = PATH_MAX
"""Bytes of f_mntonname and f_mntfromname, NUL padding included (``_VFS_MNAMELEN``)."""
STATVFS: Final = struct.Struct(f"<Q{VFS_NAMELEN}s{VFS_MNAMELEN}s{VFS_MNAMELEN}s")
"""One packed mount-table record of :class:`VfsGetvfsstat` (2088 bytes, fixed size).

Fields: f_flag (u64: :data:`ST_RDONLY`, :data:`ST_NOSUID`), f_fstypename (the file
server's label), f_mntonname (the mount point), f_mntfromname (the source: what
mount was given, ``none``, or the label for the root). Each name is NUL-padded to its
field and truncated to leave at least one NUL. NetBSD's ``struct statvfs`` also
carries block and file counts; asynix's file servers do not report them yet, so the
record has only the names and flags. Build with :func:`pack_statvfs`, read with
:func:`unpack_statvfs`.
"""


class Statvfs(NamedTuple):
    """One unpacked mount-table record (the names of NetBSD's ``struct statvfs``)."""

    f_flag: int
    f_fstypename: str
    f_mntonname: str
    f_mntfromname: str


def pack_statvfs(flag: int, fstypename: bytes, mntonname: bytes, mntfromname: bytes) -> bytes:
    """One :data:`STATVFS` record; names longer than their field are truncated."""
    return STATVFS.pack(
        flag,
        fstypename[: VFS_NAMELEN - 1],
        mntonname[: VFS_MNAMELEN - 1],
        mntfromname[: VFS_MNAMELEN - 1],
    )


def unpack_statvfs(data: bytes) -> list[Statvfs]:
    """Decode the whole :data:`STATVFS` records in ``data`` (a trailing part is ignored)."""
    out = []
    for flag, fstype, on, src in STATVFS.iter_unpack(data[: len(data) - len(data) % STATVFS.size]):
        names = [os.fsdecode(x.split(b"\0", 1)[0]) for x in (fstype, on, src)]
        out.append(Statvfs(flag, *names))
    return out


@dataclass(slots=True)
class VfsGetvfsstat(Message):
    """getvfsstat(buf, bufsize) -> number of mounted file systems (NetBSD's call).

    ``buf`` 0: returns the number of mounted file systems and copies nothing.
    Otherwise VFS writes one :data:`STATVFS` record per file system, in mount order
    (the root first), as many as fit in ``bufsize`` bytes, and returns how many it
    wrote (fewer than are mounted when the buffer is too small; 0 when not even one
    fits). EINVAL for a negative ``bufsize``; EFAULT when ``buf`` is not writable.
    Anyone may call it.
    """

    buf: int = 0
    bufsize: int = 0


IOCPARM_MASK: Final = 0x1FFF
"""Mask of an ioctl request's argument size (after shifting right by 16)."""
IOC_VOID: Final = 0x2000_0000
"""An ioctl request with no argument."""
IOC_OUT: Final = 0x4000_0000
"""An ioctl argument the driver writes (``_IOR``: data comes out to the caller)."""
IOC_IN: Final = 0x8000_0000
"""An ioctl argument the driver reads (``_IOW``: data goes in from the caller)."""


def _ioc(inout: int, group: str, num: int, size: int) -> int:
    return inout | ((size & IOCPARM_MASK) << 16) | (ord(group) << 8) | (num & 0xFF)


def io(group: str, num: int) -> int:
    """NetBSD's ``_IO``: an ioctl request without an argument."""
    return _ioc(IOC_VOID, group, num, 0)


def ior(group: str, num: int, size: int) -> int:
    """NetBSD's ``_IOR``: the driver fills ``size`` bytes for the caller."""
    return _ioc(IOC_OUT, group, num, size)


def iow(group: str, num: int, size: int) -> int:
    """NetBSD's ``_IOW``: the driver reads ``size`` bytes from the caller."""
    return _ioc(IOC_IN, group, num, size)


def iowr(group: str, num: int, size: int) -> int:
    """NetBSD's ``_IOWR``: the driver reads and rewrites ``size`` bytes."""
    return _ioc(IOC_IN | IOC_OUT, group, num, size)


TIOCSCTTY: Final = io("t", 97)
"""ioctl: make this terminal the caller's controlling terminal (NetBSD's value).

VFS records it as the caller's controlling terminal (``/dev/tty``) when the request
goes to the TTY or PTY major, before the driver answers (as MINIX does).
"""


@dataclass(slots=True)
class VfsIoctl(Message):
    """ioctl(fd, request, arg): ``arg`` is an address in the caller's memory (or 0).

    The size and direction of the argument come from ``request`` (the ``_IOR``/``_IOW``
    encoding: bits 16..28 the size, bit 30 "in" to the caller, i.e. :data:`IOC_OUT`,
    the driver writes it; bit 31 "out" of the caller, i.e. :data:`IOC_IN`, the driver
    reads it); VFS grants the driver that range. ENOTTY on a file that is not a
    character device. Build requests with :func:`ior`, :func:`iow`, :func:`iowr`.
    """

    fd: int = 0
    request: int = 0
    arg: int = 0


@dataclass(slots=True)
class VfsSelect(Message):
    """select(nfds, readfds, writefds, exceptfds, timeout) -> number of ready fds.

    Each set is the address of an fd_set bitmap of ``(nfds + 7) // 8`` bytes in the
    caller's memory, or 0. ``timeout`` -1 waits for ever (another negative value is
    EINVAL); otherwise seconds (0 polls).
    The sets are rewritten with the ready fds only when the call succeeds.
    """

    nfds: int = 0
    readfds: int = 0
    writefds: int = 0
    exceptfds: int = 0
    timeout: float = -1.0


@dataclass(slots=True)
class VfsMapdriver(Message):
    """RS -> VFS: the character driver ``label`` at ``endpoint`` serves ``major``.

    Sent when the driver has started (and again, with its new endpoint, after each
    restart). Only RS may send it (EPERM).
    """

    label: str = ""
    major: int = 0
    endpoint: int = 0


@dataclass(slots=True)
class VfsServiceDown(Message):
    """RS -> VFS: the system service at ``endpoint`` has died.

    VFS fails every request suspended on it with EIO, completes pending selects on its
    devices with the fds ready, and invalidates the filps of the majors it served
    (later operations EIO, close 0). Only RS may send it (EPERM).
    """

    endpoint: int = 0
