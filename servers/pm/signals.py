"""Signals: kill, dispositions, masks, delivery and the default actions (MINIX's signal.c).

PM keeps each process's dispositions (default, ignore, catch), its mask, its pending
set and the contexts of handlers that are running; libc keeps the handler callables.

:func:`sig_proc` decides what a signal does to a process, in this order:

1. SIGCONT continues a stopped process whatever its disposition (and releases a
   terminal driver's answer held for it, :func:`servers.pm.session.tty_continued`); a
   stop signal discards a pending SIGCONT and vice versa;
2. an ignored signal (SIG_IGN, or a default action of "ignore") is discarded;
3. a blocked signal, or any signal but SIGKILL for a stopped process or one with a
   VFS notice outstanding, stays pending until unblocked / continued / answered;
4. a caught signal is delivered: PM saves the mask, blocks the signal (unless
   SA_NODEFER) and the handler's mask, and marks it with ``sigsend``; libc runs the
   handler when the process next enters or returns from a system call and then calls
   sigreturn, which restores the mask. A process blocked in PM (waitpid, pause,
   sigsuspend) is answered EINTR at once. One whose call is still on its way to PM
   or VFS (sent, not yet received) keeps the signal pending until the call has
   arrived (MINIX's DELAY_CALL), or the call could block with the handler waiting
   behind it. One that may be blocked in another server is first stopped and VFS is
   asked to end its call (PmVfsUnpause); the signal is delivered when VFS has
   answered, so the handler runs as soon as the call returns EINTR;
5. otherwise the default action: terminate (the process dies with the signal as its
   status), stop, or continue.

Init (pid 1) only receives signals it catches: others are dropped, and SIGKILL to
init fails with EPERM, as in MINIX. System processes cannot be signalled through
``kill`` at all (EPERM): RS manages them.

A signal whose handler is still running is not delivered again until sigreturn
(it stays pending meanwhile), so every mark ``sigsend`` leaves corresponds to exactly
one sigreturn.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Final

import structlog

from servers.pm.mproc import (
    BLOCKED_IN_PM,
    DELAY_CALL,
    KSTOPPED,
    PAUSED,
    PRIV_PROC,
    SIGSUSPENDED,
    STOPPED,
    UNPAUSED,
    VFS_CALL,
    WAITING,
    MProc,
    SigAction,
)
from servers.pm.protocol import (
    DISP_CATCH,
    DISP_DFL,
    DISP_IGN,
    DISP_QUERY,
    FULL_MASK,
    INIT_PID,
    NSIG,
    SA_FLAGS,
    SA_NOCLDSTOP,
    SA_NODEFER,
    SA_RESETHAND,
    SIG_BLOCK,
    SIG_SETMASK,
    SIG_UNBLOCK,
    SIGCHLD,
    SIGCONT,
    SIGKILL,
    SIGSTOP,
    SIGTSTP,
    SIGTTIN,
    SIGTTOU,
    SIGURG,
    SIGWINCH,
    UNBLOCKABLE,
    W_CONTINUED,
    PmReply,
    PmSigactionReply,
    PmVfsUnpause,
    w_stopcode,
    w_termsig,
)

if TYPE_CHECKING:
    from servers.pm.main import Pm
    from servers.pm.protocol import (
        PmKill,
        PmPause,
        PmSigaction,
        PmSigpending,
        PmSigprocmask,
        PmSigreturn,
        PmSigsuspend,
    )

_log = structlog.get_logger("asynix.pm")

HELD: Final = STOPPED | VFS_CALL | DELAY_CALL
"""A process in any of these states keeps its signals (but SIGKILL) pending."""
STOP_SIGNALS: Final = (1 << SIGSTOP) | (1 << SIGTSTP) | (1 << SIGTTIN) | (1 << SIGTTOU)
DEFAULT_IGNORE: Final = (1 << SIGCHLD) | (1 << SIGURG) | (1 << SIGWINCH) | (1 << SIGCONT)
"""Signals whose default action is to do nothing (SIGCONT's continuing happens anyway)."""


def ignored(mp: MProc, sig: int) -> bool:
    """Whether ``sig`` would be discarded by ``mp`` (explicitly or by default)."""
    handler = mp.actions[sig].handler
    return handler == DISP_IGN or (handler == DISP_DFL and bool(DEFAULT_IGNORE >> sig & 1))


def may_signal(sender: MProc, target: MProc, sig: int) -> bool:
    """POSIX permission: root, matching real/effective vs real/saved uid, SIGCONT in-session."""
    if sender.euid == 0:
        return True
    if {sender.uid, sender.euid} & {target.uid, target.suid}:
        return True
    return sig == SIGCONT and sender.sid == target.sid


# -- the decision --------------------------------------------------------------------------


async def sig_proc(pm: Pm, mp: MProc, sig: int) -> None:
    """Do what ``sig`` does to ``mp`` now, or leave it pending (see the module docstring)."""
    if not mp.alive or mp.flags & PRIV_PROC:
        return
    bit = 1 << sig
    act = mp.actions[sig]
    if mp.pid == INIT_PID and act.handler != DISP_CATCH:
        return  # init only gets the signals it catches
    if sig == SIGCONT:
        from servers.pm.session import tty_continued

        mp.sigpending &= ~STOP_SIGNALS
        await continue_proc(pm, mp)
        await tty_continued(pm, mp)  # a terminal read or write it stopped in goes on
    elif bit & STOP_SIGNALS:
        mp.sigpending &= ~(1 << SIGCONT)
    if ignored(mp, sig):
        return
    if sig == SIGKILL:
        await terminate(pm, mp, sig)
        return
    if mp.sigmask & bit or mp.flags & HELD or mp.outstanding & bit:
        mp.sigpending |= bit
        return
    if act.handler == DISP_CATCH:
        if not mp.flags & (BLOCKED_IN_PM | UNPAUSED):
            dst = pm.ksending(mp)
            if dst is not None and dst in (pm.proc.endpoint, pm.config.vfs):
                # Its call is on its way to PM or VFS: deliver once it has arrived,
                # or the call could block with the handler waiting behind it.
                mp.sigpending |= bit
                await delay(pm, mp, dst)
                return
            if pm.config.vfs is not None:
                mp.sigpending |= bit
                await unpause(pm, mp)
                return
        await deliver(pm, mp, sig)
    elif bit & STOP_SIGNALS:
        await stop_proc(pm, mp, sig)
    else:
        await terminate(pm, mp, sig)


async def check_pending(pm: Pm, mp: MProc) -> None:
    """Act on every pending signal that is no longer held back (MINIX's check_pending)."""
    ready = mp.sigpending & ~mp.sigmask
    if mp.flags & STOPPED:
        ready &= 1 << SIGKILL
    sig = 1
    while ready and mp.alive and not mp.flags & (VFS_CALL | DELAY_CALL):
        bit = 1 << sig
        if ready & bit and not mp.outstanding & bit:
            ready &= ~bit
            mp.sigpending &= ~bit
            await sig_proc(pm, mp, sig)
        ready &= ~bit
        sig += 1


async def terminate(pm: Pm, mp: MProc, sig: int) -> None:
    """The default action "terminate": ``mp`` dies with ``sig`` as its status."""
    from servers.pm.forkexit import exit_proc

    await exit_proc(pm, mp, w_termsig(sig))


async def deliver(pm: Pm, mp: MProc, sig: int) -> None:
    """Have ``mp``'s handler for ``sig`` run (MINIX's sig_send)."""
    bit = 1 << sig
    act = mp.actions[sig]
    saved = mp.sigmask2 if mp.flags & SIGSUSPENDED else mp.sigmask
    mp.sigctx.append([sig, saved])
    mp.outstanding |= bit
    mask = mp.sigmask | act.mask
    if not act.flags & SA_NODEFER:
        mask |= bit
    mp.sigmask = mask & FULL_MASK
    if act.flags & SA_RESETHAND:
        mp.actions[sig] = SigAction()
    await pm.sigsend(mp, sig)
    if mp.flags & BLOCKED_IN_PM:
        mp.flags &= ~BLOCKED_IN_PM
        await pm.reply(mp.endpoint, PmReply(errno.EINTR))


async def delay(pm: Pm, mp: MProc, dst: int) -> None:
    """Hold ``mp``'s caught signals until its message in flight to ``dst`` has arrived.

    For PM itself that is when PM takes the call (the main loop then resolves the
    delay); for VFS, PM looks again shortly (see :meth:`~servers.pm.main.Pm.ksending`).
    """
    if mp.flags & DELAY_CALL:
        return
    mp.flags |= DELAY_CALL
    if dst != pm.proc.endpoint:
        from servers.pm.alarm import poll_later

        await poll_later(pm, mp)


async def undelay(pm: Pm, mp: MProc) -> None:
    """The delay of ``mp`` is over: act on its pending signals."""
    mp.flags &= ~DELAY_CALL
    if mp.alive:
        await check_pending(pm, mp)


async def unpause(pm: Pm, mp: MProc) -> None:
    """Ask VFS to end ``mp``'s blocked call; its pending signals go out on the answer.

    The process is stopped meanwhile, so it cannot return from the call (and look for
    its handlers) before the signal is marked.
    """
    if mp.flags & VFS_CALL:
        return
    mp.flags |= KSTOPPED
    await pm.kstop(mp)

    async def answered(status: int) -> None:
        mp.flags &= ~KSTOPPED
        if not mp.alive:
            return
        mp.flags |= UNPAUSED
        await check_pending(pm, mp)
        mp.flags &= ~UNPAUSED
        await pm.kresume(mp)

    await pm.tell_vfs(mp, PmVfsUnpause(mp.endpoint), answered)


# -- stop and continue ---------------------------------------------------------------------


async def stop_proc(pm: Pm, mp: MProc, sig: int) -> None:
    """The default action "stop": ``mp`` stops; its parent may hear of it."""
    if mp.flags & STOPPED:
        return
    mp.flags |= STOPPED
    await pm.kstop(mp)
    mp.event = w_stopcode(sig)
    await _tell_parent_event(pm, mp)


async def continue_proc(pm: Pm, mp: MProc) -> None:
    """SIGCONT: a stopped ``mp`` runs again; its parent may hear of it."""
    if not mp.flags & STOPPED:
        return
    mp.flags &= ~STOPPED
    await pm.kresume(mp)
    mp.event = W_CONTINUED
    await _tell_parent_event(pm, mp)
    await check_pending(pm, mp)


async def _tell_parent_event(pm: Pm, mp: MProc) -> None:
    from servers.pm.forkexit import WAIT_REPORTS, wait_matches

    parent = pm.table.by_pid.get(mp.ppid)
    if parent is None or not parent.alive:
        return
    if (
        parent.flags & WAITING
        and wait_matches(parent, mp)
        and parent.wait_options & WAIT_REPORTS[mp.event == W_CONTINUED]
    ):
        parent.flags &= ~WAITING
        status, mp.event = mp.event, 0
        await pm.reply(parent.endpoint, PmReply(0, mp.pid, status))
        return
    if not parent.actions[SIGCHLD].flags & SA_NOCLDSTOP:
        await sig_proc(pm, parent, SIGCHLD)


# -- exec ----------------------------------------------------------------------------------


def reset_on_exec(mp: MProc) -> None:
    """exec: caught signals go back to SIG_DFL (their handlers are gone with the image)."""
    for act in mp.actions:
        if act.handler == DISP_CATCH:
            act.handler, act.mask, act.flags = DISP_DFL, 0, 0
    mp.sigctx.clear()
    mp.outstanding = 0


# -- the calls -----------------------------------------------------------------------------


async def do_kill(pm: Pm, mp: MProc, m: PmKill) -> PmReply:
    """kill(pid, sig): ESRCH, EPERM or EINVAL as POSIX says; sig 0 only checks."""
    sig, pid = m.sig, m.pid
    if not 0 <= sig < NSIG:
        return PmReply(errno.EINVAL)
    table = pm.table
    if pid > 0:
        one = table.by_pid.get(pid)
        targets = [one] if one is not None else []
    elif pid == 0:
        targets = table.group(mp.pgrp)
    elif pid == -1:
        targets = [p for p in table if p.pid != INIT_PID and not p.flags & PRIV_PROC and p.alive]
        targets.sort(key=lambda p: p is mp)  # the caller last, as MINIX does
    else:
        targets = table.group(-pid)
    error = errno.ESRCH
    found = False
    for target in targets:
        if target.flags & PRIV_PROC or not may_signal(mp, target, sig):
            error = errno.EPERM
            continue
        if target.pid == INIT_PID and sig in (SIGKILL, SIGSTOP):
            error = errno.EPERM
            continue
        found = True
        if sig:
            await sig_proc(pm, target, sig)
    return PmReply(0 if found else error)


async def do_sigaction(pm: Pm, mp: MProc, m: PmSigaction) -> PmSigactionReply:
    """Set (or, with DISP_QUERY, read) the disposition of a signal."""
    sig = m.sig
    if not 0 < sig < NSIG:
        return PmSigactionReply(errno.EINVAL)
    old = mp.actions[sig]
    reply = PmSigactionReply(0, old.handler, old.mask, old.flags)
    if m.handler == DISP_QUERY:
        return reply
    if (1 << sig) & UNBLOCKABLE or m.handler not in (DISP_DFL, DISP_IGN, DISP_CATCH):
        return PmSigactionReply(errno.EINVAL)
    if m.flags & ~SA_FLAGS:
        return PmSigactionReply(errno.EINVAL)
    mp.actions[sig] = SigAction(m.handler, m.mask & FULL_MASK, m.flags)
    if ignored(mp, sig):
        mp.sigpending &= ~(1 << sig)  # POSIX: setting SIG_IGN discards a pending signal
    return reply


async def do_sigprocmask(pm: Pm, mp: MProc, m: PmSigprocmask) -> PmReply:
    """Block, unblock or set the mask; value: the old mask."""
    old = mp.sigmask
    mask = m.mask & FULL_MASK
    if m.how == SIG_BLOCK:
        mp.sigmask |= mask
    elif m.how == SIG_UNBLOCK:
        mp.sigmask &= ~mask
    elif m.how == SIG_SETMASK:
        mp.sigmask = mask
    else:
        return PmReply(errno.EINVAL)
    if old & ~mp.sigmask:
        await check_pending(pm, mp)
    return PmReply(0, old)


async def do_sigpending(pm: Pm, mp: MProc, m: PmSigpending) -> PmReply:
    """value: the pending signals."""
    return PmReply(0, mp.sigpending)


async def do_sigsuspend(pm: Pm, mp: MProc, m: PmSigsuspend) -> PmReply | None:
    """Wait with a temporary mask until a caught signal is delivered (then EINTR)."""
    mp.sigmask2 = mp.sigmask
    mp.sigmask = m.mask & FULL_MASK
    mp.flags |= SIGSUSPENDED
    await check_pending(pm, mp)  # a delivery answers EINTR; sigreturn restores the mask
    return None


async def do_pause(pm: Pm, mp: MProc, m: PmPause) -> PmReply | None:
    """Wait until a caught signal is delivered (then EINTR)."""
    mp.flags |= PAUSED
    return None


async def do_sigreturn(pm: Pm, mp: MProc, m: PmSigreturn) -> PmReply:
    """The handler of ``m.sig`` returned: restore the mask its delivery saved."""
    ctx = mp.sigctx
    for i in range(len(ctx) - 1, -1, -1):
        if ctx[i][0] == m.sig:
            _sig, saved = ctx.pop(i)
            if i == len(ctx):
                mp.sigmask = saved
            else:
                # A later delivery's handler is still running: hand the restore down
                # to it, so the last sigreturn restores the mask from before them all.
                ctx[i][1] = saved
            if not any(c[0] == m.sig for c in ctx):
                mp.outstanding &= ~(1 << m.sig)
            await check_pending(pm, mp)
            break
    return PmReply(0)
