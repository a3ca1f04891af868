"""Memory: the process's own loads and stores, the heap, and mappings.

:func:`peek` and :func:`poke` are the process's own memory instructions: user-mode
accesses through the MMU with its page tables. A page that is not there yet is a
page fault that VM serves; an access VM refuses (an unmapped address, a write to
read-only memory, kernel memory) kills the process with SIGSEGV, as hardware would.

:func:`malloc` and :func:`free` manage the heap, which grows with brk through VM:
the bytes live in simulated memory, the allocator's books on the Python side (first
fit over a list of holes, 16-byte alignment). Mixing malloc with your own brk/sbrk
is as undefined as in C.

:func:`mmap`, :func:`munmap`, :func:`mprotect`, :func:`brk` and :func:`sbrk` are
requests to VM.
"""

from __future__ import annotations

import bisect
import errno
from typing import Final

from kernel.com import VM_PROC_NR
from kernel.errors import KernelError
from userland.libc._context import Heap, current, handle
from userland.libc._syscall import call, oserror, posix_errno
from vm.protocol import (
    MAP_ANON,
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    PAGE_SIZE,
    PROT_EXEC,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    VmBrk,
    VmMmap,
    VmMprotect,
    VmMunmap,
)

__all__ = [
    "MAP_ANON",
    "MAP_ANONYMOUS",
    "MAP_FIXED",
    "MAP_PRIVATE",
    "MAP_SHARED",
    "PAGE_SIZE",
    "PROT_EXEC",
    "PROT_NONE",
    "PROT_READ",
    "PROT_WRITE",
    "brk",
    "calloc",
    "free",
    "malloc",
    "mmap",
    "mprotect",
    "munmap",
    "peek",
    "poke",
    "realloc",
    "sbrk",
]

_VM: Final = VM_PROC_NR
_ALIGN: Final = 16
_GROW: Final = 16 * 1024
"""The heap grows by at least this much at a time."""


# -- the process's own memory --------------------------------------------------------------


async def peek(addr: int, n: int) -> bytes:
    """Read ``n`` bytes at ``addr`` of the process's memory (SIGSEGV if not allowed)."""
    try:
        return await handle().peek(addr, n)
    except KernelError as exc:
        raise oserror(posix_errno(exc.errno), str(exc)) from None


async def poke(addr: int, data: bytes | bytearray | memoryview) -> None:
    """Write ``data`` at ``addr`` of the process's memory (SIGSEGV if not allowed)."""
    try:
        await handle().poke(addr, data)
    except KernelError as exc:
        raise oserror(posix_errno(exc.errno), str(exc)) from None


# -- VM requests ---------------------------------------------------------------------------


async def mmap(addr: int, length: int, prot: int, flags: int, fd: int = -1, offset: int = 0) -> int:
    """Map ``length`` bytes (at ``addr`` with MAP_FIXED, else near it); returns the address.

    Raises:
        OSError: EINVAL (bad length, flags, prot, alignment), ENOMEM (no room).
    """
    reply = await call(_VM, VmMmap(addr, length, prot, flags, fd, offset))
    return int(reply.value)


async def munmap(addr: int, length: int) -> None:
    """Unmap ``[addr, addr+length)`` (EINVAL for an unaligned address or a zero length)."""
    await call(_VM, VmMunmap(addr, length))


async def mprotect(addr: int, length: int, prot: int) -> None:
    """Set the protection of ``[addr, addr+length)`` (ENOMEM where nothing is mapped)."""
    await call(_VM, VmMprotect(addr, length, prot))


async def brk(addr: int) -> int:
    """Set the end of the heap to ``addr`` (0 only reads it); returns the break.

    Raises:
        OSError: ENOMEM when the heap cannot end there.
    """
    if addr < 0:
        raise oserror(errno.ENOMEM)
    reply = await call(_VM, VmBrk(addr))
    return int(reply.value)


async def sbrk(increment: int) -> int:
    """Move the break by ``increment`` bytes; returns the old break."""
    old = await brk(0)
    if increment:
        await brk(old + increment)
    return old


# -- malloc --------------------------------------------------------------------------------


def _round(n: int, to: int) -> int:
    return (n + to - 1) & ~(to - 1)


async def _grow(heap: Heap, size: int) -> None:
    """Extend the heap by at least ``size`` bytes, adding the new space as a hole."""
    if heap.start is None:
        heap.start = heap.top = _round(await brk(0), _ALIGN)
    want = _round(max(size, _GROW), PAGE_SIZE)
    top = heap.top
    await brk(top + want)
    heap.top = top + want
    _add_hole(heap, top, want)


def _add_hole(heap: Heap, addr: int, size: int) -> None:
    holes = heap.holes
    i = bisect.bisect_left(holes, (addr, 0))
    if i < len(holes) and addr + size == holes[i][0]:
        size += holes.pop(i)[1]
    if i > 0 and holes[i - 1][0] + holes[i - 1][1] == addr:
        addr, prev = holes.pop(i - 1)
        size += prev
        i -= 1
    holes.insert(i, (addr, size))


async def malloc(size: int) -> int:
    """Allocate ``size`` bytes of the heap; returns their address (never 0).

    Raises:
        OSError: ENOMEM when the heap cannot grow; EINVAL for a negative size.
    """
    if size < 0:
        raise oserror(errno.EINVAL, "negative size")
    need = _round(max(size, 1), _ALIGN)
    heap = current().heap
    while True:
        for i, (addr, room) in enumerate(heap.holes):
            if room >= need:
                if room == need:
                    del heap.holes[i]
                else:
                    heap.holes[i] = (addr + need, room - need)
                heap.blocks[addr] = need
                return addr
        await _grow(heap, need)


async def free(addr: int) -> None:
    """Give back a block from :func:`malloc` (0 does nothing).

    Raises:
        OSError: EINVAL for an address malloc did not return (or already freed).
    """
    if addr == 0:
        return
    heap = current().heap
    size = heap.blocks.pop(addr, None)
    if size is None:
        raise oserror(errno.EINVAL, f"free of {addr:#x}, which malloc did not return")
    _add_hole(heap, addr, size)


async def calloc(count: int, size: int) -> int:
    """Allocate ``count * size`` zeroed bytes."""
    n = count * size
    addr = await malloc(n)
    if n:
        await poke(addr, bytes(n))
    return addr


async def realloc(addr: int, size: int) -> int:
    """Resize the block at ``addr`` (0: malloc), moving it if needed; returns its address."""
    if addr == 0:
        return await malloc(size)
    heap = current().heap
    old = heap.blocks.get(addr)
    if old is None:
        raise oserror(errno.EINVAL, f"realloc of {addr:#x}, which malloc did not return")
    if _round(max(size, 1), _ALIGN) <= old:
        return addr
    new = await malloc(size)
    await poke(new, await peek(addr, old))
    await free(addr)
    return new
