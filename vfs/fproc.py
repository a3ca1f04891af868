"""The per-process table (MINIX's ``fproc.h``).

An :class:`Fproc` holds what VFS knows of one process: its descriptors (each a filp and
a close-on-exec bit), cwd and root vnodes, umask, real and effective ids, and the work
machinery: the kernel mutex a worker holds for the whole job, the bound worker, at
most one pending normal call and one pending PM notice, and, while the process is
suspended (a pipe read that must wait, an F_SETLKW lock wait), what it is blocked on
and how to resume.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kernel.message import Message
    from kernel.sync import Mutex
    from vfs.filp import Filp
    from vfs.vnode import Vnode

BLOCKED_NONE = 0
BLOCKED_PIPE = 1
BLOCKED_POPEN = 2
BLOCKED_SELECT = 4
"""In select (vfs.select): ``resume`` is the select table entry."""
BLOCKED_CDEV = 5
"""In a character driver's read/write/ioctl (vfs.device): ``resume`` is a CdevWait."""
BLOCKED_LOCK = 3
"""Parked in fcntl F_SETLKW (vfs.lock); ``resume`` is a vfs.lock.LockWait."""


@dataclass(slots=True, eq=False)
class Fproc:
    """VFS's record of one process."""

    endpoint: int
    lock: Mutex
    root: Vnode | None = None
    cwd: Vnode | None = None
    fds: dict[int, Filp] = field(default_factory=dict)
    cloexec: set[int] = field(default_factory=set)
    umask: int = 0o022
    pid: int = 0
    uid: int = 0
    gid: int = 0
    euid: int = 0
    egid: int = 0
    system: bool = False
    """A system process (driver, file server): may use the spare worker."""
    worker: Any = None
    pending: Message | None = None
    pending_pm: Message | None = None
    blocked_on: int = BLOCKED_NONE
    resume: Any = None
    """Saved state of a suspended call (see vfs.pipe)."""
    exiting: bool = False
    tty: int = 0
    """The controlling terminal's device number (0: none)."""
    sesldr: bool = False
    """A session leader (PM's setsid): its opens may acquire a controlling terminal."""
