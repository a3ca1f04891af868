"""The library a file server is written with (MINIX's libfsdriver).

A file server subclasses :class:`FileSystem`, implements the operations it supports as
async methods working on inode numbers, names (bytes) and data (bytes), and runs
:func:`serve` as its main loop. The library does everything protocol-shaped: it receives
requests (:mod:`fs.protocol`), copies names, symlink targets and data through VFS's
grants, calls the method, and sends the reply with the request's transaction id. A
method fails by raising :class:`FsError` (or ``OSError``) with a POSIX errno; an
operation the subclass does not implement answers ENOSYS.

Reference counting lives here too: every lookup, create and mount hands VFS one
reference to an inode (counted in :attr:`FileSystem.refs`); :class:`~fs.protocol.ReqPutnode`
gives them back, and when an inode's count reaches zero the library calls
:meth:`FileSystem.release`, where a server frees an inode that has no links left.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from fs import protocol as P
from kernel.endpoint import ANY
from kernel.errors import KernelError

if TYPE_CHECKING:
    from kernel.message import Message
    from kernel.process import Process

log = structlog.get_logger("asynix.fs")


class FsError(Exception):
    """An operation failed with ``errno``."""

    def __init__(self, err: int, detail: str = "") -> None:
        super().__init__(err, detail or errno.errorcode.get(err, str(err)))
        self.errno = err


@dataclass(slots=True)
class Attr:
    """What a file server reports about an inode (the fields of a NodeReply)."""

    ino: int
    mode: int
    size: int
    uid: int
    gid: int
    nlink: int
    rdev: int
    atime: float
    mtime: float
    ctime: float


class FileSystem:
    """Base class of a file server; override the operations the server supports.

    Every method may block (a disk-based server waits for its block driver); the
    in-memory ones never do. ``uid``/``gid`` are the caller's effective ids, for the
    server's own permission checks on directories.
    """

    def __init__(self) -> None:
        self.refs: dict[int, int] = {}
        """References VFS holds, per inode."""
        self.proc: Process | None = None
        """The server's process handle, set by :func:`serve` (for the kernel clock)."""
        self.mounted = False

    def now(self) -> float:
        """The kernel clock (0 before :func:`serve` starts)."""
        return self.proc.now() if self.proc is not None else 0.0

    def in_use(self, ino: int) -> bool:
        """Whether VFS holds a reference to ``ino``."""
        return self.refs.get(ino, 0) > 0

    # -- operations (override) ---------------------------------------------------------

    async def mount(self, dev: int, readonly: bool) -> int:
        """Start serving; returns the root inode."""
        raise FsError(errno.ENOSYS)

    async def unmount(self) -> None:
        """Stop serving."""

    async def sync(self) -> None:
        """Write everything back."""

    async def stat(self, ino: int) -> Attr:
        """Describe ``ino``."""
        raise FsError(errno.ENOSYS)

    async def lookup(self, dir: int, name: bytes, uid: int, gid: int) -> int:  # noqa: A002
        """The inode named ``name`` in ``dir``."""
        raise FsError(errno.ENOSYS)

    async def create(self, dir: int, name: bytes, mode: int, uid: int, gid: int) -> int:  # noqa: A002
        """Create a regular file; returns its inode."""
        raise FsError(errno.ENOSYS)

    async def mkdir(self, dir: int, name: bytes, mode: int, uid: int, gid: int) -> None:  # noqa: A002
        """Create a directory."""
        raise FsError(errno.ENOSYS)

    async def mknod(
        self,
        dir: int,  # noqa: A002
        name: bytes,
        mode: int,
        uid: int,
        gid: int,
        rdev: int,
    ) -> None:
        """Create a node of the type in ``mode``."""
        raise FsError(errno.ENOSYS)

    async def unlink(self, dir: int, name: bytes, uid: int, gid: int) -> None:  # noqa: A002
        """Remove a non-directory entry."""
        raise FsError(errno.ENOSYS)

    async def rmdir(self, dir: int, name: bytes, uid: int, gid: int) -> None:  # noqa: A002
        """Remove an empty directory."""
        raise FsError(errno.ENOSYS)

    async def rename(
        self, old_dir: int, old: bytes, new_dir: int, new: bytes, uid: int, gid: int
    ) -> None:
        """Rename an entry."""
        raise FsError(errno.ENOSYS)

    async def link(self, ino: int, dir: int, name: bytes, uid: int, gid: int) -> None:  # noqa: A002
        """Add a name for ``ino``."""
        raise FsError(errno.ENOSYS)

    async def symlink(self, dir: int, name: bytes, target: bytes, uid: int, gid: int) -> None:  # noqa: A002
        """Create a symbolic link."""
        raise FsError(errno.ENOSYS)

    async def readlink(self, ino: int) -> bytes:
        """A symlink's target."""
        raise FsError(errno.ENOSYS)

    async def read(self, ino: int, pos: int, n: int) -> bytes:
        """Up to ``n`` bytes at ``pos``."""
        raise FsError(errno.ENOSYS)

    async def write(self, ino: int, pos: int, data: bytes) -> int:
        """Write ``data`` at ``pos``; returns the count written."""
        raise FsError(errno.ENOSYS)

    async def getdents(self, ino: int, pos: int) -> list[tuple[int, bytes]]:
        """Directory entries from index ``pos`` on (the library packs what fits)."""
        raise FsError(errno.ENOSYS)

    async def chmod(self, ino: int, mode: int) -> None:
        """Set the permission bits."""
        raise FsError(errno.ENOSYS)

    async def chown(self, ino: int, uid: int, gid: int) -> None:
        """Set owner and group (-1 keeps one)."""
        raise FsError(errno.ENOSYS)

    async def utime(self, ino: int, atime: float | None, mtime: float | None) -> None:
        """Set the access and modification times (None keeps one) and stamp the ctime.

        Times are seconds on the kernel clock, as :meth:`now` reads it.
        """
        raise FsError(errno.ENOSYS)

    async def truncate(self, ino: int, size: int) -> None:
        """Set a regular file's size."""
        raise FsError(errno.ENOSYS)

    async def release(self, ino: int) -> None:
        """VFS holds no more references to ``ino`` (free it if it has no links)."""


