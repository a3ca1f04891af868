"""The character-driver framework (MINIX's libchardriver, with coroutines).

A driver is a subclass of :class:`Driver` with async callbacks; :func:`run` turns a
factory of such drivers into a process body that RS starts. The body:

1. waits for RS's :class:`~servers.rs.protocol.RsInit` (SEF), fetches the state saved
   in DS for a restart or a live update, runs ``init_fresh`` / ``init_restart`` /
   ``init_lu``, answers RS, then announces ``drv.chr.<label>`` = DS_DRIVER_UP
   (except on a live update, which keeps the open minors);
2. receives for ever on its main thread: RS's heartbeats are answered, CLOCK and
   HARDWARE notifications go to :meth:`Driver.alarm` / :meth:`Driver.intr`, and each
   CDEV request is dispatched.

Open, close, select and cancel run on the main thread, and so do the reads, writes and
ioctls whose callback is marked :func:`never_waits` (MINIX's libchardriver runs every
callback that way: it has one thread). Other reads, writes and ioctls run on
a pool of long-lived request threads (MINIX drivers keep a fixed set of worker threads
too): the main thread queues each request and signals an idle pool thread; it starts
one more (``Process.start_thread``) only when no pool thread would come back for the
request by itself (every one is busy and some wait inside requests), and so does a
request that starts waiting. A request that must wait therefore just awaits
:meth:`Driver.wait` on a condition while the main thread keeps receiving and other
requests are served. Only one thread of a process may block in IPC, and the
main thread is always receiving: every reply therefore leaves with ``senda`` (or
``sendnb`` when the request came by ``sendrec``), never a blocking send.

Callbacks run as a monitor: the framework holds :attr:`Driver.lock` (a kernel mutex)
around every callback, and :meth:`Driver.wait` releases it while waiting (a pool thread
holds it from taking a request, through the reply, until it waits for the next one on
a condition of that same lock, so taking work costs no extra lock; a
:func:`never_waits` callback skips it while no pool thread exists, since no other
thread could contend). A driver's state therefore changes only between its own awaits
on a copy or a wait, never behind its back, and a wake-up cannot be lost between
testing a predicate and waiting.

Cancellation (CDEV_CANCEL) is deterministic and goes through the kernel: the request
is marked cancelled and the condition it waits on is broadcast; its
:meth:`Driver.wait` then raises :class:`Cancelled` and the framework answers the
request with the bytes it moved (its grant's ``moved``) or EINTR. A request that is
not waiting finishes normally, and its reply is the cancel's answer (MINIX's rule).
A non-blocking request (CDEV_NONBLOCK) that would wait gets EAGAIN (or its partial
count) the same way. A :func:`never_waits` callback that calls :meth:`Driver.wait`
anyway is a driver bug: the wait raises at once, the request fails with EIO and the
framework logs an error (the main thread must never wait inside a request).

MINIX's rules kept: requests other than open for a minor not opened since the
(re)start are dropped with no reply; a CDEV_CLONED open marks the new minor open;
missing callbacks default to OK (open, close), EIO (read, write), ENOTTY (ioctl),
EBADF (select). Statuses are byte counts, 0, or negative errnos; a callback may also
raise ``OSError(errno, ...)``.

Fault injection (:class:`Faults`) makes a driver crash at a chosen point, for tests and
the fuzzer: a crash is an exception escaping the process, which the kernel reports to
RS as a death.
"""

from __future__ import annotations

import contextvars
import errno
import random
import struct
from collections import deque
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from chardev.grant import Grant
from chardev.protocol import (
    CDEV_CLONED,
    CDEV_MINOR_MASK,
    CDEV_NONBLOCK,
    CDEV_NOTIFY,
    CDEV_OP_ERR,
    CDEV_OP_RD,
    CDEV_OP_WR,
    CdevCancel,
    CdevClose,
    CdevIoctl,
    CdevOpen,
    CdevRead,
    CdevReply,
    CdevSel1Reply,
    CdevSel2Reply,
    CdevSelect,
    CdevWrite,
)
from kernel.com import DS_PROC_NR, RS_PROC_NR
from kernel.endpoint import ANY, CLOCK, HARDWARE
from kernel.errors import KernelError
from kernel.message import CALL_SENDREC, Message, Notify
from kernel.sync import Condition, Mutex
from servers.ds.client import ds_publish_mem, ds_publish_u32, ds_retrieve_mem
from servers.ds.protocol import DS_DRIVER_UP, DSF_OVERWRITE
from servers.rs.protocol import SEF_INIT_FRESH, SEF_INIT_LU, SEF_INIT_RESTART, state_key
from servers.rs.sef import sef_handle, sef_init_done, sef_startup

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from kernel.kernel import Kernel
    from kernel.process import Process

    _IoMsg = CdevRead | CdevWrite | CdevIoctl

