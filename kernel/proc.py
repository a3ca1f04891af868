"""The process table entry (MINIX's ``struct proc``) and the threads a process runs.

A :class:`Proc` holds a process's identity (slot, generation, endpoint), privileges,
IPC state (the RTS flags, whom it sends to or receives from, its caller queue,
pending notifications and asynchronous messages) and its memory context (``cr3``,
grant table). A :class:`Thread` is what the kernel schedules: most processes have
one; a server such as VFS runs several (a dispatcher and workers), each parked in the
kernel when it waits, so the kernel's policy chooses among them too. IPC state is per
process, as in MINIX: while one thread of a process is blocked in IPC, that thread is
``ipc_thread``.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Final

from kernel.endpoint import NONE

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import anyio

    from kernel.grants import GrantTable
    from kernel.message import Message
    from kernel.park import Parker
    from kernel.priv import Priv

# RTS flags (a process is free of IPC blocking when none of SENDING/RECEIVING is set).
RTS_SLOT_FREE: Final = 0x1
RTS_SENDING: Final = 0x4
RTS_RECEIVING: Final = 0x8
RTS_NO_ENDPOINT: Final = 0x100

# MISC flags.
MF_REPLY_PEND: Final = 0x1
MF_SENDING_FROM_KERNEL: Final = 0x2000

# Why a thread is blocked (0: runnable).
BLOCK_IPC: Final = 0x1
BLOCK_SYNC: Final = 0x2
BLOCK_VM: Final = 0x4
BLOCK_SLEEP: Final = 0x8
BLOCK_PAGEFAULT: Final = 0x10
BLOCK_STOPPED: Final = 0x20
BLOCK_KSIG: Final = 0x40
"""A signal the kernel raised is waiting for the signal manager (MINIX's RTS_SIG_PENDING)."""
BLOCK_DEAD: Final = 0x80


class Thread:
    """A schedulable thread of a simulated process."""

    __slots__ = ("blocked", "name", "parker", "prio", "proc", "tid", "wake_value")

    def __init__(self, proc: Proc, tid: int, name: str, parker: Parker) -> None:
        self.proc = proc
        self.tid = tid
        self.name = name
        self.parker = parker
        self.blocked = 0
        self.prio = 0.0
        self.wake_value: object = None

    def __repr__(self) -> str:
        return f"<Thread {self.name} of {self.proc.name}>"


class Proc:
    """A process-table slot and its occupant."""

    __slots__ = (
        "asyn_pending",
        "asyn_queue",
        "caller_q",
        "cpu_time",
        "cr3",
        "delivered",
        "endpoint",
        "exec_image",
        "fork_entry",
        "gen",
        "getfrom",
        "grants",
        "image_scope",
        "ipc_error",
        "ipc_status",
        "ipc_thread",
        "irq_pending",
        "ksigs",
        "misc",
        "name",
        "notify_pending",
        "priv",
        "rts",
        "scope",
        "sendmsg",
        "sendto",
        "sig_deliver",
        "sig_mgr",
        "sig_pending",
        "slot",
        "threads",
        "zombie",
    )

    def __init__(self, slot: int, gen: int, endpoint: int, name: str, priv: Priv) -> None:
        self.slot = slot
        self.gen = gen
        self.endpoint = endpoint
        self.name = name
        self.priv = priv
        self.rts = 0
        self.misc = 0
        self.sendto = NONE
        self.getfrom = NONE
        self.caller_q: deque[Proc] = deque()
        self.sendmsg: Message | None = None
        self.delivered: Message | None = None
        self.ipc_status = 0
        self.ipc_error = 0
        self.ipc_thread: Thread | None = None
        self.notify_pending = 0
        self.asyn_pending = 0
        self.asyn_queue: deque[object] = deque()
        self.sig_pending = 0
        self.ksigs = 0
        self.irq_pending = 0
        self.sig_mgr = NONE
        self.threads: list[Thread] = []
        self.scope: anyio.CancelScope | None = None
        self.image_scope: anyio.CancelScope | None = None
        self.exec_image: tuple[Callable[[Any], Awaitable[Any]], Thread] | None = None
        self.fork_entry: Callable[[Any], Awaitable[Any]] | None = None
        self.sig_deliver = 0
        self.cr3: int | None = None
        self.grants: GrantTable | None = None
        self.zombie = False
        self.cpu_time = 0.0
        """Seconds of kernel-clock time this process has held the CPU (any of its
        threads), charged by the kernel at each CPU hand-off (MINIX's ``p_user_time``)."""

    @property
    def alive(self) -> bool:
        """Whether the process still has a usable endpoint."""
        return not self.rts & RTS_NO_ENDPOINT

    def __repr__(self) -> str:
        return f"<Proc {self.name} ep={self.endpoint}>"
