"""The in-memory root file system (a :class:`fs.lib.FileSystem` run with :func:`fs.lib.serve`).

Holds directories, regular files (stored as sparse 4 KiB blocks, so a hole reads as
zeros and costs nothing), symbolic links and device nodes / FIFOs (``rdev`` = major << 8
| minor). Every inode has a mode, owner, group, link count and times: seconds on the
kernel clock, whose epoch is the boot (libc shows them as Unix time by adding the
kernel's ``boottime``); ``utime`` may set the access and modification times to any
value, before the boot too. Directories keep their entries in creation order; "." and ".." are
listed first. An inode with no links is freed once VFS gives back its last reference.

Permission checks made here are the directory ones (search for lookup; write and
search for creating and removing names, with the sticky bit); VFS checks the rest.
"""

from __future__ import annotations

import errno
import stat
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from fs.lib import Attr, FileSystem, FsError, serve
from fs.protocol import ROOT_INO

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from kernel.process import Process

BLOCK: Final = 4096
MAX_FILE_SIZE: Final = 2**31 - 1


@dataclass(slots=True, eq=False)
class Inode:
    """One file of any type."""

    ino: int
    mode: int
    uid: int
    gid: int
    nlink: int = 0
    size: int = 0
    rdev: int = 0
    atime: float = 0.0
    mtime: float = 0.0
    ctime: float = 0.0
    blocks: dict[int, bytearray] = field(default_factory=dict)
    entries: dict[bytes, int] = field(default_factory=dict)
    parent: int = 0
    target: bytes = b""

    @property
    def is_dir(self) -> bool:
        """Whether this is a directory."""
        return stat.S_ISDIR(self.mode)


def permitted(ino: Inode, uid: int, gid: int, want: int) -> bool:
    """Whether ``uid``/``gid`` have every right in ``want`` (4 r, 2 w, 1 x) on ``ino``."""
    if uid == 0:
        # root: everything, except executing a file nobody may execute
        return not (want & 1) or ino.is_dir or bool(ino.mode & 0o111)
    if uid == ino.uid:
        bits = (ino.mode >> 6) & 7
    elif gid == ino.gid:
        bits = (ino.mode >> 3) & 7
    else:
        bits = ino.mode & 7
    return bits & want == want


@dataclass(frozen=True, slots=True)
class Entry:
    """One name of the initial tree ramfs builds on its first mount.

    ``kind`` is ``"dir"``, ``"file"`` (``data`` is the contents), ``"node"`` (``mode``
    carries the file type: a device with ``rdev``, or a FIFO) or ``"symlink"`` (``data``
    is the target). ``path`` is absolute; parents come before their children.
    """

    kind: str
    path: str
    mode: int = 0o755
    data: bytes = b""
    rdev: int = 0
    uid: int = 0
    gid: int = 0


