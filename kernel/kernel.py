"""The kernel: process table, the CPU, process lifecycle, timers, kernel signals.

Exactly one simulated thread holds the CPU at a time (``current``); every other one
is parked in the kernel (see :mod:`kernel.park`). A thread gives the CPU up only by
entering the kernel: at that choice point the kernel asks its policy whether the
caller goes on or which ready thread runs instead. When no thread is ready the CPU
goes to the kernel's idle task, which waits for the next alarm on the kernel clock or
for input from outside the simulation (a spawn, an interrupt), then dispatches again.

The kernel clock is uptime, as MINIX's: 0 at boot (:meth:`Kernel.__aenter__`) on every
backend, whatever the backend's own clock shows (trio's real clock starts at a random
offset, asyncio's at the host's uptime). The time of day is ``boottime + uptime``, with
``boottime`` read from the real-time clock at boot (:mod:`kernel.hw.rtc`).
Because trio never has two simulated threads to choose between, a run is a function
of the seed and the inputs alone.

Each process runs as a task in the kernel's task group, inside its own cancel scope
and task group (for its threads). An exception escaping any of its threads, or a
kill, ends that process only: the kernel clears its endpoint (partners blocked on it
get EDEADSRCDST, its queued messages are dropped) and tells its signal manager with
a SIGKSIG kernel signal, as MINIX does; the manager reads the dead endpoint with
``getksig`` and releases the slot with ``clear``.

IPC lives in :mod:`kernel.ipc`, grants and copies in :mod:`kernel.grants` and
:mod:`kernel.safecopy`; this module owns the process table and the CPU.
"""

from __future__ import annotations

import errno
import heapq
import itertools
import math
import signal
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
import structlog

from kernel import errors
from kernel.endpoint import (
    ASYNCM,
    CLOCK,
    GENERATION_SIZE,
    HARDWARE,
    IDLE,
    NONE,
    NR_PROCS,
    NR_TASKS,
    SELF,
    SYSTEM,
    endpoint_slot,
    make_endpoint,
)
from kernel.errors import KernelError
from kernel.grants import GrantTable
from kernel.hw.rtc import read_rtc
from kernel.park import NOW, parker_factory
from kernel.policy import Policy
from kernel.priv import SYSTEM_PRIV, Priv
from kernel.proc import (
    BLOCK_DEAD,
    BLOCK_KSIG,
    BLOCK_SLEEP,
    BLOCK_STOPPED,
    RTS_NO_ENDPOINT,
    Proc,
    Thread,
)

if TYPE_CHECKING:
    from kernel.hw import MMU, PhysicalMemory
    from kernel.process import Process
    from kernel.safecopy import MemRequest
    from kernel.trace import Tracer

ProcMain = Callable[["Process"], Awaitable[Any]]
"""A process body: ``async def main(proc: Process) -> object``."""

SIGKSIG = 30
"""Kernel signal to a signal manager: one of its processes has a signal (died)."""
SIGKMEM = 29
"""Kernel signal to VM: memory requests are pending."""
KSIG_ALIVE = 1
"""Bit 0 of a :meth:`Kernel.getksig` set: the process lives (its signals were raised
with :meth:`Kernel.cause_sig`); without it the process has died of those signals."""

_log = structlog.get_logger("asynix.kernel")
_SLOT_MASK = GENERATION_SIZE - 1
_NR_SLOTS = NR_TASKS + NR_PROCS
_NEVER = float("inf")


def _native_clock() -> tuple[Callable[[], float], bool]:
    """The running backend's own clock function, and whether it is virtual (MockClock).

    anyio's ``current_time`` adds a library lookup per call, and trio's its run-context
    lookup and a call through the runner; this runs on every kernel entry while alarms
    are pending, so it is the clock's own bound method (a run's clock never changes).
    Only differences of its readings matter (the kernel clock counts from boot, and the
    idle task waits for relative timeouts), so for the backends' real-time clocks it is
    the C function under them: trio's ``SystemClock`` is ``time.perf_counter`` plus a
    constant offset, asyncio's loop time ``time.monotonic``.
    """
    import sniffio

    if sniffio.current_async_library() == "trio":
        import trio
        from trio.testing import MockClock

        clock = trio.lowlevel.current_clock()
        if type(clock).__name__ == "SystemClock" and type(clock).__module__.startswith("trio"):
            return time.perf_counter, False
        return clock.current_time, isinstance(clock, MockClock)
    import asyncio

    loop = asyncio.get_running_loop()
    if type(loop).time is asyncio.BaseEventLoop.time:
        return time.monotonic, False
    return loop.time, False