_log = structlog.get_logger("asynix.chardev")

_OPS = CDEV_OP_RD | CDEV_OP_WR | CDEV_OP_ERR
# Built once: the receive loop tests every message against these.
_IO_REQUESTS = (CdevRead, CdevWrite, CdevIoctl)
_REQUESTS = (CdevOpen, CdevClose, *_IO_REQUESTS, CdevCancel, CdevSelect)
_KINDS: dict[type[Message], str] = {CdevRead: "read", CdevWrite: "write", CdevIoctl: "ioctl"}
_STATE_MAGIC = b"CDV1"

_handle: contextvars.ContextVar[Process] = contextvars.ContextVar("chardev_handle")
_request: contextvars.ContextVar[Request | None] = contextvars.ContextVar(
    "chardev_request", default=None
)


class Cancelled(Exception):
    """Raised by :meth:`Driver.wait` in a request that VFS cancelled (CDEV_CANCEL)."""


class WouldBlock(Exception):
    """Raised by :meth:`Driver.wait` in a non-blocking request (CDEV_NONBLOCK)."""


class InjectedCrash(RuntimeError):
    """The crash :class:`Faults` injects: it escapes the driver's process."""


class _WaitInline(Exception):
    """Raised by :meth:`Driver.wait` in a :func:`never_waits` callback (a driver bug)."""


_INLINE_ATTR = "_chardev_never_waits"
_Callback = TypeVar("_Callback", bound="Callable[..., Awaitable[int]]")


def never_waits(callback: _Callback) -> _Callback:
    """Mark a ``read``, ``write`` or ``ioctl`` callback that never calls :meth:`Driver.wait`.

    The main thread then runs it itself, between two receives, instead of handing the
    request to a pool thread: the request costs no thread switch. The callback may
    copy through its grant, send (``notify_select``, a broadcast) and return, but it
    must not wait: if it calls :meth:`Driver.wait`, the wait raises, the request fails
    with EIO and the framework logs an error. Cancels cannot reach such a request (the
    main thread is busy with it until it has replied).
    """
    setattr(callback, _INLINE_ATTR, True)
    return callback


# -- fault injection -----------------------------------------------------------------------

FAULT_POINTS = ("receive", "before_reply", "mid_copy", "select_pending")
"""Where a driver can be made to crash:

- ``receive``: on every message the main loop takes (before handling it);
- ``before_reply``: after a request's callback returned, before its reply is sent;
- ``mid_copy``: between two grant copies of one request (before the second, third...);
- ``select_pending``: right after a SEL1 reply that left a CDEV_NOTIFY registration.
"""


@dataclass
class Faults:
    """A deterministic crash plan for one driver (shared by its restarted instances).

    ``crash_at={"before_reply": 3}`` crashes the third time any instance reaches that
    point (counting across restarts, so the plan fires once). ``probability`` crashes
    at any point in ``points`` with that chance, drawn from ``random.Random(seed)``.
    ``crashes`` records ``(point, count)`` of each crash injected. Visits are counted
    only while the plan can crash (``crash_at`` or ``probability`` set): an empty plan
    costs a request nothing.
    """

    crash_at: dict[str, int] = field(default_factory=dict)
    probability: float = 0.0
    seed: int = 0
    points: tuple[str, ...] = FAULT_POINTS
    counts: dict[str, int] = field(default_factory=dict)
    crashes: list[tuple[str, int]] = field(default_factory=list)
    _rng: random.Random | None = None

    def __post_init__(self) -> None:
        unknown = [p for p in (*self.crash_at, *self.points) if p not in FAULT_POINTS]
        if unknown:
            raise ValueError(f"unknown fault points {unknown}; known: {FAULT_POINTS}")

    def check(self, point: str) -> None:
        """Count a visit to ``point``; raise :class:`InjectedCrash` if the plan says so."""
        if not self.crash_at and not self.probability:
            return
        n = self.counts[point] = self.counts.get(point, 0) + 1
        crash = self.crash_at.get(point) == n
        if not crash and self.probability > 0 and point in self.points:
            if self._rng is None:
                self._rng = random.Random(self.seed)
            crash = self._rng.random() < self.probability
        if crash:
            self.crashes.append((point, n))
            raise InjectedCrash(f"injected crash at {point} #{n}")


