"""alarm: one timer per process, multiplexed on PM's single kernel alarm.

Each process may have one alarm (a deadline on the kernel clock). PM keeps the kernel
alarm set for the earliest of them; when CLOCK notifies PM, every alarm that is due
raises SIGALRM on its process. An alarm survives exec and is not inherited by fork.
"""

from __future__ import annotations

import errno
import math
from typing import TYPE_CHECKING, Final

from servers.pm.protocol import SIGALRM, PmReply

if TYPE_CHECKING:
    from servers.pm.main import Pm
    from servers.pm.mproc import MProc
    from servers.pm.protocol import PmAlarm

MAX_SECONDS = 100_000_000
"""The longest alarm accepted (about three years); more is EINVAL."""


def _left(pm: Pm, mp: MProc) -> int:
    """Whole seconds left on ``mp``'s alarm, rounded up (0: none)."""
    if mp.alarm is None:
        return 0
    return max(1, math.ceil(mp.alarm - pm.proc.now()))


POLL: Final = 1e-3
"""Seconds between looks at a process whose message is in flight to VFS (DELAY_CALL)."""


async def _rearm(pm: Pm) -> None:
    deadlines = [mp.alarm for mp in pm.table.by_pid.values() if mp.alarm is not None]
    deadlines.extend(pm.delay_polls.values())
    first = min(deadlines) if deadlines else None
    if first == pm.alarm_set:
        return
    pm.alarm_set = first
    await pm.proc.setalarm(None if first is None else max(0.0, first - pm.proc.now()))


async def do_alarm(pm: Pm, mp: MProc, m: PmAlarm) -> PmReply:
    """alarm(seconds): SIGALRM in ``seconds`` (0 cancels); value: seconds left before."""
    if not 0 <= m.seconds <= MAX_SECONDS:
        return PmReply(errno.EINVAL)
    left = _left(pm, mp)
    mp.alarm = pm.proc.now() + m.seconds if m.seconds else None
    await _rearm(pm)
    return PmReply(0, left)


async def cancel(pm: Pm, mp: MProc) -> None:
    """Forget ``mp``'s alarm (it is exiting)."""
    if mp.alarm is not None:
        mp.alarm = None
        await _rearm(pm)


async def poll_later(pm: Pm, mp: MProc) -> None:
    """Look at ``mp``'s DELAY_CALL again in :data:`POLL` seconds."""
    pm.delay_polls[mp.pid] = pm.proc.now() + POLL
    await _rearm(pm)


async def expired(pm: Pm) -> None:
    """CLOCK notified PM: raise SIGALRM on every process whose alarm is due.

    Also looks again at delayed signals whose poll is due.
    """
    from servers.pm.mproc import DELAY_CALL
    from servers.pm.signals import sig_proc, undelay

    pm.alarm_set = None
    now = pm.proc.now()
    due = [mp for mp in pm.table if mp.alarm is not None and mp.alarm <= now]
    for mp in due:
        mp.alarm = None
    for mp in due:
        await sig_proc(pm, mp, SIGALRM)
    polls = [pid for pid, at in pm.delay_polls.items() if at <= now]
    for pid in polls:
        del pm.delay_polls[pid]
        waiting = pm.table.by_pid.get(pid)
        if waiting is None or not waiting.alive or not waiting.flags & DELAY_CALL:
            continue
        if pm.ksending(waiting) is not None:
            pm.delay_polls[pid] = now + POLL  # still in flight
        else:
            await undelay(pm, waiting)
    await _rearm(pm)
