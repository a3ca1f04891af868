"""getpid and the user and group ids (MINIX's getset.c).

The usual rules: root (effective uid 0) may set any uid or gid, and setuid/setgid by
root set the real, effective and saved ids together; anyone else may only set the
effective id to the real or saved one. Ids run from 0 to MAX_ID (EINVAL otherwise).
VFS hears of every change (it checks file permissions).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from servers.pm.protocol import MAX_ID, PmReply, PmVfsSetids

if TYPE_CHECKING:
    from servers.pm.main import Pm
    from servers.pm.mproc import MProc
    from servers.pm.protocol import (
        PmGetepinfo,
        PmGetgid,
        PmGetpid,
        PmGetuid,
        PmSetgid,
        PmSetuid,
    )


async def do_getpid(pm: Pm, mp: MProc, m: PmGetpid) -> PmReply:
    """value: pid, value2: parent's pid."""
    return PmReply(0, mp.pid, mp.ppid)


async def do_getuid(pm: Pm, mp: MProc, m: PmGetuid) -> PmReply:
    """value: real uid, value2: effective uid."""
    return PmReply(0, mp.uid, mp.euid)


async def do_getepinfo(pm: Pm, mp: MProc, m: PmGetepinfo) -> PmReply:
    """value: the pid at ``m.endpoint``, value2: its effective uid (ESRCH if none)."""
    target = pm.table.by_ep.get(m.endpoint) if isinstance(m.endpoint, int) else None
    if target is None or not target.alive:
        return PmReply(errno.ESRCH)
    return PmReply(0, target.pid, target.euid)


async def do_getgid(pm: Pm, mp: MProc, m: PmGetgid) -> PmReply:
    """value: real gid, value2: effective gid."""
    return PmReply(0, mp.gid, mp.egid)


async def _changed(pm: Pm, mp: MProc) -> None:
    async def told(_status: int) -> None:
        if mp.alive:
            await pm.reply(mp.endpoint, PmReply(0))

    await pm.tell_vfs(mp, PmVfsSetids(mp.endpoint, mp.uid, mp.euid, mp.gid, mp.egid), told)


async def do_setuid(pm: Pm, mp: MProc, m: PmSetuid) -> PmReply | None:
    """Serve setuid and seteuid."""
    uid = m.uid
    if not 0 <= uid <= MAX_ID:
        return PmReply(errno.EINVAL)
    if mp.euid == 0 and not m.effective:
        mp.uid = mp.euid = mp.suid = uid
    elif mp.euid == 0 or uid in (mp.uid, mp.suid):
        mp.euid = uid
    else:
        return PmReply(errno.EPERM)
    await _changed(pm, mp)
    return None


async def do_setgid(pm: Pm, mp: MProc, m: PmSetgid) -> PmReply | None:
    """Serve setgid and setegid (the privilege is root's effective uid)."""
    gid = m.gid
    if not 0 <= gid <= MAX_ID:
        return PmReply(errno.EINVAL)
    if mp.euid == 0 and not m.effective:
        mp.gid = mp.egid = mp.sgid = gid
    elif mp.euid == 0 or gid in (mp.gid, mp.sgid):
        mp.egid = gid
    else:
        return PmReply(errno.EPERM)
    await _changed(pm, mp)
    return None