FAULTS: dict[str, Faults] = {}
"""Crash plans by driver label, consulted when :func:`run` starts an instance.

The fuzzer and tests set ``FAULTS["hello"] = Faults(...)`` before booting; a plan
given to :func:`run` directly wins.
"""


# -- requests ------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class Request:
    """A read, write or ioctl in progress: one per user process (``id``)."""

    kind: str
    minor: int
    id: int
    src: int
    flags: int
    via_sendrec: bool
    grant: Grant
    cancelled: bool = False
    waiting: Condition | None = None
    inline: bool = False
    """Run on the main thread (a :func:`never_waits` callback): it must not wait."""


def _status(result: int | None) -> int:
    return 0 if result is None else int(result)


_FIELDS: dict[type[Message], Callable[[Message], tuple[object, ...]]] = {}
"""A getter of the fields of each CDEV request class, made once (this runs per request)."""
_INTS = {int}


def _well_formed(msg: Message) -> bool:
    """Whether every field of a CDEV request is a plain int (a garbage message is not)."""
    get = _FIELDS.get(type(msg))
    if get is None:
        # Every CDEV request has two fields or more, so the getter returns a tuple.
        get = _FIELDS[type(msg)] = attrgetter(*(f.name for f in fields(msg)))  # type: ignore[arg-type]
    try:
        return set(map(type, get(msg))) == _INTS
    except AttributeError:  # a field left unset
        return False


# -- the driver ----------------------------------------------------------------------------


