"""Sessions and process groups: setsid, setpgid, getpgid, getsid (POSIX job control).

A process starts in its parent's group and session. setsid makes the caller the
leader of a new session and of a new group (EPERM if it already leads a group);
setpgid moves the caller or one of its children (ESRCH otherwise; EACCES for a child
that has exec'd) into a group of the same session (EPERM otherwise; a session leader
cannot move).

Terminals (:func:`tty_request`): a terminal driver keeps its session and foreground
group and asks PM, asynchronously, what only PM knows: the session and group of the
session leader that acquired it, whether a caller is in the background (then PM sends
SIGTTIN or SIGTTOU to the caller's group, Linux's ``__tty_check_change``), and whether
a group belongs to the caller's session (tcsetpgrp). It also raises ^C's signals on a
group, or a hang-up's SIGHUP on the session leader, and asks who opened a terminal
that gets a node of its own (a pty's owner). PM answers with ``senda`` and never waits
for the driver. PM remembers each session's terminal (its driver and device number,
which ``ps`` shows) from the acquiring question until it hangs the session up.
Sessions are PM's by session id, so a driver may have many terminals (it finds the
one of a hang-up by session) and there may be many drivers.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

import structlog

from kernel.errors import KernelError
from servers.pm import signals
from servers.pm.mproc import EXECED
from servers.pm.protocol import (
    NSIG,
    SIGTTIN,
    SIGTTOU,
    TTYQ_ACQUIRE,
    TTYQ_CHANGE,
    TTYQ_GETPGRP,
    TTYQ_OWNER,
    TTYQ_READ,
    TTYQ_SETPGRP,
    PmReply,
    PmTtyAnswer,
    PmTtyHangup,
    PmTtySignal,
    PmVfsSetsid,
)

if TYPE_CHECKING:
    from kernel.message import Message
    from servers.pm.main import Pm
    from servers.pm.mproc import MProc
    from servers.pm.protocol import PmGetpgid, PmGetsid, PmSetpgid, PmSetsid, PmTtyQuery

_log = structlog.get_logger("asynix.pm")


async def do_setsid(pm: Pm, mp: MProc, m: PmSetsid) -> PmReply | None:
    """setsid: value = the new session id (the caller's pid)."""
    if any(p.pgrp == mp.pid for p in pm.table.by_pid.values()):
        return PmReply(errno.EPERM)
    mp.sid = mp.pgrp = mp.pid

    async def told(_status: int) -> None:
        if mp.alive:
            await pm.reply(mp.endpoint, PmReply(0, mp.sid))

    await pm.tell_vfs(mp, PmVfsSetsid(mp.endpoint), told)
    return None


async def do_setpgid(pm: Pm, mp: MProc, m: PmSetpgid) -> PmReply:
    """setpgid(pid, pgid)."""
    if m.pid < 0 or m.pgid < 0:
        return PmReply(errno.EINVAL)
    target = mp if m.pid in (0, mp.pid) else pm.table.by_pid.get(m.pid)
    if target is None or not target.alive or (target is not mp and target.ppid != mp.pid):
        return PmReply(errno.ESRCH)
    if target is not mp and target.flags & EXECED:
        return PmReply(errno.EACCES)
    if target.sid != mp.sid or target.sid == target.pid:
        return PmReply(errno.EPERM)
    pgid = m.pgid or target.pid
    if pgid != target.pid and not any(
        p.pgrp == pgid and p.sid == mp.sid and p.alive for p in pm.table.by_pid.values()
    ):
        return PmReply(errno.EPERM)
    target.pgrp = pgid
    return PmReply(0)


def _target(pm: Pm, mp: MProc, pid: int) -> MProc | None:
    return mp if pid == 0 else pm.table.by_pid.get(pid)


async def do_getpgid(pm: Pm, mp: MProc, m: PmGetpgid) -> PmReply:
    """value: the process group of ``pid`` (0: the caller); ESRCH if there is none."""
    if m.pid < 0:
        return PmReply(errno.ESRCH)
    target = _target(pm, mp, m.pid)
    return PmReply(errno.ESRCH) if target is None else PmReply(0, target.pgrp)


async def do_getsid(pm: Pm, mp: MProc, m: PmGetsid) -> PmReply:
    """value: the session of ``pid`` (0: the caller); ESRCH if there is none."""
    if m.pid < 0:
        return PmReply(errno.ESRCH)
    target = _target(pm, mp, m.pid)
    return PmReply(errno.ESRCH) if target is None else PmReply(0, target.sid)


# -- terminals: what a terminal driver asks (job control) -------------------------------


async def tty_request(pm: Pm, m: PmTtyQuery | PmTtySignal) -> None:
    """A terminal driver's query or signal; ENOSYS unless from a system process outside the table.

    Never blocks: the answer leaves with ``senda``, because the driver's main thread
    must stay free to receive VFS's cancels while PM's signals make VFS unpause a
    reader (see docs/tty.md).
    """
    try:
        _name, system = await pm.proc.getinfo(m.m_source)
    except KernelError:
        return
    if not system or m.m_source in pm.table.by_ep:
        _log.info("terminal request from a process that is no driver", src=m.m_source)
        await pm.reply(m.m_source, PmReply(errno.ENOSYS))  # as for any unknown call
        return
    if isinstance(m, PmTtySignal):
        await _tty_signal(pm, m)
        return
    mp = pm.table.by_ep.get(m.ep)
    if mp is None or not mp.alive:
        await _answer(pm, m.m_source, PmTtyAnswer(m.tag, errno.ESRCH))
        return
    answer = await _query(pm, mp, m)
    if answer is None:
        _forget_dead_waits(pm)
        pm.tty_waits[mp.endpoint] = (mp, m.m_source, PmTtyAnswer(m.tag, errno.EAGAIN))
    else:
        await _answer(pm, m.m_source, answer)


async def _tty_signal(pm: Pm, m: PmTtySignal) -> None:
    """Raise ``m.sig`` on group ``m.pgrp``, or on process ``m.pid`` when that is set."""
    if not 0 < m.sig < NSIG:
        return
    if m.pid:
        target = pm.table.by_pid.get(m.pid)
        procs = [target] if target is not None and target.alive else []
    else:
        procs = pm.table.group(m.pgrp) if m.pgrp > 0 else []
    for p in procs:
        await signals.sig_proc(pm, p, m.sig)


async def _query(pm: Pm, mp: MProc, m: PmTtyQuery) -> PmTtyAnswer | None:
    """The answer to ``m`` about ``mp``, or None when ``mp`` was stopped (answer later)."""
    if m.op == TTYQ_OWNER:
        return PmTtyAnswer(m.tag, 0, uid=mp.euid, gid=mp.egid)
    if m.op == TTYQ_ACQUIRE:
        dev = m.dev if isinstance(m.dev, int) and 0 <= m.dev < 1 << 31 else 0  # an i32 for ps
        pm.tty_sessions[mp.sid] = (m.m_source, dev)
        return PmTtyAnswer(m.tag, 0, mp.sid, mp.pgrp)
    if m.op == TTYQ_GETPGRP:
        return PmTtyAnswer(m.tag, 0 if _controls(mp, m) else errno.ENOTTY)
    if m.op == TTYQ_READ:
        status = await _background(pm, mp, m, SIGTTIN)
    elif m.op in (TTYQ_CHANGE, TTYQ_SETPGRP):
        status = await _background(pm, mp, m, SIGTTOU)
    else:
        status = errno.EINVAL
    if status is None:
        return None
    if status == 0 and m.op == TTYQ_SETPGRP:
        status = _setpgrp_error(pm, mp, m)
    return PmTtyAnswer(m.tag, status)


def _controls(mp: MProc, m: PmTtyQuery) -> bool:
    """Whether the terminal ``m`` asks about is ``mp``'s controlling terminal."""
    return m.sid != 0 and mp.sid == m.sid


def _setpgrp_error(pm: Pm, mp: MProc, m: PmTtyQuery) -> int:
    if not _controls(mp, m):
        return errno.ENOTTY
    if m.pgrp <= 0:
        return errno.EINVAL
    if not any(p.pgrp == m.pgrp and p.sid == mp.sid for p in pm.table.group(m.pgrp)):
        return errno.EPERM
    return 0


async def _background(pm: Pm, mp: MProc, m: PmTtyQuery, sig: int) -> int | None:
    """Job control for a background ``mp`` (Linux's ``__tty_check_change``).

    0 when ``mp`` may go on (not its terminal, in the foreground, or SIGTTOU ignored or
    blocked); EIO when it cannot be stopped (SIGTTIN ignored or blocked, or its group
    is orphaned); None when ``sig`` went to its group: the driver asks again once
    ``mp`` is continued (a caught signal ends the request through VFS's cancel first).
    """
    if not _controls(mp, m) or not m.fg or mp.pgrp == m.fg:
        return 0
    if mp.sigmask >> sig & 1 or signals.ignored(mp, sig):
        return errno.EIO if sig == SIGTTIN else 0
    if orphaned(pm, mp.pgrp):
        return errno.EIO
    for p in pm.table.group(mp.pgrp):
        await signals.sig_proc(pm, p, sig)
    return None


def orphaned(pm: Pm, pgrp: int) -> bool:
    """POSIX: no member has a parent in another group of the same session."""
    for p in pm.table.group(pgrp):
        parent = pm.table.by_pid.get(p.ppid)
        if parent is not None and parent.alive and parent.pgrp != pgrp and parent.sid == p.sid:
            return False
    return True


async def hangup(pm: Pm, mp: MProc) -> None:
    """``mp`` exits: if it controls a terminal, tell the terminal's driver (POSIX _exit).

    The driver sends SIGHUP and SIGCONT to its foreground group and forgets the
    session; VFS takes the terminal from the session's processes when it handles the
    exit (``vfs.device.forget``).
    """
    if mp.pid != mp.sid:
        return
    terminal = pm.tty_sessions.pop(mp.sid, None)
    if terminal is not None:
        await _answer(pm, terminal[0], PmTtyHangup(mp.sid))


async def tty_continued(pm: Pm, mp: MProc) -> None:
    """``mp`` got SIGCONT: a driver waiting to ask again about it may do so now."""
    wait = pm.tty_waits.get(mp.endpoint)
    if wait is not None and wait[0] is mp:
        del pm.tty_waits[mp.endpoint]
        await _answer(pm, wait[1], wait[2])


def _forget_dead_waits(pm: Pm) -> None:
    for ep, (mp, _driver, _answer_msg) in list(pm.tty_waits.items()):
        if not mp.alive:
            del pm.tty_waits[ep]


async def _answer(pm: Pm, driver: int, answer: Message) -> None:
    """Send a terminal driver ``answer`` (or a hang-up) without waiting."""
    try:
        await pm.proc.senda(driver, answer)
    except KernelError as exc:
        _log.debug("terminal answer lost", dst=driver, error=str(exc))
