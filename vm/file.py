"""File-mapped memory: VM's side of the VM<->VFS protocol.

A file mapping holds a :class:`FileRef`: VM's own handle on the file, which VFS gives
out at mmap time (:class:`~vm.protocol.VmVfsOpen`), so the mapping outlives the
process's fd, and which VM gives back when the last region using it goes
(:class:`~vm.protocol.VmVfsClose`).

A page fault on an untouched page of a file mapping cannot be answered at once: VM
allocates a zeroed frame, maps it into the faulting process (writable, so VFS's
supervisor-mode copy passes CR0.WP; the process is blocked in its fault and cannot
see it), and asks VFS to read the page into the process at that address
(:class:`~vm.protocol.VmVfsRead`, sent with ``senda`` so VM never blocks on VFS). The
request is a :class:`Fill`; everything that needs the page meanwhile (the fault, a
kernel memory request, HANDLEMEM) waits on it. VFS's :class:`~vm.protocol.VfsVmReply`
ends the fill: the PTE gets its real rights and the waiters run again, or, on error,
the page is dropped and the waiters fail.

Only one outgoing queue exists (``outbox``); the server sends it after every message.
Pages are private to the mapping (MAP_PRIVATE semantics: a write copies, nothing is
ever written back), so MAP_SHARED file mappings are refused when writable (ENXIO,
as MINIX does).
"""

from __future__ import annotations

import errno
import itertools
from typing import TYPE_CHECKING

from vm.protocol import VmVfsClose, VmVfsOpen, VmVfsRead
from vm.region import Block

if TYPE_CHECKING:
    from collections.abc import Callable

    from kernel.message import Message
    from vm.region import AddressSpace, Region
    from vm.state import Vm

    Waiter = Callable[[int], None]
    OpenDone = Callable[[int, int, int], None]


class FileRef:
    """VM's handle on a mapped file, shared by the regions that map it.

    Attributes:
        handle: the handle VFS gave (it names the file in reads and the close).
        size: the file's size when it was mapped.
        links: regions using the handle.
    """

    __slots__ = ("handle", "links", "size")

    def __init__(self, handle: int, size: int) -> None:
        self.handle = handle
        self.size = size
        self.links = 0


class Fill:
    """A page being read in from a file.

    Attributes:
        req_id: the id of the VmVfsRead.
        block: the page being filled.
        space: the address space it is mapped in, at ``va``.
        waiters: called with 0 or an errno when the read ends.
    """

    __slots__ = ("block", "req_id", "space", "va", "waiters")

    def __init__(self, req_id: int, block: Block, space: AddressSpace, va: int) -> None:
        self.req_id = req_id
        self.block = block
        self.space = space
        self.va = va
        self.waiters: list[Waiter] = []


class Files:
    """File handles, reads in flight, opens in flight, and messages for VFS."""

    def __init__(self) -> None:
        self.fills: dict[int, Fill] = {}
        self.opens: dict[int, OpenDone] = {}
        self.outbox: list[Message] = []
        self._ids = itertools.count(1)

    def open(self, endpoint: int, fd: int, done: OpenDone) -> None:
        """Ask VFS for a handle on ``endpoint``'s ``fd``; ``done(status, handle, size)``."""
        req_id = next(self._ids)
        self.opens[req_id] = done
        self.outbox.append(VmVfsOpen(req_id, endpoint, fd))

    def opened(self, req_id: int) -> OpenDone | None:
        """The continuation of the open ``req_id`` (None if unknown), forgotten."""
        return self.opens.pop(req_id, None)

    def unlink(self, ref: FileRef) -> None:
        """A region stopped using ``ref``; the last one closes the handle."""
        ref.links -= 1
        if ref.links == 0:
            self.outbox.append(VmVfsClose(ref.handle))

    def start_fill(self, vm: Vm, space: AddressSpace, region: Region, idx: int) -> Block:
        """Back slot ``idx`` of a file region with a zeroed page and ask VFS to fill it."""
        assert region.file is not None
        block = Block(vm.alloc.alloc())  # zeroed: bytes past the end of the file read 0
        va = region.start + (idx << 12)
        fill = Fill(next(self._ids), block, space, va)
        block.filling = fill
        space.fills += 1
        self.fills[fill.req_id] = fill
        offset = region.file_off + (idx << 12)
        self.outbox.append(
            VmVfsRead(fill.req_id, region.file.handle, offset, 4096, space.endpoint, va)
        )
        return block

    def finish_fill(self, vm: Vm, req_id: int, status: int) -> Fill | None:
        """End the fill ``req_id``: map the page with its real rights, or drop it on error.

        Returns the fill (its waiters are the caller's to run), or None if unknown.
        """
        fill = self.fills.pop(req_id, None)
        if fill is None:
            return None
        block, space = fill.block, fill.space
        block.filling = None
        space.fills -= 1
        region = space.find(fill.va) if vm.spaces.get(space.endpoint) is space else None
        if region is None:
            return fill  # unmapped meanwhile: whoever unmapped it dropped the page
        idx = (fill.va - region.start) >> 12
        if region.pages[idx] is not block:
            return fill
        if status:
            region.pages[idx] = None
            vm.write_pte(space, region, idx)
            vm.unreference(block)
        else:
            vm.write_pte(space, region, idx)
        return fill

    def fail_all(self, vm: Vm) -> list[Fill]:
        """VFS is unreachable: end every fill with EIO; returns them for their waiters."""
        return [f for rid in list(self.fills) if (f := self.finish_fill(vm, rid, errno.EIO))]