class Driver:
    """Base class of a character driver: override the callbacks you need.

    Attributes available once the framework started the driver: :attr:`label`,
    :attr:`kernel`, :attr:`lock`, :attr:`faults`, :attr:`log`, and :attr:`proc` (the
    handle of the thread running the current callback).
    """

    stateful = False
    """If True, the framework saves :meth:`save_state` (and the open minors) in DS after
    every open and close (under RS's ``state_key(label)``), so a restarted or
    live-updated instance gets it back."""

    def __init__(self) -> None:
        self.label = ""
        self.lock: Mutex
        self.faults = Faults()
        self.log: Any = _log
        self._main: Process | None = None
        self._open_minors: set[int] = set()
        self._requests: dict[int, Request] = {}
        self._sel: dict[int, tuple[int, int]] = {}
        self._ds = DS_PROC_NR
        self._queue: deque[tuple[_IoMsg, Request]] = deque()
        self._work: Condition
        self._pool = 0
        """Request threads started (the pool only grows)."""
        self._idle = 0
        """Pool threads waiting on ``_work`` that no one has signalled yet."""
        self._stuck = 0
        """Pool threads waiting inside a request (:meth:`wait`): they need outside help."""
        self._inline: frozenset[str] = frozenset()
        """Kinds of request (read, write, ioctl) the main thread serves itself."""

    def _attach(self, proc: Process, label: str, ds: int, faults: Faults) -> None:
        """Bind a new instance to its process (also if the subclass skipped __init__)."""
        self.label = label
        self._main = proc
        self._ds = ds
        self.lock = Mutex(proc.kernel)
        self.faults = faults
        self.log = _log.bind(driver=label, endpoint=proc.endpoint)
        self._open_minors = set()
        self._requests = {}
        self._sel = {}
        self._queue = deque()
        self._work = Condition(proc.kernel, self.lock)
        self._pool = self._idle = self._stuck = 0
        self._inline = frozenset(
            kind
            for kind in ("read", "write", "ioctl")
            if getattr(getattr(self, kind), _INLINE_ATTR, False)
        )

    # -- what the framework gives the driver ------------------------------------------

    @property
    def proc(self) -> Process:
        """The kernel handle of the thread running the current callback."""
        return _handle.get()

    @property
    def kernel(self) -> Kernel:
        """The kernel this driver runs on."""
        assert self._main is not None
        return self._main.kernel

    def condition(self) -> Condition:
        """A new condition on :attr:`lock`, for :meth:`wait`."""
        return Condition(self.kernel, self.lock)

    async def wait(self, cond: Condition) -> None:
        """Wait on ``cond`` (releasing :attr:`lock`) until signalled; use in a loop.

        Only read, write and ioctl callbacks may wait. A wake-up may be spurious (a
        cancel broadcasts the condition): re-test the predicate after every wait.

        Raises:
            Cancelled: VFS cancelled this request (the framework answers it).
            WouldBlock: the request is non-blocking (the framework answers EAGAIN).
        """
        req = _request.get()
        if req is None:
            raise RuntimeError("only read, write and ioctl callbacks may wait")
        if req.inline:
            raise _WaitInline
        if req.cancelled:
            raise Cancelled
        if req.flags & CDEV_NONBLOCK:
            raise WouldBlock
        req.waiting = cond
        self._stuck += 1
        if len(self._queue) > self._pool - self._stuck - self._idle:
            # This thread was the one to take a queued request later: start another
            # (not a choice point, so no cancel can slip in before the wait).
            self._grow()
        try:
            await cond.wait()
        finally:
            req.waiting = None
            self._stuck -= 1
        if req.cancelled:
            raise Cancelled

    async def notify_select(self, minor: int, ops: int) -> bool:
        """``ops`` became ready on ``minor``: send the late SEL2 reply if registered.

        Only the ops VFS registered with CDEV_NOTIFY are reported, once (VFS re-arms
        with a new select). Returns whether a notification was sent.
        """
        reg = self._sel.get(minor)
        if reg is None:
            return False
        src, want = reg
        ready = ops & want
        if not ready:
            return False
        if want & ~ready:
            self._sel[minor] = (src, want & ~ready)
        else:
            del self._sel[minor]
        await self._send(src, CdevSel2Reply(status=ready, minor=minor), False)
        return True

    async def set_alarm(self, seconds: float | None) -> float:
        """Have :meth:`alarm` called in ``seconds`` (None cancels); returns the old time left."""
        return await self.proc.setalarm(seconds)

    async def checkpoint(self) -> None:
        """Save :meth:`save_state` and the open minors in DS (main-thread callbacks only).

        The framework does this itself after each open and close when
        :attr:`stateful` is set. The blob goes under RS's ``state_key(label)``
        (``rs.state.<label>``), where RS looks for it on a restart or live update.

        Raises:
            RuntimeError: called from a read, write or ioctl thread (it would block in
                IPC while the main thread receives).
        """
        if _request.get() is not None:
            raise RuntimeError("checkpoint() is for the main thread (open, close, init, alarm)")
        state = self.save_state()
        blob = _pack_state(self._open_minors, state)
        await _ds_save(self.proc, self._ds, state_key(self.label), blob, self.log)

    # -- callbacks (override) --------------------------------------------------------

    async def init_fresh(self) -> None:
        """First start."""

    async def init_restart(self, state: bytes | None) -> None:
        """Restart after a crash; ``state`` is what :meth:`save_state` last saved, or None."""
        await self.init_fresh()

    async def init_lu(self, state: bytes) -> None:
        """Live update: ``state`` is the old instance's (b"" if it saved none)."""
        await self.init_restart(state or None)

    def save_state(self) -> bytes | None:
        """The state a restarted or updated instance should get back (None: nothing)."""
        return None

    async def open(self, minor: int, access: int, user: int) -> int | None:
        """Open ``minor`` for ``user`` with ``access`` (CDEV_R_BIT...).

        Returns 0/None, a minor with CDEV_CLONED set, or a negative errno.
        """
        return 0

    async def close(self, minor: int) -> int | None:
        """Close one open of ``minor``."""
        return 0

    async def read(
        self, minor: int, pos: int, grant: Grant, count: int, flags: int, user: int
    ) -> int:
        """Read up to ``count`` bytes at ``pos`` into ``grant``: bytes moved or -errno."""
        return -errno.EIO

    async def write(
        self, minor: int, pos: int, grant: Grant, count: int, flags: int, user: int
    ) -> int:
        """Write ``count`` bytes at ``pos`` from ``grant``: bytes taken or -errno."""
        return -errno.EIO

    async def ioctl(self, minor: int, request: int, grant: Grant, user: int, flags: int) -> int:
        """Device control ``request``; ``grant`` covers the argument. 0 or -errno."""
        return -errno.ENOTTY

    async def select(self, minor: int, ops: int) -> int:
        """Which of ``ops`` (CDEV_OP_RD/WR/ERR) are ready now, or a negative errno.

        The framework keeps the CDEV_NOTIFY registration for the ops not ready.
        """
        return -errno.EBADF

    async def cancel(self, minor: int, id: int) -> None:  # noqa: A002 - MINIX's name
        """VFS cancels process ``id``'s request (before the framework interrupts its wait)."""

    async def alarm(self, now: float) -> None:
        """The alarm set with :meth:`set_alarm` expired."""

    async def intr(self, mask: int) -> None:
        """A hardware interrupt (``mask``: the pending IRQ bits)."""

    async def other(self, msg: Message) -> None:
        """A message that is not a CDEV request: logged and dropped by default."""
        self.log.warning("ignoring message", mtype=type(msg).__name__, src=msg.m_source)

    # -- the framework's side ----------------------------------------------------------

    def _overrides(self, name: str) -> bool:
        return getattr(type(self), name) is not getattr(Driver, name)

    async def _send(self, dst: int, msg: Message, via_sendrec: bool) -> None:
        proc = self.proc
        try:
            if via_sendrec:
                await proc.sendnb(dst, msg)
            else:
                await proc.senda(dst, msg)
        except KernelError as exc:
            self.log.warning("reply lost", dst=dst, mtype=type(msg).__name__, error=str(exc))

    async def _reply(self, src: int, id_: int, status: int, via_sendrec: bool) -> None:
        self.faults.check("before_reply")
        await self._send(src, CdevReply(status=status, id=id_), via_sendrec)

    async def _locked(self, fn: Callable[[], Awaitable[int | None]]) -> int:
        async with self.lock:
            try:
                return _status(await fn())
            except OSError as exc:
                return -(exc.errno or errno.EIO)

    async def _dispatch(self, msg: Message, via_sendrec: bool) -> None:
        if isinstance(msg, CdevOpen):
            await self._do_open(msg, via_sendrec)
            return
        minor = getattr(msg, "minor", None)
        if not isinstance(minor, int) or minor not in self._open_minors:
            self.log.debug("dropped: minor not open", mtype=type(msg).__name__, minor=minor)
            return
        if isinstance(msg, CdevClose):
            status = await self._locked(lambda: self.close(msg.minor))
            await self._reply(msg.m_source, msg.id, status, via_sendrec)
            if self.stateful:
                await self.checkpoint()
        elif isinstance(msg, _IO_REQUESTS):
            await self._start_request(msg, via_sendrec)
        elif isinstance(msg, CdevCancel):
            await self._do_cancel(msg)
        elif isinstance(msg, CdevSelect):
            await self._do_select(msg, via_sendrec)

    async def _do_open(self, msg: CdevOpen, via_sendrec: bool) -> None:
        status = await self._locked(lambda: self.open(msg.minor, msg.access, msg.user))
        if status >= 0:
            self._open_minors.add(status & CDEV_MINOR_MASK if status & CDEV_CLONED else msg.minor)
            if self.stateful:
                await self.checkpoint()
        await self._reply(msg.m_source, msg.id, status, via_sendrec)

    async def _start_request(self, msg: _IoMsg, via_sendrec: bool) -> None:
        if msg.id in self._requests:
            self.log.warning("dropped: a request of this id is in progress", id=msg.id)
            return
        size = 0 if isinstance(msg, CdevIoctl) else msg.count
        grant = Grant(msg.m_source, msg.grant, size, _handle.get, self._before_copy)
        req = Request(
            kind=_KINDS[type(msg)],
            minor=msg.minor,
            id=msg.id,
            src=msg.m_source,
            flags=msg.flags,
            via_sendrec=via_sendrec,
            grant=grant,
        )
        self._requests[msg.id] = req
        if req.kind in self._inline:
            await self._serve_inline(msg, req)
            return
        self._queue.append((msg, req))
        if self._idle:
            self._idle -= 1
            await self._work.signal()
        elif len(self._queue) > self._pool - self._stuck:
            # Each queued request needs a pool thread that will come back for it
            # without outside help: a busy one will, one waiting in a request may not.
            self._grow()

    async def _serve_inline(self, msg: _IoMsg, req: Request) -> None:
        """Serve a :func:`never_waits` request on the main thread, under the lock, and reply.

        No cancel can reach it: the main thread receives nothing before its reply left.
        """
        req.inline = True
        _request.set(req)
        try:
            if self._pool:
                async with self.lock:
                    status = await self._run_request(msg, req)
            else:
                # No request thread exists, so no other thread could take the lock:
                # the main thread runs alone and spares the two kernel entries.
                status = await self._run_request(msg, req)
        finally:
            self._requests.pop(req.id, None)
            _request.set(None)
        await self._reply(req.src, req.id, status, req.via_sendrec)

    def _grow(self) -> None:
        """Start one more pool thread (it takes queued work at once)."""
        self._pool += 1
        self.proc.start_thread(f"req{self._pool}", self._pool_thread)

    async def _pool_thread(self, handle: Process) -> None:
        """A request thread's life: take a queued request, serve it, reply, repeat."""
        _handle.set(handle)
        await self.lock.lock()  # held for good, except while waiting
        while True:
            while not self._queue:
                self._idle += 1  # the main thread takes it back when it signals us
                await self._work.wait()
            msg, req = self._queue.popleft()
            _request.set(req)
            try:
                status = await self._run_request(msg, req)
            finally:
                self._requests.pop(req.id, None)
                _request.set(None)
            await self._reply(req.src, req.id, status, req.via_sendrec)

    def _before_copy(self, grant: Grant) -> None:
        if grant.copies:
            self.faults.check("mid_copy")

    async def _run_request(self, msg: _IoMsg, req: Request) -> int:
        """Run a request's callback; the caller holds :attr:`lock`."""
        g = req.grant
        try:
            if isinstance(msg, CdevRead):
                r = await self.read(msg.minor, msg.pos, g, msg.count, msg.flags, msg.id)
            elif isinstance(msg, CdevWrite):
                r = await self.write(msg.minor, msg.pos, g, msg.count, msg.flags, msg.id)
            else:
                r = await self.ioctl(msg.minor, msg.request, g, msg.user, msg.flags)
            return _status(r)
        except Cancelled:
            return g.moved or -errno.EINTR
        except WouldBlock:
            return g.moved or -errno.EAGAIN
        except _WaitInline:
            self.log.error("a never_waits callback called wait(): request failed", kind=req.kind)
            return -errno.EIO
        except OSError as exc:
            self.log.info("request failed", kind=req.kind, id=req.id, error=str(exc))
            return g.moved or -(exc.errno or errno.EIO)

    async def _do_cancel(self, msg: CdevCancel) -> None:
        req = self._requests.get(msg.id)
        if req is None or req.minor != msg.minor:
            return  # its reply crossed the cancel: that reply is the cancel's answer
        if self._overrides("cancel"):
            async with self.lock:
                await self.cancel(msg.minor, msg.id)
        req.cancelled = True
        if req.waiting is not None:
            await req.waiting.broadcast()

    async def _do_select(self, msg: CdevSelect, via_sendrec: bool) -> None:
        if not self._overrides("select"):
            status = -errno.EBADF
        else:
            ops = msg.ops & _OPS
            status = await self._locked(lambda: self.select(msg.minor, ops))
            left = ops & ~status if status >= 0 else 0
            if msg.ops & CDEV_NOTIFY and left:
                old = self._sel.get(msg.minor)
                want = left | (old[1] if old and old[0] == msg.m_source else 0)
                self._sel[msg.minor] = (msg.m_source, want)
        self.faults.check("before_reply")
        await self._send(msg.m_source, CdevSel1Reply(status=status, minor=msg.minor), via_sendrec)
        if msg.minor in self._sel:
            self.faults.check("select_pending")

    async def _notification(self, msg: Notify) -> None:
        if msg.m_source == CLOCK:
            async with self.lock:
                await self.alarm(msg.timestamp)
        elif msg.m_source == HARDWARE:
            async with self.lock:
                await self.intr(msg.interrupts)
        else:
            await self.other(msg)


