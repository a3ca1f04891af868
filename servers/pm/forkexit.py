"""fork, exit, waitpid, zombies and orphans, and deaths the kernel reports (MINIX's forkexit.c).

fork: the kernel makes a stopped child running the entry the parent's libc left; VM
gives it a copy-on-write copy of the parent's address space; PM copies its own state
(identities, group and session, dispositions and mask; not pending signals or the
alarm); VFS copies the descriptors; then the child runs and the parent gets its pid.
The table limit is PM's (zombies count): past it fork fails with EAGAIN (root may use
the last :data:`~servers.pm.mproc.LAST_FEW` entries).

exit, and every death: the kernel process ends at once and its slot is released; the
entry stays as a zombie holding the wait status. Its children go to init; then the
parent is told: a parent waiting in waitpid for it is answered, a parent that ignores
SIGCHLD has it reaped at once (no zombie, as POSIX allows and MINIX does), any other
parent gets SIGCHLD (only then, as in MINIX). PM reads the process's CPU time from the
kernel before releasing its slot; reaping it in waitpid adds that time (and its own
waited-for children's) to the parent's children's time (times()'s tms_cutime).

Deaths the kernel reports to PM (a crash, VM's SIGSEGV, a process whose code returned
without exiting) arrive as SIGKSIG; PM reads them with ``getksig`` and the process is
recorded as killed by that signal (SIGSEGV for a crash).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Final

import structlog

from kernel.endpoint import NONE
from kernel.errors import KernelError
from kernel.kernel import KSIG_ALIVE
from servers.pm import alarm, session, signals
from servers.pm.mproc import (
    BLOCKED_IN_PM,
    EXITING,
    HOST,
    PRIV_PROC,
    WAITING,
    ZOMBIE,
    MProc,
    SigAction,
)
from servers.pm.protocol import (
    DISP_IGN,
    INIT_PID,
    NSIG,
    SIGCHLD,
    SIGKILL,
    SIGSEGV,
    W_CONTINUED,
    WAIT_OPTIONS,
    WCONTINUED,
    WNOHANG,
    WUNTRACED,
    PmReply,
    PmVfsExit,
    PmVfsFork,
    w_exitcode,
    w_termsig,
)
from vm.protocol import VmExit, VmFork

if TYPE_CHECKING:
    from servers.pm.main import Pm
    from servers.pm.protocol import PmExit, PmFork, PmWaitpid

_log = structlog.get_logger("asynix.pm")

WAIT_REPORTS: Final = (WUNTRACED, WCONTINUED)
"""The option that lets waitpid report a stop (index 0) or a continue (index 1)."""


def returncode(status: int) -> int:
    """A wait status as ``subprocess`` reports it: the exit code, or minus the signal."""
    return -(status & 0x7F) if status & 0x7F else (status >> 8) & 0xFF


# -- fork ----------------------------------------------------------------------------------


async def do_fork(pm: Pm, mp: MProc, m: PmFork) -> PmReply | None:
    """fork: answer the parent with the child's pid once the child exists and runs."""
    table = pm.table
    if table.full(root=mp.euid == 0):
        return PmReply(errno.EAGAIN)
    try:
        child_ep = await pm.proc.fork(mp.endpoint)
    except KernelError as exc:
        return PmReply(errno.EINVAL if exc.errno == errno.EINVAL else errno.EAGAIN)
    r = await pm.vm_call(VmFork(mp.endpoint, child_ep))
    if r.status:
        await pm.kclear(child_ep)
        return PmReply(errno.ENOMEM if r.status == errno.ENOMEM else errno.EAGAIN)
    child = table.add(
        MProc(
            table.free_pid(),
            child_ep,
            mp.name,
            mp.pid,
            uid=mp.uid,
            euid=mp.euid,
            suid=mp.suid,
            gid=mp.gid,
            egid=mp.egid,
            sgid=mp.sgid,
            pgrp=mp.pgrp,
            sid=mp.sid,
            actions=[SigAction(a.handler, a.mask, a.flags) for a in mp.actions],
            sigmask=mp.sigmask,
        )
    )

    async def forked(status: int) -> None:
        if status:
            # VFS could not copy the descriptors: undo the child.
            await pm.kclear(child_ep)
            await pm.vm_call(VmExit(child_ep))
            table.remove(child)
            await pm.reply(mp.endpoint, PmReply(errno.EAGAIN))
            return
        if child.alive:
            await pm.kresume(child)
        if mp.alive:
            await pm.reply(mp.endpoint, PmReply(0, child.pid))

    await pm.tell_vfs(child, PmVfsFork(mp.endpoint, child_ep, child.pid), forked)
    return None


# -- exit ----------------------------------------------------------------------------------


async def do_exit(pm: Pm, mp: MProc, m: PmExit) -> None:
    """_exit(status): never answered."""
    await exit_proc(pm, mp, w_exitcode(m.status))


async def exit_proc(pm: Pm, mp: MProc, status: int) -> None:
    """End ``mp`` with wait status ``status``: kernel slot, VFS, VM, then zombie.

    Callable for a process that is alive (exit, a fatal signal) or already dead in the
    kernel (a death reported with SIGKSIG); idempotent.
    """
    if not mp.alive:
        return
    if mp.flags & PRIV_PROC:
        _log.error("a system process cannot exit through PM", pid=mp.pid, name=mp.name)
        return
    mp.flags = (mp.flags & ~BLOCKED_IN_PM) | EXITING
    mp.status = status
    ep = mp.endpoint
    await alarm.cancel(pm, mp)
    mp.utime = await pm.cpu_time(ep)  # the kernel forgets it with the slot
    await pm.kclear(ep)
    pm.table.forget_endpoint(mp)
    if mp.flags & HOST:
        pm.host_exits[mp.pid] = returncode(status)
        from servers.pm.hostcalls import host_exited

        host_exited(pm, mp.pid)

    async def closed(_status: int) -> None:
        r = await pm.vm_call(VmExit(ep))
        if r.status and r.status != errno.EINVAL:
            _log.warning("VM exit failed", pid=mp.pid, status=r.status)
        await zombify(pm, mp)

    await session.hangup(pm, mp)  # a controlling process: its terminal hangs up
    await pm.tell_vfs(mp, PmVfsExit(ep), closed)


