"""The VFS <-> file-server protocol (MINIX's ``REQ_*`` requests, libfsdriver's side).

VFS sends one request message per operation; the file server answers with a reply that
echoes the request's ``tid`` (transaction id), so VFS's dispatcher can hand it to the
worker thread that waits for it. Every status is 0 or a positive errno.

Names, paths, symlink targets and file data never ride in a message: the request
carries a grant id and a length, and the file server copies through the grant
(``safecopyfrom``/``safecopyto``). VFS grants its own buffers with ``grant_buffer`` or,
for read and write, the user's memory with ``grant_magic`` (+ CPF_TRY).

Inodes are named by number. Lookup, create, mknod-less creation and mount (the root)
hand VFS one *reference* to the inode; VFS gives references back with
:class:`ReqPutnode`. A file server frees an inode once it has no links and no
references. Lookup is one component at a time: VFS walks paths itself, crossing mount
points and following symlinks, so a file server never needs to know about other file
systems ("." and ".." are resolved by the server within its own tree; ".." of its root
is the root, and VFS handles leaving a mounted file system).

Directory entries returned by :class:`ReqGetdents` are packed records, see
:func:`pack_dirent` and :func:`unpack_dirents`; the position of a directory is the index
of the next entry.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from kernel.message import Message

NAME_MAX: Final = 255
"""Longest name of one path component (ENAMETOOLONG beyond)."""

ROOT_INO: Final = 1
"""The inode number of every file system's root directory in asynix's servers."""


@dataclass(slots=True)
class FsRequest(Message):
    """Base of every request; ``tid`` is echoed in the reply."""

    tid: int = 0


@dataclass(slots=True)
class FsReply(Message):
    """A reply carrying only a status."""

    tid: int = 0
    status: int = 0


@dataclass(slots=True)
class NodeReply(Message):
    """A reply describing one inode (lookup, create, stat, chmod, chown, mount)."""

    tid: int = 0
    status: int = 0
    ino: int = 0
    mode: int = 0
    size: int = 0
    uid: int = 0
    gid: int = 0
    nlink: int = 0
    rdev: int = 0
    atime: float = 0.0
    mtime: float = 0.0
    ctime: float = 0.0


@dataclass(slots=True)
class IoReply(Message):
    """A reply to read, write, getdents or readlink: bytes moved and the new position."""

    tid: int = 0
    status: int = 0
    count: int = 0
    pos: int = 0


# -- requests -----------------------------------------------------------------------------


@dataclass(slots=True)
class ReqMount(FsRequest):
    """Start serving (MINIX's REQ_READSUPER): reply a NodeReply for the root."""

    dev: int = 0
    readonly: bool = False


@dataclass(slots=True)
class ReqUnmount(FsRequest):
    """Stop serving; EBUSY while VFS holds references other than the root's."""


@dataclass(slots=True)
class ReqSync(FsRequest):
    """Write everything back (nothing to do for an in-memory file system)."""


@dataclass(slots=True)
class ReqLookup(FsRequest):
    """Look up the name in ``grant`` (``length`` bytes) in directory ``dir``.

    Needs search permission on ``dir`` for ``uid``/``gid``. Replies a NodeReply and
    hands VFS one reference to the inode found.
    """

    dir: int = 0
    grant: int = -1
    length: int = 0
    uid: int = 0
    gid: int = 0


@dataclass(slots=True)
class ReqCreate(FsRequest):
    """Create a regular file named by ``grant`` in ``dir`` (EEXIST if the name exists).

    Replies a NodeReply with one reference to the new inode.
    """

    dir: int = 0
    grant: int = -1
    length: int = 0
    mode: int = 0
    uid: int = 0
    gid: int = 0


@dataclass(slots=True)
class ReqMkdir(FsRequest):
    """Create a directory named by ``grant`` in ``dir``."""

    dir: int = 0
    grant: int = -1
    length: int = 0
    mode: int = 0
    uid: int = 0
    gid: int = 0


@dataclass(slots=True)
class ReqMknod(FsRequest):
    """Create a node of any type (``mode`` includes S_IFMT) with device ``rdev``."""

    dir: int = 0
    grant: int = -1
    length: int = 0
    mode: int = 0
    uid: int = 0
    gid: int = 0
    rdev: int = 0


@dataclass(slots=True)
class ReqUnlink(FsRequest):
    """Remove the non-directory entry named by ``grant`` from ``dir``."""

    dir: int = 0
    grant: int = -1
    length: int = 0
    uid: int = 0
    gid: int = 0


@dataclass(slots=True)
class ReqRmdir(FsRequest):
    """Remove the empty directory named by ``grant`` from ``dir``."""

    dir: int = 0
    grant: int = -1
    length: int = 0
    uid: int = 0
    gid: int = 0


@dataclass(slots=True)
class ReqRename(FsRequest):
    """Rename ``old_dir``/old name to ``new_dir``/new name (both in this file system)."""

    old_dir: int = 0
    old_grant: int = -1
    old_length: int = 0
    new_dir: int = 0
    new_grant: int = -1
    new_length: int = 0
    uid: int = 0
    gid: int = 0


@dataclass(slots=True)
class ReqLink(FsRequest):
    """Make a new name (``grant`` in ``dir``) for the existing inode ``ino``."""

    ino: int = 0
    dir: int = 0
    grant: int = -1
    length: int = 0
    uid: int = 0
    gid: int = 0


@dataclass(slots=True)
class ReqSymlink(FsRequest):
    """Create a symlink named by ``grant`` in ``dir`` pointing to the text in ``tgrant``."""

    dir: int = 0
    grant: int = -1
    length: int = 0
    tgrant: int = -1
    tlength: int = 0
    uid: int = 0
    gid: int = 0


@dataclass(slots=True)
class ReqReadlink(FsRequest):
    """Copy at most ``length`` bytes of symlink ``ino``'s target into ``grant``."""

    ino: int = 0
    grant: int = -1
    length: int = 0


@dataclass(slots=True)
class ReqRead(FsRequest):
    """Read up to ``length`` bytes of ``ino`` at ``pos`` into ``grant``; IoReply."""

    ino: int = 0
    pos: int = 0
    grant: int = -1
    length: int = 0


@dataclass(slots=True)
class ReqWrite(FsRequest):
    """Write ``length`` bytes from ``grant`` into ``ino`` at ``pos``; IoReply."""

    ino: int = 0
    pos: int = 0
    grant: int = -1
    length: int = 0


@dataclass(slots=True)
class ReqGetdents(FsRequest):
    """Pack directory entries of ``ino`` from index ``pos`` into ``grant`` (``length``).

    IoReply: ``count`` bytes written (0 at the end), ``pos`` the next index; EINVAL if
    not even one entry fits.
    """

    ino: int = 0
    pos: int = 0
    grant: int = -1
    length: int = 0


@dataclass(slots=True)
class ReqStat(FsRequest):
    """Describe ``ino``; NodeReply."""

    ino: int = 0


@dataclass(slots=True)
class ReqChmod(FsRequest):
    """Set the permission bits (07777) of ``ino``; NodeReply. VFS checks ownership."""

    ino: int = 0
    mode: int = 0


@dataclass(slots=True)
class ReqChown(FsRequest):
    """Set the owner and group of ``ino`` (-1 keeps one); NodeReply. VFS checks rights."""

    ino: int = 0
    uid: int = -1
    gid: int = -1


@dataclass(slots=True)
class ReqUtime(FsRequest):
    """Set the access and modification times of ``ino`` (REQ_UTIME); its ctime becomes now.

    Times are seconds on the kernel clock (since boot), the clock a file server stamps
    files with. ``omit_atime``/``omit_mtime`` keep that time as it is (UTIME_OMIT; VFS
    has already turned UTIME_NOW into the clock's reading). VFS checks the rights.
    """

    ino: int = 0
    atime: float = 0.0
    mtime: float = 0.0
    omit_atime: bool = False
    omit_mtime: bool = False


@dataclass(slots=True)
class ReqTruncate(FsRequest):
    """Set the size of regular file ``ino`` (growing leaves a hole of zeros)."""

    ino: int = 0
    size: int = 0


@dataclass(slots=True)
class ReqPutnode(FsRequest):
    """VFS gives back ``count`` references to ``ino``."""

    ino: int = 0
    count: int = 1


# -- directory entries --------------------------------------------------------------------

_DIRENT: Final = struct.Struct("<IH")


def pack_dirent(ino: int, name: bytes) -> bytes:
    """One directory entry: inode number (u32), name length (u16), then the name."""
    return _DIRENT.pack(ino, len(name)) + name


def unpack_dirents(data: bytes) -> list[tuple[int, bytes]]:
    """Split packed entries into (inode, name) pairs."""
    out: list[tuple[int, bytes]] = []
    off = 0
    while off + _DIRENT.size <= len(data):
        ino, n = _DIRENT.unpack_from(data, off)
        off += _DIRENT.size
        out.append((ino, bytes(data[off : off + n])))
        off += n
    return out