# -- DS and SEF ------------------------------------------------------------------------------


def _pack_state(minors: set[int], state: bytes | None) -> bytes:
    head = struct.pack("<4sIB", _STATE_MAGIC, len(minors), state is not None)
    return head + struct.pack(f"<{len(minors)}I", *sorted(minors)) + (state or b"")


def _unpack_state(blob: bytes) -> tuple[set[int], bytes | None]:
    """Open minors and driver state from a blob; a foreign blob is all driver state."""
    head = struct.calcsize("<4sIB")
    if len(blob) < head or blob[:4] != _STATE_MAGIC:
        return set(), blob
    _, n, has = struct.unpack_from("<4sIB", blob)
    end = head + 4 * n
    if len(blob) < end:
        return set(), blob
    minors = set(struct.unpack_from(f"<{n}I", blob, head))
    return minors, (blob[end:] if has else None)


async def _ds_save(proc: Process, ds: int, key: str, blob: bytes, log: Any) -> None:  # noqa: ANN401
    try:
        await ds_publish_mem(proc, key, blob, DSF_OVERWRITE, ds=ds)
    except KernelError as exc:
        log.warning("cannot save state in DS", key=key, error=str(exc))


async def _ds_load(proc: Process, ds: int, key: str, log: Any) -> bytes | None:  # noqa: ANN401
    try:
        return await ds_retrieve_mem(proc, key, ds=ds)
    except KernelError as exc:
        if exc.errno != errno.ENOENT:
            log.warning("cannot retrieve state from DS", key=key, error=str(exc), exc_info=exc)
        return None