async def zombify(pm: Pm, mp: MProc) -> None:
    """``mp`` is gone: hand its children to init, then tell its parent."""
    mp.flags = (mp.flags & ~EXITING) | ZOMBIE
    mp.endpoint = NONE
    if mp.pid == INIT_PID:
        _log.critical("init died", status=mp.status)
    orphans = list(pm.table.children(mp))
    for child in orphans:
        child.ppid = INIT_PID
    for child in orphans:
        if child.flags & ZOMBIE:
            await check_parent(pm, child)
    await check_parent(pm, mp)


def wait_matches(parent: MProc, child: MProc) -> bool:
    """Whether ``child`` is one that ``parent``'s pending waitpid asks about."""
    return _matches(parent.wait_pid, parent, child)


def _matches(pid: int, parent: MProc, child: MProc) -> bool:
    if pid > 0:
        return child.pid == pid
    if pid == -1:
        return True
    if pid == 0:
        return child.pgrp == parent.pgrp
    return child.pgrp == -pid


async def check_parent(pm: Pm, child: MProc) -> None:
    """The zombie ``child`` is ready to be collected: tell (or reap for) its parent."""
    parent = pm.table.by_pid.get(child.ppid)
    if parent is None or parent.flags & PRIV_PROC:
        pm.table.remove(child)
        return
    if not parent.alive:
        return  # the parent is going too; its children will go to init
    if parent.actions[SIGCHLD].handler == DISP_IGN:
        pm.table.remove(child)
        if parent.flags & WAITING and not any(
            _matches(parent.wait_pid, parent, c) for c in pm.table.children(parent)
        ):
            parent.flags &= ~WAITING
            await pm.reply(parent.endpoint, PmReply(errno.ECHILD))
        return
    if parent.flags & WAITING and wait_matches(parent, child):
        parent.flags &= ~WAITING
        reap(pm, parent, child)
        await pm.reply(parent.endpoint, PmReply(0, child.pid, child.status))
        return
    await signals.sig_proc(pm, parent, SIGCHLD)


# -- waitpid -------------------------------------------------------------------------------


def reap(pm: Pm, parent: MProc, child: MProc) -> None:
    """``parent`` has waited for the zombie ``child``: add its CPU time, drop the entry.

    POSIX's tms_cutime: the child's own time plus that of the children it waited for.
    Children reaped unwaited (a parent ignoring SIGCHLD, orphans of system processes)
    are not counted, as POSIX allows.
    """
    parent.child_utime += child.utime + child.child_utime
    pm.table.remove(child)


async def do_waitpid(pm: Pm, mp: MProc, m: PmWaitpid) -> PmReply | None:
    """waitpid(pid, options): a zombie, a stop or a continue to report, or wait."""
    if m.options & ~WAIT_OPTIONS:
        return PmReply(errno.EINVAL)
    children = [c for c in pm.table.children(mp) if _matches(m.pid, mp, c)]
    if not children:
        return PmReply(errno.ECHILD)
    for child in children:
        if child.flags & ZOMBIE:
            reap(pm, mp, child)
            return PmReply(0, child.pid, child.status)
    for child in children:
        if child.event and m.options & WAIT_REPORTS[child.event == W_CONTINUED]:
            status, child.event = child.event, 0
            return PmReply(0, child.pid, status)
    if m.options & WNOHANG:
        return PmReply(0, 0, 0)
    mp.flags |= WAITING
    mp.wait_pid = m.pid
    mp.wait_options = m.options
    return None


# -- deaths the kernel reports ---------------------------------------------------------------


async def ksig(pm: Pm) -> None:
    """SIGKSIG: collect every (endpoint, signals) the kernel has for PM."""
    while True:
        ep, sigs = await pm.proc.getksig()
        if ep == NONE:
            return
        mp = pm.table.by_ep.get(ep)
        if sigs & KSIG_ALIVE:
            await _raised(pm, mp, ep, sigs & ~KSIG_ALIVE)
            continue
        if mp is None or not mp.alive:
            await pm.kclear(ep)
            continue
        if sigs & (1 << SIGSEGV):
            sig = SIGSEGV
        elif sigs & ~(1 << SIGKILL):
            low = sigs & ~(1 << SIGKILL)
            sig = (low & -low).bit_length() - 1
        else:
            sig = SIGKILL
        _log.info("process killed by the kernel", pid=mp.pid, name=mp.name, sig=sig)
        await exit_proc(pm, mp, w_termsig(sig))


async def _raised(pm: Pm, mp: MProc | None, ep: int, sigs: int) -> None:
    """Signals the kernel raised on a live process (VFS's SIGPIPE): act, then let it run."""
    for sig in range(1, NSIG):
        if mp is not None and mp.alive and sigs >> sig & 1:
            await signals.sig_proc(pm, mp, sig)
    try:
        await pm.proc.endksig(ep)
    except KernelError:
        pass  # it died meanwhile
