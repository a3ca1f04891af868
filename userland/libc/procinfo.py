"""Process information: the processes PM knows, for ``ps`` (a walk over PM's table).

:func:`getprocs` asks PM for one entry at a time (:class:`~servers.pm.protocol.PmProcinfo`,
MINIX's ``getsysinfo(PM, SI_PROC_TAB)`` cut into pieces): each request names the last pid
seen, PM writes the next process's entry into a buffer on the caller's heap, and the
walk ends when PM answers ESRCH. System processes (PM, VM, VFS...) and zombies are
included.

:func:`times` is the process's own CPU time and that of the children it has waited
for (POSIX's ``times``, shaped like Python's ``os.times()``), from PM.

:func:`getenviron` is what the process knows of itself without asking anyone: its
whole environment (what ``env`` prints; ``environ`` in C).
"""

from __future__ import annotations

import errno
from typing import Final, NamedTuple

from kernel.com import PM_PROC_NR
from servers.pm.protocol import PI_SYSTEM, PROCINFO, PmProcinfo, PmTimes
from userland.libc._context import current
from userland.libc._syscall import call
from userland.libc.memory import free, malloc, peek

__all__ = ["ProcInfo", "TimesResult", "getenviron", "getprocs", "times"]

_PM: Final = PM_PROC_NR


class ProcInfo(NamedTuple):
    """One process as PM sees it.

    Attributes:
        pid: its process id.
        ppid: its parent's pid (0 for init and the system processes: PM).
        pgrp: its process group.
        sid: its session.
        uid: its real user id.
        euid: its effective user id.
        state: ``"R"`` running or ready, ``"S"`` blocked (in waitpid, pause, or a call
            to a server), ``"T"`` stopped, ``"Z"`` zombie.
        system: whether it is a system process (a server), not a user process.
        name: the base name of the program it runs (at most 16 bytes of it).
        tty: the device number of its controlling terminal (its session's), 0 for
            none; :func:`~userland.libc.termios.ttyname_of` names it.
        cpu_time: the CPU time it has used, in seconds (a zombie's: at its death).
    """

    pid: int
    ppid: int
    pgrp: int
    sid: int
    uid: int
    euid: int
    state: str
    system: bool
    name: str
    tty: int = 0
    cpu_time: float = 0.0


async def getprocs() -> list[ProcInfo]:
    """Every process in PM's table, by increasing pid.

    Raises:
        OSError: ENOMEM when the buffer cannot be allocated; EINTR.
    """
    buf = await malloc(PROCINFO.size)
    out: list[ProcInfo] = []
    try:
        after = -1
        while True:
            try:
                reply = await call(_PM, PmProcinfo(after, buf, PROCINFO.size))
            except OSError as exc:
                if exc.errno == errno.ESRCH:
                    return out
                raise
            out.append(_unpack(await peek(buf, PROCINFO.size)))
            after = reply.value
    finally:
        await free(buf)


def _unpack(raw: bytes) -> ProcInfo:
    pid, ppid, pgrp, sid, uid, euid, tty, state, flags, name, cpu_us = PROCINFO.unpack(raw)
    return ProcInfo(
        pid,
        ppid,
        pgrp,
        sid,
        uid,
        euid,
        chr(state),
        bool(flags & PI_SYSTEM),
        name.rstrip(b"\0").decode("utf-8", "replace"),
        tty,
        cpu_us / 1_000_000,
    )


class TimesResult(NamedTuple):
    """What :func:`times` returns (the fields of Python's ``os.times_result``), in seconds.

    Attributes:
        user: the process's CPU time (all of it: see :func:`times`).
        system: always 0.0.
        children_user: the CPU time of the children it has waited for, and of theirs.
        children_system: always 0.0.
        elapsed: the time since boot (the kernel clock), as ``times`` return value.
    """

    user: float
    system: float
    children_user: float
    children_system: float
    elapsed: float


async def times() -> TimesResult:
    """POSIX ``times()``: this process's CPU time and its waited-for children's.

    The kernel charges a process for the whole time it holds the CPU, its kernel
    entries included (a simulated process's own code and its traps cannot be told
    apart), so it is all user time and the system fields are 0. A child's time counts
    in ``children_user`` only once the caller has waited for it.

    Raises:
        OSError: EINTR.
    """
    reply = await call(_PM, PmTimes())
    return TimesResult(reply.utime, 0.0, reply.cutime, 0.0, reply.uptime)


def getenviron() -> dict[str, str]:
    """A copy of the process's environment (C's ``environ``), in the order it was set."""
    return dict(current().environ)