class RamFs(FileSystem):
    """The in-memory file system, optionally populated with ``tree`` on first mount."""

    def __init__(self, tree: tuple[Entry, ...] = ()) -> None:
        super().__init__()
        self.inodes: dict[int, Inode] = {}
        self._next = ROOT_INO
        self._tree = tree

    def _new(self, mode: int, uid: int, gid: int) -> Inode:
        ino = Inode(self._next, mode, uid, gid)
        self._next += 1
        ino.atime = ino.mtime = ino.ctime = self.now()
        self.inodes[ino.ino] = ino
        return ino

    def _get(self, ino: int) -> Inode:
        node = self.inodes.get(ino)
        if node is None:
            raise FsError(errno.EINVAL, f"no inode {ino}")
        return node

    def _dir(self, ino: int, uid: int, gid: int, want: int) -> Inode:
        d = self._get(ino)
        if not d.is_dir:
            raise FsError(errno.ENOTDIR)
        if not permitted(d, uid, gid, want):
            raise FsError(errno.EACCES)
        return d

    def _touch(self, node: Inode, *, data: bool = True) -> None:
        t = self.now()
        node.ctime = t
        if data:
            node.mtime = t

    def _maybe_free(self, node: Inode) -> None:
        if node.nlink <= 0 and not self.in_use(node.ino):
            del self.inodes[node.ino]

    def _sticky_denied(self, d: Inode, victim: Inode, uid: int) -> bool:
        return bool(d.mode & stat.S_ISVTX) and uid not in (0, d.uid, victim.uid)

    # -- FileSystem --------------------------------------------------------------------

    async def mount(self, dev: int, readonly: bool) -> int:
        """Create the root directory (0755, owned by root) on first mount."""
        if ROOT_INO not in self.inodes:
            root = self._new(stat.S_IFDIR | 0o755, 0, 0)
            root.nlink = 2
            root.parent = root.ino
            for entry in self._tree:
                await self._build(entry)
        return ROOT_INO

    async def _build(self, e: Entry) -> None:
        parent, _, name = e.path.rstrip("/").rpartition("/")
        d = ROOT_INO
        for part in filter(None, parent.split("/")):
            d = await self.lookup(d, part.encode(), 0, 0)
        n = name.encode()
        if e.kind == "dir":
            await self.mkdir(d, n, e.mode, 0, 0)
        elif e.kind == "file":
            await self.write(await self.create(d, n, e.mode, 0, 0), 0, e.data)
        elif e.kind == "node":
            await self.mknod(d, n, e.mode, 0, 0, e.rdev)
        elif e.kind == "symlink":
            await self.symlink(d, n, e.data, 0, 0)
        else:
            raise ValueError(f"unknown entry kind {e.kind!r}")
        self.inodes[await self.lookup(d, n, 0, 0)].uid = e.uid
        self.inodes[await self.lookup(d, n, 0, 0)].gid = e.gid

    async def stat(self, ino: int) -> Attr:
        """Describe ``ino``."""
        n = self._get(ino)
        return Attr(n.ino, n.mode, n.size, n.uid, n.gid, n.nlink, n.rdev, n.atime, n.mtime, n.ctime)

    async def lookup(self, dir: int, name: bytes, uid: int, gid: int) -> int:  # noqa: A002
        """Find ``name`` in ``dir``: ENOTDIR, EACCES (no search right), ENOENT."""
        d = self._dir(dir, uid, gid, 1)
        if name == b".":
            return d.ino
        if name == b"..":
            return d.parent
        ino = d.entries.get(name)
        if ino is None:
            raise FsError(errno.ENOENT)
        return ino

    def _add(self, d: Inode, name: bytes, node: Inode) -> None:
        d.entries[name] = node.ino
        node.nlink += 1
        self._touch(d)

    def _check_new(self, dir: int, name: bytes, uid: int, gid: int) -> Inode:  # noqa: A002
        d = self._dir(dir, uid, gid, 3)
        if name in d.entries or name in (b".", b".."):
            raise FsError(errno.EEXIST)
        if d.nlink <= 0:
            raise FsError(errno.ENOENT, "directory was removed")
        return d

    async def create(self, dir: int, name: bytes, mode: int, uid: int, gid: int) -> int:  # noqa: A002
        """Create a regular file (EEXIST if the name exists)."""
        d = self._check_new(dir, name, uid, gid)
        node = self._new(stat.S_IFREG | (mode & 0o7777), uid, gid)
        self._add(d, name, node)
        return node.ino

    async def mkdir(self, dir: int, name: bytes, mode: int, uid: int, gid: int) -> None:  # noqa: A002
        """Create a directory (its ".." adds a link to the parent)."""
        d = self._check_new(dir, name, uid, gid)
        node = self._new(stat.S_IFDIR | (mode & 0o7777), uid, gid)
        node.parent = d.ino
        node.nlink = 1  # its own "."
        self._add(d, name, node)
        d.nlink += 1

    async def mknod(
        self,
        dir: int,  # noqa: A002
        name: bytes,
        mode: int,
        uid: int,
        gid: int,
        rdev: int,
    ) -> None:
        """Create a device node, FIFO or regular file."""
        fmt = stat.S_IFMT(mode)
        if fmt not in (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFREG, stat.S_IFSOCK):
            raise FsError(errno.EINVAL, f"mknod of type {fmt:#o}")
        d = self._check_new(dir, name, uid, gid)
        node = self._new(fmt | (mode & 0o7777), uid, gid)
        if fmt in (stat.S_IFCHR, stat.S_IFBLK):
            node.rdev = rdev
        self._add(d, name, node)

    async def symlink(self, dir: int, name: bytes, target: bytes, uid: int, gid: int) -> None:  # noqa: A002
        """Create a symlink (mode 0777)."""
        d = self._check_new(dir, name, uid, gid)
        node = self._new(stat.S_IFLNK | 0o777, uid, gid)
        node.target = target
        node.size = len(target)
        self._add(d, name, node)

    async def readlink(self, ino: int) -> bytes:
        """The target of symlink ``ino`` (EINVAL if it is not a symlink)."""
        node = self._get(ino)
        if not stat.S_ISLNK(node.mode):
            raise FsError(errno.EINVAL, "not a symlink")
        node.atime = self.now()
        return node.target

    async def link(self, ino: int, dir: int, name: bytes, uid: int, gid: int) -> None:  # noqa: A002
        """A new name for a non-directory (EPERM for a directory)."""
        node = self._get(ino)
        if node.is_dir:
            raise FsError(errno.EPERM, "hard link to a directory")
        if node.nlink <= 0:
            raise FsError(errno.ENOENT, "file was removed")
        d = self._check_new(dir, name, uid, gid)
        self._add(d, name, node)
        self._touch(node, data=False)

    def _remove(self, d: Inode, name: bytes, uid: int, *, want_dir: bool) -> Inode:
        if name in (b".", b".."):
            raise FsError(errno.EINVAL if name == b"." else errno.ENOTEMPTY)
        ino = d.entries.get(name)
        if ino is None:
            raise FsError(errno.ENOENT)
        node = self._get(ino)
        if self._sticky_denied(d, node, uid):
            raise FsError(errno.EPERM, "sticky directory")
        if want_dir and not node.is_dir:
            raise FsError(errno.ENOTDIR)
        if not want_dir and node.is_dir:
            raise FsError(errno.EPERM, "unlink of a directory")
        if want_dir and node.entries:
            raise FsError(errno.ENOTEMPTY)
        del d.entries[name]
        self._touch(d)
        if node.is_dir:
            d.nlink -= 1
            node.nlink = 0
        else:
            node.nlink -= 1
            self._touch(node, data=False)
        self._maybe_free(node)
        return node

    async def unlink(self, dir: int, name: bytes, uid: int, gid: int) -> None:  # noqa: A002
        """Remove a non-directory name."""
        self._remove(self._dir(dir, uid, gid, 3), name, uid, want_dir=False)

    async def rmdir(self, dir: int, name: bytes, uid: int, gid: int) -> None:  # noqa: A002
        """Remove an empty directory."""
        self._remove(self._dir(dir, uid, gid, 3), name, uid, want_dir=True)

    async def rename(
        self, old_dir: int, old: bytes, new_dir: int, new: bytes, uid: int, gid: int
    ) -> None:
        """POSIX rename within this file system."""
        od = self._dir(old_dir, uid, gid, 3)
        nd = self._dir(new_dir, uid, gid, 3)
        for name in (old, new):
            if name in (b".", b".."):
                raise FsError(errno.EINVAL)
        ino = od.entries.get(old)
        if ino is None:
            raise FsError(errno.ENOENT)
        node = self._get(ino)
        if self._sticky_denied(od, node, uid):
            raise FsError(errno.EPERM, "sticky directory")
        if node.is_dir:
            # Moving a directory into its own subtree would cut it off.
            walk = nd
            while True:
                if walk.ino == node.ino:
                    raise FsError(errno.EINVAL, "rename into own subtree")
                if walk.parent == walk.ino:
                    break
                walk = self._get(walk.parent)
        victim_ino = nd.entries.get(new)
        if victim_ino == ino:
            return  # two names of one file: POSIX says do nothing
        if victim_ino is not None:
            victim = self._get(victim_ino)
            if self._sticky_denied(nd, victim, uid):
                raise FsError(errno.EPERM, "sticky directory")
            if node.is_dir and not victim.is_dir:
                raise FsError(errno.ENOTDIR)
            if not node.is_dir and victim.is_dir:
                raise FsError(errno.EISDIR)
            self._remove(nd, new, uid, want_dir=victim.is_dir)
        del od.entries[old]
        nd.entries[new] = ino
        if node.is_dir and od is not nd:
            od.nlink -= 1
            nd.nlink += 1
            node.parent = nd.ino
        self._touch(od)
        self._touch(nd)
        self._touch(node, data=False)

    async def read(self, ino: int, pos: int, n: int) -> bytes:
        """Read a regular file (holes read as zeros); EISDIR for a directory."""
        node = self._get(ino)
        if node.is_dir:
            raise FsError(errno.EISDIR)
        end = min(pos + n, node.size)
        out = bytearray()
        at = pos
        while at < end:
            b, off = divmod(at, BLOCK)
            chunk = min(BLOCK - off, end - at)
            blk = node.blocks.get(b)
            out += blk[off : off + chunk] if blk is not None else bytes(chunk)
            at += chunk
        node.atime = self.now()
        return bytes(out)

    async def write(self, ino: int, pos: int, data: bytes) -> int:
        """Write a regular file, growing it (EFBIG past 2 GiB - 1)."""
        node = self._get(ino)
        if node.is_dir:
            raise FsError(errno.EISDIR)
        if pos + len(data) > MAX_FILE_SIZE:
            raise FsError(errno.EFBIG)
        at, i = pos, 0
        while i < len(data):
            b, off = divmod(at, BLOCK)
            chunk = min(BLOCK - off, len(data) - i)
            blk = node.blocks.setdefault(b, bytearray(BLOCK))
            blk[off : off + chunk] = data[i : i + chunk]
            at += chunk
            i += chunk
        node.size = max(node.size, pos + len(data))
        if data:
            self._touch(node)
        return len(data)

    async def truncate(self, ino: int, size: int) -> None:
        """Set the size; bytes past a shrink are gone (a later grow reads zeros)."""
        node = self._get(ino)
        if node.is_dir:
            raise FsError(errno.EISDIR)
        if size > MAX_FILE_SIZE:
            raise FsError(errno.EFBIG)
        if size < node.size:
            last, off = divmod(size, BLOCK)
            for b in [b for b in node.blocks if b > last or (b == last and off == 0)]:
                del node.blocks[b]
            if off and last in node.blocks:
                node.blocks[last][off:] = bytes(BLOCK - off)
        node.size = size
        self._touch(node)

    async def getdents(self, ino: int, pos: int) -> list[tuple[int, bytes]]:
        """Entries "." and "..", then the rest in creation order, from index ``pos``."""
        node = self._get(ino)
        if not node.is_dir:
            raise FsError(errno.ENOTDIR)
        everything = [
            (node.ino, b"."),
            (node.parent, b".."),
            *((i, n) for n, i in node.entries.items()),
        ]
        node.atime = self.now()
        return everything[pos:]

    async def chmod(self, ino: int, mode: int) -> None:
        """Set the permission bits."""
        node = self._get(ino)
        node.mode = stat.S_IFMT(node.mode) | (mode & 0o7777)
        self._touch(node, data=False)

    async def chown(self, ino: int, uid: int, gid: int) -> None:
        """Set owner and group (-1 keeps one); clears set-id bits of non-directories."""
        node = self._get(ino)
        if uid != -1:
            node.uid = uid
        if gid != -1:
            node.gid = gid
        if not node.is_dir:
            node.mode &= ~(stat.S_ISUID | stat.S_ISGID)
        self._touch(node, data=False)

    async def utime(self, ino: int, atime: float | None, mtime: float | None) -> None:
        """Set the times (None keeps one); the ctime becomes now."""
        node = self._get(ino)
        if atime is not None:
            node.atime = atime
        if mtime is not None:
            node.mtime = mtime
        self._touch(node, data=False)

    async def release(self, ino: int) -> None:
        """Free an unlinked inode once VFS lets it go."""
        node = self.inodes.get(ino)
        if node is not None:
            self._maybe_free(node)


async def main(p: Process) -> None:
    """The ramfs server's entry point (an empty root); blocks for ever in :func:`fs.lib.serve`."""
    await serve(p, RamFs())


def make_ramfs(tree: tuple[Entry, ...]) -> Callable[[Process], Awaitable[None]]:
    """A ramfs server body whose root holds ``tree`` (built on the first mount)."""

    async def ramfs_main(p: Process) -> None:
        await serve(p, RamFs(tree))

    return ramfs_main
