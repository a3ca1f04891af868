"""The vnode table: VFS's view of an inode some process uses (MINIX's ``vnode.h``).

A :class:`Vnode` stands for one inode of one file server, while anything in VFS refers
to it (a descriptor's filp, a cwd or root, a mount, a lookup in progress). ``ref`` counts
those references; ``fs_refs`` counts the references the file server handed out for it
(each lookup or create hands one), all given back with one ``ReqPutnode`` when the last
VFS reference goes (:meth:`vfs.context.Job.put_vnode`). Each vnode carries a three-level
lock (READ for reading an open file, READSER for open/close, WRITE for modifying it),
taken after its vmnt's and before any filp's.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vfs.tll import TLL
    from vfs.vmnt import Vmnt


@dataclass(slots=True, eq=False)
class Vnode:
    """One inode in use."""

    fs_e: int
    ino: int
    mode: int
    size: int
    uid: int
    gid: int
    rdev: int
    tll: TLL
    vmnt: Vmnt
    ref: int = 0
    fs_refs: int = 0
    mounted: Vmnt | None = None
    """The file system mounted on this directory, if any."""
    pipe: bytearray | None = None
    """A pipe's or FIFO's buffered data (held by VFS: there is no PFS yet)."""
    readers: int = 0
    writers: int = 0
    waiting: list[object] = field(default_factory=list)

    @property
    def is_dir(self) -> bool:
        """Whether this is a directory."""
        return stat.S_ISDIR(self.mode)

    @property
    def is_fifo(self) -> bool:
        """Whether this is a pipe or FIFO."""
        return stat.S_ISFIFO(self.mode)