async def _announce(proc: Process, ds: int, label: str, log: Any) -> None:  # noqa: ANN401
    key = f"drv.chr.{label}"
    try:
        await ds_publish_u32(proc, key, DS_DRIVER_UP, DSF_OVERWRITE, ds=ds)
    except KernelError as exc:
        log.warning("cannot announce to DS", key=key, error=str(exc))


async def _sef_init(drv: Driver, proc: Process, label: str, rs: int, ds: int) -> bool:
    """Run SEF's init: returns whether to announce (not on a live update)."""
    init = await sef_startup(proc, rs=rs)
    drv.log.info("init", init_type=init.init_type)
    key = init.state_key or state_key(label)
    if init.init_type == SEF_INIT_RESTART:
        blob = await _ds_load(proc, ds, key, drv.log)
        state = None if blob is None else _unpack_state(blob)[1]
        await drv.init_restart(state)
        announce = True
    elif init.init_type == SEF_INIT_LU:
        blob = await _ds_load(proc, ds, key, drv.log)
        minors, state = _unpack_state(blob) if blob is not None else (set(), None)
        drv._open_minors = minors
        await drv.init_lu(state or b"")
        announce = not minors
    else:
        if init.init_type != SEF_INIT_FRESH:
            drv.log.warning("unknown init type: starting fresh", init_type=init.init_type)
        await drv.init_fresh()
        announce = True
    await sef_init_done(proc, 0, rs=rs)
    return announce


