"""Sessions and process groups: setsid, setpgid, getpgid, getsid (POSIX job control).

A process starts in its parent's group and session. setsid makes the caller the
leader of a new session and of a new group (EPERM if it already leads a group);
setpgid moves the caller or one of its children (ESRCH otherwise; EACCES for a child
that has exec'd) into a group of the same session (EPERM otherwise; a session leader
cannot move).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from servers.pm.mproc import EXECED
from servers.pm.protocol import PmReply, PmVfsSetsid

if TYPE_CHECKING:
    from servers.pm.main import Pm
    from servers.pm.mproc import MProc
    from servers.pm.protocol import PmGetpgid, PmGetsid, PmSetpgid, PmSetsid


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