class _Alarm:
    __slots__ = ("cancelled", "deadline", "proc", "seq", "thread")

    def __init__(self, deadline: float, seq: int, proc: Proc, thread: Thread | None) -> None:
        self.deadline = deadline
        self.seq = seq
        self.proc = proc
        self.thread = thread
        self.cancelled = False

    def __lt__(self, other: _Alarm) -> bool:
        return (self.deadline, self.seq) < (other.deadline, other.seq)


class Kernel:
    """The microkernel of one simulated machine.

    Use as ``async with Kernel(...) as k:``; leaving the block shuts the machine down
    (every process is cancelled).
    """

    def __init__(
        self,
        physmem: PhysicalMemory | None = None,
        mmu: MMU | None = None,
        *,
        policy: Policy | None = None,
        tracer: Tracer | None = None,
        cpu_tick: float | None = None,
        boottime: int | None = None,
    ) -> None:
        """Make a machine; ``boottime`` (Unix seconds) overrides what the RTC shows."""
        self.physmem = physmem
        self.mmu = mmu
        self.policy = policy or Policy()
        # FIFO's keep() and pick() always answer True and 0: a choice point under it
        # is no choice, so the CPU hand-offs spare the two calls. A policy that
        # overrides either (random, PCT, a test's own) is asked at every choice point.
        self._fifo = type(self.policy).keep is Policy.keep and type(self.policy).pick is Policy.pick
        self.tracer = tracer
        self._table: list[Proc | None] = [None] * (NR_TASKS + NR_PROCS)
        self._gens = [0] * (NR_TASKS + NR_PROCS)
        self.current: Thread | None = None
        self.ready: list[Thread] = []
        self._tg: anyio.abc.TaskGroup | None = None
        self._idle_parker = parker_factory()()
        self._parker_cls = parker_factory()
        self.alarms: list[_Alarm] = []
        self._proc_alarms: dict[int, _Alarm] = {}
        self._alarm_seq = itertools.count()
        self._tids = itertools.count(1)
        self._msg_ids = itertools.count(1)
        self.next_deadline = float("inf")
        self._native: Callable[[], float] = anyio.current_time
        self._t0 = 0.0
        """The backend's clock at boot: the kernel clock is the native one minus this."""
        self._rtc = None if boottime is None else math.floor(boottime)
        self.boottime = 0
        """Unix time at boot, whole seconds (MINIX's ``boottime``): set at boot from the RTC
        (:func:`kernel.hw.rtc.read_rtc`) unless given; the time of day is this plus
        :meth:`clock`."""
        self._cpu_tick = cpu_tick
        self._tick = 0.0
        self._timer_mask = 0
        """Which kernel entries check the alarms: those whose step count has no bit of the
        mask set. Every one on virtual time (0), so that alarms fire at exact, replayable
        points; every 16th on real time (15), where the clock read would cost each entry
        more than the timer's finer resolution is worth (the idle task still waits for the
        exact deadline whenever the CPU is free)."""
        self.steps = 0
        """Kernel entries (traps) so far: each costs ``cpu_tick`` of kernel time."""
        self._holder: Proc | None = None
        """The process whose thread the CPU was last handed to (None: the idle task)."""
        self._since = 0.0
        """The kernel clock at the last CPU hand-off: ``_holder`` has run since then."""
        self.vmrequests: list[MemRequest] = []
        self.vm_endpoint = NONE
        """The VM server, which kernel copies ask to make memory available."""
        for slot, name in (
            (ASYNCM, "asyncm"),
            (IDLE, "idle"),
            (CLOCK, "clock"),
            (SYSTEM, "system"),
            (HARDWARE, "kernel"),
        ):
            self._table[slot + NR_TASKS] = Proc(slot, 0, make_endpoint(0, slot), name, SYSTEM_PRIV)

    # -- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> Kernel:
        self._native, virtual = _native_clock()
        self._tick = self._cpu_tick if self._cpu_tick is not None else (1e-6 if virtual else 0.0)
        self._timer_mask = 0 if virtual else 15
        self._t0 = self._native() - self.steps * self._tick  # the clock reads 0 now
        self.boottime = read_rtc(virtual=virtual) if self._rtc is None else self._rtc
        self._tg_cm = anyio.create_task_group()
        self._tg = await self._tg_cm.__aenter__()
        self._tg.start_soon(self._idle)
        return self

    async def __aexit__(self, *exc: object) -> bool | None:
        assert self._tg is not None
        self._tg.cancel_scope.cancel()
        return await self._tg_cm.__aexit__(*exc)  # type: ignore[arg-type]

    def shutdown(self) -> None:
        """Stop the machine: cancel every process and the idle task."""
        assert self._tg is not None
        self._tg.cancel_scope.cancel()

    def clock(self) -> float:
        """The kernel clock: seconds since boot (uptime), 0 at :meth:`__aenter__`.

        The backend's clock (virtual under trio's MockClock) since boot plus the CPU time
        the simulation has used: on virtual time each kernel entry costs ``cpu_tick``
        (default 1 µs), so time moves on, and alarms fire, even while the CPU is never
        idle - as a timer interrupt would see it. On real time the tick is 0: real time
        moves by itself. Alarm deadlines are on this clock; only the idle task turns one
        into a wait on the backend's clock, as a relative timeout.
        """
        return self._native() - self._t0 + self.steps * self._tick

    # -- the process table -------------------------------------------------------------

    def proc_at(self, slot: int) -> Proc | None:
        """The occupant of ``slot`` (alive, zombie or None)."""
        return self._table[slot + NR_TASKS]

    def lookup(self, endpoint: int) -> Proc:
        """The live process named by ``endpoint``.

        Raises:
            KernelError: EDEADSRCDST when the endpoint is stale, dead or out of range.
        """
        p = self.find(endpoint)
        if p is None:
            raise KernelError(errors.EDEADSRCDST, f"no live process at endpoint {endpoint}")
        return p

    def find(self, endpoint: int) -> Proc | None:
        """Like :meth:`lookup`, but None instead of raising."""
        # endpoint_slot() inlined: this runs on every IPC.
        index = (endpoint + NR_TASKS) & _SLOT_MASK
        if index < _NR_SLOTS:
            p = self._table[index]
            if p is not None and p.endpoint == endpoint and not p.rts & RTS_NO_ENDPOINT:
                return p
        return None

    def procs(self) -> list[Proc]:
        """Every occupied user/server slot (alive or zombie), in slot order."""
        return [p for p in self._table[NR_TASKS:] if p is not None]

    def resolve(self, caller: Proc, endpoint: int) -> Proc:
        """Like :meth:`lookup`, with SELF naming ``caller``."""
        return caller if endpoint == SELF else self.lookup(endpoint)

    def _free_slot(self, slot: int | None) -> int:
        if slot is not None:
            if not 0 <= slot < NR_PROCS:
                raise KernelError(errno.EINVAL, f"bad slot {slot}")
            if self._table[slot + NR_TASKS] is not None:
                raise KernelError(errno.EBUSY, f"slot {slot} is in use")
            return slot
        for s in range(NR_PROCS):
            if self._table[s + NR_TASKS] is None:
                return s
        raise KernelError(errno.EAGAIN, "process table full")

    def spawn(
        self,
        name: str,
        main: ProcMain,
        *,
        priv: Priv = SYSTEM_PRIV,
        slot: int | None = None,
        sig_mgr: int = NONE,
        stopped: bool = False,
    ) -> Proc:
        """Create a process running ``main`` and make it ready (or, ``stopped``, not yet).

        Callable from inside the simulation (by a kernel call) and from outside it (boot,
        tests); the process first runs when the policy dispatches it. A stopped process
        exists (it has an endpoint, VM can give it an address space) but runs only after
        :meth:`resume`, as PM's fork does it.

        Raises:
            KernelError: EAGAIN when the table is full, EBUSY when ``slot`` is taken.
        """
        from kernel.process import Process

        s = self._free_slot(slot)
        gen = self._gens[s + NR_TASKS]
        p = Proc(s, gen, make_endpoint(gen, s), name, priv)
        p.sig_mgr = sig_mgr
        p.grants = GrantTable()
        self._table[s + NR_TASKS] = p
        thread = self._new_thread(p, name)
        if self.tracer is not None:
            self.tracer.event("spawn", p, endpoint=p.endpoint)
        assert self._tg is not None, "the kernel is not running"
        self._tg.start_soon(self._run_proc, p, thread, main, Process(self, p, thread), name=name)
        if stopped:
            thread.blocked |= BLOCK_STOPPED
        else:
            self.make_ready(thread)
        return p

    def exec(self, p: Proc, image: ProcMain, name: str | None = None) -> None:
        """Replace ``p``'s running code with ``image`` (PM's exec), keeping its endpoint.

        The old image's threads die where they wait (they can no longer enter the
        kernel); a new main thread, ready now, runs ``image``. ``p`` must not hold the
        CPU. IPC state is reset, as for a process that starts afresh. ``name``, when
        given, becomes the process's name (MINIX's sys_exec sets ``p_name``).
        """
        from kernel import ipc

        if p.image_scope is None or p.exec_image is not None:
            raise KernelError(errno.EINVAL, f"{p.name} has no image to replace")
        ipc.reset(self, p)
        if name is not None:
            p.name = name
        for t in p.threads:
            t.blocked |= BLOCK_DEAD
        p.threads.clear()
        self.ready = [t for t in self.ready if t.proc is not p]
        thread = self._new_thread(p, p.name)
        p.exec_image = (image, thread)
        p.image_scope.cancel()
        self.make_ready(thread)

    def fork(self, parent: Proc, sig_mgr: int) -> Proc:
        """Create a stopped child of ``parent`` that will run ``parent.fork_entry``.

        The entry is what the parent's libc left in its "registers" before asking PM to
        fork; the child gets the parent's privileges and runs once resumed.

        Raises:
            KernelError: EINVAL if the parent set no entry; EAGAIN if the table is full.
        """
        entry = parent.fork_entry
        if entry is None:
            raise KernelError(errno.EINVAL, f"{parent.name} set no fork entry")
        parent.fork_entry = None
        return self.spawn(parent.name, entry, priv=parent.priv, sig_mgr=sig_mgr, stopped=True)

    def stop(self, p: Proc) -> None:
        """Keep ``p`` from running until :meth:`resume` (PM's job control and unpause).

        Its threads stay where they wait; a thread that is woken meanwhile stays off the
        ready list until resumed. ``p`` must not hold the CPU.
        """
        for thread in p.threads:
            thread.blocked |= BLOCK_STOPPED
        if any(t.proc is p for t in self.ready):
            self.ready = [t for t in self.ready if t.proc is not p]

    def resume(self, p: Proc) -> None:
        """Let a process created stopped run."""
        for thread in p.threads:
            if thread.blocked & BLOCK_STOPPED:
                self.wake(thread, BLOCK_STOPPED)

    def _new_thread(self, p: Proc, name: str) -> Thread:
        thread = Thread(p, next(self._tids), name, self._parker_cls())
        p.threads.append(thread)
        self.policy.on_new_thread(thread)
        return thread

    async def _run_proc(self, p: Proc, thread: Thread, main: ProcMain, handle: Process) -> None:
        from kernel.process import Process

        crash: BaseException | None = None
        image: ProcMain | None = main
        with anyio.CancelScope() as scope:
            p.scope = scope
            try:
                while image is not None:
                    try:
                        async with anyio.create_task_group() as tg:
                            handle._tg = tg
                            p.image_scope = tg.cancel_scope
                            await thread.parker.park()
                            await image(handle)
                            tg.cancel_scope.cancel()
                    except Exception:
                        if p.exec_image is None:
                            raise
                        # The old image failed while being torn down for exec: irrelevant.
                    image = None
                    if p.exec_image is not None:
                        (image, thread), p.exec_image = p.exec_image, None
                        handle = Process(self, p, thread)
            except Exception as exc:
                if not self._dying(scope):
                    crash = exc
            except BaseExceptionGroup as group:
                # Threads unwinding a kill or a shutdown cannot enter the kernel any more;
                # what they raise doing so is a consequence of the cancellation, not a crash.
                if not self._dying(scope):
                    raise
                cancelled, _ = group.split(anyio.get_cancelled_exc_class())
                if cancelled is not None:
                    raise cancelled from None
        if p.alive:
            if crash is not None:
                _log.warning(
                    "process crashed",
                    proc=p.name,
                    endpoint=p.endpoint,
                    error=repr(crash),
                    exc_info=crash,
                )
                self.kill(p, signal.SIGSEGV)
            else:
                self.kill(p, 0)

    def _dying(self, scope: anyio.CancelScope) -> bool:
        assert self._tg is not None
        return scope.cancel_called or self._tg.cancel_scope.cancel_called

    async def _run_thread(self, thread: Thread, fn: Callable[[], Awaitable[Any]]) -> None:
        try:
            await thread.parker.park()
            await fn()
        finally:
            thread.blocked |= BLOCK_DEAD
            if thread in thread.proc.threads:
                thread.proc.threads.remove(thread)
            if self.current is thread:
                self.current = None
                self._dispatch()

    def start_thread(self, handle: Process, name: str, fn: Callable[[], Awaitable[Any]]) -> Thread:
        """Start another thread of ``handle``'s process running ``fn``."""
        p = handle.proc
        thread = self._new_thread(p, f"{p.name}:{name}")
        assert handle._tg is not None
        handle._tg.start_soon(self._run_thread, thread, fn, name=thread.name)
        self.make_ready(thread)
        return thread

    def kill(self, p: Proc, signo: int) -> None:
        """End process ``p`` now: clear its endpoint and cancel its threads.

        ``signo`` 0 is a normal exit. The signal manager (if any) is told with SIGKSIG and
        the slot stays a zombie until it calls :meth:`clear`; without a manager the slot
        is released at once.
        """
        if not p.alive:
            return
        from kernel import ipc

        p.rts |= RTS_NO_ENDPOINT
        if self.tracer is not None:
            self.tracer.event("exit" if signo == 0 else "crash", p, signal=signo)
        for t in p.threads:
            t.blocked |= BLOCK_DEAD
        self.ready = [t for t in self.ready if t.proc is not p]
        alarm = self._proc_alarms.pop(p.slot, None)
        if alarm is not None:
            alarm.cancelled = True
        ipc.clear_endpoint(self, p)
        if p.scope is not None:
            p.scope.cancel()
        mgr = self.find(p.sig_mgr)
        if mgr is not None:
            p.zombie = True
            p.sig_pending |= 1 << (signo or signal.SIGKILL)
            self.send_sig(mgr, SIGKSIG)
        else:
            self._release(p)
        if self.current is not None and self.current.proc is p:
            self.current = None
            self._dispatch()

    def _release(self, p: Proc) -> None:
        if self._table[p.slot + NR_TASKS] is p:
            self._table[p.slot + NR_TASKS] = None
            self._gens[p.slot + NR_TASKS] += 1  # the next occupant gets a new endpoint

    def getksig(self, mgr: Proc) -> tuple[int, int]:
        """The next (endpoint, signal set) whose manager is ``mgr``; (NONE, 0) when none.

        The set of a process that is still alive (signals raised by :meth:`cause_sig`)
        has bit 0 (:data:`KSIG_ALIVE`) set as well; the manager ends the hold on it
        with :meth:`endksig`. A dead process's set names what it died of.
        """
        for p in self._table[NR_TASKS:]:
            if p is not None and p.sig_mgr == mgr.endpoint and p.sig_pending:
                sigs, p.sig_pending = p.sig_pending, 0
                if not p.zombie:
                    sigs |= KSIG_ALIVE
                return p.endpoint, sigs
        return NONE, 0

    def cause_sig(self, p: Proc, signo: int) -> None:
        """Raise signal ``signo`` on the live process ``p`` (MINIX's sys_kill, cause_sig).

        The signal goes to ``p``'s manager with SIGKSIG, and ``p`` is held (it does not
        run, even once its current call is answered) until the manager has acted on it
        and called :meth:`endksig`, so the signal takes effect before ``p`` runs on.
        A process without a manager is left alone.
        """
        mgr = self.find(p.sig_mgr)
        if mgr is None or not p.alive:
            return
        p.sig_pending |= 1 << signo
        for thread in p.threads:
            thread.blocked |= BLOCK_KSIG
        if any(t.proc is p for t in self.ready):
            self.ready = [t for t in self.ready if t.proc is not p]
        self.send_sig(mgr, SIGKSIG)

    def endksig(self, p: Proc) -> None:
        """The manager has handled ``p``'s kernel signals: let ``p`` run (if nothing new came)."""
        if p.sig_pending:
            return
        for thread in p.threads:
            if thread.blocked & BLOCK_KSIG:
                self.wake(thread, BLOCK_KSIG)

    def clear(self, endpoint: int) -> None:
        """Release the slot of ``endpoint`` (killing it first if it still lives)."""
        slot = endpoint_slot(endpoint)
        p = self.proc_at(slot) if -NR_TASKS <= slot < NR_PROCS else None
        if p is None or p.endpoint != endpoint or slot < 0:
            raise KernelError(errors.EDEADSRCDST, f"no process at endpoint {endpoint}")
        if p.alive:
            sig_mgr, p.sig_mgr = p.sig_mgr, NONE
            self.kill(p, signal.SIGKILL)
            p.sig_mgr = sig_mgr
        self._release(p)

    def send_sig(self, p: Proc, signo: int) -> None:
        """Raise kernel signal ``signo`` on system process ``p`` (a notify from SYSTEM)."""
        from kernel import ipc

        p.ksigs |= 1 << signo
        ipc.notify_from(self, self._table[SYSTEM + NR_TASKS], p)  # type: ignore[arg-type]

    # -- the CPU -----------------------------------------------------------------------

    def make_ready(self, thread: Thread) -> None:
        """Put a runnable thread on the ready list; wake the idle task if the CPU is free."""
        self.ready.append(thread)
        if self.current is None:
            self._idle_parker.unpark()

    def _dispatch(self) -> None:
        """Hand the free CPU to the next ready thread, or to the idle task.

        CPU accounting happens here, the one place the CPU changes hands: the kernel
        clock's time since the last hand-off goes to the process that held the CPU
        (:attr:`Proc.cpu_time`); the idle task's goes to no one.
        """
        now = self._native() - self._t0 + self.steps * self._tick  # clock() inlined
        held = self._holder
        if held is not None:
            held.cpu_time += now - self._since
        self._since = now
        if self.ready:
            nxt = self.ready.pop(0 if self._fifo else self.policy.pick(self.ready))
            self.current = nxt
            self._holder = nxt.proc
            if self.tracer is not None:
                self.tracer.switch(nxt)
            nxt.parker.unpark()
        else:
            self.current = None
            self._holder = None
            if self.tracer is not None:
                self.tracer.switch(None)
            self._idle_parker.unpark()

    def occupant(self, endpoint: int) -> Proc:
        """The process at ``endpoint``, alive or a zombie whose slot is not yet cleared.

        Raises:
            KernelError: EDEADSRCDST when no such process occupies the slot.
        """
        slot = endpoint_slot(endpoint)
        p = self.proc_at(slot) if -NR_TASKS <= slot < NR_PROCS else None
        if p is None or p.endpoint != endpoint:
            raise KernelError(errors.EDEADSRCDST, f"no process at endpoint {endpoint}")
        return p

    def cpu_time(self, p: Proc) -> float:
        """``p``'s CPU time so far: its charged time, plus the running slice if it holds the CPU."""
        if p is self._holder:
            return p.cpu_time + self.clock() - self._since
        return p.cpu_time

    def trap(self) -> None:
        """Account for one kernel entry: it costs CPU time and may expire alarms."""
        self.steps += 1
        if self.alarms and not self.steps & self._timer_mask and self.next_deadline <= self.clock():
            self.fire_alarms()

    def yield_cpu(self, thread: Thread) -> Awaitable[None]:
        """A choice point for the running, still runnable ``thread``: await the result.

        The policy decides whether it goes on or another ready thread runs first. It
        usually goes on (it ends every kernel call), so that case makes no coroutine.
        """
        if not self.ready or self._fifo or self.policy.keep(thread, self.ready):
            return NOW
        self.ready.append(thread)
        self._dispatch()
        return self.wait_cpu(thread)

    async def block(self, thread: Thread) -> None:
        """``thread`` (the running one) has just blocked: run someone else until it is woken.

        IPC's receive has this inlined (``_dispatch()``, then the park below).
        """
        self._dispatch()
        try:  # wait_cpu() inlined
            await thread.parker.park()
        except BaseException:
            self.abandon_cpu(thread)
            raise

    async def wait_cpu(self, thread: Thread) -> None:
        """Park ``thread`` until the kernel dispatches it."""
        try:
            await thread.parker.park()
        except BaseException:
            self.abandon_cpu(thread)
            raise

    def abandon_cpu(self, thread: Thread) -> None:
        """``thread``'s wait for the CPU ended in an exception (it is being cancelled).

        If the kernel had already handed it the CPU, the CPU goes on to the next ready
        thread instead, so that no one is left holding it.
        """
        if self.current is thread:
            self.current = None
            self._dispatch()

    def wake(self, thread: Thread, flag: int, value: object = None) -> None:
        """Clear block reason ``flag`` on ``thread``; if runnable now, make it ready."""
        thread.blocked &= ~flag
        if value is not None:  # a resume must not clobber what an IPC or VM wake left
            thread.wake_value = value
        if not thread.blocked:
            self.make_ready(thread)

    async def _idle(self) -> None:
        """The idle task: runs only while no simulated thread holds the CPU.

        It waits for the next alarm on the backend's clock, with a timeout relative to
        now (the kernel clock and the backend's differ by the boot offset). When that
        timeout expires the timer interrupt has come: the alarms due by the deadline it
        waited for fire, even if the kernel clock, recomputed from the backend's, falls
        short of it by a rounding error. (Recomputing alone can busy-loop: with the two
        clocks of different magnitudes, a gap of less than one ulp of the backend's clock
        is positive on the kernel clock but an already expired timeout on the backend's.)
        """
        interrupt = -_NEVER  # the deadline of the timed wait that has just expired
        while True:
            if self.current is None:
                if self.next_deadline <= max(self.clock(), interrupt):
                    self.fire_alarms(interrupt)
                if self.ready:
                    self._dispatch()
            interrupt = -_NEVER
            if self.current is not None or self.next_deadline == _NEVER:
                await self._idle_parker.park()
            else:
                deadline = self.next_deadline
                with anyio.move_on_after(deadline - self.clock()) as timer:
                    await self._idle_parker.park()
                if timer.cancelled_caught:
                    interrupt = deadline

    def interrupt(self, irq: int, proc: Proc) -> None:
        """Hardware raises ``irq`` for driver ``proc`` (a notify from HARDWARE)."""
        from kernel import ipc

        ipc.raise_irq(self, proc, irq)

    # -- alarms ------------------------------------------------------------------------

    def set_alarm(self, p: Proc, deadline: float | None, thread: Thread | None = None) -> float:
        """Set (or with None cancel) ``p``'s alarm; returns seconds left on the old one.

        On expiry ``p`` gets a notification from CLOCK, or, when ``thread`` is given, that
        sleeping thread is woken instead.
        """
        old = self._proc_alarms.pop(p.slot, None) if thread is None else None
        left = 0.0
        if old is not None:
            old.cancelled = True
            left = max(0.0, old.deadline - self.clock())
        if deadline is not None:
            alarm = _Alarm(deadline, next(self._alarm_seq), p, thread)
            if thread is None:
                self._proc_alarms[p.slot] = alarm
            heapq.heappush(self.alarms, alarm)
            self.next_deadline = self.alarms[0].deadline
            if self.current is None:
                self._idle_parker.unpark()
        return left

    def fire_alarms(self, due: float = -_NEVER) -> None:
        """Expire every alarm whose deadline has passed on the kernel clock (or is ``due``).

        Args:
            due: the deadline of the timer interrupt that has just come (the idle task's
                expired wait): alarms up to it fire even if the clock reads a hair less.
        """
        from kernel import ipc

        now = max(self.clock(), due)
        clock = self._table[CLOCK + NR_TASKS]
        assert clock is not None
        while self.alarms and self.alarms[0].deadline <= now:
            alarm = heapq.heappop(self.alarms)
            if alarm.cancelled or not alarm.proc.alive:
                continue
            if alarm.thread is not None:
                self.wake(alarm.thread, BLOCK_SLEEP)
            else:
                if self._proc_alarms.get(alarm.proc.slot) is alarm:
                    del self._proc_alarms[alarm.proc.slot]
                ipc.notify_from(self, clock, alarm.proc)
        while self.alarms and self.alarms[0].cancelled:
            heapq.heappop(self.alarms)
        self.next_deadline = self.alarms[0].deadline if self.alarms else _NEVER

    def new_msg_id(self) -> int:
        """A fresh id tying a send to its delivery in the trace."""
        return next(self._msg_ids)


__all__ = ["SIGKMEM", "SIGKSIG", "Kernel"]
