"""Memory types: how a region's pages are backed, shared and copied (MINIX's ``mem_type``).

Each region has one strategy object; the fault handler, fork and the checker ask it:

- :meth:`MemType.fill` backs an empty page slot (the page fault on an untouched page);
- :meth:`MemType.writable` says whether a backed page may be mapped writable *now*
  (the copy-on-write rule: for private memory only when its block's refcount is 1);
- :attr:`MemType.fork` says what fork does with the region's blocks: ``"cow"`` shares
  them read-only, ``"share"`` shares them as they are (shared and device memory),
  ``"copy"`` copies them at once (physically contiguous memory must stay contiguous).

The types: :data:`ANON` (lazy zero-fill), :data:`ANON_CONTIG` (contiguous, allocated up
front), :data:`DIRECT` (given physical memory), :data:`SHARED` (pages of a shared
object: MAP_SHARED|MAP_ANON and System V segments; really shared across fork, the
Codezero idea MINIX lacks), :data:`FILE` (private pages filled by reading a file
through VFS).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Literal

from vm.errors import VmError
from vm.region import Block

if TYPE_CHECKING:
    from vm.region import AddressSpace, Region
    from vm.state import Vm

ForkRule = Literal["cow", "share", "copy"]


class MemType:
    """The strategy interface; the default is private, copy-on-write memory."""

    name = "?"
    fork: ForkRule = "cow"
    resizable = False
    """brk may grow a region of this type in place."""

    def writable(self, block: Block) -> bool:
        """May ``block`` be mapped writable now (in a writable region)?"""
        return block.refcount == 1

    def fill(self, vm: Vm, space: AddressSpace, region: Region, idx: int, vfs_ok: bool) -> Block:
        """Back the empty slot ``idx`` of ``region``; returns the block (refcount counted).

        ``vfs_ok`` says whether VM may ask VFS for data now. A returned block with
        ``filling`` set is still being read in.

        Raises:
            VmError: ENOMEM, or EFAULT when the page cannot be backed.
        """
        raise NotImplementedError


class _Anon(MemType):
    name = "anon"
    resizable = True

    def fill(self, vm: Vm, space: AddressSpace, region: Region, idx: int, vfs_ok: bool) -> Block:
        return Block(vm.alloc.alloc())


class _AnonContig(MemType):
    name = "anon_contig"
    fork: ForkRule = "copy"

    def fill(self, vm: Vm, space: AddressSpace, region: Region, idx: int, vfs_ok: bool) -> Block:
        # Every page was allocated when the region was made; an empty slot cannot be
        # backed contiguously any more.
        raise VmError(errno.EFAULT, "contiguous region has a hole")


class _Direct(MemType):
    name = "directphys"
    fork: ForkRule = "share"

    def writable(self, block: Block) -> bool:
        return True

    def fill(self, vm: Vm, space: AddressSpace, region: Region, idx: int, vfs_ok: bool) -> Block:
        return Block(region.phys + (idx << 12), owned=False)


class _Shared(MemType):
    name = "shared"
    fork: ForkRule = "share"

    def writable(self, block: Block) -> bool:
        return True

    def fill(self, vm: Vm, space: AddressSpace, region: Region, idx: int, vfs_ok: bool) -> Block:
        obj = region.obj
        assert obj is not None
        j = region.obj_off + idx
        block = obj.pages[j]
        if block is None:
            # First touch anywhere: the object takes the page (its own reference), so
            # every mapper, now or after a fork, finds the same frame.
            block = obj.pages[j] = Block(vm.alloc.alloc())
        block.refcount += 1
        return block


class _File(MemType):
    name = "file"

    def fill(self, vm: Vm, space: AddressSpace, region: Region, idx: int, vfs_ok: bool) -> Block:
        if not vfs_ok:
            # MINIX's vfs_avail rule: a copy VFS itself is blocked in must not wait
            # for VFS; VFS retries after asking VM with HANDLEMEM.
            raise VmError(errno.EFAULT, "file page not in memory and VFS is busy")
        return vm.files.start_fill(vm, space, region, idx)


ANON: MemType = _Anon()
ANON_CONTIG: MemType = _AnonContig()
DIRECT: MemType = _Direct()
SHARED: MemType = _Shared()
FILE: MemType = _File()
