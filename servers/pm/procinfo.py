"""Process information for ``ps``: one process-table entry per request; and times().

MINIX's ``ps`` copies PM's whole ``mproc`` table out with ``getsysinfo(PM,
SI_PROC_TAB)``. asynix hands it out one entry at a time instead
(:class:`~servers.pm.protocol.PmProcinfo`): the caller names the last pid it saw and
PM writes the next process's :data:`~servers.pm.protocol.PROCINFO` entry into the
caller's buffer with a kernel copy. A process's controlling terminal is its session's
(the device its driver named when the session acquired it, see session.py); its CPU
time is the kernel's (a zombie's, read at its death). Every entry of PM's table is
reported, zombies and system processes included; a walk is not a snapshot (a process
that forks or dies meanwhile may or may not be seen), as with ``/proc`` on other
systems.

times() (:class:`~servers.pm.protocol.PmTimes`, MINIX's do_times): the caller's CPU time
from the kernel (sys_times) and the time of the children it has waited for
(``MProc.child_utime``, summed at reaping in forkexit.py).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from kernel.errors import KernelError
from kernel.proc import RTS_RECEIVING, RTS_SENDING
from servers.pm.mproc import BLOCKED_IN_PM, PRIV_PROC, STOPPED, ZOMBIE
from servers.pm.protocol import (
    PI_RUNNING,
    PI_SLEEPING,
    PI_STOPPED,
    PI_SYSTEM,
    PI_ZOMBIE,
    PROC_NAME_LEN,
    PROCINFO,
    PmReply,
    PmTimesReply,
)
from vm.protocol import KERNEL_BASE

if TYPE_CHECKING:
    from servers.pm.main import Pm
    from servers.pm.mproc import MProc
    from servers.pm.protocol import PmProcinfo, PmTimes


async def do_procinfo(pm: Pm, mp: MProc, m: PmProcinfo) -> PmReply:
    """Write the entry of the first process whose pid is above ``m.after``; value: its pid."""
    after, buf, size = m.after, m.buf, m.buf_len
    if not all(isinstance(v, int) for v in (after, buf, size)):
        return PmReply(errno.EINVAL)
    if size < PROCINFO.size:
        return PmReply(errno.EINVAL)
    if buf <= 0 or buf + PROCINFO.size > KERNEL_BASE:
        return PmReply(errno.EFAULT)
    pids = [pid for pid in pm.table.by_pid if pid > after]
    if not pids:
        return PmReply(errno.ESRCH)
    target = pm.table.by_pid[min(pids)]
    # A zombie's time was read at its death; a live process's is the kernel's now.
    cpu = target.utime if target.flags & ZOMBIE else await pm.cpu_time(target.endpoint)
    try:
        await pm.proc.datacopy_to(mp.endpoint, buf, _entry(pm, target, mp, cpu))
    except KernelError:
        return PmReply(errno.EFAULT)
    return PmReply(0, target.pid)


async def do_times(pm: Pm, mp: MProc, m: PmTimes) -> PmTimesReply:
    """times(): the caller's CPU time, its waited-for children's, and the uptime."""
    try:
        cpu, uptime = await pm.proc.times(mp.endpoint)
    except KernelError:  # the caller died meanwhile: it gets no answer anyway
        cpu, uptime = 0.0, pm.proc.now()
    return PmTimesReply(0, cpu, mp.child_utime, uptime)


def _entry(pm: Pm, target: MProc, caller: MProc, cpu: float) -> bytes:
    """``target``'s PROCINFO entry as ``caller`` sees it (the caller itself is running)."""
    name = target.name.encode("utf-8", "replace")[:PROC_NAME_LEN]
    return PROCINFO.pack(
        target.pid,
        target.ppid,
        target.pgrp,
        target.sid,
        target.uid,
        target.euid,
        _tty(pm, target),
        _state(pm, target, caller),
        PI_SYSTEM if target.flags & PRIV_PROC else 0,
        name,
        round(cpu * 1_000_000),
    )


def _tty(pm: Pm, target: MProc) -> int:
    """The device number of ``target``'s controlling terminal: its session's, or 0."""
    terminal = pm.tty_sessions.get(target.sid) if target.sid else None
    return 0 if terminal is None else terminal[1]


def _state(pm: Pm, target: MProc, caller: MProc) -> int:
    if target.flags & ZOMBIE:
        return PI_ZOMBIE
    if target.flags & STOPPED:
        return PI_STOPPED
    if target is caller:
        return PI_RUNNING
    if target.flags & BLOCKED_IN_PM:
        return PI_SLEEPING
    # WORKAROUND: like Pm.ksending, reads the kernel's process state directly; MINIX's
    # ps gets it from the kernel's process table (getsysinfo(KERNEL, SI_PROC_TAB)).
    p = pm.proc.kernel.find(target.endpoint)
    if p is not None and p.rts & (RTS_SENDING | RTS_RECEIVING):
        return PI_SLEEPING
    return PI_RUNNING
