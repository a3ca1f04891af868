"""PM's process table (MINIX's ``struct mproc``): what PM knows about each process.

PM's table is separate from the kernel's: the kernel knows endpoints, PM knows pids,
parents, identities, process groups and sessions, signal dispositions and masks, exit
statuses and who waits for whom. A process stays in PM's table as a zombie after the
kernel has released its slot, until its parent reaps it with waitpid; so PM's table,
not the kernel's, is the limit on the number of processes (:attr:`ProcTable.limit`).

System processes (PM itself, VM, the other boot servers) have entries too, flagged
PRIV_PROC: they have pids (PM is pid 0, as in MINIX) so that ``kill`` can refuse them
and ``getppid`` of init says 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from kernel.endpoint import NONE
from servers.pm.protocol import DISP_DFL, INIT_PID, NSIG

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

    from kernel.message import Message

# mp_flags
ZOMBIE: Final = 0x001
"""Exited; waits for its parent to collect the status (the kernel slot is free)."""
WAITING: Final = 0x002
"""Blocked in waitpid."""
PAUSED: Final = 0x004
"""Blocked in pause."""
SIGSUSPENDED: Final = 0x008
"""Blocked in sigsuspend."""
STOPPED: Final = 0x010
"""Stopped by a stop signal (job control); the kernel does not run it."""
EXECED: Final = 0x020
"""Has exec'd since fork (setpgid on it by its parent fails with EACCES)."""
PRIV_PROC: Final = 0x040
"""A system process: not a user process, cannot be signalled through kill."""
VFS_CALL: Final = 0x080
"""A notice to VFS is outstanding; the process is held until VFS answers."""
UNPAUSED: Final = 0x100
"""VFS has ended the process's blocked call: its pending signals can be delivered."""
KSTOPPED: Final = 0x200
"""PM has stopped the process in the kernel for an unpause."""
EXITING: Final = 0x400
"""Termination has started (the kernel process is gone or going)."""
HOST: Final = 0x800
"""Started by the host (``System.spawn``): its end is recorded for ``System.wait``."""
DELAY_CALL: Final = 0x1000
"""A caught signal waits until the process's message in flight has been received
(MINIX's DELAY_CALL: ``sys_delay_stop`` said EBUSY)."""

BLOCKED_IN_PM: Final = WAITING | PAUSED | SIGSUSPENDED

LAST_FEW: Final = 2
"""Table entries only root may take (MINIX's LAST_FEW)."""
NR_PIDS: Final = 30000
"""pids run from 2 up to this and wrap around."""


@dataclass(slots=True)
class SigAction:
    """A signal's disposition: DISP_DFL/IGN/CATCH, the mask for the handler, SA_* flags."""

    handler: int = DISP_DFL
    mask: int = 0
    flags: int = 0


def _actions() -> list[SigAction]:
    return [SigAction() for _ in range(NSIG)]


@dataclass(slots=True, eq=False)
class MProc:
    """One process as PM sees it."""

    pid: int
    endpoint: int
    name: str
    ppid: int
    flags: int = 0
    status: int = 0
    """Wait status once ZOMBIE (exit code or killing signal, encoded)."""
    uid: int = 0
    euid: int = 0
    suid: int = 0
    gid: int = 0
    egid: int = 0
    sgid: int = 0
    pgrp: int = 0
    sid: int = 0
    actions: list[SigAction] = field(default_factory=_actions)
    sigmask: int = 0
    sigmask2: int = 0
    """The mask to restore when sigsuspend ends."""
    sigpending: int = 0
    sigctx: list[list[int]] = field(default_factory=list)
    """Deliveries whose handler has not returned: ``[signal, mask to restore]``."""
    outstanding: int = 0
    """Signals delivered whose handler has not returned (not redelivered meanwhile)."""
    wait_pid: int = 0
    wait_options: int = 0
    event: int = 0
    """A stop or continue waitpid may still report (its wait status), else 0."""
    alarm: float | None = None
    """Kernel-clock deadline of the process's alarm."""
    utime: float = 0.0
    """The CPU time (seconds) the kernel charged the process, read when it died."""
    child_utime: float = 0.0
    """CPU time (seconds) of the children it has waited for, theirs included (tms_cutime)."""
    vfs_queue: list[tuple[Message, Callable[[int], Awaitable[None]]]] = field(default_factory=list)
    vfs_value: int = 0
    """The ``value`` of VFS's latest answer about this process (PmVfsExecRead's length)."""
    """Notices for VFS, the first one outstanding, each with what to do on its answer."""

    @property
    def alive(self) -> bool:
        """Neither a zombie nor being torn down."""
        return not self.flags & (ZOMBIE | EXITING)

    def __repr__(self) -> str:
        return f"<MProc {self.name} pid={self.pid} ep={self.endpoint} flags={self.flags:#x}>"


class ProcTable:
    """PM's processes by pid and by endpoint, with pid allocation and the size limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.by_pid: dict[int, MProc] = {}
        self.by_ep: dict[int, MProc] = {}
        self._next_pid = INIT_PID

    def __len__(self) -> int:
        return len(self.by_pid)

    def __iter__(self) -> Iterator[MProc]:
        return iter(list(self.by_pid.values()))

    def full(self, root: bool) -> bool:
        """Whether a new process would exceed the limit (root may use the last few)."""
        return len(self.by_pid) >= self.limit - (0 if root else LAST_FEW)

    def add(self, mp: MProc) -> MProc:
        """Enter ``mp`` (its pid and endpoint must be free)."""
        assert mp.pid not in self.by_pid, mp
        self.by_pid[mp.pid] = mp
        if mp.endpoint != NONE:
            self.by_ep[mp.endpoint] = mp
        return mp

    def forget_endpoint(self, mp: MProc) -> None:
        """``mp``'s kernel slot is gone: its endpoint no longer names it."""
        if self.by_ep.get(mp.endpoint) is mp:
            del self.by_ep[mp.endpoint]

    def remove(self, mp: MProc) -> None:
        """Drop ``mp`` for good (a reaped zombie, a failed fork)."""
        self.forget_endpoint(mp)
        if self.by_pid.get(mp.pid) is mp:
            del self.by_pid[mp.pid]

    def free_pid(self) -> int:
        """A pid used by no process and no process group (MINIX's ``get_free_pid``)."""
        in_use = set(self.by_pid)
        in_use.update(mp.pgrp for mp in self.by_pid.values())
        pid = self._next_pid
        for _ in range(NR_PIDS):
            pid = pid + 1 if pid + 1 < NR_PIDS else INIT_PID + 1
            if pid not in in_use:
                self._next_pid = pid
                return pid
        raise RuntimeError("no free pid")  # cannot happen: the table is far smaller

    def children(self, mp: MProc) -> Iterator[MProc]:
        """The processes whose parent is ``mp`` (zombies included)."""
        return (c for c in self.by_pid.values() if c.ppid == mp.pid and c is not mp)

    def group(self, pgrp: int) -> list[MProc]:
        """The user processes of process group ``pgrp`` that are alive."""
        return [
            p
            for p in self.by_pid.values()
            if p.pgrp == pgrp and p.alive and not p.flags & PRIV_PROC
        ]
