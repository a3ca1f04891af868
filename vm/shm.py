"""Shared memory: shared objects, MAP_SHARED|MAP_ANON, and System V shm on top of them.

A :class:`ShmObject` is Codezero's "shm file": a page array whose untouched pages are
zero (the devzero backing) and whose touched pages it holds one reference to, so every
region mapping it (its ``links``) sees the same frames. Fork links the child's region
to the same object instead of copying, so shared memory stays shared; unmapping drops
a link. An anonymous object (MAP_SHARED|MAP_ANON) dies with its last link; a System V
segment lives in :class:`ShmTable` until IPC_RMID *and* its last detach.

shmat/shmdt map and unmap through :mod:`vm.mmap`; shmget and shmctl are here.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from vm.errors import VmError
from vm.protocol import IPC_CREAT, IPC_EXCL, IPC_PRIVATE, IPC_RMID, IPC_STAT

if TYPE_CHECKING:
    from vm.region import Block
    from vm.state import Vm

SHM_MAX_PAGES = 1 << 16
"""The largest segment: 256 MiB."""


class ShmObject:
    """Pages shared by every region that links it.

    Attributes:
        pages: a slot per page: the Block (this object holds a reference) or None (zero).
        links: regions mapping the object.
        shmid: the System V id, or -1 for an anonymous shared mapping.
        key: the System V key (IPC_PRIVATE for none).
        size: the size asked for, in bytes.
        removed: IPC_RMID was called; the segment goes with its last detach.
    """

    __slots__ = ("key", "links", "pages", "removed", "shmid", "size")

    def __init__(self, npages: int, size: int, shmid: int = -1, key: int = IPC_PRIVATE) -> None:
        self.pages: list[Block | None] = [None] * npages
        self.links = 0
        self.shmid = shmid
        self.key = key
        self.size = size
        self.removed = False

    def __repr__(self) -> str:
        return f"<ShmObject id={self.shmid} pages={len(self.pages)} links={self.links}>"


class ShmTable:
    """Every live shared object, and the System V segments by id and by key."""

    def __init__(self) -> None:
        self.objects: set[ShmObject] = set()
        self.by_id: dict[int, ShmObject] = {}
        self.by_key: dict[int, ShmObject] = {}
        self._next_id = 1

    def anonymous(self, npages: int) -> ShmObject:
        """A new object for a MAP_SHARED|MAP_ANON mapping (the caller links it)."""
        obj = ShmObject(npages, npages << 12)
        self.objects.add(obj)
        return obj

    def shmget(self, key: int, size: int, flags: int) -> int:
        """System V shmget: the id of the segment for ``key``, created with IPC_CREAT.

        Raises:
            VmError: EINVAL (bad size, or larger than the existing segment), EEXIST
                (IPC_CREAT|IPC_EXCL and it exists), ENOENT (no segment, no IPC_CREAT).
        """
        if key != IPC_PRIVATE and key in self.by_key:
            obj = self.by_key[key]
            if flags & IPC_CREAT and flags & IPC_EXCL:
                raise VmError(errno.EEXIST, f"shm key {key} exists")
            if size > obj.size:
                raise VmError(errno.EINVAL, f"shm key {key} is smaller than {size}")
            return obj.shmid
        if key != IPC_PRIVATE and not flags & IPC_CREAT:
            raise VmError(errno.ENOENT, f"no shm segment with key {key}")
        npages = (size + 0xFFF) >> 12
        if size <= 0 or npages > SHM_MAX_PAGES:
            raise VmError(errno.EINVAL, f"shm size {size}")
        obj = ShmObject(npages, size, self._next_id, key)
        self._next_id += 1
        self.objects.add(obj)
        self.by_id[obj.shmid] = obj
        if key != IPC_PRIVATE:
            self.by_key[key] = obj
        return obj.shmid

    def segment(self, shmid: int) -> ShmObject:
        """The System V segment ``shmid``.

        Raises:
            VmError: EINVAL when there is none (or it was removed).
        """
        obj = self.by_id.get(shmid)
        if obj is None:
            raise VmError(errno.EINVAL, f"no shm segment {shmid}")
        return obj

    def shmctl(self, vm: Vm, shmid: int, cmd: int) -> int:
        """System V shmctl: IPC_RMID (returns 0) or IPC_STAT (returns the size).

        Raises:
            VmError: EINVAL for an unknown segment or command.
        """
        obj = self.segment(shmid)
        if cmd == IPC_STAT:
            return obj.size
        if cmd != IPC_RMID:
            raise VmError(errno.EINVAL, f"shmctl command {cmd}")
        obj.removed = True
        # The id and key stop naming it at once; attached regions keep it alive.
        del self.by_id[shmid]
        if self.by_key.get(obj.key) is obj:
            del self.by_key[obj.key]
        self.maybe_destroy(vm, obj)
        return 0

    def maybe_destroy(self, vm: Vm, obj: ShmObject) -> None:
        """Free ``obj``'s pages if nothing maps it and nothing can attach it any more."""
        if obj.links or (obj.shmid >= 0 and not obj.removed):
            return
        for i, block in enumerate(obj.pages):
            if block is not None:
                obj.pages[i] = None
                vm.unreference(block)
        self.objects.discard(obj)
