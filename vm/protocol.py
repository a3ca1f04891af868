"""The VM server's wire protocol: request and reply messages, PROT_* and MAP_* flags.

Callers: user processes through libc (mmap, munmap, mprotect, brk, shm*), PM (fork,
exit, exec), VFS (HANDLEMEM for the CPF_TRY flow, and the file-mapped memory type),
``asynix.System.meminfo``. Requests that name ``for_ep`` act on another process's
address space and are honoured only for privileged callers (PM, VFS); a user process
always acts on itself (``for_ep`` = NONE).

Every request gets a :class:`VmReply`: ``status`` is 0 or a POSIX errno, ``value``
the result (an address, a shm id, ...). Ranges are byte addresses and lengths in the
caller's address space; they need not be page-aligned where POSIX allows rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from kernel.endpoint import NONE
from kernel.message import Message

PAGE_SIZE: Final = 4096

PROT_NONE: Final = 0x0
PROT_READ: Final = 0x1
PROT_WRITE: Final = 0x2
PROT_EXEC: Final = 0x4

MAP_SHARED: Final = 0x0001
MAP_PRIVATE: Final = 0x0002
MAP_FIXED: Final = 0x0010
MAP_ANON: Final = 0x1000
MAP_ANONYMOUS: Final = MAP_ANON
MAP_PREALLOC: Final = 0x0008
"""Allocate every page now instead of on first touch."""
MAP_CONTIG: Final = 0x4000
"""Physically contiguous memory, allocated up front (implies MAP_PREALLOC)."""
MAP_FAILED: Final = 0xFFFFFFFF

KERNEL_BASE: Final = 0xF000_0000
"""The kernel's mapping: every page directory maps it, supervisor-only."""

IPC_PRIVATE: Final = 0
IPC_CREAT: Final = 0o1000
IPC_EXCL: Final = 0o2000
IPC_RMID: Final = 0
IPC_STAT: Final = 2
SHM_RDONLY: Final = 0o10000


@dataclass(slots=True)
class VmReply(Message):
    """Every VM reply: ``status`` 0 or an errno, ``value`` the result."""

    status: int = 0
    value: int = 0


@dataclass(slots=True)
class VmMmap(Message):
    """Map ``length`` bytes near ``addr`` (exactly at it with MAP_FIXED); value: the address.

    ``fd``/``offset`` name a file for a file-mapped region (then VM asks VFS for the
    pages); ``fd`` is -1 for anonymous memory.
    """

    addr: int
    length: int
    prot: int
    flags: int
    fd: int = -1
    offset: int = 0
    for_ep: int = NONE


@dataclass(slots=True)
class VmMunmap(Message):
    """Unmap ``[addr, addr+length)`` (whole regions, prefixes, suffixes, middles, spans)."""

    addr: int
    length: int
    for_ep: int = NONE


@dataclass(slots=True)
class VmMprotect(Message):
    """Change the protection of ``[addr, addr+length)`` to ``prot``."""

    addr: int
    length: int
    prot: int
    for_ep: int = NONE


@dataclass(slots=True)
class VmBrk(Message):
    """Set the end of the heap to ``addr`` (grow or shrink); value: the new break.

    ``addr`` 0 only asks for the current break.
    """

    addr: int
    for_ep: int = NONE


@dataclass(slots=True)
class VmMapPhys(Message):
    """Map ``length`` bytes of physical memory at ``phys`` (privileged); value: the address."""

    phys: int
    length: int
    for_ep: int = NONE


@dataclass(slots=True)
class VmFork(Message):
    """PM: give the stopped process ``child`` a copy-on-write copy of ``parent``'s space."""

    parent: int
    child: int
    eager: bool = False
    """Benchmark comparison only: copy every page now instead of sharing copy-on-write."""


@dataclass(slots=True)
class VmExit(Message):
    """PM: ``ep`` is gone; free its address space."""

    ep: int


@dataclass(slots=True)
class VmExecNew(Message):
    """PM: replace ``ep``'s address space with an empty one (kernel mapped, nothing else).

    PM then maps text, data, heap and stack with VmMmap(for_ep=ep), copies the image in
    and sets the heap start with VmBrk(for_ep=ep) - the libexec way.
    """

    ep: int


@dataclass(slots=True)
class VmSetHeap(Message):
    """PM during exec: the heap of ``ep`` starts (and breaks) at ``addr``."""

    ep: int
    addr: int


@dataclass(slots=True)
class VmHandleMem(Message):
    """VFS: make ``[addr, addr+length)`` of ``ep`` present (and writable if ``write``).

    The CPF_TRY flow: a file server's copy failed with EFAULT; VFS asks VM, then retries.
    """

    ep: int
    addr: int
    length: int
    write: bool


@dataclass(slots=True)
class VmInfo(Message):
    """Memory statistics; the reply is :class:`VmInfoReply`."""


@dataclass(slots=True)
class VmInfoReply(Message):
    """Frame accounting."""

    status: int
    total_frames: int
    free_frames: int
    largest_contig: int = 0


@dataclass(slots=True)
class VmShmget(Message):
    """System V shmget: value is the shm id."""

    key: int
    size: int
    flags: int


@dataclass(slots=True)
class VmShmat(Message):
    """System V shmat: value is the attach address."""

    shmid: int
    addr: int
    flags: int


@dataclass(slots=True)
class VmShmdt(Message):
    """System V shmdt of the segment attached at ``addr``."""

    addr: int


@dataclass(slots=True)
class VmShmctl(Message):
    """System V shmctl (IPC_RMID, IPC_STAT: value is the segment size)."""

    shmid: int
    cmd: int


@dataclass(slots=True)
class VmCheck(Message):
    """Run the invariant checker; status 0 when every invariant holds (EIO otherwise).

    The report (a list of strings) is kept by the VM server for tests and the fuzzer.
    """


# -- VM <-> VFS: file-mapped memory ------------------------------------------------------
#
# VM never blocks on VFS: it sends these with ``senda`` and goes on serving; VFS answers
# each VmVfsOpen and VmVfsRead with one VfsVmReply carrying the same ``req_id`` (sent
# any way VFS likes: VM is always receiving). The page fault, memory request or mmap
# that needed the answer waits inside VM meanwhile.


@dataclass(slots=True)
class VmVfsOpen(Message):
    """VM -> VFS: give VM its own handle on the file ``ep`` has open as ``fd`` (for mmap).

    Reply: VfsVmReply(status, value=handle, size=file size). EBADF for a bad fd, EACCES
    when the file is not open for reading. The handle stays valid after ``ep`` closes
    the fd or exits, until VM sends VmVfsClose.
    """

    req_id: int
    ep: int
    fd: int


@dataclass(slots=True)
class VmVfsRead(Message):
    """VM -> VFS: read ``length`` bytes at ``offset`` of file ``handle`` into ``ep`` at ``addr``.

    VM has mapped the page at ``addr`` writable and ``ep`` is blocked while VFS fills it
    (through a magic grant on ``ep``'s memory, as for a read system call). Bytes past
    the end of the file stay zero. Reply: VfsVmReply(status, value=bytes read).
    """

    req_id: int
    handle: int
    offset: int
    length: int
    ep: int
    addr: int


@dataclass(slots=True)
class VmVfsClose(Message):
    """VM -> VFS: VM is done with ``handle`` (the last mapping went). No reply."""

    handle: int


@dataclass(slots=True)
class VfsVmReply(Message):
    """VFS -> VM: the answer to the VmVfsOpen or VmVfsRead numbered ``req_id``."""

    req_id: int
    status: int = 0
    value: int = 0
    size: int = 0
