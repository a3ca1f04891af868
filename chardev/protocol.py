"""The character-device protocol between VFS and a character driver (MINIX's CDEV_*).

VFS sends a request with ``senda`` and never waits in IPC for the answer: the driver
answers with :class:`CdevReply` (open, close, read, write, ioctl, cancel) echoing the
request's ``id`` (the user process's endpoint), or :class:`CdevSel1Reply` for a select.
Readiness that arrives later (for ops registered with :data:`CDEV_NOTIFY`) comes as one
:class:`CdevSel2Reply`; each such notification is one-shot and VFS re-arms it with a new
select.

Data never rides in a message: read, write and ioctl carry a grant of the user's
buffer made by VFS for the driver (a magic grant on the user's address space).

A driver that answers a request for a minor not opened since its (re)start gets no
reply: the library drops it, as MINIX does. ``status`` of an open may carry
:data:`CDEV_CLONED` (the low bits are the new minor) and :data:`CDEV_CTTY`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from kernel.message import Message

# CdevOpen.access
CDEV_R_BIT: Final = 0x1
CDEV_W_BIT: Final = 0x2
CDEV_NOCTTY: Final = 0x4

# CdevRead/CdevWrite/CdevIoctl.flags
CDEV_NOFLAGS: Final = 0x0
CDEV_NONBLOCK: Final = 0x1

# CdevSelect.ops, and the ready bits of the select replies (VFS's SEL_* are these).
CDEV_OP_RD: Final = 0x1
CDEV_OP_WR: Final = 0x2
CDEV_OP_ERR: Final = 0x4
CDEV_NOTIFY: Final = 0x8

# Open's status bits.
CDEV_CLONED: Final = 0x2000_0000
CDEV_CTTY: Final = 0x4000_0000
CDEV_MINOR_MASK: Final = 0x0FFF_FFFF


@dataclass(slots=True)
class CdevOpen(Message):
    """Open ``minor`` for ``user`` (an endpoint) with ``access`` (CDEV_R_BIT...)."""

    minor: int
    access: int
    user: int
    id: int


@dataclass(slots=True)
class CdevClose(Message):
    """Close ``minor`` (one open of it)."""

    minor: int
    id: int


@dataclass(slots=True)
class CdevRead(Message):
    """Read ``count`` bytes at ``pos`` of ``minor`` into VFS's ``grant``."""

    minor: int
    pos: int
    grant: int
    count: int
    flags: int
    id: int


@dataclass(slots=True)
class CdevWrite(Message):
    """Write ``count`` bytes at ``pos`` of ``minor`` from VFS's ``grant``."""

    minor: int
    pos: int
    grant: int
    count: int
    flags: int
    id: int


@dataclass(slots=True)
class CdevIoctl(Message):
    """ioctl ``request`` on ``minor``; ``grant`` covers the argument (or is -1)."""

    minor: int
    request: int
    grant: int
    user: int
    flags: int
    id: int


@dataclass(slots=True)
class CdevCancel(Message):
    """Cancel the request of process ``id`` on ``minor`` (answered with its CdevReply)."""

    minor: int
    id: int


@dataclass(slots=True)
class CdevSelect(Message):
    """Which of ``ops`` (CDEV_OP_*) are ready on ``minor``; CDEV_NOTIFY asks for a SEL2."""

    minor: int
    ops: int


@dataclass(slots=True)
class CdevReply(Message):
    """The answer to open, close, read, write, ioctl and cancel.

    ``status``: a byte count or 0 (open: 0, or a minor with CDEV_CLONED/CDEV_CTTY set),
    or a negative errno (MINIX's convention for driver replies).
    """

    status: int
    id: int


@dataclass(slots=True)
class CdevSel1Reply(Message):
    """The immediate answer to a select: ready ops (>= 0) or a negative errno."""

    status: int
    minor: int


@dataclass(slots=True)
class CdevSel2Reply(Message):
    """A late readiness notification for ops registered with CDEV_NOTIFY (non-zero)."""

    status: int
    minor: int


# -- ioctl request encoding (NetBSD's, which MINIX uses): added for the drivers -----------

IOCPARM_MASK: Final = 0x1FFF
"""The argument size field (bits 16..28) of an ioctl request."""
IOC_VOID: Final = 0x2000_0000
"""No argument."""
IOC_OUT: Final = 0x4000_0000
"""The driver copies the argument out to the caller (``_IOR``)."""
IOC_IN: Final = 0x8000_0000
"""The driver copies the argument in from the caller (``_IOW``)."""


def _ioc(inout: int, group: str, num: int, size: int) -> int:
    return inout | (size & IOCPARM_MASK) << 16 | ord(group) << 8 | num


def _IO(group: str, num: int) -> int:
    """An ioctl request with no argument."""
    return _ioc(IOC_VOID, group, num, 0)


def _IOR(group: str, num: int, size: int) -> int:
    """An ioctl request whose ``size``-byte argument the driver fills in."""
    return _ioc(IOC_OUT, group, num, size)


def _IOW(group: str, num: int, size: int) -> int:
    """An ioctl request whose ``size``-byte argument the driver reads."""
    return _ioc(IOC_IN, group, num, size)


def _IOWR(group: str, num: int, size: int) -> int:
    """An ioctl request whose argument goes both ways."""
    return _ioc(IOC_IN | IOC_OUT, group, num, size)


def ioc_size(request: int) -> int:
    """The argument size ``request`` encodes."""
    return (request >> 16) & IOCPARM_MASK


MIOCRAMSIZE: Final = _IOW("m", 3, 4)
"""Memory driver: set the RAM disk's size (a u32, little-endian). MINIX's value."""
