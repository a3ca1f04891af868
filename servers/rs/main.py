"""RS's main loop: start the services, watch them, restart the ones that die.

Boot spawns ``make_rs(config)`` at slot RS_PROC_NR. RS is single-threaded; it blocks
only in kernel IPC and never waits for a service: it talks to services with ``senda``
and ``notify`` only, and waits in ``sendrec`` for DS alone (DS never waits for
anyone). What it receives:

- control requests (``RsUp``, ``RsDown``, ``RsRestart``, ``RsRefresh``, ``RsUpdate``,
  ``RsLookup``); the ones that start an instance are answered once its
  initialisation is over;
- ``RsInitReply`` from a starting instance (the SEF handshake, :mod:`servers.rs.sef`)
  and ``RsAlive`` from a running one (its heartbeat answer);
- a notification from SYSTEM carrying SIGKSIG: a service died (a fault, an exit, or
  RS's own kill of a hung one); RS is the signal manager of every instance it starts;
- a notification from CLOCK: the heartbeat period has passed;
- a notification from HARDWARE: the host put requests in RS's mailbox.

**Boot.** RS starts every service of its table marked ``boot``; once the start of
each one is over (up, or given up on: a failed, crashed or timed-out init is not
retried), it notifies PM, which lets init run only then (MINIX's RS allows init to run
with ``SYS_PRIV_ALLOW`` from its boot-image loop), and sets the host's
``services_up``. So nothing in userland runs before the boot drivers are mapped, and a
driver that never comes up delays init by at most ``init_timeout`` plus a period.

**Starting an instance.** RS spawns it (the kernel gives it a fresh endpoint: a slot
reused after ``clear`` has a new generation), sends it ``RsInit(init_type, label,
state_key)`` and waits, without blocking, for ``RsInitReply``. On success it publishes
the label in DS (``DsPublishLabel``) and, for a character driver, tells VFS the new
endpoint of its major (``VfsMapdriver``). An init that fails, crashes or does not
answer within ``init_timeout`` is not retried: the service goes down.

**A death.** RS reads ``(endpoint, signals)`` with ``getksig``, tells VFS
(``VfsServiceDown``), releases the slot (``clear``) and restarts the service with
SEF_INIT_RESTART and ``state_key`` naming the DS blob its previous instance may have
saved (:func:`state_key`). The first crash restarts at once; each further crash of an
instance that ran for less than ``stable_periods`` doubles the wait, counted in
heartbeat ticks: 1, 2, 4, ... periods, at most ``max_backoff``.

**Heartbeats.** Every ``period`` seconds of kernel time RS notifies each running
service; a service that has not answered with ``RsAlive`` for more than two periods
is hung: RS kills it and it restarts as after a crash.
"""

from __future__ import annotations

import errno
import signal
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import structlog

from kernel.com import DS_PROC_NR, LAST_SPECIAL_PROC_NR, PM_PROC_NR, VFS_PROC_NR
from kernel.endpoint import ANY, CLOCK, HARDWARE, NONE, NR_PROCS, SYSTEM, endpoint_slot
from kernel.errors import KernelError
from kernel.kernel import KSIG_ALIVE, SIGKSIG
from kernel.message import Message, Notify
from servers.ds.protocol import DSF_OVERWRITE, DsDelete, DsPublishLabel, DsReply
from servers.pm.protocol import PmGetepinfo, PmReply
from servers.rs.host import KillServiceRequest, RsHostMailbox
from servers.rs.protocol import (
    SEF_INIT_FRESH,
    SEF_INIT_LU,
    SEF_INIT_RESTART,
    RsAlive,
    RsDown,
    RsInit,
    RsInitReply,
    RsLookup,
    RsRefresh,
    RsReply,
    RsRestart,
    RsUp,
    RsUpdate,
    state_key,
)
from vfs.protocol import VfsMapdriver, VfsServiceDown

if TYPE_CHECKING:
    from collections.abc import Sequence

    from kernel.process import Process
    from servers.rs.service import ServiceSpec

_log = structlog.get_logger("asynix.rs")
_Control = RsUp | RsDown | RsRestart | RsRefresh | RsUpdate | RsLookup

