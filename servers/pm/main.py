"""PM's main loop, its state, and the helpers every PM call shares.

Boot spawns ``make_pm(config)`` at slot PM_PROC_NR. PM is single-threaded and blocks
only in kernel IPC: it receives one message at a time and answers it before taking
the next. What it receives:

- a system call from a user process (a :mod:`servers.pm.protocol` request), handled by
  the function the dispatch table names; the function returns the reply, or None
  when the caller must wait (waitpid, pause, sigsuspend) or will never be answered
  (exit, a successful exec);
- a notification from SYSTEM carrying SIGKSIG: the kernel ended a user process (a
  crash, VM's SIGSEGV); PM reads them with ``getksig`` and does the bookkeeping;
- a notification from CLOCK: a process's alarm is due;
- a notification from HARDWARE: the host put requests in PM's mailbox;
- a notification from RS: RS's boot services are up (each started, or given up on);
  PM holds init until then (:func:`servers.pm.hostcalls.boot_services_up`);
- VFS's answers to PM's notices.

A request that refers to a bad pid, signal, flag or pointer gets its POSIX errno. An
exception from PM's own code is a bug: it is logged, recorded in :attr:`Pm.bugs` and
answered with EIO; PM goes on serving.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog

from kernel.com import INIT_PROC_NR, RS_PROC_NR, VM_PROC_NR
from kernel.endpoint import ANY, CLOCK, HARDWARE, NR_PROCS, SYSTEM
from kernel.errors import KernelError
from kernel.kernel import SIGKSIG
from kernel.message import Message, Notify
from kernel.proc import RTS_SENDING
from servers.pm import alarm, execve, forkexit, getset, hostcalls, session, signals
from servers.pm.mproc import (
    BLOCKED_IN_PM,
    DELAY_CALL,
    KSTOPPED,
    STOPPED,
    VFS_CALL,
    MProc,
    ProcTable,
)
from servers.pm.procinfo import do_procinfo, do_times
from servers.pm.protocol import (
    PmAlarm,
    PmExec,
    PmExit,
    PmFork,
    PmGetepinfo,
    PmGetgid,
    PmGetpgid,
    PmGetpid,
    PmGetsid,
    PmGetuid,
    PmKill,
    PmPause,
    PmProcinfo,
    PmReply,
    PmSetgid,
    PmSetpgid,
    PmSetsid,
    PmSetuid,
    PmSigaction,
    PmSigpending,
    PmSigprocmask,
    PmSigreturn,
    PmSigsuspend,
    PmTimes,
    PmTtyQuery,
    PmTtySignal,
    PmWaitpid,
    VfsPmReply,
)
from vm.protocol import VmReply

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from kernel.priv import Priv
    from kernel.process import Process
    from servers.pm.execve import Runtime
    from servers.pm.host import HostMailbox, WaitRequest

    Handler = Callable[["Pm", MProc, Any], Awaitable[Message | None]]

_log = structlog.get_logger("asynix.pm")


@dataclass
class PmConfig:
    """What boot tells PM.

    Attributes:
        runtime: how programs are found and started (libc's ``_start``, the registry
            of ``/bin``); supplied by boot so that PM does not import userland.
        host: the host mailbox (PM's "device").
        user_priv: the privileges of user processes.
        system: ``(endpoint, label)`` of the boot image's other system processes, in
            boot order (they get pids 2, 3, ...).
        init: init's ``main`` and ``argv``; None boots without init (tests).
        init_slot: the kernel slot init gets.
        vfs: VFS's endpoint, when VFS is in the boot image.
        vm: VM's endpoint.
        max_procs: the size of PM's process table (zombies and system processes count).
    """

    runtime: Runtime
    host: HostMailbox
    user_priv: Priv
    system: Sequence[tuple[int, str]] = ()
    init: tuple[Any, list[str]] | None = None
    init_slot: int = INIT_PROC_NR
    vfs: int | None = None
    vm: int = VM_PROC_NR
    max_procs: int = NR_PROCS


@dataclass(eq=False)
class Pm:
    """PM's state and the operations its calls share.

    Attributes:
        proc: PM's handle on the kernel.
        config: what boot said.
        table: the process table.
        bugs: exceptions PM's own code raised (each one is a PM bug).
        host_exits: how each host-spawned pid ended (``System.wait``'s answer).
    """

    proc: Process
    config: PmConfig
    table: ProcTable = field(init=False)
    bugs: list[BaseException] = field(default_factory=list)
    host_exits: dict[int, int] = field(default_factory=dict)
    host_waits: dict[int, list[WaitRequest]] = field(default_factory=dict)
    vfs_pending: dict[int, MProc] = field(default_factory=dict)
    delay_polls: dict[int, float] = field(default_factory=dict)
    tty_waits: dict[int, tuple[MProc, int, Message]] = field(default_factory=dict)
    """Terminal drivers' answers held until the process is continued (see session.py)."""
    tty_sessions: dict[int, tuple[int, int]] = field(default_factory=dict)
    """Each session's controlling terminal, by session id: its driver and device (session.py)."""
    alarm_set: float | None = None
    init: MProc | None = None
    rs_booting: bool = False
    """RS is in the boot image and has not yet reported its boot services up."""
    init_held: bool = False
    """init is ready but stopped until RS's report (see hostcalls.boot_services_up)."""
    _init_seen: bool = False

    def __post_init__(self) -> None:
        self.table = ProcTable(self.config.max_procs)

    # -- the loop ----------------------------------------------------------------------

    async def run(self) -> None:
        """Start up, then serve forever."""
        await hostcalls.startup(self)
        proc = self.proc
        handlers = HANDLERS
        by_ep = self.table.by_ep
        while True:
            m = await proc.receive(ANY)
            handler = handlers.get(type(m))
            if handler is None:
                await self._other(m)
                continue
            mp = by_ep.get(m.m_source)
            if mp is None or not mp.alive:
                await self.reply(m.m_source, PmReply(errno.ENOSYS))
                continue
            try:
                reply = await handler(self, mp, m)
            except Exception as exc:
                self.bug(exc, m)
                reply = PmReply(errno.EIO)
            if mp.flags & DELAY_CALL and mp.alive:
                # A signal waited for this call to arrive; the call is in PM's hands
                # now (a blocking one has marked the process blocked): act on it.
                await signals.undelay(self, mp)
            if reply is not None:
                if mp.alive:
                    await self.reply(m.m_source, reply)
            elif not self._init_seen and mp is self.init and mp.flags & BLOCKED_IN_PM:
                # init has set itself up and waits for its children: boot is over.
                self._init_seen = True
                self.config.host.init_running.set()

    async def _other(self, m: Message) -> None:
        try:
            if isinstance(m, Notify):
                if m.m_source == SYSTEM and m.signals & (1 << SIGKSIG):
                    await forkexit.ksig(self)
                elif m.m_source == CLOCK:
                    await alarm.expired(self)
                elif m.m_source == HARDWARE:
                    await hostcalls.drain(self)
                elif m.m_source == RS_PROC_NR:
                    await hostcalls.boot_services_up(self)
            elif isinstance(m, VfsPmReply):
                await self.vfs_reply(m)
            elif isinstance(m, PmTtyQuery | PmTtySignal):
                await session.tty_request(self, m)  # drivers are not in the table
            else:
                _log.info("unknown request", mtype=m.mtype, src=m.m_source)
                await self.reply(m.m_source, PmReply(errno.ENOSYS))
        except Exception as exc:
            self.bug(exc, m)

    def bug(self, exc: BaseException, m: Message | None) -> None:
        """Record a bug in PM's own code (PM goes on)."""
        self.bugs.append(exc)
        _log.error("PM bug", mtype=None if m is None else m.mtype, error=repr(exc), exc_info=exc)

    # -- talking to processes ----------------------------------------------------------

    async def reply(self, ep: int, msg: Message) -> None:
        """Answer ``ep``, which waits in sendrec; never blocks (a gone caller is skipped)."""
        try:
            await self.proc.sendnb(ep, msg)
        except KernelError as exc:
            _log.debug("reply not delivered", dst=ep, mtype=msg.mtype, error=str(exc))

    async def vm_call(self, msg: Message) -> VmReply:
        """Send ``msg`` to VM and return its reply (an IPC failure becomes EIO)."""
        try:
            reply = await self.proc.sendrec(self.config.vm, msg)
        except KernelError as exc:
            _log.error("VM unreachable", mtype=msg.mtype, error=str(exc))
            return VmReply(errno.EIO)
        if not isinstance(reply, VmReply):
            return VmReply(getattr(reply, "status", errno.EIO))
        return reply

    async def sigsend(self, mp: MProc, sig: int) -> None:
        """Mark ``sig`` for ``mp``'s handler (ignored if the process just died)."""
        try:
            await self.proc.sigsend(mp.endpoint, sig)
        except KernelError as exc:
            _log.debug("sigsend failed", pid=mp.pid, sig=sig, error=str(exc))

    async def cpu_time(self, ep: int) -> float:
        """The CPU time (seconds) the kernel has charged ``ep``; 0 if it has no slot."""
        try:
            cpu, _uptime = await self.proc.times(ep)
        except KernelError as exc:
            _log.debug("times failed", endpoint=ep, error=str(exc))
            return 0.0
        return cpu

    async def kclear(self, ep: int) -> None:
        """Release ``ep``'s kernel slot, killing it first if it still runs."""
        try:
            await self.proc.clear(ep)
        except KernelError as exc:
            _log.debug("clear failed", endpoint=ep, error=str(exc))

    def ksending(self, mp: MProc) -> int | None:
        """Where ``mp``'s message in flight is going (not yet received), or None.

        WORKAROUND: reads the kernel's process state directly. MINIX asks the kernel
        with ``sys_delay_stop``, which fails with EBUSY while the process is sending
        and later tells PM (SIGSNDELAY) that the send is done.
        """
        p = self.proc.kernel.find(mp.endpoint)
        if p is None or not p.rts & RTS_SENDING:
            return None
        return p.sendto

    async def kstop(self, mp: MProc) -> None:
        """Keep ``mp`` from running until :meth:`kresume` (job control, unpause)."""
        try:
            await self.proc.stop(mp.endpoint)
        except KernelError as exc:
            _log.debug("stop failed", pid=mp.pid, error=str(exc))

    async def kresume(self, mp: MProc) -> None:
        """Let ``mp`` run again unless it is still stopped for another reason."""
        if mp.flags & (STOPPED | KSTOPPED):
            return
        try:
            await self.proc.resume(mp.endpoint)
        except KernelError as exc:
            _log.debug("resume failed", pid=mp.pid, error=str(exc))

    # -- VFS ---------------------------------------------------------------------------

    async def tell_vfs(
        self, mp: MProc, msg: Message, then: Callable[[int], Awaitable[None]]
    ) -> None:
        """Send VFS a notice about ``mp``; ``then(status)`` runs once VFS has answered.

        Without VFS in the boot image ``then(0)`` runs at once. Notices for one process
        go one at a time (MINIX's VFS_CALL), in order.
        """
        if self.config.vfs is None:
            await then(0)
            return
        mp.vfs_queue.append((msg, then))
        if len(mp.vfs_queue) == 1:
            await self._send_vfs(mp)

    async def _send_vfs(self, mp: MProc) -> None:
        assert self.config.vfs is not None
        msg = mp.vfs_queue[0][0]
        mp.flags |= VFS_CALL
        self.vfs_pending[mp.endpoint] = mp
        try:
            await self.proc.senda(self.config.vfs, msg)
        except KernelError as exc:
            _log.error("VFS unreachable", mtype=msg.mtype, error=str(exc))
            await self.vfs_reply(VfsPmReply(mp.endpoint, msg.mtype, errno.EIO), trusted=True)

    async def vfs_reply(self, m: VfsPmReply, *, trusted: bool = False) -> None:
        """VFS answered the notice outstanding for ``m.ep``."""
        if not trusted and m.m_source != self.config.vfs:
            _log.warning("VFS reply from someone else", src=m.m_source)
            return
        mp = self.vfs_pending.pop(m.ep, None)
        if mp is None or not mp.vfs_queue:
            _log.warning("unexpected VFS reply", ep=m.ep, call=m.call)
            return
        _msg, then = mp.vfs_queue.pop(0)
        mp.flags &= ~VFS_CALL
        mp.vfs_value = m.value
        await then(m.status)
        if mp.flags & VFS_CALL:
            pass  # ``then`` sent the next notice itself (exec's read, then exec)
        elif mp.vfs_queue:
            await self._send_vfs(mp)
        elif mp.alive:
            await signals.check_pending(self, mp)


HANDLERS: dict[type[Message], Handler] = {
    PmGetpid: getset.do_getpid,
    PmGetuid: getset.do_getuid,
    PmGetepinfo: getset.do_getepinfo,
    PmGetgid: getset.do_getgid,
    PmSetuid: getset.do_setuid,
    PmSetgid: getset.do_setgid,
    PmFork: forkexit.do_fork,
    PmExit: forkexit.do_exit,
    PmWaitpid: forkexit.do_waitpid,
    PmExec: execve.do_exec,
    PmKill: signals.do_kill,
    PmSigaction: signals.do_sigaction,
    PmSigprocmask: signals.do_sigprocmask,
    PmSigpending: signals.do_sigpending,
    PmSigsuspend: signals.do_sigsuspend,
    PmSigreturn: signals.do_sigreturn,
    PmPause: signals.do_pause,
    PmAlarm: alarm.do_alarm,
    PmSetsid: session.do_setsid,
    PmSetpgid: session.do_setpgid,
    PmGetpgid: session.do_getpgid,
    PmGetsid: session.do_getsid,
    PmProcinfo: do_procinfo,
    PmTimes: do_times,
}
"""Which function serves each request (MINIX's ``call_vec``)."""


class PmMain:
    """PM's process body: ``await pm_main(proc)``.

    Attributes:
        config: what boot said.
        pm: the running :class:`Pm`, once started (tests read its ``bugs``).
    """

    def __init__(self, config: PmConfig) -> None:
        self.config = config
        self.pm: Pm | None = None

    async def __call__(self, proc: Process) -> None:
        """Run PM as ``proc``; if PM itself dies, the host's requests fail."""
        self.pm = Pm(proc, self.config)
        try:
            await self.pm.run()
        except BaseException as exc:
            self.config.host.fail_all(
                exc if isinstance(exc, Exception) else RuntimeError("PM has stopped")
            )
            raise


def make_pm(config: PmConfig) -> PmMain:
    """PM's process body, for boot to spawn at PM_PROC_NR."""
    return PmMain(config)