def run(
    factory: Callable[[], Driver],
    label: str,
    *,
    faults: Faults | None = None,
    rs: int = RS_PROC_NR,
    ds: int = DS_PROC_NR,
) -> Callable[[Process], Awaitable[None]]:
    """The process body of driver ``label``: ``async def main(proc)`` for RS to start.

    ``factory`` makes a fresh driver object for each instance. ``faults`` (or
    ``FAULTS[label]``) is the crash plan; ``rs`` and ``ds`` name RS and DS (tests
    substitute stand-ins).
    """

    async def main(proc: Process) -> None:
        _handle.set(proc)
        drv = factory()
        drv._attach(proc, label, ds, faults or FAULTS.get(label) or Faults())
        if await _sef_init(drv, proc, label, rs, ds):
            await _announce(proc, ds, label, drv.log)
        while True:
            msg = await proc.receive(ANY)
            drv.faults.check("receive")
            if isinstance(msg, Notify):
                if not await sef_handle(proc, msg, rs=rs):
                    await drv._notification(msg)
                continue
            if not isinstance(msg, _REQUESTS):
                await drv.other(msg)
                continue
            if not _well_formed(msg):
                drv.log.warning("dropped: malformed request", msg=repr(msg)[:200])
                continue
            await drv._dispatch(msg, proc.status == CALL_SENDREC)

    main.__name__ = f"chardev_{label}"
    return main


__all__ = [
    "FAULTS",
    "FAULT_POINTS",
    "Cancelled",
    "Driver",
    "Faults",
    "Grant",
    "InjectedCrash",
    "Request",
    "WouldBlock",
    "never_waits",
    "run",
]