DOWN: Final = "down"
"""Not running and not to be restarted (never started, stopped, or given up on)."""
STARTING: Final = "starting"
"""Spawned; RS waits for its RsInitReply."""
RUNNING: Final = "running"
"""Initialised, published, watched by heartbeats."""
BACKOFF: Final = "backoff"
"""Crashed; its restart waits for ``backoff`` more heartbeat ticks."""


@dataclass
class RsConfig:
    """What boot tells RS.

    Attributes:
        services: the service table.
        host: the host mailbox (``System.kill_service``), or None.
        period: the heartbeat period, in seconds of kernel time.
        init_timeout: how long an instance may take to answer RsInit.
        stable_periods: an instance that ran at least this many periods before
            crashing starts a new crash count (its restart is immediate again).
        max_backoff: the longest wait before a restart, in periods.
        ds: DS's endpoint (None: no DS, labels are not published).
        vfs: VFS's endpoint (None: no VFS, majors are not mapped).
        pm: PM's endpoint, notified once the boot services are up so that it lets
            init run (None: no PM to tell).
    """

    services: Sequence[ServiceSpec] = ()
    host: RsHostMailbox | None = None
    period: float = 1.0
    init_timeout: float = 4.0
    stable_periods: int = 10
    max_backoff: int = 32
    ds: int | None = DS_PROC_NR
    vfs: int | None = VFS_PROC_NR
    pm: int | None = PM_PROC_NR


@dataclass(eq=False)
class Rproc:
    """RS's record of one service (MINIX's ``struct rproc``).

    Attributes:
        spec: its row of the service table.
        state: DOWN, STARTING, RUNNING or BACKOFF.
        endpoint: the current instance's endpoint (NONE when none).
        body: the current instance's process body (tests read its state).
        init_type: the SEF init type the current instance was started with.
        started: kernel time the current instance finished initialising.
        alive: kernel time of its last sign of life (init, RsAlive).
        crashes: consecutive crashes (reset after a stable run).
        backoff: heartbeat ticks left before the pending restart.
        lu_old: during a live update, the stopped old instance (else NONE).
        slot: the slot of the last instance (a restart reuses it, with a new generation).
        waiters: endpoints whose request is answered when the start completes.
        host_kills: ``kill_service`` requests that wait for the start to complete.
        last_status: how the last start ended (0, or an errno).
        history: ``(time, event, endpoint, detail)`` for every start, death and
            give-up, oldest first (for tests and the curious).
    """

    spec: ServiceSpec
    state: str = DOWN
    endpoint: int = NONE
    body: Any = None
    init_type: int = SEF_INIT_FRESH
    started: float = 0.0
    alive: float = 0.0
    crashes: int = 0
    backoff: int = 0
    lu_old: int = NONE
    slot: int | None = None
    waiters: list[int] = field(default_factory=list)
    host_kills: list[KillServiceRequest] = field(default_factory=list)
    last_status: int = 0
    history: list[tuple[float, str, int, int]] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The service's label."""
        return self.spec.label