def _node(tid: int, a: Attr) -> P.NodeReply:
    return P.NodeReply(
        tid=tid,
        ino=a.ino,
        mode=a.mode,
        size=a.size,
        uid=a.uid,
        gid=a.gid,
        nlink=a.nlink,
        rdev=a.rdev,
        atime=a.atime,
        mtime=a.mtime,
        ctime=a.ctime,
    )


async def _name(p: Process, src: int, grant: int, length: int) -> bytes:
    if length <= 0:
        raise FsError(errno.ENOENT, "empty name")
    if length > P.NAME_MAX:
        raise FsError(errno.ENAMETOOLONG)
    name = await p.safecopyfrom(src, grant, 0, length)
    if b"/" in name or b"\0" in name:
        raise FsError(errno.EINVAL, "bad name")
    return name


async def _ref(fs: FileSystem, tid: int, ino: int) -> P.NodeReply:
    reply = _node(tid, await fs.stat(ino))
    fs.refs[ino] = fs.refs.get(ino, 0) + 1
    return reply


async def handle(fs: FileSystem, p: Process, m: Message) -> Message | None:
    """Carry out one request; returns the reply (None for messages that are not requests).

    Blocks in the copies through VFS's grants and in the file system's methods.
    """
    if not isinstance(m, P.FsRequest):
        return None
    src, tid = m.m_source, m.tid
    match m:
        case P.ReqMount():
            ino = await fs.mount(m.dev, m.readonly)
            fs.mounted = True
            return await _ref(fs, tid, ino)
        case P.ReqUnmount():
            await fs.unmount()
            fs.mounted = False
            fs.refs.clear()
        case P.ReqSync():
            await fs.sync()
        case P.ReqLookup():
            name = await _name(p, src, m.grant, m.length)
            return await _ref(fs, tid, await fs.lookup(m.dir, name, m.uid, m.gid))
        case P.ReqCreate():
            name = await _name(p, src, m.grant, m.length)
            return await _ref(fs, tid, await fs.create(m.dir, name, m.mode, m.uid, m.gid))
        case P.ReqMkdir():
            await fs.mkdir(m.dir, await _name(p, src, m.grant, m.length), m.mode, m.uid, m.gid)
        case P.ReqMknod():
            name = await _name(p, src, m.grant, m.length)
            await fs.mknod(m.dir, name, m.mode, m.uid, m.gid, m.rdev)
        case P.ReqUnlink():
            await fs.unlink(m.dir, await _name(p, src, m.grant, m.length), m.uid, m.gid)
        case P.ReqRmdir():
            await fs.rmdir(m.dir, await _name(p, src, m.grant, m.length), m.uid, m.gid)
        case P.ReqRename():
            old = await _name(p, src, m.old_grant, m.old_length)
            new = await _name(p, src, m.new_grant, m.new_length)
            await fs.rename(m.old_dir, old, m.new_dir, new, m.uid, m.gid)
        case P.ReqLink():
            name = await _name(p, src, m.grant, m.length)
            await fs.link(m.ino, m.dir, name, m.uid, m.gid)
        case P.ReqSymlink():
            name = await _name(p, src, m.grant, m.length)
            if m.tlength <= 0:
                raise FsError(errno.ENOENT, "empty symlink target")
            target = await p.safecopyfrom(src, m.tgrant, 0, m.tlength)
            await fs.symlink(m.dir, name, target, m.uid, m.gid)
        case P.ReqReadlink():
            target = (await fs.readlink(m.ino))[: max(m.length, 0)]
            if target:
                await p.safecopyto(src, m.grant, 0, target)
            return P.IoReply(tid=tid, count=len(target))
        case P.ReqRead():
            if m.pos < 0 or m.length < 0:
                raise FsError(errno.EINVAL)
            data = await fs.read(m.ino, m.pos, m.length)
            if data:
                await p.safecopyto(src, m.grant, 0, data)
            return P.IoReply(tid=tid, count=len(data), pos=m.pos + len(data))
        case P.ReqWrite():
            if m.pos < 0 or m.length < 0:
                raise FsError(errno.EINVAL)
            data = await p.safecopyfrom(src, m.grant, 0, m.length) if m.length else b""
            n = await fs.write(m.ino, m.pos, data)
            return P.IoReply(tid=tid, count=n, pos=m.pos + n)
        case P.ReqGetdents():
            entries = await fs.getdents(m.ino, m.pos)
            out = bytearray()
            pos = m.pos
            for ino, name in entries:
                rec = P.pack_dirent(ino, name)
                if len(out) + len(rec) > m.length:
                    if not out:
                        raise FsError(errno.EINVAL, "buffer too small for one entry")
                    break
                out += rec
                pos += 1
            if out:
                await p.safecopyto(src, m.grant, 0, out)
            return P.IoReply(tid=tid, count=len(out), pos=pos)
        case P.ReqStat():
            return _node(tid, await fs.stat(m.ino))
        case P.ReqChmod():
            await fs.chmod(m.ino, m.mode)
            return _node(tid, await fs.stat(m.ino))
        case P.ReqChown():
            await fs.chown(m.ino, m.uid, m.gid)
            return _node(tid, await fs.stat(m.ino))
        case P.ReqUtime():
            atime = None if m.omit_atime else m.atime
            await fs.utime(m.ino, atime, None if m.omit_mtime else m.mtime)
        case P.ReqTruncate():
            if m.size < 0:
                raise FsError(errno.EINVAL)
            await fs.truncate(m.ino, m.size)
        case P.ReqPutnode():
            have = fs.refs.get(m.ino, 0)
            if m.count <= 0 or m.count > have:
                raise FsError(errno.EINVAL, f"putnode {m.ino}: {m.count} of {have} refs")
            if have == m.count:
                del fs.refs[m.ino]
                await fs.release(m.ino)
            else:
                fs.refs[m.ino] = have - m.count
        case _:
            raise FsError(errno.ENOSYS, type(m).__name__)
    return P.FsReply(tid=tid)


async def serve(p: Process, fs: FileSystem) -> None:
    """A file server's main loop: receive a request, handle it, reply; for ever.

    Blocks in receive, in the request's copies, and in the reply's send.
    """
    fs.proc = p
    blog = log.bind(fs=p.name, endpoint=p.endpoint)
    while True:
        m = await p.receive(ANY)
        try:
            reply = await handle(fs, p, m)
        except (FsError, OSError, KernelError) as exc:
            # KernelError: a copy through a bad grant; the request fails, the server lives.
            err = exc.errno if isinstance(exc.errno, int) and exc.errno else errno.EIO
            reply = P.FsReply(tid=getattr(m, "tid", 0), status=err)
        if reply is None:
            blog.debug("ignored", mtype=type(m).__name__)
            continue
        blog.debug("reply", mtype=type(m).__name__, status=getattr(reply, "status", 0))
        await p.send(m.m_source, reply)