class Rs:
    """RS's state and operations."""

    def __init__(self, proc: Process, config: RsConfig) -> None:
        self.proc = proc
        self.config = config
        self.services: dict[str, Rproc] = {}
        for spec in config.services:
            self.services.setdefault(spec.label, Rproc(spec))
        self.bugs: list[BaseException] = []
        self._boot_pending: set[str] = set()
        self._boot_done = False

    # -- the loop ----------------------------------------------------------------------

    async def run(self) -> None:
        """Start the boot services, then serve forever."""
        await self.proc.setalarm(self.config.period)
        for rp in self.services.values():
            if rp.spec.boot:
                self._boot_pending.add(rp.label)
                await self.start(rp, SEF_INIT_FRESH)
        await self._check_boot()
        while True:
            m = await self.proc.receive(ANY)
            try:
                await self.dispatch(m)
            except Exception as exc:
                self.bugs.append(exc)
                _log.error("RS bug", mtype=m.mtype, error=repr(exc), exc_info=exc)

    async def dispatch(self, m: Message) -> None:
        """Act on one received message."""
        if isinstance(m, Notify):
            if m.m_source == SYSTEM and m.signals & (1 << SIGKSIG):
                await self.reap()
            elif m.m_source == CLOCK:
                await self.tick()
            elif m.m_source == HARDWARE:
                await self.drain_host()
            return
        if isinstance(m, RsInitReply):
            await self.init_reply(m)
        elif isinstance(m, RsAlive):
            rp = self.by_endpoint(m.m_source)
            if rp is not None and rp.state == RUNNING:
                rp.alive = self.proc.now()
        elif isinstance(m, _Control):
            status, value = await self.request(m)
            if status != _DEFERRED:
                await self.reply(m.m_source, RsReply(status, value))
        elif m.m_source not in (self.config.vfs, self.config.ds):
            await self.reply(m.m_source, RsReply(errno.ENOSYS))
        # else: an answer from VFS or DS to something RS sent without waiting

    async def reply(self, ep: int, msg: Message) -> None:
        """Answer ``ep``, which waits in sendrec; never blocks (a gone caller is skipped)."""
        try:
            await self.proc.sendnb(ep, msg)
        except KernelError as exc:
            _log.debug("reply not delivered", dst=ep, error=str(exc))

    def by_endpoint(self, ep: int) -> Rproc | None:
        """The service whose current instance is ``ep``."""
        for rp in self.services.values():
            if rp.endpoint == ep and rp.state in (STARTING, RUNNING):
                return rp
        return None

    # -- control requests --------------------------------------------------------------

    async def _root(self, ep: int) -> bool:
        """Whether user process ``ep`` runs as root (asks PM: MINIX's getnuid)."""
        try:
            r = await self.proc.sendrec(PM_PROC_NR, PmGetepinfo(ep))
        except KernelError:
            return False
        return isinstance(r, PmReply) and r.status == 0 and r.value2 == 0

    async def request(self, m: _Control) -> tuple[int, int]:
        """Serve a control request; returns (status, value) or (_DEFERRED, 0)."""
        if not isinstance(m.label, str):
            return errno.EINVAL, 0
        rp = self.services.get(m.label)
        if isinstance(m, RsLookup):
            if rp is None or rp.state != RUNNING:
                return errno.ESRCH, 0
            return 0, rp.endpoint
        try:
            _name, system = await self.proc.getinfo(m.m_source)
        except KernelError:
            return errno.ESRCH, 0
        if not system and not await self._root(m.m_source):
            return errno.EPERM, 0
        if rp is None:
            return errno.ESRCH, 0
        if isinstance(m, RsDown):
            if rp.state == DOWN:
                return errno.ESRCH, 0
            await self.stop(rp)
            return 0, 0
        if rp.state == STARTING:
            return errno.EBUSY, 0
        if isinstance(m, RsUp):
            if rp.state != DOWN:
                return errno.EBUSY, 0
            rp.crashes = 0
            return await self._start_for(rp, m.m_source, SEF_INIT_FRESH)
        if rp.state == DOWN:
            return errno.ESRCH, 0
        if isinstance(m, RsUpdate):
            if rp.state != RUNNING:
                return errno.ESRCH, 0
            return await self.update(rp, m.m_source)
        # RsRestart, RsRefresh: the current instance (if any) goes, a new one comes.
        if rp.state == RUNNING:
            await self.retire(rp.endpoint)
            rp.endpoint = NONE
        if isinstance(m, RsRefresh):
            await self.ds_call(DsDelete(state_key(rp.label)))
            return await self._start_for(rp, m.m_source, SEF_INIT_FRESH)
        return await self._start_for(rp, m.m_source, SEF_INIT_RESTART)

    async def _start_for(self, rp: Rproc, caller: int, init_type: int) -> tuple[int, int]:
        rp.waiters.append(caller)
        await self.start(rp, init_type)
        return _DEFERRED, 0

    async def stop(self, rp: Rproc) -> None:
        """Take ``rp`` down for good: kill its instance, unpublish its label."""
        if rp.state in (STARTING, RUNNING):
            await self.retire(rp.endpoint)
        if rp.lu_old != NONE:
            old, rp.lu_old = rp.lu_old, NONE
            await self.retire(old)
        rp.history.append((self.proc.now(), "down", rp.endpoint, 0))
        rp.state, rp.endpoint = DOWN, NONE
        await self.ds_call(DsDelete(rp.label))
        if rp.waiters:
            await self.finish(rp, errno.ECANCELED)

    async def update(self, rp: Rproc, caller: int) -> tuple[int, int]:
        """Live update: stop the old instance, start a new one that takes its state.

        The old instance is stopped (not killed) until the new one has initialised, so
        it cannot change the state being handed over, and it runs on if the new one
        fails (rollback). Once the new one is up the old one is killed, not counted as a
        crash.
        """
        old = rp.endpoint
        try:
            await self.proc.stop(old)
        except KernelError:
            return errno.ESRCH, 0
        rp.lu_old = old
        rp.waiters.append(caller)
        await self.start(rp, SEF_INIT_LU)
        return _DEFERRED, 0

    # -- starting an instance -------------------------------------------------------------

    async def start(self, rp: Rproc, init_type: int) -> None:
        """Spawn a new instance of ``rp`` and send it RsInit; its reply completes the start."""
        now = self.proc.now()
        prefer = rp.slot if rp.slot is not None else rp.spec.slot
        rp.endpoint = NONE
        try:
            body = rp.spec.factory()
            ep = await self._spawn(rp, body, prefer)
        except Exception as exc:  # a factory that fails, a full process table
            _log.error("cannot start service", label=rp.label, error=repr(exc))
            code = exc.errno if isinstance(exc, OSError) and exc.errno else errno.EIO
            await self.start_failed(rp, code)
            return
        rp.body, rp.endpoint, rp.state, rp.init_type = body, ep, STARTING, init_type
        rp.slot = endpoint_slot(ep)
        rp.started = now  # until init is done: the init deadline counts from here
        rp.history.append((now, "start", ep, init_type))
        key = "" if init_type == SEF_INIT_FRESH else state_key(rp.label)
        _log.info("starting service", label=rp.label, endpoint=ep, init_type=init_type)
        try:
            await self.proc.senda(ep, RsInit(init_type, rp.label, key))
        except KernelError:
            pass  # it died already: its SIGKSIG fails the start

    async def _spawn(self, rp: Rproc, body: Any, prefer: int | None) -> int:  # noqa: ANN401
        """Spawn ``body`` in slot ``prefer`` if free, else in the first free slot above init.

        The slots up to LAST_SPECIAL_PROC_NR belong to the boot image (init among them,
        which PM may not have started yet).
        """
        candidates = [] if prefer is None else [prefer]
        candidates += range(LAST_SPECIAL_PROC_NR + 1, NR_PROCS)
        for slot in candidates:
            try:
                return await self.proc.spawn(rp.label, body, priv=rp.spec.priv, slot=slot)
            except KernelError as exc:
                if exc.errno != errno.EBUSY:
                    raise
        raise KernelError(errno.EAGAIN, "process table full")

    async def init_reply(self, m: RsInitReply) -> None:
        """A starting instance answered RsInit."""
        rp = self.by_endpoint(m.m_source)
        if rp is None or rp.state != STARTING:
            return
        status = m.status if isinstance(m.status, int) and not isinstance(m.status, bool) else 0
        if status:
            await self.retire(rp.endpoint)
            await self.start_failed(rp, status)
            return
        now = self.proc.now()
        rp.state, rp.started, rp.alive = RUNNING, now, now
        rp.history.append((now, "up", rp.endpoint, rp.init_type))
        if rp.lu_old != NONE:  # the old instance goes before the new one is announced
            old, rp.lu_old = rp.lu_old, NONE
            await self.retire(old)
        await self.ds_call(DsPublishLabel(rp.label, rp.endpoint, DSF_OVERWRITE))
        if rp.spec.major is not None:
            await self.tell_vfs(VfsMapdriver(rp.label, rp.spec.major, rp.endpoint))
        await self.finish(rp, 0)

    async def start_failed(self, rp: Rproc, status: int) -> None:
        """A start did not complete: roll a live update back, or give the service up."""
        now = self.proc.now()
        rp.history.append((now, "failed", rp.endpoint, status))
        _log.warning("service failed to start", label=rp.label, status=status)
        if rp.lu_old != NONE:
            old, rp.lu_old = rp.lu_old, NONE
            try:
                await self.proc.resume(old)
                rp.endpoint, rp.state, rp.alive = old, RUNNING, now
            except KernelError:
                rp.endpoint, rp.state = NONE, DOWN
        else:
            rp.endpoint, rp.state = NONE, DOWN
            await self.ds_call(DsDelete(rp.label))
        await self.finish(rp, status)

    async def finish(self, rp: Rproc, status: int) -> None:
        """A start is over: answer who asked for it, and maybe end boot."""
        rp.last_status = status
        waiters, rp.waiters = rp.waiters, []
        for ep in waiters:
            await self.reply(ep, RsReply(status, rp.endpoint if status == 0 else 0))
        kills, rp.host_kills = rp.host_kills, []
        for req in kills:
            await self.host_kill(rp, req)
        self._boot_pending.discard(rp.label)
        await self._check_boot()

    async def _check_boot(self) -> None:
        """Once every boot service's start is over (up or given up on), say so, once.

        PM holds init until RS's notification (MINIX's RS lets init run with
        ``sys_privctl(INIT, SYS_PRIV_ALLOW)`` only from its boot-image loop). Each
        driver's ``VfsMapdriver`` was queued for VFS before this notification, and VFS
        takes queued asynchronous messages before any caller's request, so init's first
        program finds every boot driver mapped. The host's ``services_up`` is set too.
        """
        if self._boot_done or self._boot_pending:
            return
        self._boot_done = True
        _log.info(
            "boot services started",
            up=sorted(label for label, rp in self.services.items() if rp.state == RUNNING),
            down=sorted(label for label, rp in self.services.items() if rp.state == DOWN),
        )
        if self.config.pm is not None:
            try:
                await self.proc.notify(self.config.pm)
            except KernelError as exc:
                _log.debug("PM unreachable", error=str(exc))  # booted without PM (tests)
        host = self.config.host
        if host is not None:
            host.services_up.set()

    # -- deaths ------------------------------------------------------------------------

    async def retire(self, ep: int) -> None:
        """End instance ``ep`` on purpose (not a crash): kill it, tell VFS, free its slot."""
        try:
            await self.proc.kill(ep, signal.SIGKILL)
        except KernelError:
            pass  # it died on its own meanwhile: it is a zombie, cleared below
        await self.tell_vfs(VfsServiceDown(ep))
        try:
            await self.proc.clear(ep)
        except KernelError:
            pass

    async def reap(self) -> None:
        """SIGKSIG: collect every dead instance and decide what follows."""
        while True:
            ep, sigs = await self.proc.getksig()
            if ep == NONE:
                return
            if sigs & KSIG_ALIVE:
                # A signal raised on a live service (sys_kill by another server): only RS
                # decides a service's fate, so it is ignored and the service runs on.
                try:
                    await self.proc.endksig(ep)
                except KernelError:
                    pass
                continue
            rp = self.by_endpoint(ep)
            await self.tell_vfs(VfsServiceDown(ep))
            try:
                await self.proc.clear(ep)
            except KernelError:
                pass
            if rp is None:
                for other in self.services.values():
                    if other.lu_old == ep:  # the stopped old instance of a live update
                        other.lu_old = NONE
                continue
            rp.history.append((self.proc.now(), "died", ep, sigs))
            _log.warning("service died", label=rp.label, endpoint=ep, signals=sigs)
            if rp.state == STARTING:
                await self.start_failed(rp, errno.EIO)
            else:
                await self.crashed(rp)

    async def crashed(self, rp: Rproc) -> None:
        """A running instance died unasked: restart it, at once or after a backoff."""
        if not rp.spec.restart:
            rp.state, rp.endpoint = DOWN, NONE
            await self.ds_call(DsDelete(rp.label))
            return
        now = self.proc.now()
        if now - rp.started >= self.config.stable_periods * self.config.period:
            rp.crashes = 0
        rp.crashes += 1
        if rp.crashes == 1:
            await self.start(rp, SEF_INIT_RESTART)
            return
        rp.state = BACKOFF
        rp.backoff = min(1 << (rp.crashes - 2), self.config.max_backoff)

    # -- the heartbeat period ------------------------------------------------------------

    async def tick(self) -> None:
        """One heartbeat period: ping, find the hung, time out inits, count down backoffs."""
        now = self.proc.now()
        period = self.config.period
        await self.proc.setalarm(period)
        for rp in list(self.services.values()):
            if rp.state == RUNNING:
                if now - rp.alive > 2 * period:
                    _log.warning("service hung", label=rp.label, endpoint=rp.endpoint)
                    rp.history.append((now, "hung", rp.endpoint, 0))
                    try:
                        await self.proc.kill(rp.endpoint, signal.SIGKILL)  # reaped as a crash
                    except KernelError:
                        pass
                    continue
                try:
                    await self.proc.notify(rp.endpoint)
                except KernelError:
                    pass  # dead: its SIGKSIG is on the way
            elif rp.state == STARTING and now - rp.started > self.config.init_timeout:
                await self.retire(rp.endpoint)
                await self.start_failed(rp, errno.ETIMEDOUT)
            elif rp.state == BACKOFF:
                rp.backoff -= 1
                if rp.backoff <= 0:
                    await self.start(rp, SEF_INIT_RESTART)

    # -- DS, VFS, the host -------------------------------------------------------------

    async def ds_call(self, msg: Message) -> int:
        """Send ``msg`` to DS and return its status (DS absent: ENOSYS, logged)."""
        if self.config.ds is None:
            return errno.ENOSYS
        try:
            reply = await self.proc.sendrec(self.config.ds, msg)
        except KernelError as exc:
            _log.debug("DS unreachable", mtype=msg.mtype, error=str(exc))
            return errno.ENOSYS
        return reply.status if isinstance(reply, DsReply) else errno.EIO

    async def tell_vfs(self, msg: VfsMapdriver | VfsServiceDown) -> None:
        """Tell VFS without waiting (VFS may be waiting on the service itself)."""
        if self.config.vfs is None:
            return
        try:
            await self.proc.senda(self.config.vfs, msg)
        except KernelError as exc:
            _log.debug("VFS unreachable", mtype=msg.mtype, error=str(exc))

    async def drain_host(self) -> None:
        """Answer the host's requests."""
        host = self.config.host
        while host is not None and host.requests:
            req = host.requests.popleft()
            if isinstance(req, KillServiceRequest):
                rp = self.services.get(req.label)
                if rp is not None and rp.state == STARTING:
                    rp.host_kills.append(req)  # a crash in init would take it down for good
                else:
                    await self.host_kill(rp, req)
            else:
                req.answer(error=ValueError(f"unknown request {type(req).__name__}"))

    async def host_kill(self, rp: Rproc | None, req: KillServiceRequest) -> None:
        """Crash ``rp``'s running instance for the host, as a fault would (SIGSEGV)."""
        if rp is None or rp.state != RUNNING:
            req.answer(error=OSError(errno.ESRCH, f"no running service {req.label!r}"))
            return
        try:
            await self.proc.kill(rp.endpoint, signal.SIGSEGV)  # reaped as a crash
        except KernelError as exc:
            req.answer(error=OSError(errno.ESRCH, str(exc)))
            return
        req.answer(rp.endpoint)


_DEFERRED: Final = -1
"""A request status meaning: the answer comes later (when the start completes)."""


class RsMain:
    """RS's process body: ``await rs_main(proc)``.

    Attributes:
        config: what boot said.
        rs: the running :class:`Rs`, once started (tests read its ``services``).
    """

    def __init__(self, config: RsConfig) -> None:
        self.config = config
        self.rs: Rs | None = None

    @property
    def host(self) -> RsHostMailbox | None:
        """The host mailbox (``System.kill_service`` posts there)."""
        return self.config.host

    async def __call__(self, proc: Process) -> None:
        """Run RS as ``proc``; if RS itself dies, the host's requests fail."""
        self.rs = Rs(proc, self.config)
        try:
            await self.rs.run()
        except BaseException as exc:
            if self.config.host is not None:
                self.config.host.fail_all(
                    exc if isinstance(exc, Exception) else RuntimeError("RS has stopped")
                )
            raise


def make_rs(config: RsConfig) -> RsMain:
    """RS's process body, for boot to spawn at RS_PROC_NR."""
    return RsMain(config)
